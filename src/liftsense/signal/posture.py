"""The sensor's posture through a set: what tells reps from handling the equipment.

A rep comes back to where it started and keeps the sensor in the posture it held through the
set's other reps. A hand turning over, reaching for the rack or the phone, turns the sensor in
ways the reps never did. Posture is the direction of the low-passed (1 Hz) specific force in the
sensor frame (``kinematics.slow_direction``), computed once per window and passed in as ``unit``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt

from liftsense.signal.kinematics import angle_from_mean_rad
from liftsense.signal.phases import RawRep, reps_overlap
from liftsense.signal.quantiles import median, quantile
from liftsense.signal.repsets import apart_ends

__all__ = ["drop_posture_outliers", "median_turn_deg", "same_posture"]

FloatArray = npt.NDArray[np.float64]
#: How far (degrees) beyond the set's own spread a complete rep set apart by a pause may turn.
_OUTLIER_DEG = 20.0
#: A rep whose fitted end runs into the next rep by less than this share of the shorter one
#: ends where the next starts (a slow arrival; a dropout in the set can leave every rep's
#: fitted end late by a third of a rep).
_SLOW_END_SHARE = 0.4


def median_turn_deg(unit: FloatArray, raw: list[RawRep]) -> float:
    """Median angle (degrees) between the sensor's posture at the start and at the end of
    each completed rep (its end: where the next rep starts, if that is sooner by under
    ``_SLOW_END_SHARE`` of the shorter rep); 0 if there is none. A rep comes back to where it
    started: reps that typically end turned by more than a right angle are a hand turning
    over, not lifting."""
    done = sorted((r for r in raw if not r.failed and not r.cut), key=lambda r: r.out_on)
    if not done:
        return 0.0
    n = unit.shape[0]
    a = np.clip([math.floor(r.out_on) for r in done], 0, n - 1)
    # a rep ends where the next starts if its fitted end runs a little into it (a slow arrival)
    ends = [
        r.back_arr if reps_overlap(r, q, _SLOW_END_SHARE) else min(r.back_arr, q.out_on)
        for r, q in itertools.pairwise(done)
    ] + [done[-1].back_arr]
    b = np.clip([math.ceil(e) for e in ends], 0, n - 1)
    cos = np.clip(np.sum(unit[a] * unit[b], axis=1), -1.0, 1.0)
    return math.degrees(median(np.arccos(cos)))


def same_posture(
    unit: FloatArray, raw: list[RawRep], edge: RawRep, margin_deg: float = 10.0
) -> bool:
    """Whether the sensor keeps, through ``edge``, the orientation it held during the set's
    completed reps (within their own spread plus ``margin_deg``): a lifter reaching for the phone
    or the rack at the end of a recording turns the wrist in ways the reps never did."""
    done = [r for r in raw if not r.failed]
    n = unit.shape[0]
    a = min(max(math.floor(min(r.out_on for r in done)), 0), n - 1)
    b = min(max(math.ceil(max(r.back_arr for r in done)), a + 1), n)
    ang = np.degrees(angle_from_mean_rad(unit, unit[a:b]))
    limit = quantile(ang[a:b], 0.98) + margin_deg
    worst = float(np.max(ang[max(math.floor(edge.out_on), 0) : math.ceil(edge.back_arr) + 1]))
    return worst <= limit


def drop_posture_outliers(
    unit: FloatArray, fs: float, raw: list[RawRep], *, open_start: bool, open_end: bool
) -> list[RawRep]:
    """Without the first or last completed rep when it stands apart from the others (a pause
    of over half a rep) and the sensor leaves, during it, the posture it held through the
    set's other reps (see ``same_posture``): re-racking or reaching for the phone after a
    pause turns the wrist in ways the reps never did."""
    done = sorted((r for r in raw if not r.failed), key=lambda r: r.out_on)
    first, last = apart_ends(done)
    n = unit.shape[0]
    drop: list[RawRep] = []
    # a rep within a second of the recording's start (``open_start``) or end (``open_end``)
    # may be one the recording cut, where the low-passed posture is unreliable
    if (
        first is not None
        and not (open_start and first.out_on < fs)
        and not same_posture(unit, done[1:], first, _OUTLIER_DEG)
    ):
        drop.append(first)
    if (
        last is not None
        and not (open_end and last.back_arr > n - 1 - fs)
        and not same_posture(unit, done[:-1], last, _OUTLIER_DEG)
    ):
        drop.append(last)
    return [r for r in raw if all(r is not d for d in drop)]
