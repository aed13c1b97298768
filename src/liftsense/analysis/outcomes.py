"""Soreness outcomes per session and muscle, from the soreness and intake logs.

DOMS rises over ~24 h, peaks at 24-72 h and resolves in 5-7 days (ANALYSIS.md 2.3), so one
arbitrary rating is a poor outcome. For each session row (subject, muscle, ``started_at``):

* ``pre_rating``: the *last* rating of that subject and muscle in the 24 h up to and including
  the session start. When there is none it is taken as 0 (no soreness) and
  ``pre_rating_logged`` is False: people log soreness when they feel it, so an absent rating
  before a session mostly means "not sore", and using 0 keeps the session in the analysis
  instead of dropping every session without a morning rating. Filter on ``pre_rating_logged``
  for a sensitivity analysis.
* ``peak_rating`` / ``peak_at_h``: the highest rating 12-96 h after the start (NaN if none);
  ``peak_soreness_delta`` = peak - pre.
* ``soreness_auc_rating_h``: area (rating x hours) between the soreness curve and the
  pre-session level over 0-96 h. The curve runs from (0 h, pre) through every rating in
  (0, 96] h, linear in between. If the last rating is before 96 h, the curve is interpolated
  to the first rating after 96 h (within 168 h and before the next bout) or else held at the
  last value; ``auc_carried_h`` says how many hours were held. NaN when no rating falls in
  (0, 96] h.
* ``rating_day_caffeine_mg``: caffeine (``OutcomeConfig.analgesic_substances``) taken on the
  local calendar day of a rating in the 0-96 h window, before that rating (max over those
  ratings); ``caffeine_on_rating_day`` flags it, because caffeine blunts DOMS pain ratings.
* ``next_bout_h``: hours until the same subject's next session loading that muscle (NaN if
  none); below 96 h, that bout's soreness overlaps this one's window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from liftsense.errors import AnalysisError

OUTCOME_COLUMNS: tuple[str, ...] = (
    "pre_rating",
    "pre_rating_logged",
    "peak_rating",
    "peak_at_h",
    "peak_soreness_delta",
    "soreness_auc_rating_h",
    "auc_carried_h",
    "n_ratings",
    "rating_day_caffeine_mg",
    "caffeine_on_rating_day",
    "next_bout_h",
)
_H_NS = 3_600_000_000_000


@dataclass(frozen=True)
class OutcomeConfig:
    """Windows (hours after the session start) and conventions for the soreness outcome."""

    pre_window_h: float = 24.0
    peak_from_h: float = 12.0
    window_h: float = 96.0
    auc_lookahead_h: float = 168.0
    missing_pre_rating: float = 0.0
    analgesic_substances: tuple[str, ...] = ("caffeine",)


def _utc_ns(values: pd.Series, what: str) -> np.ndarray:
    times = pd.to_datetime(values)
    if getattr(times.dt, "tz", None) is None:
        raise AnalysisError(f"{what} must be timezone-aware (UTC); got naive times")
    naive_utc = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive_utc.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _local_day(times_ns: np.ndarray, offset_min: np.ndarray) -> np.ndarray:
    return (times_ns // 60_000_000_000 + offset_min) // (24 * 60)


def _rating_day_caffeine(
    soreness: pd.DataFrame, intake: pd.DataFrame | None, config: OutcomeConfig
) -> np.ndarray:
    """Per rating: mg of analgesic substance taken on its local day, at or before it."""
    out = np.zeros(len(soreness))
    if intake is None or intake.empty or soreness.empty:
        return out
    taken = intake[intake["substance"].str.lower().isin(config.analgesic_substances)]
    if taken.empty:
        return out
    r_ns = _utc_ns(soreness["time"], "soreness time")
    i_ns = _utc_ns(taken["time"], "intake time")
    r_off = soreness.get("utc_offset_min", pd.Series(0, index=soreness.index)).to_numpy()
    i_off = taken.get("utc_offset_min", pd.Series(0, index=taken.index)).to_numpy()
    ratings = pd.DataFrame(
        {
            "k": np.arange(len(soreness)),
            "subject": soreness["subject"].to_numpy(),
            "t": r_ns,
            "day": _local_day(r_ns, r_off),
        }
    )
    doses = pd.DataFrame(
        {
            "subject": taken["subject"].to_numpy(),
            "ti": i_ns,
            "day": _local_day(i_ns, i_off),
            "mg": taken["dose_mg"].to_numpy(dtype=np.float64),
        }
    )
    merged = ratings.merge(doses, on=["subject", "day"])
    merged = merged[merged["ti"] <= merged["t"]]
    sums = merged.groupby("k")["mg"].sum()
    out[sums.index.to_numpy()] = sums.to_numpy()
    return out


def soreness_outcomes(
    sessions: pd.DataFrame,
    soreness: pd.DataFrame,
    intake: pd.DataFrame | None = None,
    config: OutcomeConfig | None = None,
) -> pd.DataFrame:
    """Add the soreness outcome columns (:data:`OUTCOME_COLUMNS`) to a per-session table.

    ``sessions`` needs ``subject``, ``muscle`` and ``started_at`` (tz-aware); ``soreness`` and
    ``intake`` are frames as returned by :func:`liftsense.analysis.logs.read_soreness` /
    ``read_intake`` (``utc_offset_min`` optional; UTC days are used without it). Returns a copy
    of ``sessions`` with the new columns, in the same row order.
    """
    cfg = config or OutcomeConfig()
    for col in ("subject", "muscle", "started_at"):
        if col not in sessions.columns:
            raise AnalysisError(f"session table lacks column {col!r}")
    out = sessions.copy()
    n = len(out)
    cols: dict[str, np.ndarray] = {c: np.full(n, np.nan) for c in OUTCOME_COLUMNS}
    cols["pre_rating_logged"] = np.zeros(n, dtype=bool)
    cols["caffeine_on_rating_day"] = np.zeros(n, dtype=bool)
    cols["n_ratings"] = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out.assign(**cols)
    s_ns = _utc_ns(out["started_at"], "started_at")
    subj, musc = out["subject"].astype(str).to_numpy(), out["muscle"].astype(str).to_numpy()
    # Hours to the next bout of the same subject and muscle.
    order = np.lexsort((s_ns, musc, subj))
    same = (subj[order][1:] == subj[order][:-1]) & (musc[order][1:] == musc[order][:-1])
    gap_h = np.where(same, (s_ns[order][1:] - s_ns[order][:-1]) / _H_NS, np.nan)
    cols["next_bout_h"][order[:-1]] = gap_h

    if not soreness.empty:
        r_ns = _utc_ns(soreness["time"], "soreness time")
        caffeine = _rating_day_caffeine(soreness, intake, cfg)
        ratings = soreness["rating"].to_numpy(dtype=np.float64)
        keys = soreness["subject"].astype(str) + "\x00" + soreness["muscle"].astype(str)
        groups = {k: np.asarray(ix) for k, ix in keys.groupby(keys).groups.items()}
        for i in range(n):
            idx = groups.get(subj[i] + "\x00" + musc[i])
            if idx is None:
                continue
            idx = idx[np.argsort(r_ns[idx], kind="stable")]
            _fill_one(i, s_ns[i], r_ns[idx], ratings[idx], caffeine[idx], cols, cfg)
    no_pre = ~cols["pre_rating_logged"]
    cols["pre_rating"][no_pre] = cfg.missing_pre_rating
    cols["peak_soreness_delta"] = cols["peak_rating"] - cols["pre_rating"]
    cols["soreness_auc_rating_h"] = np.where(
        cols["n_ratings"] > 0, cols["soreness_auc_rating_h"], np.nan
    )
    cols["caffeine_on_rating_day"] = cols["rating_day_caffeine_mg"] > 0
    return out.assign(**cols)


def _fill_one(
    i: int,
    t0: int,
    t_ns: np.ndarray,
    rating: np.ndarray,
    caffeine: np.ndarray,
    cols: dict[str, np.ndarray],
    cfg: OutcomeConfig,
) -> None:
    """Outcome of one session from its subject-muscle ratings (sorted by time)."""
    h = (t_ns - t0) / _H_NS
    pre = np.flatnonzero((h >= -cfg.pre_window_h) & (h <= 0))
    pre_value = cfg.missing_pre_rating
    if pre.size:
        pre_value = float(rating[pre[-1]])
        cols["pre_rating"][i] = pre_value
        cols["pre_rating_logged"][i] = True
    win = np.flatnonzero((h > 0) & (h <= cfg.window_h))
    cols["n_ratings"][i] = win.size
    cols["rating_day_caffeine_mg"][i] = float(caffeine[win].max()) if win.size else 0.0
    if win.size == 0:
        return
    peak = win[(h[win] >= cfg.peak_from_h)]
    if peak.size:
        best = peak[np.argmax(rating[peak])]
        cols["peak_rating"][i] = float(rating[best])
        cols["peak_at_h"][i] = float(h[best])
    hs = np.concatenate([[0.0], h[win]])
    vs = np.concatenate([[pre_value], rating[win].astype(np.float64)])
    carried = 0.0
    if hs[-1] < cfg.window_h:
        # A rating after the next bout of this muscle belongs to that bout, not this one.
        next_bout = cols["next_bout_h"][i]
        horizon = min(cfg.auc_lookahead_h, next_bout if np.isfinite(next_bout) else np.inf)
        after = np.flatnonzero((h > cfg.window_h) & (h <= horizon))
        if after.size:
            j = after[0]
            end = vs[-1] + (rating[j] - vs[-1]) * (cfg.window_h - hs[-1]) / (h[j] - hs[-1])
        else:
            end, carried = vs[-1], cfg.window_h - hs[-1]
        hs, vs = np.append(hs, cfg.window_h), np.append(vs, end)
    cols["soreness_auc_rating_h"][i] = float(np.trapezoid(vs - pre_value, hs))
    cols["auc_carried_h"][i] = carried
