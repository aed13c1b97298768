"""Reps in the rotation of the joint that carries the sensor, and whether they replace the
reps in its vertical displacement (see ``progress``).

A joint rotating in step with the movement (a thigh, a hip, a forearm in a curl) can be a
cleaner progress signal than a small vertical displacement seen through a sensor whose axes
disagree on scale. The one that yields more complete reps wins, unless the rotation's reps are
much shorter than the displacement's, or come about twice as often or in pairs inside them (a
wrist tilting forth and back within each rep shows two rotation peaks per rep), or vary in
length far more than the displacement's (a wrist wobbling through a pause splits a rep). A
rotation rep that stands apart from the set after a pause, such as re-racking, is left out of
that comparison, and wins nothing: without it, the rotation needs more reps, reps much more
alike in length, or a displacement whose reps reach into a dropout. Likewise a displacement rep
that stands apart from the set after a pause, where a rotation turning in step with the
displacement shows none, is the drift of a noisy accelerometer in the rest, and counts for
nothing against that rotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liftsense.signal.orientation import completed, oriented_reps, starts_at_rest
from liftsense.signal.phases import RawRep, candidate_peaks, median_rep_len, reps_overlap
from liftsense.signal.repsets import (
    apart_ends,
    covered,
    cut_by,
    cv_of,
    in_pairs,
    median_period,
    nested,
    split_sets,
    tangled,
)

__all__ = ["MIN_ROT_RAD", "RotationReps", "rotation_reps"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MIN_ROT_RAD = 0.2
_ROT_PREFERRED_RAD = 0.35
_SMALL_ROT_TIMES = 3  # a smaller rotation must find this many times the displacement's reps
#: A rotation's reps may vary in length this many times as much as the displacement's (and by
#: this coefficient of variation in any case) and still outnumber them ...
_LEN_CV_TIMES = 3.0
_LEN_CV_FLOOR = 0.15
#: ... unless the rotation reaches this (rad): a joint carrying the sensor through the lift.
_JOINT_ROT_RAD = 1.0


@dataclass(frozen=True)
class RotationReps:
    """Reps found in ``sign * rot``; ``tracks`` says the rotation turns in step with the
    displacement (the orientation came from it), ``wins`` that these reps replace the
    displacement's."""

    raw: list[RawRep]
    sign: float
    tracks: bool
    wins: bool


def rotation_reps(
    rot: FloatArray,
    fs: float,
    raw_d: list[RawRep],
    *,
    sign: float,
    corr: float,
    amp_r: float,
    dropouts: IntArray | None = None,
) -> RotationReps | None:
    """The reps in the rotation ``rot`` (rad) of a window, against the reps ``raw_d`` found in
    its displacement oriented by ``sign``; ``corr`` is the two signals' correlation and
    ``amp_r`` the rotation's spread (5th to 95th percentile); a rep that reaches into the
    window's ``dropouts`` (``imu.UniformImu.dropouts``) tangles with none (``tangled``).
    None when the rotation is too small to be looked at: under ``MIN_ROT_RAD``, or under
    ``_ROT_PREFERRED_RAD`` unless it may find many more reps (``_may_find``)."""
    if amp_r < MIN_ROT_RAD or not (amp_r >= _ROT_PREFERRED_RAD or _may_find(rot, fs, raw_d)):
        return None
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
        and not tangled(raw_d, dropouts)
        and covered(raw_r, raw_d) >= 0.6
        and (nest > 0 or not starts_at_rest(raw_r, r_sig, fs))
    )
    # a tie goes to a rotation that tracks the displacement (a thigh or a hip), or whose
    # reps are much more alike in size: cleaner; and about twice as many displacement reps
    # as rotation reps (from one and a half times: a dropout hides a rep's two halves) are
    # not reps when they overlap one another in pairs and the rotation's do not (a forearm's
    # drift through a pause turned into a second "rep" inside each; reps that overlap at an
    # even stride are a set done without pauses)
    # a displacement rep standing apart from the set after a pause, where a rotation turning
    # in step shows none, is drift in the rest before or after the set: it wins nothing
    shown_d = done_d - (_unshown_apart(raw_d, raw_r) if tracks else 0)
    better = (
        done_r > shown_d
        or (
            done_r == shown_d
            and (tracks or cv_of(raw_r, "excursion") < 0.5 * cv_of(raw_d, "excursion"))
        )
        or (
            done_r >= 4
            and 1.5 * done_r <= done_d <= 2.5 * done_r
            and tangled(raw_d, dropouts)
            and not tangled(raw_r, dropouts)
            and in_pairs(raw_d)
        )
    )
    if amp_r < _ROT_PREFERRED_RAD and done_d >= 2:
        better = done_r >= _SMALL_ROT_TIMES * done_d
    if done_r > done_d >= 3 and not tracks and amp_r < _JOINT_ROT_RAD:
        # extra rotation reps among reps of uneven length are a wrist wobbling through a
        # pause or a slow lowering, which splits a rep, not reps the drift lost (those
        # leave the displacement's reps uneven, merged: all of them count); a rotation rep
        # that stands apart after a pause (re-racking) splits none, and is left out; when
        # that leaves the rotation no more reps than the displacement, it must be the cleaner
        # clock, as in a tie (reps much more alike in length), or the displacement's count
        # in doubt (a rep of it reaches into a dropout, which hides where it ends)
        main_r = _main_set(raw_r, fs)
        cv_r, cv_d = cv_of(main_r, "length"), cv_of(raw_d, "length")
        in_doubt = bool(cut_by([r for r in raw_d if not r.failed], dropouts).any())
        better = (
            better
            and (len(main_r) > done_d or cv_r < 0.5 * cv_d or in_doubt)
            and not (cv_r > _LEN_CV_TIMES * cv_d and cv_r > _LEN_CV_FLOOR)
        )
    return RotationReps(raw_r, r_sign, tracks, done_r >= 2 and better and not halves)


def _unshown_apart(raw_d: list[RawRep], raw_r: list[RawRep]) -> int:
    """How many of the first and last completed reps of ``raw_d`` stand apart from the set
    (``repsets.apart_ends``) and overlap no completed rep of ``raw_r``."""
    shown = [r for r in raw_r if not r.failed]
    return sum(
        e is not None and not any(reps_overlap(e, q, 0.0) for q in shown) for e in apart_ends(raw_d)
    )


def _may_find(rot: FloatArray, fs: float, raw_d: list[RawRep]) -> bool:
    """Whether a rotation under ``_ROT_PREFERRED_RAD`` may replace the displacement's reps
    ``raw_d``: they are fewer than two, or it has candidate peaks for ``_SMALL_ROT_TIMES``
    as many (each gives at most one rep; see ``rotation_reps``)."""
    done_d = completed(raw_d)
    if done_d < 2:
        return True
    most = max(
        candidate_peaks(sg * rot, fs, min_prominence=0.75 * MIN_ROT_RAD)[0].size
        for sg in (1.0, -1.0)
    )
    return most >= _SMALL_ROT_TIMES * done_d


def _main_set(raw: list[RawRep], fs: float) -> list[RawRep]:
    """The completed reps of ``raw`` in the set with the most of them, where a pause splits
    them into sets (``repsets.split_sets``): what the lifter did before or after the set is
    left out."""
    return max(split_sets(raw, fs), key=len, default=[])
