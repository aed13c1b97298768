"""Lower envelopes: the LP solution against brute force, hull vertices, chord slopes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.ble.envelope import fit_envelope, fit_lower_line, lower_hull
from liftsense.errors import LiftSenseError


def brute_force_best(x: np.ndarray, r: np.ndarray, mid: float, max_slope: float) -> float:
    """Highest value at ``mid`` of any line under all points with |slope| <= max_slope."""
    slopes = [-max_slope, max_slope]
    for i, j in itertools.combinations(range(x.size), 2):
        if x[i] != x[j]:
            slope = (r[j] - r[i]) / (x[j] - x[i])
            if abs(slope) <= max_slope:
                slopes.append(slope)
    return max(float(np.min(r - c * x)) + c * mid for c in slopes)


@settings(max_examples=200, deadline=None)
@given(
    pts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**4)), min_size=1, max_size=12),
    max_slope=st.sampled_from([0.0, 1e-3, 0.05, 1.0]),
)
def test_fit_lower_line_solves_the_lp(pts: list[tuple[int, int]], max_slope: float) -> None:
    x = np.array([p[0] for p in pts], dtype=np.float64)
    r = np.array([p[1] for p in pts], dtype=np.float64)
    a, c = fit_lower_line(x, r, max_slope=max_slope)
    assert abs(c) <= max_slope
    gap = r - (a + c * x)
    assert gap.min() >= -1e-6  # under every point...
    assert gap.min() <= 1e-6  # ...and touching one
    mid = float(x.mean())
    assert a + c * mid >= brute_force_best(x, r, mid, max_slope) - 1e-6


def test_lower_hull_known_answer() -> None:
    x = [3.0, 0.0, 1.0, 2.0, 4.0, 2.0, 1.0]
    r = [1.0, 5.0, 1.0, 2.0, 4.0, 0.5, 3.0]  # duplicates in x keep their lowest point
    hx, hr = lower_hull(x, r)
    assert hx.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert hr.tolist() == [5.0, 1.0, 0.5, 1.0, 4.0]
    # Collinear points are not vertices; one point is its own hull.
    assert lower_hull([0, 1, 2, 3], [0, 1, 2, 3])[0].tolist() == [0.0, 3.0]
    assert lower_hull([7], [2])[1].tolist() == [2.0]
    with pytest.raises(LiftSenseError, match="at least one point"):
        lower_hull([], [])


def test_fit_lower_line_bounds_and_sides() -> None:
    x, r = np.array([0.0, 10.0]), np.array([0.0, 1.0])
    assert fit_lower_line(x, r, max_slope=1.0) == pytest.approx((0.0, 0.1))
    assert fit_lower_line(x, r, max_slope=0.01) == pytest.approx((0.0, 0.01))
    assert fit_lower_line(x, r, max_slope=0.0) == (0.0, 0.0)
    # Centre left of every point: the lowest slope allowed is tightest there.
    assert fit_lower_line(x, r, x_mid=-5.0, max_slope=0.5)[1] == -0.5
    assert fit_lower_line(x, r, x_mid=50.0, max_slope=0.5)[1] == 0.5


def test_fit_envelope_takes_the_chord_over_the_middle_half() -> None:
    # Two low points close together in the middle would give the LP a steep edge; the chord
    # between the quarter points follows the whole envelope instead.
    x = np.array([0.0, 4.9, 5.1, 10.0])
    r = np.array([0.0, -0.06, -0.055, 0.1])
    _, c_lp = fit_lower_line(x, r, max_slope=1.0)
    a, c = fit_envelope(x, r, max_slope=1.0)
    assert c_lp == pytest.approx(0.025)  # the short edge between 4.9 and 5.1
    hx, hr = lower_hull(x, r)
    h1, h3 = np.interp([2.5, 7.5], hx, hr)
    assert c == pytest.approx((h3 - h1) / 5.0) and c == pytest.approx(0.010306, abs=1e-6)
    assert np.min(r - (a + c * x)) == pytest.approx(0.0, abs=1e-12)  # under all, touching
    assert fit_envelope(x, r, max_slope=0.001)[1] == pytest.approx(0.001)
    assert fit_envelope([1.0, 1.0], [3.0, 2.0]) == (2.0, 0.0)
