from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.signal.dropouts import (
    dropout_spans,
    hidden_per_step,
    in_dropouts,
    stitch,
    stitch_velocity,
    unrecorded,
)
from liftsense.signal.filters import integrate


def test_dropout_spans_are_the_grid_samples_inside_each_long_enough_gap() -> None:
    t = np.array([0.0, 0.1, 0.2, 1.2, 1.3, 1.4, 1.8, 2.0, 9.0, 9.1])  # gaps of 1.0, 0.4, 7 s
    grid = np.arange(0.0, 9.1, 0.1)
    spans = dropout_spans(t, grid, longest_s=5.0)
    assert spans.tolist() == [[3, 12]]  # 0.3 .. 1.1 s
    assert dropout_spans(t, grid, longest_s=10.0).tolist() == [[3, 12], [21, 90]]
    assert dropout_spans(t[:3], grid, 5.0).shape == (0, 2)


def _periodic(n: int, period_n: int, amp: float, trend: float, phase: float) -> np.ndarray:
    i = np.arange(n)
    return amp * np.sin(2 * np.pi * i / period_n + phase) + trend * i


def test_unrecorded_flags_the_samples_inside_each_span_and_nothing_without_spans() -> None:
    spans = np.array([[2, 4], [7, 12]], dtype=np.int64)  # the second runs past the grid's end
    want = [False, False, True, True, False, False, False, True, True, True]
    assert unrecorded(spans, 10).tolist() == want
    assert not unrecorded(None, 10).any()
    assert not unrecorded(np.empty((0, 2), dtype=np.int64), 10).any()


@settings(max_examples=60, deadline=None)
@given(
    a=st.integers(150, 600),
    length=st.integers(2, 60),
    offset=st.floats(-5.0, 5.0),
    trend=st.floats(-0.01, 0.01),
    phase=st.floats(0.0, 6.3),
)
def test_stitch_restores_a_periodic_running_integral_across_a_dropout(
    a: int, length: int, offset: float, trend: float, phase: float
) -> None:
    true = _periodic(900, 100, 1.0, trend, phase)
    b = a + length
    broken = true.copy()
    broken[a:b] = 7.0  # whatever the bridge made of it
    broken[b:] += offset  # and the step it left
    out = stitch(broken, np.array([[a, b]]), 100)
    assert np.abs(out[b:] - true[b:]).max() < 0.1
    assert np.array_equal(out[:a], true[:a])
    inside = out[a:b]  # straight between the samples either side
    assert inside.min() >= min(out[a - 1], out[b]) - 1e-9
    assert inside.max() <= max(out[a - 1], out[b]) + 1e-9


def test_stitch_velocity_matches_the_displacement_too() -> None:
    fs, n, period = 50.0, 1200, 150
    v = _periodic(n, period, 0.8, 1e-4, 0.3)
    a, b = 500, 550
    broken = v.copy()
    broken[a:b] = np.linspace(v[a - 1], v[a - 1] + 0.6, b - a)  # a bridge that got it wrong
    broken[b:] += 0.6
    out, held = stitch_velocity(broken, np.array([[a, b]]), period, fs)
    assert held.shape == (0, 2)  # the set goes on through the dropout: stitched
    x_true, x_out = integrate(v, fs), integrate(out, fs)
    assert np.abs(out[b:] - v[b:]).max() < 0.02
    assert np.abs(x_out[b:] - x_true[b:]).max() < 0.02
    assert np.abs(integrate(broken, fs)[b:] - x_true[b:]).max() > 0.5  # what it mends


def test_nothing_is_stitched_without_dropouts_or_at_the_edges() -> None:
    sig = _periodic(300, 50, 1.0, 0.0, 0.0)
    assert np.array_equal(stitch(sig, np.empty((0, 2), dtype=np.int64), 50), sig)
    assert np.array_equal(stitch(sig, np.array([[0, 20], [290, 300]]), 50), sig)


def test_no_angle_is_stitched_where_the_set_does_not_go_on_through_the_dropout() -> None:
    # the set ended inside the dropout: no period is matched, and an angle is left as the
    # bridge made it
    moving = _periodic(400, 100, 1.0, 0.0, 0.0)
    ended = np.concatenate([moving, np.full(300, 2.0)])
    spans = np.array([[400, 430]])
    assert np.array_equal(stitch(ended, spans, 100), ended)
    began = ended[::-1].copy()  # ... or began inside it
    assert np.array_equal(stitch(began, np.array([[270, 300]]), 100), began)


def test_the_velocity_is_held_level_where_the_set_does_not_go_on_through_the_dropout() -> None:
    # the set ended inside the dropout, which ended as the bar went down to the hooks: the
    # bridge ran towards that acceleration and stepped the velocity by 0.6 m/s
    a, b = 400, 500
    moving = _periodic(a, 100, 0.5, 0.0, 0.0)
    end = moving[-1]
    bridged = np.linspace(end, end + 0.6, b - a + 2)[1:-1]
    after = end + 0.6 + _periodic(300, 35, 0.02, 0.0, 0.0)  # the re-rack's last wobble
    v = np.concatenate([moving, bridged, after])
    out, held = stitch_velocity(v, np.array([[a, b]]), 100, 50.0)
    assert np.array_equal(out[:a], v[:a])
    assert np.allclose(out[a:b], end)
    assert np.allclose(out[b:], v[b:] - 0.6)
    assert held.tolist() == [[a, b]]
    # ... or began inside it; at either end of the signal nothing is done
    began = v[::-1].copy()
    out, held = stitch_velocity(began, np.array([[300, 400]]), 100, 50.0)
    assert np.allclose(out[400:], began[400:] + 0.6)
    assert held.tolist() == [[300, 400]]
    out, held = stitch_velocity(v, np.array([[0, 50], [750, 800]]), 100, 50.0)
    assert np.array_equal(out, v)
    assert held.shape == (0, 2)


def _noisy_velocity(n: int, a: int, moves_after: bool, seed: int = 3) -> np.ndarray:
    """A noisy accelerometer's velocity (50 Hz): slow reps (7-s period, peaks of 0.08 m/s,
    as in a set of 6-s lowerings) up to sample ``a``, and after it the same reps or a rest;
    the noise changes it from sample to sample about as much as the reps do."""
    rng = np.random.default_rng(seed)
    reps = 0.08 * np.sin(2 * np.pi * np.arange(n) / 350)
    if not moves_after:
        reps[a:] = reps[a - 1]
    return reps + np.cumsum(rng.normal(0.0, 0.0012, n))


def test_a_noisy_rest_after_the_set_is_not_taken_for_the_set_going_on() -> None:
    # the set ended inside the dropout: after it the velocity changes from sample to sample
    # as much as during the set (the noise is most of that), but hardly swings
    a, b = 1400, 1450
    v = _noisy_velocity(2100, a, moves_after=False)
    steps = np.diff(v)
    assert 0.6 < steps[b : b + 350].std() / steps[a - 350 : a].std() < 1.5
    assert np.ptp(v[b : b + 350]) < 0.5 * np.ptp(v[a - 350 : a])
    v[a:b] = np.linspace(v[a - 1], v[a - 1] + 0.3, b - a)  # the bridge
    v[b:] += 0.3
    out, held = stitch_velocity(v, np.array([[a, b]]), 350, 50.0)
    assert held.tolist() == [[a, b]]  # held level, not matched to a period
    assert np.allclose(out[b:], v[b:] - 0.3, atol=0.05)
    # ... while a set of the same noisy reps that goes on through it is stitched
    going = _noisy_velocity(2100, a, moves_after=True)
    going[a:b] = going[a - 1]
    _, held = stitch_velocity(going, np.array([[a, b]]), 350, 50.0)
    assert held.shape == (0, 2)


def test_reps_a_dropout_hid_are_counted_where_the_set_kept_its_rhythm_through_it() -> None:
    fs = 10.0  # a rep every 30 samples: 3 s
    starts = np.array([0.0, 30.0, 60.0, 150.0, 180.0])  # the reps at 90 and 120 were lost
    moving = np.ones(210)
    drop = np.array([[65, 115]])  # 5 s from just after the rep at 60 began
    assert hidden_per_step(starts, drop, moving, fs).tolist() == [0, 0, 2, 0]
    assert hidden_per_step(starts, np.zeros((0, 2), dtype=np.int64), moving, fs).sum() == 0
    # a 2-s dropout in that step leaves 7 s of it on record, more than the rep before and one
    # more: the lifter paused there, on record, and the dropout hid no two reps
    assert hidden_per_step(starts, np.array([[75, 95]]), moving, fs).sum() == 0
    # a step that is no whole number of periods is a pause in the set, not hidden reps
    late = np.array([0.0, 30.0, 60.0, 165.0, 195.0])
    assert hidden_per_step(late, drop, np.ones(225), fs).sum() == 0
    # still on either side of the dropout: the lifter paused there
    still_before = moving.copy()
    still_before[55:65] = 0.0
    assert hidden_per_step(starts, drop, still_before, fs).sum() == 0
    still_after = moving.copy()
    still_after[115:125] = 0.0
    assert hidden_per_step(starts, drop, still_after, fs).sum() == 0


def test_reps_a_dropout_cut_into_are_counted_though_most_of_the_step_was_recorded() -> None:
    fs = 10.0  # a rep every 30 samples: 3 s
    starts = np.array([0.0, 30.0, 60.0, 150.0, 180.0])  # the reps at 90 and 120 were lost
    moving = np.ones(210)
    # a 2-s dropout across the turn from the rep at 90 to the one at 120 cuts into both, and
    # leaves 7 s of the step on record: more than the rep before and one more, but no rep of
    # it out of the dropout's reach
    assert hidden_per_step(starts, np.array([[110, 130]]), moving, fs).sum() == 2
    # ... not where the sensor, moving at the dropout's edges, was still over most of what of
    # those two reps is on record (a quarter of its usual motion): a lifter who paused there
    paused = moving.copy()
    paused[90:105] = paused[135:150] = 0.0
    assert hidden_per_step(starts, np.array([[110, 130]]), paused, fs).sum() == 0
    # one inside the rep at 90 leaves the rep at 120 on record, whole: a pause
    assert hidden_per_step(starts, np.array([[95, 115]]), moving, fs).sum() == 0


def test_the_rhythm_a_dropout_is_held_to_loosens_with_the_periods_it_spans() -> None:
    fs = 10.0  # a rep every 30 samples: 3 s, six steps of it on record
    moving = np.ones(300)
    before = [0.0, 30.0, 60.0, 90.0, 120.0, 150.0]
    drop = np.array([[185, 215]])
    # the reps around the dropout lie 2.7 periods apart: three periods that were each a
    # tenth shorter than the set's median, within a quarter period times sqrt(3 / 2) and the
    # period's own uncertainty from six steps
    assert hidden_per_step(np.array([*before, 231.0, 261.0]), drop, moving, fs).sum() == 2
    # 2.6 periods is out of rhythm: a pause
    assert hidden_per_step(np.array([*before, 228.0, 258.0]), drop, moving, fs).sum() == 0
    # over two periods it stays near a quarter period: 2.3 periods is out of rhythm
    assert hidden_per_step(np.array([*before, 219.0, 249.0]), drop, moving, fs).sum() == 0


def test_a_period_from_one_step_holds_the_step_across_a_dropout_to_its_rhythm_loosely() -> None:
    fs = 10.0
    moving = np.ones(150)
    # a five-rep set that a dropout cut in the middle: reps 1, 2 and 5 found, the one step
    # between reps 1 and 2 (3.2 s) a little longer than the three after it (2.8 s each)
    starts = np.array([0.0, 32.0, 117.0])
    drop = np.array([[45, 75]])
    # 2.66 of that step: out of rhythm against a period known to a quarter period, but the
    # period is one step's guess, off by as much as any one step is
    assert hidden_per_step(starts, drop, moving, fs).sum() == 2
    # still, the dropout's edges must be moving: a lifter who paused there stood still
    still = moving.copy()
    still[35:45] = 0.0
    assert hidden_per_step(starts, drop, still, fs).sum() == 0
    # and a step half-way between whole numbers of periods keeps no rhythm, however few
    # steps gave the period
    assert (
        hidden_per_step(np.array([0.0, 30.0, 135.0]), np.array([[40, 110]]), moving, fs).sum() == 0
    )


def test_in_dropouts_counts_the_samples_each_span_shares_with_them() -> None:
    spans = np.array([[10, 20], [30, 35]])
    lo, hi = [0.0, 12.5, 18.0, 21.0, 0.0, 40.0], [5.0, 15.0, 32.0, 29.0, 50.0, 40.0]
    assert in_dropouts(spans, lo, hi).tolist() == [0.0, 2.5, 4.0, 0.0, 15.0, 0.0]
    assert in_dropouts(np.zeros((0, 2), dtype=np.int64), [0.0], [9.0]).tolist() == [0.0]
