"""Simulated cohorts with a known within-subject effect, to validate ``relate`` by coverage.

Generative model, per subject s and session j (one muscle, quads):

* eccentric volume-load x_sj = mu_s + sd_x * N(0, 1), mu_s ~ N(2000, 400) kg, sd_x = 300 kg;
* sessions ``gap_days`` apart (uniform integers); novelty_days is the gap (NaN for the first);
* latent peak soreness y_sj = a_s + beta (x_sj - mu_s) + rbe * c_sj + sd_e * N(0, 1), where
  c = log(1 + min(novelty, cap)) (the covariate ``relate`` uses) and
  a_s = 3 + N(0, 1) + between * (mu_s - 2000) / 400: subjects who lift more may be more (or
  less) sore, a between-subject association that within-subject methods must ignore;
* beta is set from the target within-subject partial correlation ``r_within`` (given novelty):
  beta = r sd_e / (sd_x sqrt(1 - r^2)), so the truth is known exactly for rmcorr (r) and
  MixedLM (beta). Other features (HR elevation, velocity, caffeine) are independent noise.
* optionally the load depends on the gap (``x_novelty_corr``), so that ignoring novelty
  biases the estimate: the confounded scenario shows what the covariate protects against.

With ``ratings=True`` the latent peak becomes a soreness log (integer ratings 0-10 at 24, 48,
72 h, peak at 48 h; caffeine on some rating days lowers that day's rating by one) and the
outcome columns come from :func:`soreness_outcomes`, exercising the whole pipeline; rounding
and clipping then change the true correlation, so use it for false-positive rates (truth 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from liftsense.analysis.outcomes import soreness_outcomes
from liftsense.analysis.relate import novelty_covariate
from liftsense.analysis.stats import partial_rank_corr

SD_X_KG = 300.0
START = pd.Timestamp("2026-01-05T17:00:00Z")


@dataclass(frozen=True)
class CohortTruth:
    """Population values of the estimands, per unit as ``relate`` reports them."""

    r_within: float  # partial within-subject correlation of x and y given novelty (rmcorr)
    slope_per_kg: float  # within-subject slope (MixedLM), rating points per kg


@dataclass(frozen=True)
class SimulatedCohort:
    """``table``: ``relate`` input with outcomes; logs are set when ratings were simulated."""

    table: pd.DataFrame
    soreness: pd.DataFrame | None
    intake: pd.DataFrame | None
    truth: CohortTruth


def _slope(r_within: float, sd_e: float, x_novelty_corr: float = 0.0) -> float:
    # The partial correlation given novelty involves only x's part independent of novelty.
    sd_x_res = SD_X_KG * np.sqrt(1.0 - x_novelty_corr**2)
    return float(r_within * sd_e / (sd_x_res * np.sqrt(1.0 - r_within**2)))


def _within_x(rng: np.random.Generator, c: np.ndarray, x_novelty_corr: float) -> np.ndarray:
    """Within-subject x: linear in the novelty covariate plus independent noise.

    The centring constants are arbitrary (subject means absorb them); linearity in c is what
    keeps the partial correlation given c exactly at its target.
    """
    c_std = (c - np.log1p(8.0)) / 0.6
    z = rng.normal(size=c.shape)
    return SD_X_KG * (x_novelty_corr * c_std + np.sqrt(1.0 - x_novelty_corr**2) * z)


def simulate_cohort(
    rng: np.random.Generator,
    *,
    n_subjects: int = 6,
    n_sessions: int = 12,
    r_within: float = 0.4,
    rbe: float = 0.8,
    sd_e: float = 1.0,
    between: float = 1.0,
    gap_days: tuple[int, int] = (2, 14),
    novelty_cap_days: float = 28.0,
    caffeine_rating_prob: float = 0.2,
    x_novelty_corr: float = 0.0,
    ratings: bool = False,
) -> SimulatedCohort:
    """Draw one cohort (see the module docstring for the model).

    ``x_novelty_corr`` makes the load depend on the gap (e.g. negative: lighter after a
    layoff), which confounds an analysis that ignores novelty.
    """
    beta = _slope(r_within, sd_e, x_novelty_corr)
    s = np.repeat(np.arange(n_subjects), n_sessions)
    mu = rng.normal(2000.0, 400.0, n_subjects)
    a = 3.0 + rng.normal(0.0, 1.0, n_subjects) + between * (mu - 2000.0) / 400.0
    gaps = rng.integers(gap_days[0], gap_days[1] + 1, size=(n_subjects, n_sessions))
    day = np.cumsum(gaps, axis=1) - gaps[:, :1]  # first session on day 0 for everyone
    novelty = gaps.astype(np.float64)
    novelty[:, 0] = np.nan
    novelty = novelty.ravel()
    c = novelty_covariate(novelty, novelty_cap_days)
    x = mu[s] + _within_x(rng, c, x_novelty_corr)
    y = a[s] + beta * (x - mu[s]) + rbe * c + sd_e * rng.normal(size=s.size)
    hr_z = rng.normal(size=s.size)
    table = pd.DataFrame(
        {
            "subject": [f"S{k:02d}" for k in s],
            "session_id": [
                f"S{k:02d}-{j:03d}"
                for k, j in zip(s, np.tile(range(n_sessions), n_subjects), strict=True)
            ],
            "started_at": START + pd.to_timedelta(day.ravel(), unit="D"),
            "muscle": "quads",
            "eccentric_volume_load_kg": x,
            "eccentric_load_tut_kg_s": x * rng.uniform(2.0, 4.0, s.size),
            "eccentric_velocity_m_s": rng.normal(0.5, 0.1, s.size),
            "hr_elevation_z": hr_z,
            "hr_elevation_delta_bpm": 4.0 * hr_z + rng.normal(0.0, 2.0, s.size),
            "caffeine_mg": rng.choice([0.0, 100.0, 200.0], s.size),
            "novelty_days": novelty,
        }
    )
    truth = CohortTruth(r_within=r_within, slope_per_kg=beta)
    if not ratings:
        auc = 60.0 * y + rng.normal(0.0, 20.0, s.size)
        return SimulatedCohort(
            table.assign(peak_soreness_delta=y, soreness_auc_rating_h=auc), None, None, truth
        )
    soreness, intake = _rating_logs(rng, table, y, caffeine_rating_prob)
    return SimulatedCohort(soreness_outcomes(table, soreness, intake), soreness, intake, truth)


def _rating_logs(
    rng: np.random.Generator, table: pd.DataFrame, y: np.ndarray, caffeine_prob: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    offsets_h = np.array([24.0, 48.0, 72.0])
    shape = np.array([0.7, 1.0, 0.5])
    n = len(table)
    level = np.clip(np.rint(y[:, None] * shape[None, :]), 0, 10)
    caffeinated = rng.random((n, 3)) < caffeine_prob
    level = np.clip(level - caffeinated, 0, 10)
    start = table["started_at"].dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
    times = start[:, None] + (offsets_h * 3600e9).astype("timedelta64[ns]")[None, :]
    subjects = np.repeat(table["subject"].to_numpy(), 3)
    soreness = pd.DataFrame(
        {
            "time": pd.to_datetime(times.ravel(), utc=True),
            "subject": subjects,
            "muscle": "quads",
            "rating": level.ravel().astype(np.float64),
            "utc_offset_min": 60,
        }
    )
    # Caffeine at 08:00 local (07:00 UTC) on the rating day; ratings are at 18:00 local.
    days = pd.to_datetime(times.ravel()[caffeinated.ravel()], utc=True).normalize()
    intake = pd.DataFrame(
        {
            "time": days + pd.Timedelta(hours=7),
            "subject": subjects[caffeinated.ravel()],
            "substance": "caffeine",
            "dose_mg": 200.0,
            "utc_offset_min": 60,
        }
    )
    return soreness, intake


def partial_spearman_truth(
    *,
    n_sessions: int,
    r_within: float,
    rbe: float = 0.8,
    sd_e: float = 1.0,
    x_novelty_corr: float = 0.0,
    n_draws: int = 20000,
    gap_days: tuple[int, int] = (2, 14),
    novelty_cap_days: float = 28.0,
    seed: int = 12345,
) -> float:
    """Population partial Spearman (given novelty) within one subject, by Monte Carlo.

    Pools ``n_draws`` subjects of ``n_sessions`` each with the intercept removed, so the
    first-session share of novelty values matches the design.
    """
    rng = np.random.default_rng(seed)
    beta = _slope(r_within, sd_e, x_novelty_corr)
    gaps = rng.integers(gap_days[0], gap_days[1] + 1, size=(n_draws, n_sessions)).astype(float)
    gaps[:, 0] = np.nan
    c = novelty_covariate(gaps, novelty_cap_days)
    xw = _within_x(rng, c, x_novelty_corr)
    y = beta * xw + rbe * c + sd_e * rng.normal(size=xw.shape)
    return partial_rank_corr(xw.ravel(), y.ravel(), c.reshape(-1, 1))


# ---------------------------------------------------------------- coverage study


@dataclass(frozen=True)
class Scenario:
    """One simulation design. ``ratings`` runs the full log -> outcome -> relate pipeline."""

    name: str
    n_subjects: int
    n_sessions: int
    r_within: float
    ratings: bool = False
    bootstrap: bool = False
    x_novelty_corr: float = 0.0


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("effect 6x12", 6, 12, 0.4),
    Scenario("null 6x12", 6, 12, 0.0),
    Scenario("effect 3x8", 3, 8, 0.5),
    Scenario("null 3x8", 3, 8, 0.0),
    Scenario("effect 1x20", 1, 20, 0.5),
    Scenario("null 1x20", 1, 20, 0.0),
    Scenario("null pipeline 6x12", 6, 12, 0.0, ratings=True),
    # Lighter sessions after longer gaps: ignoring novelty biases the correlation downwards.
    Scenario("effect 6x12 confounded", 6, 12, 0.4, x_novelty_corr=-0.6),
)


@dataclass(frozen=True)
class MethodCoverage:
    """How one method's intervals behaved over the simulated cohorts of one scenario.

    ``coverage``: share of intervals containing the true value; ``false_positive_rate``: share
    excluding 0 when the truth is 0 (NaN otherwise); ``n_failed``: fits declined or fallen
    back (not in the denominators).
    """

    scenario: str
    method: str
    truth: float
    n_intervals: int
    coverage: float
    false_positive_rate: float
    mean_width: float
    n_failed: int


def _summary(scenario: Scenario, method: str, truth: float, ci: list[tuple[float, float]],
             failed: int) -> MethodCoverage:  # fmt: skip
    arr = np.asarray(ci, dtype=np.float64).reshape(-1, 2)
    covered = float(np.mean((arr[:, 0] <= truth) & (truth <= arr[:, 1]))) if arr.size else np.nan
    excludes0 = float(np.mean((arr[:, 0] > 0) | (arr[:, 1] < 0))) if arr.size else np.nan
    width = float(np.mean(arr[:, 1] - arr[:, 0])) if arr.size else np.nan
    fpr = excludes0 if truth == 0 else float("nan")
    return MethodCoverage(scenario.name, method, truth, len(arr), covered, fpr, width, failed)


def coverage_study(
    scenario: Scenario, n_cohorts: int, seed: int = 0, *, mixedlm: bool = True
) -> list[MethodCoverage]:
    """Simulate ``n_cohorts`` cohorts and collect the 95 % intervals of each method.

    rmcorr and MixedLM give one interval per cohort; Spearman one per subject. The Spearman
    truth (partial, given novelty) is computed by Monte Carlo; the others are exact.
    ``mixedlm=False`` skips the (slowest) MixedLM fits.
    """
    from liftsense.analysis import stats
    from liftsense.analysis.relate import PRIMARY, RelateConfig, relate

    rng = np.random.default_rng(seed)
    ci: dict[str, list[tuple[float, float]]] = {}
    failed: dict[str, int] = {}
    truths: dict[str, float] = {}
    # With no effect x is independent of (y, novelty), so the partial rho is exactly 0.
    rho_truth = (
        partial_spearman_truth(
            n_sessions=scenario.n_sessions,
            r_within=scenario.r_within,
            x_novelty_corr=scenario.x_novelty_corr,
        )
        if scenario.r_within != 0
        else 0.0
    )
    cfg = RelateConfig(
        primary=PRIMARY[:1],
        features=(),
        outcomes=(),
        spearman_ci="bootstrap" if scenario.bootstrap else "bonett_wright",
        n_resamples=999,
        use_mixedlm=mixedlm,
    )

    def add(method: str, truth: float, lo: float, hi: float, ok: bool) -> None:
        truths[method] = truth
        ci.setdefault(method, [])
        failed.setdefault(method, 0)
        if ok and np.isfinite(lo) and np.isfinite(hi):
            ci[method].append((lo, hi))
        else:
            failed[method] += 1

    for _ in range(n_cohorts):
        sim = simulate_cohort(
            rng, n_subjects=scenario.n_subjects, n_sessions=scenario.n_sessions,
            r_within=scenario.r_within, ratings=scenario.ratings,
            x_novelty_corr=scenario.x_novelty_corr,
        )  # fmt: skip
        if scenario.ratings:
            for r in relate(sim.table, cfg).results:
                if r.method == "mixedlm" and not mixedlm:
                    continue
                truth = 0.0 if r.method != "spearman" else rho_truth
                add(r.method, truth, r.ci_low, r.ci_high, r.status == "ok")
            continue
        d = sim.table
        x, y = d["eccentric_volume_load_kg"].to_numpy(), d["peak_soreness_delta"].to_numpy()
        c = novelty_covariate(d["novelty_days"], cfg.novelty_cap_days)
        g = d["subject"].to_numpy()
        if scenario.n_subjects >= 2:
            rc = stats.rmcorr(x, y, g, c)
            add("rmcorr", sim.truth.r_within, rc.ci_low, rc.ci_high, True)
            if scenario.x_novelty_corr:
                # The same interval without the novelty covariate, to show what it protects.
                raw = stats.rmcorr(x, y, g)
                add("rmcorr_unadj", sim.truth.r_within, raw.ci_low, raw.ci_high, True)
        if mixedlm and scenario.n_subjects >= cfg.min_subjects_mixedlm:
            fit = stats.mixedlm_within(x, y, g, c)
            add("mixedlm", sim.truth.slope_per_kg, fit.ci_low, fit.ci_high, not fit.problem)
        method = "spearman_bca" if scenario.bootstrap else "spearman"
        for s in np.unique(g):
            k = g == s
            sp = stats.spearman(x[k], y[k], c[k], ci=cfg.spearman_ci, n_resamples=999, seed=None)
            add(method, rho_truth, sp.ci_low, sp.ci_high, True)
    return [_summary(scenario, m, truths[m], ci[m], failed[m]) for m in ci]
