"""Reps found on a rotation, timed on the displacement where that is the better clock.

A forearm's tilt is not linear in the height of the hand that presses or curls, so it times a
press or a curl badly; a thigh's rotation times a squat well. Each rep found on the rotation is
timed on the displacement when the displacement shows both of its movements (at least
``_RETIME_MIN_M`` and neither under half the other), each lasting half to twice as long as on
the rotation (unless the displacement fits it as a minimum-jerk movement and the rotation does
not: a forearm that tilts most of the way early in a lowering and the rest as the press starts
up), and its crossing times fit minimum-jerk movements better than the rotation's
(``movement.fit_movement_misfit``). A displacement from ``_SMALL_MIN_M`` up must fit them with
under ``_SMALL_MISFIT_SHARE`` of the rotation's misfit: a thigh in a Romanian deadlift rises
only a few centimetres, but turning about the knee it cannot be linear in both its height and
its angle, and whichever moves as a minimum-jerk movement is the clock; a few centimetres of a
noisy accelerometer fit one only by chance, and then loosely. Without a gyro, the rotation is
read from gravity's direction, which the sensor's own acceleration bends: that keeps a
movement's minimum-jerk shape but shifts its timing (a hip hinging back in an RDL showed each
rep starting 0.1 s late, its bottom 0.1 s early and its return 0.1 s late). There, the
displacement times the rep when it shows both movements (from ``_RETIME_MIN_M``) and both fit
minimum-jerk movements within ``_PERFECT_MISFIT``, however closely the rotation fits too.

A pause at the far end that the displacement shows while the rotation still turns is not a
pause: the end of a slow movement is lost in an accelerometer's noise, where the sensor's tilt
still shows it. The rotation then times the turnaround (the end of the movement out and the
start of the movement back), the displacement the start and the end of the rep.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from liftsense.signal.movement import fit_movement_misfit, join_turnaround
from liftsense.signal.phases import RawRep

__all__ = ["retimed"]

FloatArray = npt.NDArray[np.float64]
#: Each movement of the displacement (m) a rep is timed on ...
_RETIME_MIN_M = 0.12
#: ... or from this, if it fits minimum-jerk movements this share of the rotation's misfit.
_SMALL_MIN_M = 0.05
_SMALL_MISFIT_SHARE = 0.25
#: A minimum-jerk misfit this small is a perfect fit (see the module's docstring).
_PERFECT_MISFIT = 0.006
#: Minimum-jerk misfits (see ``movement.fit_movement_misfit``) of a movement that the
#: displacement times surely, and that the rotation times badly.
_SURE_MISFIT = 0.02
_UNSURE_MISFIT = 0.05
#: How far the rotation may turn through a pause (as a share of the rep's excursion, and in
#: radians) before the pause is taken for the end of a slow movement.
_PAUSE_TURN = 0.06
_PAUSE_TURN_RAD = 0.08


def retimed(
    raw: list[RawRep],
    disp: FloatArray,
    rot: FloatArray,
    fs: float,
    arc: float,
    *,
    from_gravity: bool = False,
) -> list[RawRep]:
    """Reps found on the rotation ``rot``, each with its movements timed on the displacement
    ``disp`` where that is the better clock (see the module's docstring; ``from_gravity``: the
    rotation was read from gravity's direction, without gyro); failed and cut reps keep their
    timing."""
    return [r if r.failed or r.cut else _retime(r, disp, rot, fs, arc, from_gravity) for r in raw]


def _retime(
    r: RawRep, disp: FloatArray, rot: FloatArray, fs: float, arc: float, from_gravity: bool
) -> RawRep:
    """One rep of ``retimed``: timed on ``disp``, or ``r`` unchanged."""
    i0, i1 = r.i0, r.i1
    pk = i0 + int(np.argmax(disp[i0 : i1 + 1]))
    l0, l1, l2 = float(disp[i0]), float(disp[pk]), float(disp[i1])
    d_out, d_back = l1 - l0, l1 - l2
    if min(d_out, d_back) < max(0.5 * max(d_out, d_back), _SMALL_MIN_M):
        return r
    clear = min(d_out, d_back) >= _RETIME_MIN_M
    share = 1.0 if clear else _SMALL_MISFIT_SHARE
    on_o, dur_o, mis_o = fit_movement_misfit(disp[i0 : pk + 1], l0, d_out, True, arc)
    on_b, dur_b, mis_b = fit_movement_misfit(disp[pk : i1 + 1], l1, d_back, False, arc)
    rot_o = fit_movement_misfit(rot[i0 : r.ipk + 1], r.level0, r.level1 - r.level0, True)
    rot_b = fit_movement_misfit(rot[r.ipk : i1 + 1], r.level1, r.level1 - r.level2, False)
    ratios = (dur_o / (r.out_arr - r.out_on), dur_b / (r.back_arr - r.back_on))
    sure = (
        mis_o <= _SURE_MISFIT and rot_o[2] >= _UNSURE_MISFIT,
        mis_b <= _SURE_MISFIT and rot_b[2] >= _UNSURE_MISFIT,
    )
    if not all(0.5 <= q <= 2.0 or ok for q, ok in zip(ratios, sure, strict=True)):  # False for NaN
        return r
    # a perfect fit of a displacement that shows the rep clearly beats a rotation that gravity's
    # direction bends, however closely that fits too
    perfect = clear and mis_o <= _PERFECT_MISFIT and mis_b <= _PERFECT_MISFIT  # False for NaN
    if not (mis_o + mis_b < share * (rot_o[2] + rot_b[2]) or (from_gravity and perfect)):
        return r  # also for NaN: keep the rotation's timing
    out_on, back_on, back_arr = i0 + on_o, pk + on_b, pk + on_b + dur_b
    out_arr, back_on = join_turnaround(out_on + dur_o, dur_o, back_on, dur_b, fs)
    if _turns_through(rot, out_arr, back_on, r.excursion):
        if not out_on < r.out_arr <= r.back_on < back_arr:
            return r
        out_arr, back_on = r.out_arr, r.back_on
    return replace(r, out_on=out_on, out_arr=out_arr, back_on=back_on, back_arr=back_arr)


def _turns_through(rot: FloatArray, a: float, b: float, excursion: float) -> bool:
    """Whether the rotation turns between sub-sample indices ``a`` and ``b`` by more than a
    pause allows."""
    ia, ib = math.ceil(a), math.floor(b)
    if ib - ia < 2 or not excursion > 0:
        return False
    turn = float(np.ptp(rot[ia : ib + 1]))
    return turn > max(_PAUSE_TURN * excursion, _PAUSE_TURN_RAD)
