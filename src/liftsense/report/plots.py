"""Figures for the reports, rendered to PNG bytes with matplotlib's Agg canvas.

matplotlib is imported only when a figure is drawn (``liftsense --help`` stays fast), and only
through ``matplotlib.figure.Figure`` (no pyplot: no global state, no GUI backend). Long traces
are reduced to a min/max envelope per display column before drawing, so a one-hour recording
costs about as much to plot as a short one. Times on the axes are minutes or seconds from the
session's ``t0``; every input comes from a :class:`~liftsense.analysis.session.SessionAnalysis`
(reports never re-detect reps) or from the recording's raw streams.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from liftsense.signal.exercises import exercise_info
from liftsense.signal.imu import runs
from liftsense.units import G_MPS2

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from liftsense.analysis.session import SessionAnalysis
    from liftsense.signal.hrseries import HeartRateSeries
    from liftsense.signal.reps import RepResult, SetResult

FloatArray = NDArray[np.float64]

_DPI = 100
#: Phase colours, shared by the tempo chart and the IMU shading.
PHASE_COLOURS = {
    "eccentric": "#d9534f",
    "bottom_pause": "#b0b0b0",
    "concentric": "#337ab7",
    "top_pause": "#dedede",
}
_SET_COLOUR = "#5cb85c"
_REST_COLOUR = "#f0ad4e"
_MAX_POINTS = 4000  # envelope columns per trace: beyond this nothing more is visible


def figure(width_in: float, height_in: float, *, bottom_in: float = 0.5) -> Figure:
    """A new Agg-backed figure (lazy matplotlib import). Margins are fixed in inches rather
    than solved by a layout engine, which costs more than drawing the data."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=_DPI)
    fig.subplots_adjust(
        left=0.75 / width_in,
        right=1 - 0.15 / width_in,
        bottom=bottom_in / height_in,
        top=1 - 0.35 / height_in,
        hspace=0.9 / height_in * 2,
    )
    return fig


def to_png(fig: Figure) -> bytes:
    """Render and encode a figure as PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def envelope(
    x: FloatArray, y: FloatArray, max_points: int = _MAX_POINTS
) -> tuple[FloatArray, FloatArray]:
    """Min/max per block of samples, interleaved, so ``plot(x, y)`` draws the same outline as
    the full trace with at most ``2 * max_points`` vertices. NaN in ``y`` is ignored per block."""
    n = y.size
    step = max(1, math.ceil(n / max_points))
    if step == 1:
        return x, y
    pad = (-n) % step
    yy = np.concatenate([y, np.full(pad, np.nan)]).reshape(-1, step)
    xx = np.concatenate([x, np.full(pad, x[-1])]).reshape(-1, step)
    ok = np.isfinite(yy).any(axis=1)
    lo = np.full(yy.shape[0], np.nan)
    hi = np.full(yy.shape[0], np.nan)
    lo[ok] = np.nanmin(yy[ok], axis=1)
    hi[ok] = np.nanmax(yy[ok], axis=1)
    xs = np.repeat(xx[:, 0], 2)
    ys = np.column_stack([lo, hi]).ravel()
    return xs, ys


def rep_phases(rep: RepResult, exercise: str) -> list[tuple[str, float, float]]:
    """(phase, start_s, duration_s) in the order the phases happen for this exercise."""
    order = ["eccentric", "bottom_pause", "concentric", "top_pause"]
    if not exercise_info(exercise).starts_with_eccentric:
        order = ["concentric", "top_pause", "eccentric", "bottom_pause"]
    out, t = [], rep.start_s
    for name in order:
        d = float(getattr(rep, name + "_s"))
        d = d if math.isfinite(d) and d > 0 else 0.0
        out.append((name, t, d))
        t += d
    return out


def _legend_phases(ax: Axes) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=k.replace("_", " ")) for k, c in PHASE_COLOURS.items()]
    ax.legend(handles=handles, loc="upper right", fontsize=8, ncols=4, framealpha=0.9)


def tempo_chart(sets: Sequence[SetResult]) -> bytes | None:
    """Stacked phase bars, one per rep, grouped by set (None when there are no reps)."""
    reps = [(s, r) for s in sets for r in s.reps]
    if not reps:
        return None
    from matplotlib.collections import PolyCollection

    x_pos, k = [], 0.0
    bottoms = np.zeros(len(reps))
    per_phase: dict[str, list[float]] = {p: [] for p in PHASE_COLOURS}
    ticks, labels = [], []
    for s in sets:
        if not s.reps:
            continue
        first = k
        for r in s.reps:
            x_pos.append(k)
            phases = {name: d for name, _, d in rep_phases(r, s.exercise)}
            for p in PHASE_COLOURS:
                per_phase[p].append(phases[p])
            k += 1.0
        ticks.append((first + k - 1.0) / 2.0)
        labels.append(str(s.index))
        k += 1.5  # a gap between sets
    fig = figure(10.0, 3.2)
    ax = fig.add_subplot()
    x = np.asarray(x_pos)
    half = 0.4
    for p, colour in PHASE_COLOURS.items():
        h = np.asarray(per_phase[p])
        # one collection per phase: a Rectangle per bar makes hundreds of reps slow to draw
        verts = np.stack(
            [
                np.column_stack([x - half, bottoms]),
                np.column_stack([x + half, bottoms]),
                np.column_stack([x + half, bottoms + h]),
                np.column_stack([x - half, bottoms + h]),
            ],
            axis=1,
        )
        ax.add_collection(PolyCollection(list(verts), facecolors=colour, edgecolors="none"))
        bottoms += h
    ax.set_xlim(-1.0, float(x[-1]) + 1.0)
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlabel("set")
    ax.set_ylabel("rep duration (s)")
    ax.set_title("Tempo per rep (phases stacked in the order they happen)", fontsize=10)
    ax.set_ylim(0, float(bottoms.max()) * 1.3 if bottoms.max() > 0 else 1.0)
    _legend_phases(ax)
    return to_png(fig)


def imu_trace(analysis: SessionAnalysis, imu: pd.DataFrame) -> bytes | None:
    """|acc| - g over the whole session with sets shaded, and the sets side by side with every
    rep's phases shaded (None without accelerometer data)."""
    if imu is None or len(imu) == 0:
        return None
    t_ns = np.asarray(imu.index.as_unit("ns").asi8, dtype=np.int64)  # type: ignore[attr-defined]
    t_s = (t_ns - analysis.t0.value) / 1e9
    xyz = imu[["x", "y", "z"]].to_numpy(np.float64)
    a = np.sqrt(np.einsum("ij,ij->i", xyz, xyz)) - G_MPS2
    sets = [s for s in analysis.sets if math.isfinite(s.start_s) and math.isfinite(s.end_s)]
    fig = figure(10.0, 5.8 if sets else 2.6)
    fig.subplots_adjust(hspace=0.45)
    axes = fig.subplots(2, 1, height_ratios=(1, 1.4)) if sets else [fig.add_subplot()]
    top = axes[0]
    ex, ey = envelope(t_s / 60.0, a)
    top.plot(ex, ey, lw=0.5, color="#333")
    top.broken_barh(
        [(s.start_s / 60.0, (s.end_s - s.start_s) / 60.0) for s in sets],
        (0, 1),
        transform=top.get_xaxis_transform(),
        color=_SET_COLOUR,
        alpha=0.25,
    )
    top.set_xlabel("minutes from start")
    top.set_ylabel("|acc| − g (m/s²)")
    top.set_title(f"Accelerometer ({analysis.imu_device or 'IMU'}), sets shaded", fontsize=10)
    top.margins(x=0)
    if sets:
        _sets_side_by_side(axes[1], sets, t_s, a)
    return to_png(fig)


def _sets_side_by_side(ax: Axes, sets: Sequence[SetResult], t_s: FloatArray, a: FloatArray) -> None:
    """Each set's window (2 s padding) laid end to end on one axis, reps' phases shaded."""
    pad_s, gap_s = 2.0, 3.0
    xs, ys = [], []
    spans: dict[str, list[tuple[float, float]]] = {p: [] for p in PHASE_COLOURS}
    ticks, labels, offset = [], [], 0.0
    total = sum(s.end_s - s.start_s + 2 * pad_s for s in sets)
    per_set = max(int(_MAX_POINTS * 1.0), 200)
    for s in sets:
        a0, b0 = s.start_s - pad_s, s.end_s + pad_s
        i, j = np.searchsorted(t_s, [a0, b0])
        shift = offset - a0
        if j > i:
            n_pts = max(int(per_set * (b0 - a0) / total), 50)
            px, py = envelope(t_s[i:j] + shift, a[i:j], n_pts)
            xs += [px, np.array([np.nan])]
            ys += [py, np.array([np.nan])]
        for r in s.reps:
            for name, start, d in rep_phases(r, s.exercise):
                if d > 0:
                    spans[name].append((start + shift, d))
        ticks.append(offset + (b0 - a0) / 2)
        labels.append(str(s.index))
        offset += b0 - a0 + gap_s
    if xs:
        ax.plot(np.concatenate(xs), np.concatenate(ys), lw=0.6, color="#222", zorder=3)
    for name, colour in PHASE_COLOURS.items():
        if spans[name]:
            ax.broken_barh(
                spans[name], (0, 1), transform=ax.get_xaxis_transform(), color=colour, alpha=0.45
            )
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlim(-gap_s / 2, offset - gap_s / 2)
    ax.set_xlabel("set")
    ax.set_ylabel("|acc| − g (m/s²)")
    ax.set_title("Sets side by side (rests removed), rep phases shaded", fontsize=10)
    _legend_phases(ax)


def hr_timeline(
    analysis: SessionAnalysis,
    series: HeartRateSeries,
    intake: Sequence[tuple[float, str]] = (),
) -> bytes | None:
    """Heart rate over the session (min from ``t0``): sets shaded, rest windows used for the
    elevation marked, intake as vertical lines, periods without valid HR marked along the
    bottom. ``intake`` is (seconds from t0, label). None when there is no HR at all."""
    hr = series.hr_bpm
    if hr.size == 0 or not np.isfinite(hr).any():
        return None
    t_min = ((series.t0_ns - analysis.t0.value) / 1e9 + np.arange(hr.size) / series.fs_hz) / 60
    fig = figure(10.0, 3.8, bottom_in=0.95)
    ax = fig.add_subplot()
    ex, ey = envelope(t_min, hr)
    ax.plot(ex, ey, lw=0.8, color="#c9302c", label="heart rate")
    sets = [(s.start_s / 60, (s.end_s - s.start_s) / 60) for s in analysis.sets]
    trans = ax.get_xaxis_transform()
    if sets:
        ax.broken_barh(sets, (0, 1), transform=trans, color=_SET_COLOUR, alpha=0.25, label="sets")
        rests = [
            (a.end_s / 60, (b.start_s - a.end_s) / 60)
            for a, b in zip(analysis.sets, analysis.sets[1:], strict=False)
            if b.start_s > a.end_s
        ]
        if rests:
            ax.broken_barh(
                rests, (0.05, 0.04), transform=trans, color="#9ab", label="rests between sets"
            )
    heart = analysis.heart
    windows: list[Any] = []
    if heart is not None:
        windows = [w for w in (heart.pre_intake, heart.pre_workout) if w is not None]
    rest = [
        (w.start_s / 60, (w.end_s - w.start_s) / 60)
        for w in windows
        if math.isfinite(w.start_s) and math.isfinite(w.end_s) and w.end_s > w.start_s
    ]
    if rest:
        ax.broken_barh(
            rest, (0.9, 0.1), transform=trans, color=_REST_COLOUR, label="rest windows (elevation)"
        )
    invalid = runs(~np.isfinite(hr))
    if invalid:
        ax.broken_barh(
            [(t_min[i], t_min[j - 1] - t_min[i] + 1 / series.fs_hz / 60) for i, j in invalid],
            (0, 0.04),
            transform=trans,
            color="#000",
            label="no valid HR",
        )
    for k, (t_s, label) in enumerate(intake):
        x = min(max(t_s / 60, float(t_min[0])), float(t_min[-1]))  # earlier intake: at the edge
        ax.axvline(x, color="#6f42c1", lw=1.2, ls="--", label="intake" if k == 0 else None)
        ax.text(x, 0.97, " " + label, transform=trans, va="top", fontsize=8, color="#6f42c1")
    ax.set_xlabel("minutes from start")
    ax.set_ylabel("HR (bpm)")
    ax.set_title("Heart rate", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, ncols=6, frameon=False)
    return to_png(fig)
