"""RR-interval cleaning: link-loss segments, artefact classification and correction.

The classifier follows Lipponen & Tarvainen (2019), J Med Eng Technol 43(3):173-181,
https://doi.org/10.1080/03091902.2019.1640306: successive differences (dRR) and deviations from an
11-beat median (mRR) are scaled by time-varying thresholds (5.2 x the quartile deviation over 91
beats); beats then fall into the ectopic, long/short, missed and extra decision regions.
Where this module departs from a literal reading, and why:

* an ectopic (NPN/PNP) pattern is centred on the interval *after* the misplaced beat, so the
  label goes to the beat before the centre: the one whose time is wrong;
* one artefact disturbs dRR two beats around it, so within +-2 beats only the strongest flag
  (own deviation from the median; missed/extra/ectopic before bare long/short) is kept per
  pass, and the others are judged again after it is corrected;
* thresholds never drop below 10 ms, so 1 ms RR quantisation at high HR is not an artefact;
* RMSSD (:func:`rmssd_ms`) uses normal-to-normal pairs only, the Task Force convention, rather
  than differences involving interpolated beats.

Correction, applied per pass and repeated until nothing new is found (at most ``max_passes``):

* extra: the spurious beat is removed and its interval merged into the next one;
* missed: the long interval is split into ``round(rr / median)`` equal intervals;
* ectopic, long, short: when the interval and the next one together span about two expected
  beats (a misplaced beat), the beat is moved so the pair follows the local linear RR trend;
  otherwise the interval is replaced by the interpolated value.

Nothing is ever classified, corrected or differenced across a link-loss gap: the beat series is
first split where the host-clock spacing of beats disagrees with their RR by more than
``gap_tol_ms`` (a lost notification), or where an RR is physiologically impossible.

Validation against synthetic truth and NeuroKit2 / systole golden values: ``scripts/eval_heart.py``,
``scripts/golden_hrv.py`` and ``tests/signal/test_rr.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter, percentile_filter

from liftsense.errors import AnalysisError

__all__ = [
    "LABEL_ECTOPIC",
    "LABEL_EXTRA",
    "LABEL_INVALID",
    "LABEL_LONG",
    "LABEL_MISSED",
    "LABEL_NAMES",
    "LABEL_NORMAL",
    "LABEL_SHORT",
    "CleanRR",
    "clean_rr",
    "nn_stats",
    "rmssd_ms",
]

LABEL_NORMAL = 0
LABEL_MISSED = 1
LABEL_EXTRA = 2
LABEL_ECTOPIC = 3
LABEL_LONG = 4
LABEL_SHORT = 5
#: RR outside ``[min_rr_ms, max_rr_ms]``: dropped, and the series is split there.
LABEL_INVALID = 6
LABEL_NAMES = ("normal", "missed", "extra", "ectopic", "long", "short", "invalid")

_ALPHA = 5.2
_C1, _C2 = 0.13, 0.17
_QD_WIDTH = 91
_MED_WIDTH = 11
_MIN_THRESHOLD_MS = 10.0  # below this a beat-to-beat change is never called an artefact


@dataclass(frozen=True)
class CleanRR:
    """Corrected beats and the classification of the input beats.

    Attributes:
        t_ns: corrected beat times, ns since the epoch (UTC), increasing.
        rr_ms: corrected RR interval ending at each corrected beat, ms.
        nn: True where the interval is an original interval classified normal (not corrected,
            inserted, or next to a removed beat); RMSSD uses only pairs of these.
        segment: link-loss segment of each corrected beat (0, 1, ...); never difference across.
        labels: per *input* beat, one of the ``LABEL_*`` codes (the first pass that flagged it).
        artefact_pct: flagged input beats (any label but normal) as a percentage of input beats.
    """

    t_ns: NDArray[np.int64]
    rr_ms: NDArray[np.float64]
    nn: NDArray[np.bool_]
    segment: NDArray[np.int32]
    labels: NDArray[np.int8]
    artefact_pct: float


def _threshold(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """alpha x rolling quartile deviation of |x| over 91 beats (edges mirrored, so the window
    keeps 91 genuine values; padding with the edge value would collapse the quartiles)."""
    ax = np.abs(x)
    q1 = percentile_filter(ax, 25, size=_QD_WIDTH, mode="reflect")
    q3 = percentile_filter(ax, 75, size=_QD_WIDTH, mode="reflect")
    return np.maximum(_ALPHA * (q3 - q1) / 2.0, _MIN_THRESHOLD_MS)


def _classify(rr: NDArray[np.float64]) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Lipponen-Tarvainen labels for one gap-free run of RR, and its 11-beat median."""
    n = rr.size
    medrr = median_filter(rr, size=_MED_WIDTH, mode="nearest")
    labels = np.zeros(n, dtype=np.int8)
    if n < 3:
        return labels, medrr
    drr = np.diff(rr, prepend=rr[0])
    drr[0] = drr[1:].mean()
    drrs = drr / _threshold(drr)
    mrr = rr - medrr
    mrr[mrr < 0] *= 2.0  # as in the paper: shorter-than-median deviations weigh double
    th2 = _threshold(mrr)
    mrrs = mrr / th2

    p = np.pad(drrs, 2, mode="edge")
    prev, nxt, nxt2 = p[1:-3], p[3:-1], p[4:]
    s12 = np.where(drrs > 0, np.maximum(prev, nxt), np.where(drrs < 0, np.minimum(prev, nxt), 0.0))
    s22 = np.where(drrs >= 0, np.minimum(nxt, nxt2), np.maximum(nxt, nxt2))
    ectopic = ((drrs > 1) & (s12 < -_C1 * drrs - _C2)) | ((drrs < -1) & (s12 > -_C1 * drrs + _C2))
    candidate = ~ectopic & ((np.abs(drrs) > 1) | (np.abs(mrrs) > 3))
    short = candidate & (((drrs < -1) & (s22 > 1)) | ((np.abs(mrrs) > 3) & (rr < medrr)))
    long_ = candidate & ~short
    long_ &= ((drrs > 1) & (s22 < -1)) | ((np.abs(mrrs) > 3) & (rr > medrr))
    rr_next = np.append(rr[1:], np.inf)
    extra = short & (np.abs(rr + rr_next - medrr) < th2)
    missed = long_ & (np.abs(rr / 2.0 - medrr) < th2)

    labels[long_] = LABEL_LONG
    labels[short] = LABEL_SHORT
    labels[missed] = LABEL_MISSED
    labels[extra] = LABEL_EXTRA
    # The NPN / PNP pattern is centred on the interval after the misplaced beat: the beat to
    # correct is the one before (premature: short then compensatory long; late: the reverse).
    # Neighbouring centres of one pattern can both pass: keep the larger |dRR| of a run.
    a = np.abs(drrs)
    centre = ectopic.copy()
    centre[1:] &= ~ectopic[:-1] | (a[1:] >= a[:-1])
    centre[:-1] &= ~ectopic[1:] | (a[:-1] > a[1:])
    labels[ectopic] = LABEL_NORMAL
    labels[:-1][centre[1:]] = LABEL_ECTOPIC
    # One artefact disturbs dRR for two beats around it, so its neighbours can pass too. Keep
    # only the strongest flag within +-2 beats; the next pass judges the rest once it is fixed.
    # Strength is the beat's own deviation from the local median: a long interval and the normal
    # one after it share the same |dRR|, only the former deviates from the median.
    # Patterns with a consistent sum (missed, extra, ectopic) outrank bare long/short calls.
    patterned = np.isin(labels, (LABEL_MISSED, LABEL_EXTRA, LABEL_ECTOPIC))
    score = np.where(labels != 0, np.abs(mrrs) + 1e-3 * a + 1e3 * patterned, 0.0)
    sp = np.pad(score, 2)
    best = score > 0
    for off in (1, 2):
        best &= score > sp[2 - off : 2 - off + n]  # strictly above earlier neighbours
        best &= score >= sp[2 + off : 2 + off + n]
    labels[~best] = LABEL_NORMAL
    return labels, medrr


def _correct(
    t_ns: NDArray[np.int64],
    rr: NDArray[np.float64],
    nn: NDArray[np.bool_],
    origin: NDArray[np.int64],
    labels: NDArray[np.int8],
    medrr: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.int64]]:
    """Apply one pass of corrections to one segment; returns the new arrays."""
    t_ns, rr, nn = t_ns.copy(), rr.copy(), nn.copy()
    n = rr.size
    idx = np.flatnonzero(labels)
    nn[idx] = False

    # Misplaced beats (ectopic / long / short): move or re-value, never changing the count.
    mv = idx[np.isin(labels[idx], (LABEL_ECTOPIC, LABEL_LONG, LABEL_SHORT))]
    if mv.size:
        before = np.where(mv > 0, rr[np.maximum(mv - 1, 0)], medrr[mv])
        after = np.where(mv + 2 < n, rr[np.minimum(mv + 2, n - 1)], medrr[mv])
        p_i = before + (after - before) / 3.0
        p_j = before + 2.0 * (after - before) / 3.0
        has_next = mv + 1 < n
        nxt = np.minimum(mv + 1, n - 1)
        pair = np.where(has_next, rr[mv] + rr[nxt], np.inf)
        shift = has_next & (np.abs(pair - (p_i + p_j)) < 0.15 * (p_i + p_j))
        s = mv[shift]
        new_i = pair[shift] * p_i[shift] / (p_i[shift] + p_j[shift])
        rr[s + 1] = pair[shift] - new_i
        rr[s] = new_i
        t_ns[s] = t_ns[s + 1] - np.round(rr[s + 1] * 1e6).astype(np.int64)
        nn[s + 1] = False
        r = mv[~shift]
        rr[r] = p_i[~shift]

    keep = np.ones(n, dtype=bool)
    ex = idx[labels[idx] == LABEL_EXTRA]
    ex = ex[ex + 1 < n]
    rr[ex + 1] += rr[ex]
    nn[ex + 1] = False
    keep[ex] = False

    ms = idx[labels[idx] == LABEL_MISSED]
    parts = np.ones(n, dtype=np.int64)
    parts[ms] = np.maximum(np.round(rr[ms] / medrr[ms]), 2).astype(np.int64)
    parts[~keep] = 0
    out_n = int(parts.sum())
    src = np.repeat(np.arange(n), parts)
    # k-th of m parts (0-based) ends (m-1-k) sub-intervals before the original beat.
    first = np.cumsum(parts) - parts
    k = np.arange(out_n) - np.repeat(first, parts)
    m = parts[src]
    sub = rr[src] / m
    new_t = t_ns[src] - np.round((m - 1 - k) * sub * 1e6).astype(np.int64)
    new_origin = np.where(k == m - 1, origin[src], -1)
    return new_t, sub, nn[src] & (m == 1), new_origin


def _segments(
    t_ns: NDArray[np.int64], rr: NDArray[np.float64], gap_tol_ms: float
) -> NDArray[np.int64]:
    """Indices where a new link-loss segment starts (always includes 0)."""
    dt_ms = np.diff(t_ns).astype(np.float64) / 1e6
    brk = np.flatnonzero(np.abs(dt_ms - rr[1:]) > gap_tol_ms) + 1
    return np.concatenate(([0], brk)).astype(np.int64)


def clean_rr(
    t_ns: NDArray[np.int64],
    rr_ms: NDArray[np.float64],
    *,
    gap_tol_ms: float = 750.0,
    min_rr_ms: float = 150.0,
    max_rr_ms: float = 3000.0,
    max_passes: int = 4,
) -> CleanRR:
    """Classify and correct RR artefacts, never across link-loss gaps.

    Args:
        t_ns: beat times on the host clock, ns since the epoch (UTC), non-decreasing.
        rr_ms: RR interval ending at each beat, ms (as the strap reported it).
        gap_tol_ms: a new segment starts where the host-clock spacing of two beats differs from
            the later beat's RR by more than this (link loss, or a re-anchored clock).
        min_rr_ms, max_rr_ms: physiologically possible RR; others are labelled invalid and
            dropped. A shorter RR is merged into the next interval; a longer (or non-finite)
            one splits the series.
        max_passes: detection/correction passes (each pass handles isolated artefacts).

    Returns:
        :class:`CleanRR`.

    Raises:
        AnalysisError: when the arrays differ in length or times decrease.
    """
    t_ns = np.asarray(t_ns, dtype=np.int64)
    rr_in = np.asarray(rr_ms, dtype=np.float64)
    if t_ns.shape != rr_in.shape or t_ns.ndim != 1:
        raise AnalysisError(
            f"clean_rr: {t_ns.size} beat times but {rr_in.size} RR values; pass one RR per beat"
        )
    if t_ns.size and np.any(np.diff(t_ns) < 0):
        raise AnalysisError("clean_rr: beat times decrease; sort the RR stream by time first")
    labels = np.zeros(rr_in.size, dtype=np.int8)
    finite = np.isfinite(rr_in)
    tiny = finite & (rr_in < min_rr_ms)
    huge = ~finite | (rr_in > max_rr_ms)
    labels[tiny | huge] = LABEL_INVALID
    # A too-short RR (a spurious detection, or a strap's placeholder 0) is merged into the
    # next interval; a too-long or non-finite one means lost contact and splits the series.
    rr_m = np.where(finite, rr_in, 0.0)
    carry = np.cumsum(np.where(tiny, rr_m, 0.0))
    vi = np.flatnonzero(~(tiny | huge))
    tv = t_ns[vi]
    before = np.concatenate(([0.0], carry))[vi]  # tiny RR accumulated before each valid beat
    prev_before = np.concatenate(([0.0], before[:-1]))
    rv = rr_m[vi] + before - prev_before
    starts = _segments(tv, rv, gap_tol_ms) if vi.size else np.zeros(0, np.int64)
    huge_idx = np.flatnonzero(huge)
    after_huge = np.unique(np.searchsorted(vi, huge_idx))
    starts = np.union1d(starts, after_huge[after_huge < vi.size]).astype(np.int64)
    ends = np.append(starts[1:], vi.size) if vi.size else starts

    out_t, out_rr, out_nn, out_seg = [], [], [], []
    for seg_id, (a, b) in enumerate(zip(starts, ends, strict=True)):
        t, rr = tv[a:b], rv[a:b]
        nn = np.ones(rr.size, dtype=bool)
        origin = vi[a:b].astype(np.int64)
        for _ in range(max_passes):
            lab, medrr = _classify(rr)
            if not lab.any():
                break
            hit = origin >= 0
            first_time = hit & (labels[np.where(hit, origin, 0)] == 0) & (lab != 0)
            labels[origin[first_time]] = lab[first_time]
            t, rr, nn, origin = _correct(t, rr, nn, origin, lab, medrr)
        out_t.append(t)
        out_rr.append(rr)
        out_nn.append(nn)
        out_seg.append(np.full(rr.size, seg_id, dtype=np.int32))
    pct = 100.0 * float(np.count_nonzero(labels)) / labels.size if labels.size else 0.0
    if not out_t:
        return CleanRR(
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros(0, bool),
            np.zeros(0, np.int32),
            labels,
            pct,
        )
    return CleanRR(
        np.concatenate(out_t),
        np.concatenate(out_rr),
        np.concatenate(out_nn),
        np.concatenate(out_seg),
        labels,
        pct,
    )


def _pair_diffs(
    rr: NDArray[np.float64],
    nn: NDArray[np.bool_] | None,
    segment: NDArray[np.int32] | None,
) -> NDArray[np.float64]:
    if rr.size < 2:
        return np.zeros(0)
    ok = np.ones(rr.size - 1, dtype=bool)
    if nn is not None:
        ok &= nn[1:] & nn[:-1]
    if segment is not None:
        ok &= segment[1:] == segment[:-1]
    return np.diff(rr)[ok]


def nn_stats(
    rr_ms: NDArray[np.float64],
    nn: NDArray[np.bool_] | None = None,
    segment: NDArray[np.int32] | None = None,
) -> tuple[float, float, float, int]:
    """Time-domain HRV over NN intervals: ``(rmssd_ms, sdnn_ms, pnn50_pct, valid_pairs)``.

    RMSSD and pNN50 (share of successive differences > 50 ms) use valid pairs only: a pair
    (i-1, i) counts when both intervals are NN (``nn``, default all) and lie in the same
    link-loss segment (``segment``, default one segment), the Task Force convention of using
    normal-to-normal intervals only. SDNN is the sample SD of the NN intervals. NaN where there
    is nothing to compute.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    d = _pair_diffs(rr, nn, segment)
    kept = rr if nn is None else rr[nn]
    sdnn = float(np.std(kept, ddof=1)) if kept.size >= 2 else float("nan")
    if d.size == 0:
        return float("nan"), sdnn, float("nan"), 0
    rmssd = float(np.sqrt(np.mean(d * d)))
    return rmssd, sdnn, 100.0 * float(np.mean(np.abs(d) > 50.0)), int(d.size)


def rmssd_ms(
    rr_ms: NDArray[np.float64],
    nn: NDArray[np.bool_] | None = None,
    segment: NDArray[np.int32] | None = None,
) -> tuple[float, int]:
    """Root mean square of successive RR differences over valid pairs, and the pair count:
    the RMSSD part of :func:`nn_stats` (same pair rules). Returns ``(nan, 0)`` when no pair is
    valid.
    """
    rmssd, _, _, pairs = nn_stats(rr_ms, nn, segment)
    return rmssd, pairs
