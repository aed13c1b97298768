"""Drift control of a displacement integrated from acceleration, given the reps found on it.

The velocity error is known wherever the load is still (pauses, rests, the turnaround at the
start position): there it is the measured velocity. Between those knots it is taken as linear;
the far turnaround of a rep without a pause is a free knot, set so that the rep returns to the
level it started from (``velocity_correction``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from liftsense.signal.phases import RawRep

__all__ = ["velocity_correction"]

FloatArray = npt.NDArray[np.float64]


def _doubtful(r: RawRep, rows: list[RawRep]) -> bool:
    """A rep unlike the rest of its set: lopsided, or its way back much slower."""
    if len(rows) < 3:
        return False
    back = float(np.median([q.back_arr - q.back_on for q in rows]))
    d_out, d_back = r.level1 - r.level0, r.level1 - r.level2
    return min(d_out, d_back) < 0.7 * max(d_out, d_back) or (r.back_arr - r.back_on) > 1.8 * back


def velocity_correction(
    raw: list[RawRep],
    fs: float,
    v: FloatArray,
    *,
    open_start: bool = False,
    open_end: bool = False,
    still: list[int] | None = None,
    hold_far_pauses: bool = True,
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
    a free knot too (for pauses that may be a slow movement's imperceptible start).
    """
    n = v.size
    rows = sorted(raw, key=lambda r: r.out_on)
    pinned: set[int] = set()
    free: list[tuple[int, int, int]] = []

    def inside(a: float, b: float) -> set[int]:
        return {int(i) for i in np.arange(a + 0.15 * fs, b - 0.15 * fs, 0.1 * fs)}

    if rows:
        if not open_start:
            pinned |= {int(i) for i in np.arange(0, rows[0].out_on - 1.0 * fs, 0.1 * fs)}
        if not open_end:
            last = max(r.back_arr for r in rows)
            pinned |= {int(i) for i in np.arange(last + 0.5 * fs, n, 0.1 * fs)}
        pinned.add(rows[0].i0)
        pinned |= set(still or ())
    for k, r in enumerate(rows):
        nxt = rows[k + 1].out_on if k + 1 < len(rows) else None
        far_pause = r.back_on - r.out_arr >= 0.3 * fs
        start_pause = nxt is not None and nxt - r.back_arr >= 0.3 * fs
        if far_pause and hold_far_pauses:
            pinned |= inside(r.out_arr, r.back_on)
        elif k == len(rows) - 1 and _doubtful(r, rows):
            pinned.add(r.ipk)  # a last rep unlike the others may be a failed attempt
        else:
            free.append((r.ipk, r.i0, r.i1))
        if start_pause:
            pinned |= inside(r.back_arr, float(nxt or 0))
        else:
            pinned.add(r.i1)
    pins = sorted(p for p in pinned if 0 <= p < n)
    unique: dict[int, tuple[int, int, int]] = {}
    for f in free:
        if 0 <= f[0] < n and f[0] not in pinned:
            unique.setdefault(f[0], f)
    free = list(unique.values())
    if not pins:
        return np.zeros(n)
    keys = np.array(sorted(pins + [f[0] for f in free]))
    grid = np.arange(n)
    base_vals = np.where(np.isin(keys, pins), v[keys], 0.0)
    corr: FloatArray = np.interp(grid, keys, base_vals)
    for p, i0, i1 in free:
        hat = np.interp(grid, keys, (keys == p).astype(np.float64))
        span = slice(i0, i1 + 1)
        weight = float(hat[span].sum())
        if weight > 0:
            corr = corr + hat * float((v[span].sum() - corr[span].sum()) / weight)
    return corr
