"""Session heart features: HR series, rest windows, per-set peak and recovery, elevation.

Inputs are the ``hr`` and ``rr`` streams of a recording (``Recording.stream``): DataFrames with a
UTC ``t`` index and a float ``value`` (bpm, or RR in ms). RR is cleaned by
:func:`liftsense.signal.rr.clean_rr`; HR comes from the cleaned RR and falls back to the strap's
bpm where there is no RR. A strap bpm of 0 means no contact: those periods are invalid.

Stimulant intake is a logged exposure; elevation is a measured outcome in fixed windows
(ANALYSIS.md 2.2), never whole-session mean HR:

* ``pre_intake``: the ``rest_window_s`` before intake (the session's own stimulant-free rest);
* ``pre_workout``: the ``rest_window_s`` ending ``pre_workout_margin_s`` before the first set,
  after intake when there is one;
* per set: peak HR, HRR60 (peak minus HR 60 s after the set ends), rest HR in the last
  ``inter_set_s`` before the set, time since intake.

Result types (and their JSON) are in :mod:`liftsense.signal.heartsummary`, re-exported here;
the 4 Hz HR series in :mod:`liftsense.signal.hrseries`; between-session baselines in
:mod:`liftsense.signal.baseline`. Frequency-domain HRV is not computed: it is not meaningful
during sets (non-stationary, short windows; ANALYSIS.md 1.5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from liftsense.errors import AnalysisError
from liftsense.signal.heartsummary import (
    NO_BASELINE,
    Elevation,
    HeartSummary,
    SetHeart,
    WindowStats,
)
from liftsense.signal.hrseries import HeartRateSeries, heart_rate_series, smoothed
from liftsense.signal.rr import CleanRR, clean_rr, nn_stats

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Elevation",
    "HeartSummary",
    "SetHeart",
    "WindowStats",
    "session_heart",
]

_NS = 1_000_000_000


def _to_ns(t: Any) -> int:
    import pandas as pd

    ts = pd.Timestamp(t)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def _frame_arrays(df: pd.DataFrame | None) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Times (ns) and values of a scalar stream; one device (the one with most samples)."""
    if df is None or len(df) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    if "device" in df.columns and df["device"].nunique() > 1:
        df = df[df["device"] == df["device"].value_counts().idxmax()]
    if "value" not in df.columns:
        raise AnalysisError("heart: the stream has no 'value' column; pass Recording.stream(...)")
    import pandas as pd

    idx = df.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise AnalysisError(
            f"heart: the stream is indexed by {type(idx).__name__}, not by time 't'; "
            "pass Recording.stream(...)"
        )
    t = np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)
    v = df["value"].to_numpy(dtype=np.float64)
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def _between(
    x: NDArray[np.float64], series: HeartRateSeries, a_ns: int, b_ns: int
) -> NDArray[np.float64]:
    """``x`` (sampled on ``series``'s grid) over ``[a_ns, b_ns)``, clipped to the grid: empty
    when the window misses it."""
    i = max(series.index_of(a_ns), 0)
    j = max(min(series.index_of(b_ns), x.size), 0)
    return x[i:j]


def _mean_if_half_valid(hr: NDArray[np.float64]) -> float:
    """Mean of the finite samples when at least half of them (and at least one) are finite,
    else NaN: a short dropout should not void a window, a mostly empty one should."""
    ok = np.isfinite(hr)
    return float(hr[ok].mean()) if np.count_nonzero(ok) >= max(hr.size // 2, 1) else math.nan


def _window(
    series: HeartRateSeries,
    clean: CleanRR | None,
    rr_t_ns: NDArray[np.int64],
    a_ns: int,
    b_ns: int,
    t0_ns: int,
    *,
    min_coverage: float,
    max_artefact_pct: float,
    min_pairs: int,
) -> WindowStats:
    """Mean HR, RMSSD (valid NN pairs only) and artefact % over ``[a_ns, b_ns)``."""
    start_s, end_s = (a_ns - t0_ns) / _NS, (b_ns - t0_ns) / _NS
    expected = max(int((b_ns - a_ns) * series.fs_hz / _NS), 1)
    hr = _between(series.hr_bpm, series, a_ns, b_ns)
    ok = np.isfinite(hr)
    coverage = float(np.count_nonzero(ok)) / expected
    reasons = []
    hr_mean = float(hr[ok].mean()) if coverage >= min_coverage else math.nan
    if not math.isfinite(hr_mean):
        reasons.append(f"valid heart rate covers {100 * coverage:.0f} % of the window")
    rmssd = sdnn = pnn50 = art = math.nan
    if clean is not None and rr_t_ns.size:
        li, lj = np.searchsorted(rr_t_ns, [a_ns, b_ns])
        n_in = int(lj - li)
        art = 100.0 * np.count_nonzero(clean.labels[li:lj]) / n_in if n_in else math.nan
        ci, cj = np.searchsorted(clean.t_ns, [a_ns, b_ns])
        sl = slice(ci, cj)
        r, sd, p50, pairs = nn_stats(clean.rr_ms[sl], clean.nn[sl], clean.segment[sl])
        if pairs < min_pairs:
            reasons.append(f"{pairs} valid RR pairs (need {min_pairs})")
        elif art > max_artefact_pct:
            reasons.append(f"{art:.1f} % artefacts (limit {max_artefact_pct:g} %)")
        else:
            rmssd, sdnn, pnn50 = r, sd, p50
    else:
        reasons.append("no RR intervals")
    ln = math.log(rmssd) if math.isfinite(rmssd) and rmssd > 0 else math.nan
    reason = "; ".join(reasons) or None
    return WindowStats(start_s, end_s, hr_mean, rmssd, ln, art, coverage, reason, sdnn, pnn50)


def _set_features(
    series: HeartRateSeries,
    sets_ns: Sequence[tuple[int, int]],
    intake_ns: int | None,
    t0_ns: int,
    rr_t_ns: NDArray[np.int64],
    labels: NDArray[np.int8] | None,
    *,
    peak_lag_s: float,
    inter_set_s: float,
    smooth_s: float,
) -> tuple[SetHeart, ...]:
    sm = smoothed(series.hr_bpm, max(round(smooth_s * series.fs_hz), 1))
    out = []
    for k, (a, b) in enumerate(sets_ns):
        nxt = sets_ns[k + 1][0] if k + 1 < len(sets_ns) else None
        prev_end = sets_ns[k - 1][1] if k else None
        reasons = []
        pe = b + int(peak_lag_s * _NS)
        pe = min(pe, nxt) if nxt is not None else pe
        seg = _between(sm, series, a, pe)
        ok = np.isfinite(seg)
        peak = float(seg[ok].max()) if ok.any() else math.nan
        if not math.isfinite(peak):
            reasons.append("no valid heart rate during the set")
        c60 = b + 60 * _NS
        hrr = math.nan
        if nxt is not None and nxt < c60 + int(2.5 * _NS):
            reasons.append("next set starts within 60 s of this one's end")
        else:
            hr60 = _mean_if_half_valid(
                _between(series.hr_bpm, series, c60 - int(2.5 * _NS), c60 + int(2.5 * _NS))
            )
            if math.isfinite(hr60):
                hrr = peak - hr60
            else:
                reasons.append("no valid heart rate 60 s after the set")
        ra = a - int(inter_set_s * _NS)
        ra = max(ra, prev_end) if prev_end is not None else ra
        rest = _mean_if_half_valid(_between(series.hr_bpm, series, ra, a))
        since = (a - intake_ns) / _NS if intake_ns is not None else math.nan
        art = math.nan
        if labels is not None:
            li, lj = np.searchsorted(rr_t_ns, [a, nxt if nxt is not None else c60])
            art = 100.0 * np.count_nonzero(labels[li:lj]) / (lj - li) if lj > li else math.nan
        out.append(
            SetHeart(
                k + 1,  # sets are numbered from 1, as in the analysis
                (a - t0_ns) / _NS,
                (b - t0_ns) / _NS,
                peak,
                hrr,
                rest,
                since,
                "; ".join(reasons) or None,
                art,
            )
        )
    return tuple(out)


def session_heart(
    hr: pd.DataFrame | None,
    rr: pd.DataFrame | None,
    *,
    sets: Sequence[tuple[Any, Any]],
    intake_t: Any | None = None,
    substance: str | None = None,
    dose_mg: float | None = None,
    t0: Any | None = None,
    rest_window_s: float = 300.0,
    pre_workout_margin_s: float = 10.0,
    inter_set_s: float = 30.0,
    peak_lag_s: float = 15.0,
    smooth_s: float = 5.0,
    min_coverage: float = 0.8,
    max_artefact_pct: float = 5.0,
    min_pairs: int = 20,
    fs_hz: float = 4.0,
) -> HeartSummary:
    """Heart features of one session.

    Args:
        hr, rr: ``Recording.stream("hr")`` / ``stream("rr")`` (or None when absent).
        sets: (start, end) UTC timestamps of each set, in order (from rep detection).
        intake_t: stimulant intake time (UTC), or None for a stimulant-free session.
        substance, dose_mg: the logged intake, carried into the output.
        t0: time origin for the ``*_s`` outputs; default the first heart sample.
        rest_window_s: length of the pre-intake and pre-workout rest windows.
        pre_workout_margin_s: the pre-workout window ends this long before the first set.
        inter_set_s: rest HR before each set is the mean over this many seconds before it.
        peak_lag_s: peak HR is searched from set start to this long after set end (HR peaks
            shortly after a set), on a ``smooth_s`` moving mean.
        min_coverage: a window's HR needs at least this fraction of valid samples.
        max_artefact_pct: RMSSD is withheld in windows with more artefacts than this.
        min_pairs: RMSSD needs at least this many valid successive NN pairs.
        fs_hz: HR series rate.

    Raises:
        AnalysisError: when a set ends before it starts, or sets overlap or are out of order.
    """
    rr_t, rr_v = _frame_arrays(rr)
    hr_t, hr_v = _frame_arrays(hr)
    sets_ns = [(_to_ns(a), _to_ns(b)) for a, b in sets]
    for k, (a, b) in enumerate(sets_ns):
        if b <= a or (k and a < sets_ns[k - 1][1]):
            raise AnalysisError(
                f"session_heart: set {k} ({a}..{b} ns) ends before it starts or overlaps the "
                "previous set; pass sets in time order"
            )
    intake_ns = _to_ns(intake_t) if intake_t is not None else None
    clean = clean_rr(rr_t, rr_v) if rr_t.size else None
    series = heart_rate_series(clean, hr_t, hr_v, fs_hz=fs_hz)
    source = "rr" if clean is not None else ("hr" if hr_t.size else "none")
    t0_ns = _to_ns(t0) if t0 is not None else series.t0_ns

    def window(a_ns: int, b_ns: int) -> WindowStats:
        return _window(
            series,
            clean,
            rr_t,
            a_ns,
            b_ns,
            t0_ns,
            min_coverage=min_coverage,
            max_artefact_pct=max_artefact_pct,
            min_pairs=min_pairs,
        )

    rest_ns = int(rest_window_s * _NS)
    pre_intake = None
    if intake_ns is not None:
        pre_intake = window(intake_ns - rest_ns, intake_ns)
        if pre_intake.reason and intake_ns - rest_ns < series.t0_ns:
            why = f"intake was less than {rest_window_s:g} s after heart recording began"
            pre_intake = replace(pre_intake, reason=f"{why}; {pre_intake.reason}")
    pre_workout = None
    if sets_ns:
        b = sets_ns[0][0] - int(pre_workout_margin_s * _NS)
        a = b - rest_ns if intake_ns is None else max(b - rest_ns, intake_ns)
        if b - a >= rest_ns // 2:
            pre_workout = window(a, b)
            if pre_workout.reason and a < series.t0_ns:
                why = f"the first set began less than {rest_window_s:g} s after heart recording"
                pre_workout = replace(pre_workout, reason=f"{why}; {pre_workout.reason}")
        else:
            pre_workout = _empty(a, b, t0_ns, "less than half a rest window between intake and set")
    nan_rest = _empty(math.nan, math.nan, 0, "no rest window: no intake logged and no sets")
    rest_window = "pre_intake" if pre_intake is not None else "pre_workout"
    rest = pre_intake or pre_workout or nan_rest

    delta = math.nan
    elev = Elevation(reason="no intake logged; " + NO_BASELINE)
    if pre_intake is not None and pre_workout is not None:
        delta = pre_workout.hr_bpm - pre_intake.hr_bpm
        why = NO_BASELINE if math.isfinite(delta) else "pre- or post-intake rest HR not computable"
        elev = Elevation(delta_bpm=delta, reason=why)
    set_feats = _set_features(
        series,
        sets_ns,
        intake_ns,
        t0_ns,
        rr_t,
        clean.labels if clean is not None else None,
        peak_lag_s=peak_lag_s,
        inter_set_s=inter_set_s,
        smooth_s=smooth_s,
    )
    return HeartSummary(
        t0_ns=t0_ns,
        source=source,
        rest=rest,
        rest_window=rest_window,
        pre_intake=pre_intake,
        pre_workout=pre_workout,
        artefact_pct=clean.artefact_pct if clean is not None else math.nan,
        sets=set_feats,
        elevation=elev,
        stimulant=intake_ns is not None,
        substance=substance,
        dose_mg=dose_mg,
        reason=None if source != "none" else "no heart-rate data in this recording",
        series=series,
    )


def _empty(a_ns: float, b_ns: float, t0_ns: int, reason: str) -> WindowStats:
    nan = math.nan
    return WindowStats((a_ns - t0_ns) / _NS, (b_ns - t0_ns) / _NS, nan, nan, nan, nan, 0.0, reason)
