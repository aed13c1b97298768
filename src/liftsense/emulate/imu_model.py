"""The sensor side of the synthetic sessions: body pose over time -> IMU samples.

Keyframes become minimum-jerk trajectories, the placement's pose model (``poses``) turns them
into sensor position and tilt, numerical differentiation at 200 Hz or more gives world
acceleration and angular rate, and the sensor adds its random mounting rotation, gravity, the
output data rate's anti-alias filter (a centred box), scale error, bias, white noise,
saturation at its range and 16-bit quantisation. ``drop_out`` takes a stretch of samples out of
every set, as a Bluetooth link that fades does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from liftsense.emulate import poses as _poses
from liftsense.units import G_MPS2

__all__ = ["drop_out", "mems", "minjerk_track", "sensor_signals"]

FloatArray = npt.NDArray[np.float64]


def minjerk_track(keys: list[tuple[float, float]], t: FloatArray) -> FloatArray:
    """Piecewise minimum-jerk interpolation through keyframes (holds where values repeat)."""
    kt = np.array([k[0] for k in keys])
    kv = np.array([k[1] for k in keys])
    i = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 1)
    j = np.minimum(i + 1, len(kt) - 1)
    span = np.maximum(kt[j] - kt[i], 1e-9)
    tau = np.clip((t - kt[i]) / span, 0.0, 1.0)
    shape = tau**3 * (10 - 15 * tau + 6 * tau**2)
    out: FloatArray = kv[i] + (kv[j] - kv[i]) * shape
    return out


def _smooth_noise(
    rng: np.random.Generator, n: int, fs: float, sd: float, tc_s: float
) -> FloatArray:
    width = max(int(tc_s * fs), 1)
    kern = np.exp(-0.5 * (np.arange(-3 * width, 3 * width + 1) / width) ** 2)
    raw = rng.normal(0.0, 1.0, n + kern.size)
    sm = np.convolve(raw, kern / np.sqrt(np.sum(kern**2)), mode="same")[:n]
    return sd * sm


def _random_rotation(rng: np.random.Generator) -> FloatArray:
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def sensor_signals(
    spec: Any, plan: Any, rng: np.random.Generator, duration_s: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return output times (s), acc (n, 3) m/s² and gyro (n, 3) rad/s before MEMS effects."""
    k = max(1, math.ceil(200.0 / spec.rate_hz))
    fi = spec.rate_hz * k
    t = np.arange(int(duration_s * fi)) / fi
    prog = minjerk_track(plan.prog, t)
    geo = _poses.geometry(spec.placement, plan, spec.sets, prog, t, spec.thigh_model)
    z = geo.z + minjerk_track(plan.lift, t) + _smooth_noise(rng, t.size, fi, 0.002, 0.5)
    theta = geo.theta + minjerk_track(plan.fid, t) + _smooth_noise(rng, t.size, fi, 0.01, 0.8)
    x = geo.x
    for w0, w1 in plan.walks:  # steps bob the body; legs and arms swing at the stride rate
        m = (t >= w0) & (t < w1)
        env = np.clip(np.minimum(t[m] - w0, w1 - t[m]) / 0.5, 0, 1)
        ph = 2 * np.pi * 0.9 * (t[m] - w0)
        z[m] += env * 0.03 * np.sin(2 * ph)
        theta[m] += env * _poses.SWING_RAD[spec.placement] * np.sin(ph)
    az = np.gradient(np.gradient(z, 1 / fi), 1 / fi)
    ax = np.gradient(np.gradient(x, 1 / fi), 1 / fi)
    dtheta = np.gradient(theta, 1 / fi)
    c, s = np.cos(theta), np.sin(theta)
    fx, fz = ax, az + G_MPS2
    body = np.stack([c * fx - s * fz, np.zeros_like(fx), s * fx + c * fz], axis=1)
    gyro_b = np.stack([np.zeros_like(fx), dtheta, np.zeros_like(fx)], axis=1)
    mount = _random_rotation(rng) if spec.random_orientation else np.eye(3)
    acc = body @ mount  # mount maps sensor->body, so body @ mount == (mount.T @ body.T).T
    gyr = gyro_b @ mount
    # the sensor's digital low-pass before decimation: a centred box of odd length >= k
    width = k if k % 2 else k + 1
    if width > 1:
        kern = np.ones(width) / width
        acc = np.stack([np.convolve(acc[:, a], kern, mode="same") for a in range(3)], axis=1)
        gyr = np.stack([np.convolve(gyr[:, a], kern, mode="same") for a in range(3)], axis=1)
    return t[::k], acc[::k], gyr[::k]


def mems(
    spec: Any, acc: FloatArray, gyr: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    acc = acc * (1 + rng.normal(0, 0.01, 3)) + rng.normal(0, spec.acc_bias_mps2, 3)
    bw = math.sqrt(spec.rate_hz / 2)
    acc = acc + rng.normal(0, spec.acc_noise_ug_rthz * 1e-6 * G_MPS2 * bw, acc.shape)
    full = spec.range_g * G_MPS2
    acc = np.clip(np.round(acc / (2 * full / 65536)) * (2 * full / 65536), -full, full)
    gyr = gyr + rng.normal(0, spec.gyro_bias_rads, 3)
    gyr = gyr + rng.normal(0, math.radians(spec.gyro_noise_dps_rthz) * bw, gyr.shape)
    gfull = math.radians(2000.0)
    gyr = np.clip(np.round(gyr / (gfull / 32768)) * (gfull / 32768), -gfull, gfull)
    return acc, gyr


def drop_out(
    imu: pd.DataFrame,
    sets: Sequence[dict[str, Any]],
    seconds: float,
    at: Literal["middle", "end"] = "middle",
) -> pd.DataFrame:
    """``imu`` without ``seconds`` of samples in each of the true ``sets`` (``Truth.sets``): a
    dropout, which every rep outlasted. It starts halfway through the set's middle rep
    (``at="middle"``), or 0.2 s after its last rep ends (``"end"``: the lifter racks the bar in
    it)."""
    ns = pd.DatetimeIndex(imu.index).as_unit("ns").asi8
    t_s = (ns - ns[0]) / 1e9
    keep = np.ones(t_s.size, dtype=bool)
    for ts in sets:
        if at == "end":
            start = ts["reps"][-1]["end_s"] + 0.2
        else:
            rep = ts["reps"][len(ts["reps"]) // 2]
            start = 0.5 * (rep["start_s"] + rep["end_s"])
        keep &= ~((t_s > start) & (t_s < start + seconds))
    return imu[keep]
