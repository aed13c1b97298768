"""Medians and quantiles of one-dimensional data, as ``np.median`` and ``np.quantile`` (linear
method) compute them, to the last bit, without their per-call overhead.

Rep detection takes several hundred medians and quantiles of a few values per recording (rep
lengths, peak prominences): numpy's general machinery (axes, weights, methods) costs tens of
microseconds per call there, many times the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["median", "quantile", "quantiles"]

FloatArray = npt.NDArray[np.float64]


def _values(a: FloatArray | Sequence[float]) -> FloatArray:
    x = np.asarray(a, dtype=np.float64)
    if x.ndim != 1:
        x = x.ravel()
    return x


def median(a: FloatArray | Sequence[float]) -> float:
    """``float(np.median(a))``: NaN if ``a`` is empty or holds a NaN."""
    x = _values(a)
    n = x.size
    if n == 0:
        return math.nan
    m = n // 2
    x = np.partition(x, (m - 1, m, n - 1) if n % 2 == 0 else (m, n - 1))
    if math.isnan(x[-1]):
        return math.nan
    return float(x[m]) if n % 2 else (float(x[m - 1]) + float(x[m])) / 2


def quantiles(a: FloatArray | Sequence[float], qs: Sequence[float]) -> list[float]:
    """``np.quantile(a, qs)`` (linear interpolation) as floats: NaN where ``a`` holds a NaN.

    Raises:
        ValueError: ``a`` is empty.
    """
    x = _values(a)
    n = x.size
    if n == 0:
        raise ValueError("quantiles of no values")
    # numpy's virtual index (n - 1) * q, its two neighbours (the last value past the end), and
    # its interpolation from whichever neighbour is nearer
    at: list[tuple[int, int, float]] = []
    for q in qs:
        v = (n - 1) * q
        lo = math.floor(v)
        if v >= n - 1:
            at.append((n - 1, n - 1, v + 1))
        else:
            at.append((lo, lo + 1, v - lo))
    x = np.partition(x, sorted({k for i, j, _ in at for k in (i, j, n - 1)}))
    if math.isnan(x[-1]):
        return [math.nan] * len(at)
    out = []
    for i, j, t in at:
        a_i, b_j = float(x[i]), float(x[j])
        d = b_j - a_i
        out.append(b_j - d * (1 - t) if t >= 0.5 else a_i + d * t)
    return out


def quantile(a: FloatArray | Sequence[float], q: float) -> float:
    """``float(np.quantile(a, q))`` (linear interpolation); see ``quantiles``."""
    return quantiles(a, (q,))[0]
