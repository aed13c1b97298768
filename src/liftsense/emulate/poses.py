"""How each exercise moves a sensor at each placement: the body-pose model behind ``motion``.

A movement's progress ``p`` runs from 0 (start position) to 1 (the far end of the first
movement). For a placement the sensor's vertical position is ``z = sign * Z * rom * p`` (sign from
the direction of the first movement), its forward position ``x = X * rom * sin(pi p)`` (at the
hip ``X * rom * p``: the hips travel back as the lifter squats or hinges and stay back at the
bottom, where a hump would bring them forward again within every movement, a horizontal whip of
half a g in a 1-s Romanian deadlift that no lifter makes), and its tilt about a horizontal axis
``theta = A p + B sin(pi p)``. The ``B`` term makes the tilt peak mid-movement and return at the
end, which is what gives wrist sensors two acceleration peaks per squat or deadlift rep.
Exercises with an ``arc_deg`` in the table (the biceps curl) move the load on that arc.

A thigh turns about the knee, so its tilt and its height cannot both be linear in ``p``; the
default thigh (``thigh="linear"``) makes them so all the same. Two other models turn it about
the knee (``THIGH_MODELS``, ``_thigh``): ``"angle"``, its angle linear in ``p`` (the height
follows the angle's cosine), and ``"height"``, its height linear in ``p`` (the cosine of its
angle linear in ``p``, as the hips' height is in the bar's), so that the detector's timing of
thigh reps can be measured against each (``scripts/eval_reps.py synthetic --thigh-model``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from liftsense.signal.exercises import exercise_info

FloatArray = npt.NDArray[np.float64]

PLACEMENTS: tuple[str, ...] = ("bar", "wrist", "thigh", "hip")
#: How a thigh sensor moves: see the module's docstring.
THIGH_MODELS: tuple[str, ...] = ("linear", "angle", "height")
#: Tilt amplitude of the stride swing while walking, per placement (rad).
SWING_RAD: dict[str, float] = {
    "bar": 0.0,
    "wrist": math.radians(20),
    "thigh": math.radians(22),
    "hip": math.radians(4),
}

# (Z, X, A deg, B deg) per placement and exercise; "*" is the fallback for the placement.
_PARAMS: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "bar": {"*": (1.0, 0.03, 0.0, 2.0)},
    "wrist": {
        "*": (1.0, 0.05, 10.0, 10.0),
        "back_squat": (1.0, 0.05, 5.0, 25.0),
        "romanian_deadlift": (1.0, 0.1, 10.0, 25.0),
        "deadlift": (1.0, 0.1, 10.0, 25.0),
        "hip_thrust": (1.0, 0.05, 5.0, 10.0),
        "bench_press": (1.0, 0.05, 10.0, 5.0),
        "overhead_press": (1.0, 0.05, 20.0, 5.0),
        "lat_pulldown": (1.0, 0.05, 40.0, 5.0),
        "bent_over_row": (1.0, 0.05, 15.0, 10.0),
    },
    "thigh": {
        "back_squat": (0.5, 0.1, 85.0, 0.0),
        "romanian_deadlift": (0.15, 0.1, 30.0, 0.0),
        "deadlift": (0.4, 0.1, 60.0, 0.0),
        "hip_thrust": (0.5, 0.1, 40.0, 0.0),
    },
    "hip": {
        "back_squat": (0.95, -0.1, 30.0, 0.0),
        "romanian_deadlift": (0.3, -0.3, 60.0, 0.0),
        "deadlift": (0.8, -0.2, 50.0, 0.0),
        "hip_thrust": (1.0, 0.05, 25.0, 0.0),
    },
}


#: A thigh sensor turning about the knee sits this far (m) from it ...
_THIGH_SENSOR_M = 0.25
#: ... and the knee-to-hip direction turns from and to these angles (deg) from straight up,
#: towards the back: standing to a parallel squat; a hinge that tilts the thigh a little; a
#: deadlift from the floor to lockout; a hip thrust from the hips below the knees to level.
_THIGH_DEG: dict[str, tuple[float, float]] = {
    "back_squat": (5.0, 90.0),
    "romanian_deadlift": (5.0, 30.0),
    "deadlift": (65.0, 5.0),
    "hip_thrust": (130.0, 90.0),
}


def _thigh(
    model: str, p: FloatArray, exercise: str, height_m: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Forward and vertical position (m) and tilt (rad) of a sensor on a thigh that turns
    about the knee (``_THIGH_DEG``) as the movement's progress ``p`` runs from 0 to 1 and the
    sensor rises ``height_m`` (negative: falls) over it; ``model`` is ``"angle"`` or
    ``"height"`` (see the module's docstring). What turning the thigh does not give of the
    height, the knee does, in step with ``p``."""
    start, end = (math.radians(a) for a in _THIGH_DEG[exercise])
    d = _THIGH_SENSOR_M
    if model == "angle":
        phi = start + (end - start) * p
        z = d * (np.cos(phi) - math.cos(start))
        z += (height_m - d * (math.cos(end) - math.cos(start))) * p
    else:
        phi = np.arccos(np.clip(math.cos(start) + (math.cos(end) - math.cos(start)) * p, -1, 1))
        z = height_m * p
    x = -d * (np.sin(phi) - math.sin(start))
    return x, z, -(phi - start)


class _PlanLike(Protocol):
    segments: list[tuple[float, float, int]]


class _SetLike(Protocol):
    exercise: str
    rom_m: float | None


@dataclass(frozen=True)
class Geometry:
    """Sensor position (m, world: x forward, z up) and tilt (rad) over time."""

    x: FloatArray
    z: FloatArray
    theta: FloatArray


def check(exercise: str, placement: str) -> None:
    """Raise ValueError if ``placement`` does not move during ``exercise``."""
    table = _PARAMS[placement]
    if "*" not in table and exercise_info(exercise).name not in table:
        raise ValueError(
            f"a {placement} sensor does not move during {exercise}: use bar or wrist, or one of "
            f"{', '.join(table)}"
        )


def check_thigh_model(model: str) -> None:
    """Raise ValueError if ``model`` is not one of ``THIGH_MODELS``."""
    if model not in THIGH_MODELS:
        raise ValueError(f"thigh model {model!r}: use one of {', '.join(THIGH_MODELS)}")


def geometry(
    placement: str,
    plan: _PlanLike,
    sets: Sequence[Any],
    prog: FloatArray,
    t: FloatArray,
    thigh: str = "linear",
) -> Geometry:
    """Evaluate the pose model for each set's time segment (zero pose outside sets); ``thigh``:
    one of ``THIGH_MODELS``."""
    check_thigh_model(thigh)
    x = np.zeros_like(t)
    z = np.zeros_like(t)
    theta = np.zeros_like(t)
    table = _PARAMS[placement]
    for t0, t1, number in plan.segments:
        s: _SetLike = sets[number - 1]
        info = exercise_info(s.exercise)
        rom = s.rom_m if s.rom_m is not None else info.typical_rom_m
        first_down = (info.eccentric_direction == "down") == info.starts_with_eccentric
        sign = -1.0 if first_down else 1.0
        i0, i1 = np.searchsorted(t, [t0, t1])
        p = prog[i0:i1]
        if info.arc_deg > 0 and placement in ("bar", "wrist"):
            arc = math.radians(info.arc_deg)
            radius = rom / (1 - math.cos(arc))
            phi = arc * p
            z[i0:i1] = radius * (1 - np.cos(phi))
            x[i0:i1] = radius * np.sin(phi)
            theta[i0:i1] = phi if placement == "wrist" else 0.0
            continue
        zs, xs, a_deg, b_deg = table.get(info.name, table.get("*", (1.0, 0.0, 0.0, 0.0)))
        if placement == "thigh" and thigh != "linear":
            x[i0:i1], z[i0:i1], theta[i0:i1] = _thigh(thigh, p, info.name, sign * zs * rom)
            continue
        z[i0:i1] = sign * zs * rom * p
        x[i0:i1] = xs * rom * (p if placement == "hip" else np.sin(np.pi * p))
        theta[i0:i1] = math.radians(a_deg) * p + math.radians(b_deg) * np.sin(np.pi * p)
    return Geometry(x, z, theta)
