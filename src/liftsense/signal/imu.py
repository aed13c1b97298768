"""IMU conditioning: validation, resampling to a uniform grid, movement signals (the filters:
``filters``).

Everything here speaks numpy arrays on a uniform time grid. ``prepare`` turns the DataFrame that
``Recording.stream("acc")`` returns (UTC ``t`` index, ``x, y, z`` in m/s², optional ``gx, gy, gz``
in rad/s) into a ``UniformImu`` at ``WORK_RATE_HZ``; rates above that are box-averaged before
interpolation (anti-alias), rates below are interpolated with a cubic spline so crossing times
keep sub-sample resolution.

Vertical movement comes from the magnitude of the specific force: ``|f| = |g + a|`` is ``g`` plus
the vertical component of the linear acceleration to first order, whatever the sensor's
orientation, so a wrist or thigh that rotates during the lift does not leak gravity into the
vertical signal. Drift of the double integral is controlled by zero velocity at the ends of a
window that starts and ends at rest and a high-pass at half the rep rate; the rep
detector then adds zero-velocity knots at the turnarounds and pauses it finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.fft import next_fast_len
from scipy.interpolate import CubicSpline

from liftsense.errors import AnalysisError
from liftsense.signal.bias import still, still_bias
from liftsense.signal.dropouts import dropout_spans, period_samples, stitch, stitch_velocity
from liftsense.signal.filters import highpass, integrate, lowpass
from liftsense.signal.quantiles import median, quantile
from liftsense.units import G_MPS2

__all__ = [
    "G_MPS2",
    "WORK_RATE_HZ",
    "UniformImu",
    "dominant_period_s",
    "integrate",
    "prepare",
    "rotation_progress",
    "row_norm",
    "row_square",
    "runs",
    "vertical_acceleration",
    "vertical_motion",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
F32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
#: Rate of the analysis grid: 20 ms steps, ample for phases that last >= 0.3 s.
WORK_RATE_HZ = 50.0
#: Native gaps longer than this are not bridged by interpolation (samples flagged in ``gap``).
MAX_BRIDGED_GAP_S = 5.0
#: A sensor without gyro whose posture stays this close to its mean (rad) keeps its orientation.
_KEPT_TILT_RAD = 0.12
_MIN_DURATION_S = 3.0


@dataclass(frozen=True)
class UniformImu:
    """IMU samples on a uniform grid. ``t_s`` counts from ``t0`` (the first input sample);
    ``gyro`` is None for accelerometer-only input; ``gap`` flags grid points that fall in a
    native gap longer than ``MAX_BRIDGED_GAP_S``; ``dropouts`` are the shorter native gaps
    that were bridged but last ``dropouts.DROPOUT_S`` or more, as ``[a, b)`` spans of grid
    samples (``dropouts.dropout_spans``)."""

    t0: pd.Timestamp
    t_s: FloatArray
    fs_hz: float
    acc: FloatArray
    gyro: FloatArray | None
    gap: BoolArray
    native_rate_hz: float
    dropouts: IntArray

    def dropouts_in(self, i0: int, i1: int) -> IntArray:
        """The dropouts that lie within the grid samples ``[i0, i1)``, in samples from ``i0``."""
        d = self.dropouts
        out: IntArray = d[(d[:, 0] >= i0) & (d[:, 1] <= i1)] - i0
        return out


def row_square(x: FloatArray) -> FloatArray:
    """Squared Euclidean norm of each row of an (n, 3) array; the same values as
    ``np.sum(x * x, axis=1)``, several times quicker."""
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    out: FloatArray = a * a + b * b + c * c
    return out


def row_norm(x: FloatArray) -> FloatArray:
    """Euclidean norm of each row of an (n, 3) array; the same values as
    ``np.linalg.norm(x, axis=1)``, several times quicker."""
    out: FloatArray = np.sqrt(row_square(x))
    return out


def _columns(df: pd.DataFrame, names: tuple[str, ...]) -> FloatArray | F32Array:
    """Columns of ``df`` as one (n, k) array: float32 if they all are (a recording's IMU
    streams; every use widens them to float64 exactly, and a copy of half the size is quicker),
    otherwise float64."""
    sub = df[list(names)]
    wide = any(t != np.float32 for t in sub.dtypes)
    out: FloatArray | F32Array = sub.to_numpy(dtype=np.float64 if wide else np.float32)
    return out


def _validate(
    imu: pd.DataFrame,
) -> tuple[pd.Timestamp, IntArray, FloatArray | F32Array, FloatArray | F32Array | None]:
    """The first sample's time, the sample times (ns), acc and gyro (None if absent or mostly
    not finite), sorted by time, without repeated times or rows whose acc is not finite."""
    missing = [c for c in ("x", "y", "z") if c not in imu.columns]
    if missing:
        raise AnalysisError(
            f"IMU data lacks column(s) {', '.join(missing)}: pass the acc stream as a DataFrame "
            "with columns x, y, z (m/s²) and a UTC time index"
        )
    if not isinstance(imu.index, pd.DatetimeIndex):
        raise AnalysisError("IMU data needs a DatetimeIndex (UTC sample times) named 't'")
    idx = imu.index
    acc = _columns(imu, ("x", "y", "z"))
    has_gyro = all(c in imu.columns for c in ("gx", "gy", "gz"))
    gyro = _columns(imu, ("gx", "gy", "gz")) if has_gyro else None
    ns = idx.as_unit("ns").asi8  # the index may be in ms or us resolution
    rows: IntArray | None = None  # the rows kept, where not all of them in order
    if ns.size > 1 and not bool(np.all(np.diff(ns) > 0)):  # sort, drop repeated times
        order = np.argsort(ns, kind="stable")
        ns = ns[order]
        keep = np.concatenate([[True], np.diff(ns) > 0])
        order = order[keep]
        rows, ns, acc = order, ns[keep], acc[order]
        gyro = gyro[order] if gyro is not None else None
    if not np.isfinite(acc).all():  # the whole array at once: the common case is quick
        ok = np.asarray(np.isfinite(acc).all(axis=1), dtype=bool)
        if not ok.any():
            raise AnalysisError("IMU data has no finite acc samples (all NaN): nothing to analyse")
        rows = rows[ok] if rows is not None else np.flatnonzero(ok)
        ns, acc = ns[ok], acc[ok]
        gyro = gyro[ok] if gyro is not None else None
    if gyro is not None and not np.isfinite(gyro).all():
        fin = np.asarray(np.isfinite(gyro).all(axis=1), dtype=bool)
        gyro = None if fin.mean() < 0.9 else np.where(fin[:, None], gyro, 0.0)
    return pd.Timestamp(idx[0 if rows is None else int(rows[0])]), ns, acc, gyro


def _block_mean(x: FloatArray | F32Array, k: int) -> FloatArray:
    """Means of consecutive blocks of ``k`` rows (a trailing partial block is dropped), as a
    sum of ``k`` strided views: much quicker than a reduction over a short axis."""
    m = (x.shape[0] // k) * k
    out = x[0:m:k].astype(np.float64, copy=True)
    for j in range(1, k):
        out += x[j:m:k]
    out /= k
    return out


def prepare(imu: pd.DataFrame, fs_hz: float = WORK_RATE_HZ) -> UniformImu:
    """Validate IMU input and resample it to a uniform ``fs_hz`` grid.

    Raises AnalysisError when the input cannot be analysed: missing columns, no time index,
    all NaN, shorter than 3 s, constant, or not in m/s² (a median magnitude near 1 means g).
    """
    t0, ns, acc, gyro = _validate(imu)
    t = (ns - ns[0]) / 1e9
    if t.size < 10 or t[-1] < _MIN_DURATION_S:
        raise AnalysisError(
            f"IMU data too short ({t[-1] if t.size else 0:.1f} s, {t.size} samples): "
            f"need at least {_MIN_DURATION_S:g} s"
        )
    few = acc[:: max(1, t.size // 20000)].astype(np.float64)  # a scale check needs no more
    if np.ptp(few, axis=0).max() < 1e-6 and np.ptp(acc.astype(np.float64), axis=0).max() < 1e-6:
        raise AnalysisError("IMU acc is constant: the sensor sent no changing data (stuck or off?)")
    mag = median(np.linalg.norm(few, axis=1))
    if 0.6 < mag < 1.5:
        raise AnalysisError(
            f"IMU acc looks like it is in g (median magnitude {mag:.2f}): convert to m/s² "
            "by multiplying by 9.80665"
        )
    if not 6.0 < mag < 14.0:
        raise AnalysisError(
            f"IMU acc median magnitude is {mag:.3g}, expected about 9.81 m/s² at rest: check the "
            "units and scale of the acc stream"
        )
    dt = np.diff(t)
    # sorted without repeats, so every step is positive; the integer steps' median is quick
    native = 1e9 / float(np.median(np.diff(ns))) if ns.size > 1 else fs_hz
    grid = np.arange(0.0, t[-1], 1.0 / fs_hz)
    k = round(native / fs_hz)
    big = np.flatnonzero(dt > MAX_BRIDGED_GAP_S)
    if k > 1:  # anti-alias: average blocks of k native samples (about one grid step each)
        t_in = _block_mean(t, k)
        acc = _block_mean(acc, k)
        gyro = _block_mean(gyro, k) if gyro is not None else None
    else:
        t_in = t
        acc = acc.astype(np.float64, copy=False)
        gyro = gyro.astype(np.float64, copy=False) if gyro is not None else None
    gap = np.zeros(grid.size, dtype=bool)
    for i in big:
        gap[(grid > t[i]) & (grid < t[i + 1])] = True
    if native < fs_hz * 0.8 and t.size >= 4:
        acc_u = CubicSpline(t, acc, axis=0)(grid)
        gyro_u = CubicSpline(t, gyro, axis=0)(grid) if gyro is not None else None
        lin = np.column_stack([np.interp(grid, t, acc[:, a]) for a in range(3)])
        lin_g = (
            np.column_stack([np.interp(grid, t, gyro[:, a]) for a in range(3)])
            if gyro is not None and gyro_u is not None
            else None
        )
        bridged = np.flatnonzero(dt > 4.0 / native)  # no spline overshoot across dropouts
        for i in bridged:
            m = (grid > t[i]) & (grid < t[i + 1])
            acc_u[m] = lin[m]
            if lin_g is not None and gyro_u is not None:
                # a spline's hump across a dropout integrates to a rotation nobody made
                gyro_u[m] = lin_g[m]
    else:
        acc_u = np.column_stack([np.interp(grid, t_in, acc[:, a]) for a in range(3)])
        gyro_u = (
            np.column_stack([np.interp(grid, t_in, gyro[:, a]) for a in range(3)])
            if gyro is not None
            else None
        )
    drops = dropout_spans(t, grid, MAX_BRIDGED_GAP_S, dt)
    return UniformImu(t0, grid, fs_hz, acc_u, gyro_u, gap, native, drops)


def _hinge_angle(
    gyro: FloatArray, fs_hz: float, dropouts: IntArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """The angle (rad) the gyro turned about its principal axis over the window, and that
    axis (the hinge of the joint carrying the sensor). The gyro bias is taken as its mean over
    the window, which starts and ends in the same posture. The angle is a running sum, half a
    sample ahead of ``integrate``: rep detection on the rotation was tuned with it (the
    trapezoid turned a paused curl at the wrist from the rotation to the displacement).
    Across ``dropouts`` the angle is stitched (``dropouts.stitch``), and then brought back to
    where it started by a constant rate: a turn the dropout hid is missing from the mean, so
    the bias it gives is off, and would turn the angle over the whole window."""
    w = gyro - np.mean(gyro, axis=0)
    _, _, vt = np.linalg.svd(w, full_matrices=False)
    axis: FloatArray = vt[0]
    rate = w @ axis
    theta: FloatArray = np.cumsum(rate) / fs_hz
    if dropouts is not None and dropouts.size:
        period = dominant_period_s(lowpass(rate, fs_hz, 3.0), fs_hz)
        theta = stitch(theta, dropouts, period_samples(period, fs_hz))
        theta -= np.linspace(0.0, theta[-1] - theta[0], theta.size)
    return theta, axis


def _derotate(
    acc: FloatArray, gyro: FloatArray, fs_hz: float, dropouts: IntArray | None = None
) -> FloatArray:
    """Acc expressed in the window's initial sensor frame, undoing the rotation the gyro saw
    about its principal axis (``_hinge_angle``)."""
    angle, k = _hinge_angle(gyro, fs_hz, dropouts)
    theta = angle[:, None]
    c, s = np.cos(theta), np.sin(theta)
    out: FloatArray = acc * c + np.cross(k, acc) * s + np.outer(acc @ k, k) * (1 - c)
    return out


def slow_direction(acc: FloatArray, fs_hz: float, cutoff_hz: float = 1.0) -> FloatArray:
    """Unit vectors of the low-passed specific force: the sensor's posture (gravity's direction
    in the sensor frame while the load moves slowly)."""
    lp = lowpass(acc, fs_hz, cutoff_hz)
    out: FloatArray = lp / np.maximum(row_norm(lp), 1e-9)[:, None]
    return out


def angle_from_mean_rad(unit: FloatArray, ref: FloatArray) -> FloatArray:
    """Angle (rad) of each direction in ``unit`` from the mean direction of ``ref``."""
    mean = np.mean(ref, axis=0)
    mean /= max(float(np.linalg.norm(mean)), 1e-9)
    out: FloatArray = np.arccos(np.clip(unit @ mean, -1.0, 1.0))
    return out


def _tilt_rad(acc: FloatArray, fs_hz: float) -> FloatArray:
    """Angle between the slow acc direction and its mean at each sample (rad)."""
    unit = slow_direction(acc, fs_hz, 0.7)
    return angle_from_mean_rad(unit, unit)


def vertical_acceleration(
    acc: FloatArray,
    fs_hz: float,
    gyro: FloatArray | None = None,
    dropouts: IntArray | None = None,
) -> FloatArray:
    """Vertical linear acceleration of the sensor (m/s², up positive, mean removed).

    With gyro, acc is de-rotated to the initial frame and projected on gravity. Without, a
    sensor that keeps its orientation is projected on the mean gravity direction (exact), and
    one that rotates uses the magnitude of the specific force (orientation-free, with a
    second-order error from horizontal acceleration). A sensor that rotates first has its
    accelerometer bias removed (:func:`liftsense.signal.bias.still_bias`): along gravity it
    would change with the posture, in step with the lift.

    A sensor keeps its orientation when 95 % of its samples lie within ``_KEPT_TILT_RAD`` of
    its mean posture. Each stretch turned further (a glance at a watch, a hand shifting the
    sensor) takes the magnitude instead (``_turned_stretches``).
    """
    tilt = _tilt_rad(acc, fs_hz) if gyro is None else None
    turns = tilt is None or quantile(tilt, 0.95) > _KEPT_TILT_RAD
    if turns:
        acc = acc - still_bias(lowpass(acc, fs_hz, 1.5), fs_hz)
    if gyro is not None:
        acc = _derotate(acc, gyro, fs_hz, dropouts)
    elif turns:
        mag = row_norm(acc)
        out: FloatArray = mag - np.mean(mag)
        return out
    g = np.mean(acc, axis=0)
    proj: FloatArray = acc @ (g / max(float(np.linalg.norm(g)), 1e-9))
    if tilt is not None and bool((tilt > _KEPT_TILT_RAD).any()):
        _turned_stretches(proj, acc, tilt, fs_hz)
    return proj - np.mean(proj)


def _turned_stretches(proj: FloatArray, acc: FloatArray, tilt: FloatArray, fs_hz: float) -> None:
    """Replace the specific force ``proj`` projected on the mean gravity, over each stretch of
    samples whose ``tilt`` (rad from the mean posture) exceeds ``_KEPT_TILT_RAD``, by the
    magnitude of ``acc`` there, levelled so that still samples read alike in every posture (in
    place).

    Projected on the mean gravity, a sensor turned by ``angle`` reads ``g (1 - cos(angle))``
    of acceleration that is not there: all of g at a right angle, and 2 s of it integrate to
    metres of "displacement", which drowned the set's reps. The magnitude is blind to the
    posture, but an accelerometer's bias and scale errors make it read gravity a few tenths of
    m/s² differently in each posture, a step that integrates to a drift in the velocity. A
    still sample reads gravity alone: where a stretch holds still samples, its magnitude is
    shifted so that they read what the still samples of the mean posture read, the shift
    growing with the tilt up to theirs (the stretch starts and ends in transit, and its slow
    direction lags behind a quick turn)."""
    turned = tilt > _KEPT_TILT_RAD
    quiet = still(lowpass(acc, fs_hz, 1.5), fs_hz)
    base = quiet & ~turned
    ref = median(proj[base]) if base.any() else median(proj[~turned])
    mag = row_norm(acc)
    for a, b in runs(turned):
        q = quiet[a:b]
        if not q.any():
            proj[a:b] = mag[a:b]
            continue
        level, held = median(mag[a:b][q]), median(tilt[a:b][q])
        proj[a:b] = mag[a:b] + (ref - level) * np.minimum(tilt[a:b] / held, 1.0)


def runs(mask: BoolArray) -> list[tuple[int, int]]:
    """The stretches ``[a, b)`` where ``mask`` is True, in order."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def dominant_period_s(
    sig: FloatArray, fs_hz: float, lo_s: float = 0.6, hi_s: float = 15.0
) -> float:
    """Period (s) of the highest autocorrelation peak of ``sig`` between ``lo_s`` and ``hi_s``;
    NaN if there is none (too short, or no repetition)."""
    n = sig.size
    lo, hi = int(lo_s * fs_hz), min(int(hi_s * fs_hz), n // 2)
    if hi <= lo + 2:
        return math.nan
    c = sig - np.mean(sig)
    m = next_fast_len(2 * n, real=True)  # zero padding past 2n changes nothing but the speed
    spec = np.fft.rfft(c, m)
    ac = np.fft.irfft(spec * np.conj(spec), m)[: hi + 1]
    if ac[0] <= 0:
        return math.nan
    ac = ac / ac[0] * n / (n - np.arange(ac.size))  # unbiased: long lags are not penalised
    seg = ac[lo : hi + 1]
    inner = (seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:]) & (seg[1:-1] > 0.2)
    peaks = np.flatnonzero(inner) + 1
    if peaks.size == 0:
        return math.nan
    return float((lo + peaks[np.argmax(seg[peaks])]) / fs_hz)


def vertical_motion(
    acc: FloatArray,
    fs_hz: float,
    gyro: FloatArray | None = None,
    dropouts: IntArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Vertical velocity (m/s) and displacement (m, up positive) of the sensor over a window.

    The window should start and end at rest: the mean vertical acceleration over it is taken
    as the bias, which makes the velocity zero at both ends. The displacement is high-passed
    at half the rep rate (from the dominant period of the acceleration; 0.05-0.5 Hz): good
    enough to find reps, not to time them (the caller adds zero-velocity knots).
    """
    a = vertical_acceleration(acc, fs_hz, gyro, dropouts)
    v = integrate(a, fs_hz)
    period = dominant_period_s(lowpass(a, fs_hz, 3.0), fs_hz)
    if dropouts is not None and dropouts.size:
        v = stitch_velocity(v, dropouts, period_samples(period, fs_hz), fs_hz)
    v -= np.linspace(v[0], v[-1], v.size)
    cutoff = 0.05 if not math.isfinite(period) else min(max(0.5 / period, 0.05), 0.5)
    x = highpass(integrate(v, fs_hz), fs_hz, cutoff)
    return v, x


def rotation_progress(
    acc: FloatArray, gyro: FloatArray | None, fs_hz: float, dropouts: IntArray | None = None
) -> FloatArray:
    """Rotation about the window's main axis (rad, sign arbitrary): the integrated gyro along
    its principal axis, or without gyro the angle of the low-passed acc in the plane of its mean
    (gravity) and its principal direction orthogonal to that: linear in a rotation past a right
    angle, and blind to acceleration along gravity, which only scales the vector."""
    if gyro is not None:
        return _hinge_angle(gyro, fs_hz, dropouts)[0]
    lp = lowpass(acc, fs_hz, 1.5)
    g = np.mean(lp, axis=0)
    g /= max(float(np.linalg.norm(g)), 1e-9)
    along = lp @ g
    c = lp - np.outer(along, g)  # only the part orthogonal to gravity: tilt, not lift
    _, _, vt = np.linalg.svd(c - np.mean(c, axis=0), full_matrices=False)
    # the angle in the plane of the mean gravity and the main tilt direction: linear in the
    # rotation through more than a right angle (a forearm in a curl), unlike its sine
    out: FloatArray = np.arctan2(c @ vt[0], along)
    return out
