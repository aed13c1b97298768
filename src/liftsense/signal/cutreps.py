"""Reps the recording's start or end cut through: a recording that starts or ends inside a set
shows part of a rep at that edge (see ``cut_reps``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from liftsense.signal.movement import fit_movement
from liftsense.signal.phases import RawRep
from liftsense.signal.quantiles import median

__all__ = ["cut_reps"]

FloatArray = npt.NDArray[np.float64]


def cut_reps(
    done: list[RawRep],
    ref: list[RawRep],
    s: FloatArray,
    fs: float,
    *,
    open_start: bool,
    open_end: bool,
) -> list[RawRep]:
    """Reps the recording's start or end cut through, in the first-pass progress ``s``.

    A recording that starts (``open_start``) or ends (``open_end``) inside a set shows part of
    a rep at that edge: the movement back from the far end down to the first complete rep, or
    the movement out to the far end after the last one. It is counted when that movement
    covers at least 60 % of the set's median range (``ref``: the completed reps found in
    ``s``), lasts at least 60 % of the same movement's median in the complete reps
    (``done``; a quick jerk of the wrist is no rep), its far end lies within three quarters of
    a median rep of the edge, and, at the start, nothing before it rises to the far end (a
    complete excursion there is not a cut rep). Only the recorded movement is timed
    (``RawRep.cut``)."""
    rows = sorted(done, key=lambda r: r.out_on)
    if len(rows) < 2 or len(ref) < 2:
        return []
    rom = median([r.excursion for r in ref])
    rep_n = median([r.length for r in rows])
    out_n = median([r.out_arr - r.out_on for r in rows])
    back_n = median([r.back_arr - r.back_on for r in rows])
    if rom <= 0:
        return []
    out: list[RawRep] = []
    a = math.floor(rows[0].out_on)
    if open_start and a >= 2:
        seg = s[: a + 1]
        j = int(np.argmax(seg))
        low = j + int(np.argmin(seg[j:]))
        drop = float(seg[j] - seg[low])
        rise = float(seg[j] - np.min(seg[: j + 1]))
        on, dur = (
            fit_movement(seg[j : low + 1], float(seg[j]), drop, rising=False)
            if low - j >= 2
            else (math.nan, math.nan)
        )
        if (
            drop >= 0.6 * rom
            and rise < 0.4 * rom
            and j <= 0.75 * rep_n
            and dur >= 0.6 * back_n  # False for NaN: a level never crossed
        ):
            back_on = max(j + on, 0.0)
            lv = (float(seg[0]), float(seg[j]), float(seg[low]))
            rep = RawRep(0.0, back_on, back_on, j + on + dur, *lv, 0, j, low, False, True)
            out.append(rep)
    b = math.ceil(rows[-1].back_arr)
    if open_end and s.size - 1 - b >= 2:
        seg = s[b:]
        j = int(np.argmax(seg))
        lo = int(np.argmin(seg[: j + 1]))
        rise = float(seg[j] - seg[lo])
        on, dur = (
            fit_movement(seg[lo : j + 1], float(seg[lo]), rise, rising=True)
            if j - lo >= 2
            else (math.nan, math.nan)
        )
        if rise >= 0.6 * rom and seg.size - 1 - j <= 0.75 * rep_n and dur >= 0.6 * out_n:
            n = s.size - 1
            out_on = b + lo + on
            arr = min(out_on + dur, float(n))
            lv = (float(seg[lo]), float(seg[j]), float(seg[-1]))
            out.append(RawRep(out_on, arr, arr, float(n), *lv, b + lo, b + j, n, False, True))
    return out
