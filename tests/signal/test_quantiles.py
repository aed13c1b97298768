from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liftsense.signal.quantiles import median, quantile, quantiles

finite = st.floats(allow_nan=False, width=64)
values = st.lists(finite, min_size=1, max_size=60)
fractions = st.floats(min_value=0.0, max_value=1.0)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@given(values)
def test_median_is_numpys_to_the_last_bit(xs: list[float]) -> None:
    with np.errstate(all="ignore"):  # inf - inf, and overflow
        expected = float(np.median(xs))
    assert _same(median(xs), expected)


@given(values, st.lists(fractions, min_size=1, max_size=4))
def test_quantiles_are_numpys_to_the_last_bit(xs: list[float], qs: list[float]) -> None:
    with np.errstate(all="ignore"):
        expected = [float(v) for v in np.quantile(xs, qs)]
    assert all(_same(a, b) for a, b in zip(quantiles(xs, qs), expected, strict=True))


@given(values, fractions)
def test_a_nan_anywhere_gives_nan(xs: list[float], q: float) -> None:
    xs = [*xs, math.nan]
    assert math.isnan(median(xs))
    assert math.isnan(quantile(np.array(xs), q))


def test_known_answers() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5
    assert quantiles([1.0, 2.0, 3.0, 4.0, 5.0], [0.8, 0.05]) == pytest.approx([4.2, 1.2])
    assert quantile([7.0], 0.3) == 7.0
    assert math.isnan(median([]))
    with pytest.raises(ValueError, match="no values"):
        quantile([], 0.5)
