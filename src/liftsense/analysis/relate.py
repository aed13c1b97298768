"""Cross-session relations: soreness against eccentric load, velocity, HR elevation, stimulant.

Input: one row per session and muscle (a plain DataFrame; ``analysis/session.py`` builds it
and :func:`liftsense.analysis.outcomes.soreness_outcomes` adds the outcomes). Columns:

==========================  ==========================================================
``subject``                 person (str)
``session_id``              session (str)
``started_at``              session start, tz-aware UTC
``muscle``                  one of :data:`liftsense.analysis.logs.MUSCLES`
``eccentric_volume_load_kg``  load x reps, weighted by the muscle's share
``eccentric_load_tut_kg_s``   load x eccentric time under tension
``eccentric_velocity_m_s``    mean eccentric velocity
``hr_elevation_z``          robust z of the HR window against stimulant-free sessions
``hr_elevation_delta_bpm``  post-intake minus pre-intake rest HR
``caffeine_mg``             stimulant dose logged for the session
``novelty_days``            days since the last session loading the muscle (NaN = first)
``peak_soreness_delta``     outcome (rating points), see ``outcomes.py``
``soreness_auc_rating_h``   outcome (rating x h)
``caffeine_on_rating_day``  bool, optional: caffeine on a rating day (confounder flag)
==========================  ==========================================================

Missing feature columns give "declined" results, not errors. Methods per muscle, feature and
outcome: ``rmcorr`` across subjects (>= 2), ``spearman`` within each subject, ``mixedlm``
(>= ``min_subjects_mixedlm`` subjects, statsmodels installed; falls back to rmcorr when the fit
is not trustworthy). The repeated-bout effect enters as a covariate,
log(1 + min(novelty_days, cap)), with the first exposure at the cap (most novel).
Results are associations within people's sessions, not causal effects.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from liftsense.analysis import stats
from liftsense.analysis.relations import (
    FEATURES,
    METHODS,
    OUTCOMES,
    PRIMARY,
    RelateConfig,
    RelateReport,
    Relation,
)
from liftsense.errors import AnalysisError

if TYPE_CHECKING:
    from liftsense.analysis.outcomes import OutcomeConfig

__all__ = [
    "FEATURES",
    "METHODS",
    "OUTCOMES",
    "PRIMARY",
    "RelateConfig",
    "RelateReport",
    "Relation",
    "novelty_covariate",
    "relate",
    "relate_with_logs",
]


def novelty_covariate(novelty_days: npt.ArrayLike, cap_days: float) -> npt.NDArray[np.float64]:
    """log(1 + min(days, cap)); NaN (first exposure) and gaps beyond the cap map to the cap."""
    days = np.asarray(novelty_days, dtype=np.float64)
    return np.log1p(np.where(np.isfinite(days), np.clip(days, 0.0, cap_days), cap_days))


_NAN = float("nan")


def _declined(base: dict[str, object], reason: str) -> Relation:
    values: dict[str, object] = {
        "status": "declined",
        "reason": reason,
        "df": _NAN,
        "estimate": _NAN,
        "ci_low": _NAN,
        "ci_high": _NAN,
        "ci_method": "",
        "slope": _NAN,
        "p_value": _NAN,
        "p_holm": _NAN,
        "note": "",
    }
    values.update(base)
    return Relation(**values)  # type: ignore[arg-type]


def _from_corr(base: dict[str, object], c: stats.Correlation) -> Relation:
    return Relation(
        **base,  # type: ignore[arg-type]
        status="ok",
        reason="",
        df=c.df,
        estimate=c.estimate,
        ci_low=c.ci_low,
        ci_high=c.ci_high,
        ci_method=c.ci_method,
        slope=c.slope,
        p_value=c.p_value,
        p_holm=_NAN,
        note=c.note,
    )


def _rmcorr(
    base: dict[str, object], d: pd.DataFrame, cov: npt.NDArray[np.float64] | None, cfg: RelateConfig
) -> Relation:
    counts = d["subject"].map(d["subject"].value_counts())
    keep = (counts >= 2).to_numpy()  # a subject seen once adds nothing but costs a df
    d, cov = d[keep], (cov[keep] if cov is not None else None)
    n_subj = d["subject"].nunique()
    base = {**base, "n_subjects": n_subj, "n_obs": len(d)}
    if n_subj < 2:
        return _declined(base, "fewer than 2 subjects with 2+ sessions; see within-subject rows")
    df = len(d) - n_subj - 1 - (0 if cov is None else 1)
    if df < cfg.min_rmcorr_df:
        return _declined(base, f"rmcorr df = {df} is below the minimum {cfg.min_rmcorr_df}")
    try:
        c = stats.rmcorr(d["x"], d["y"], d["subject"], cov, cfg.level)
    except AnalysisError as exc:
        return _declined(base, str(exc))
    return _from_corr(base, c)


def _spearman(
    base: dict[str, object], d: pd.DataFrame, cov: npt.NDArray[np.float64] | None, cfg: RelateConfig
) -> Relation:
    base = {**base, "n_subjects": 1, "n_obs": len(d)}
    if len(d) < cfg.min_sessions_within_subject:
        return _declined(
            base,
            f"{len(d)} sessions is below the minimum {cfg.min_sessions_within_subject} "
            "(about 20 are needed before a moderate correlation excludes zero)",
        )
    try:
        c = stats.spearman(
            d["x"], d["y"], cov, cfg.level, cfg.spearman_ci, cfg.n_resamples, cfg.seed
        )
    except AnalysisError as exc:
        return _declined(base, str(exc))
    return _from_corr(base, c)


def _mixedlm(
    base: dict[str, object], d: pd.DataFrame, cov: npt.NDArray[np.float64] | None, cfg: RelateConfig
) -> Relation:
    n_subj = d["subject"].nunique()
    base = {**base, "n_subjects": n_subj, "n_obs": len(d)}
    if not cfg.use_mixedlm:
        return _declined(base, "MixedLM disabled in the configuration")
    if cfg.mixedlm_pairs == "primary" and base["family"] != "primary":
        return _declined(base, "MixedLM is fitted for the primary pairs only (mixedlm_pairs)")
    if n_subj < cfg.min_subjects_mixedlm:
        return _declined(
            base, f"{n_subj} subject(s); MixedLM needs at least {cfg.min_subjects_mixedlm}"
        )
    if not stats.statsmodels_available():
        return _declined(base, "statsmodels is not installed (pip install 'liftsense[stats]')")
    fit = stats.mixedlm_within(d["x"], d["y"], d["subject"], cov, cfg.level)
    if fit.problem:
        rel = _declined(base, f"{fit.problem}; the rmcorr estimate stands")
        return replace(rel, status="fallback")
    return Relation(
        **base,  # type: ignore[arg-type]
        status="ok",
        reason="",
        df=_NAN,
        estimate=fit.slope,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        ci_method="wald",
        slope=fit.slope,
        p_value=fit.p_value,
        p_holm=_NAN,
        note="; ".join(
            filter(None, [f"random-intercept variance {fit.re_variance:.3g}", fit.note])
        ),
    )


def relate(table: pd.DataFrame, config: RelateConfig | None = None) -> RelateReport:
    """Relate every configured feature to every outcome, per muscle, by every method.

    Rows with a missing feature or outcome are dropped per relation (``n_obs`` says how many
    remain). Never raises for too few data: such relations come back "declined" with a reason.

    Raises:
        AnalysisError: the table lacks ``subject`` or ``muscle``.
    """
    cfg = config or RelateConfig()
    for col in ("subject", "muscle"):
        if col not in table.columns:
            raise AnalysisError(f"session table lacks column {col!r}")
    t = table.reset_index(drop=True)
    if cfg.exclude_caffeine_confounded and "caffeine_on_rating_day" in t.columns:
        t = t[~t["caffeine_on_rating_day"].eq(True)].reset_index(drop=True)
    flagged = (
        t["caffeine_on_rating_day"].eq(True)  # NaN / missing -> not flagged
        if "caffeine_on_rating_day" in t.columns
        else pd.Series(False, index=t.index)
    )
    novelty = t["novelty_days"] if "novelty_days" in t.columns else pd.Series(np.nan, t.index)
    t = t.assign(_cov=novelty_covariate(novelty, cfg.novelty_cap_days), _flag=flagged)
    primary = set(cfg.primary)
    pairs = list(cfg.primary) + [
        (f, o) for o in cfg.outcomes for f in cfg.features if (f, o) not in primary
    ]
    results: list[Relation] = []
    for muscle, m in t.groupby("muscle", sort=True):
        for feature, outcome in pairs:
            results.extend(
                _relations(str(muscle), feature, outcome, m, (feature, outcome) in primary, cfg)
            )
    results = _holm_by_family(results)
    n_sessions = t["session_id"].nunique() if "session_id" in t.columns else len(t)
    return RelateReport(
        tuple(results), int(t["subject"].nunique()), int(n_sessions), len(t), _notes(t, cfg)
    )


def _relations(
    muscle: str, feature: str, outcome: str, m: pd.DataFrame, is_primary: bool, cfg: RelateConfig
) -> list[Relation]:
    common: dict[str, object] = {
        "muscle": muscle,
        "feature": feature,
        "outcome": outcome,
        "family": "primary" if is_primary else "exploratory",
        "level": cfg.level,
    }
    missing = [c for c in (feature, outcome) if c not in m.columns]
    if missing:
        empty = {**common, "subject": "", "adjusted_for": "", "n_subjects": 0, "n_obs": 0}
        empty["n_caffeine_confounded"] = 0
        reason = f"column {missing[0]!r} is not in the session table"
        return [_declined({**empty, "method": k, "estimate_kind": ""}, reason) for k in METHODS]
    d = pd.DataFrame(
        {
            "subject": m["subject"].astype(str),
            "x": pd.to_numeric(m[feature], errors="coerce"),
            "y": pd.to_numeric(m[outcome], errors="coerce"),
            "c": m["_cov"],
            "flag": m["_flag"],
        }
    )
    d = d[np.isfinite(d["x"]) & np.isfinite(d["y"])]

    def cov_of(part: pd.DataFrame) -> npt.NDArray[np.float64] | None:
        # A covariate that does not vary within subjects (novelty not logged, or every gap
        # the same) cannot be partialled out; using it would only cost a df or break MixedLM.
        within = part["c"] - part.groupby("subject")["c"].transform("mean")
        varies = bool(np.any(np.abs(within.to_numpy()) > 1e-12))
        return part["c"].to_numpy() if cfg.adjust_for_novelty and varies else None

    def run(method: str, subject: str, part: pd.DataFrame) -> Relation:
        cov = cov_of(part)
        kinds = {"rmcorr": "r_rm", "mixedlm": "slope"}
        base = {
            **common,
            "method": method,
            "subject": subject,
            "estimate_kind": kinds.get(method, "partial_rho" if cov is not None else "rho"),
            "adjusted_for": "novelty" if cov is not None else "",
            "n_caffeine_confounded": int(part["flag"].sum()),
        }
        fit = {"rmcorr": _rmcorr, "spearman": _spearman, "mixedlm": _mixedlm}[method]
        return fit(base, part, cov, cfg)

    subjects = sorted(m["subject"].astype(str).unique())
    return [
        run("rmcorr", "", d),
        *(run("spearman", s, d[d["subject"] == s]) for s in subjects),
        run("mixedlm", "", d),
    ]


def _holm_by_family(results: list[Relation]) -> list[Relation]:
    keys = sorted({(r.family, r.method) for r in results})
    out = list(results)
    for key in keys:
        idx = [i for i, r in enumerate(out) if (r.family, r.method) == key and r.status == "ok"]
        adjusted = stats.holm([out[i].p_value for i in idx])
        for i, p in zip(idx, adjusted, strict=True):
            out[i] = replace(out[i], p_holm=float(p))
    return out


def _notes(t: pd.DataFrame, cfg: RelateConfig) -> tuple[str, ...]:
    n_flag = int(t["_flag"].sum())
    rbe = (
        "adjusted for novelty (days since the last bout)"
        if cfg.adjust_for_novelty
        else "NOT adjusted for novelty"
    )
    return (
        "Associations within people's sessions; not causal.",
        f"Repeated-bout effect / session order: {rbe}; slopes are expected to shrink over a "
        "training block.",
        f"Caffeine on a rating day (blunts soreness ratings): {n_flag} of {len(t)} rows.",
        "Not logged and not adjusted for: sleep, time of day of the rating, how soreness was "
        "provoked.",
        "Soreness is a weak marker of muscle damage and not a measure of progress.",
        "Within one person, n = 8 sessions and rho = 0.5 give a 95 % interval of -0.36 to 0.90;"
        " about 20 sessions are needed before a moderate correlation excludes zero.",
        f"Primary (pre-registered): {', '.join(f'{f} -> {o}' for f, o in cfg.primary)}; "
        "everything else is exploratory (Holm-adjusted p-values within each family).",
    )


def relate_with_logs(
    muscles: pd.DataFrame,
    log_dir: str | Path,
    config: RelateConfig | None = None,
    outcome_config: OutcomeConfig | None = None,
) -> tuple[pd.DataFrame, RelateReport]:
    """The ``liftsense cohort DIR`` pipeline: logs in ``log_dir`` -> outcomes -> relations.

    ``muscles`` is the per-session per-muscle table (``analysis.session.MUSCLE_COLUMNS``, with
    ``novelty_days`` filled). Missing ``soreness.csv`` / ``intake.csv`` count as empty logs
    (every relation then declines). Returns the table with outcome columns, and the report.

    Raises:
        LogError: a log file is invalid (file and line in the message).
    """
    from liftsense.analysis.logs import read_intake, read_soreness
    from liftsense.analysis.outcomes import soreness_outcomes

    soreness = read_soreness(log_dir, missing_ok=True)
    intake = read_intake(log_dir, missing_ok=True)
    table = soreness_outcomes(muscles, soreness, intake, outcome_config)
    return table, relate(table, config)
