"""What the cross-session relations are: the features, outcomes and pre-registered primary
pairs, the configuration (minimum n per method, novelty adjustment, intervals), and the
fixed-schema results. :mod:`liftsense.analysis.relate` computes them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

import pandas as pd

FEATURES: tuple[str, ...] = (
    "eccentric_volume_load_kg",
    "eccentric_load_tut_kg_s",
    "eccentric_velocity_m_s",
    "hr_elevation_z",
    "hr_elevation_delta_bpm",
    "caffeine_mg",
)
OUTCOMES: tuple[str, ...] = ("peak_soreness_delta", "soreness_auc_rating_h")
PRIMARY: tuple[tuple[str, str], ...] = (
    ("eccentric_volume_load_kg", "peak_soreness_delta"),
    ("hr_elevation_z", "peak_soreness_delta"),
)
METHODS: tuple[str, ...] = ("rmcorr", "spearman", "mixedlm")


@dataclass(frozen=True)
class RelateConfig:
    """What to relate and when to decline. ``primary`` is the pre-registered set."""

    primary: tuple[tuple[str, str], ...] = PRIMARY
    features: tuple[str, ...] = FEATURES
    outcomes: tuple[str, ...] = OUTCOMES
    adjust_for_novelty: bool = True
    novelty_cap_days: float = 28.0
    level: float = 0.95
    min_sessions_within_subject: int = 8
    min_rmcorr_df: int = 6
    min_subjects_mixedlm: int = 5
    use_mixedlm: bool = True
    # MixedLM adds a model-based slope beside rmcorr; fitting it for every exploratory pair
    # multiplies the run time for little, so by default only the primary pairs get it.
    mixedlm_pairs: Literal["primary", "all"] = "primary"
    spearman_ci: Literal["bonett_wright", "bootstrap"] = "bonett_wright"
    n_resamples: int = 1999
    seed: int = 0
    exclude_caffeine_confounded: bool = False


@dataclass(frozen=True)
class Relation:
    """One feature-outcome relation by one method. Fixed schema; NaN + reason when declined.

    ``status``: "ok", "declined" (not attempted: too few data, missing column...) or
    "fallback" (MixedLM fitted but failed a check; use the rmcorr row). ``estimate_kind``:
    "r_rm", "rho", "partial_rho" or "slope" (outcome units per feature unit). ``subject`` is
    empty for across-subject methods. ``p_holm`` is Holm-adjusted within (family, method).
    """

    muscle: str
    feature: str
    outcome: str
    method: str
    subject: str
    family: str
    status: str
    reason: str
    n_subjects: int
    n_obs: int
    df: float
    estimate: float
    estimate_kind: str
    ci_low: float
    ci_high: float
    level: float
    ci_method: str
    slope: float
    p_value: float
    p_holm: float
    adjusted_for: str
    n_caffeine_confounded: int
    note: str


@dataclass(frozen=True)
class RelateReport:
    """All relations plus the counts and caveats a careful report states first."""

    results: tuple[Relation, ...]
    n_subjects: int
    n_sessions: int
    n_rows: int
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per :class:`Relation`, columns in the dataclass order (even when empty)."""
        names = [f.name for f in fields(Relation)]
        return pd.DataFrame([asdict(r) for r in self.results], columns=names)

    def to_json(self) -> str:
        """JSON object; NaN becomes null."""

        def clean(v: object) -> object:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        body = {
            "n_subjects": self.n_subjects,
            "n_sessions": self.n_sessions,
            "n_rows": self.n_rows,
            "notes": list(self.notes),
            "results": [{k: clean(v) for k, v in asdict(r).items()} for r in self.results],
        }
        return json.dumps(body, indent=1)
