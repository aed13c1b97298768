"""The velocity error the drift control removes, against velocities with known errors."""

from __future__ import annotations

import numpy as np

from liftsense.signal.drift import velocity_correction
from liftsense.signal.phases import RawRep

FS = 50.0


def _hump(n: int, peak: float) -> np.ndarray:
    """A half sine of ``n`` samples: a movement one way, from still to still."""
    return peak * np.sin(np.pi * np.arange(n) / n)


def test_the_error_steps_across_a_dropout_the_velocity_was_held_level_across() -> None:
    # a rep (samples 100-300), then a failed attempt: down (300-500), stalled half-way back up
    # (500-700), then still. A dropout (330-380) hides most of the way down, and the velocity
    # held level across it is 0.25 m/s off from there on. The first pass took the attempt
    # for a rep that came back (plateaus at 300 and 705)
    v = np.zeros(1000)
    v[100:200], v[200:300] = _hump(100, 0.6), -_hump(100, 0.6)
    v[300:500], v[500:700] = -_hump(200, 0.5), _hump(200, 0.25)
    a, b = 330, 380
    measured = v.copy()
    measured[a:b] = v[a - 1]
    measured[b:] += 0.25
    reps = [
        RawRep(100.0, 200.0, 200.0, 300.0, 0.0, 0.4, 0.0, 95, 200, 300, False),
        RawRep(300.0, 500.0, 500.0, 700.0, 0.0, 0.6, 0.0, 300, 500, 705, False),
    ]
    err = velocity_correction(reps, FS, measured, dropouts=np.array([[a, b]]))
    # the load's velocity where it was measured, and so the stalled return (its way back
    # is half its way down, as recorded; spread from the last knot before the dropout to the
    # next after it, the step made the attempt come back all the way)
    assert np.allclose((measured - err)[:a], v[:a], atol=1e-9)
    assert np.allclose((measured - err)[b:], v[b:], atol=1e-9)
    back = (measured - err)[500:700].sum() / FS
    down = -v[300:500].sum() / FS
    assert abs(back - 0.5 * down) < 1e-6
    # without the dropout's span the error is linear between knots, and the attempt's far
    # turnaround is set so that it comes back
    spread = velocity_correction(reps, FS, measured)
    assert not np.allclose((measured - spread)[b:], v[b:], atol=0.05)


def test_a_dropout_changes_nothing_where_no_rep_reaches_it_and_knots_lie_inside_it() -> None:
    # a rest knot inside the dropout (the held velocity there reads the error before it):
    # the error is interpolated between knots as without the dropout
    v = np.zeros(600)
    v[100:200], v[200:300] = _hump(100, 0.6), -_hump(100, 0.6)
    measured = v + np.linspace(0.0, 0.1, v.size)  # a drifting bias
    reps = [RawRep(100.0, 200.0, 200.0, 300.0, 0.0, 0.4, 0.0, 95, 200, 300, False)]
    drop = np.array([[400, 450]])
    assert np.array_equal(
        velocity_correction(reps, FS, measured, dropouts=drop),
        velocity_correction(reps, FS, measured),
    )
