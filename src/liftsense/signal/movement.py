"""The timing of one movement of a rep in a progress signal (see ``phases``).

Each movement (out to the far end, back from it) is timed from the crossing times of 20, 30 ...
80 % of its range, interpolated between samples. Smooth human movements start and end gently,
so onset and arrival are extrapolated by a least-squares fit of those times to the minimum-jerk
shape (``_TAUS``: when a minimum-jerk movement crosses each level). ``movement_out`` and
``movement_back`` give what ``phases.find_reps`` asks of each movement in one pass: its 10 % and
90 % crossings and that fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "arc_fraction",
    "fit_movement",
    "fit_movement_misfit",
    "join_turnaround",
    "level_fractions",
    "movement_back",
    "movement_out",
]

FloatArray = npt.NDArray[np.float64]


def _mj_inverse(frac: float) -> float:
    roots = np.roots([6.0, -15.0, 10.0, 0.0, 0.0, -frac])
    return float(next(r.real for r in roots if abs(r.imag) < 1e-9 and -1e-9 <= r.real <= 1 + 1e-9))


#: Levels (fractions of the range) whose crossing times are fitted, and when a minimum-jerk
#: movement crosses them (fraction of its duration).
_LEVELS = np.arange(0.2, 0.81, 0.1)
_TAUS = np.array([_mj_inverse(f) for f in _LEVELS])
#: Least-squares solution of crossing_time = onset + duration * tau, as a matrix.
_FIT = np.linalg.pinv(np.column_stack([_TAUS, np.ones_like(_TAUS)]))


def _cross(seg: FloatArray, level: float, rising: bool, last: bool) -> float | None:
    a, b = seg[:-1], seg[1:]
    hit = (
        np.flatnonzero((a < level) & (b >= level))
        if rising
        else np.flatnonzero((a > level) & (b <= level))
    )
    if hit.size == 0:
        return None
    j = int(hit[-1] if last else hit[0])
    return j + float(_sub_sample(seg, j, level))


def _last_below(seg: FloatArray, levels: FloatArray | list[float]) -> npt.NDArray[np.intp]:
    """For each level, the last sample of ``seg`` below it (-1 if none): where the suffix
    minimum (non-decreasing) reaches it. When ``seg`` ends at or above the level, the last
    rise through it starts there."""
    out: npt.NDArray[np.intp] = np.minimum.accumulate(seg[::-1])[::-1].searchsorted(levels) - 1
    return out


def _first_at_or_below(seg: FloatArray, levels: FloatArray | list[float]) -> npt.NDArray[np.intp]:
    """For each level, the first sample of ``seg`` at or below it (``seg.size`` if none):
    where the running minimum (non-increasing) reaches it. When ``seg`` starts above the
    level, the first fall through it ends there."""
    out: npt.NDArray[np.intp] = seg.size - np.minimum.accumulate(seg)[::-1].searchsorted(
        levels, side="right"
    )
    return out


def arc_fraction(progress: FloatArray, arc_rad: float) -> FloatArray:
    """Vertical fraction covered at a fraction of the way along an arc of ``arc_rad`` that
    starts flat (a forearm hanging down: little height gained per degree at first);
    ``progress`` itself for no arc."""
    if arc_rad <= 0:
        return progress
    out: FloatArray = (1 - np.cos(arc_rad * progress)) / (1 - math.cos(arc_rad))
    return out


def _interp_at(
    seg: FloatArray, levels: FloatArray, j: npt.NDArray[np.intp], ok: npt.NDArray[np.bool_]
) -> FloatArray:
    """Sub-sample time at which ``seg`` crosses each level between samples ``j`` and ``j + 1``
    (NaN where not ``ok``)."""
    j = np.where(ok, j, 0)
    a0, b0 = seg[j], seg[j + 1]
    den = np.where(b0 != a0, b0 - a0, 1.0)
    out: FloatArray = np.where(ok, j + (levels - a0) / den, np.nan)
    return out


def _cross_all(seg: FloatArray, levels: FloatArray, rising: bool, last: bool) -> FloatArray:
    """``_cross`` for several levels at once (NaN where a level is never crossed)."""
    n = seg.size
    if n >= 2 and rising and last and seg[-1] >= levels.max():
        j = _last_below(seg, levels)
        return _interp_at(seg, levels, j, j >= 0)
    if n >= 2 and not rising and not last and seg[0] > levels.max():
        k = _first_at_or_below(seg, levels)
        return _interp_at(seg, levels, k - 1, k < n)
    a, b = seg[:-1][None, :], seg[1:][None, :]
    lv = levels[:, None]
    hit = (a < lv) & (b >= lv) if rising else (a > lv) & (b <= lv)
    any_hit = hit.any(axis=1)
    j = hit.shape[1] - 1 - np.argmax(hit[:, ::-1], axis=1) if last else np.argmax(hit, axis=1)
    a0, b0 = seg[j], seg[j + 1]
    den = np.where(b0 != a0, b0 - a0, 1.0)
    out: FloatArray = np.where(any_hit, j + (levels - a0) / den, np.nan)
    return out


def _crossing_times(
    seg: FloatArray, start: float, span: float, rising: bool, arc_rad: float
) -> FloatArray:
    frac = arc_fraction(_LEVELS, arc_rad) if rising else 1 - arc_fraction(1 - _LEVELS, arc_rad)
    levels = start + frac * span if rising else start - frac * span
    return _cross_all(seg, levels, rising=rising, last=rising)


def fit_movement(
    seg: FloatArray, start: float, span: float, rising: bool, arc_rad: float = 0.0
) -> tuple[float, float]:
    """Onset and duration (samples, relative to ``seg[0]``) of one movement in ``seg``, from the
    crossing times of 20-80 % of its progress fitted to the minimum-jerk timing by least
    squares. With ``arc_rad`` the movement follows an arc whose flat end is the low end of
    ``s`` (a curl seen by a bar sensor): levels are placed where the arc puts them. NaN if a
    level is never crossed."""
    times = _crossing_times(seg, start, span, rising, arc_rad)
    if np.isnan(times).any():
        return math.nan, math.nan
    dur, onset = _FIT @ times
    return float(onset), float(dur)


def fit_movement_misfit(
    seg: FloatArray, start: float, span: float, rising: bool, arc_rad: float = 0.0
) -> tuple[float, float, float]:
    """``fit_movement``'s onset and duration, and how far the movement departs from
    minimum-jerk timing: the RMS deviation of its crossing times from the fit, as a fraction
    of its duration (all NaN if a level is never crossed). A signal that is not linear in the
    movement's progress (the tilt of a forearm against the height of the hand) crosses its
    levels out of step."""
    times = _crossing_times(seg, start, span, rising, arc_rad)
    if np.isnan(times).any():
        return math.nan, math.nan, math.nan
    dur, onset = _FIT @ times
    resid = times - (onset + dur * _TAUS)
    misfit = float(np.sqrt(np.mean(resid * resid)) / dur) if dur > 0 else math.inf
    return float(onset), float(dur), misfit


def join_turnaround(
    arrive: float, dur_in: float, leave: float, dur_out: float, fs_hz: float
) -> tuple[float, float]:
    """Reconcile the arrival of one movement with the onset of the next (sample units).

    Both are extrapolated, with an error that grows with the movement's duration (a slow
    movement drifts off its plateau imperceptibly). An overlap, or a gap within that error,
    is a turnaround without a pause: both become one instant, weighted towards the
    estimate of the faster (better timed) movement."""
    tol = 0.05 * max(dur_in, dur_out) + 0.05 * fs_hz
    if leave - arrive > tol:
        return arrive, leave
    w_in, w_out = 1.0 / max(dur_in, 1.0) ** 2, 1.0 / max(dur_out, 1.0) ** 2
    t = (arrive * w_in + leave * w_out) / (w_in + w_out)
    return t, t


def _sub_sample(sl: Sequence[float] | FloatArray, j: int, level: float) -> float:
    """Where ``level`` lies between ``sl[j]`` and ``sl[j + 1]`` (a fraction of the step)."""
    a, b = sl[j], sl[j + 1]
    den = b - a
    return (level - a) / den if den != 0 else 0.0


def _fit_at(
    sl: Sequence[float], base: int, js: list[int], levels: list[float]
) -> tuple[float, float]:
    """``fit_movement``'s onset and duration when every level is crossed, between samples
    ``base + j`` and ``base + j + 1`` of ``sl`` (``_interp_at``'s arithmetic on floats)."""
    times = []
    for j, lv in zip(js, levels, strict=True):
        a, b = sl[base + j], sl[base + j + 1]
        times.append(j + (lv - a) / (b - a if b != a else 1.0))
    dur, onset = _FIT @ np.array(times)
    return float(onset), float(dur)


def movement_out(
    s: FloatArray,
    sl: Sequence[float],
    i0: int,
    p: int,
    lv: list[float],
    quick: bool,
    arc_rad: float,
) -> tuple[float | None, float | None, float, float]:
    """The movement out of a rep, from ``i0`` up to the peak ``p``, as ``phases.find_reps``
    judges it: the last rise through its 10 % level ``lv[0]`` and the first rise through its
    90 % level ``lv[1]`` after that (``_cross``; None where there is none), and
    ``fit_movement``'s onset and duration from the last rises through ``lv[2:]`` (NaN if one
    is missing). ``sl`` is ``s`` as a sequence of floats; ``quick`` says ``s`` is finite.

    One search finds the last rises through all levels (``_last_below``)."""
    seg = s[i0 : p + 1]
    if not quick or sl[p] < max(lv):
        t10 = _cross(seg, lv[0], rising=True, last=True)
        t90 = None
        if t10 is not None:
            c90 = _cross(seg[int(t10) :], lv[1], rising=True, last=False)
            t90 = None if c90 is None else int(t10) + c90
        l0 = sl[i0]
        on, dur = fit_movement(seg, l0, sl[p] - l0, rising=True, arc_rad=arc_rad)
        return t10, t90, on, dur
    js = _last_below(seg, lv).tolist()
    on, dur = _fit_at(sl, i0, js[2:], lv[2:]) if min(js[2:]) >= 0 else (math.nan, math.nan)
    if js[0] < 0:
        return None, None, on, dur
    t10 = js[0] + _sub_sample(sl, i0 + js[0], lv[0])
    st = i0 + int(t10)
    if sl[st] >= lv[1]:
        c90 = _cross(s[st : p + 1], lv[1], rising=True, last=False)
        return t10, (None if c90 is None else int(t10) + c90), on, dur
    # from below, the first rise ends at the first sample at or above the level
    k = int((s[st : p + 1] >= lv[1]).argmax())
    if sl[st + k] < lv[1]:
        return t10, None, on, dur
    return t10, int(t10) + (k - 1 + _sub_sample(sl, st + k - 1, lv[1])), on, dur


def movement_back(
    s: FloatArray,
    sl: Sequence[float],
    p: int,
    i1: int,
    lv: list[float],
    quick: bool,
    arc_rad: float,
) -> tuple[float | None, float | None, float, float]:
    """The movement back from the peak ``p`` to ``i1``, as ``phases.find_reps`` judges it: the first
    fall through its 10 % level ``lv[0]`` and the last fall through its 90 % level ``lv[1]``
    up to the sample after that (``_cross``; None where there is none), and
    ``fit_movement``'s onset and duration from the first falls through ``lv[2:]`` (NaN if one
    is missing). ``sl`` is ``s`` as a sequence of floats; ``quick`` says ``s`` is finite.

    One search finds the first falls through all levels (``_first_at_or_below``)."""
    seg = s[p : i1 + 1]
    n = seg.size
    if not quick or sl[p] <= max(lv):
        b10 = _cross(seg, lv[0], rising=False, last=False)
        b90 = _cross(seg[: int(b10) + 2] if b10 is not None else seg, lv[1], False, True)
        l1 = sl[p]
        on, dur = fit_movement(seg, l1, l1 - sl[i1], rising=False, arc_rad=arc_rad)
        return b10, b90, on, dur
    ks = _first_at_or_below(seg, lv).tolist()
    if max(ks[2:]) < n:
        on, dur = _fit_at(sl, p, [k - 1 for k in ks[2:]], lv[2:])
    else:
        on, dur = math.nan, math.nan
    if ks[0] == n:
        return None, None, on, dur
    b10 = ks[0] - 1 + _sub_sample(sl, p + ks[0] - 1, lv[0])
    m = min(int(b10) + 2, n)
    if sl[p + m - 1] > lv[1]:
        return b10, _cross(seg[:m], lv[1], rising=False, last=True), on, dur
    # ending at or below the level, the last fall starts at the last sample above it
    j = m - 1 - int((s[p : p + m][::-1] > lv[1]).argmax())
    if sl[p + j] <= lv[1]:
        return b10, None, on, dur
    return b10, j + _sub_sample(sl, p + j, lv[1]), on, dur


def level_fractions(arc_rad: float) -> tuple[list[float], list[float]]:
    """The levels ``movement_out`` and ``movement_back`` take, as fractions of the movement's
    range from its start: out, 10 % and 90 % and then those fitted; back, 10 % (measured from
    its end, by the caller) and then those fitted. ``arc_rad``: see ``fit_movement``."""
    out = [0.1, 0.9, *arc_fraction(_LEVELS, arc_rad).tolist()]
    back = [0.1, *(1 - arc_fraction(1 - _LEVELS, arc_rad)).tolist()]
    return out, back
