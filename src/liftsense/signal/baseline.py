"""Personal heart-rate baselines across a subject's sessions, and the elevation verdict.

For each window type (``HeartSummary.window_values``) the baseline of a session is the median and
MAD of the same person's *stimulant-free* sessions, excluding the session itself. The robust z is
``(x - median) / (1.4826 * MAD)``. Following ANALYSIS.md 2.2, a session's pre-workout rest HR is
"elevated" only when z >= ``z_threshold`` *and* its change exceeds the smallest worthwhile change
(0.5 x the between-day SD of the baseline sessions). The change is the within-session delta
(post-intake minus pre-intake rest) when the session has both windows, else the difference from
the baseline median. Below ``min_sessions`` baseline sessions the status is
"insufficient baseline" and no z is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from liftsense.signal.heart import Elevation, HeartSummary

__all__ = ["ELEVATION_WINDOW", "baselines_by_subject", "personal_baselines", "robust_z"]

#: The window type whose z decides the elevation status.
ELEVATION_WINDOW = "pre_workout_hr_bpm"
_MAD_TO_SD = 1.4826


def robust_z(x: float, pool: Sequence[float]) -> tuple[float, float, float]:
    """Robust z of ``x`` against ``pool``: ``(z, median, scaled MAD)``; z is NaN when the pool
    is empty, ``x`` is NaN, or the pool has no spread (MAD 0)."""
    p = np.asarray([v for v in pool if math.isfinite(v)], dtype=np.float64)
    if p.size == 0:
        return math.nan, math.nan, math.nan
    med = float(np.median(p))
    mad = _MAD_TO_SD * float(np.median(np.abs(p - med)))
    if not math.isfinite(x) or mad == 0.0:
        return math.nan, med, mad
    return (x - med) / mad, med, mad


def personal_baselines(
    sessions: Sequence[HeartSummary],
    *,
    min_sessions: int = 3,
    z_threshold: float = 2.0,
    swc_factor: float = 0.5,
) -> list[HeartSummary]:
    """Fill in each session's :class:`Elevation` against the person's stimulant-free sessions.

    Args:
        sessions: summaries of one subject's sessions (any order).
        min_sessions: fewer stimulant-free sessions (other than the one judged) than this gives
            "insufficient baseline".
        z_threshold: z at or above which HR may be called elevated.
        swc_factor: smallest worthwhile change as a fraction of the between-day SD.

    Returns:
        The summaries, in the same order, with ``elevation`` replaced (a pure function).
    """
    values = [s.window_values() for s in sessions]
    free = [not s.stimulant for s in sessions]
    out = []
    for i, s in enumerate(sessions):
        pools = {
            w: [v[w] for j, v in enumerate(values) if free[j] and j != i and math.isfinite(v[w])]
            for w in values[i]
        }
        z_by = {w: robust_z(values[i][w], pools[w])[0] for w in values[i]}
        pool = pools[ELEVATION_WINDOW]
        x = values[i][ELEVATION_WINDOW]
        z, med, _ = robust_z(x, pool)
        n = len(pool)
        swc = swc_factor * float(np.std(pool, ddof=1)) if n >= 2 else math.nan
        base_delta = x - med
        within = s.elevation.delta_bpm
        change = within if math.isfinite(within) else base_delta
        reason: str | None
        if not math.isfinite(x):
            status, reason = "no data", "pre-workout rest HR not computable"
        elif n < min_sessions:
            status = "insufficient baseline"
            reason = f"{n} stimulant-free sessions with a valid rest HR (need {min_sessions})"
            z = math.nan
        elif not math.isfinite(z):
            status, reason = "insufficient baseline", "baseline rest HR has no spread (MAD 0)"
        elif z >= z_threshold and change > swc:
            status, reason = "elevated", None
        else:
            status, reason = "not elevated", None
        if n < min_sessions:
            z_by = {w: math.nan for w in z_by}
        elev = Elevation(
            delta_bpm=within,
            z=z,
            status=status,
            reason=reason,
            baseline_n=n,
            baseline_median_bpm=med,
            baseline_delta_bpm=base_delta,
            swc_bpm=swc,
            z_by_window=z_by,
        )
        out.append(replace(s, elevation=elev))
    return out


def baselines_by_subject(
    subjects: Sequence[str], hearts: Sequence[HeartSummary | None]
) -> list[HeartSummary | None]:
    """:func:`personal_baselines` over a mixed cohort: each session judged against the
    stimulant-free sessions of the same ``subjects[k]`` only.

    ``hearts[k]`` is session k's summary, or None for a session without heart data (or one to
    leave out); None stays None and joins no baseline. Returns the summaries in input order.
    """
    if len(subjects) != len(hearts):
        raise ValueError(f"{len(subjects)} subjects for {len(hearts)} heart summaries")
    by_subject: dict[str, list[int]] = {}
    for k, heart in enumerate(hearts):
        if heart is not None:
            by_subject.setdefault(subjects[k], []).append(k)
    out = list(hearts)
    for idx in by_subject.values():
        judged = personal_baselines([hearts[k] for k in idx])  # type: ignore[misc]
        for k, heart in zip(idx, judged, strict=True):
            out[k] = heart
    return out
