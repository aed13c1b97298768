from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest

from liftsense.signal.heart import Elevation, HeartSummary, SetHeart, WindowStats

if TYPE_CHECKING:
    from liftsense.emulate.world import BumbleWorld

# Tests must never depend on the shared research folder next to the repository.
os.environ.setdefault("LIFTSENSE_TESTING", "1")


def _heart_summary(
    rest_hr: float, *, stimulant: bool = False, within: float = math.nan
) -> HeartSummary:
    w = WindowStats(0.0, 300.0, rest_hr, 40.0, math.log(40.0), 0.0, 1.0)
    sets = (SetHeart(0, 400.0, 440.0, 120.0, 30.0, rest_hr + 10.0, math.nan),)
    return HeartSummary(
        t0_ns=0,
        source="rr",
        rest=w,
        rest_window="pre_workout",
        pre_intake=None,
        pre_workout=w,
        artefact_pct=0.0,
        sets=sets,
        elevation=Elevation(delta_bpm=within),
        stimulant=stimulant,
    )


@pytest.fixture
def heart_summary() -> Callable[..., HeartSummary]:
    """Builds a session's heart summary from what baselines read: the pre-workout rest HR
    (``rest_hr``), the stimulant flag and the within-session elevation (``within``, bpm)."""
    return _heart_summary


@pytest.fixture
async def world() -> AsyncIterator[BumbleWorld]:
    """A fresh emulated BLE world per test (tests/ble, tests/emulate), built in the test's loop."""
    from liftsense.emulate.world import open_world

    w = await open_world(advertising_interval_ms=20.0)
    try:
        yield w
    finally:
        await w.close()
