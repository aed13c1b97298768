"""What rep detection returns: a set (``SetResult``) of reps (``RepResult``), and the tempo
string that sums up a set's phases (``format_tempo``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["RepResult", "SetResult", "format_tempo"]


@dataclass(frozen=True)
class RepResult:
    """One completed rep. Phases are named by what they follow (see ``exercises``); velocities
    are of the sensor, in m/s (NaN when its displacement could not be estimated). ``from_tempo``:
    a dropout overlapped the rep, or hid the reps after it, and its phases (or its pause before
    the next rep) come from the set's tempo, not the signal (``tempofill``)."""

    index: int
    start_s: float
    end_s: float
    eccentric_s: float
    bottom_pause_s: float
    concentric_s: float
    top_pause_s: float
    rom_m: float
    eccentric_mean_velocity_mps: float
    eccentric_peak_velocity_mps: float
    concentric_mean_velocity_mps: float
    concentric_peak_velocity_mps: float
    from_tempo: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_json(self, shift_s: float = 0.0) -> dict[str, Any]:
        keys = ("eccentric_s", "bottom_pause_s", "concentric_s", "top_pause_s", "rom_m")
        out: dict[str, Any] = {
            "index": self.index,
            "start_s": round(self.start_s + shift_s, 3),
            "end_s": round(self.end_s + shift_s, 3),
        }
        out |= {k: _num(getattr(self, k)) for k in keys}
        out["from_tempo"] = self.from_tempo
        return out


@dataclass(frozen=True)
class SetResult:
    """One set: its reps, tempo (median phases, ``"3-1-1-0"``), eccentric and total time under
    tension (s), and how it was found (``signal``: ``displacement`` or ``rotation``; ``source``:
    ``auto`` or ``markers``). ``unrecorded_s`` is how long the sensor sent nothing within the
    set (its dropouts); ``hidden_reps`` are the reps counted with no timing: those the dropouts
    hid (``dropouts.hidden_per_step``) and a last rep whose slow way back the drift control lost
    (``attempts.completed_outs``); ``n_reps`` is both. Each of those adds the set's median
    phases to its times under tension: the reps were made. ``load_kg`` is NaN here; the caller
    knows the plan."""

    index: int
    exercise: str
    t0: pd.Timestamp
    start_s: float
    end_s: float
    reps: tuple[RepResult, ...]
    tempo: str
    eccentric_tut_s: float
    concentric_tut_s: float
    total_tut_s: float
    failed_reps: int
    rom_m: float
    signal: str
    source: str
    load_kg: float = math.nan
    unrecorded_s: float = 0.0
    hidden_reps: int = 0

    @property
    def n_reps(self) -> int:
        """The reps made: those timed (``reps``) and those counted untimed (``hidden_reps``)."""
        return len(self.reps) + self.hidden_reps

    @property
    def from_tempo_reps(self) -> int:
        """How many of the timed reps were timed from the set's tempo (``RepResult.from_tempo``)."""
        return sum(r.from_tempo for r in self.reps)

    def to_json(self, t0: pd.Timestamp | str | None = None) -> dict[str, Any]:
        """The ``sets[]`` entry of ``liftsense analyze --json``, times in s from ``t0``
        (default: the first sample of the analysed input)."""
        shift = 0.0 if t0 is None else (self.t0 - _utc(pd.Timestamp(t0))).total_seconds()
        return {
            "index": self.index,
            "exercise": self.exercise,
            "load_kg": _num(self.load_kg),
            "start_s": round(self.start_s + shift, 3),
            "end_s": round(self.end_s + shift, 3),
            "tempo": self.tempo,
            "eccentric_tut_s": _num(self.eccentric_tut_s),
            "total_tut_s": _num(self.total_tut_s),
            "failed_reps": self.failed_reps,
            "unrecorded_s": round(self.unrecorded_s, 3),
            "hidden_reps": self.hidden_reps,
            "reps": [r.to_json(shift) for r in self.reps],
        }


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 3)


def format_tempo(phases_s: Iterable[float]) -> str:
    """``"3-1-1-0"`` from four phase durations, each rounded to the nearest 0.5 s."""
    parts = []
    for v in phases_s:
        r = round(float(v) * 2) / 2 if math.isfinite(v) else 0.0
        parts.append(f"{r:g}")
    return "-".join(parts)
