from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from liftsense.emulate.imu_model import drop_out
from liftsense.emulate.motion import Tempo, generate
from liftsense.emulate.scenarios import NOISY_SENSOR, evaluation_spec
from liftsense.errors import AnalysisError
from liftsense.signal.imu import G_MPS2, block_mean, integrate, prepare, row_norm
from liftsense.signal.kinematics import dominant_period_s, rotation_progress, vertical_acceleration
from liftsense.signal.segment import candidate_windows

T0 = pd.Timestamp("2026-01-05T09:00:00Z")


def _frame(acc: np.ndarray, rate_hz: float, gyro: np.ndarray | None = None) -> pd.DataFrame:
    t = T0 + pd.to_timedelta(np.arange(len(acc)) / rate_hz, unit="s")
    data = {"x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2]}
    if gyro is not None:
        data |= {"gx": gyro[:, 0], "gy": gyro[:, 1], "gz": gyro[:, 2]}
    return pd.DataFrame(data, index=pd.DatetimeIndex(t, name="t"))


def _bouncing(rate_hz: float, seconds: float = 20.0) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    acc = np.zeros((t.size, 3))
    acc[:, 2] = G_MPS2 + 1.5 * np.sin(2 * np.pi * 0.5 * t)
    return acc


def test_prepare_resamples_to_50_hz_and_keeps_the_signal() -> None:
    for rate in (12.5, 200.0):
        u = prepare(_frame(_bouncing(rate), rate))
        assert u.fs_hz == 50.0
        assert u.native_rate_hz == pytest.approx(rate)
        assert np.diff(u.t_s) == pytest.approx(np.full(u.t_s.size - 1, 0.02))
        want = G_MPS2 + 1.5 * np.sin(2 * np.pi * 0.5 * u.t_s)
        inner = slice(10, -10)
        assert np.abs(u.acc[inner, 2] - want[inner]).max() < 0.02


def test_the_native_rate_of_a_long_jittery_recording_with_gaps_is_its_usual_step() -> None:
    # 10 min at 200 Hz: the rate is measured on a subset of the 120,000 steps, and neither
    # the timestamps' jitter (a BLE clock: +-1 ms) nor the steps a gap and a burst of a
    # slower rate make move it
    rng = np.random.default_rng(3)
    rate = 200.0
    acc = _bouncing(rate, 600.0)
    frame = _frame(acc, rate)
    jitter = pd.to_timedelta(rng.uniform(-1e-3, 1e-3, len(acc)), unit="s")
    frame.index = pd.DatetimeIndex(frame.index + jitter, name="t")
    t_s = (frame.index.asi8 - frame.index.asi8[0]) / 1e9
    holed = frame[
        ~((t_s > 100) & (t_s < 102)) & ~((t_s > 300) & (t_s < 330) & (np.arange(len(t_s)) % 2 == 1))
    ]
    assert prepare(holed).native_rate_hz == pytest.approx(rate, rel=0.01)


def test_prepare_flags_long_gaps_only() -> None:
    frame = _frame(_bouncing(50.0, 40.0), 50.0)
    t_s = (frame.index.asi8 - frame.index.asi8[0]) / 1e9
    gappy = frame[(t_s < 10) | (t_s > 17)]  # 7 s missing
    short = frame[(t_s < 20) | (t_s > 22)]  # 2 s missing: bridged
    u = prepare(gappy)
    assert u.gap[(u.t_s > 10.5) & (u.t_s < 16.5)].all()
    assert not u.gap[u.t_s < 9.5].any()
    assert not prepare(short).gap.any()


def test_prepare_lists_the_dropouts_it_bridges() -> None:
    frame = _frame(_bouncing(50.0, 60.0), 50.0)
    t_s = (frame.index.asi8 - frame.index.asi8[0]) / 1e9
    # 0.3 s missing (not a dropout), 1 s (a dropout), 7 s (a gap, not bridged)
    cut = ((t_s > 10) & (t_s < 10.3)) | ((t_s > 20) & (t_s < 21)) | ((t_s > 30) & (t_s < 37))
    u = prepare(frame[~cut])
    assert u.dropouts.tolist() == [[1000 + 1, 1050]]  # grid points 20.02 .. 20.98 s
    assert np.isclose(u.t_s[u.dropouts[0]], [20.02, 21.0]).all()
    assert not prepare(frame).dropouts.size


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_frame(np.full((500, 3), np.nan), 50.0), "all NaN"),
        (_frame(_bouncing(50.0, 1.0), 50.0), "too short"),
        (_frame(np.tile([0.0, 0.0, G_MPS2], (500, 1)), 50.0), "constant"),
        (_frame(_bouncing(50.0) / G_MPS2, 50.0), "in g"),
        (_frame(_bouncing(50.0) * 100, 50.0), "units"),
        (_frame(_bouncing(50.0), 50.0).drop(columns="y"), "lacks column"),
        (_frame(_bouncing(50.0), 50.0).reset_index(drop=True), "DatetimeIndex"),
    ],
)
def test_prepare_rejects_bad_input_with_a_reason(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        prepare(frame)


def test_vertical_acceleration_ignores_how_the_sensor_is_mounted() -> None:
    acc = _bouncing(50.0)
    rot = Rotation.from_euler("xyz", [40, -25, 70], degrees=True).as_matrix()
    ref = vertical_acceleration(acc, 50.0)
    turned = vertical_acceleration(acc @ rot.T, 50.0)
    assert turned == pytest.approx(ref, abs=1e-9)
    want = 1.5 * np.sin(2 * np.pi * 0.5 * np.arange(acc.shape[0]) / 50.0)
    assert np.abs(ref - (want - want.mean())).max() < 1e-9


def test_a_brief_turn_of_a_sensor_that_keeps_its_orientation_adds_no_acceleration() -> None:
    # a bar bouncing for a minute with the sensor level but for 2 s turned a right angle
    # (a hand shifting the sensor): 3 % of the window, so the sensor keeps its orientation;
    # projected on the mean gravity those 2 s would read nearly g of acceleration downwards
    fs = 50.0
    acc = _bouncing(fs, 60.0)
    t = np.arange(acc.shape[0]) / fs
    ramp = np.clip(np.minimum(t - 40.0, 42.0 - t) / 0.25, 0.0, 1.0)  # 0.25 s in and out
    angle = 0.5 * np.pi * ramp
    c, s = np.cos(angle), np.sin(angle)
    acc = np.stack([np.zeros_like(t), s * acc[:, 2], c * acc[:, 2]], axis=1)
    got = vertical_acceleration(acc, fs)
    want = 1.5 * np.sin(2 * np.pi * 0.5 * t)
    err = (got - want) - np.median(got - want)  # the mean removed over the window
    assert np.abs(err).max() < 0.05
    inner = t < 38.0
    assert got[inner] - got[inner].mean() == pytest.approx(
        want[inner] - want[inner].mean(), abs=0.05
    )


def test_a_sensor_held_still_while_turned_reads_no_acceleration_whatever_its_axes_scale() -> None:
    # bouncing with the sensor level, then held still for 3 s turned a right angle onto an axis
    # that reads 3 % high (a scale error): its magnitude there reads 0.3 m/s² too much
    fs = 50.0
    acc = _bouncing(fs, 90.0)
    t = np.arange(acc.shape[0]) / fs
    turned = (t > 60.0) & (t < 63.0)
    acc[turned] = [0.0, 1.03 * G_MPS2, 0.0]
    got = vertical_acceleration(acc, fs)
    want = np.where(turned, 0.0, 1.5 * np.sin(2 * np.pi * 0.5 * t))
    err = (got - want) - np.median(got - want)
    held = (t > 61.0) & (t < 62.0)  # turned and still, past the quick turn
    assert np.abs(err[held]).max() < 0.01
    # what the turn in and out leaves in the velocity (the magnitude alone: 0.9 m/s)
    assert abs(err[(t > 55.0) & (t < 68.0)].sum() / fs) < 0.05


def test_vertical_acceleration_with_gyro_undoes_a_hinge_rotation() -> None:
    fs = 50.0
    t = np.arange(int(20 * fs)) / fs
    theta = 0.8 * (1 - np.cos(2 * np.pi * 0.25 * t)) / 2  # a thigh swinging up to 46 degrees
    a_z = 1.0 * np.sin(2 * np.pi * 0.25 * t)
    c, s = np.cos(theta), np.sin(theta)
    fz = G_MPS2 + a_z
    acc = np.stack([-s * fz, np.zeros_like(t), c * fz], axis=1)  # world -> tilted sensor
    gyro = np.stack([np.zeros_like(t), np.gradient(theta, 1 / fs), np.zeros_like(t)], axis=1)
    got = vertical_acceleration(acc, fs, gyro)
    assert np.abs(got - (a_z - a_z.mean())).max() < 0.05
    angle = rotation_progress(acc, gyro, fs)
    assert np.ptp(angle) == pytest.approx(0.8, rel=0.1)
    angle_acc_only = rotation_progress(acc, None, fs)
    assert np.ptp(angle_acc_only) == pytest.approx(0.8, rel=0.15)


def test_acc_only_rotation_is_linear_in_the_angle_beyond_a_right_angle() -> None:
    # a forearm curling a weight: 130 degrees up and back, the hand rising and falling, with
    # the acceleration along gravity (which a tilt estimate from the acc must ignore)
    fs = 50.0
    t = np.arange(int(16 * fs)) / fs
    theta = np.radians(130) * (1 - np.cos(2 * np.pi * t / 4)) / 2
    a_up = 1.5 * np.sin(2 * np.pi * t / 4)
    fz = G_MPS2 + a_up
    acc = np.stack([-np.sin(theta) * fz, np.zeros_like(t), np.cos(theta) * fz], axis=1)
    got = rotation_progress(acc, None, fs)
    got = got if np.corrcoef(got, theta)[0, 1] > 0 else -got
    inner = slice(int(fs), -int(fs))  # away from the low-pass's edges
    assert np.abs((got - got[inner].min()) - theta)[inner].max() < np.radians(4)


def test_prepare_reads_indexes_of_any_time_resolution() -> None:
    frame = _frame(_bouncing(12.5), 12.5)
    coarse = frame.set_axis(frame.index.as_unit("ms"), axis=0)
    a, b = prepare(frame), prepare(coarse)
    assert b.t_s[-1] == pytest.approx(a.t_s[-1])
    assert b.acc == pytest.approx(a.acc)


def test_prepare_bridges_a_dropout_in_the_gyro_in_a_straight_line() -> None:
    # a spline through a 3 s dropout swings between the samples on either side, and its
    # integral is a rotation the sensor never made
    rate = 12.5
    t = np.arange(int(30 * rate)) / rate
    gyro = np.zeros((t.size, 3))
    gyro[:, 0] = 1.5 * np.sin(2 * np.pi * 0.5 * t)
    frame = _frame(_bouncing(rate, 30.0), rate, gyro)
    keep = (t < 12.0) | (t > 15.0)
    u = prepare(frame[keep])
    assert u.gyro is not None
    ia, ib = np.flatnonzero(~keep)[0] - 1, np.flatnonzero(~keep)[-1] + 1
    inside = (u.t_s > t[ia]) & (u.t_s < t[ib])
    want = np.interp(u.t_s[inside], t[[ia, ib]], gyro[[ia, ib], 0])
    assert u.gyro[inside, 0] == pytest.approx(want, abs=1e-9)


def test_block_mean_averages_whole_blocks_and_drops_the_rest() -> None:
    x = np.arange(22, dtype=np.float64).reshape(11, 2)
    np.testing.assert_array_equal(block_mean(x, 4), [[3.0, 4.0], [11.0, 12.0]])
    np.testing.assert_array_equal(block_mean(np.arange(6.0), 3), [1.0, 4.0])


def test_row_norm_equals_numpy_norm_bit_for_bit() -> None:
    x = np.random.default_rng(3).normal(0.0, 10.0, (1000, 3))
    np.testing.assert_array_equal(row_norm(x), np.linalg.norm(x, axis=1))
    np.testing.assert_array_equal(row_norm(np.asfortranarray(x)), np.linalg.norm(x, axis=1))


def test_prepare_drops_samples_with_nan_and_keeps_the_rest() -> None:
    acc = _bouncing(200.0)
    clean = prepare(_frame(acc, 200.0))
    holed = acc.copy()
    holed[1000:1040, 1] = np.nan  # 0.2 s of NaN in one axis
    gyro = np.zeros_like(acc)
    gyro[3000:3004] = np.nan  # a few gyro samples: the gyro is kept, zeroed there
    u = prepare(_frame(holed, 200.0, gyro))
    assert np.isfinite(u.acc).all() and u.gyro is not None and np.isfinite(u.gyro).all()
    np.testing.assert_allclose(u.acc[:200], clean.acc[:200])
    np.testing.assert_allclose(u.acc[300:], clean.acc[300:], atol=1e-9)
    mostly_nan = np.full_like(acc, np.nan)
    mostly_nan[::20] = 0.0
    assert prepare(_frame(acc, 200.0, mostly_nan)).gyro is None  # under 90 % usable


def test_rows_out_of_order_repeated_or_without_acc_are_set_right_from_the_first_kept() -> None:
    frame = _frame(_bouncing(50.0), 50.0)
    clean = prepare(frame.iloc[3:])
    holed = frame.copy()
    holed.iloc[:3, 0] = np.nan  # the first three samples have no usable acc
    # out of order, with one row sent twice
    messy = pd.concat([holed.iloc[500:], holed.iloc[:500], holed.iloc[[700]]])
    for u in (prepare(holed), prepare(messy)):
        assert u.t0 == frame.index[3] == clean.t0
        np.testing.assert_array_equal(u.t_s, clean.t_s)
        np.testing.assert_array_equal(u.acc, clean.acc)


def test_integrate_is_exact_for_a_ramp_and_keeps_time() -> None:
    # the trapezoid rule integrates a linear signal exactly, sample for sample; a running sum
    # runs half a sample ahead (its value at sample i is the integral up to i + 1/2)
    fs = 50.0
    t = np.arange(200) / fs
    ramp = 3.0 + 2.0 * t
    assert integrate(ramp, fs) == pytest.approx(3.0 * t + t**2, abs=1e-12)
    both = integrate(np.column_stack([ramp, -ramp]), fs)
    assert both.shape == (200, 2)
    assert both[:, 1] == pytest.approx(-both[:, 0], abs=1e-12)
    # a half-sine velocity integrates to its displacement within 0.1 mm (a running sum is
    # half a sample, 1 cm here, off)
    v = np.sin(np.pi * t / t[-1])
    x = integrate(v, fs)
    truth = (1 - np.cos(np.pi * t / t[-1])) * t[-1] / np.pi
    assert np.abs(x - truth).max() < 1e-4


@pytest.mark.parametrize("rate", [12.5, 50.0, 200.0])
def test_a_float32_recording_is_prepared_as_its_float64_copy(rate: float) -> None:
    # a recording's IMU streams are float32: every path must widen them exactly
    rng = np.random.default_rng(5)
    acc = _bouncing(rate) + rng.normal(0.0, 0.3, (int(20 * rate), 3))
    gyro = rng.normal(0.0, 0.5, acc.shape)
    gyro[7] = np.nan
    f32 = _frame(acc, rate, gyro).astype(np.float32)
    a, b = prepare(f32), prepare(f32.astype(np.float64))
    assert a.gyro is not None and b.gyro is not None
    for x, y in ((a.t_s, b.t_s), (a.acc, b.acc), (a.gyro, b.gyro), (a.gap, b.gap)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("n", [700, 777, 799])  # 2n = 1554 and 1598 have large prime factors
def test_the_dominant_period_is_the_repetition_period(n: int) -> None:
    t = np.arange(n) / 50.0  # shorter than three periods: one autocorrelation peak in range
    sig = np.sin(2 * np.pi * t / 4.0) + 0.3 * np.sin(2 * np.pi * t / 1.3)
    assert dominant_period_s(sig, 50.0) == pytest.approx(4.0, abs=0.1)
    assert np.isnan(dominant_period_s(np.random.default_rng(1).normal(size=n), 50.0))


@pytest.mark.parametrize(
    ("exercise", "rate_hz", "seed", "paused"),
    [("back_squat", 12.5, 58, True), ("biceps_curl", 50.0, 876, False)],
)
def test_a_dropout_leaves_the_gyro_derotated_acceleration_outside_it_as_it_was(
    exercise: str, rate_hz: float, seed: int, paused: bool
) -> None:
    # a 2-s dropout hides a turn of the forearm that the bridge misses; the gyro's bias, taken
    # as its mean over a window that starts and ends in one posture, then turned the angle
    # over the whole window: the acceleration was 1.3 and 4.3 times its own spread off, before
    # the dropout as much as after it. The angle must come back to where it started
    tempo = Tempo(2, 0, 1, 0)
    spec = evaluation_spec(
        exercise, "wrist", rate_hz, tempo=tempo, gyro=True, paused=paused, **NOISY_SENSOR
    )
    s = generate(spec, seed=seed)
    clean, cut = prepare(s.imu), prepare(drop_out(s.imu, s.truth.sets, 2.0))
    i0, i1 = candidate_windows(cut)[1]
    (a, b), fs = cut.dropouts_in(i0, i1)[0], cut.fs_hz
    assert clean.gyro is not None and cut.gyro is not None
    ref = vertical_acceleration(clean.acc[i0:i1], fs, clean.gyro[i0:i1])
    got = vertical_acceleration(cut.acc[i0:i1], fs, cut.gyro[i0:i1], cut.dropouts_in(i0, i1))
    assert np.std(got[:a] - ref[:a]) < 0.1 * np.std(ref)
    assert np.std(got[b:] - ref[b:]) < 0.1 * np.std(ref)
