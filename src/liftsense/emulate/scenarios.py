"""Named synthetic sessions: the presets ``liftsense record --simulate`` and ``liftsense demo``
play (``scenario``), and the sessions of the rep-detection evaluation grid
(``evaluation_spec``, ``scripts/eval_reps.py``). The generator itself is ``motion``.
"""

from __future__ import annotations

from typing import Any

from liftsense.emulate.motion import SessionSpec, SetSpec, Tempo

__all__ = ["FULL_BODY_EXERCISES", "NOISY_SENSOR", "SCENARIOS", "evaluation_spec", "scenario"]


def _sets(ex: str, load: float, n: int, reps: int, tempo: str, **kw: Any) -> tuple[SetSpec, ...]:
    return tuple(SetSpec(ex, load, reps, Tempo.parse(tempo), **kw) for _ in range(n))


#: The seven exercises of the ``full-body`` preset and of the rep-detection evaluation grid.
FULL_BODY_EXERCISES: tuple[str, ...] = (
    "back_squat",
    "romanian_deadlift",
    "hip_thrust",
    "bench_press",
    "overhead_press",
    "biceps_curl",
    "lat_pulldown",
)


#: The evaluation grid's noisy sensor (``SessionSpec`` fields): a cheap MEMS accelerometer with
#: a large bias, and a noisy gyro.
NOISY_SENSOR: dict[str, float] = {
    "acc_noise_ug_rthz": 1500.0,
    "acc_bias_mps2": 0.4,
    "gyro_noise_dps_rthz": 0.1,
}


def evaluation_spec(
    exercise: str,
    placement: str,
    rate_hz: float,
    *,
    tempo: Tempo,
    paused: bool = False,
    failed_last: bool = False,
    **session_kw: Any,
) -> SessionSpec:
    """One session of the rep-detection evaluation grid (``scripts/eval_reps.py synthetic``):
    a set of 6 and a set of 10 reps at 60 kg, 60 s apart, with 25 s of rest before and after.
    ``session_kw`` go to ``SessionSpec`` (gyro, noise, ...)."""
    sets = tuple(
        SetSpec(exercise, 60, n, tempo, paused=paused, failed_last=failed_last) for n in (6, 10)
    )
    return SessionSpec(
        sets,
        rest_s=60,
        lead_in_s=25,
        tail_s=25,
        placement=placement,
        rate_hz=rate_hz,
        **session_kw,
    )


SCENARIOS: dict[str, SessionSpec] = {
    "demo": SessionSpec(
        _sets("hip_thrust", 80, 3, 10, "2-1-1-0") + _sets("romanian_deadlift", 70, 3, 8, "3-0-1-0"),
        rest_s=90,
    ),
    "short": SessionSpec(
        _sets("back_squat", 60, 2, 5, "2-0-1-0"), rest_s=40, lead_in_s=20, tail_s=15
    ),
    "squat-5x5": SessionSpec(_sets("back_squat", 100, 5, 5, "2-0-1-0"), rest_s=180),
    "slow-eccentric": SessionSpec(_sets("bench_press", 60, 3, 6, "6-0-1-0"), rest_s=150),
    "paused": SessionSpec(_sets("back_squat", 80, 3, 5, "3-2-1-0", paused=True), rest_s=150),
    "failure": SessionSpec(
        _sets("bench_press", 70, 2, 8, "2-0-1-0")
        + _sets("bench_press", 70, 1, 8, "2-0-1-0", failed_last=True),
        rest_s=150,
    ),
    "full-body": SessionSpec(
        tuple(SetSpec(e, 40, 8, Tempo.parse("2-0-1-1")) for e in FULL_BODY_EXERCISES),
        rest_s=90,
        placement="wrist",
    ),
    "rest-only": SessionSpec((), lead_in_s=300, tail_s=0, placement="wrist"),
    "walking": SessionSpec((), lead_in_s=120, tail_s=0, placement="thigh", walk_s=100),
}


def scenario(name: str) -> SessionSpec:
    """A named preset: ``demo`` (hip thrust + RDL), ``short`` (about 2 min), ``squat-5x5``,
    ``slow-eccentric``, ``paused``, ``failure``, ``full-body`` (all seven exercises, wrist),
    ``rest-only``, ``walking``. Use ``dataclasses.replace`` to change placement, rate, etc."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"scenario {name!r}: choose one of {', '.join(SCENARIOS)}") from None
