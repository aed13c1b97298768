from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from liftsense.signal.bias import MAX_UNEXPLAINED_WITHOUT_GYRO, still, still_bias, turning_bias
from liftsense.signal.filters import integrate
from liftsense.signal.kinematics import (
    _derotate,
    bias_velocity,
    magnitude_bias_velocity,
    slow_direction,
)
from liftsense.units import G_MPS2

FS = 50.0
BIAS = np.array([0.15, -0.3, 0.25])


def _minjerk(n: int) -> np.ndarray:
    s = np.arange(n) / max(n - 1, 1)
    out: np.ndarray = 10 * s**3 - 15 * s**4 + 6 * s**5
    return out


def _hinge(angle_rad: np.ndarray) -> np.ndarray:
    """Gravity in the frame of a sensor turned by ``angle_rad`` about its x axis."""
    return G_MPS2 * np.column_stack(
        [np.zeros_like(angle_rad), np.sin(angle_rad), np.cos(angle_rad)]
    )


def _paused_squats(turn_rad: float = 1.2, reps: int = 4) -> np.ndarray:
    """A thigh's tilt through paused squats: 3 s standing, a 3-s descent, 1 s still at the
    bottom, a 1-s ascent; then 3 s standing."""
    parts: list[np.ndarray] = []
    for _ in range(reps):
        parts += [
            np.zeros(int(3 * FS)),
            turn_rad * _minjerk(int(3 * FS)),
            np.full(int(1 * FS), turn_rad),
            turn_rad * (1 - _minjerk(int(1 * FS))),
        ]
    parts.append(np.zeros(int(3 * FS)))
    return np.concatenate(parts)


def _unpaused_reps(turn_rad: float, out_s: float, back_s: float, reps: int = 5) -> np.ndarray:
    """A limb's tilt through reps without a pause, from and to one resting posture: 3 s at
    rest, each rep turning out over ``out_s`` and back over ``back_s``; then 3 s at rest."""
    parts = [np.zeros(int(3 * FS))]
    for _ in range(reps):
        parts += [turn_rad * _minjerk(int(out_s * FS)), turn_rad * (1 - _minjerk(int(back_s * FS)))]
    parts.append(np.zeros(int(3 * FS)))
    return np.concatenate(parts)


def _fast_swings(turn_rad: float = 1.2, reps: int = 6) -> np.ndarray:
    """Reps without a pause: 2 s down, 1 s up, straight into the next."""
    one = np.concatenate([turn_rad * _minjerk(int(2 * FS)), turn_rad * (1 - _minjerk(int(FS)))])
    return np.tile(one, reps)


def test_the_bias_of_a_turning_sensor_is_found_in_the_plane_it_turns_in() -> None:
    # still at three postures: standing, halfway down and at the bottom (two postures pin
    # only the bias along their difference)
    half = np.concatenate([_paused_squats(turn_rad=0.6, reps=1), _paused_squats(reps=2)])
    b = still_bias(_hinge(half) + BIAS, FS)
    # the hinge turns about x: the y and z components change the reading with the posture and
    # are pinned; x only scales the magnitude in every posture alike, and stays unestimated
    assert np.all(np.abs(b[1:] - BIAS[1:]) < 0.02), b
    assert abs(b[0]) < 0.02


def test_without_the_bias_the_magnitude_no_longer_follows_the_posture() -> None:
    angle = _paused_squats()
    lp = _hinge(angle) + BIAS
    before = np.ptp(np.linalg.norm(lp, axis=1))
    after = np.ptp(np.linalg.norm(lp - still_bias(lp, FS), axis=1))
    assert before > 0.3
    assert after < 0.02


def test_a_sensor_that_keeps_its_posture_gets_no_bias() -> None:
    # one posture cannot tell a bias from gravity's magnitude: nothing is removed
    lp = _hinge(np.full(int(20 * FS), 0.3)) + BIAS
    assert np.allclose(still_bias(lp, FS), 0.0, atol=1e-6)


def test_magnitudes_a_bias_cannot_explain_get_no_bias() -> None:
    # still postures a few degrees apart whose magnitudes go up, down and up again: no bias
    # does that (a scale error, or a misfit amplified by postures so close)
    angle = np.repeat([0.0, 0.05, 0.1, 0.15], int(2 * FS))
    lp = _hinge(angle) * np.repeat([1.0, 1.005, 0.995, 1.005], int(2 * FS))[:, None]
    assert np.all(still_bias(lp, FS) == 0.0)
    # ... while the same postures with a bias alone get the part of it that they differ by
    biased = _hinge(angle) + BIAS
    b = still_bias(biased, FS)
    spread = [np.ptp(np.linalg.norm(x, axis=1)) for x in (biased, biased - b)]
    assert spread[0] > 0.04 and spread[1] < spread[0] / 3


def test_the_turnarounds_of_reps_without_a_pause_are_not_still() -> None:
    angle = np.concatenate([np.zeros(int(2 * FS)), _fast_swings(), np.zeros(int(2 * FS))])
    mask = still(_hinge(angle), FS)
    moving = slice(int(2.5 * FS), angle.size - int(2.5 * FS))
    assert mask[: int(1.5 * FS)].all() and mask[-int(1.5 * FS) :].all()
    assert not mask[moving].any()
    # ... so only the standing posture is still, and no bias is fitted from it
    assert np.all(still_bias(_hinge(angle) + BIAS, FS) == 0.0)


def test_a_pause_at_the_bottom_is_still() -> None:
    angle = _paused_squats(reps=1)
    mask = still(_hinge(angle), FS)
    bottom = slice(int(6.0 * FS), int(6.7 * FS))  # the 1-s pause (6-7 s), less half a hold
    descent = slice(int(3.5 * FS), int(5.0 * FS))
    assert mask[bottom].all()
    assert not mask[descent].any()


@settings(max_examples=25, deadline=None)
@given(st.tuples(*[st.floats(-1.0, 1.0)] * 4).filter(lambda q: sum(x * x for x in q) > 0.1))
def test_turning_the_sensor_turns_the_bias(q: tuple[float, float, float, float]) -> None:
    rot = Rotation.from_quat(q).as_matrix()
    lp = _hinge(_paused_squats()) + BIAS
    assert np.allclose(still_bias(lp @ rot.T, FS), rot @ still_bias(lp, FS), atol=1e-6)


def test_a_dropout_s_bridge_is_no_still_posture() -> None:
    # the link dropped for 1.5 s from late in a descent into the bottom pause: the grid
    # bridges the acc straight across from the last sample before to the first after, each
    # read mid-movement (0.3 m/s² short of gravity: the lift decelerating); that bridge turns
    # and changes as slowly as a hold
    half = np.concatenate([_paused_squats(turn_rad=0.6, reps=1), _paused_squats(reps=2)])
    acc = _hinge(half) + BIAS
    a, b = int(24.5 * FS), int(26 * FS)  # into the last bottom pause (another is on record)
    short = (G_MPS2 - 0.3) / G_MPS2
    start, end = _hinge(half[[a - 1, b]]) * short + BIAS
    acc[a:b] = start + np.linspace(0.0, 1.0, b - a + 2)[1:-1, None] * (end - start)
    bridged = np.zeros(acc.shape[0], dtype=bool)
    bridged[a:b] = True
    assert still(acc, FS)[a + 25 : b - 25].all()  # what made it a posture to fit
    assert not still(acc, FS, bridged)[a:b].any()
    assert np.abs(still_bias(acc, FS)[1:] - BIAS[1:]).max() > 0.1
    # left out, the bridge changes nothing: the fit is the one to the samples on record
    on_record = np.delete(_hinge(half) + BIAS, np.s_[a:b], axis=0)
    np.testing.assert_allclose(still_bias(acc, FS, bridged=bridged), still_bias(on_record, FS))


def test_the_bias_of_a_sensor_resting_in_one_posture_is_found_at_its_reps_still_moments() -> None:
    # a forearm curling without a pause: it rests hanging only (no second posture for
    # still_bias), and turns 2.2 rad out and back in each rep
    angle = _unpaused_reps(2.2, 1.0, 2.0)
    hinge = (angle, np.array([1.0, 0.0, 0.0]))
    hanging = np.tile([0.0, 0.0, G_MPS2], (angle.size, 1))
    acc = _derotate(hanging, (-angle, hinge[1])) + BIAS  # gravity alone, turned, and the bias
    # the vertical velocity as vertical_motion integrates it (on the mean direction of the
    # de-rotated specific force): all of it is the bias's
    derotated = _derotate(acc, hinge)
    g = derotated.mean(axis=0)
    up = derotated @ (g / np.linalg.norm(g))
    v = integrate(up - up.mean(), FS)
    v -= np.linspace(v[0], v[-1], v.size)
    h = bias_velocity(acc, FS, hinge)
    still_at = np.flatnonzero(angle == 0.0)  # resting, and each rep's start
    b = turning_bias(v, h, still_at, FS)
    assert abs(b[0]) < 0.01  # along the hinge it never shows: none
    # in the plane it turns in, the velocity it adds is gone to a few hundredths, at the
    # still moments and between them (the same turn in every rep leaves a direction of the
    # bias that only shows between the still moments: 0.04 of 0.39 m/s² is left)
    assert np.abs(b[1:] - BIAS[1:]).max() < 0.05
    assert np.abs(v - h @ b).max() < 0.02 * np.abs(v).max()
    assert np.ptp(integrate(v - h @ b, FS)) < 0.01 * np.ptp(integrate(v, FS))
    assert not turning_bias(v, h, still_at[:5], FS).any()  # too few still moments: none
    # stitched across a dropout, the velocity steps there: a step it is told of costs nothing
    at = int(still_at[still_at.size // 2])
    stepped = v + 0.3 * (np.arange(v.size) >= at)
    assert np.allclose(turning_bias(stepped, h, still_at, FS, steps=np.array([at])), b, atol=0.005)
    assert not np.allclose(turning_bias(stepped, h, still_at, FS), b, atol=0.01)
    # steps with no knot on a side, or told twice, change nothing (and do not make the fit
    # singular)
    same = np.array([at, at, 0, v.size + 5])
    assert np.allclose(turning_bias(stepped, h, still_at, FS, steps=same), b, atol=0.005)


def test_without_gyro_the_bias_is_found_at_the_reps_still_moments_from_the_posture() -> None:
    # a wrist without gyro through slow reps that never pause: 6-s lowerings turning it
    # 0.6 rad, 1-s returns, from and to one resting posture; still only at rest and at each
    # rep's start
    angle = _unpaused_reps(0.6, 6.0, 1.0)
    acc = _hinge(angle) + BIAS  # gravity alone, turned, and the bias
    # the vertical velocity as vertical_motion reads it from the magnitude: all the bias's
    mag = np.linalg.norm(acc, axis=1)
    v = integrate(mag - mag.mean(), FS)
    v -= np.linspace(v[0], v[-1], v.size)
    still_at = np.flatnonzero(angle == 0.0)
    h = magnitude_bias_velocity(slow_direction(acc, FS), FS)
    b = turning_bias(v, h, still_at, FS, most=MAX_UNEXPLAINED_WITHOUT_GYRO)
    assert abs(b[0]) < 0.01  # along the hinge it never shows: none
    # across the turn it shows in proportion to the angle, and is found; along gravity at
    # rest only with its square, which the velocity pins less
    assert abs(b[1] - BIAS[1]) < 0.05
    # the velocity it adds through each lowering is gone to a few hundredths
    assert np.abs(v - h @ b).max() < 0.05 * np.abs(v).max()
    assert np.ptp(integrate(v - h @ b, FS)) < 0.05 * np.ptp(integrate(v, FS))
