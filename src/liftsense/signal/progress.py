"""The progress signal of one candidate window, its reps, and the drift control behind them
(the velocity error itself: ``drift``; which way up a signal is: ``orientation``; how two
signals' reps compare: ``repsets``).

A window (see ``segment``) gets two candidate progress signals: the vertical displacement of the
sensor (``imu.vertical_motion``) and its rotation about its main axis
(``imu.rotation_progress``). The one that yields more complete reps wins, unless the rotation's
reps are much shorter than the displacement's, or come about twice as often or in pairs inside
them (a wrist tilting forth and back within each rep shows two rotation peaks per rep), or vary
in length far more than the displacement's (a wrist wobbling through a pause splits a rep).
The displacement is then re-integrated with the velocity error removed at every point where the
load is known to be still (pauses, rests, turnarounds), and with each rep's far turnaround set
so that the load returns to the level it started from (a failed attempt that lasts like a rep
is movement there, not rest); reps are found again on the result
(a rep that pass turns into a failed attempt or smooths away, though it lasts like its
neighbours and follows or precedes one after no longer a pause than they leave between them,
was mis-corrected and keeps its first timing).
Reps found on the rotation are timed on the displacement where that is the better clock: a
forearm's tilt is not linear in the height of the hand that presses or curls (``retime``).
A recording that starts or ends inside a set keeps the rep it cut through, when the recorded
part looks like the set's reps (range, speed, sensor posture). Reps that typically end with the
sensor turned by more than a right angle from where they began are a hand turning over, not
lifting, and are dropped; so is a first or last rep that stands apart from the set after a
pause with the sensor out of the set's posture (re-racking; see ``posture``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from liftsense.signal import imu as _imu
from liftsense.signal.attempts import attempt_after, mark_abnormal, mark_stalled
from liftsense.signal.drift import velocity_correction
from liftsense.signal.exercises import DEFAULT_EXERCISE, Exercise
from liftsense.signal.movement import fit_movement
from liftsense.signal.orientation import completed, edge_sign, oriented_reps, starts_at_rest
from liftsense.signal.phases import (
    RawRep,
    candidate_peaks,
    find_reps,
    median_rep_len,
    rep_gap,
    reps_overlap,
)
from liftsense.signal.posture import drop_posture_outliers, median_turn_deg, same_posture
from liftsense.signal.quantiles import median, quantiles
from liftsense.signal.repsets import (
    covered,
    cv_of,
    gaps,
    in_pairs,
    median_period,
    nested,
    tangled,
)
from liftsense.signal.retime import retimed

__all__ = ["reps_in_window"]

FloatArray = npt.NDArray[np.float64]
MIN_DISP_M = 0.08
MIN_ROT_RAD = 0.2
_ROT_PREFERRED_RAD = 0.35
_SMALL_ROT_TIMES = 3  # a smaller rotation must find this many times the displacement's reps
#: A rotation's reps may vary in length this many times as much as the displacement's (and by
#: this coefficient of variation in any case) and still outnumber them ...
_LEN_CV_TIMES = 3.0
_LEN_CV_FLOOR = 0.15
#: ... unless the rotation reaches this (rad): a joint carrying the sensor through the lift.
_JOINT_ROT_RAD = 1.0
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
    v, x = _imu.vertical_motion(acc, fs, gyro)
    known = info is not DEFAULT_EXERCISE
    first_down = (info.eccentric_direction == "down") == info.starts_with_eccentric
    amp_d = _spread(x)
    rot = _imu.rotation_progress(acc, gyro, fs)
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
    if amp_r >= MIN_ROT_RAD and (amp_r >= _ROT_PREFERRED_RAD or _may_find(rot, fs, raw_d)):
        # a joint rotating in step with the movement (thigh, hip, forearm in a curl) can be a
        # cleaner progress signal than a small vertical displacement seen through a sensor
        # whose axes disagree on scale: use it when it finds more complete reps; but a wrist
        # that tilts forth and back within each squat shows two rotation peaks per rep. A
        # rotation under _ROT_PREFERRED_RAD is taken only over a displacement finding fewer
        # than two complete reps, or a third of its own (_SMALL_ROT_TIMES; the drift of a
        # noisy accelerometer can merge a set into a few slow "reps")
        tracks = abs(corr) >= 0.6
        r_sign = sign * math.copysign(1.0, corr) if tracks else None
        # more rotation reps than half again the displacement's may be halves of them (below):
        # the count decides their orientation, not the resting ends
        done_d = completed(raw_d)
        most = 1.5 * done_d if done_d >= 2 else math.inf
        raw_r, r_sign = oriented_reps(rot, fs, 0.75 * MIN_ROT_RAD, 0.0, r_sign, most)
        done_r = completed(raw_r)
        if tracks and done_r < done_d:
            # the displacement that set the rotation's orientation may itself be off (drift
            # of a noisy accelerometer): the other orientation, if it finds more reps
            alt, _ = oriented_reps(rot, fs, 0.75 * MIN_ROT_RAD, 0.0, -r_sign)
            if completed(alt) > done_r:
                raw_r, r_sign, tracks = alt, -r_sign, False
                done_r = completed(raw_r)
        r_sig = r_sign * rot
        # more rotation reps than displacement reps, up to three per rep, each a quarter to
        # 70 % as long and lying within them: halves of the displacement's reps (a wrist that
        # tilts forth and back within each squat); not when those overlap one another or
        # leave much of the rotation's reps uncovered (a displacement lost in drift), and
        # never from a rotation that tracks the displacement (a hip or a thigh turning with
        # the lift; a wrist tilting forth and back within each rep does not): its extra reps
        # are the ones the drift lost, and its reps are shorter for leaving out the pauses;
        # nor from rotation reps that start from the resting posture with no two of them
        # inside one displacement rep (a hip's hinge, where the drift of a noisy accelerometer
        # stretched the displacement's reps and lost one)
        ratio = median_rep_len(raw_r) / median_rep_len(raw_d) if done_d >= 2 else math.nan
        # ... or, when the displacement's reps are timed short (a slow eccentric lost in
        # drift) or the rotation's long (a pause inside the first tilt), about twice as many
        # rotation reps, coming twice as often or in pairs inside the displacement's reps
        every = median_period(raw_r) / median_period(raw_d) if done_d >= 3 else math.nan
        nest = nested(raw_r, raw_d)
        paired = 0.4 <= every <= 0.6 or nest >= 0.6
        twice = paired and 1.5 * done_d <= done_r <= 2.5 * done_d
        halves = (
            not tracks
            and (0.25 <= ratio < 0.7 or twice)
            and done_d < done_r <= 3 * done_d
            and not tangled(raw_d)
            and covered(raw_r, raw_d) >= 0.6
            and (nest > 0 or not starts_at_rest(raw_r, r_sig, fs))
        )
        # a tie goes to a rotation that tracks the displacement (a thigh or a hip), or whose
        # reps are much more alike in size: cleaner; and about twice as many displacement reps
        # as rotation reps are not reps when they overlap one another in pairs and the
        # rotation's do not (a forearm's drift through a pause turned into a second "rep"
        # inside each; reps that overlap at an even stride are a set done without pauses)
        better = (
            done_r > done_d
            or (
                done_r == done_d
                and (tracks or cv_of(raw_r, "excursion") < 0.5 * cv_of(raw_d, "excursion"))
            )
            or (
                done_r >= 4
                and 1.75 * done_r <= done_d <= 2.5 * done_r
                and tangled(raw_d)
                and not tangled(raw_r)
                and in_pairs(raw_d)
            )
        )
        if amp_r < _ROT_PREFERRED_RAD and done_d >= 2:
            better = done_r >= _SMALL_ROT_TIMES * done_d
        if done_r > done_d >= 3 and not tracks and amp_r < _JOINT_ROT_RAD:
            # extra rotation reps among reps of uneven length are a wrist wobbling through a
            # pause or a slow lowering, which splits a rep, not reps the drift lost (those
            # leave the displacement's reps uneven, merged)
            cv_r = cv_of(raw_r, "length")
            better = better and not (
                cv_r > _LEN_CV_TIMES * cv_of(raw_d, "length") and cv_r > _LEN_CV_FLOOR
            )
        if done_r >= 2 and better and not halves:
            kind, raw = "rotation", raw_r
            if tracks:
                sign = r_sign * math.copysign(1.0, corr)
    disp = sign * x
    first_sig = r_sig if kind == "rotation" else disp
    ecc_first = info.starts_with_eccentric if known else sign < 0
    raw = mark_abnormal(raw)
    first = raw
    for _ in range(2):  # drift control: zero velocity at rests and turnarounds, then redo
        normal = [r for r in raw if not r.failed]
        if not normal:
            break
        held = normal + _attempts_like_reps(raw, normal)
        v_err = velocity_correction(held, fs, v, turns_at_fit=kind == "displacement")
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
        # last lowering whose end does); keep it as first timed if it lasts like the others
        # and follows or precedes one of them without a longer pause than the set's reps
        # leave between them (re-racking after a set comes after a pause)
        kept = [r for r in again if not r.failed]
        med = median_rep_len(kept)
        rhythm = _usual_gap(kept)
        lost = [
            r
            for r in raw
            if not r.failed
            and not r.cut  # a rep cut by the recording's edge is left to _edge_reps
            and not any(reps_overlap(r, q) for q in kept)
            and 0.7 * med <= r.length <= 1.3 * med
            and any(rep_gap(r, q) <= rhythm + 0.2 * med for q in kept)
        ]
        again = [q for q in again if not (q.failed and any(reps_overlap(q, r) for r in lost))]
        raw = (again + lost) if again else raw
    # a failed attempt seen in the first pass may be smoothed away by the drift control
    seen = [r.out_on for r in raw]
    raw = raw + [r for r in first if r.failed and all(abs(r.out_on - o) > fs for o in seen)]
    s_first = (sign * x) if kind == "displacement" else first_sig
    edges = _edge_reps(
        [r for r in raw if not r.failed],
        [r for r in first if not r.failed],
        s_first,
        fs,
        open_start=open_start,
        open_end=open_end,
    )
    unit = _imu.slow_direction(acc, fs)  # the sensor's posture, for the checks below
    edges = [e for e in edges if same_posture(unit, raw, e)]
    knots: dict[str, Any] = {}  # where the edge reps leave the velocity correction
    if edges:
        # the edge reps' movements are not rest: no zero-velocity knots there
        normal = [r for r in raw if not r.failed]
        knots["open_start"] = any(e.out_on == 0 for e in edges)
        knots["open_end"] = any(e.out_on > 0 for e in edges)
        # ... but a far turnaround on record is still (zero velocity)
        knots["still"] = [e.ipk for e in edges if 2 <= e.ipk < v.size - 3]
        v_err = velocity_correction(normal, fs, v, turns_at_fit=kind == "displacement", **knots)
        disp = sign * _imu.integrate(v - v_err, fs)
        spans = [(e.out_on - 0.5 * fs, e.back_arr) for e in edges]
        raw = [r for r in raw if not (r.failed and any(a <= r.out_on <= b for a, b in spans))]
        raw += edges
    raw = drop_posture_outliers(unit, fs, raw, open_start=open_start, open_end=open_end)
    raw = mark_stalled(raw, first, ecc_first=ecc_first)
    raw += attempt_after(raw, s_first, fs, ecc_first=ecc_first)
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
        loose = velocity_correction(normal, fs, v, hold_far_pauses=False, **knots)
        disp = sign * _imu.integrate(v - loose, fs)
        for _ in range(2):
            raw = retimed(on_rotation, disp, r_sig, fs, arc)
            normal = [r for r in raw if not r.failed and not r.cut]
            v_err = velocity_correction(normal, fs, v, **knots)
            disp = sign * _imu.integrate(v - v_err, fs)
    return raw, disp, kind, ecc_first


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


def _usual_gap(reps: list[RawRep]) -> float:
    """The median pause between consecutive reps (samples; 0 for reps that overlap or for
    fewer than two)."""
    pauses = [max(g, 0.0) for g in gaps(reps)]
    return median(pauses) if pauses else 0.0


def _spread(s: FloatArray) -> float:
    """The range of ``s`` between its 5th and 95th percentiles."""
    hi, lo = quantiles(s, (0.95, 0.05))
    return hi - lo


def _may_find(rot: FloatArray, fs: float, raw_d: list[RawRep]) -> bool:
    """Whether a rotation under ``_ROT_PREFERRED_RAD`` may replace the displacement's reps
    ``raw_d``: they are fewer than two, or it has candidate peaks for ``_SMALL_ROT_TIMES``
    as many (each gives at most one rep; see ``reps_in_window``)."""
    done_d = completed(raw_d)
    if done_d < 2:
        return True
    most = max(
        candidate_peaks(sg * rot, fs, min_prominence=0.75 * MIN_ROT_RAD)[0].size
        for sg in (1.0, -1.0)
    )
    return most >= _SMALL_ROT_TIMES * done_d


def _edge_reps(
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
