"""Sets, reps and phases from one IMU stream: tempo and eccentric time under tension.

``detect(imu, exercise=None, markers=None)`` works for a sensor on the bar, wrist, thigh or hip
in any orientation, 12.5-416 Hz, with or without gyro. Steps:

1. ``imu.prepare``: validate, resample to 50 Hz (anti-aliased), flag long gaps and list the
   dropouts across which the integrated signals are stitched (``dropouts``).
2. ``segment``: candidate windows of activity between rests (walking excluded), or the
   recording's set markers when given.
3. ``progress``: per window, a progress signal: the sensor's vertical displacement (gravity
   removed with the gyro, or orientation-free from the magnitude of the specific force), or its
   rotation when that finds more complete reps (a thigh in an RDL); drift held by zero velocity
   at rests, pauses and turnarounds and by each rep returning to its start level; a rep cut by
   the start or end of the recording counts, timed by what was recorded.
4. ``phases.find_reps``: prominent excursions of that signal, each movement timed by fitting
   the crossing times of 20-80 % of its range to a minimum-jerk profile; reps that reverse
   part-way or never come back, or whose concentric stalls short of lockout, are failed
   attempts, counted apart (``attempts``), and so is a set's last rep left at the bottom for
   5 s and more (``_stuck_last``). Reps found on the rotation are timed on the
   displacement where its crossing times fit that profile better (a forearm's tilt is not
   linear in the height of the hand), except for a turnaround the rotation still turns
   through (``retime``). A rep that a dropout overlaps, or that reps a dropout hid follow, is
   timed by the set's tempo (``tempofill``).
5. Which movement is eccentric comes from the exercise table (``exercises.exercise_info``); for
   an unknown exercise the start position is where the window rests, and lowering from it is
   taken as eccentric.

Times in results are seconds from ``t0``, the first sample of the input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from liftsense.signal import imu as _imu
from liftsense.signal.attempts import attempts_ending
from liftsense.signal.dropouts import hidden_per_step, in_dropouts
from liftsense.signal.exercises import Exercise, exercise_info
from liftsense.signal.filters import lowpass, moving_mean
from liftsense.signal.movement import join_turnaround
from liftsense.signal.phases import RawRep
from liftsense.signal.progress import reps_in_window
from liftsense.signal.quantiles import median
from liftsense.signal.repsets import cv_of, gaps, next_starts, split_sets
from liftsense.signal.results import RepResult, SetResult, format_tempo
from liftsense.signal.segment import candidate_windows, marker_windows
from liftsense.signal.tempofill import room_for_hidden, turns_by_tempo

__all__ = ["RepResult", "SetResult", "detect", "format_tempo"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_MIN_REP_S = 0.6
_MIN_REL_ROM = 0.35
_MIN_ROM_M = 0.04
_CHAIN_OF_LEN = 0.25
_EVEN_CV = 0.15
_STUCK_S = 5.0
_STUCK_OVER_S = 3.0
#: A rep's phases in the order they happen, where it starts with the eccentric or not.
_IN_TIME = {
    True: ("eccentric_s", "bottom_pause_s", "concentric_s", "top_pause_s"),
    False: ("concentric_s", "top_pause_s", "eccentric_s", "bottom_pause_s"),
}


def _phase_speeds(
    disp: FloatArray, vel: FloatArray, a: float, b: float, fs: float
) -> tuple[float, float]:
    """Mean and peak speed (m/s) between sub-sample indices ``a`` and ``b``."""
    ia, ib = math.floor(a), math.ceil(b) + 1
    ia, ib = max(ia, 0), min(ib, disp.size)
    if ib - ia < 2 or b <= a:
        return math.nan, math.nan
    rng = float(np.ptp(disp[ia:ib]))
    return rng / ((b - a) / fs), float(np.max(np.abs(vel[ia:ib])))


def _rom(disp: FloatArray, r: RawRep) -> float:
    """Range of motion (m): far end against the mean of the start and end levels; for a rep
    the recording cut, against the level on its recorded side."""
    if not disp.size:
        return 0.0
    far = float(disp[r.ipk])
    if r.cut:
        return max(abs(far - float(disp[r.i0])), abs(far - float(disp[r.i1])))
    return abs(far - 0.5 * float(disp[r.i0] + disp[r.i1]))


def _level_size(r: RawRep) -> float:
    """A rep's excursion in its own progress signal (the recorded side of a cut rep)."""
    if r.cut:
        return max(r.level1 - r.level0, r.level1 - r.level2)
    return r.excursion


def _stuck_last(chunk: list[RawRep], fs: float) -> bool:
    """Whether a set's last rep stayed at the bottom of its eccentric at least ``_STUCK_S``,
    and ``_STUCK_OVER_S`` longer than the set's other reps paused there: a rep that failed and
    was brought back by a spotter or from the safeties. A wrist's tilt may not show the
    concentric stalling; the time under the bar does."""
    if len(chunk) < 3:
        return False
    pauses = [max(r.back_on - r.out_arr, 0.0) / fs for r in chunk]
    return pauses[-1] >= max(_STUCK_S, median(pauses[:-1]) + _STUCK_OVER_S)


def _chained(chunk: list[RawRep]) -> npt.NDArray[np.bool_]:
    """Whether each rep meets a neighbour (neither a pause between them nor an overlap longer
    than ``_CHAIN_OF_LEN`` of the set's median rep length): part of the set's rhythm, not a
    movement after a pause (re-racking, fiddling with the sensor) or into a rep (unracking)."""
    near = _CHAIN_OF_LEN * median([r.length for r in chunk])
    apart = [abs(g) for g in gaps(chunk)]
    before, after = [math.inf, *apart], [*apart, math.inf]
    return np.array([min(a, b) <= near for a, b in zip(before, after, strict=True)])


def _to_results(
    raw: list[RawRep],
    disp: FloatArray,
    vel: FloatArray,
    *,
    i0: int,
    fs: float,
    ecc_first: bool,
    by_levels: bool = False,
    dropouts: IntArray | None = None,
) -> list[tuple[list[RepResult], int, int]]:
    """Group completed reps into sets (``repsets.split_sets``); returns (reps, failed count:
    the failed attempts between a set's last rep and the next set, the count of reps not
    timed: a last rep whose way back went unseen, ``RawRep.unseen_back``).

    Reps under ``_MIN_REL_ROM`` of their set's median size are dropped; the size is the
    range of motion in ``disp``, or with ``by_levels``, when that displacement is too small to
    tell reps apart (median under ``_MIN_ROM_M``), the excursion in the progress signal the
    reps were found on (a rotation whose displacement is millimetres: triceps dips at the wrist).
    With ``by_levels``, when the set's excursions are even (coefficient of variation at most
    ``_EVEN_CV``: the rotation measures each rep alike), a rep that keeps the set's rhythm
    (``_chained``) is kept whatever its range of motion (a displacement fading in the drift of
    a noisy accelerometer).
    A last rep stuck at the bottom (``_stuck_last``) counts as failed. A rep that one of the
    window's ``dropouts`` overlaps is timed by its set's tempo (``tempofill.turns_by_tempo``).
    """
    groups: list[tuple[list[RepResult], int, int]] = []
    sets = split_sets(raw, fs)
    for chunk, until in zip(sets, next_starts(sets), strict=True):
        stuck = ecc_first and _stuck_last(chunk, fs)
        if stuck:
            chunk = chunk[:-1]
        unseen = sum(r.unseen_back for r in chunk)
        reps = _timed(chunk, disp, vel, i0=i0, fs=fs, ecc_first=ecc_first, dropouts=dropouts)
        timed = [r for r in chunk if not r.unseen_back]
        size = np.array([r.rom_m for r in reps])
        keep = size >= _MIN_REL_ROM * median(size)
        if by_levels:
            if median(size) < _MIN_ROM_M:
                level = np.array([_level_size(r) for r in timed])
                keep = level >= _MIN_REL_ROM * median(level)
            elif cv_of(timed, "excursion") <= _EVEN_CV:  # the rotation measures reps evenly
                keep |= _chained(timed)
        if not keep.all():
            # a rep dropped for its size is no rep: the reps are timed again without it, or
            # the rep before it would pause until it (a set's last rep "paused" at the top
            # for seconds, until a movement after the set)
            dropped = [r for r, k in zip(timed, keep, strict=True) if not k]
            kept = [r for r in chunk if all(r is not d for d in dropped)]
            reps = _timed(kept, disp, vel, i0=i0, fs=fs, ecc_first=ecc_first, dropouts=dropouts)
        reps = [replace(r, index=k) for k, r in enumerate(reps, start=1)]
        failed = len(attempts_ending(raw, timed, until, ecc_first=ecc_first)) + stuck
        groups.append((reps, failed, unseen))
    return groups


def _timed(
    chunk: list[RawRep],
    disp: FloatArray,
    vel: FloatArray,
    *,
    i0: int,
    fs: float,
    ecc_first: bool,
    dropouts: IntArray | None,
) -> list[RepResult]:
    """The reps of one set (``chunk``, in time order) timed: each ends where the next starts
    (a turnaround between them shared, ``join_turnaround``), the last where its movement back
    does; those with a turn in one of ``dropouts`` by the set's tempo. A rep whose way back
    went unseen (``RawRep.unseen_back``) ends the rep before it, and is not timed."""
    starts = [r.out_on for r in chunk]
    ends = [r.back_arr for r in chunk]
    for k in range(len(chunk) - 1):
        a, b = chunk[k], chunk[k + 1]
        ends[k], starts[k + 1] = join_turnaround(
            a.back_arr, a.back_arr - a.back_on, b.out_on, b.out_arr - b.out_on, fs
        )
    timed = [k for k, r in enumerate(chunk) if not r.unseen_back]
    nexts = [starts[k + 1] if k + 1 < len(chunk) else ends[k] for k in timed]
    bounds = np.array(
        [
            [starts[k], chunk[k].out_arr, chunk[k].back_on, min(ends[k], nxt), nxt]
            for k, nxt in zip(timed, nexts, strict=True)
        ],
        dtype=np.float64,
    ).reshape(-1, 5)
    measured = bounds
    if dropouts is not None:
        bounds = turns_by_tempo(bounds, dropouts, fs)
    from_tempo = np.any(bounds != measured, axis=1).tolist()
    reps: list[RepResult] = []
    for k, (out_on, out_arr, back_on, back_arr, nxt), guessed in zip(
        timed, bounds, from_tempo, strict=True
    ):
        r = replace(chunk[k], out_on=starts[k], back_arr=ends[k])
        out_s = (out_arr - out_on) / fs
        far_pause = max(back_on - out_arr, 0.0) / fs
        back_s = (back_arr - back_on) / fs
        start_pause = max(nxt - back_arr, 0.0) / fs
        rom = _rom(disp, r)
        sp_out = _phase_speeds(disp, vel, out_on, out_arr, fs)
        sp_back = _phase_speeds(disp, vel, back_on, back_arr, fs)
        ecc, con = (out_s, back_s) if ecc_first else (back_s, out_s)
        bp, tp = (far_pause, start_pause) if ecc_first else (start_pause, far_pause)
        (em, ep), (cm, cp) = (sp_out, sp_back) if ecc_first else (sp_back, sp_out)
        reps.append(
            RepResult(
                k + 1,
                (i0 + out_on) / fs,
                (i0 + nxt) / fs,
                ecc,
                bp,
                con,
                tp,
                rom,
                em,
                ep,
                cm,
                cp,
                from_tempo=guessed,
            )
        )
    return reps


def _motion(acc: FloatArray, fs: float) -> FloatArray:
    """How much the sensor moves at each sample (m/s²): the deviation of its acceleration,
    low-passed where lifting lives, from its mean over 2 s."""
    lp = lowpass(acc, fs, 2.5)
    return _imu.row_norm(lp - moving_mean(lp, int(2 * fs)))


def _unrecorded_s(u: _imu.UniformImu, s: SetResult) -> float:
    """How long the set ``s`` lies in ``u``'s dropouts (s)."""
    inside = in_dropouts(u.dropouts, [s.start_s * u.fs_hz], [s.end_s * u.fs_hz])
    return float(inside[0] / u.fs_hz)


def _room_for_hidden(reps: list[RepResult], hidden: IntArray, ecc_first: bool) -> list[RepResult]:
    """``reps`` with the ``hidden`` reps after each (``dropouts.hidden_per_step``) given room
    (``tempofill.room_for_hidden``): phases in time order, and the rep's end."""
    if not hidden.any():
        return reps
    names = _IN_TIME[ecc_first]
    phases = np.array([[getattr(r, n) for n in names] for r in reps])
    starts = np.array([r.start_s for r in reps])
    bounds = np.column_stack([starts, starts[:, None] + np.cumsum(phases, axis=1)])
    room = room_for_hidden(bounds, hidden)
    out = []
    for r, row, new in zip(reps, bounds, room, strict=True):
        if not np.array_equal(row, new):
            timed = dict(zip(names, np.diff(new).tolist(), strict=True))
            r = replace(r, end_s=float(new[4]), from_tempo=True, **timed)
        out.append(r)
    return out


def _make_set(
    reps: list[RepResult],
    failed: int,
    hidden: int,
    info: Exercise,
    t0: pd.Timestamp,
    kind: str,
    source: str,
    ecc_first: bool,
) -> SetResult:
    ph = np.array([[r.eccentric_s, r.bottom_pause_s, r.concentric_s, r.top_pause_s] for r in reps])
    med = np.median(ph, axis=0)
    trailing = 3 if ecc_first else 1
    if len(reps) > 1:  # the last rep's trailing pause is 0 by convention
        med[trailing] = median(ph[:-1, trailing])
    untimed = hidden * med  # the reps counted untimed, at the set's median phases
    return SetResult(
        index=0,
        exercise=info.name,
        t0=t0,
        start_s=reps[0].start_s,
        end_s=reps[-1].end_s,
        reps=tuple(reps),
        tempo=format_tempo(med),
        eccentric_tut_s=float(ph[:, 0].sum() + untimed[0]),
        concentric_tut_s=float(ph[:, 2].sum() + untimed[2]),
        total_tut_s=float(ph.sum() + untimed.sum()),
        failed_reps=failed,
        hidden_reps=hidden,
        rom_m=median([r.rom_m for r in reps]),
        signal=kind,
        source=source,
    )


def detect(
    imu: pd.DataFrame,
    *,
    exercise: str | None = None,
    markers: Iterable[Mapping[str, Any]] | None = None,
) -> list[SetResult]:
    """Find sets, reps and phases in one IMU stream.

    Args:
        imu: UTC ``t`` index; ``x, y, z`` acc in m/s² (gravity included); optional ``gx, gy,
            gz`` in rad/s. Any rate from about 10 Hz; gaps up to 5 s are bridged.
        exercise: the exercise performed (table name or alias); None or unknown uses the
            default (lowering is eccentric, start position inferred from the rests).
        markers: the recording's markers (``{"t", "kind"}`` with kinds ``set_start`` and
            ``set_end``); when present they bound the sets and a single rep counts as a set.

    Returns:
        Sets in time order, indexed from 1; empty if nothing looks like lifting.

    Raises:
        AnalysisError: the input cannot be analysed (missing columns, all NaN, shorter than
            3 s, constant, or acc not in m/s²).
    """
    u = _imu.prepare(imu)
    info = exercise_info(exercise)
    windows = marker_windows(u, markers) if markers is not None else []
    source = "markers" if windows else "auto"
    if not windows:
        windows = candidate_windows(u)
    min_reps = 1 if source == "markers" else 2
    results: list[SetResult] = []
    for i0, i1 in windows:
        raw, disp, kind, ecc_first = reps_in_window(u, i0, i1, info)
        vel = np.gradient(disp) * u.fs_hz if disp.size > 1 else disp
        drops = u.dropouts_in(i0, i1)
        groups = _to_results(
            raw,
            disp,
            vel,
            i0=i0,
            fs=u.fs_hz,
            ecc_first=ecc_first,
            by_levels=kind == "rotation",
            dropouts=drops,
        )
        motion = _motion(u.acc[i0:i1], u.fs_hz) if drops.size else None
        for reps, failed, unseen in groups:
            durations = [r.eccentric_s + r.concentric_s for r in reps]
            if not reps or len(reps) < min_reps or median(durations) < _MIN_REP_S:
                continue
            if motion is not None:
                starts = np.array([r.start_s * u.fs_hz - i0 for r in reps])
                hidden = hidden_per_step(starts, drops, motion, u.fs_hz)
                reps = _room_for_hidden(reps, hidden, ecc_first)
                unseen += int(hidden.sum())
            results.append(_make_set(reps, failed, unseen, info, u.t0, kind, source, ecc_first))
    results = [replace(s, unrecorded_s=_unrecorded_s(u, s)) for s in results]
    results.sort(key=lambda s: s.start_s)
    return [SetResult(**{**s.__dict__, "index": k}) for k, s in enumerate(results, start=1)]
