"""Timing filled in from the set's tempo where a dropout hid it (see ``dropouts``).

A rep found, but overlapped by a dropout, was timed on the bridge's guess; it is timed by the
set's tempo instead (``turns_by_tempo``). The rep found before reps a dropout hid
(``dropouts.hidden_per_step``) ends where the set's rhythm leaves them room, not at the next rep
found (``room_for_hidden``): its pause there held the hidden reps' time (7 s at the top of a
3-1-1-1 RDL). Each hidden rep adds the set's median phases to its time under tension
(``reps``).

With 2-s dropouts mid-set (``scripts/eval_reps.py synthetic --dropout-s 2``), the two took the
grid's eccentric TUT error from 3.1 % to 1.6 % and its phase MAE from 105 / 97 / 99 / 61 ms to
82 / 31 / 41 / 22 ms. Retiming only the reps with a turn inside a dropout left it at
94 / 56 / 72 / 38 ms and 1.9 %; retiming the whole of each rep a dropout overlaps, measured phases
and all, cost 1-s dropouts 4 ms of concentric MAE (30 to 34 ms), which keeping a phase the
dropout does not cross took back.

Where a dropout hides the end of one rep and the start of the next, the timing by rep kept the
bridge's guess of that start (a squat's, found just after a 2-s dropout, 0.62 s late): the turns
in a dropout or near it are placed across reps as well (``_across_reps``). With 2-s dropouts
mid-set, that took the phase MAE from 77 / 25 / 36 / 20 ms to 64 / 25 / 33 / 20 ms (held-out
81 / 24 / 37 / 19 to 69 / 24 / 34 / 19 ms), and 1-s dropouts' within 0.1 ms; placing the runs
within one rep that way too cost 1-s dropouts 0.4 ms. The README gives the current figures.

A rep's bounds here are a row of five times, in the order they happen: its start, the end of its
movement out, the start and the end of its movement back, and its end (the next rep's start; the
last rep's is the end of its movement back: no trailing pause).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from liftsense.signal.quantiles import median

__all__ = ["room_for_hidden", "turns_by_tempo"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: How far (a share of the set's median rep length) a rep's own length may be from it and the
#: rep still keep the set's rhythm (as ``dropouts``' steps between reps are held to it).
_IN_RHYTHM = 0.25
#: How close to a dropout (s) a turn found after a stitch is no better than one inside it: the
#: stitched signal and the filters smear the dropout's edges (a squat's start found 0.14 s
#: after a 2-s dropout, on the level the bridge ran into, came 0.62 s late).
_NEAR_DROPOUT_S = 0.3


def turns_by_tempo(bounds: FloatArray, spans: IntArray, fs: float) -> FloatArray:
    """Reps' turns placed by the set's tempo where a dropout hides them. ``bounds``: the reps
    of a set (see the module's docstring), in grid samples; ``spans``: the dropouts (``[a, b)``
    grid samples, on the same grid, sampled at ``fs``).

    A rep that a dropout overlaps was timed on the bridge's guess of the signal: a turn inside
    the dropout was placed on it, a movement across it was timed by crossing times fitted
    across it (a curl's lowering, its pauses either side lost in the fit, took 4.8 s for 2.9),
    and the turns next to it lie on a signal the stitch shifted. Such a rep that keeps the set's
    rhythm (its length within ``_IN_RHYTHM`` of the median length of the reps no dropout
    overlaps) keeps its start and end, and its length is shared between its phases as those
    reps share theirs: the median share of each phase (the trailing pause's, over those before
    the last rep). A phase the dropout does not cross, and whose measured length lies within
    the range of those reps' (a 1-s dropout inside a 6-s lowering leaves the concentric well
    measured), keeps it; the rest of the length is shared between the others.

    A rep out of rhythm (its end is a re-rack's start after a rest) has only its turns inside a
    dropout placed, each run of them sharing the time between the bounds either side the same
    way, and kept within its dropout: the signal either side shows the turn was not there.

    Where a rep's start is hidden too (a 2-s dropout from the middle of a 3-s rep hides its
    bottom, its end and the next rep's start), the turns in or within ``_NEAR_DROPOUT_S`` of
    the dropout are then placed across reps (``_across_reps``).
    Returns ``bounds`` where no dropout overlaps a rep, or every rep; otherwise a copy with
    those reps' turns moved."""
    if not spans.size or not len(bounds):
        return bounds
    inside = _in_spans(bounds, spans, 0.0)
    mono = np.maximum.accumulate(bounds, axis=1)
    # which phases a dropout crosses, and so which reps it overlaps
    crossed = np.any(
        (mono[:, :-1, None] < spans[:, 1]) & (mono[:, 1:, None] > spans[:, 0]), axis=-1
    )
    over = np.any(crossed, axis=1)
    guessed, clean = np.flatnonzero(over), ~over
    if not guessed.size or not clean.any():
        return bounds
    phases = np.diff(mono, axis=1)
    length = phases.sum(axis=1)
    typical = _typical_shares(phases, clean)
    usual = median(length[clean])
    lo, hi = _over_clean(phases, clean, np.min), _over_clean(phases, clean, np.max)
    out = bounds.copy()
    for k in guessed:
        s = typical.copy()
        if k == len(bounds) - 1 and bounds[k, 4] <= bounds[k, 3]:
            s[3] = 0.0
        if s.sum() <= 0:
            continue
        if abs(length[k] / usual - 1) <= _IN_RHYTHM:
            keep = ~crossed[k] & (phases[k] >= lo) & (phases[k] <= hi)
            out[k, 1:4] = _shared_around(mono[k, 0], phases[k], keep, s)
        else:
            out[k] = _place_runs(mono[k], inside[k], s, spans)
    near = np.any(_in_spans(bounds, spans, _NEAR_DROPOUT_S * fs), axis=-1)
    return _across_reps(out, near, _over_clean(phases, clean, np.median))


def _in_spans(bounds: FloatArray, spans: IntArray, margin: float) -> npt.NDArray[np.bool_]:
    """Whether each of ``bounds`` lies in each of ``spans`` (``[a, b)``), widened by ``margin``
    samples either side (a trailing axis, one entry per span)."""
    out: npt.NDArray[np.bool_] = (bounds[..., None] >= spans[:, 0] - margin) & (
        bounds[..., None] < spans[:, 1] + margin
    )
    return out


def _across_reps(
    bounds: FloatArray, hidden: npt.NDArray[np.bool_], typical: FloatArray
) -> FloatArray:
    """A set's reps (``bounds``) as one line of turns in time: each rep's start, the ends of
    its movement out, the start and the end of its movement back, and the set's end. Each run
    of them ``hidden`` (a dropout hid or smeared them) that holds a rep's start, between two
    that are not hidden, is placed by the set's ``typical`` phase lengths (the median of each
    over the reps no dropout overlaps), scaled to fit between those two; only where the time
    between them keeps the set's rhythm (within ``_IN_RHYTHM`` of the typical lengths it
    spans): a rest or a re-rack between them is no run of reps. A run within one rep stays as
    ``turns_by_tempo`` timed it."""
    n = len(bounds)
    line = np.append(bounds[:, :4].ravel(), bounds[-1, 4])
    hid = np.append(hidden[:, :4].ravel(), hidden[-1, 4])
    hid[4 : 4 * n : 4] |= hidden[:-1, 4]
    steps = np.tile(typical, n)
    if bounds[-1, 4] <= bounds[-1, 3]:
        steps[-1] = 0.0  # the last rep has no trailing pause
    out = line.copy()
    k = 0
    while k < line.size:
        if not hid[k]:
            k += 1
            continue
        a = k - 1
        while k < line.size and hid[k]:
            k += 1
        if a < 0 or k == line.size:
            continue  # the run reaches the set's start or end: nothing to fit it between
        if (k - 1) // 4 == a // 4:
            continue  # no rep's start in it
        span = steps[a:k].sum()
        if span > 0 and abs((line[k] - line[a]) / span - 1) <= _IN_RHYTHM:
            out[a + 1 : k] = _between(line[a], line[k], steps[a:k])
    if np.array_equal(out, line):
        return bounds
    placed = bounds.copy()
    placed[:, :4] = out[:-1].reshape(n, 4)
    placed[:-1, 4] = np.where(out[4:-1:4] != line[4:-1:4], out[4:-1:4], bounds[:-1, 4])
    placed[-1, 4] = out[-1]
    return placed


def _over_clean(
    values: FloatArray, clean: npt.NDArray[np.bool_], reduce: Callable[..., FloatArray]
) -> FloatArray:
    """``reduce`` (``np.median``, ``np.min``...) of each phase's ``values`` (a row per rep of a
    set) over the reps ``clean``; the trailing pause's over those before the last rep, where
    there are any (the last rep has none by convention)."""
    out = reduce(values[clean], axis=0)
    if clean[:-1].any():
        out[3] = reduce(values[:-1][clean[:-1], 3])
    return out


def _shared_around(
    start: float, phases: FloatArray, keep: npt.NDArray[np.bool_], share: FloatArray
) -> FloatArray:
    """A rep's three turns: the ``phases`` marked ``keep`` as measured, and the rest of its
    length shared between the others by ``share``; all of it by ``share`` (``_shared``) where
    none is kept, or the kept ones leave no time to share."""
    rest = phases.sum() - phases[keep].sum()
    if not keep.any() or rest <= 0 or share[~keep].sum() <= 0:
        return _shared(start, phases.sum(), share)
    timed = np.where(keep, phases, rest * share / share[~keep].sum())
    out: FloatArray = start + np.cumsum(timed)[:3]
    return out


def _typical_shares(phases: FloatArray, clean: npt.NDArray[np.bool_]) -> FloatArray:
    """How the reps ``clean`` of a set share their length between their four ``phases`` (a row
    per rep): the median share of each (``_over_clean``)."""
    share = phases / np.maximum(phases.sum(axis=1), 1e-9)[:, None]
    return _over_clean(share, clean, np.median)


def _shared(start: float, length: float, share: FloatArray) -> FloatArray:
    """A rep's three turns: its ``length`` from ``start`` shared between its phases by
    ``share``."""
    return _between(start, start + length, share)


def _between(t0: float, t1: float, lengths: FloatArray) -> FloatArray:
    """The turns that split the time from ``t0`` to ``t1`` into phases in proportion to
    ``lengths`` (one turn fewer than phases; none past ``t1``, where the rounding of the
    lengths' sums could put the last)."""
    out: FloatArray = np.minimum(t0 + (t1 - t0) * np.cumsum(lengths[:-1]) / lengths.sum(), t1)
    return out


def room_for_hidden(bounds: FloatArray, hidden: IntArray) -> FloatArray:
    """The reps of a set (``bounds``), each followed by the ``hidden`` reps a dropout hid
    (``dropouts.hidden_per_step``), ended where the set's rhythm leaves room for those: at
    ``1 / (n + 1)`` of the step to the next rep found. A rep that turns back by then keeps its
    turns, and its pause before the next is shortened; one that does not turns back where it
    ends (its movement out was on record, and its movement back was the last hidden rep's), and
    has its turns placed by the set's tempo (as in ``turns_by_tempo``). Returns ``bounds``
    where no rep is hidden; otherwise a copy."""
    if not hidden.any():
        return bounds
    mono = np.maximum.accumulate(bounds, axis=1)
    clean = np.ones(len(bounds), dtype=bool)
    clean[:-1] = hidden == 0
    clean[1:] &= hidden == 0  # the reps either side of hidden ones may hold part of them
    typical = _typical_shares(np.diff(mono, axis=1), clean) if clean.any() else None
    out = bounds.copy()
    for k in np.flatnonzero(hidden):
        end = mono[k, 0] + (mono[k + 1, 0] - mono[k, 0]) / (hidden[k] + 1)
        if mono[k, 3] <= end:
            out[k, 4] = end
        elif typical is not None and typical.sum() > 0:
            out[k, 1:4] = _shared(mono[k, 0], end - mono[k, 0], typical)
            out[k, 4] = end
    return out


def _place_runs(
    row: FloatArray, inside: npt.NDArray[np.bool_], share: FloatArray, spans: IntArray
) -> FloatArray:
    """A rep's bounds ``row`` (``turns_by_tempo``) with each run of its turns inside a dropout
    (``inside``: which of ``spans`` each bound lies in) placed between the bounds either side
    of the run, by the phases' ``share``, and kept within its dropout."""
    hidden = np.any(inside, axis=-1)
    out = row.copy()
    t = 1
    while t < 4:
        if not hidden[t]:
            t += 1
            continue
        i, j = t - 1, t
        while j < 4 and hidden[j]:
            j += 1
        total = share[i:j].sum()
        if total > 0:
            placed = _between(out[i], out[j], share[i:j])
            span = np.argmax(inside[t:j], axis=-1)
            out[t:j] = np.clip(placed, spans[span, 0], spans[span, 1] - 1)
        t = j
    return np.maximum.accumulate(out)
