"""One recording in, one analysis out: sets, reps, tempo, heart features, data-quality warnings.

``analyze(recording)`` is the single place that turns a recording into results; the CLI
(``liftsense analyze``), the reports and batch processing all call it, so they never disagree.
Its tables have a fixed schema (``SET_COLUMNS``, ``SESSION_COLUMNS``, ``MUSCLE_COLUMNS``): a value
that cannot be computed is NaN, never a missing column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liftsense.analysis.relations import FEATURES
from liftsense.analysis.sets import choose_imu, detect_planned_sets, shifted
from liftsense.errors import AnalysisError
from liftsense.recording import Recording, StreamSummary, load
from liftsense.signal.exercises import exercise_info
from liftsense.signal.heart import HeartSummary, session_heart
from liftsense.signal.reps import SetResult

if TYPE_CHECKING:
    from liftsense.schema import SessionMeta

SET_COLUMNS = (
    "subject",
    "session_id",
    "started_at",
    "set_index",
    "exercise",
    "load_kg",
    "start_time",
    "start_s",
    "end_s",
    "reps",
    "failed_reps",
    "unrecorded_s",
    "hidden_reps",
    "from_tempo_reps",
    "tempo",
    "eccentric_tut_s",
    "concentric_tut_s",
    "total_tut_s",
    "rom_m",
    "volume_load_kg",
    "eccentric_load_tut_kg_s",
    "eccentric_velocity_mps",
    "concentric_velocity_mps",
    "est_1rm_kg",
    "peak_hr_bpm",
    "hrr60_bpm",
)
SESSION_COLUMNS = (
    "subject",
    "session_id",
    "started_at",
    "recording",
    "imu_device",
    "duration_s",
    "sets",
    "reps",
    "exercises",
    "volume_load_kg",
    "eccentric_tut_s",
    "eccentric_load_tut_kg_s",
    "rest_hr_bpm",
    "rest_lnrmssd",
    "pre_workout_hr_bpm",
    "artefact_pct",
    "hr_elevation_delta_bpm",
    "hr_elevation_z",
    "hr_elevation_status",
    "caffeine_mg",
    "warnings",
)
# Per muscle: the features the cross-session relations use, then novelty (see add_novelty).
MUSCLE_COLUMNS = ("subject", "session_id", "started_at", "muscle", *FEATURES, "novelty_days")

_HR_ZERO_WARN_S = 5.0


@dataclass(frozen=True)
class SessionAnalysis:
    """Everything LiftSense derives from one recording."""

    path: Path
    meta: SessionMeta
    t0: pd.Timestamp
    imu_device: str | None
    sets: tuple[SetResult, ...]
    heart: HeartSummary | None
    warnings: tuple[str, ...]
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        """The object ``liftsense analyze --json`` prints (times in s from ``t0``)."""
        return {
            "recording": str(self.path),
            "session_id": self.meta.session_id,
            "subject": self.meta.subject,
            "t0": self.t0.isoformat().replace("+00:00", "Z"),
            "imu_device": self.imu_device,
            "sets": [s.to_json(self.t0) for s in self.sets],
            "heart": self.heart.to_json() if self.heart is not None else None,
            "warnings": list(self.warnings),
        }

    @property
    def caffeine_mg(self) -> float:
        return float(sum(i.dose_mg for i in self.meta.intake if i.substance == "caffeine"))

    def _set_heart(self, position: int) -> tuple[float, float]:
        """Peak HR and HRR60 of the set at ``position`` (heart features are listed in set
        order, indexed from 0)."""
        if self.heart is None or position >= len(self.heart.sets):
            return math.nan, math.nan
        s = self.heart.sets[position]
        return s.peak_hr_bpm, s.hrr60_bpm

    def set_rows(self) -> pd.DataFrame:
        """One row per set (``SET_COLUMNS``)."""
        rows = []
        for position, s in enumerate(self.sets):
            load = s.load_kg
            peak, hrr60 = self._set_heart(position)
            ecc_v = [abs(r.eccentric_mean_velocity_mps) for r in s.reps]
            con_v = [abs(r.concentric_mean_velocity_mps) for r in s.reps]
            rows.append(
                {
                    "subject": self.meta.subject,
                    "session_id": self.meta.session_id,
                    "started_at": pd.Timestamp(self.meta.started_at),
                    "set_index": s.index,
                    "exercise": s.exercise,
                    "load_kg": load,
                    "start_time": self.t0 + pd.Timedelta(seconds=s.start_s),
                    "start_s": s.start_s,
                    "end_s": s.end_s,
                    "reps": s.n_reps,
                    "failed_reps": s.failed_reps,
                    "unrecorded_s": s.unrecorded_s,
                    "hidden_reps": s.hidden_reps,
                    "from_tempo_reps": s.from_tempo_reps,
                    "tempo": s.tempo,
                    "eccentric_tut_s": s.eccentric_tut_s,
                    "concentric_tut_s": s.concentric_tut_s,
                    "total_tut_s": s.total_tut_s,
                    "rom_m": s.rom_m,
                    "volume_load_kg": load * s.n_reps,
                    "eccentric_load_tut_kg_s": load * s.eccentric_tut_s,
                    "eccentric_velocity_mps": _nanmean(ecc_v),
                    "concentric_velocity_mps": _nanmean(con_v),
                    "est_1rm_kg": epley_1rm(load, s.n_reps),
                    "peak_hr_bpm": peak,
                    "hrr60_bpm": hrr60,
                }
            )
        return _frame(rows, SET_COLUMNS)

    def session_row(self, sets: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row for the session (``SESSION_COLUMNS``); ``sets``: ``set_rows()`` if at hand."""
        sets = self.set_rows() if sets is None else sets
        heart = self.heart
        elevation = heart.elevation if heart is not None else None
        row = {
            "subject": self.meta.subject,
            "session_id": self.meta.session_id,
            "started_at": pd.Timestamp(self.meta.started_at),
            "recording": str(self.path),
            "imu_device": self.imu_device or "",
            "duration_s": self.duration_s,
            "sets": len(sets),
            "reps": int(sets["reps"].sum()),
            "exercises": ", ".join(dict.fromkeys(sets["exercise"])),
            "volume_load_kg": float(sets["volume_load_kg"].sum(min_count=1)),
            "eccentric_tut_s": float(sets["eccentric_tut_s"].sum(min_count=1)),
            "eccentric_load_tut_kg_s": float(sets["eccentric_load_tut_kg_s"].sum(min_count=1)),
            "rest_hr_bpm": heart.rest.hr_bpm if heart is not None else math.nan,
            "rest_lnrmssd": heart.rest.lnrmssd if heart is not None else math.nan,
            "pre_workout_hr_bpm": (
                heart.window_values()["pre_workout_hr_bpm"] if heart is not None else math.nan
            ),
            "artefact_pct": heart.artefact_pct if heart is not None else math.nan,
            "hr_elevation_delta_bpm": elevation.delta_bpm if elevation else math.nan,
            "hr_elevation_z": elevation.z if elevation else math.nan,
            "hr_elevation_status": elevation.status if elevation else "no heart-rate data",
            "caffeine_mg": self.caffeine_mg,
            "warnings": "; ".join(self.warnings),
        }
        return _frame([row], SESSION_COLUMNS)

    def muscle_rows(self, sets: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per muscle loaded in this session (``MUSCLE_COLUMNS``), weighted through the exercise
        table; ``novelty_days`` is filled across sessions by ``add_novelty``."""
        sets = self.set_rows() if sets is None else sets
        per: dict[str, dict[str, float]] = {}
        for _, s in sets.iterrows():
            for muscle, weight in exercise_info(s["exercise"]).muscles.items():
                acc = per.setdefault(muscle, {"vl": 0.0, "tut": 0.0, "v_sum": 0.0, "v_w": 0.0})
                acc["vl"] += weight * _zero_nan(s["volume_load_kg"])
                acc["tut"] += weight * _zero_nan(s["eccentric_load_tut_kg_s"])
                if math.isfinite(s["eccentric_velocity_mps"]):
                    acc["v_sum"] += weight * s["eccentric_velocity_mps"]
                    acc["v_w"] += weight
        elevation = self.heart.elevation if self.heart is not None else None
        rows = [
            {
                "subject": self.meta.subject,
                "session_id": self.meta.session_id,
                "started_at": pd.Timestamp(self.meta.started_at),
                "muscle": muscle,
                "eccentric_volume_load_kg": a["vl"],
                "eccentric_load_tut_kg_s": a["tut"],
                "eccentric_velocity_m_s": a["v_sum"] / a["v_w"] if a["v_w"] else math.nan,
                "hr_elevation_z": elevation.z if elevation else math.nan,
                "hr_elevation_delta_bpm": elevation.delta_bpm if elevation else math.nan,
                "caffeine_mg": self.caffeine_mg,
                "novelty_days": math.nan,
            }
            for muscle, a in sorted(per.items())
        ]
        return _frame(rows, MUSCLE_COLUMNS)


def reps_text(
    reps: int, failed: int, unrecorded_s: float, hidden: int = 0, from_tempo: int = 0
) -> str:
    """A set's count as the tables show it: ``8 (+1 failed; 2.1 s unrecorded; 1 untimed; 2 timed
    from the tempo)`` (``hidden``: the reps counted without timing, ``SetResult.hidden_reps``:
    those a dropout hid, and a last rep whose way back was lost in drift; ``from_tempo``: the
    reps timed from the set's tempo, ``SetResult.from_tempo_reps``)."""
    notes = [f"+{failed} failed"] if failed else []
    if unrecorded_s > 0:
        notes.append(f"{unrecorded_s:.1f} s unrecorded")
    if hidden:
        notes.append(f"{hidden} untimed")
    if from_tempo:
        notes.append(f"{from_tempo} timed from the tempo")
    return f"{reps} ({'; '.join(notes)})" if notes else str(reps)


def epley_1rm(load_kg: float, reps: int) -> float:
    """Estimated one-repetition maximum (Epley): load x (1 + reps / 30); NaN without a load."""
    if not math.isfinite(load_kg) or reps <= 0:
        return math.nan
    return load_kg if reps == 1 else load_kg * (1.0 + reps / 30.0)


def add_novelty(muscles: pd.DataFrame) -> pd.DataFrame:
    """Fill ``novelty_days``: days since the same subject last loaded the same muscle (NaN for
    the first exposure). The repeated-bout effect enters the soreness models through it."""
    if muscles.empty:
        return muscles.assign(novelty_days=pd.Series(dtype=float))
    out = muscles.sort_values(["subject", "muscle", "started_at"]).copy()
    previous = out.groupby(["subject", "muscle"])["started_at"].shift()
    out["novelty_days"] = (out["started_at"] - previous).dt.total_seconds() / 86400.0
    return out.sort_index()


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _zero_nan(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def _quality(
    rec: Recording,
    summary: Sequence[StreamSummary],
    hr: pd.DataFrame | None,
    heart: HeartSummary | None,
) -> list[str]:
    """Data-quality warnings; ``hr`` is the recording's ``hr`` stream (None when absent)."""
    warnings = []
    for g in rec.meta.gaps:
        warnings.append(
            f"{g.device} was lost for {(g.end - g.start).total_seconds():.1f} s at "
            f"{g.start:%H:%M:%S} UTC" + (f" ({g.reason})" if g.reason else "")
        )
    for st in summary:
        if st.gaps and not any(g.device == st.device for g in rec.meta.gaps):
            warnings.append(
                f"{st.stream} from {st.device} has {st.gaps} gap(s), "
                f"the longest {st.longest_gap_s:.1f} s"
            )
    if hr is not None:
        zero_s = float((hr["value"] <= 0).sum())  # about one notification per second
        if zero_s >= _HR_ZERO_WARN_S:
            warnings.append(f"heart rate was 0 (strap contact lost) for about {zero_s:.0f} s")
    if heart is not None and math.isfinite(heart.artefact_pct) and heart.artefact_pct > 5.0:
        warnings.append(f"{heart.artefact_pct:.1f} % of RR intervals were artefacts")
    return warnings


def analyze(recording: Recording | str | Path, *, imu_device: str | None = None) -> SessionAnalysis:
    """Analyse one recording: sets, reps and tempo from its IMU, heart features from HR/RR.

    Raises RecordingError for an unreadable recording and AnalysisError when its IMU data
    cannot be analysed; a recording without an IMU or without heart rate is analysed as far as
    it goes, with a warning.
    """
    rec = recording if isinstance(recording, Recording) else load(recording)
    summary = rec.summary()  # one pass over the timestamps: span, and gaps for the warnings
    t0 = min(st.start for st in summary)
    warnings: list[str] = []
    device = imu_device or choose_imu(rec)
    sets: list[SetResult] = []
    if device is None:
        warnings.append("no accelerometer in this recording: sets and reps were not detected")
    else:
        imu = rec.imu(device)
        try:
            found = detect_planned_sets(imu, rec.meta)
        except AnalysisError as exc:
            raise AnalysisError(f"{rec.path}: {device}: {exc}") from exc
        sets = [shifted(s, t0, (s.t0 - t0).total_seconds()) for s in found]
        if not sets:
            warnings.append(f"no sets found in the accelerometer of {device}")
    heart = None
    hr = rec.stream("hr") if rec.has("hr") else None
    rr = rec.stream("rr") if rec.has("rr") else None
    if hr is not None or rr is not None:
        intake = min(rec.meta.intake, key=lambda i: i.t) if rec.meta.intake else None
        heart = session_heart(
            hr,
            rr,
            sets=[
                (t0 + pd.Timedelta(seconds=s.start_s), t0 + pd.Timedelta(seconds=s.end_s))
                for s in sets
            ],
            intake_t=pd.Timestamp(intake.t) if intake else None,
            substance=intake.substance if intake else None,
            dose_mg=intake.dose_mg if intake else None,
            t0=t0,
        )
    else:
        warnings.append("no heart-rate data in this recording")
    warnings.extend(_quality(rec, summary, hr, heart))
    end = max(st.end for st in summary)
    return SessionAnalysis(
        path=rec.path,
        meta=rec.meta,
        t0=t0,
        imu_device=device,
        sets=tuple(sets),
        heart=heart,
        warnings=tuple(warnings),
        duration_s=float((end - t0).total_seconds()),
    )
