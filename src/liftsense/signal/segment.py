"""Candidate set windows: stretches of lifting-like activity between rests.

Activity is any of: vertical acceleration energy (magnitude of the specific force minus its
slow mean), the rate at which gravity turns in the sensor frame, or gyro energy. Walking is
recognised by its step-rate band (1.3-3 Hz) dominating the slower band where lifting lives for
longer than the 3 s that energy is measured over (a quick press dominates it for a moment), and is
not activity. Active stretches closer than ``MERGE_GAP_S`` are one window (a slow eccentric is
quiet for several seconds), and so are a dropout and the stretches that close to it: what it
hid may be the set still moving; each window is padded with rest on both sides, because the
displacement estimate assumes the window starts and ends at rest. Recording markers
(``set_start``/``set_end``) replace this search when present.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from liftsense.signal.filters import band_rms, lowpass, moving_mean, moving_rms
from liftsense.signal.imu import (
    BoolArray,
    UniformImu,
    block_mean,
    evenly,
    row_norm,
    row_square,
    runs,
)
from liftsense.signal.quantiles import quantile

__all__ = ["MERGE_GAP_S", "Window", "candidate_windows", "marker_windows", "walking_mask"]

FloatArray = npt.NDArray[np.float64]
MERGE_GAP_S = 12.0
_PAD_S = 2.5
_ACC_ACTIVE_MPS2 = 0.1
_TILT_ACTIVE_RADPS = 0.12
_GYRO_ACTIVE_RADPS = 0.2
_MIN_ACTIVE_S = 1.5
_STEP_RMS_S = 3.0
_WALK_RATE_HZ = 12.5

Window = tuple[int, int]


def walking_mask(u: UniformImu) -> BoolArray:
    """Grid points that belong to walking (dilated by 1 s). The step band must dominate for
    longer than the ``_STEP_RMS_S`` it is measured over: one quick movement (a press from the
    rack) spreads over a whole window of that measure, a few steps last longer. Judged on the
    acc averaged down to about ``_WALK_RATE_HZ``, which holds the step band whole."""
    n = u.acc.shape[0]
    k = max(int(u.fs_hz // _WALK_RATE_HZ), 1)
    if n < 2 * k:
        k = 1
    fs = u.fs_hz / k
    mag = row_norm(block_mean(u.acc, k) if k > 1 else u.acc)
    dyn = mag - moving_mean(mag, int(4 * fs))
    steps = band_rms(dyn, fs, 1.3, 3.0, _STEP_RMS_S)
    slow = band_rms(dyn, fs, 0.15, 1.1, _STEP_RMS_S)
    walk = (steps > 0.6) & (steps > 1.5 * slow)
    for a, b in runs(walk):
        if b - a <= _STEP_RMS_S * fs:
            walk[a:b] = False
    grown: BoolArray = moving_mean(walk.astype(np.float64), int(2 * fs)) > 0
    if k == 1:
        return grown
    # the samples past the last whole block take its value
    out: BoolArray = np.concatenate([np.repeat(grown, k), np.full(n % k, grown[-1])])
    return out


def _activity(u: UniformImu) -> BoolArray:
    fs = u.fs_hz
    mag = row_norm(u.acc)
    # lifting lives below 2.5 Hz; white sensor noise mostly above it
    dyn = lowpass(mag - moving_mean(mag, int(4 * fs)), fs, 2.5)
    rms = moving_rms(dyn * dyn, int(fs))
    floor = quantile(rms, 0.1)
    active = rms > max(_ACC_ACTIVE_MPS2, 3.0 * floor)
    lp = moving_mean(u.acc, int(0.5 * fs))
    unit = lp / np.maximum(row_norm(lp), 1e-9)[:, None]
    h = max(int(0.25 * fs), 1)
    turn = np.zeros(unit.shape[0])
    if unit.shape[0] > 2 * h:
        turn[h:-h] = row_norm(unit[2 * h :] - unit[: -2 * h]) / (2 * h / fs)
    active |= turn > _TILT_ACTIVE_RADPS
    if u.gyro is not None:
        w = u.gyro - np.median(evenly(u.gyro), axis=0)  # the gyro's bias
        active |= moving_rms(row_square(w), int(fs)) > _GYRO_ACTIVE_RADPS
    out: BoolArray = active & ~walking_mask(u) & ~u.gap
    return out


def candidate_windows(u: UniformImu) -> list[Window]:
    """Sample ranges ``[i0, i1)`` of the grid that may hold a set."""
    fs = u.fs_hz
    n = u.t_s.size
    # what a dropout hid is unknown: the activity before it may go on through it (a slow last
    # lowering the dropout cut off from the re-rack after it), though it adds none of its own
    spans = [(a, b, b - a) for a, b in runs(_activity(u))]
    spans += [(a, b, 0) for a, b in u.dropouts.tolist()]
    spans.sort()
    merged: list[list[int]] = []
    gap_idx = np.flatnonzero(u.gap)
    for a, b, act in spans:
        if merged and a - merged[-1][1] < MERGE_GAP_S * fs:
            between = gap_idx[(gap_idx >= merged[-1][1]) & (gap_idx < a)]
            if between.size == 0:
                merged[-1][1] = max(merged[-1][1], b)
                merged[-1][2] += act
                continue
        merged.append([a, b, act])
    pad = int(_PAD_S * fs)
    out: list[Window] = []
    for a, b, act in merged:
        if act < _MIN_ACTIVE_S * fs:
            continue
        out.append((max(a - pad, 0), min(b + pad, n)))
    return out


def marker_windows(u: UniformImu, markers: Iterable[Mapping[str, Any]]) -> list[Window]:
    """Windows from ``set_start``/``set_end`` markers (``t`` as ISO text or timestamp), in time
    order; an unmatched start runs to the next start or the end. Empty if there are none."""
    starts: list[float] = []
    ends: list[float] = []
    for m in markers:
        kind = str(m.get("kind", ""))
        if kind not in ("set_start", "set_end") or m.get("t") is None:
            continue
        ts = pd.Timestamp(m["t"])
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        sec = (ts - u.t0).total_seconds()
        (starts if kind == "set_start" else ends).append(sec)
    starts.sort()
    ends.sort()
    fs, n = u.fs_hz, u.t_s.size
    out: list[Window] = []
    for k, a in enumerate(starts):
        nxt = starts[k + 1] if k + 1 < len(starts) else float("inf")
        stop = next((e for e in ends if a < e <= nxt), min(nxt, u.t_s[-1]))
        i0 = max(int((a - _PAD_S) * fs), 0)
        i1 = min(int((stop + _PAD_S) * fs), n)
        if i1 - i0 > 2 * fs:
            out.append((i0, i1))
    return out
