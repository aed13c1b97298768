"""Known answers for rmcorr, Spearman with CI, Holm and the MixedLM wrapper."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from liftsense.analysis import stats
from liftsense.errors import AnalysisError


def _orthogonal_cohort(
    slope: float, n_subjects: int = 4, n_per: int = 6, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """x, y, groups with a within-subject OLS slope of exactly ``slope`` and known r_rm.

    The residual is demeaned within each subject and made orthogonal to x's within part, so
    least squares must return ``slope`` exactly; r follows from the two sums of squares.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_subjects), n_per)
    x = rng.normal(size=g.size) + 5.0 * g  # big between-subject spread, which rmcorr ignores
    e = rng.normal(size=g.size)
    xw = x - np.array([x[g == k].mean() for k in g])
    ew = e - np.array([e[g == k].mean() for k in g])
    ew -= xw * (xw @ ew) / (xw @ xw)
    y = 100.0 - 7.0 * g + slope * x + ew  # between-subject trend opposite to the within one
    r = slope * np.sqrt(xw @ xw) / np.sqrt(slope**2 * (xw @ xw) + ew @ ew)
    return x, y, g, float(r)


def test_rmcorr_recovers_an_exact_slope_and_r() -> None:
    x, y, g, r_true = _orthogonal_cohort(0.8)
    res = stats.rmcorr(x, y, g)
    assert res.slope == pytest.approx(0.8, abs=1e-12)
    assert res.estimate == pytest.approx(r_true, abs=1e-12)
    assert (res.n, res.n_groups, res.df) == (24, 4, 19.0)  # df = N - S - 1
    assert res.ci_method == "fisher_z"


def test_rmcorr_is_one_without_noise_and_ignores_subject_offsets() -> None:
    g = np.repeat(["a", "b", "c"], 4)
    x = np.tile([1.0, 2.0, 3.0, 5.0], 3)
    y = -2.0 * x + np.repeat([10.0, -40.0, 3.0], 4)
    res = stats.rmcorr(x, y, g)
    assert res.estimate == pytest.approx(-1.0)
    assert res.slope == pytest.approx(-2.0)
    assert res.p_value == 0.0


def test_rmcorr_matches_an_ancova_with_subject_dummies() -> None:
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(5), 7)
    x, c = rng.normal(size=35), rng.normal(size=35)
    y = 0.4 * x + 0.7 * c + g + rng.normal(size=35)
    res = stats.rmcorr(x, y, g, covariates=c)
    # Independent route: OLS of y on x, c and one dummy per subject; t-test of x's coefficient.
    design = np.column_stack([x, c, (g[:, None] == np.arange(5)).astype(float)])
    coef, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    df = 35 - design.shape[1]
    se = np.sqrt(rss[0] / df * np.linalg.inv(design.T @ design)[0, 0])
    assert res.df == df == 28
    assert res.slope == pytest.approx(coef[0], rel=1e-10)
    assert res.p_value == pytest.approx(2 * sps.t.sf(abs(coef[0] / se), df), rel=1e-8)


def test_rmcorr_interval_uses_effective_n_df_plus_2() -> None:
    # R rmcorr's documented interval is psych::r.con(r, df + 2): for r = 0.88, df = 4 it is
    # tanh(atanh(0.88) -/+ 1.959964 / sqrt(3)) = 0.2394 .. 0.9868.
    lo, hi = stats.fisher_ci(0.88, 1 / np.sqrt(4 - 1))
    assert (lo, hi) == (pytest.approx(0.23944, abs=5e-5), pytest.approx(0.98676, abs=5e-5))
    x, y, g, _ = _orthogonal_cohort(0.5, n_subjects=2, n_per=4)  # N=8, S=2: df = 5
    res = stats.rmcorr(x, y, g)
    assert (res.ci_low, res.ci_high) == stats.fisher_ci(res.estimate, 1 / np.sqrt(res.df - 1))


@pytest.mark.parametrize(
    ("x", "y", "g", "match"),
    [
        ([1, 2, 3, 4, 5, 6], [1, 3, 2, 5, 4, 6], [0] * 6, "at least 2 subjects"),
        ([1, 2, 3, 4, 5], [1, 3, 2, 5, 4], [0, 0, 0, 1, 1], "df = 2"),
        ([1, 1, 1, 2, 2, 2, 3, 3], [1, 3, 2, 5, 4, 6, 7, 1], [0, 0, 0, 1, 1, 1, 2, 2], "x does"),
        ([1, 2, 3, 4, 5, np.nan, 7, 8], [1] * 8, [0] * 4 + [1] * 4, "NaN"),
    ],
)
def test_rmcorr_raises_when_not_computable(
    x: list[float], y: list[float], g: list[int], match: str
) -> None:
    with pytest.raises(AnalysisError, match=match):
        stats.rmcorr(x, y, g)


@pytest.mark.parametrize(
    ("n", "rho", "lo", "hi"),
    [
        (8, 0.5, -0.36, 0.90),
        (8, 0.7, -0.11, 0.95),
        (12, 0.5, -0.14, 0.85),
        (12, 0.7, 0.14, 0.92),
        (20, 0.5, 0.05, 0.78),
        (20, 0.7, 0.32, 0.88),
    ],
)
def test_bonett_wright_matches_the_analysis_table(n: int, rho: float, lo: float, hi: float) -> None:
    got = stats.bonett_wright_ci(rho, n)
    assert got == (pytest.approx(lo, abs=0.005), pytest.approx(hi, abs=0.005))


def test_spearman_known_rho_and_matches_scipy() -> None:
    x = np.arange(1.0, 9.0)
    y = np.array([2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0])  # sum d^2 = 8: rho = 1 - 48/504
    res = stats.spearman(x, y)
    assert res.estimate == pytest.approx(1 - 6 * 8 / (8 * 63))
    ref = sps.spearmanr(x, y)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert (res.ci_low, res.ci_high) == stats.bonett_wright_ci(res.estimate, 8)
    assert res.ci_low < res.estimate < res.ci_high


def test_partial_spearman_matches_the_first_order_partial_formula() -> None:
    rng = np.random.default_rng(5)
    c = rng.normal(size=15)
    x = c + rng.normal(size=15)
    y = c + 0.5 * x + rng.normal(size=15)
    rxy, rxc, ryc = (sps.spearmanr(a, b).statistic for a, b in ((x, y), (x, c), (y, c)))
    expected = (rxy - rxc * ryc) / np.sqrt((1 - rxc**2) * (1 - ryc**2))
    res = stats.spearman(x, y, covariates=c)
    assert res.estimate == pytest.approx(expected, abs=1e-12)
    assert res.df == 15 - 2 - 1
    assert (res.ci_low, res.ci_high) == stats.bonett_wright_ci(res.estimate, 15, k=1)


def test_spearman_bootstrap_interval_and_small_n_note() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=9)
    y = x + rng.normal(size=9)
    res = stats.spearman(x, y, ci="bootstrap", n_resamples=499, seed=1)
    assert res.ci_method == "bca_bootstrap"
    assert -1 <= res.ci_low < res.estimate < res.ci_high <= 1
    assert "unstable with n = 9" in res.note


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [([1, 2, 3], [1, 2, 3], "at least 4"), ([1, 1, 1, 1, 1], [1, 2, 3, 4, 5], "constant")],
)
def test_spearman_raises_when_not_computable(x: list[float], y: list[float], match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        stats.spearman(x, y)


def test_holm_known_answer_and_nan() -> None:
    got = stats.holm([0.01, 0.04, np.nan, 0.03, 0.005])
    np.testing.assert_allclose(got, [0.03, 0.06, np.nan, 0.06, 0.02])
    assert np.all(np.isnan(stats.holm([np.nan])))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=20))
def test_holm_is_monotone_bounded_and_not_below_raw(p: list[float]) -> None:
    adj = stats.holm(p)
    raw = np.asarray(p)
    assert np.all(adj >= raw - 1e-15)
    assert np.all(adj <= 1)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)


def test_mixedlm_within_estimates_the_within_slope() -> None:
    pytest.importorskip("statsmodels")
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(8), 10)
    mu = rng.normal(0, 3, 8)
    x = mu[g] + rng.normal(size=g.size)
    y = 2.0 - 1.5 * mu[g] + 0.6 * (x - mu[g]) + rng.normal(0, 1.0, 8)[g] + rng.normal(size=g.size)
    fit = stats.mixedlm_within(x, y, g)
    assert fit.problem == ""
    assert fit.ci_low < 0.6 < fit.ci_high
    assert fit.re_variance > 0
    # Same within-subject information as rmcorr: the slopes agree closely.
    assert fit.slope == pytest.approx(stats.rmcorr(x, y, g).slope, abs=0.02)


def test_mixedlm_within_rejects_a_degenerate_fit() -> None:
    pytest.importorskip("statsmodels")
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(6), 6)
    x = rng.normal(size=g.size)
    y = 0.3 * x + rng.normal(size=g.size)
    y -= np.array([y[g == k].mean() for k in g])  # identical subject means: Var(RE) = 0
    fit = stats.mixedlm_within(x, y, g)
    assert fit.problem.startswith("MixedLM warned")
    assert np.isnan(fit.slope) and np.isnan(fit.ci_low)


def test_mixedlm_within_rejects_a_constant_term() -> None:
    g = np.repeat(np.arange(5), 4)
    fit = stats.mixedlm_within(np.arange(20.0), np.arange(20.0) % 3, g, covariates=np.ones(20))
    assert "singular" in fit.problem


def test_mixedlm_within_says_when_statsmodels_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels.regression.mixed_linear_model", None)
    fit = stats.mixedlm_within([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], [0, 0, 0, 1, 1, 1])
    assert "statsmodels is not installed" in fit.problem


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=3), min_size=1, max_size=25))
def test_average_ranks_match_scipy_rankdata_with_ties(values: list[int]) -> None:
    a = np.asarray(values, dtype=np.float64)
    np.testing.assert_allclose(stats.average_ranks(a), sps.rankdata(a))
