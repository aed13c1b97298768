"""Lower envelopes of point clouds: the geometry behind clock alignment (pure numpy).

Points are ``(x, r)`` with ``r`` = receive time minus device time (both relative to an anchor)
and ``x`` = device time. Delivery delay only ever adds to ``r``, so the clock lies along the
lower convex hull of the points. :func:`fit_lower_line` solves the linear programme "maximise the
line at ``x_mid`` subject to lying under every point, slope bounded" (at the mean of ``x`` that
also minimises the summed vertical gap); its optimum is the hull edge over ``x_mid``.
:func:`fit_envelope` takes the slope over a longer baseline instead.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from liftsense.errors import LiftSenseError

__all__ = ["fit_envelope", "fit_lower_line", "lower_hull"]

F64 = npt.NDArray[np.float64]


def lower_hull(x: npt.ArrayLike, r: npt.ArrayLike) -> tuple[F64, F64]:
    """Vertices ``(x, r)`` of the lower convex hull of the points, by increasing x.

    Vectorised elimination: each pass drops every point on or above the chord of its current
    neighbours (a hull vertex never is), until none is dropped; noisy data needs a few passes.
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    rs = np.asarray(r, dtype=np.float64).ravel()
    if xs.size == 0:
        raise LiftSenseError("a lower envelope needs at least one point")
    order = np.lexsort((rs, xs))
    xs, rs = xs[order], rs[order]
    first = np.ones(xs.size, dtype=bool)
    first[1:] = xs[1:] != xs[:-1]  # the lowest point of each x
    xs, rs = xs[first], rs[first]
    while xs.size > 2:
        dx_l = xs[1:-1] - xs[:-2]
        drop = (rs[1:-1] - rs[:-2]) * (xs[2:] - xs[:-2]) >= (rs[2:] - rs[:-2]) * dx_l
        if not drop.any():
            break
        keep = np.ones(xs.size, dtype=bool)
        keep[1:-1] = ~drop
        xs, rs = xs[keep], rs[keep]
    return xs, rs


def fit_lower_line(
    x: npt.ArrayLike, r: npt.ArrayLike, *, x_mid: float | None = None, max_slope: float = 1e-3
) -> tuple[float, float]:
    """Lower-envelope line ``r ≈ a + c·x`` under all points, touching them around ``x_mid``.

    Solves ``max_{|c| <= max_slope} min_i(r_i − c·x_i) + c·x_mid``; the line lies under every
    point and is tightest at ``x_mid`` (default: the mean of ``x``), which also minimises the
    summed gap to the points. The optimum is the hull edge over ``x_mid`` (slope clipped to the
    bound). Returns ``(a, c)``. ``max_slope = 0`` fits an offset only.
    """
    hx, hr = lower_hull(x, r)
    mid = float(np.mean(np.asarray(x, dtype=np.float64))) if x_mid is None else float(x_mid)
    return _support(hx, hr, mid, max_slope)


def _support(hx: F64, hr: F64, mid: float, max_slope: float) -> tuple[float, float]:
    k = int(np.searchsorted(hx, mid, side="right"))  # hull edge (k-1, k) spans mid
    if k <= 0:
        c = -max_slope  # every point right of mid: the lowest slope is tightest there
    elif k >= hx.size:
        c = max_slope
    else:
        c = float((hr[k] - hr[k - 1]) / (hx[k] - hx[k - 1]))
    c = float(np.clip(c, -max_slope, max_slope)) if max_slope > 0 else 0.0
    return float(np.min(hr - c * hx)), c


def fit_envelope(
    x: npt.ArrayLike, r: npt.ArrayLike, *, max_slope: float = 1e-3
) -> tuple[float, float]:
    """Lower-envelope line ``r ≈ a + c·x`` with its slope taken over a long baseline.

    The slope is the chord of the lower hull between the first and third quarter of the x span,
    which averages the short hull edges that near-equal low delays produce (one such edge
    would decide the slope of :func:`fit_lower_line`); the line is then lowered until it
    touches the hull, so it stays under every point. Returns ``(a, c)``.
    """
    hx, hr = lower_hull(x, r)
    span = float(hx[-1] - hx[0])
    if max_slope <= 0 or span <= 0:
        return _support(hx, hr, float(hx[0]), 0.0)
    x1 = float(hx[0]) + 0.25 * span
    x3 = x1 + 0.5 * span
    h1, h3 = np.interp([x1, x3], hx, hr)
    c = float(np.clip((h3 - h1) / (x3 - x1), -max_slope, max_slope))
    return float(np.min(hr - c * hx)), c
