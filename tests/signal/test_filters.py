from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import butter, sosfiltfilt

from liftsense.signal.filters import (
    band_rms,
    filtfilt,
    highpass,
    lowpass,
    moving_mean,
    moving_rms,
)

FS = 50.0


def test_moving_mean_known_answer() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert moving_mean(x, 3) == pytest.approx([4 / 3, 2.0, 3.0, 4.0, 14 / 3])
    assert moving_mean(x, 1) == pytest.approx(x)


def test_moving_rms_is_zero_not_nan_where_the_signal_rests_on_one_value() -> None:
    # movement, then a sensor at rest reporting one value: the running sum's rounding takes
    # the moving mean of the squares below zero (-2e-13 here), whose root is NaN
    moving = np.random.default_rng(0).normal(0.0, 30.0, 500)
    x = np.concatenate([moving, np.zeros(500)])
    assert moving_mean(x * x, 50)[600:].min() < 0.0
    rms = moving_rms(x * x, 50)
    assert not np.isnan(rms).any()
    assert rms[600:] == pytest.approx(0.0, abs=1e-6)
    assert moving_rms(np.full(20, 4.0), 5) == pytest.approx(np.full(20, 2.0))


designs = st.sampled_from(
    [
        (2, 0.06, "lowpass"),
        (4, 0.3, "lowpass"),
        (2, 0.002, "highpass"),
        (2, (0.006, 0.044), "bandpass"),
        (2, (0.052, 0.12), "bandpass"),
    ]
)


@given(
    designs,
    st.integers(min_value=40, max_value=400),
    st.sampled_from([(), (3,)]),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_filtfilt_is_scipys_sosfiltfilt_to_the_last_bit(
    design: tuple[int, float | tuple[float, float], str], n: int, cols: tuple[int, ...], seed: int
) -> None:
    from liftsense.signal.filters import _butter

    x = np.random.default_rng(seed).normal(size=(n, *cols)).cumsum(axis=0)
    sos = butter(*design[:2], btype=design[2], output="sos")
    assert np.array_equal(filtfilt(_butter(*design), x), sosfiltfilt(sos, x, axis=0))


def test_the_filters_pass_their_band_and_stop_the_rest() -> None:
    t = np.arange(int(60 * FS)) / FS
    slow, fast = np.sin(2 * np.pi * 0.3 * t), np.sin(2 * np.pi * 5.0 * t)
    mid = slice(500, -500)
    assert np.abs(lowpass(slow + fast, FS, 1.0) - slow)[mid].max() < 0.02
    assert np.abs(highpass(slow + fast, FS, 1.0) - fast)[mid].max() < 0.02
    rms = band_rms(slow + fast, FS, 4.0, 6.0, 3.0)[mid]
    assert rms == pytest.approx(np.full(rms.size, np.sqrt(0.5)), abs=0.02)


def test_a_signal_shorter_than_the_padding_is_refused_or_left_alone() -> None:
    from liftsense.signal.filters import _butter

    with pytest.raises(ValueError, match="longer than the filter's padding"):
        filtfilt(_butter(2, 0.1, "lowpass"), np.zeros(9))
    x = np.arange(9.0)
    assert np.array_equal(lowpass(x, FS, 1.0), x)
    assert np.array_equal(highpass(x, FS, 1.0), x - 4.0)
