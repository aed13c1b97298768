"""Accelerometer bias from the still postures of a window.

A MEMS accelerometer reads the specific force plus a bias of up to a few tenths of m/s² per axis
(and 1 % scale errors). On a sensor that keeps its orientation the bias is a constant along
gravity, and removing the window's mean removes it. On a sensor that turns with a joint (thigh,
hip, wrist) its component along gravity changes with the posture, ``b · ĝ(t)``: an offset that
moves in step with the lift, which double integration turns into a displacement as large as
the rep itself (0.3 m/s² over a 6-s eccentric).

Still, the accelerometer reads gravity alone, so ``|f - b| = g`` in every still posture. A
window in which the sensor rests in several postures (standing, a bottom pause, the end of a
slow eccentric) pins the components of ``b`` in the plane the sensor turns in, which are the ones
that change with the posture. Still means the slow direction of the specific force turns
slowly and its magnitude changes slowly, for a sustained hold: the turnaround of a rep without
a pause passes through zero velocity at an instant, at its largest acceleration, and is not
still. The fit is a sphere fit of the still samples, ridge-regularised towards no bias, so a
component it cannot see (along an axis the sensor never turns about) stays zero. A fit that
leaves most of the spread of the still magnitudes unexplained is dropped: what varies there is
not a bias.

A sensor that rests in one posture only (a wrist hanging between curls that never pause at the
top) pins nothing in the plane it turns in. With a gyro, the sensor's turn is known, and so is
how each component of ``b`` shows in its vertical velocity (``kinematics.bias_velocity``): the
velocity must be zero wherever the reps leave the load still (the rests, the pauses, each rep's
start), and a least-squares fit there gives the components that show (``turning_bias``). On the
evaluation grid's noisy accelerometer (0.4 m/s² per axis), that took the mean error of a rep's
range of motion at the wrist with a gyro from 6.1 % to 1.9 %; unfitted, curls were up to twice
the load's travel.

Without a gyro, the posture is the direction of the low-passed specific force, and a turning
sensor's vertical velocity is read from the magnitude of the specific force, which a bias moves
by ``b · f/|f|`` (``kinematics.magnitude_bias_velocity``): the same fit applies. It is needed
even where ``still_bias`` has postures to fit: the slow middle of a 3-s lowering turns and
changes its acceleration slowly enough to look still, and reads 0.2 m/s² below gravity
(overhead presses at the wrist: 47 % of the samples fitted); the bias made of them, taken off,
left the lowerings up to 1.1 s short. But the posture that shows how the bias moves the velocity
is itself read from the specific force, which the movement's acceleration bends, and the
magnitude holds the square of the horizontal acceleration as well: the fit must explain more
of the velocity at the still moments (``MAX_UNEXPLAINED_WITHOUT_GYRO``). Kept where it explained
0.3 of it, as with a gyro, it placed a 3-1-1-1 RDL's rep start 0.45 s early at the hip.

A dropout's samples are no measurements: the grid bridges it straight from the last reading
before to the first after, and where both were taken mid-movement, the bridge holds the lift's
acceleration (a few tenths of m/s² off gravity) for the length of the dropout while turning as
slowly as a hold. Fitted as a still posture, it made a bias of over 1 m/s² where the recorded
postures give 0.2, and that bias, taken off the whole window, tilted the vertical acceleration
of every rep with the posture (hip thrusts at the hip, 12.5 Hz, 2 s unrecorded mid-set: 2 reps
found of 5). A sample flagged ``bridged`` is never still.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.ndimage import minimum_filter1d

from liftsense.signal.quantiles import median

__all__ = [
    "MAX_UNEXPLAINED",
    "MAX_UNEXPLAINED_WITHOUT_GYRO",
    "still",
    "still_bias",
    "turning_bias",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Still: the slow specific force turns slower than this (rad/s) ...
MAX_TURN_RADPS = 0.12
#: ... and its magnitude changes slower than this (m/s³) ...
MAX_JERK_MPS3 = 0.5
#: ... over a whole hold this long (s).
HOLD_S = 0.4
#: The bias is kept when it leaves at most this part of the spread of the still magnitudes
#: (``still_bias``), or of the velocity where the load is still (``turning_bias``) ...
MAX_UNEXPLAINED = 0.7
#: ... and of that velocity read from the magnitude of a sensor without gyro, whose posture
#: comes from the direction of the specific force, which the movement's own acceleration bends
#: (see the module's docstring).
MAX_UNEXPLAINED_WITHOUT_GYRO = 0.5
#: The largest accelerometer bias (m/s²) ``turning_bias`` accepts: about 150 mg, the worst
#: zero-g offset in the datasheets of MEMS accelerometers worn by lifters.
MAX_TURNING_BIAS_MPS2 = 1.5
_FIT_RATE_HZ = 10.0  # still samples are thinned to this rate: neighbours add no information
_MIN_POINTS = 10
_RIDGE = 1e-3  # per point: a bias the postures do not pin stays at zero


def _norm(x: FloatArray) -> FloatArray:
    out: FloatArray = np.sqrt(np.einsum("ij,ij->i", x, x))
    return out


def still(lp: FloatArray, fs_hz: float, bridged: BoolArray | None = None) -> BoolArray:
    """Samples of the low-passed specific force ``lp`` (n x 3, m/s²) at which the sensor is
    still: neither turning nor changing its acceleration, for the whole hold around them; never
    one flagged ``bridged`` (a dropout's: see the module's docstring)."""
    n = np.maximum(_norm(lp), 1e-9)
    turn = _norm(np.gradient(lp / n[:, None], axis=0)) * fs_hz
    jerk = np.abs(np.gradient(n)) * fs_hz
    quiet = (turn < MAX_TURN_RADPS) & (jerk < MAX_JERK_MPS3)
    hold = max(1, int(HOLD_S * fs_hz))
    out: BoolArray = minimum_filter1d(quiet.astype(np.uint8), hold, mode="nearest") > 0
    if bridged is not None:
        out &= ~bridged
    return out


def still_bias(
    lp: FloatArray, fs_hz: float, iterations: int = 10, *, bridged: BoolArray | None = None
) -> FloatArray:
    """The accelerometer bias (m/s², sensor frame) that makes the still samples of ``lp`` one
    magnitude; zero with less than a second of still samples, or when it explains less than
    ``1 - MAX_UNEXPLAINED`` of the spread of their magnitudes; ``bridged``: see ``still``."""
    pts = lp[still(lp, fs_hz, bridged)][:: max(1, int(fs_hz / _FIT_RATE_HZ))]
    b = np.zeros(3)
    if pts.shape[0] < _MIN_POINTS:
        return b
    k = pts.shape[0]
    radius = median(_norm(pts))
    reg = np.diag([_RIDGE * k] * 3 + [1e-6 * k])  # the radius is free, just solvable
    for _ in range(iterations):  # Gauss-Newton on |p - b| - radius
        d = pts - b
        dist = np.maximum(_norm(d), 1e-9)
        jac = np.column_stack([-d / dist[:, None], -np.ones(k)])
        grad = jac.T @ (dist - radius)
        grad[:3] += _RIDGE * k * b
        step = np.linalg.solve(jac.T @ jac + reg, -grad)
        b += step[:3]
        radius += float(step[3])
        if float(np.max(np.abs(step))) < 1e-5:
            break
    # a bias explains the still postures' magnitudes, or it is a fit to something else
    # (scale errors, still postures a few degrees apart that amplify the misfit): leave it
    if float(np.std(_norm(pts - b))) > MAX_UNEXPLAINED * float(np.std(_norm(pts))):
        return np.zeros(3)
    return b


def turning_bias(
    v: FloatArray,
    h: FloatArray,
    knots: npt.NDArray[np.int64],
    fs_hz: float,
    steps: npt.NDArray[np.int64] | None = None,
    most: float = MAX_UNEXPLAINED,
) -> FloatArray:
    """The accelerometer bias (m/s², sensor frame) of a turning sensor, from its vertical
    velocity ``v`` (m/s) at the samples ``knots`` (sorted) where the load is still: there
    ``v = c0 + c1 t + h @ b`` (``h``: ``kinematics.bias_velocity`` for a sensor the gyro saw
    turn, ``kinematics.magnitude_bias_velocity`` without a gyro; ``c0 + c1 t``: the drift of
    a bias that does not turn), fitted by least squares, ridge-regularised towards no bias as in
    ``still_bias``. ``v`` may step by any amount at the samples ``steps`` (where it was
    stitched across a dropout). Zero with fewer than ``_MIN_POINTS`` knots; zero too for a fit
    that leaves more than ``most`` of what the drift alone leaves at the knots, or
    that is larger than an accelerometer's bias can be (``MAX_TURNING_BIAS_MPS2``): the knots
    are not still, or the gyro's single hinge (the posture, without a gyro) does not describe
    how the sensor turned (see the module's docstring for why)."""
    none = np.zeros(3)
    if knots.size < _MIN_POINTS:
        return none
    cols = [np.ones(knots.size), knots / fs_hz]
    # each step once, where knots lie on both sides of it (else it is the constant)
    at = {int(np.searchsorted(knots, a)) for a in (steps if steps is not None else [])}
    cols += [
        (np.arange(knots.size) >= k).astype(np.float64) for k in sorted(at) if 0 < k < knots.size
    ]
    drift = np.column_stack(cols)
    x = np.column_stack([drift, h[knots]])
    reg = np.zeros((x.shape[1], x.shape[1]))
    reg[-3:, -3:] = np.eye(3) * _RIDGE * knots.size
    coef = np.linalg.solve(x.T @ x + reg, x.T @ v[knots])
    drift_only = v[knots] - drift @ np.linalg.lstsq(drift, v[knots], rcond=None)[0]
    unexplained = float(np.std(v[knots] - x @ coef))
    b: FloatArray = coef[-3:]
    if unexplained > most * float(np.std(drift_only)):
        return none
    if float(np.linalg.norm(b)) > MAX_TURNING_BIAS_MPS2:
        return none
    return b
