"""Drift control of a displacement integrated from acceleration, given the reps found on it.

The velocity error is known wherever the load is still (pauses, rests, the turnaround at the
start position): there it is the measured velocity. Between those knots it is taken as linear;
the far turnaround of a rep without a pause is a free knot, set so that the rep returns to the
level it started from (``velocity_correction``).

A turnaround at the start position without a pause is still for an instant only. The plateau
sample ``find_reps`` gives for it is the extreme of a displacement that the drift control
itself shaped, and can lie well inside the slow start of a movement or the end of a fast one
(0.05-0.1 m/s); pinned there, it holds that velocity at zero and pulls the turnaround early.
The fitted start or end of the movement is a better clock, so a signal whose reps are timed
on it pins the stillest sample between the two (``turns_at_fit``).

Across a dropout where the set ended (the velocity is held level there: ``dropouts``), what
the load did is unknown, and the velocity after it is off by a step. Between knots either
side, a linear error spreads that step over the movement after the dropout, and a far
turnaround set so that the rep comes back makes one of a failed attempt whose lowering the
dropout cut into (its return read as the whole way down, and the set one rep too many in 11
of the 31 sets miscounted on the grid's 1-s end dropouts; 23 are miscounted with what
follows, none of them newly). So the error holds from the last
knot before such a dropout, steps across it and holds to the next knot; and a rep whose
plateaus take one in has no knot at its far turnaround: whether it came back is what the
dropout hid.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from liftsense.signal.dropouts import in_dropouts
from liftsense.signal.phases import RawRep
from liftsense.signal.quantiles import median

__all__ = ["still_knots", "velocity_correction"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: The load is still from the window's start to this long (s) before the first rep's fitted
#: start, and from this long after the last rep's end (re-racking is not timed) ...
_STILL_BEFORE_S = 1.0
_STILL_AFTER_S = 0.5
#: ... and inside a pause of at least this long (s), but for this margin at each end.
_MIN_PAUSE_S = 0.3
_PAUSE_EDGE_S = 0.15


def _before_first(first: float, fs: float, step: float) -> FloatArray:
    """Samples every ``step`` from the window's start to ``_STILL_BEFORE_S`` before ``first``."""
    out: FloatArray = np.arange(0.0, first - _STILL_BEFORE_S * fs, step)
    return out


def _after_last(last: float, n: int, fs: float, step: float) -> FloatArray:
    """Samples every ``step`` from ``_STILL_AFTER_S`` after ``last`` to the window's end."""
    out: FloatArray = np.arange(last + _STILL_AFTER_S * fs, n, step)
    return out


def _inside(a: float, b: float, fs: float, step: float) -> FloatArray:
    """Samples every ``step`` inside the pause from ``a`` to ``b``, ``_PAUSE_EDGE_S`` from
    each end."""
    out: FloatArray = np.arange(a + _PAUSE_EDGE_S * fs, b - _PAUSE_EDGE_S * fs, step)
    return out


def _doubtful(r: RawRep, rows: list[RawRep]) -> bool:
    """A rep unlike the rest of its set: lopsided, or its way back much slower."""
    if len(rows) < 3:
        return False
    back = median([q.back_arr - q.back_on for q in rows])
    d_out, d_back = r.level1 - r.level0, r.level1 - r.level2
    return min(d_out, d_back) < 0.7 * max(d_out, d_back) or (r.back_arr - r.back_on) > 1.8 * back


def _stillest(v: FloatArray, a: float, b: float, lo: float = 0, hi: float = math.inf) -> int:
    """The sample of least speed ``|v|`` from ``a`` to ``b`` (either order; sample units), not
    before ``lo`` nor after ``hi`` nor outside ``v``; ``a`` itself if nothing is left."""
    first, last = sorted((int(a), round(b)))
    first, last = max(first, int(lo), 0), min(last, int(min(hi, v.size - 1)))
    if last < first:
        return int(a)
    return first + int(np.abs(v[first : last + 1]).argmin())


def velocity_correction(
    raw: list[RawRep],
    fs: float,
    v: FloatArray,
    *,
    open_start: bool = False,
    open_end: bool = False,
    still: list[int] | None = None,
    hold_far_pauses: bool = True,
    turns_at_fit: bool = False,
    dropouts: IntArray | None = None,
) -> FloatArray:
    """Velocity error to subtract from ``v`` (piecewise linear between knots).

    Pinned knots, where the load is still and the error is the measured velocity: every 0.1 s
    inside pauses (0.15 s margins) and before the first and after the last rep (0.5 s
    margins, so re-racking is not timed; not at an edge the recording cut through a rep,
    ``open_start``/``open_end``), the turnarounds at the start position, and the samples
    ``still`` (the far turnaround of a rep the recording cut). The far
    turnaround of a rep without a pause is a free knot, set so that the rep returns to the
    level it started from: its extreme is too flat to place within the few samples where a
    fast movement still moves. Without ``hold_far_pauses`` a far turnaround with a pause is
    a free knot too (for pauses that may be a slow movement's imperceptible start). With
    ``turns_at_fit``, each turnaround at the start position is pinned at the stillest sample
    between its plateau sample and the fitted start or end of the movement next to it (within
    the rep's far turnaround and the next rep's start; see the module docstring); without, at
    the plateau sample (reps found on another signal: their plateaus and fitted ends come from
    different clocks). ``dropouts``: the ``[a, b)`` spans across which ``v`` is held level
    (``kinematics.vertical_motion``); see the module docstring.
    """
    n = v.size
    spans = _inner_spans(dropouts, n)
    rows = sorted(raw, key=lambda r: r.out_on)
    # pinned knots: runs of them (every 0.1 s), and single samples
    runs: list[npt.NDArray[np.float64]] = []
    single: list[int] = []
    free: list[tuple[int, int, int]] = []

    step = 0.1 * fs
    if rows:
        if not open_start:
            runs.append(_before_first(rows[0].out_on, fs, step))
        if not open_end:
            last = max(r.back_arr for r in rows)
            runs.append(_after_last(last, n, fs, step))
        first = rows[0]
        single.append(_stillest(v, first.i0, first.out_on) if turns_at_fit else first.i0)
        single += still or ()
    # reps whose plateaus take in a dropout the velocity was held level across
    hid = (
        in_dropouts(spans, [r.i0 for r in rows], [r.i1 for r in rows]) > 0
        if spans.size and rows
        else np.zeros(len(rows), dtype=bool)
    )
    for k, r in enumerate(rows):
        nxt = rows[k + 1].out_on if k + 1 < len(rows) else None
        far_pause = r.back_on - r.out_arr >= _MIN_PAUSE_S * fs
        start_pause = nxt is not None and nxt - r.back_arr >= _MIN_PAUSE_S * fs
        if far_pause and hold_far_pauses:
            runs.append(_inside(r.out_arr, r.back_on, fs, step))
        elif hid[k]:
            pass  # whether it came back is what the dropout hid: no knot at its far end
        elif k == len(rows) - 1 and _doubtful(r, rows):
            single.append(r.ipk)  # a last rep unlike the others may be a failed attempt
        else:
            free.append((r.ipk, r.i0, r.i1))
        if start_pause:
            runs.append(_inside(r.back_arr, float(nxt or 0), fs, step))
        elif turns_at_fit:
            single.append(_stillest(v, r.i1, r.back_arr, r.ipk, math.inf if nxt is None else nxt))
        else:
            single.append(r.i1)
    # sample indices (truncated towards zero), sorted, once each, within the window
    pinned = np.unique(
        np.concatenate([*(q.astype(np.int64) for q in runs), np.array(single, dtype=np.int64)])
    )
    pins = pinned[(pinned >= 0) & (pinned < n)]
    unique: dict[int, tuple[int, int, int]] = {}
    for f in free:
        j = int(pins.searchsorted(f[0]))
        if 0 <= f[0] < n and not (j < pins.size and pins[j] == f[0]):
            unique.setdefault(f[0], f)
    free = list(unique.values())
    if not pins.size:
        return np.zeros(n)
    free_keys = np.array([f[0] for f in free], dtype=np.int64)
    real = np.sort(np.concatenate([pins, free_keys]))
    is_pin = np.ones(real.size, dtype=bool)
    is_pin[real.searchsorted(free_keys)] = False
    keys, src = _with_dropout_knots(real, spans)
    grid = np.arange(n)
    base_vals = np.where(is_pin, v[real], 0.0)[src]
    corr: FloatArray = np.interp(grid, keys, base_vals)
    last = keys.size - 1
    for p, i0, i1 in free:
        # the hat of knot p rises from the knot before and falls to the knot after (flat to
        # the end of the window beyond the first or last knot; flat across the knots that
        # copy it up to a dropout), and is zero elsewhere
        mine = src == int(real.searchsorted(p))
        unit = mine.astype(np.float64)
        q0, q1 = int(mine.argmax()), last - int(mine[::-1].argmax())
        a = 0 if q0 == 0 else int(keys[q0 - 1])
        b = n - 1 if q1 == last else int(keys[q1 + 1])
        span = slice(i0, i1 + 1)
        weight = float(np.interp(grid[span], keys, unit).sum())
        if weight > 0:
            shift = float((v[span].sum() - corr[span].sum()) / weight)
            corr[a : b + 1] += np.interp(grid[a : b + 1], keys, unit) * shift
    return corr


def still_knots(raw: list[RawRep], fs: float, n: int) -> IntArray:
    """The samples of a window of ``n`` where the completed reps of ``raw`` leave the load
    still for sure: every sample ``velocity_correction`` holds still before the first rep, after
    the last and inside the pauses at the far end, and the plateau samples each rep starts and
    ends at. Sorted, once each."""
    done = sorted((r for r in raw if not r.failed), key=lambda r: r.out_on)
    if not done:
        return np.empty(0, dtype=np.int64)
    parts = [
        _before_first(done[0].out_on, fs, 1.0),
        _after_last(done[-1].back_arr, n, fs, 1.0),
        np.array([x for r in done for x in (r.i0, r.i1)], dtype=np.float64),
    ]
    parts += [
        _inside(r.out_arr, r.back_on, fs, 1.0)
        for r in done
        if r.back_on - r.out_arr >= _MIN_PAUSE_S * fs
    ]
    knots = np.unique(np.concatenate(parts).astype(np.int64))
    out: IntArray = knots[(knots >= 0) & (knots < n)]
    return out


def _inner_spans(dropouts: IntArray | None, n: int) -> IntArray:
    """The dropouts ``[a, b)`` that lie inside a window of ``n`` samples (shape (k, 2))."""
    if dropouts is None or not dropouts.size:
        return np.empty((0, 2), dtype=np.int64)
    d = np.asarray(dropouts, dtype=np.int64).reshape(-1, 2)
    out: IntArray = d[(d[:, 0] >= 1) & (d[:, 1] < n)]
    return out


def _with_dropout_knots(keys: IntArray, spans: IntArray) -> tuple[IntArray, IntArray]:
    """``keys`` (sorted knot samples) with a knot added at the last sample before each
    dropout ``[a, b)`` of ``spans`` and at the first after it, each copying the nearest of
    ``keys`` on its side; and for every knot, the index in ``keys`` of the knot it copies
    (itself for those of ``keys``). The velocity error then holds from the last knot before
    a dropout to the dropout, steps across it and holds again to the next knot (see the
    module docstring); not across a dropout with a knot inside it, nor one with no knot on
    either side."""
    if not spans.size:
        return keys, np.arange(keys.size)
    groups: list[list[int]] = []  # dropouts with no knot between them step as one
    for a, b in spans.tolist():
        if groups and keys.searchsorted(a) == keys.searchsorted(groups[-1][1]):
            groups[-1][1] = b
        else:
            groups.append([a, b])
    added: dict[int, int] = {}
    for a, b in groups:
        j = int(keys.searchsorted(a))  # the first knot at or after a
        if j == 0 or j == keys.size or keys[j] < b:
            continue
        added.setdefault(a - 1, j - 1)
        added.setdefault(b, j)
    own = {int(k): i for i, k in enumerate(keys.tolist())}
    merged = sorted({**added, **own}.items())  # a knot of keys wins over a copy at its sample
    out = np.array([k for k, _ in merged], dtype=np.int64)
    src = np.array([i for _, i in merged], dtype=np.int64)
    return out, src
