"""IMU conditioning: validation and resampling to a uniform grid (the movement signals of a
window: ``kinematics``; the filters: ``filters``).

Everything here speaks numpy arrays on a uniform time grid. ``prepare`` turns the DataFrame that
``Recording.stream("acc")`` returns (UTC ``t`` index, ``x, y, z`` in m/s², optional ``gx, gy, gz``
in rad/s) into a ``UniformImu`` at ``WORK_RATE_HZ``; rates above that are box-averaged before
interpolation (anti-alias), rates below are interpolated with a cubic spline so crossing times
keep sub-sample resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.interpolate import CubicSpline

from liftsense.errors import AnalysisError
from liftsense.signal.dropouts import dropout_spans
from liftsense.signal.filters import integrate
from liftsense.signal.quantiles import median
from liftsense.units import G_MPS2

__all__ = [
    "G_MPS2",
    "WORK_RATE_HZ",
    "UniformImu",
    "block_mean",
    "integrate",
    "prepare",
    "row_norm",
    "row_square",
    "runs",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
F32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
#: Rate of the analysis grid: 20 ms steps, ample for phases that last >= 0.3 s.
WORK_RATE_HZ = 50.0
#: Native gaps longer than this are not bridged by interpolation (samples flagged in ``gap``).
MAX_BRIDGED_GAP_S = 5.0
_MIN_DURATION_S = 3.0
#: How many samples, spread evenly through a recording, measure what needs only a median or
#: a scale: the native rate, the acc's units, the gyro's bias (``evenly``).
SPREAD_SAMPLES = 20_000


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


def block_mean(x: FloatArray | F32Array, k: int) -> FloatArray:
    """Means of consecutive blocks of ``k`` rows (a trailing partial block is dropped), as a
    sum of ``k`` strided views: much quicker than a reduction over a short axis."""
    m = (x.shape[0] // k) * k
    out = x[0:m:k].astype(np.float64, copy=True)
    for j in range(1, k):
        out += x[j:m:k]
    out /= k
    return out


def evenly(x: FloatArray | F32Array, n: int = SPREAD_SAMPLES) -> FloatArray | F32Array:
    """At most about ``n`` rows of ``x``, spread evenly through it (a view)."""
    out: FloatArray | F32Array = x[:: max(1, x.shape[0] // n)]
    return out


def _typical_step_ns(ns: IntArray) -> float:
    """The median step between the sorted, distinct sample times ``ns`` (ns), over at most
    about ``SPREAD_SAMPLES`` steps spread evenly through them: as good a measure of the native
    rate, and a fraction of the time over an hour's samples."""
    s = max(1, (ns.size - 1) // SPREAD_SAMPLES)
    return float(np.median(ns[1::s] - ns[:-1:s]))


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
    few = evenly(acc).astype(np.float64)  # a scale check needs no more
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
    native = 1e9 / _typical_step_ns(ns) if ns.size > 1 else fs_hz
    grid = np.arange(0.0, t[-1], 1.0 / fs_hz)
    k = round(native / fs_hz)
    big = np.flatnonzero(dt > MAX_BRIDGED_GAP_S)
    if k > 1:  # anti-alias: average blocks of k native samples (about one grid step each)
        t_in = block_mean(t, k)
        acc = block_mean(acc, k)
        gyro = block_mean(gyro, k) if gyro is not None else None
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


def runs(mask: BoolArray) -> list[tuple[int, int]]:
    """The stretches ``[a, b)`` where ``mask`` is True, in order."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
