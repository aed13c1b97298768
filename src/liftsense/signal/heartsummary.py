"""Result types of the session heart features, and their JSON form.

``HeartSummary.to_json`` is the ``"heart"`` object of ``liftsense analyze --json``. Values that
cannot be computed are NaN here and null in JSON, with a reason beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liftsense.signal.hrseries import HeartRateSeries

__all__ = ["NO_BASELINE", "Elevation", "HeartSummary", "SetHeart", "WindowStats", "num"]

NO_BASELINE = "no baseline: compare with the person's stimulant-free sessions"


@dataclass(frozen=True)
class WindowStats:
    """HR and HRV in one window; times in s from the session ``t0``; NaN where not computable."""

    start_s: float
    end_s: float
    hr_bpm: float
    rmssd_ms: float
    lnrmssd: float
    artefact_pct: float
    coverage: float
    reason: str | None = None
    sdnn_ms: float = math.nan
    pnn50_pct: float = math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "start_s": num(self.start_s),
            "end_s": num(self.end_s),
            "hr_bpm": num(self.hr_bpm),
            "rmssd_ms": num(self.rmssd_ms),
            "lnrmssd": num(self.lnrmssd),
            "sdnn_ms": num(self.sdnn_ms),
            "pnn50_pct": num(self.pnn50_pct),
            "artefact_pct": num(self.artefact_pct),
            "coverage": num(self.coverage),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SetHeart:
    """Heart features of one set (``index`` from 1, in set order); times in s from ``t0``."""

    index: int
    start_s: float
    end_s: float
    peak_hr_bpm: float
    hrr60_bpm: float
    rest_before_hr_bpm: float
    since_intake_s: float
    reason: str | None = None
    #: Flagged RR beats from set start to the next set (or 60 s after the end), %.
    artefact_pct: float = math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "peak_hr_bpm": num(self.peak_hr_bpm),
            "hrr60_bpm": num(self.hrr60_bpm),
            "rest_before_hr_bpm": num(self.rest_before_hr_bpm),
            "since_intake_s": num(self.since_intake_s),
            "artefact_pct": num(self.artefact_pct),
            "start_s": num(self.start_s),
            "end_s": num(self.end_s),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Elevation:
    """Stimulant-elevated HR.

    ``delta_bpm`` is the within-session change, post-intake pre-workout rest minus pre-intake
    rest (NaN without both windows). ``z`` is the robust z of this session's pre-workout rest HR
    against the person's stimulant-free sessions, filled in by
    :func:`liftsense.signal.baseline.personal_baselines`, with ``baseline_n`` sessions,
    their median, this session's difference from it (``baseline_delta_bpm``) and the smallest
    worthwhile change (``swc_bpm``, 0.5 x between-day SD). ``status`` is then "elevated" (z >= 2
    and the change, within-session if known else from the baseline, exceeds the SWC),
    "not elevated", "insufficient baseline" (fewer than 3 stimulant-free sessions) or
    "no data". ``z_by_window`` has the z of every window type.
    """

    delta_bpm: float = math.nan
    z: float = math.nan
    status: str = "insufficient baseline"
    reason: str | None = NO_BASELINE
    baseline_n: int = 0
    baseline_median_bpm: float = math.nan
    baseline_delta_bpm: float = math.nan
    swc_bpm: float = math.nan
    z_by_window: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "delta_bpm": num(self.delta_bpm),
            "z": num(self.z),
            "status": self.status,
            "reason": self.reason,
            "baseline_n": self.baseline_n,
            "baseline_median_bpm": num(self.baseline_median_bpm),
            "baseline_delta_bpm": num(self.baseline_delta_bpm),
            "swc_bpm": num(self.swc_bpm),
            "z_by_window": {k: num(v) for k, v in self.z_by_window.items()},
        }


@dataclass(frozen=True)
class HeartSummary:
    """All heart features of one session. ``to_json`` is the ``"heart"`` object of
    ``liftsense analyze --json``; values that cannot be computed are null with a reason."""

    t0_ns: int
    source: str  # "rr", "hr" (strap bpm only) or "none"
    rest: WindowStats
    rest_window: str  # "pre_intake" or "pre_workout"
    pre_intake: WindowStats | None
    pre_workout: WindowStats | None
    artefact_pct: float
    sets: tuple[SetHeart, ...]
    elevation: Elevation
    stimulant: bool
    substance: str | None = None
    dose_mg: float | None = None
    reason: str | None = None
    #: The 4 Hz HR series the features came from (for plots); not part of the JSON.
    series: HeartRateSeries | None = field(default=None, repr=False, compare=False)

    def window_values(self) -> dict[str, float]:
        """Per window type, the value compared across sessions (for personal baselines)."""
        pw = self.pre_workout
        rest = [s.rest_before_hr_bpm for s in self.sets if math.isfinite(s.rest_before_hr_bpm)]
        return {
            "pre_workout_hr_bpm": pw.hr_bpm if pw else math.nan,
            "pre_workout_lnrmssd": pw.lnrmssd if pw else math.nan,
            "inter_set_hr_bpm": float(np.median(rest)) if rest else math.nan,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "rest_hr_bpm": num(self.rest.hr_bpm),
            "rest_rmssd_ms": num(self.rest.rmssd_ms),
            "rest_lnrmssd": num(self.rest.lnrmssd),
            "artefact_pct": num(self.artefact_pct),
            "artefact_reason": None if math.isfinite(self.artefact_pct) else "no RR intervals",
            "elevation": self.elevation.to_json(),
            "sets": [s.to_json() for s in self.sets],
            "rest_window": self.rest_window,
            "rest_reason": self.rest.reason,
            "source": self.source,
            "stimulant": self.stimulant,
            "substance": self.substance,
            "dose_mg": self.dose_mg,
            "windows": {
                "pre_intake": self.pre_intake.to_json() if self.pre_intake else None,
                "pre_workout": self.pre_workout.to_json() if self.pre_workout else None,
            },
            "reason": self.reason,
        }


def num(x: float | None) -> float | None:
    """JSON-safe number: NaN and inf become null."""
    return None if x is None or not math.isfinite(x) else round(float(x), 3)
