"""``liftsense record`` and ``liftsense scan``: the glue between the collector, the journal, the
BLE stack and the terminal.

The collector (``ble/collector.py``) only knows bleak's public API and one injected BLE context.
This module chooses that context (the OS stack, a bumble world of emulated wearables for
``--simulate``, or a bumble transport such as a USB dongle), builds the session metadata, runs the
collector into a journal under a live dashboard, and finalizes the recording.

Under ``--simulate --speed N`` the wearables play N times faster than real time, and the host
clock handed to the collector runs N times faster too, so timestamps in the recording are those
of a real-time session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from liftsense import __version__
from liftsense.errors import DeviceError, LiftSenseError
from liftsense.journal import JournalWriter, paths_for
from liftsense.schema import Intake, SessionMeta, SetPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordOptions:
    """What ``liftsense record`` was asked to do (see its ``--help``)."""

    out: Path = Path("recordings")
    subject: str = "me"
    exercise: str | None = None
    load_kg: float | None = None
    caffeine_mg: float | None = None
    taken_at: timedelta = timedelta(0)
    devices: tuple[str, ...] = ()
    duration_s: float | None = None
    simulate: str | None = None
    speed: float = 1.0
    ble_transport: str | None = None
    name: str | None = None
    scan_timeout_s: float = 5.0
    seed: int = 0


@dataclass
class SimulatedWorld:
    """The emulated wearables of ``--simulate`` and the session they play."""

    world: Any
    session: Any
    added_ns: int = 0
    wearables: list[Any] = field(default_factory=list)


class VirtualClock:
    """Host time that runs ``speed`` times faster than the wall clock from ``start``."""

    def __init__(self, speed: float, start_ns: int | None = None) -> None:
        self.speed = speed
        self.start_ns = time.time_ns() if start_ns is None else start_ns
        self._perf0 = time.perf_counter_ns()

    def __call__(self) -> int:
        return self.start_ns + int((time.perf_counter_ns() - self._perf0) * self.speed)


async def start_simulation(opts: RecordOptions) -> SimulatedWorld:
    """A bumble world with a Polar-like chest strap (HR, RR, ACC) and the open IMU board on the
    bar, both playing the synthetic session named by ``opts.simulate``."""
    from liftsense.emulate.imu_board import ImuBoard
    from liftsense.emulate.motion import generate
    from liftsense.emulate.polar import PolarSensor
    from liftsense.emulate.scenarios import scenario
    from liftsense.emulate.sources import source_from_session
    from liftsense.emulate.world import open_world

    try:
        spec = scenario(opts.simulate or "demo")
    except ValueError as exc:
        raise LiftSenseError(str(exc)) from None
    if opts.caffeine_mg:
        spec = replace(
            spec,
            hr_elevation_bpm=max(spec.hr_elevation_bpm, 4.0),
            hr_elevation_onset_s=opts.taken_at.total_seconds(),
        )
    session = generate(spec, seed=opts.seed)
    source = source_from_session(session)
    world = await open_world(advertising_interval_ms=20.0)
    sim = SimulatedWorld(world, session)
    sim.wearables = [
        PolarSensor(
            "Polar H10 A1B2C3D4", "C0:00:00:00:01:01", model="H10", source=source, speed=opts.speed
        ),
        ImuBoard("LiftSense IMU 0001", "C0:00:00:00:02:01", source=source, speed=opts.speed),
    ]
    sim.added_ns = time.time_ns()
    for w in sim.wearables:
        await world.add(w)
    return sim


@contextlib.asynccontextmanager
async def ble_context(opts: RecordOptions) -> AsyncIterator[tuple[dict[str, Any], Any]]:
    """Yield (BLE context for bleak, simulation or None), closing what was opened."""
    if opts.simulate is not None:
        sim = await start_simulation(opts)
        try:
            yield sim.world.ble_context, sim
        finally:
            await sim.world.close()
    elif opts.ble_transport:
        from liftsense.emulate.world import open_transport_context

        try:
            transport = await open_transport_context(opts.ble_transport)
        except (OSError, ValueError) as exc:
            raise DeviceError(f"cannot open BLE transport {opts.ble_transport!r}: {exc}") from exc
        try:
            yield transport.ble_context, None
        finally:
            await transport.close()
    else:
        yield {}, None


def session_meta(opts: RecordOptions, name: str, started: datetime, sim: Any) -> SessionMeta:
    if sim is not None:
        sets = tuple(SetPlan(s.exercise, s.load_kg, str(s.tempo)) for s in sim.session.spec.sets)
    elif opts.exercise:
        sets = (SetPlan(opts.exercise, opts.load_kg),)
    else:
        sets = ()
    intake: tuple[Intake, ...] = ()
    if opts.caffeine_mg:
        intake = (Intake(started + opts.taken_at, "caffeine", float(opts.caffeine_mg)),)
    return SessionMeta(
        session_id=name,
        subject=opts.subject,
        started_at=started,
        software_version=__version__,
        sets=sets,
        intake=intake,
    )


def write_truth(sim: SimulatedWorld, recording: Path, session_start_ns: int) -> Path:
    """The generator's truth in the shape of ``analyze --json``, re-based on the recording's
    first sample (the wearables started playing when they were added, before recording)."""
    from liftsense.recording import load

    t0_ns = load(recording).t0.value
    shift_s = (t0_ns - session_start_ns) / 1e9
    truth = json.loads(sim.session.truth.to_json())
    for s in truth["sets"]:
        for key in ("start_s", "end_s"):
            s[key] = round(s[key] - shift_s, 3)
        for r in s.get("reps", []):
            for key in ("start_s", "end_s"):
                r[key] = round(r[key] - shift_s, 3)
    heart = truth.get("heart") or {}
    if "hr_t_s" in heart:
        heart["hr_t_s"] = [round(t - shift_s, 3) for t in heart["hr_t_s"]]
    truth["t0"] = datetime.fromtimestamp(t0_ns / 1e9, UTC).isoformat().replace("+00:00", "Z")
    path = recording.with_name(recording.stem + ".truth.json")
    path.write_text(json.dumps(truth, indent=1))
    return path


class KeyReader:
    """Single keys from a terminal, in a thread: s = set start, e = set end, n = note, q = stop."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.on_key = on_key
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not sys.stdin.isatty():
            return
        self._thread = threading.Thread(target=self._run, daemon=True, name="keys")
        self._thread.start()

    def _run(self) -> None:
        import select
        import termios
        import tty

        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while not self._stop.is_set():
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    self.on_key(sys.stdin.read(1))
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)


async def record(
    opts: RecordOptions,
    *,
    show: Callable[[Any, JournalWriter, float], Any] | None = None,
    on_ready: Callable[[Path], None] | None = None,
) -> Path:
    """Record one session; return the finalized recording's path.

    ``show(collector, journal, elapsed_s)`` renders a dashboard frame (called 4 times a second).
    Stops after ``opts.duration_s`` (session seconds), at the end of a simulated session, on
    Ctrl-C, SIGTERM or the ``q`` key; the journal is finalized in every case.
    """
    from liftsense.ble.collector import Collector, scan, select

    started = datetime.now(UTC)
    name = opts.name or f"{opts.subject}-{started:%Y-%m-%dT%H%M%S}"
    opts.out.mkdir(parents=True, exist_ok=True)
    if paths_for(opts.out / name)[0].exists():
        raise LiftSenseError(f"{paths_for(opts.out / name)[0]} already exists; choose --name")
    async with ble_context(opts) as (ctx, sim):
        found = await scan(ctx, timeout_s=opts.scan_timeout_s if sim is None else 1.0)
        targets = select(found, opts.devices)
        clock: Callable[[], int] = time.time_ns
        session_start_ns = time.time_ns()
        if sim is not None:
            clock = VirtualClock(opts.speed)
            # the wearables' session clocks started when they were added to the world: session
            # time 0 is that long ago, in (virtual) host time
            session_start_ns = clock.start_ns - int((clock.start_ns - sim.added_ns) * opts.speed)
        journal = JournalWriter(opts.out / name, session_meta(opts, name, started, sim))
        if on_ready:
            on_ready(journal.parquet_path)
        collector = Collector(journal, targets, ble_context=ctx, now_ns=clock)
        duration_s = opts.duration_s
        if duration_s is None and sim is not None:
            index = sim.session.imu.index
            duration_s = (index[-1] - index[0]).total_seconds()
        loop = asyncio.get_running_loop()

        def on_key(key: str) -> None:
            loop.call_soon_threadsafe(_on_key, key, collector, journal, clock)

        keys = KeyReader(on_key)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, collector.stop)
        task = asyncio.create_task(collector.run())
        keys.start()
        t_start = time.monotonic()
        try:
            while not task.done():
                elapsed_s = (time.monotonic() - t_start) * opts.speed
                if duration_s is not None and elapsed_s >= duration_s:
                    collector.stop()
                if show is not None:
                    show(collector, journal, elapsed_s)
                await asyncio.wait({task}, timeout=0.25)
            task.result()
        except (KeyboardInterrupt, asyncio.CancelledError):
            collector.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)
        finally:
            keys.stop()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)
            path = journal.close()
        if sim is not None:
            write_truth(sim, path, session_start_ns)
        return path


def _on_key(key: str, collector: Any, journal: JournalWriter, clock: Callable[[], int]) -> None:
    now = datetime.fromtimestamp(clock() / 1e9, UTC)
    kinds = {"s": "set_start", "e": "set_end", "n": "note"}
    if key.lower() == "q":
        collector.stop()
    elif key.lower() in kinds:
        count = sum(1 for m in journal.meta.markers if m.kind == kinds[key.lower()]) + 1
        journal.add_marker(now, kinds[key.lower()], f"{kinds[key.lower()]} {count}")


def parse_offset(text: str) -> timedelta:
    """``-45m``, ``-1h``, ``-90s``, ``0`` → a timedelta (negative: before the recording)."""
    t = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if t and t[-1] in units:
            return timedelta(seconds=float(t[:-1]) * units[t[-1]])
        return timedelta(minutes=float(t))
    except ValueError:
        raise LiftSenseError(f"time offset {text!r}: use e.g. -45m, -1h or -90s") from None


def parse_duration(text: str | None) -> float | None:
    if text is None:
        return None
    seconds = parse_offset(text).total_seconds()
    if seconds <= 0:
        raise LiftSenseError(f"duration {text!r} must be positive, e.g. 20m or 90s")
    return seconds


def scan_table(found: Sequence[Any]) -> Any:
    from rich.table import Table

    table = Table("name", "address", "RSSI dBm", "profile")
    for f in found:
        ad = f.advertisement
        table.add_row(
            ad.name or "?",
            ad.address,
            str(ad.rssi_dbm) if ad.rssi_dbm is not None else "-",
            f.profile.model(ad) if f.profile is not None else "[dim]not supported[/dim]",
        )
    return table
