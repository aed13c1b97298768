"""Whether a rotation's reps replace the displacement's (``signal.rotation``), on hand-built
progress signals."""

from __future__ import annotations

import numpy as np
import pytest

from liftsense.emulate.imu_model import minjerk_track
from liftsense.signal.phases import find_reps
from liftsense.signal.rotation import rotation_reps

FS = 50.0


def _reps(n: int, move_s: float, gap_s: float, size: float) -> np.ndarray:
    """``n`` reps out to ``size`` and back, each movement ``move_s`` long, ``gap_s`` apart,
    between 3 s of rest at each end."""
    keys, t = [(0.0, 0.0)], 3.0
    for _ in range(n):
        keys += [(t, 0.0), (t + move_s, size), (t + 2 * move_s, 0.0)]
        t += 2 * move_s + gap_s
    keys.append((t + 3.0, 0.0))
    return minjerk_track(keys, np.arange(0.0, t + 3.0, 1 / FS))


@pytest.mark.parametrize(("corr", "wins"), [(0.9, True), (0.3, False)])
def test_a_rotation_that_tracks_the_displacement_is_not_halves_of_its_reps(
    corr: float, wins: bool
) -> None:
    # ten rotation reps of 2 s where the displacement found five of 4.6 s over the same
    # stretch: halves of its reps (a wrist tilting forth and back within each), unless the
    # rotation turns in step with the displacement (a hip or a thigh turning with the lift,
    # whose displacement lost reps in drift)
    rot = _reps(10, 1.0, 0.3, 0.8)
    disp = _reps(5, 2.3, 0.0, 0.3)[: rot.size]
    raw_d = find_reps(disp, FS, min_prominence=0.05)
    assert sum(not r.failed for r in raw_d) == 5
    found = rotation_reps(rot, FS, raw_d, sign=1.0, corr=corr, amp_r=0.8)
    assert found is not None
    assert sum(not r.failed for r in found.raw) == 10
    assert found.wins is wins
