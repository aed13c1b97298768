"""Comparisons between two sets of reps found in one window (on the displacement and on the
rotation, see ``progress``): how often they come, how far apart, how they nest in and overlap
one another, and how even they are; and where a window's reps split into sets.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from liftsense.signal.dropouts import in_dropouts
from liftsense.signal.phases import RawRep, median_rep_len, rep_gap
from liftsense.signal.quantiles import median

__all__ = [
    "SET_SPLIT_S",
    "apart_ends",
    "covered",
    "cut_by",
    "cv_of",
    "gaps",
    "in_pairs",
    "median_period",
    "nested",
    "next_starts",
    "split_sets",
    "tangled",
]

IntArray = npt.NDArray[np.int64]

#: A pause longer than this (s) between completed reps ends a set.
SET_SPLIT_S = 8.0


def median_period(raw: list[RawRep]) -> float:
    """Median interval between the starts of consecutive completed reps (samples; NaN for
    fewer than two)."""
    starts = sorted(r.out_on for r in raw if not r.failed)
    return median(np.diff(starts)) if len(starts) >= 2 else math.nan


def apart_ends(raw: list[RawRep]) -> tuple[RawRep | None, RawRep | None]:
    """The first and the last completed rep of ``raw`` where it stands apart from the others
    (a pause of over half their median length from its neighbour: a rep in the set's stride is
    one of its reps); None where it does not, and both None for fewer than four."""
    done = sorted((r for r in raw if not r.failed), key=lambda r: r.out_on)
    if len(done) < 4:
        return None, None
    apart = 0.5 * median_rep_len(done)
    first = done[0] if rep_gap(done[0], done[1]) > apart else None
    last = done[-1] if rep_gap(done[-2], done[-1]) > apart else None
    return first, last


def gaps(raw: list[RawRep]) -> list[float]:
    """Samples from the end of each rep to the start of the next, in order of their starts
    (negative where they overlap)."""
    ordered = sorted(raw, key=lambda r: r.out_on)
    return [rep_gap(a, b) for a, b in itertools.pairwise(ordered)]


def split_sets(raw: list[RawRep], fs: float) -> list[list[RawRep]]:
    """The completed reps of ``raw`` in order of their starts, split into sets wherever one
    starts more than ``SET_SPLIT_S`` after the previous one ends (``fs``: samples per second)."""
    sets: list[list[RawRep]] = []
    for r in sorted((r for r in raw if not r.failed), key=lambda r: r.out_on):
        if sets and (r.out_on - sets[-1][-1].back_arr) / fs <= SET_SPLIT_S:
            sets[-1].append(r)
        else:
            sets.append([r])
    return sets


def next_starts(sets: list[list[RawRep]]) -> list[float]:
    """For each of ``sets`` (from ``split_sets``), where the next one starts (samples; infinity
    after the last): as many as there are sets."""
    return [s[0].out_on for s in sets[1:]] + [math.inf] if sets else []


def _common(a: float, b: float, r: RawRep) -> float:
    """Samples that the span from ``a`` to ``b`` shares with the rep ``r``."""
    return max(0.0, min(b, r.back_arr) - max(a, r.out_on))


def nested(inner: list[RawRep], outer: list[RawRep]) -> float:
    """The fraction of the completed ``outer`` reps that each hold two or more completed
    ``inner`` reps for at least half of their time."""
    done = [r for r in inner if not r.failed]
    spans = [(r.out_on, r.back_arr) for r in outer if not r.failed]
    held = 0
    for a, b in spans:
        held += sum(_common(a, b, r) >= 0.5 * r.length for r in done) >= 2
    return held / len(spans) if spans else 0.0


def in_pairs(raw: list[RawRep]) -> bool:
    """Whether the completed reps come in pairs: the intervals between their starts alternate
    short and long (the medians of every other interval differ by over half again)."""
    starts = sorted(r.out_on for r in raw if not r.failed)
    gaps = np.diff(starts)
    if gaps.size < 4:
        return False
    a, b = median(gaps[0::2]), median(gaps[1::2])
    return max(a, b) > 1.5 * min(a, b)


def tangled(raw: list[RawRep], unknown: IntArray | None = None) -> bool:
    """Whether any two consecutive completed reps share over 30 % of the shorter one; not
    counting a pair of which either rep reaches into the ``unknown`` spans (``[a, b)``
    samples: dropouts). A rep the dropout cuts into was not timed: its end can fall a second
    after the dropout's, past the start of the next rep, and the reps either side of the
    dropout can overlap inside it."""
    done = sorted((r for r in raw if not r.failed), key=lambda r: r.out_on)
    cut = cut_by(done, unknown)
    for k, (a, b) in enumerate(itertools.pairwise(done)):
        if cut[k] or cut[k + 1]:
            continue
        lo, hi = b.out_on, min(a.back_arr, b.back_arr)
        if hi - lo > 0.3 * min(a.length, b.length):
            return True
    return False


def cut_by(raw: list[RawRep], unknown: IntArray | None) -> npt.NDArray[np.bool_]:
    """For each rep of ``raw``, in order, whether it reaches into the ``unknown`` spans
    (``[a, b)`` samples: dropouts) between the start of its movement out and the end of its
    movement back."""
    if unknown is None or not unknown.size or not raw:
        return np.zeros(len(raw), dtype=bool)
    return in_dropouts(unknown, [r.out_on for r in raw], [r.back_arr for r in raw]) > 0


def cv_of(raw: list[RawRep], what: Literal["excursion", "length"]) -> float:
    """Coefficient of variation of the completed reps' ``excursion`` or ``length`` (inf for
    fewer than two)."""
    size = np.array([getattr(r, what) for r in raw if not r.failed])
    mean = float(np.mean(size)) if size.size >= 2 else 0.0
    return float(np.std(size)) / mean if mean > 0 else math.inf


def covered(inner: list[RawRep], outer: list[RawRep]) -> float:
    """The fraction of the completed ``inner`` reps that the completed ``outer`` reps cover
    for at least half of their time."""
    spans = [(r.out_on, r.back_arr) for r in outer if not r.failed]
    done = [r for r in inner if not r.failed]
    held = 0
    for r in done:
        common = sum(_common(a, b, r) for a, b in spans)
        held += common >= 0.5 * r.length
    return held / len(done) if done else 0.0
