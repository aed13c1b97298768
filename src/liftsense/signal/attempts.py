"""Failed attempts: which reps of a window did not complete, and attempts after the last rep.

A rep found in the progress signal (see ``phases.find_reps``) can still be a failed attempt:

- a grind that stalled, was lowered and dumped: its movements take over 2.5 times the set's
  median (``mark_abnormal``);
- a last rep whose concentric stalled short of lockout (``mark_stalled``). When the rep starts
  with the concentric (an overhead press, a curl), that movement takes at least
  ``_STALL_SLOW`` times the set's median and covers less than ``_STALL_RANGE`` of the set's
  median excursion. When it starts with the eccentric (a squat, a bench press), the concentric
  is the way back, which the drift control pulls to the start level; so the way back is judged
  in the first pass, before that control: it covers less than ``_STALL_RETURN`` of the way out
  (or of the set's usual way out, where a dropout in this one cut it short), at a mean speed
  under ``_STALL_SPEED`` of the set's: the share of the way out it covers, over its duration
  in units of the set's median way back. A grind is slow: 0.7 of the way in 1.5 times the
  usual time is the limit, and a third of the way in the usual time is under it;
- an excursion after the last completed rep, of a fifth of the set's range or more (three
  tenths for a rep that starts with the eccentric; less for a load on an arc that starts flat,
  which gains little height early), that is too small to be a rep or never returns
  (``attempt_after``); not a peak inside a dropout or where one ends, which is the level
  bridged across it.

Failed attempts are counted apart from the reps (``SetResult.failed_reps``), each for the set
whose last rep it follows (``attempts_ending``).

A "failed attempt" right after the last rep that went out the whole way, as quickly as the set's
reps, is no attempt where reps start with the concentric: a stalled concentric falls short. It
is the last rep, whose slow way back (a 6-s lowering) the drift of a noisy accelerometer hid,
with no rep after it to pin the velocity at its end (``completed_outs``); if its way out is on
record: a dropout in it steps the level bridged across it as far.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from scipy.signal import find_peaks

from liftsense.signal.dropouts import in_dropouts
from liftsense.signal.movement import arc_fraction
from liftsense.signal.phases import RawRep, median_rep_len, reps_overlap
from liftsense.signal.quantiles import median
from liftsense.signal.repsets import median_period, next_starts, split_sets

__all__ = ["attempt_after", "attempts_ending", "completed_outs", "mark_abnormal", "mark_stalled"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_STALL_SLOW = 1.9
_STALL_RANGE = 0.8
_STALL_RETURN = 0.7
#: A way back at under this share of the set's speed is a grind (``mark_stalled``).
_STALL_SPEED = _STALL_RETURN / 1.5
_ATTEMPT_SIZE = 0.2
#: ... the height of an attempt that stalls this far along the way (see ``attempt_after``).
_ATTEMPT_REACH = 0.3
_ATTEMPT_SIZE_ECC_FIRST = 0.3
#: ... or an attempt that rises this many times that size from its lowest point since the set's
#: end, and stands this share of it above both feet (its high-passed return comes back higher:
#: see ``_attempt``).
_ATTEMPT_RISE = 1.7
_ATTEMPT_RISE_PROMINENCE = 0.9
#: An attempt lowers the load like the set's reps: one whose way out takes over this many times
#: their median, where reps start with the eccentric, is no attempt (see ``attempts_ending``).
_ATTEMPT_ECC_SLOW = 2.0
#: A last rep whose way back went unseen starts within this share of the set's median period
#: after the rep before it ends (``completed_outs``).
_OUT_FOLLOWS = 0.3


def _spans(dropouts: IntArray | None) -> IntArray:
    """The ``[a, b)`` sample spans of ``dropouts``, none for None."""
    return np.empty((0, 2), dtype=np.int64) if dropouts is None else dropouts.reshape(-1, 2)


def mark_abnormal(raw: list[RawRep]) -> list[RawRep]:
    """Flag as failed a rep whose movements take over 2.5 times the set's median: a grind
    that stalled, was lowered and dumped, rather than a rep."""
    if len(raw) < 3:
        return raw
    moves = np.array([(r.out_arr - r.out_on) + (r.back_arr - r.back_on) for r in raw])
    limit = 2.5 * median(moves)
    return [replace(r, failed=True) if m > limit else r for r, m in zip(raw, moves, strict=True)]


def mark_stalled(
    raw: list[RawRep],
    first: list[RawRep],
    fs: float,
    *,
    ecc_first: bool,
    dropouts: IntArray | None = None,
) -> list[RawRep]:
    """``raw`` with the last completed rep of each set (``repsets.split_sets``; ``fs``: samples
    per second) flagged as failed when its concentric stalled short of lockout (see the module
    docstring); ``first`` holds the first-pass reps. A first-pass rep with one of the
    ``dropouts`` (``[a, b)`` samples) after its far turnaround and less than half the set's
    median rep after the plateau its return is read from does not judge the way back: the
    velocity stitched across the dropout, high-passed, bends the level there. One with a
    dropout in its way out measures its way back against the set's usual way out in the first
    pass where that is further: the start of the way out went unrecorded."""
    spans = _spans(dropouts)
    sets = split_sets([r for r in raw if not r.cut], fs)
    stalled = {
        id(s[-1]) for s in sets if len(s) >= 3 and _stalled(s[-1], s[:-1], first, ecc_first, spans)
    }
    return [replace(r, failed=True) if id(r) in stalled else r for r in raw]


def _stalled(
    last: RawRep, rest: list[RawRep], first: list[RawRep], ecc_first: bool, spans: IntArray
) -> bool:
    """Whether the last rep of a set (after the reps ``rest``) stalled: see ``mark_stalled``."""
    if ecc_first:
        slow = (last.back_arr - last.back_on) / median([r.back_arr - r.back_on for r in rest])
        reach = 0.5 * median_rep_len(rest)
        # the set's way out in the first pass, for a way out a dropout cut short
        outs = [
            f.level1 - f.level0
            for f in first
            if not f.failed and any(reps_overlap(r, f) for r in rest)
        ]
        usual = median(outs) if outs else 0.0
        for f in first:
            if f.failed or not reps_overlap(last, f):
                continue
            if in_dropouts(spans, [f.ipk], [f.i1 + reach])[0] > 0:
                continue
            out = f.level1 - f.level0
            if in_dropouts(spans, [f.out_on], [f.ipk])[0] > 0:
                out = max(out, usual)
            covered = (f.level1 - f.level2) / out
            if covered < _STALL_RETURN and covered < _STALL_SPEED * slow:
                return True
        return False
    con = last.out_arr - last.out_on
    con_med = median([r.out_arr - r.out_on for r in rest])
    size_med = median([r.excursion for r in rest])
    return con >= _STALL_SLOW * con_med and last.excursion < _STALL_RANGE * size_med


def completed_outs(
    raw: list[RawRep], fs: float, *, ecc_first: bool, dropouts: IntArray | None = None
) -> list[RawRep]:
    """``raw`` with each failed attempt that completes a set's last rep marked ``unseen_back``
    (see the module docstring): where reps start with the concentric, a failed, uncut rep that
    starts after the last rep of a set of three or more (``repsets.split_sets``; ``fs``:
    samples per second) within ``_OUT_FOLLOWS`` of their median period of its end, and goes
    out at least ``_STALL_RANGE`` of their median way out in under ``_STALL_SLOW`` times
    their median time, on record: none of the ``dropouts`` (``[a, b)`` samples) in its way
    out, where the level bridged across one can step as far."""
    if ecc_first:
        return raw
    spans = _spans(dropouts)
    sets = split_sets([r for r in raw if not r.cut], fs)
    whole: set[int] = set()  # the ids of the reps completed
    for done in sets:
        if len(done) < 3:
            continue
        last = done[-1]
        size = median([r.level1 - r.level0 for r in done])
        took = median([r.out_arr - r.out_on for r in done])
        period = median_period(done)
        whole |= {
            id(r)
            for r in raw
            if r.failed
            and not r.cut
            and last.out_on < r.out_on <= last.back_arr + _OUT_FOLLOWS * period
            and r.level1 - r.level0 >= _STALL_RANGE * size
            and r.out_arr - r.out_on < _STALL_SLOW * took
            and not in_dropouts(spans, [r.out_on], [r.ipk])[0]
        }
    return [
        replace(r, failed=False, back_on=r.out_arr, back_arr=r.out_arr, unseen_back=True)
        if id(r) in whole
        else r
        for r in raw
    ]


def attempt_after(
    raw: list[RawRep],
    s: FloatArray,
    fs: float,
    *,
    ecc_first: bool,
    arc_rad: float = 0.0,
    dropouts: IntArray | None = None,
) -> list[RawRep]:
    """Failed attempts right after the last completed rep of each set of ``raw`` (within 8 s;
    sets: ``repsets.split_sets``, so a movement after the set, such as re-racking, is no
    last rep): an excursion in the first-pass progress ``s``, too short a return or too small
    to be a rep, as a failed RawRep. An attempt at a rep that starts with the concentric
    stalls part of the way out, at ``_ATTEMPT_REACH`` of the range or further; the first-pass
    displacement is high-passed against drift, which shrinks an excursion held where it
    stalled (a third of the range can show as a fifth): ``_ATTEMPT_SIZE`` of the set's range.
    A load on an arc of ``arc_rad`` that starts flat (a curl's bar) gains little height that
    far along the way (``movement.arc_fraction``): the threshold shrinks in proportion. One
    that starts with the eccentric goes the whole way out first: ``_ATTEMPT_SIZE_ECC_FIRST``.
    A peak inside one of the ``dropouts`` (``[a, b)`` samples) or where it ends is the level
    bridged across it, not a movement: the next peak is taken."""
    if ecc_first:
        least = _ATTEMPT_SIZE_ECC_FIRST
    else:
        reach = float(arc_fraction(np.array([_ATTEMPT_REACH]), arc_rad)[0])
        least = _ATTEMPT_SIZE * reach / _ATTEMPT_REACH
    sets = split_sets(raw, fs)
    out: list[RawRep] = []
    for done, until in zip(sets, next_starts(sets), strict=True):
        # any failed rep after the set, even one ``attempts_ending`` does not count, ends the
        # search: searching past drift there finds more humps than attempts
        if len(done) >= 2 and not any(r.failed and done[-1].out_on < r.out_on < until for r in raw):
            out += _attempt(done, s, fs, least, dropouts)
    return out


def attempts_ending(
    raw: list[RawRep], done: list[RawRep], until: float, *, ecc_first: bool
) -> list[RawRep]:
    """The failed attempts of ``raw`` that end the set ``done`` (its completed reps, in
    order): those that start after its last rep does and before ``until`` (samples: the next
    set's start). Where reps start with the eccentric, an attempt lowers the load as the set's
    reps do: a "failed rep" whose way out takes over ``_ATTEMPT_ECC_SLOW`` times their median
    is the height drifting after the set (a bar re-racked seconds later pulls it back up),
    not a lowering."""
    slowest = _ATTEMPT_ECC_SLOW * median([r.out_arr - r.out_on for r in done])
    return [
        r
        for r in raw
        if r.failed
        and done[-1].out_on < r.out_on < until
        and (not ecc_first or r.out_arr - r.out_on <= slowest)
    ]


def _attempt(
    done: list[RawRep], s: FloatArray, fs: float, least: float, dropouts: IntArray | None
) -> list[RawRep]:
    """The failed attempt of ``attempt_after`` after the set ``done``: the first peak of ``s``
    within 8 s of its last rep whose prominence reaches ``least`` of the set's range, from the
    foot of that prominence out to the peak. The high-pass that shrinks an attempt also pulls
    the level its return comes back to above the one the set ended at (a hip thrust's attempt
    at a third of the way up rose 0.34 of the range from the set's end, and stood 0.19 above
    the foot of its return): a peak that rises ``_ATTEMPT_RISE`` times ``least`` from its lowest
    point since the set's end, and stands ``_ATTEMPT_RISE_PROMINENCE`` times ``least`` above
    both feet, is one too, from that lowest point."""
    rom = median([r.excursion for r in done])
    a = math.ceil(done[-1].back_arr)
    b = min(a + int(8 * fs), s.size)
    if b - a < fs or rom <= 0:
        return []
    peaks, props = find_peaks(s[a:b], prominence=_ATTEMPT_RISE_PROMINENCE * least * rom)
    lows = np.array([int(np.argmin(s[a : a + p + 1])) for p in peaks], dtype=np.int64)
    prominent = props["prominences"] >= least * rom
    rising = s[a + peaks] - s[a + lows] >= _ATTEMPT_RISE * least * rom
    keep = prominent | rising
    peaks = peaks[keep] + a
    bases = np.where(prominent, props["left_bases"], lows)[keep] + a
    # a peak inside a dropout or at its end is the level bridged across it, not a movement
    spans = _spans(dropouts)
    held = ((peaks[:, None] >= spans[:, 0]) & (peaks[:, None] <= spans[:, 1])).any(axis=1)
    peaks, bases = peaks[~held], bases[~held]
    if peaks.size == 0:
        return []
    p = int(peaks[0])
    i = int(bases[0])
    l0, l1 = float(s[i]), float(s[p])
    # it arrives where it first reaches 90 % of the way to its peak, as a rep's way out does
    arr = float(i + np.argmax(s[i : p + 1] >= l0 + 0.9 * (l1 - l0)))
    return [RawRep(float(i), arr, float(p), float(p), l0, l1, l1, i, p, p, True)]
