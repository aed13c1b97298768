"""The progress signal of one candidate window, its reps, and the drift control behind them
(the velocity error itself: ``drift``; which way up a signal is: ``orientation``; how two
signals' reps compare: ``repsets``).

A window (see ``segment``) gets two candidate progress signals: the vertical displacement of the
sensor (``kinematics.vertical_motion``) and its rotation about its main axis
(``kinematics.rotation_progress``), both stitched across the window's dropouts (``dropouts``);
``rotation`` says when the rotation's reps win.

The accelerometer bias that turns with the sensor is fitted where the reps first found leave
the load still (``bias.turning_bias``; without a gyro, where the velocity is read from the
magnitude of the specific force), and taken off the velocity (not in a window where a set began
or ended inside a dropout: what the load did there is unknown). The displacement is then
re-integrated with the velocity error removed at every point where the load is known to be still
(pauses, rests, turnarounds), and with each rep's far turnaround set so that the load returns to
the level it started from (a failed attempt that lasts like a rep is movement there, not rest);
reps are found again on the result (a rep that pass turns into a failed attempt or smooths
away, though it lasts like its neighbours and follows or precedes one after no longer a pause
than they leave between them, was mis-corrected and keeps the timing the pass before gave it,
or the first where that pass had already stretched it: a dropout in the next rep's slow
lowering).
Reps found on the rotation are timed on the displacement where that is the better clock: a
forearm's tilt is not linear in the height of the hand that presses or curls (``retime``).
A recording that starts or ends inside a set keeps the rep it cut through, when the recorded
part looks like the set's reps (range, speed, sensor posture; ``cutreps``). Reps that
typically end with the sensor turned by more than a right angle from where they began are a
hand turning over, not lifting, and are dropped; so is a first or last rep that stands apart
from the set after a pause with the sensor out of the set's posture (re-racking; see
``posture``). A "failed attempt" after the last rep that went the whole way out, where reps
start with the concentric, is that rep with its slow way back lost in the displacement's drift:
counted, not timed (``attempts.completed_outs``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from liftsense.signal import imu as _imu
from liftsense.signal import kinematics
from liftsense.signal.attempts import attempt_after, completed_outs, mark_abnormal, mark_stalled
from liftsense.signal.bias import MAX_UNEXPLAINED, MAX_UNEXPLAINED_WITHOUT_GYRO, turning_bias
from liftsense.signal.cutreps import cut_reps
from liftsense.signal.drift import still_knots, velocity_correction
from liftsense.signal.dropouts import unrecorded
from liftsense.signal.exercises import DEFAULT_EXERCISE, Exercise
from liftsense.signal.orientation import edge_sign, oriented_reps
from liftsense.signal.phases import (
    RawRep,
    find_reps,
    median_rep_len,
    rep_gap,
    reps_overlap,
)
from liftsense.signal.posture import drop_posture_outliers, median_turn_deg, same_posture
from liftsense.signal.quantiles import median, quantiles
from liftsense.signal.repsets import gaps
from liftsense.signal.retime import retimed
from liftsense.signal.rotation import rotation_reps

__all__ = ["reps_in_window"]

FloatArray = npt.NDArray[np.float64]
MIN_DISP_M = 0.08
_MAX_REP_TURN_DEG = 90.0


def reps_in_window(
    u: _imu.UniformImu, i0: int, i1: int, info: Exercise
) -> tuple[list[RawRep], FloatArray, str, bool]:
    """Reps in one window, the oriented displacement (m) they were measured on, the kind of
    progress signal used (``displacement`` or ``rotation``), and whether reps start with the
    eccentric (from the table, or for an unknown exercise: whether the first movement from
    the resting position goes down)."""
    fs = u.fs_hz
    acc = u.acc[i0:i1]
    gyro = u.gyro[i0:i1] if u.gyro is not None else None
    drops = u.dropouts_in(i0, i1)
    # the gyro's turn serves the height (de-rotated acc) and the rotation alike: found once
    hinge = kinematics.hinge_angle(gyro, fs, drops) if gyro is not None else None
    v, x, level_drops = kinematics.vertical_motion(acc, fs, gyro, drops, hinge)
    known = info is not DEFAULT_EXERCISE
    first_down = (info.eccentric_direction == "down") == info.starts_with_eccentric
    amp_d = _spread(x)
    rot = kinematics.rotation_progress(acc, gyro, fs, drops, hinge)
    amp_r = _spread(rot)
    corr = float(np.corrcoef(rot, x)[0, 1]) if amp_d > 0 and amp_r > 0 else 0.0
    arc = math.radians(info.arc_deg)
    open_start, open_end = i0 == 0, i1 >= u.t_s.size  # the recording starts or ends here
    # a rep the recording's start or end cuts into is judged by the part on record, when the
    # exercise table says which way up the displacement is
    cut = (known and open_start, known and open_end)
    raw_d: list[RawRep] = []
    r_sig = rot
    sign = (-1.0 if first_down else 1.0) if known else edge_sign(x, fs)
    if amp_d >= MIN_DISP_M:
        raw_d, sign = oriented_reps(
            x, fs, 0.6 * MIN_DISP_M, arc, sign if known else None, cut_edges=cut
        )
    kind, raw = "displacement", raw_d
    found = rotation_reps(rot, fs, raw_d, sign=sign, corr=corr, amp_r=amp_r, dropouts=drops)
    if found is not None:
        r_sig = found.sign * rot
        if found.wins:
            kind, raw = "rotation", found.raw
            if found.tracks:
                sign = found.sign * math.copysign(1.0, corr)
    disp = sign * x
    first_sig = r_sig if kind == "rotation" else disp
    ecc_first = info.starts_with_eccentric if known else sign < 0
    raw = mark_abnormal(raw)
    unit = kinematics.slow_direction(acc, fs)  # the sensor's posture: the bias, and checks below
    if not level_drops.size:
        # a turning sensor's accelerometer bias moves with its posture: fitted where these
        # reps leave the load still (the velocity steps where it was stitched across a
        # dropout, and inside one there is nothing to fit); not where the set began or ended
        # inside a dropout (the velocity is held level across it: what the load did is unknown)
        v = v - _turning_bias_velocity(acc, unit, fs, hinge, v, raw, drops, arc)
    first = raw
    for _ in range(2):  # drift control: zero velocity at rests and turnarounds, then redo
        normal = [r for r in raw if not r.failed]
        if not normal:
            break
        held = normal + _attempts_like_reps(raw, normal)
        v_err = velocity_correction(
            held, fs, v, turns_at_fit=kind == "displacement", dropouts=level_drops
        )
        disp = sign * _imu.integrate(v - v_err, fs)
        if kind != "displacement":
            break
        again = mark_abnormal(
            find_reps(
                disp,
                fs,
                min_prominence=0.6 * MIN_DISP_M,
                arc_rad=arc,
                cut_edges=cut,
            )
        )
        # the correction is built from these reps: one it turns into a failed attempt or
        # smooths away was mis-corrected (a slow first eccentric whose onset drifts, a slow
        # last lowering whose end does): keep it as the pass before timed it (``_lost``), or
        # where that pass had already stretched it out of the set's length (a dropout in the
        # next rep's lowering), as it was first found
        kept = [r for r in again if not r.failed]
        lost = _lost(raw, kept)
        if raw is not first:
            lost += [r for r in _lost(first, kept) if not any(reps_overlap(r, q) for q in lost)]
        again = [q for q in again if not (q.failed and any(reps_overlap(q, r) for r in lost))]
        raw = (again + lost) if again else raw
    # a failed attempt seen in the first pass may be smoothed away by the drift control
    seen = [r.out_on for r in raw]
    raw = raw + [r for r in first if r.failed and all(abs(r.out_on - o) > fs for o in seen)]
    s_first = (sign * x) if kind == "displacement" else first_sig
    edges = cut_reps(
        [r for r in raw if not r.failed],
        [r for r in first if not r.failed],
        s_first,
        fs,
        open_start=open_start,
        open_end=open_end,
    )
    edges = [e for e in edges if same_posture(unit, raw, e)]
    knots: dict[str, Any] = {}  # where the edge reps leave the velocity correction
    if edges:
        # the edge reps' movements are not rest: no zero-velocity knots there
        normal = [r for r in raw if not r.failed]
        knots["open_start"] = any(e.out_on == 0 for e in edges)
        knots["open_end"] = any(e.out_on > 0 for e in edges)
        # ... but a far turnaround on record is still (zero velocity)
        knots["still"] = [e.ipk for e in edges if 2 <= e.ipk < v.size - 3]
        v_err = velocity_correction(
            normal, fs, v, turns_at_fit=kind == "displacement", dropouts=level_drops, **knots
        )
        disp = sign * _imu.integrate(v - v_err, fs)
        spans = [(e.out_on - 0.5 * fs, e.back_arr) for e in edges]
        raw = [r for r in raw if not (r.failed and any(a <= r.out_on <= b for a, b in spans))]
        raw += edges
    raw = drop_posture_outliers(unit, fs, raw, open_start=open_start, open_end=open_end)
    raw = mark_stalled(raw, first, fs, ecc_first=ecc_first, dropouts=drops)
    # a rotation is linear in the way along; a height on an arc is not
    along = arc if kind == "displacement" else 0.0
    raw += attempt_after(raw, s_first, fs, ecc_first=ecc_first, arc_rad=along, dropouts=drops)
    if kind == "displacement":  # a rotation does not drift: its reps' ways back are seen
        raw = completed_outs(raw, fs, ecc_first=ecc_first, dropouts=drops)
    if median_turn_deg(unit, raw) > _MAX_REP_TURN_DEG:
        return [], disp, kind, ecc_first
    if kind == "rotation":
        # time each rep on the displacement where that is the better clock; the displacement
        # is held still at the pauses and turnarounds that timing finds, so do it twice...
        on_rotation = raw
        # ... first with the far turnarounds free: a pause the rotation shows there may be the
        # flat start of the movement back (a forearm hardly tilts as a press starts down), and
        # a displacement held still through it loses that movement
        normal = [r for r in raw if not r.failed and not r.cut]
        loose = velocity_correction(
            normal, fs, v, hold_far_pauses=False, dropouts=level_drops, **knots
        )
        disp = sign * _imu.integrate(v - loose, fs)
        for _ in range(2):
            raw = retimed(on_rotation, disp, r_sig, fs, arc, from_gravity=gyro is None)
            normal = [r for r in raw if not r.failed and not r.cut]
            v_err = velocity_correction(normal, fs, v, dropouts=level_drops, **knots)
            disp = sign * _imu.integrate(v - v_err, fs)
    return raw, disp, kind, ecc_first


def _turning_bias_velocity(
    acc: FloatArray,
    unit: FloatArray,
    fs: float,
    hinge: kinematics.Hinge | None,
    v: FloatArray,
    raw: list[RawRep],
    drops: npt.NDArray[np.int64],
    arc: float,
) -> FloatArray:
    """What the accelerometer bias of a turning sensor adds to its vertical velocity ``v``,
    fitted where the reps ``raw`` leave the load still (``bias.turning_bias``): how each of
    its components shows there comes from the gyro's turn (``hinge``), or without a gyro from
    the posture ``unit`` (``kinematics.slow_direction``), where the velocity is read from the
    magnitude of the specific force (a sensor that keeps its posture reads its bias as a
    constant, which the mean takes off). Not without a gyro for a load that moves on an
    ``arc`` (rad; a curl): the magnitude reads the forearm's swing out and back as well as the
    lift, and the velocity that leaves at the still moments is not the bias's; and without a
    gyro, only a fit that explains more of the velocity there
    (``bias.MAX_UNEXPLAINED_WITHOUT_GYRO``). Zeros where there is nothing to fit."""
    if hinge is not None:
        h, most = kinematics.bias_velocity(acc, fs, hinge), MAX_UNEXPLAINED
    elif arc == 0 and kinematics.reads_magnitude(acc, fs):
        h, most = kinematics.magnitude_bias_velocity(unit, fs), MAX_UNEXPLAINED_WITHOUT_GYRO
    else:
        return np.zeros(v.size)
    still_at = still_knots(raw, fs, v.size)
    still_at = still_at[~unrecorded(drops, v.size)[still_at]]
    out: FloatArray = h @ turning_bias(v, h, still_at, fs, steps=drops[:, 1], most=most)
    return out


def _attempts_like_reps(raw: list[RawRep], normal: list[RawRep]) -> list[RawRep]:
    """The failed attempts of ``raw`` that last no longer than 1.3 times the ``normal`` reps'
    median and overlap none of them: movement, not rest, for the drift control (it holds only
    their far turnaround still; see ``velocity_correction``). Drift can leave a last rep's way
    back at a fraction of its way out in the first pass."""
    longest = 1.3 * median_rep_len(normal)
    return [
        r
        for r in raw
        if r.failed and r.length <= longest and not any(reps_overlap(r, q) for q in normal)
    ]


def _lost(cands: list[RawRep], kept: list[RawRep]) -> list[RawRep]:
    """The completed reps of ``cands`` that a drift pass lost from its reps ``kept``: those
    that overlap none of them, last like them (0.7 to 1.3 times their median) and follow or
    precede one of them without a longer pause than the set's reps leave between them
    (re-racking after a set comes after a pause)."""
    med, rhythm = median_rep_len(kept), _usual_gap(kept)
    return [
        r
        for r in cands
        if not r.failed
        and not r.cut  # a rep cut by the recording's edge is left to cut_reps
        and not any(reps_overlap(r, q) for q in kept)
        and 0.7 * med <= r.length <= 1.3 * med
        and any(rep_gap(r, q) <= rhythm + 0.2 * med for q in kept)
    ]


def _usual_gap(reps: list[RawRep]) -> float:
    """The median pause between consecutive reps (samples; 0 for reps that overlap or for
    fewer than two)."""
    pauses = [max(g, 0.0) for g in gaps(reps)]
    return median(pauses) if pauses else 0.0


def _spread(s: FloatArray) -> float:
    """The range of ``s`` between its 5th and 95th percentiles."""
    hi, lo = quantiles(s, (0.95, 0.05))
    return hi - lo
