"""The statistics section of the cohort report: effect sizes with intervals first, declines with
their reasons, the confounders ``relate`` names, and p-values last (Holm-adjusted, no stars).

Rows with no data at all (a muscle nobody rated, a feature never measured) are summarised in one
line per muscle rather than a row per method and subject.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from liftsense.report.html import esc, paragraphs, table

if TYPE_CHECKING:
    from liftsense.analysis.relate import RelateReport, Relation

FEATURE_LABELS = {
    "eccentric_volume_load_kg": "eccentric volume-load (kg)",
    "eccentric_load_tut_kg_s": "load × eccentric TUT (kg·s)",
    "eccentric_velocity_m_s": "eccentric velocity (m/s)",
    "hr_elevation_z": "HR elevation (robust z)",
    "hr_elevation_delta_bpm": "HR change after intake (bpm)",
    "caffeine_mg": "caffeine (mg)",
    "novelty_days": "days since last bout",
}
OUTCOME_LABELS = {
    "peak_soreness_delta": "peak soreness − pre (points)",
    "soreness_auc_rating_h": "soreness AUC (rating·h)",
}
_METHOD_NAMES = {
    "rmcorr": "repeated-measures correlation (across subjects)",
    "spearman": "Spearman within one subject",
    "mixedlm": "MixedLM, random intercept per subject",
}


def _estimate(r: Relation) -> tuple[str, str]:
    if r.status != "ok":
        return "–", "–"
    fmt = ".3g" if r.estimate_kind == "slope" else ".2f"
    kind = {"r_rm": "r_rm", "rho": "ρ", "partial_rho": "partial ρ", "slope": "slope"}
    est = f"{kind.get(r.estimate_kind, r.estimate_kind)} = {r.estimate:{fmt}}"
    ci = f"{r.ci_low:{fmt}} to {r.ci_high:{fmt}}"
    return est, ci


def _pair(r: Relation) -> str:
    feature = FEATURE_LABELS.get(r.feature, r.feature)
    return f"{feature} → {OUTCOME_LABELS.get(r.outcome, r.outcome)}"


def _relation_rows(rows: Sequence[Relation]) -> list[list[str]]:
    out = []
    for r in rows:
        est, ci = _estimate(r)
        status = r.status if r.status == "ok" else f"{r.status}: {r.reason}"
        if r.n_caffeine_confounded:
            status += f"; caffeine on a rating day in {r.n_caffeine_confounded}"
        out.append(
            [
                r.muscle,
                _pair(r),
                r.method + (f" ({r.subject})" if r.subject else ""),
                f"{r.n_subjects} / {r.n_obs}",
                est,
                ci,
                _p(r.p_holm),
                status,
            ]
        )
    return out


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


_REL_HEADERS = (
    "muscle", "feature → outcome", "method", "subjects / sessions", "effect size",
    "95 % interval", "p (Holm)", "status",
)  # fmt: skip


def _no_data(rows: Sequence[Relation]) -> str:
    """Relations with no session holding both values, one line per muscle instead of a row
    per method and subject."""
    by_muscle: dict[str, dict[str, None]] = {}
    for r in rows:
        by_muscle.setdefault(r.muscle, {})[_pair(r)] = None
    if not by_muscle:
        return ""
    lines = [f"{m}: {'; '.join(v)}" for m, v in sorted(by_muscle.items())]
    head = "Not estimable, no session has both values (no rating, or a feature never measured):"
    return paragraphs([head, *lines], "muted")


def statistics_html(rep: RelateReport) -> str:
    """The statistics section body for one :class:`RelateReport`."""
    res = rep.results
    primary = [r for r in res if r.family == "primary" and r.n_obs > 0]
    explored = [r for r in res if r.family != "primary" and r.status == "ok"]
    declined = Counter(
        r.reason for r in res if r.family != "primary" and r.status != "ok" and r.n_obs > 0
    )
    level = f"{100 * res[0].level:g} %" if res else "95 %"
    parts = [
        paragraphs(
            [
                f"{rep.n_subjects} subject(s), {rep.n_sessions} session(s), {rep.n_rows} "
                "session-muscle rows. Effect sizes come first, each with its "
                f"{level} interval; p-values are Holm-adjusted and secondary.",
            ]
        ),
        "".join(f'<div class="note">{esc(n)}</div>' for n in rep.notes),
        paragraphs(
            ["Methods: " + "; ".join(f"{k}: {v}" for k, v in _METHOD_NAMES.items())], "muted"
        ),
        "<h3>Primary (pre-registered) relations</h3>",
        table(_REL_HEADERS, _relation_rows(primary), left=(0, 1, 2, 7))
        if primary
        else "<p>No primary relation has data.</p>",
        _no_data([r for r in res if r.family == "primary" and r.n_obs == 0]),
        "<h3>Exploratory relations that could be estimated</h3>",
        table(_REL_HEADERS, _relation_rows(explored), left=(0, 1, 2, 7))
        if explored
        else "<p>None: every exploratory relation was declined (reasons below).</p>",
    ]
    if declined:
        parts.append("<h3>Declined exploratory relations, by reason</h3>")
        parts.append(
            table(("reason", "relations"), [(k, str(v)) for k, v in declined.most_common()])
        )
    return "".join(parts)
