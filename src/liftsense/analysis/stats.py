"""Pure statistics for few-subject, few-session data (see ANALYSIS.md section 2.5).

* :func:`rmcorr` - repeated-measures correlation (Bakdash & Marusich 2017): demean within
  subject, one common slope, df = N - S - 1 (minus one per covariate), CI by Fisher z with the
  effective sample size df + 2 (the convention of the R ``rmcorr`` package), i.e.
  SE = 1 / sqrt(df - 1).
* :func:`spearman` - Spearman's rho (optionally partial, on ranks) with a CI from Fisher z and
  the Bonett-Wright SE sqrt((1 + rho^2 / 2) / (n - 3 - k)), or a BCa bootstrap.
* :func:`mixedlm_within` - statsmodels MixedLM with a random intercept per subject and the
  within/between split of the predictor; returns the problem in words instead of a number when
  the fit is not trustworthy, so the caller can fall back to rmcorr.
* :func:`holm` - Holm step-down adjustment.

Functions raise :class:`~liftsense.errors.AnalysisError` when an estimate cannot be computed
(too few observations, no variation); callers turn that into a "declined" result.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from liftsense.errors import AnalysisError

FloatArray = npt.NDArray[np.float64]
# Warnings statsmodels' MixedLM.fit raises for an optimiser attempt that it then retries.
_RETRY = (
    "Retrying MixedLM optimization",
    "Gradient optimization failed",
    "Maximum Likelihood optimization failed to converge",
)
# Keep |r| < 1 before arctanh so a perfect fit yields a finite (if extreme) interval.
_R_CLIP = 1.0 - 1e-12


@dataclass(frozen=True)
class Correlation:
    """A correlation with its interval.

    ``estimate`` is r_rm (rmcorr) or rho (Spearman); ``slope`` is the common within-subject
    slope of y on x in y-units per x-unit (rmcorr only, else NaN); ``df`` the residual degrees
    of freedom; ``n`` observations used; ``n_groups`` subjects.
    """

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_groups: int
    df: float
    slope: float
    ci_method: str
    note: str = ""


@dataclass(frozen=True)
class MixedFit:
    """Within-subject fixed slope from MixedLM (random intercept per subject).

    ``problem`` is empty when the fit passed every check; otherwise it says why the numbers
    must not be used (they are NaN then).
    """

    slope: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_groups: int
    re_variance: float
    problem: str
    note: str = ""


@lru_cache(maxsize=16)
def _z_quantile(level: float) -> float:
    # scipy's ppf costs about a millisecond per call; relate() asks for the same few levels.
    return float(sps.norm.ppf(0.5 + level / 2))


def fisher_ci(r: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """Interval for a correlation: tanh(arctanh(r) -/+ q * se), q the normal quantile."""
    if not (np.isfinite(r) and np.isfinite(se) and se > 0):
        return (float("nan"), float("nan"))
    z = float(np.arctanh(np.clip(r, -_R_CLIP, _R_CLIP)))
    q = _z_quantile(level)
    return (float(np.tanh(z - q * se)), float(np.tanh(z + q * se)))


def bonett_wright_ci(rho: float, n: int, level: float = 0.95, k: int = 0) -> tuple[float, float]:
    """Bonett-Wright (2000) interval for Spearman's rho on n pairs with k partialled covariates."""
    if n - 3 - k <= 0:
        raise AnalysisError(f"Spearman CI needs at least {4 + k} observations, got {n}")
    return fisher_ci(rho, float(np.sqrt((1 + rho**2 / 2) / (n - 3 - k))), level)


def _as_arrays(
    x: npt.ArrayLike, y: npt.ArrayLike, covariates: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise AnalysisError(f"x and y differ in length ({xa.size} against {ya.size})")
    if covariates is None:
        ca = np.empty((xa.size, 0))
    else:
        ca = np.asarray(covariates, dtype=np.float64)
        ca = ca.reshape(xa.size, -1)
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya)) and np.all(np.isfinite(ca))):
        raise AnalysisError("inputs contain NaN or infinity; drop incomplete rows first")
    return xa, ya, ca


def _residualize(v: FloatArray, basis: FloatArray) -> FloatArray:
    if basis.shape[1] == 0:
        return v
    coef, *_ = np.linalg.lstsq(basis, v, rcond=None)
    return v - basis @ coef


def _group_demean(values: FloatArray, codes: npt.NDArray[np.intp], n_groups: int) -> FloatArray:
    """Subtract each group's mean from a (N,) or (N, k) array."""
    counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
    if values.ndim == 1:
        return values - (np.bincount(codes, values, n_groups) / counts)[codes]
    means = np.stack(
        [np.bincount(codes, values[:, j], n_groups) / counts for j in range(values.shape[1])],
        axis=1,
    )
    return values - means[codes]


def rmcorr(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    groups: npt.ArrayLike,
    covariates: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> Correlation:
    """Repeated-measures correlation of y with x across subjects (``groups``).

    ``covariates`` (N or N x k) are partialled out with a common within-subject slope each
    (e.g. novelty for the repeated-bout effect), costing one df apiece. The p-value is from
    t = r sqrt(df / (1 - r^2)) with df = N - S - 1 - k.

    Raises:
        AnalysisError: fewer than 2 subjects, df < 3, or no within-subject variation.
    """
    xa, ya, ca = _as_arrays(x, y, covariates)
    codes, uniques = _factorize(groups, xa.size)
    n_groups = len(uniques)
    k = ca.shape[1]
    df = xa.size - n_groups - 1 - k
    if n_groups < 2:
        raise AnalysisError("rmcorr needs at least 2 subjects; use the within-subject Spearman")
    if df < 3:
        raise AnalysisError(
            f"rmcorr has df = {df} (N={xa.size}, subjects={n_groups}, covariates={k}); needs >= 3"
        )
    cw = _group_demean(ca, codes, n_groups) if k else ca
    rx = _residualize(_group_demean(xa, codes, n_groups), cw)
    ry = _residualize(_group_demean(ya, codes, n_groups), cw)
    sxx, syy, sxy = float(rx @ rx), float(ry @ ry), float(rx @ ry)
    scale_x, scale_y = float(np.sum(xa**2)) or 1.0, float(np.sum(ya**2)) or 1.0
    if sxx <= 1e-12 * scale_x:
        raise AnalysisError("x does not vary within subjects (after covariates)")
    if syy <= 1e-12 * scale_y:
        raise AnalysisError("y does not vary within subjects (after covariates)")
    r = float(np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0))
    p = _t_pvalue(r, df)
    lo, hi = fisher_ci(r, 1.0 / np.sqrt(df - 1), level)
    return Correlation(r, lo, hi, p, xa.size, n_groups, float(df), sxy / sxx, "fisher_z")


def _factorize(groups: npt.ArrayLike, n: int) -> tuple[npt.NDArray[np.intp], list[object]]:
    g = np.asarray(groups, dtype=object).ravel()
    if g.size != n:
        raise AnalysisError(f"groups has {g.size} entries for {n} observations")
    uniques, codes = np.unique(g.astype(str), return_inverse=True)
    return codes.astype(np.intp), list(uniques)


def _t_pvalue(r: float, df: float) -> float:
    if abs(r) >= 1.0:
        return 0.0
    t = r * np.sqrt(df / (1.0 - r * r))
    return float(2.0 * sps.t.sf(abs(t), df))


def average_ranks(a: FloatArray) -> FloatArray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata's default)."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse.ravel()]


def partial_rank_corr(x: FloatArray, y: FloatArray, c: FloatArray) -> float:
    """Pearson correlation of the ranks of x and y after regressing out the ranks of c (N x k)."""
    basis = np.column_stack([np.ones(x.size), *(average_ranks(c[:, j]) for j in range(c.shape[1]))])
    rx = _residualize(average_ranks(x), basis)
    ry = _residualize(average_ranks(y), basis)
    denom = float(np.sqrt((rx @ rx) * (ry @ ry)))
    return float(rx @ ry) / denom if denom > 0 else float("nan")


def spearman(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    covariates: npt.ArrayLike | None = None,
    level: float = 0.95,
    ci: Literal["bonett_wright", "bootstrap"] = "bonett_wright",
    n_resamples: int = 1999,
    seed: int | None = 0,
) -> Correlation:
    """Spearman's rho of y with x within one subject, with a confidence interval.

    With ``covariates`` (N or N x k) it is the partial rank correlation (ranks residualised on
    the ranked covariates), with k subtracted from the df. ``ci="bonett_wright"`` uses Fisher z
    with the Bonett-Wright SE; ``ci="bootstrap"`` uses ``scipy.stats.bootstrap`` (paired BCa),
    which is unstable below about 10 observations (said in ``note``). The p-value is the t
    approximation on n - 2 - k df.

    Raises:
        AnalysisError: fewer than 4 + k observations, or x or y constant.
    """
    xa, ya, ca = _as_arrays(x, y, covariates)
    n, k = xa.size, ca.shape[1]
    if n - 3 - k <= 0:
        raise AnalysisError(f"Spearman needs at least {4 + k} observations, got {n}")
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        raise AnalysisError("x or y is constant; a correlation is undefined")
    rho = partial_rank_corr(xa, ya, ca)
    if not np.isfinite(rho):
        raise AnalysisError("ranks do not vary after removing the covariates")
    p = _t_pvalue(rho, n - 2 - k)
    if ci == "bonett_wright":
        lo, hi = bonett_wright_ci(rho, n, level, k)
        return Correlation(rho, lo, hi, p, n, 1, float(n - 2 - k), float("nan"), "bonett_wright")
    lo, hi, note = _bootstrap_ci(xa, ya, ca, level, n_resamples, seed)
    if n < 10:
        note = "; ".join(filter(None, [note, f"BCa is unstable with n = {n} < 10"]))
    return Correlation(rho, lo, hi, p, n, 1, float(n - 2 - k), float("nan"), "bca_bootstrap", note)


def _bootstrap_ci(
    x: FloatArray, y: FloatArray, c: FloatArray, level: float, n_resamples: int, seed: int | None
) -> tuple[float, float, str]:
    def statistic(*cols: FloatArray) -> float:
        xs, ys = cols[0], cols[1]
        cs = np.column_stack(cols[2:]) if len(cols) > 2 else np.empty((xs.size, 0))
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            return float("nan")
        return partial_rank_corr(xs, ys, cs)

    data = (x, y, *(c[:, j] for j in range(c.shape[1])))
    options: dict[str, Any] = {
        "paired": True,
        "vectorized": False,
        "n_resamples": n_resamples,
        "confidence_level": level,
        "method": "BCa",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sps.bootstrap(data, statistic, rng=np.random.default_rng(seed), **options)
        except TypeError:  # SciPy < 1.15 names the generator random_state
            res = sps.bootstrap(
                data, statistic, random_state=np.random.default_rng(seed), **options
            )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    note = "; ".join(sorted({str(w.message).split("\n")[0] for w in caught}))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        note = "; ".join(filter(None, [note, "bootstrap interval not computable"]))
    return lo, hi, note


def holm(p_values: npt.ArrayLike) -> FloatArray:
    """Holm step-down adjusted p-values; NaN entries stay NaN and do not count as tests."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def statsmodels_available() -> bool:
    """True when statsmodels (the ``stats`` extra) can be imported; does not import it."""
    import importlib.util

    return importlib.util.find_spec("statsmodels") is not None


def mixedlm_within(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    groups: npt.ArrayLike,
    covariates: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> MixedFit:
    """Fit y ~ x_within + x_between [+ covariates] + (1 | subject) with statsmodels MixedLM.

    x_within is x minus its subject mean and x_between the subject mean, so the reported slope
    is the within-subject effect, comparable with rmcorr's slope. REML; Wald interval with a t
    quantile on the between-within df, N - S - 1 - k (statsmodels itself has no small-sample
    df correction). Every column is centred and scaled to unit SD before fitting (results are
    transformed back), because raw kilograms against rating points leave the optimiser badly
    conditioned. The fit is rejected (``problem`` set, numbers NaN) if statsmodels is missing,
    any warning is raised, it did not converge, the random-intercept variance is on the
    boundary, the between coefficient is exactly 0.0 (statsmodels issue 10239), or a standard
    error is not finite.
    """
    xa, ya, ca = _as_arrays(x, y, covariates)
    codes, uniques = _factorize(groups, xa.size)
    nan = float("nan")

    def rejected(problem: str, re_var: float = nan) -> MixedFit:
        return MixedFit(nan, nan, nan, nan, xa.size, len(uniques), re_var, problem)

    try:
        with warnings.catch_warnings():
            # Deprecation chatter from statsmodels' own imports is not about this fit.
            warnings.simplefilter("ignore")
            from statsmodels.regression.mixed_linear_model import MixedLM
    except ImportError:
        return rejected("statsmodels is not installed (pip install 'liftsense[stats]')")
    n_groups = len(uniques)
    x_between = xa - _group_demean(xa, codes, n_groups)
    terms = np.column_stack([xa - x_between, x_between, ca])
    scale = terms.std(axis=0)
    y_sd = float(ya.std())
    if np.any(scale == 0) or y_sd == 0:
        return rejected("design matrix is singular (no within- or between-subject variation)")
    exog = np.column_stack([np.ones(xa.size), (terms - terms.mean(axis=0)) / scale])
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        return rejected("design matrix is singular (no within- or between-subject variation)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = MixedLM((ya - ya.mean()) / y_sd, exog, groups=codes).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return rejected(f"MixedLM failed: {exc}")
    messages = sorted({str(w.message).split("\n")[0] for w in caught})
    # statsmodels tries bfgs, then lbfgs, then cg, warning after each failed attempt. When a
    # later optimiser converged, those attempt-level warnings are history, not a verdict.
    retried = bool(messages) and fit.converged and all(m.startswith(_RETRY) for m in messages)
    if messages and not retried:
        return rejected("MixedLM warned: " + "; ".join(messages))
    re_var = float(np.asarray(fit.cov_re)[0, 0]) * y_sd**2
    if not fit.converged:
        return rejected("MixedLM did not converge", re_var)
    if not re_var > 1e-6 * float(fit.scale) * y_sd**2:
        return rejected("random-intercept variance is ~0 (boundary fit)", re_var)
    params, bse = np.asarray(fit.fe_params), np.asarray(fit.bse_fe)
    if params[2] == 0.0:
        return rejected("between-subject coefficient is exactly 0.0 (statsmodels #10239)", re_var)
    if not np.all(np.isfinite(bse)) or bse[1] <= 0:
        return rejected("standard errors are not finite", re_var)
    # statsmodels gives no small-sample df; use the between-within rule (SAS DDFM=BETWITHIN):
    # a within-subject coefficient gets N - S - (number of within-subject terms) df.
    df = xa.size - n_groups - 1 - ca.shape[1]
    if df < 1:
        return rejected(f"no residual within-subject df (N={xa.size}, subjects={n_groups})")
    q = float(sps.t.ppf(0.5 + level / 2, df))
    slope, se = (float(v) * y_sd / float(scale[0]) for v in (params[1], bse[1]))
    p = float(2 * sps.t.sf(abs(slope / se), df))
    note = "converged after retrying optimisers" if retried else ""
    return MixedFit(slope, slope - q * se, slope + q * se, p, xa.size, n_groups, re_var, "", note)
