"""The per-session report: one self-contained HTML file a lifter or coach can open anywhere.

Sections (fixed ids, in this order): ``summary``, ``sets``, ``tempo``, ``imu``, ``heart``,
``quality``, ``notes``. Everything comes from a :class:`SessionAnalysis` (reps are never
re-detected here; the heart-rate timeline is the analysis' own HR series); only the raw
accelerometer trace comes from the recording. Heart-rate elevation is worded as what it is: a
measured change against the person's own baseline in fixed rest windows, or "not judged" with
the reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from liftsense import __version__
from liftsense.analysis.session import epley_1rm, reps_text
from liftsense.errors import RecordingError
from liftsense.report import plots
from liftsense.report.html import esc, num, page, paragraphs, png_img, section, table, when

if TYPE_CHECKING:
    import pandas as pd

    from liftsense.analysis.session import SessionAnalysis
    from liftsense.recording import Recording
    from liftsense.signal.heart import HeartSummary, SetHeart

__all__ = ["elevation_text", "render_session_report", "write_session_report"]

_NOT_MEAN = (
    "Whole-session mean heart rate is deliberately not used: it depends on the load, the rests "
    "and the exercises chosen."
)


def elevation_text(heart: HeartSummary | None) -> str:
    """The honest sentence about stimulant-elevated heart rate for this session."""
    if heart is None:
        return "Not assessed: this recording has no heart-rate data."
    e = heart.elevation
    within = (
        f" Within this session, rest HR after intake minus rest HR before it: "
        f"{e.delta_bpm:+.1f} bpm."
        if math.isfinite(e.delta_bpm)
        else ""
    )
    if e.status == "elevated":
        return (
            f"Elevated: pre-workout rest HR was {e.z:.1f} robust SD above the median of "
            f"{e.baseline_n} of your stimulant-free sessions ({e.baseline_median_bpm:.0f} bpm), "
            f"and the change exceeds the smallest worthwhile change ({e.swc_bpm:.1f} bpm).{within}"
            " This is a measured change against your own baseline, not proof of what caused it."
        )
    if e.status == "not elevated":
        return (
            f"Not elevated: pre-workout rest HR z = {e.z:.1f} against {e.baseline_n} of your "
            f"stimulant-free sessions (elevated needs z >= 2 and a change above the smallest "
            f"worthwhile change).{within}"
        )
    why = f" ({e.reason})" if e.reason else ""
    return f"Not judged: {e.status}{why}.{within}"


def _intake_lines(analysis: SessionAnalysis) -> list[tuple[float, str, str]]:
    """(seconds from t0, short label for the chart, sentence) per logged intake."""
    out = []
    for i in sorted(analysis.meta.intake, key=lambda i: i.t):
        t_s = (_ts(i.t) - analysis.t0).total_seconds()
        rel = f"{abs(t_s) / 60:.0f} min {'before' if t_s < 0 else 'after'} the recording started"
        short = f"{i.substance} {i.dose_mg:g} mg"
        out.append((t_s, short, f"{short} at {_ts(i.t):%H:%M} UTC ({rel})"))
    return out


def _ts(t: object) -> pd.Timestamp:
    import pandas as pd

    ts = pd.Timestamp(t)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _summary(analysis: SessionAnalysis) -> str:
    m = analysis.meta
    sets = analysis.sets
    reps = sum(s.n_reps for s in sets)
    failed = sum(s.failed_reps for s in sets)
    by_ex: dict[str, list[str]] = {}
    for s in sets:
        by_ex.setdefault(s.exercise, []).append(s.tempo)
    exercises = ", ".join(
        f"{ex} ({len(t)} set{'s' if len(t) != 1 else ''})" for ex, t in by_ex.items()
    )
    tempos = "; ".join(f"{ex} {', '.join(dict.fromkeys(t))}" for ex, t in by_ex.items())
    ecc = sum(s.eccentric_tut_s for s in sets if math.isfinite(s.eccentric_tut_s))
    total = sum(s.total_tut_s for s in sets if math.isfinite(s.total_tut_s))
    volume = sum(s.load_kg * s.n_reps for s in sets if math.isfinite(s.load_kg))
    heart = analysis.heart
    items = [
        ("Subject", esc(m.subject or "–")),
        ("Session", esc(m.session_id)),
        ("Date", when(m.started_at)),
        ("Duration", num(analysis.duration_s / 60, ".1f", " min")),
        ("Exercises", esc(exercises or "none detected")),
        ("Sets", esc(len(sets))),
        ("Reps", esc(f"{reps}" + (f" (+{failed} failed)" if failed else ""))),
        ("Tempo (ecc-pause-con-pause, s)", esc(tempos or "–")),
        ("Eccentric time under tension", num(ecc, ".1f", " s") if sets else "–"),
        ("Total time under tension", num(total, ".1f", " s") if sets else "–"),
        ("Volume-load (load × reps)", num(volume, ".0f", " kg") if volume else "–"),
        ("Intake", esc("; ".join(x[2] for x in _intake_lines(analysis)) or "none logged")),
    ]
    if heart is not None:
        items += [
            (
                f"Rest HR ({heart.rest_window.replace('_', '-')} window)",
                num(heart.rest.hr_bpm, ".0f", " bpm")
                + (
                    f" <span class=muted>({esc(heart.rest.reason)})</span>"
                    if heart.rest.reason
                    else ""
                ),
            ),
            ("Rest lnRMSSD", num(heart.rest.lnrmssd, ".2f")),
            ("RR artefacts", num(heart.artefact_pct, ".1f", " %")),
        ]
    items.append(("Heart-rate elevation", esc(elevation_text(heart))))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="summary">{dl}</dl><p class="muted">{esc(_NOT_MEAN)}</p>'


def _sets_table(analysis: SessionAnalysis) -> str:
    if not analysis.sets:
        return "<p>No sets were detected.</p>"
    # Heart features are computed from the same set list, in the same order.
    heart_sets: list[SetHeart | None] = list(analysis.heart.sets) if analysis.heart else []
    heart_sets += [None] * (len(analysis.sets) - len(heart_sets))
    plan = analysis.meta.sets
    rows = []
    prev_end = math.nan
    for k, (s, h) in enumerate(zip(analysis.sets, heart_sets, strict=False)):
        ecc_v = [abs(r.eccentric_mean_velocity_mps) for r in s.reps]
        ecc_v = [v for v in ecc_v if math.isfinite(v)]
        note = plan[k].note if k < len(plan) and plan[k].note else ""
        rows.append(
            [
                esc(s.index),
                esc(s.exercise),
                num(s.load_kg, "g", " kg"),
                esc(
                    reps_text(
                        s.n_reps, s.failed_reps, s.unrecorded_s, s.hidden_reps, s.from_tempo_reps
                    )
                ),
                esc(s.tempo),
                num(s.eccentric_tut_s, ".1f", " s"),
                num(s.total_tut_s, ".1f", " s"),
                num(s.rom_m * 100 if math.isfinite(s.rom_m) else math.nan, ".0f", " cm"),
                num(np.mean(ecc_v) if ecc_v else math.nan, ".2f", " m/s"),
                num(s.load_kg * s.n_reps, ".0f", " kg"),
                num(epley_1rm(s.load_kg, s.n_reps), ".1f", " kg"),
                num(h.peak_hr_bpm if h else math.nan, ".0f"),
                num(h.hrr60_bpm if h else math.nan, ".0f"),
                num(s.start_s - prev_end, ".0f", " s"),
                esc(note),
            ]
        )
        prev_end = s.end_s
    headers = (
        "set", "exercise", "load", "reps", "tempo", "ecc TUT", "total TUT", "ROM", "ecc velocity",
        "volume-load", "est. 1RM", "peak HR", "HRR60", "rest before", "note",
    )  # fmt: skip
    return table(headers, rows, left=(1, 14), raw=True) + paragraphs(
        [
            "Tempo is the median of the reps' phases: eccentric - pause after it - concentric - "
            "pause after it, in seconds. Estimated 1RM uses Epley (load × (1 + reps/30)); it is "
            "an estimate, least reliable above about 10 reps. HRR60: peak HR minus HR 60 s after "
            "the set (needs 60 s of rest)."
        ],
        "muted",
    )


def _figure_or(png: bytes | None, alt: str, missing: str) -> str:
    return png_img(png, alt) if png else f"<p>{esc(missing)}</p>"


def _quality(analysis: SessionAnalysis) -> str:
    lines = list(analysis.warnings)
    h = analysis.heart
    if h is not None:
        if h.reason:
            lines.append(f"heart: {h.reason}")
        if h.rest.reason:
            lines.append(f"rest window ({h.rest_window.replace('_', '-')}): {h.rest.reason}")
        for k, s in enumerate(h.sets):
            if s.reason and "no valid heart rate during" in s.reason:
                lines.append(f"set {k + 1}: {s.reason}")
    if not lines:
        return "<p>No data-quality problems were found.</p>"
    return "".join(f'<div class="warn">{esc(w)}</div>' for w in lines)


def _notes(analysis: SessionAnalysis) -> str:
    m = analysis.meta
    parts = []
    if m.notes:
        parts.append(f'<div class="note">{esc(m.notes)}</div>')
    marks = [
        (f"{(_ts(k.t) - analysis.t0).total_seconds() / 60:.1f} min", k.kind, k.label)
        for k in m.markers
        if k.label
    ]
    if marks:
        parts.append(table(("time", "kind", "label"), marks, left=(1, 2)))
    plan = [(str(i + 1), p.exercise, p.note) for i, p in enumerate(m.sets) if p.note]
    if plan:
        parts.append(table(("planned set", "exercise", "note"), plan, left=(1, 2)))
    return "".join(parts) or "<p>No notes or markers.</p>"


def render_session_report(analysis: SessionAnalysis, recording: Recording | None = None) -> str:
    """The report as an HTML string (see :func:`write_session_report`)."""
    rec = recording
    if rec is None and analysis.path.exists():
        from liftsense.recording import load

        try:
            rec = load(analysis.path)
        except RecordingError:
            rec = None
    imu_png = hr_png = None
    raw_missing = "the recording is not available, so raw traces cannot be drawn"
    if rec is not None and analysis.imu_device and rec.has("acc", analysis.imu_device):
        imu_png = plots.imu_trace(analysis, rec.stream("acc", analysis.imu_device))
    # the series the heart features were computed from, so the plot matches the numbers
    series = analysis.heart.series if analysis.heart is not None else None
    if series is not None:
        intake = [(t, short) for t, short, _ in _intake_lines(analysis)]
        hr_png = plots.hr_timeline(analysis, series, intake)
    tempo_png = plots.tempo_chart(analysis.sets)
    m = analysis.meta
    body = "".join(
        [
            section("Summary", _summary(analysis), ident="summary"),
            section("Sets", _sets_table(analysis), ident="sets"),
            section(
                "Tempo per rep",
                _figure_or(tempo_png, "stacked phase durations per rep", "No reps to chart."),
                ident="tempo",
            ),
            section(
                "Accelerometer trace",
                _figure_or(
                    imu_png,
                    "accelerometer trace with sets and rep phases shaded",
                    "No accelerometer trace: "
                    + (raw_missing if rec is None else "no accelerometer in this recording"),
                ),
                ident="imu",
            ),
            section(
                "Heart rate",
                _figure_or(
                    hr_png,
                    "heart-rate timeline with sets, rest windows and intake",
                    "No heart-rate timeline: no valid heart rate in this recording",
                )
                + paragraphs([elevation_text(analysis.heart)]),
                ident="heart",
            ),
            section("Data quality", _quality(analysis), ident="quality"),
            section("Notes and markers", _notes(analysis), ident="notes"),
        ]
    )
    title = f"LiftSense session {m.session_id}" + (f" — {m.subject}" if m.subject else "")
    footer = f"LiftSense {__version__} · {analysis.path.name} · times in UTC"
    return page(title, body, footer=footer)


def write_session_report(
    analysis: SessionAnalysis, out: str | Path, *, recording: Recording | None = None
) -> Path:
    """Write the per-session HTML report and return its path.

    Args:
        analysis: from :func:`liftsense.analysis.session.analyze`.
        out: the HTML file to write; an existing directory gets ``<recording stem>.html``.
        recording: the loaded recording for the raw traces; default: loaded from
            ``analysis.path`` when it exists (without it the traces are left out, with a note).

    The file is self-contained (inline CSS, base64 PNG images, no scripts, no network
    requests) and is written atomically (temporary name, then rename).
    """
    path = Path(out)
    if path.is_dir():
        path = path / (analysis.path.stem + ".html")
    text = render_session_report(analysis, recording)
    return write_atomic(path, text)


def write_atomic(path: Path, text: str) -> Path:
    """Write UTF-8 text to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
