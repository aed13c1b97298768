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
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from liftsense.signal.phases import RawRep
from liftsense.signal.quantiles import median

__all__ = ["velocity_correction"]

FloatArray = npt.NDArray[np.float64]


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
    different clocks).
    """
    n = v.size
    rows = sorted(raw, key=lambda r: r.out_on)
    # pinned knots: runs of them (every 0.1 s), and single samples
    runs: list[npt.NDArray[np.float64]] = []
    single: list[int] = []
    free: list[tuple[int, int, int]] = []

    def inside(a: float, b: float) -> npt.NDArray[np.float64]:
        return np.arange(a + 0.15 * fs, b - 0.15 * fs, 0.1 * fs)

    if rows:
        if not open_start:
            runs.append(np.arange(0, rows[0].out_on - 1.0 * fs, 0.1 * fs))
        if not open_end:
            last = max(r.back_arr for r in rows)
            runs.append(np.arange(last + 0.5 * fs, n, 0.1 * fs))
        first = rows[0]
        single.append(_stillest(v, first.i0, first.out_on) if turns_at_fit else first.i0)
        single += still or ()
    for k, r in enumerate(rows):
        nxt = rows[k + 1].out_on if k + 1 < len(rows) else None
        far_pause = r.back_on - r.out_arr >= 0.3 * fs
        start_pause = nxt is not None and nxt - r.back_arr >= 0.3 * fs
        if far_pause and hold_far_pauses:
            runs.append(inside(r.out_arr, r.back_on))
        elif k == len(rows) - 1 and _doubtful(r, rows):
            single.append(r.ipk)  # a last rep unlike the others may be a failed attempt
        else:
            free.append((r.ipk, r.i0, r.i1))
        if start_pause:
            runs.append(inside(r.back_arr, float(nxt or 0)))
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
    keys = np.sort(np.concatenate([pins, free_keys]))
    at = keys.searchsorted(free_keys).tolist()  # where each free knot lies among the knots
    is_pin = np.ones(keys.size, dtype=bool)
    is_pin[at] = False
    grid = np.arange(n)
    base_vals = np.where(is_pin, v[keys], 0.0)
    corr: FloatArray = np.interp(grid, keys, base_vals)
    last = keys.size - 1
    for (p, i0, i1), q in zip(free, at, strict=True):
        # the hat of knot p rises from the knot before and falls to the knot after (flat to
        # the end of the window beyond the first or last knot), and is zero elsewhere
        unit = (keys == p).astype(np.float64)
        a = 0 if q == 0 else int(keys[q - 1])
        b = n - 1 if q == last else int(keys[q + 1])
        span = slice(i0, i1 + 1)
        weight = float(np.interp(grid[span], keys, unit).sum())
        if weight > 0:
            shift = float((v[span].sum() - corr[span].sum()) / weight)
            corr[a : b + 1] += np.interp(grid[a : b + 1], keys, unit) * shift
    return corr
