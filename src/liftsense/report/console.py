"""What LiftSense shows on a terminal (rich): analyses and recordings as tables, the live view
of a recording, and the progress of a batch. The commands in ``cli.py`` only call these."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from liftsense.analysis.session import SessionAnalysis
    from liftsense.ble.collector import DeviceStatus
    from liftsense.recording import Recording
    from liftsense.schema import Marker


def _f(x: float | None, fmt: str = ".1f", unit: str = "") -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:{fmt}}{unit}"


def sets_table(analyses: Sequence[SessionAnalysis], *, title: str | None = None) -> Table:
    """Sets, reps, tempo, eccentric TUT and HR per set of one or more sessions."""
    from liftsense.analysis.session import reps_text  # pandas and numpy: not for --help

    table = Table(title=title)
    for col in ("session", "set", "exercise", "load", "reps", "tempo", "ecc TUT", "peak HR"):
        table.add_column(col, justify="left" if col in ("session", "exercise") else "right")
    for a in analyses:
        rows = a.set_rows()
        for _, r in rows.iterrows():
            table.add_row(
                a.meta.session_id,
                str(r["set_index"]),
                str(r["exercise"]),
                _f(r["load_kg"], "g", " kg"),
                reps_text(
                    r["reps"],
                    r["failed_reps"],
                    r["unrecorded_s"],
                    r["hidden_reps"],
                    r["from_tempo_reps"],
                ),
                str(r["tempo"]),
                _f(r["eccentric_tut_s"], ".1f", " s"),
                _f(r["peak_hr_bpm"], ".0f"),
            )
    return table


def heart_line(a: SessionAnalysis) -> str:
    h = a.heart
    if h is None:
        return "heart: no heart-rate data"
    e = h.elevation
    parts = [
        f"rest HR {_f(h.rest.hr_bpm, '.0f', ' bpm')}",
        f"lnRMSSD {_f(h.rest.lnrmssd, '.2f')}",
        f"artefacts {_f(h.artefact_pct, '.1f', ' %')}",
        f"HR elevation: {e.status}",
    ]
    if math.isfinite(e.delta_bpm):
        parts.append(f"within-session change {e.delta_bpm:+.1f} bpm")
    if math.isfinite(e.z):
        parts.append(f"z {e.z:.1f} against own baseline")
    return "heart: " + ", ".join(parts)


def print_analysis(a: SessionAnalysis, console: Console | None = None) -> None:
    console = console or Console()
    console.print(
        f"[bold]{a.path}[/bold]  subject {a.meta.subject or '-'}  "
        f"IMU {a.imu_device or '-'}  {a.duration_s / 60:.1f} min"
    )
    console.print(sets_table([a]))
    console.print(heart_line(a))
    for w in a.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")


def print_info(rec: Recording, console: Console | None = None) -> None:
    """``liftsense info``: metadata, then per stream and device samples, rate, span and gaps."""
    console = console or Console()
    meta = rec.meta
    console.print(f"[bold]{rec.path}[/bold]")
    console.print(
        f"session {meta.session_id}  subject {meta.subject or '-'}  "
        f"started {meta.started_at:%Y-%m-%d %H:%M:%S} UTC  schema v{meta.schema_version}  "
        f"software {meta.software_version or '-'}"
    )
    for d in meta.devices:
        streams = ", ".join(
            f"{name} {s.rate_hz or '?'} Hz" + (f" ±{s.range:g}" if s.range else "")
            for name, s in d.streams.items()
        )
        console.print(
            f"device {d.label}: {d.model or '?'} {d.address} fw {d.firmware or '?'}; {streams}"
        )
    for s in meta.sets:
        load_txt = f" {s.load_kg:g} kg" if s.load_kg is not None else ""
        console.print(
            f"planned set: {s.exercise}{load_txt}"
            + (f" tempo {s.target_tempo}" if s.target_tempo else "")
        )
    for i in meta.intake:
        console.print(f"intake: {i.substance} {i.dose_mg:g} mg at {i.t:%H:%M:%S} UTC")
    if meta.markers:
        console.print(f"markers: {len(meta.markers)}")
    if meta.gaps:
        console.print(
            f"outages: {len(meta.gaps)} ("
            + ", ".join(
                f"{g.device} {(g.end - g.start).total_seconds():.1f} s" for g in meta.gaps[:5]
            )
            + ")"
        )
    table = Table("stream", "device", "samples", "rate Hz", "duration s", "gaps", "longest gap s")
    for st in rec.summary():
        table.add_row(
            st.stream,
            st.device,
            f"{st.samples:,}",
            f"{st.rate_hz:.2f}",
            f"{st.duration_s:.1f}",
            str(st.gaps),
            f"{st.longest_gap_s:.2f}" if st.gaps else "-",
        )
    console.print(table)


def batch_progress() -> Progress:
    """The progress bar of ``liftsense batch`` (recordings done of all, elapsed, ETA)."""
    return Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=False,
    )


class Dashboard:
    """The live view of ``liftsense record``: per device state, HR, samples/s per stream, gaps,
    reconnects, battery; the current set from the markers; the keys."""

    def __init__(self, path: str, *, keys: bool) -> None:
        self.path = path
        self.keys = keys
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._rate: dict[tuple[str, str], float] = {}

    def _rates(self, label: str, samples: dict[str, int], now_s: float) -> str:
        out = []
        for stream, n in sorted(samples.items()):
            key = (label, stream)
            if key in self._last:
                t_prev, n_prev = self._last[key]
                if now_s > t_prev:
                    self._rate[key] = (n - n_prev) / (now_s - t_prev)
            self._last[key] = (now_s, n)
            out.append(f"{stream} {self._rate.get(key, 0.0):.0f}/s")
        return ", ".join(out) or "-"

    def render(
        self, status: Sequence[DeviceStatus], markers: Sequence[Marker], elapsed_s: float
    ) -> Table:
        table = Table(
            title=f"recording {self.path}  ({elapsed_s / 60:.1f} min)",
            caption=self._set_line(markers)
            + ("   keys: s set start, e set end, n note, q stop" if self.keys else ""),
        )
        for col in ("device", "model", "state", "HR", "samples/s", "gaps", "reconnects", "battery"):
            table.add_column(col)
        for st in status:
            table.add_row(
                st.label,
                st.model,
                st.state
                if st.state == "streaming" or not st.last_error
                else f"{st.state} ({st.last_error})",
                _f(st.hr_bpm, ".0f"),
                self._rates(st.label, st.samples, elapsed_s),
                str(st.gaps),
                str(st.reconnects),
                _f(st.battery_percent, ".0f", " %"),
            )
        return table

    @staticmethod
    def _set_line(markers: Sequence[Marker]) -> str:
        sets = [m for m in markers if m.kind in ("set_start", "set_end")]
        started = sum(1 for m in sets if m.kind == "set_start")
        if sets and sets[-1].kind == "set_start":
            return f"set {started} in progress"
        return f"{started} set(s) marked" if started else "no set marked"


def collection_table(status: Sequence[DeviceStatus]) -> Table:
    """The end-of-recording summary of what each device delivered: samples per stream, data
    packets lost on the way, repeated samples dropped, reconnects; ``-`` where the device's
    decoder cannot count it (a standard HR strap sends no sequence numbers)."""
    table = Table(title="collected")
    for col in ("device", "samples", "lost packets", "duplicates dropped", "reconnects"):
        table.add_column(col, justify="left" if col in ("device", "samples") else "right")
    for c in status:
        table.add_row(
            c.label,
            "\n".join(f"{stream} {n:,}" for stream, n in sorted(c.samples.items())) or "-",
            "-" if c.lost_packets is None else f"{c.lost_packets:,}",
            "-" if c.duplicates is None else f"{c.duplicates:,}",
            f"{c.reconnects:,}",
        )
    return table


class LiveDashboard:
    """A :class:`Dashboard` kept on screen while ``liftsense.record.record`` runs: pass
    :meth:`on_ready` and :meth:`show` as its callbacks, in a ``with`` block that ends the view.

    The view starts once the recording's path is known and is redrawn on each ``show``; it
    stays on screen (not transient) when the block ends, also on an error, and is followed by
    the per-device summary of what was collected (:func:`collection_table`).
    """

    def __init__(self, console: Console, *, keys: bool) -> None:
        self._console = console
        self._live = Live(console=console, auto_refresh=False, transient=False)
        self._keys = keys
        self._view: Dashboard | None = None
        self._collector: Any = None

    def on_ready(self, path: Path) -> None:
        self._view = Dashboard(str(path), keys=self._keys)
        self._live.start()

    def show(self, collector: Any, journal: Any, elapsed_s: float) -> None:
        assert self._view is not None, "show before on_ready"
        self._collector = collector
        self._live.update(self._view.render(collector.status(), journal.meta.markers, elapsed_s))
        self._live.refresh()

    def __enter__(self) -> LiveDashboard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()
        if self._collector is not None:
            self._console.print()  # off a non-terminal's last line of the live view
            self._console.print(collection_table(self._collector.status()))
