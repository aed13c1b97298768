from __future__ import annotations

import numpy as np
import pandas as pd

from liftsense.signal.imu import G_MPS2, prepare
from liftsense.signal.segment import candidate_windows

T0 = pd.Timestamp("2026-01-05T09:00:00Z")
RATE_HZ = 50.0


def _session(moving: list[tuple[float, float]], missing: tuple[float, float], end_s: float):
    """Acc at rest but for a 0.5-Hz bounce of 1.5 m/s² in each span of ``moving`` (s), with
    no samples in ``missing``; the grid's times (s) and its windows' spans (s)."""
    t = np.arange(int(end_s * RATE_HZ)) / RATE_HZ
    acc = np.zeros((t.size, 3))
    acc[:, 2] = G_MPS2
    for a, b in moving:
        on = (t >= a) & (t < b)
        acc[on, 2] += 1.5 * np.sin(2 * np.pi * 0.5 * (t[on] - a))
    keep = (t < missing[0]) | (t >= missing[1])
    index = pd.DatetimeIndex(T0 + pd.to_timedelta(t[keep], unit="s"), name="t")
    frame = pd.DataFrame(acc[keep], columns=["x", "y", "z"], index=index)
    u = prepare(frame)
    assert u.dropouts.shape[0] == 1  # bridged, not a gap
    return [(float(u.t_s[a]), float(u.t_s[b - 1])) for a, b in candidate_windows(u)]


def test_a_set_s_window_runs_on_through_a_dropout_to_what_follows_it() -> None:
    # the set moves until 30 s and the bar goes to the hooks at 46 s, 16 s later: apart, they
    # are two windows; but the 2 s from 33 s were not recorded, and the set may have gone on
    # moving in them (a slow last lowering): the window must not end before the dropout, and
    # what follows within the merge gap of it belongs to the same window
    windows = _session([(10.0, 30.0), (46.0, 49.0)], (33.0, 35.0), 75.0)
    assert len(windows) == 1
    start, end = windows[0]
    assert start < 10.0 and end > 49.0


def test_a_dropout_in_a_long_rest_makes_no_window_of_its_own() -> None:
    windows = _session([(10.0, 30.0)], (50.0, 52.0), 80.0)
    assert len(windows) == 1
    assert windows[0][1] < 35.0
