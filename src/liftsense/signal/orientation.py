"""Which way up a progress signal is: the orientation in which its peaks are the reps.

A displacement of known exercise is oriented by the exercise table; a rotation's sign, and an
unknown exercise's displacement, say nothing about up or down. Of the two orientations, the one
giving more completed reps wins; but one whose reps start at the level the sensor rests at
between sets (the turnarounds between reps, found the other way up, end there instead) wins
unless the other finds two more, since a failed last rep or a strap turned after the set can
add one to those turnarounds.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from liftsense.signal.attempts import mark_abnormal
from liftsense.signal.phases import RawRep, candidate_peaks, find_reps
from liftsense.signal.quantiles import median, quantiles

__all__ = ["completed", "edge_sign", "oriented_reps", "starts_at_rest"]

FloatArray = npt.NDArray[np.float64]
_EDGE_CLEAR = 0.25


def _edge_level(s: FloatArray, fs: float) -> float:
    """Level of ``s`` at the window's resting ends (its first and last second)."""
    k = max(int(fs), 1)
    return median(np.concatenate([s[:k], s[-k:]]))


def edge_sign(s: FloatArray, fs: float) -> float:
    """-1 if ``s`` must be flipped so that the window's resting ends lie nearer its low side."""
    edge = _edge_level(s, fs)
    lo, hi = quantiles(s, [0.05, 0.95])
    return -1.0 if edge - lo > hi - edge else 1.0


def completed(raw: list[RawRep]) -> int:
    """Number of completed reps (not failed attempts) in ``raw``."""
    return sum(not r.failed for r in raw)


def _rests_at_start(raw: list[RawRep], edge: float) -> bool:
    """Whether the resting level ``edge`` lies clearly at the completed reps' start level (four
    times nearer it than their far end): so it does when they are the lifter's reps, and the
    other way round when they are the turnarounds between them."""
    done = [r for r in raw if not r.failed]
    if len(done) < 2:
        return False
    start = median([0.5 * (r.level0 + r.level2) for r in done])
    far = median([r.level1 for r in done])
    return abs(edge - start) < _EDGE_CLEAR * abs(far - edge)


def starts_at_rest(raw: list[RawRep], s: FloatArray, fs: float) -> bool:
    """Whether the completed reps ``raw`` found in ``s`` start clearly at the level ``s`` rests
    at in the window's first and last second (see ``_rests_at_start``)."""
    return _rests_at_start(raw, _edge_level(s, fs))


def oriented_reps(
    sig: FloatArray,
    fs: float,
    min_prom: float,
    arc: float,
    sign: float | None,
    clear_up_to: float = math.inf,
    *,
    cut_edges: tuple[bool, bool] = (False, False),
) -> tuple[list[RawRep], float]:
    """Reps in ``sign * sig``; with ``sign`` None, the orientation giving more completed reps
    (ties: the one whose resting ends lie low). An orientation whose reps start clearly at
    the resting level, unlike the other's, wins unless the other finds two more completed
    reps (a failed attempt or fiddling with the sensor at the end of the set can add one to
    the turnarounds between reps); not when it finds more than ``clear_up_to``. ``cut_edges``
    (for a ``sign`` the exercise table gives): see ``phases.find_reps``."""

    def reps(s: FloatArray, cut_edges: tuple[bool, bool] = (False, False)) -> list[RawRep]:
        found = find_reps(s, fs, min_prominence=min_prom, arc_rad=arc, cut_edges=cut_edges)
        return mark_abnormal(found)

    if sign is not None:
        return reps(sign * sig, cut_edges), sign
    first = edge_sign(sig, fs)
    edge = _edge_level(sig, fs)
    raw = reps(first * sig)
    n = completed(raw)
    clear = n <= clear_up_to and _rests_at_start(raw, first * edge)
    # each candidate peak gives at most one rep: skip an orientation that cannot win
    n_peaks = candidate_peaks(-first * sig, fs, min_prominence=min_prom)[0].size
    if n_peaks <= (n if clear else n - 2):
        return (raw if n else []), first
    alt = reps(-first * sig)
    n_alt = completed(alt)
    clear_alt = n_alt <= clear_up_to and _rests_at_start(alt, -first * edge)
    score, score_alt = n + 1.5 * (clear and not clear_alt), n_alt + 1.5 * (clear_alt and not clear)
    if score_alt > score:
        return alt, -first
    return (raw if n else []), first
