"""Movement signals of one window of IMU samples on a uniform grid (``imu.prepare``): the
sensor's vertical acceleration, velocity and displacement, the rotation of the joint carrying
it, its posture, and the period its movement repeats at.

Vertical movement comes from the magnitude of the specific force: ``|f| = |g + a|`` is ``g`` plus
the vertical component of the linear acceleration to first order, whatever the sensor's
orientation, so a wrist or thigh that rotates during the lift does not leak gravity into the
vertical signal. Drift of the double integral is controlled by zero velocity at the ends of a
window that starts and ends at rest and a high-pass at half the rep rate; the rep
detector then adds zero-velocity knots at the turnarounds and pauses it finds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import next_fast_len

from liftsense.signal.bias import still, still_bias
from liftsense.signal.dropouts import period_samples, stitch, stitch_velocity, unrecorded
from liftsense.signal.filters import highpass, integrate, lowpass
from liftsense.signal.imu import BoolArray, FloatArray, IntArray, row_norm, runs
from liftsense.signal.quantiles import median, quantile

__all__ = [
    "angle_from_mean_rad",
    "bias_velocity",
    "dominant_period_s",
    "hinge_angle",
    "magnitude_bias_velocity",
    "reads_magnitude",
    "rotation_progress",
    "slow_direction",
    "vertical_acceleration",
    "vertical_motion",
]

#: A sensor without gyro whose posture stays this close to its mean (rad) keeps its orientation.
_KEPT_TILT_RAD = 0.12


#: The angle (rad) a gyro turned about its principal axis, and that axis (``hinge_angle``).
Hinge = tuple[FloatArray, FloatArray]


def hinge_angle(gyro: FloatArray, fs_hz: float, dropouts: IntArray | None = None) -> Hinge:
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


def _derotate(acc: FloatArray, hinge: Hinge) -> FloatArray:
    """Acc expressed in the window's initial sensor frame, undoing the rotation the gyro saw
    about its principal axis (``hinge_angle``)."""
    angle, k = hinge
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
    hinge: Hinge | None = None,
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

    ``hinge``: the gyro's ``hinge_angle`` over ``dropouts``, where the caller has it.
    """
    tilt = _tilt_rad(acc, fs_hz) if gyro is None else None
    turns = tilt is None or _turns(tilt)
    bridged = unrecorded(dropouts, acc.shape[0])
    if turns:
        acc = acc - still_bias(lowpass(acc, fs_hz, 1.5), fs_hz, bridged=bridged)
    if gyro is not None:
        acc = _derotate(acc, hinge_angle(gyro, fs_hz, dropouts) if hinge is None else hinge)
    elif turns:
        mag = row_norm(acc)
        out: FloatArray = mag - np.mean(mag)
        return out
    g = np.mean(acc, axis=0)
    proj: FloatArray = acc @ (g / max(float(np.linalg.norm(g)), 1e-9))
    if tilt is not None and bool((tilt > _KEPT_TILT_RAD).any()):
        _turned_stretches(proj, acc, tilt, fs_hz, bridged)
    return proj - np.mean(proj)


def _turned_stretches(
    proj: FloatArray, acc: FloatArray, tilt: FloatArray, fs_hz: float, bridged: BoolArray
) -> None:
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
    quiet = still(lowpass(acc, fs_hz, 1.5), fs_hz, bridged)
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


def dominant_period_s(
    sig: FloatArray, fs_hz: float, lo_s: float = 0.6, hi_s: float = 15.0, *, first: bool = False
) -> float:
    """Period (s) of the highest autocorrelation peak of ``sig`` between ``lo_s`` and ``hi_s``
    (with ``first``: of the first peak there, the shortest lag at which it repeats); NaN if
    there is none (too short, or no repetition)."""
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
    best = peaks[0] if first else peaks[np.argmax(seg[peaks])]
    return float((lo + best) / fs_hz)


def vertical_motion(
    acc: FloatArray,
    fs_hz: float,
    gyro: FloatArray | None = None,
    dropouts: IntArray | None = None,
    hinge: Hinge | None = None,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Vertical velocity (m/s) and displacement (m, up positive) of the sensor over a window,
    and the ``dropouts`` across which the velocity is held level (``dropouts.stitch_velocity``:
    the set ended or began inside them, and what the load did there is unknown).

    The window should start and end at rest: the mean vertical acceleration over it is taken
    as the bias, which makes the velocity zero at both ends. The displacement is high-passed
    at half the rep rate (from the dominant period of the acceleration; 0.05-0.5 Hz): good
    enough to find reps, not to time them (the caller adds zero-velocity knots). ``hinge``:
    see ``vertical_acceleration``.
    """
    a = vertical_acceleration(acc, fs_hz, gyro, dropouts, hinge)
    v = integrate(a, fs_hz)
    period = dominant_period_s(lowpass(a, fs_hz, 3.0), fs_hz)
    held = np.empty((0, 2), dtype=np.int64)
    if dropouts is not None and dropouts.size:
        v, held = stitch_velocity(v, dropouts, period_samples(period, fs_hz), fs_hz)
    v -= np.linspace(v[0], v[-1], v.size)
    cutoff = 0.05 if not math.isfinite(period) else min(max(0.5 / period, 0.05), 0.5)
    x = highpass(integrate(v, fs_hz), fs_hz, cutoff)
    return v, x, held


def rotation_progress(
    acc: FloatArray,
    gyro: FloatArray | None,
    fs_hz: float,
    dropouts: IntArray | None = None,
    hinge: Hinge | None = None,
) -> FloatArray:
    """Rotation about the window's main axis (rad, sign arbitrary): the integrated gyro along
    its principal axis, or without gyro the angle of the low-passed acc in the plane of its mean
    (gravity) and its principal direction orthogonal to that: linear in a rotation past a right
    angle, and blind to acceleration along gravity, which only scales the vector. ``hinge``:
    the gyro's ``hinge_angle`` over ``dropouts``, where the caller has it."""
    if gyro is not None:
        return (hinge_angle(gyro, fs_hz, dropouts) if hinge is None else hinge)[0]
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


def bias_velocity(acc: FloatArray, fs_hz: float, hinge: Hinge) -> FloatArray:
    """How a constant accelerometer bias ``b`` (m/s², sensor frame) shows in the velocity
    ``vertical_motion`` gives a sensor the gyro saw turn (``hinge``): ``H @ b`` is added to the
    true velocity, ``H`` (n x 3, s) returned. Along gravity, the bias of a turning sensor
    changes with its posture, in step with the lift; ``H`` takes the velocity's de-rotation,
    projection on the mean gravity, mean removal, integration and end-to-end levelling (the
    gravity here still holds the bias ``still_bias`` takes off there: a degree or two apart)."""
    angle, k = hinge
    c, s = np.cos(angle), np.sin(angle)
    # the direction of the mean de-rotated specific force (gravity), summed term by term
    # of _derotate's rotation
    on_c, on_s = acc.T @ c, acc.T @ s
    g = on_c + np.cross(k, on_s) + k * (k @ (acc.sum(axis=0) - on_c))
    g /= max(float(np.linalg.norm(g)), 1e-9)
    # g . R(angle) e for each axis e, as _derotate turns a constant vector
    along = np.outer(c, g - (g @ k) * k) + np.outer(s, np.cross(g, k)) + (g @ k) * k
    h = integrate(along - np.mean(along, axis=0), fs_hz)
    n = acc.shape[0]
    out: FloatArray = h - np.linspace(h[0], h[-1], n)
    return out


def _turns(tilt: FloatArray) -> bool:
    """Whether a sensor without gyro turns, by its ``tilt`` from its mean posture (rad): more
    than 5 % of its samples lie further than ``_KEPT_TILT_RAD`` from it."""
    return bool(quantile(tilt, 0.95) > _KEPT_TILT_RAD)


def reads_magnitude(acc: FloatArray, fs_hz: float) -> bool:
    """Whether ``vertical_acceleration`` reads a sensor without gyro from the magnitude of its
    specific force: it turns."""
    return _turns(_tilt_rad(acc, fs_hz))


def magnitude_bias_velocity(unit: FloatArray, fs_hz: float) -> FloatArray:
    """How a constant accelerometer bias ``b`` shows in the velocity ``vertical_motion`` reads
    from the magnitude of the specific force: ``|f + b| = |f| + b . f/|f|`` to first order, so
    ``H @ b`` is added, ``H`` (n x 3, s) the posture ``unit`` (``slow_direction``) integrated,
    mean removed and levelled."""
    h = integrate(unit - np.mean(unit, axis=0), fs_hz)
    out: FloatArray = h - np.linspace(h[0], h[-1], h.shape[0])
    return out
