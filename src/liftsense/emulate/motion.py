"""Synthetic lifting sessions with ground truth: IMU samples, set/rep/phase truth, effort, heart.

The generator plans a session as keyframes (rest, unrack, reps with a prescribed tempo and human
jitter, failed last reps, re-racking, walking, fiddling with the sensor), turns them into a body
pose over time (vertical/forward position of the sensor and a tilt about a horizontal axis),
differentiates that into world acceleration and angular rate, rotates into a random sensor
orientation, adds gravity, and finally applies MEMS effects: noise, bias, scale error, the
anti-alias filter of the output data rate, saturation at the chosen range and 16-bit
quantisation. Every movement between keyframes is a minimum-jerk profile.

Truth is exact: phase boundaries are the keyframe times. Times are seconds from the first IMU
sample; set and rep indices start at 1. The last rep of a set has no trailing pause (the set ends
when its movement ends): ``top_pause_s == 0``, or ``bottom_pause_s == 0`` for exercises whose
reps start with the concentric. A failed last rep is listed in ``SessionTruth.rep_table``
with ``failed=True`` but not among a set's ``reps`` in the JSON (``failed_reps`` counts it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from liftsense.emulate import poses as _poses
from liftsense.emulate.heartmodel import HeartTruth, simulate_heart
from liftsense.emulate.imu_model import G_MPS2, mems, sensor_signals
from liftsense.signal.exercises import exercise_info
from liftsense.signal.reps import format_tempo

__all__ = [
    "G_MPS2",
    "PLACEMENTS",
    "SessionSpec",
    "SessionTruth",
    "SetSpec",
    "SyntheticSession",
    "Tempo",
    "generate",
]

FloatArray = npt.NDArray[np.float64]
PLACEMENTS = _poses.PLACEMENTS


@dataclass(frozen=True)
class Tempo:
    """Prescribed phase durations in seconds, written eccentric-pause-concentric-pause."""

    eccentric_s: float = 2.0
    bottom_pause_s: float = 0.0
    concentric_s: float = 1.0
    top_pause_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Tempo:
        """Parse ``"3-1-1-0"``; ``X`` (explosive) means a 0.6 s concentric or eccentric."""
        parts = text.replace("/", "-").split("-")
        if len(parts) != 4:
            raise ValueError(f"tempo {text!r}: expected four numbers like '3-1-1-0'")
        vals = [0.6 if p.strip().upper() == "X" else float(p) for p in parts]
        return cls(*vals)

    def __str__(self) -> str:
        return "-".join(f"{v:g}" for v in self.as_tuple())

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.eccentric_s, self.bottom_pause_s, self.concentric_s, self.top_pause_s)


@dataclass(frozen=True)
class SetSpec:
    """One set. ``paused`` makes the pause after the eccentric at least ``pause_s``;
    ``failed_last`` makes the last of ``reps`` a failed attempt (it stalls half-way and is
    dropped). ``rom_m`` defaults to the exercise table's typical range of motion."""

    exercise: str
    load_kg: float
    reps: int
    tempo: Tempo = Tempo()
    paused: bool = False
    pause_s: float = 2.0
    failed_last: bool = False
    rom_m: float | None = None
    jitter: float = 0.08


@dataclass(frozen=True)
class SessionSpec:
    """A whole session. Noise is white with the given density (per-sample standard deviation
    = density * sqrt(rate_hz / 2)); 300 µg/√Hz and 0.015 °/s/√Hz are typical consumer MEMS.
    Biases are the standard deviation of a constant per-axis offset drawn once per session.
    ``thigh_model``: how a thigh sensor moves (``poses.THIGH_MODELS``)."""

    sets: tuple[SetSpec, ...]
    rest_s: float = 120.0
    lead_in_s: float = 60.0
    tail_s: float = 30.0
    placement: str = "bar"
    thigh_model: str = "linear"
    rate_hz: float = 200.0
    range_g: float = 8.0
    gyro: bool = True
    acc_noise_ug_rthz: float = 300.0
    acc_bias_mps2: float = 0.1
    gyro_noise_dps_rthz: float = 0.015
    gyro_bias_rads: float = 0.01
    walk_between_sets: bool = True
    walk_s: float | None = None
    fiddle: bool = True
    random_orientation: bool = True
    start: str = "2026-01-05T09:00:00Z"
    rest_hr_bpm: float = 62.0
    hr_elevation_bpm: float = 0.0
    hr_elevation_onset_s: float = 0.0
    hr_artefact_rate: float = 0.0


@dataclass(frozen=True)
class SessionTruth:
    """Ground truth: ``rep_table`` has one row per attempted rep (columns ``set_index``,
    ``rep_index``, ``exercise``, ``load_kg``, ``start_s``, ``end_s``, ``eccentric_s``,
    ``bottom_pause_s``, ``concentric_s``, ``top_pause_s``, ``rom_m``, ``failed``);
    ``sets`` and ``heart`` are the JSON-ready dicts of ``to_json``."""

    sets: tuple[dict[str, Any], ...]
    rep_table: pd.DataFrame
    walking_s: tuple[tuple[float, float], ...]
    heart: dict[str, list[float]] | None = None

    def to_json(self) -> str:
        """The truth in the shape of ``liftsense analyze --json`` (``sets`` and ``heart``)."""
        return json.dumps({"sets": list(self.sets), "heart": self.heart or {}})


@dataclass(frozen=True)
class SyntheticSession:
    """Generator output. ``imu`` has a UTC DatetimeIndex ``t`` and columns x, y, z (m/s², sensor
    frame, gravity included) plus gx, gy, gz (rad/s) when the spec asks for gyro. ``effort`` is
    a 0..1 intensity at 1 Hz times ``effort_t_s``. ``heart`` is the strap's truth (see
    ``heartmodel``)."""

    spec: SessionSpec
    imu: pd.DataFrame
    truth: SessionTruth
    effort_t_s: FloatArray
    effort: FloatArray
    heart: HeartTruth


def _jit(rng: np.random.Generator, value: float, rel: float) -> float:
    return float(value * math.exp(rng.normal(0.0, rel))) if value > 0 else 0.0


class _Plan:
    """Keyframes of the session, built in time order."""

    def __init__(self) -> None:
        self.t = 0.0
        self.prog: list[tuple[float, float]] = [(0.0, 0.0)]  # (time, progress 0..1)
        self.lift: list[tuple[float, float]] = [(0.0, 0.0)]  # (time, extra vertical m)
        self.fid: list[tuple[float, float]] = [(0.0, 0.0)]  # (time, extra tilt rad)
        self.walks: list[tuple[float, float]] = []
        self.segments: list[tuple[float, float, int]] = []  # (t0, t1, set number) geometry
        self.effort: list[tuple[float, float, float]] = []  # (t0, t1, level)

    def move(self, track: list[tuple[float, float]], value: float, dur: float) -> None:
        track.append((self.t, track[-1][1]))
        self.t += dur
        track.append((self.t, value))

    def hold(self, dur: float) -> None:
        self.t += max(dur, 0.0)


def _rest(plan: _Plan, dur: float, spec: SessionSpec, rng: np.random.Generator) -> None:
    """Rest: still, with sensor fiddling and (off the bar) walking in the middle."""
    end = plan.t + dur
    walk = spec.walk_between_sets and spec.placement != "bar" and dur >= 30
    if spec.fiddle and dur >= 20:
        plan.hold(rng.uniform(4, 8))
        if spec.placement == "bar":  # loading plates knocks the bar up a little
            for _ in range(2):
                plan.move(plan.lift, 0.012, 0.25)
                plan.move(plan.lift, 0.0, 0.3)
                plan.hold(rng.uniform(1, 3))
        else:  # adjusting the strap rotates the sensor and back
            ang = math.radians(rng.uniform(20, 60)) * rng.choice([-1, 1])
            plan.move(plan.fid, ang, rng.uniform(0.6, 1.2))
            plan.hold(rng.uniform(0.5, 2))
            plan.move(plan.fid, 0.0, rng.uniform(0.6, 1.2))
    if walk:
        w = spec.walk_s if spec.walk_s is not None else rng.uniform(10, 20)
        plan.hold(max(0.0, (end - plan.t - w) / 2))
        w = min(w, max(end - plan.t - 4, 0))
        if w > 4:
            plan.walks.append((plan.t, plan.t + w))
            plan.effort.append((plan.t, plan.t + w, 0.25))
            plan.hold(w)
    plan.hold(end - plan.t)


def _one_set(
    plan: _Plan, number: int, s: SetSpec, rng: np.random.Generator
) -> list[dict[str, Any]]:
    info = exercise_info(s.exercise)
    rom = s.rom_m if s.rom_m is not None else info.typical_rom_m
    seg0 = plan.t
    # unrack: lift the load off the hooks, a few steps back, settle
    plan.move(plan.lift, 0.05, 0.7)
    plan.hold(rng.uniform(1.5, 3.0))
    set_t0 = plan.t
    reps: list[dict[str, Any]] = []
    tempo = s.tempo
    for i in range(s.reps):
        fatigue = 1.0 + 0.25 * (i / max(s.reps - 1, 1)) ** 2
        ecc = _jit(rng, max(tempo.eccentric_s, 0.4), s.jitter)
        con = _jit(rng, max(tempo.concentric_s, 0.4), s.jitter) * fatigue
        bp = max(tempo.bottom_pause_s, s.pause_s if s.paused else 0.0)
        bp = _jit(rng, bp, s.jitter)
        tp = _jit(rng, tempo.top_pause_s, s.jitter)
        if i == s.reps - 1:  # the set ends when the last rep's movement does
            bp, tp = (bp, 0.0) if info.starts_with_eccentric else (0.0, tp)
        r_rom = rom * math.exp(rng.normal(0, 0.03))
        start = plan.t
        failed = s.failed_last and i == s.reps - 1
        first, second = (ecc, con) if info.starts_with_eccentric else (con, ecc)
        p1, p2 = (bp, tp) if info.starts_with_eccentric else (tp, bp)
        if failed:
            part = rng.uniform(0.3, 0.45)
            if info.starts_with_eccentric:  # full eccentric, concentric stalls, dumped
                plan.move(plan.prog, r_rom / rom, first)
                plan.hold(p1)
                plan.move(plan.prog, (1 - part) * r_rom / rom, con * 1.5)
                plan.hold(rng.uniform(1.0, 2.0))
                plan.move(plan.prog, r_rom / rom, 1.2)
                plan.hold(rng.uniform(3, 5))
                plan.move(plan.prog, 0.0, rng.uniform(2.5, 3.5))
            else:  # the concentric never gets there
                plan.move(plan.prog, part, con * 1.5)
                plan.hold(rng.uniform(1.0, 2.0))
                plan.move(plan.prog, 0.0, 1.5)
            reps.append({"rep_index": i + 1, "start_s": start, "end_s": plan.t, "failed": True})
            break
        plan.move(plan.prog, r_rom / rom, first)
        plan.hold(p1)
        plan.move(plan.prog, 0.0, second)
        plan.hold(p2)
        reps.append(
            {
                "rep_index": i + 1,
                "start_s": start,
                "end_s": plan.t,
                "eccentric_s": ecc,
                "bottom_pause_s": bp,
                "concentric_s": con,
                "top_pause_s": tp,
                "rom_m": r_rom,
                "failed": False,
            }
        )
    plan.effort.append((set_t0, plan.t, 0.7 + 0.3 * min(s.load_kg / 150.0, 1.0)))
    plan.hold(rng.uniform(1.0, 2.0))
    plan.move(plan.lift, 0.0, 0.7)  # re-rack
    plan.hold(1.0)
    plan.segments.append((seg0, plan.t, number))
    return reps


def _plan_session(
    spec: SessionSpec, rng: np.random.Generator
) -> tuple[_Plan, list[dict[str, Any]]]:
    plan = _Plan()
    _rest(plan, spec.lead_in_s, spec, rng)
    rows: list[dict[str, Any]] = []
    for n, s in enumerate(spec.sets, start=1):
        if s.exercise and spec.placement not in ("bar", "wrist"):
            _poses.check(exercise_info(s.exercise).name, spec.placement)
        for r in _one_set(plan, n, s, rng):
            rows.append({"set_index": n, "exercise": exercise_info(s.exercise).name, **r})
        _rest(plan, spec.rest_s if n < len(spec.sets) else spec.tail_s, spec, rng)
    return plan, rows


def _effort(plan: _Plan, duration_s: float) -> tuple[FloatArray, FloatArray]:
    et = np.arange(0.0, duration_s, 1.0)
    ev = np.zeros_like(et)
    for a, b, level in plan.effort:
        ev[(et >= a) & (et < b)] = level
    return et, ev


def _heart(spec: SessionSpec, dur: float, et: FloatArray, ev: FloatArray, seed: int) -> HeartTruth:
    return simulate_heart(
        dur,
        effort_t_s=et,
        effort=ev,
        rest_hr_bpm=spec.rest_hr_bpm,
        elevation_bpm=spec.hr_elevation_bpm,
        elevation_onset_s=spec.hr_elevation_onset_s,
        artefact_rate=spec.hr_artefact_rate,
        seed=seed,
    )


def _truth(
    spec: SessionSpec, rows: list[dict[str, Any]], plan: _Plan, heart: HeartTruth
) -> SessionTruth:
    cols = ["set_index", "rep_index", "exercise", "load_kg", "start_s", "end_s", "eccentric_s"]
    cols += ["bottom_pause_s", "concentric_s", "top_pause_s", "rom_m", "failed"]
    for r in rows:
        r["load_kg"] = spec.sets[r["set_index"] - 1].load_kg
    table = pd.DataFrame(rows, columns=cols).astype({"failed": bool})
    sets: list[dict[str, Any]] = []
    for n, s in enumerate(spec.sets, start=1):
        done = table[(table["set_index"] == n) & ~table["failed"]]
        med = done[["eccentric_s", "bottom_pause_s", "concentric_s", "top_pause_s"]].median()
        trailing = (
            "top_pause_s" if exercise_info(s.exercise).starts_with_eccentric else "bottom_pause_s"
        )
        if len(done) > 1:  # the last rep's trailing pause is 0 by convention, not tempo
            med[trailing] = done[trailing].iloc[:-1].median()
        reps = [
            {k: (int(v) if k == "index" else float(v)) for k, v in r.items()}
            for r in done.rename(columns={"rep_index": "index"})[
                [
                    "index",
                    "start_s",
                    "end_s",
                    "eccentric_s",
                    "bottom_pause_s",
                    "concentric_s",
                    "top_pause_s",
                    "rom_m",
                ]
            ].to_dict("records")
        ]
        sets.append(
            {
                "index": n,
                "exercise": exercise_info(s.exercise).name,
                "load_kg": s.load_kg,
                "start_s": float(done.start_s.min()) if len(done) else math.nan,
                "end_s": float(done.end_s.max()) if len(done) else math.nan,
                "tempo": format_tempo(med.to_numpy()),
                "eccentric_tut_s": float(done.eccentric_s.sum()),
                "failed_reps": int(table.loc[table["set_index"] == n, "failed"].sum()),
                "reps": reps,
            }
        )
    grid = np.arange(0.0, float(heart.hr_t_s[-1]), 1.0)
    hr = np.interp(grid, heart.hr_t_s, heart.hr_bpm)
    hj = {"hr_t_s": grid.tolist(), "hr_bpm": np.round(hr, 2).tolist()}
    return SessionTruth(tuple(sets), table, tuple(plan.walks), hj)


def generate(spec: SessionSpec, *, seed: int = 0) -> SyntheticSession:
    """Generate one synthetic session; the same spec and seed always give the same output.

    Raises ValueError for an unknown placement, a placement that an exercise does not move
    (e.g. a thigh sensor during bench press), or a rate outside 1-1000 Hz.
    """
    if spec.placement not in PLACEMENTS:
        raise ValueError(f"placement {spec.placement!r}: use one of {', '.join(PLACEMENTS)}")
    _poses.check_thigh_model(spec.thigh_model)
    if not 1.0 <= spec.rate_hz <= 1000.0:
        raise ValueError(f"rate_hz {spec.rate_hz}: use 1-1000 Hz (real sensors: 12.5-416)")
    rng = np.random.default_rng(seed)
    plan, rows = _plan_session(spec, rng)
    duration = plan.t
    t_s, acc, gyr = sensor_signals(spec, plan, rng, duration)
    acc, gyr = mems(spec, acc, gyr, rng)
    index = pd.DatetimeIndex(pd.Timestamp(spec.start) + pd.to_timedelta(t_s, unit="s"), name="t")
    data = {"x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2]}
    if spec.gyro:
        data |= {"gx": gyr[:, 0], "gy": gyr[:, 1], "gz": gyr[:, 2]}
    imu = pd.DataFrame(data, index=index)
    et, ev = _effort(plan, duration)
    heart = _heart(spec, duration, et, ev, seed)
    return SyntheticSession(spec, imu, _truth(spec, rows, plan, heart), et, ev, heart)
