"""Sets from one recording's IMU, matched in order to the session's plan.

The plan (``SessionMeta.sets``) gives each detected set its exercise and load. With several
exercises in the plan, each set found by a first pass is re-analysed within its own window for
its own exercise, since which direction is eccentric differs between exercises.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from liftsense.signal.exercises import normalize_name
from liftsense.signal.reps import RepResult, SetResult, detect

if TYPE_CHECKING:
    from liftsense.recording import Recording
    from liftsense.schema import SessionMeta


def choose_imu(rec: Recording) -> str | None:
    """The device whose accelerometer best shows the lift: with a gyro, highest rate; a chest
    strap's accelerometer only when nothing else has one."""
    candidates = rec.devices("acc")
    if not candidates:
        return None

    def score(label: str) -> tuple[bool, bool, float]:
        info = rec.meta.device(label)
        model = (info.model if info else "").lower()
        strap = "h10" in model or "strap" in model or label.upper().startswith("H10")
        rate = info.streams["acc"].rate_hz if info and "acc" in info.streams else None
        return (not strap, rec.has("gyro", label), float(rate or 0.0))

    return max(candidates, key=score)


def _markers(meta: SessionMeta) -> list[dict[str, Any]] | None:
    ms = [
        {"t": pd.Timestamp(m.t), "kind": m.kind, "label": m.label}
        for m in meta.markers
        if m.kind in ("set_start", "set_end")
    ]
    return ms or None


def detect_planned_sets(imu: pd.DataFrame, meta: SessionMeta) -> list[SetResult]:
    """Detect sets, then give each the planned exercise and load, in order.

    With one exercise in the plan, detection knows it from the start. With several, a first
    pass finds the sets and each is re-analysed within its own window with its own exercise
    (which direction is eccentric differs between, say, a hip thrust and a pull-down).
    """
    plan = list(meta.sets)
    markers = _markers(meta)
    exercises = {normalize_name(p.exercise) for p in plan}
    first = detect(imu, exercise=plan[0].exercise if len(exercises) == 1 else None, markers=markers)
    out = []
    for k, found in enumerate(first):
        planned = plan[k] if k < len(plan) else None
        if planned is None:
            out.append(found)
            continue
        result = found
        if len(exercises) > 1:
            pad = pd.Timedelta(seconds=3)
            a = found.t0 + pd.Timedelta(seconds=found.start_s)
            b = found.t0 + pd.Timedelta(seconds=found.end_s)
            window = imu.loc[a - pad : b + pad]
            again = detect(
                window,
                exercise=planned.exercise,
                markers=[{"t": a, "kind": "set_start"}, {"t": b, "kind": "set_end"}],
            )
            if len(again) == 1:
                shift = (again[0].t0 - found.t0).total_seconds()
                result = shifted(again[0], found.t0, shift)
        load = planned.load_kg if planned.load_kg is not None else math.nan
        out.append(_with(result, index=found.index, exercise=planned.exercise, load_kg=load))
    return out


def _with(s: SetResult, **changes: Any) -> SetResult:
    return SetResult(**{**s.__dict__, **changes})


def shifted(s: SetResult, t0: pd.Timestamp, shift_s: float) -> SetResult:
    """The same set with times relative to ``t0`` instead of its own window's start."""
    reps = tuple(
        RepResult(**{**r.__dict__, "start_s": r.start_s + shift_s, "end_s": r.end_s + shift_s})
        for r in s.reps
    )
    return _with(s, t0=t0, start_s=s.start_s + shift_s, end_s=s.end_s + shift_s, reps=reps)
