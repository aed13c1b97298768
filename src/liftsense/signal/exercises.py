"""The one table of exercise knowledge: movement direction, rep order, typical ROM, muscles worked.

Everything that needs to know which way is eccentric (rep detection, the synthetic session
generator) or which muscles an exercise loads (the report stage) reads it from here, so the
knowledge is not scattered through the code.

Conventions:
- ``eccentric_direction`` is the direction the load moves while the muscles lengthen: ``"down"`` for
  squats, presses, curls and hinges; ``"up"`` for pull-downs (the bar rises under control).
- ``starts_with_eccentric`` says whether a rep begins with the eccentric phase (back squat, bench,
  RDL: the load starts at the top) or with the concentric one (curl, overhead press, hip thrust,
  pull-down: the load starts where the eccentric ends). A rep is always reported as four phases
  named by what they follow: eccentric, the pause after it (``bottom_pause``), concentric, the
  pause after it (``top_pause``), whatever the order they happen in.
- ``arc_deg`` > 0 means the load travels on an arc of that angle that starts flat at the
  start position (the forearm in a curl), so its height is not proportional to the progress.
- ``muscles`` maps the muscle names of the soreness log (DESIGN.md: glutes, quads, hamstrings,
  chest, back, shoulders, biceps, triceps, calves, core) to a relative weight in 0..1 (1 = prime
  mover). The weights are coarse consensus values from common strength-training references,
  meant for ranking exposure, not for physiology.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = ["DEFAULT_EXERCISE", "EXERCISES", "Exercise", "exercise_info", "normalize_name"]


@dataclass(frozen=True)
class Exercise:
    """What the analysis knows about one exercise (see the module docstring for conventions)."""

    name: str
    eccentric_direction: Literal["down", "up"]
    starts_with_eccentric: bool
    typical_rom_m: float
    muscles: Mapping[str, float] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    arc_deg: float = 0.0


def _ex(
    name: str,
    direction: Literal["down", "up"],
    ecc_first: bool,
    rom_m: float,
    muscles: dict[str, float],
    aliases: tuple[str, ...] = (),
    arc_deg: float = 0.0,
) -> Exercise:
    return Exercise(name, direction, ecc_first, rom_m, MappingProxyType(muscles), aliases, arc_deg)


_TABLE: tuple[Exercise, ...] = (
    _ex(
        "back_squat",
        "down",
        True,
        0.55,
        {"quads": 1.0, "glutes": 0.8, "hamstrings": 0.3, "core": 0.3, "calves": 0.1},
        ("squat", "back-squat", "front_squat"),
    ),
    _ex(
        "romanian_deadlift",
        "down",
        True,
        0.5,
        {"hamstrings": 1.0, "glutes": 0.8, "back": 0.4, "core": 0.2},
        ("rdl", "romanian-deadlift", "stiff_leg_deadlift"),
    ),
    _ex(
        "deadlift",
        "down",
        False,
        0.5,
        {"glutes": 0.8, "hamstrings": 0.7, "quads": 0.5, "back": 0.7, "core": 0.3},
        ("dead", "conventional_deadlift"),
    ),
    _ex(
        "hip_thrust",
        "down",
        False,
        0.25,
        {"glutes": 1.0, "hamstrings": 0.3, "quads": 0.2},
        ("hip-thrust", "barbell_hip_thrust", "glute_bridge"),
    ),
    _ex(
        "bench_press",
        "down",
        True,
        0.4,
        {"chest": 1.0, "triceps": 0.6, "shoulders": 0.5},
        ("bench", "bench-press", "chest_press", "chest-press"),
    ),
    _ex(
        "overhead_press",
        "down",
        False,
        0.5,
        {"shoulders": 1.0, "triceps": 0.6, "core": 0.3, "chest": 0.2},
        ("ohp", "overhead-press", "shoulder_press", "military_press", "barbell-press"),
    ),
    _ex(
        "biceps_curl",
        "down",
        False,
        0.45,
        {"biceps": 1.0, "back": 0.1},
        ("curl", "bicep_curl", "biceps-curl", "straight-bar-biceps-curl"),
        130.0,
    ),
    _ex(
        "lat_pulldown",
        "up",
        False,
        0.5,
        {"back": 1.0, "biceps": 0.5, "shoulders": 0.2},
        ("pulldown", "lat-pulldown", "lat_pull_down", "lat-pulldown-straight"),
    ),
    _ex(
        "bent_over_row",
        "down",
        False,
        0.35,
        {"back": 1.0, "biceps": 0.4, "shoulders": 0.3, "core": 0.2},
        ("row", "barbell_row", "bent-over-row"),
    ),
)

#: Used for an exercise the table does not know: lowering is eccentric, reps start at the top.
DEFAULT_EXERCISE = _ex("unknown", "down", True, 0.4, {})

#: Canonical name -> Exercise.
EXERCISES: Mapping[str, Exercise] = MappingProxyType({e.name: e for e in _TABLE})

_LOOKUP: dict[str, Exercise] = {}
for _e in _TABLE:
    _LOOKUP[_e.name] = _e
    for _a in _e.aliases:
        _LOOKUP[_a.replace("-", "_").replace(" ", "_")] = _e


def normalize_name(name: str) -> str:
    """Lower-case, with spaces and hyphens as underscores (``"Back Squat"`` -> ``"back_squat"``)."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def exercise_info(name: str | None) -> Exercise:
    """The table entry for ``name`` (canonical name or alias), or ``DEFAULT_EXERCISE``.

    ``None`` and unknown names give the default rather than an error, because a recording may
    name an exercise this table has never heard of and detection must still run.
    """
    if name is None:
        return DEFAULT_EXERCISE
    return _LOOKUP.get(normalize_name(name), DEFAULT_EXERCISE)
