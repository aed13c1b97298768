"""Reps in a one-dimensional progress signal.

The progress signal ``s`` is oriented so that the lifter's start position is low and the far end
of the first movement is high (bar displacement for a squat with the sign flipped, the curl's
lift, a thigh's rotation...). A rep is a prominent peak of ``s`` with the plateaus before and
after it; each movement (out to the peak, back from it) is timed by ``movement``. A movement
that reverses by more than a fifth of its range before completing, a rep that comes back less
than half-way, or one that never comes back is a failed attempt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import find_peaks

from liftsense.signal.movement import join_turnaround, level_fractions, movement_back, movement_out
from liftsense.signal.quantiles import median, quantile

__all__ = [
    "RawRep",
    "candidate_peaks",
    "find_reps",
    "median_rep_len",
    "rep_gap",
    "reps_overlap",
]

FloatArray = npt.NDArray[np.float64]
_REVERSAL = 0.2
_FAR_END = 0.85
_FAR_REVERSAL = 0.3


@dataclass(frozen=True)
class RawRep:
    """One rep in sample units of the window (floats: sub-sample times).

    ``out_on``/``out_arr`` bound the movement to the far end, ``back_on``/``back_arr`` the
    movement back; ``level0``, ``level1``, ``level2`` are the progress at the start plateau, the
    far end and the end plateau; ``i0``, ``ipk``, ``i1`` their sample indices. ``cut`` marks a
    rep the recording's start or end cut through: only the movement on the recorded side is
    timed. ``unseen_back`` marks a last rep that went the whole way out but whose way back the
    drift control lost (``attempts.completed_outs``): it is counted, not timed."""

    out_on: float
    out_arr: float
    back_on: float
    back_arr: float
    level0: float
    level1: float
    level2: float
    i0: int
    ipk: int
    i1: int
    failed: bool
    cut: bool = False
    unseen_back: bool = False

    @property
    def length(self) -> float:
        """Samples from the start of the movement out to the end of the movement back."""
        return self.back_arr - self.out_on

    @property
    def excursion(self) -> float:
        """The far end's level against the mean of the start and end levels."""
        return self.level1 - 0.5 * (self.level0 + self.level2)


def _window_range(s: FloatArray, n: int) -> FloatArray:
    """``out[i]`` = range of ``s[i : i + n]``, for every window that fits in ``s``."""
    if s.size < n:
        return np.empty(0)
    o = -(n // 2)
    rng: FloatArray = maximum_filter1d(s, n, origin=o, mode="nearest") - minimum_filter1d(
        s, n, origin=o, mode="nearest"
    )
    return rng[: s.size - n + 1]


def _plateau(seg: FloatArray, ref: float, flat_n: int, rng: FloatArray) -> int:
    """Index in ``seg`` (which starts at a peak and runs away from it) where the descent from
    the peak ends: once 60 % of the peak's prominence ``ref`` is descended, the first point
    from which the signal stays within 2.5 % of ``ref`` for ``flat_n`` samples or climbs back
    by 5 % of ``ref``; the lowest point up to twice that stretch further (a slow movement
    starts imperceptibly). Stopping at the first plateau keeps
    whatever follows a set (re-racking, fiddling with the sensor) out of its last rep.
    ``rng[j]`` is the range of ``seg[j : j + flat_n]`` (see ``_window_range``; it may run
    past the end of ``seg``, where it is not used)."""
    n = seg.size
    if n < 2:
        return 0
    rmin = np.minimum.accumulate(seg)
    deep_at = 0.6 * ref
    depth = seg[0] - rmin  # non-decreasing: the first deep point is found by bisection
    j0 = int(depth.searchsorted(deep_at))
    if j0 == n or not depth[j0] >= deep_at:  # never deep (or NaN)
        return int(seg.argmin())
    tail = seg[j0 : j0 + 5 * flat_n + 1]  # the plateau starts within a few seconds
    tol = 0.05 * ref
    stop = tail - rmin[j0 : j0 + tail.size] > tol  # climbs back after the deep part
    n_win = tail.size - flat_n + 1  # windows of flat_n samples that fit in the tail
    if n_win > 0 and flat_n > 1:
        flat = rng[j0 : j0 + n_win] < 0.5 * tol
        stop[: flat.size] |= flat & (seg[0] - tail[: flat.size] >= deep_at)
    hit = int(stop.argmax())
    end = min(j0 + hit + 2 * flat_n, n - 1) if stop[hit] else n - 1
    return int(seg[: end + 1].argmin())


def _reverses(seg: FloatArray, span: float, rising: bool) -> bool:
    """Whether the movement ``seg`` (of range ``span``) goes back by more than ``_REVERSAL``
    of its range before completing. Once ``seg`` has covered ``_FAR_END`` of that range it
    must go back by ``_FAR_REVERSAL``: a wrist's tilt can wobble at the turnaround (a double
    peak), where a stalled movement sinks back from part-way."""
    if seg.size < 2 or span <= 0:
        return False
    if rising:
        reached = np.maximum.accumulate(seg)
        back = reached - seg
    else:
        reached = np.minimum.accumulate(seg)
        back = seg - reached
    if back.max() <= _REVERSAL * span:  # the common case, settled without the far end's rule
        return False
    gone = reached - seg[0] if rising else seg[0] - reached
    allowed = np.where(gone >= _FAR_END * span, _FAR_REVERSAL, _REVERSAL) * span
    return bool((back > allowed).any())


def _out_levels(l0: float, l1: float, frac_out: list[float]) -> list[float]:
    """The levels ``movement_out`` takes for a movement from ``l0`` up to ``l1``
    (``frac_out``: see ``movement.level_fractions``)."""
    d = l1 - l0
    return [l0 + f * d for f in frac_out]


def _back_levels(l1: float, l2: float, frac_back: list[float]) -> list[float]:
    """The levels ``movement_back`` takes for a movement from ``l1`` down to ``l2``: its
    10 % level measured from its end, then the fitted ones from its start."""
    d = l1 - l2
    return [l2 + 0.1 * d, *(l1 - f * d for f in frac_back)]


def _cut_rep(
    s: FloatArray,
    sl: Sequence[float],
    i0: int,
    p: int,
    i1: int,
    prom: float,
    quick: bool,
    arc_rad: float,
) -> RawRep | None:
    """A rep cut by the start or end of the signal (one side ends at the edge less than 70 %
    of the way), with the missing movement clipped at the edge; None if neither side is cut.
    The movement on record is timed as a complete rep's (``movement_back``, ``movement_out``),
    or where it comes within 5 % of ``prom`` of its end level if that fit fails. ``sl`` and
    ``quick``: see ``find_reps``."""
    l0, l1, l2 = sl[i0], sl[p], sl[i1]
    cut_start = i0 <= 1 and l1 - l0 < 0.7 * (l1 - l2)
    cut_end = i1 >= s.size - 2 and l1 - l2 < 0.7 * (l1 - l0)
    if not (cut_start or cut_end) or (cut_start and cut_end):
        return None
    top = np.flatnonzero(s[i0 : i1 + 1] >= l1 - 0.05 * prom) + i0
    arr, leave = float(top[0]), float(top[-1])
    frac_out, frac_back = level_fractions(arc_rad)
    if cut_start:
        lv = _back_levels(l1, l2, frac_back)
        on, dur = movement_back(s, sl, p, i1, lv, quick, arc_rad)[2:]
        if arr <= p + on and p + on + dur <= s.size - 1:  # False for NaN
            leave, end = p + on, p + on + dur
        else:
            back = np.flatnonzero(s[p : i1 + 1] <= l2 + 0.05 * prom)
            end = float(p + back[0]) if back.size else float(i1)
        return RawRep(float(i0), arr, leave, end, l2, l1, l2, i0, p, i1, False, True)
    on, dur = movement_out(s, sl, i0, p, _out_levels(l0, l1, frac_out), quick, arc_rad)[2:]
    if i0 + on >= 0 and i0 + on + dur <= leave:  # False for NaN
        begin, arr = i0 + on, i0 + on + dur
    else:
        start = np.flatnonzero(s[i0 : p + 1] <= l0 + 0.05 * prom)
        begin = float(i0 + start[-1]) if start.size else float(i0)
    return RawRep(begin, arr, leave, float(i1), l0, l1, l0, i0, p, i1, False, True)


def _edge_prominences(
    s: FloatArray,
    peaks: npt.NDArray[np.intp],
    prom: FloatArray,
    bases: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
    flat_n: int,
    cut_edges: tuple[bool, bool],
) -> FloatArray:
    """Prominences of ``peaks``, the first (last) measured on its inner side alone when the
    recording starts (ends) with ``s`` (``cut_edges``) and ``s`` is still moving there (no
    ``flat_n``-sample stretch within 2.5 % of that side's depth between the edge and the
    peak): the recording began or stopped inside that rep, and the part before the cut says
    nothing of its size."""
    prom = prom.copy()
    left, right = bases
    for k, edge in ((0, 0), (peaks.size - 1, s.size - 1)):
        p = int(peaks[k])
        if not cut_edges[edge > 0]:
            continue
        if edge == 0 and left[k] == 0:
            inner, outer = s[p : int(right[k]) + 1], s[: p + 1]
        elif edge > 0 and right[k] == edge:
            inner, outer = s[int(left[k]) : p + 1], s[p:]
        else:
            continue
        depth = float(s[p] - inner.min())
        if depth <= prom[k] or outer.size < 2:
            continue
        rng = _window_range(outer, min(flat_n, outer.size))
        if bool((rng >= 0.025 * depth).all()):
            prom[k] = depth
    return prom


def candidate_peaks(
    s: FloatArray,
    fs_hz: float,
    *,
    min_prominence: float,
    rel_prominence: float = 0.55,
    cut_edges: tuple[bool, bool] = (False, False),
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """The peaks of ``s`` that ``find_reps`` examines, and their prominences: each becomes at
    most one rep, so their number bounds the reps it can find. ``cut_edges`` says whether the
    recording starts and ends with ``s``: a first or last peak its start or end cuts into is
    then judged by its inner side alone."""
    none = (np.empty(0, dtype=np.intp), np.empty(0))
    if s.size < 5:
        return none
    peaks, props = find_peaks(s, prominence=min_prominence, distance=max(1, int(0.4 * fs_hz)))
    if peaks.size == 0:
        return none
    ref = quantile(props["prominences"], 0.8)
    prom = props["prominences"]
    if any(cut_edges):
        bases = (props["left_bases"], props["right_bases"])
        flat_n = max(int(0.6 * fs_hz), 2)
        prom = _edge_prominences(s, peaks, prom, bases, flat_n, cut_edges)
    keep = prom >= rel_prominence * ref
    return peaks[keep], prom[keep]


def find_reps(
    s: FloatArray,
    fs_hz: float,
    *,
    min_prominence: float,
    rel_prominence: float = 0.55,
    min_move_s: float = 0.25,
    max_move_s: float = 12.0,
    search_s: float = 15.0,
    arc_rad: float = 0.0,
    cut_edges: tuple[bool, bool] = (False, False),
) -> list[RawRep]:
    """Find reps in the oriented progress signal ``s`` sampled at ``fs_hz``.

    A candidate peak needs a prominence of at least ``min_prominence`` (units of ``s``) and of
    ``rel_prominence`` times the set's typical prominence (the 80th percentile of candidates),
    which rejects re-racking, partial attempts and fiddling between full reps. Movements
    shorter than ``min_move_s`` or longer than ``max_move_s`` are not reps. ``arc_rad`` > 0
    says ``s`` is the height of a point moving on an arc of that angle (see
    ``movement.fit_movement``). ``cut_edges`` says whether the recording starts and ends
    with ``s``, for an ``s`` whose orientation is known: a rep its start or end cuts into
    can then be told from the start of the next (see ``candidate_peaks``).
    """
    peaks, prom = candidate_peaks(
        s,
        fs_hz,
        min_prominence=min_prominence,
        rel_prominence=rel_prominence,
        cut_edges=cut_edges,
    )
    if peaks.size == 0:
        return []
    flat_n = max(int(0.6 * fs_hz), 2)
    search = int(search_s * fs_hz)
    out: list[RawRep] = []
    pk: list[int] = peaks.tolist()
    proms: list[float] = prom.tolist()
    # the per-peak work runs on plain floats where it is scalar: a float64 array's samples read
    # through a memoryview are exactly its values (and no copy of them is made)
    plain = s.dtype == np.float64 and s.flags.c_contiguous
    sl = cast(Sequence[float], s.data) if plain else cast(Sequence[float], s.tolist())
    quick = bool(np.isfinite(s).all())
    # levels of each movement as fractions of its range: 10 %, 90 %, then those fitted
    frac_out, frac_back = level_fractions(arc_rad)
    shortest, longest = min_move_s * fs_hz, max_move_s * fs_hz
    # range of every flat_n-sample window, once: forwards from p it is rng[p + j], and
    # backwards (s[p - j - flat_n + 1 : p - j + 1]) rng[p - flat_n + 1 - j]
    rng = _window_range(s, flat_n)
    for k, p in enumerate(pk):
        lo = max(pk[k - 1] if k else 0, p - search)
        hi = min(pk[k + 1] if k + 1 < len(pk) else s.size - 1, p + search)
        b = p - flat_n + 1
        rng_back = rng[b::-1] if b >= 0 else rng[:0]
        i0 = p - _plateau(s[lo : p + 1][::-1], proms[k], flat_n, rng_back)
        i1 = p + _plateau(s[p : hi + 1], proms[k], flat_n, rng[p:])
        l0, l1, l2 = sl[i0], sl[p], sl[i1]
        d_out, d_back = l1 - l0, l1 - l2
        if min(d_out, d_back) <= 0:
            continue
        if i0 <= 1 or i1 >= s.size - 2:
            cut = _cut_rep(s, sl, i0, p, i1, proms[k], quick, arc_rad)
            if cut is not None:  # the recording starts or ends inside this rep: count it
                out.append(cut)
                continue
        lv_out = _out_levels(l0, l1, frac_out)
        t10, t90, on_o, dur_out = movement_out(s, sl, i0, p, lv_out, quick, arc_rad)
        if t10 is None or t90 is None or t90 < t10:
            continue
        if not (shortest <= dur_out <= longest):
            continue
        lv_back = _back_levels(l1, l2, frac_back)
        b10, b90, on_b, dur_back = movement_back(s, sl, p, i1, lv_back, quick, arc_rad)
        back_ok = b10 is not None and b90 is not None and b10 >= b90
        if not (back_ok and shortest <= dur_back <= longest):
            if d_back < 0.5 * d_out:  # went out and never came back: a failed attempt
                arr = i0 + on_o + dur_out
                out.append(RawRep(i0 + on_o, arr, arr, arr, l0, l1, l2, i0, p, i1, True))
            continue
        out_on = i0 + on_o
        out_arr = out_on + dur_out
        back_on = p + on_b
        back_arr = back_on + dur_back
        out_arr, back_on = join_turnaround(out_arr, dur_out, back_on, dur_back, fs_hz)
        lopsided = min(d_out, d_back) < 0.5 * max(d_out, d_back)
        failed = (
            lopsided
            or _reverses(s[i0 + int(t10) : p + 1], d_out, rising=True)
            or _reverses(s[p : p + int(b10 or 0) + 1], d_back, rising=False)
        )
        out.append(RawRep(out_on, out_arr, back_on, back_arr, l0, l1, l2, i0, p, i1, failed))
    return out


def reps_overlap(a: RawRep, b: RawRep, share: float = 0.5) -> bool:
    """Whether two reps share more than ``share`` of the shorter one."""
    return -rep_gap(a, b) > share * min(a.length, b.length)


def rep_gap(a: RawRep, b: RawRep) -> float:
    """Samples between two reps that do not overlap (negative if they do)."""
    return max(a.out_on, b.out_on) - min(a.back_arr, b.back_arr)


def median_rep_len(raw: list[RawRep]) -> float:
    """Median duration of the completed reps (samples); NaN if none."""
    done = [r.length for r in raw if not r.failed]
    return median(done) if done else math.nan
