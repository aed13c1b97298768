from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from liftsense.signal.tempofill import _NEAR_DROPOUT_S, room_for_hidden, turns_by_tempo

FS = 50.0  # the grid's rate: bounds and dropouts are in its samples


def _rep_bounds(starts: list[float]) -> np.ndarray:
    """Reps 150 samples long: 90 out, a 10-sample pause, 40 back, 10 before the next rep (the
    last rep ends as its movement back does)."""
    rows = [[a, a + 90, a + 100, a + 140, a + 150] for a in starts]
    rows[-1][4] = rows[-1][3]
    return np.array(rows, dtype=np.float64)


def test_reps_a_dropout_overlaps_are_timed_by_the_sets_tempo() -> None:
    bounds = _rep_bounds([0.0, 150.0, 300.0, 450.0, 600.0])
    assert turns_by_tempo(bounds, np.zeros((0, 2), dtype=np.int64), FS) is bounds
    # the bridge put the third rep's turn at the bottom 20 samples early, and its pause there
    # with it; the rep keeps its start and end, and its phases share them as the others do
    guessed = bounds.copy()
    guessed[2, 1:3] = [370.0, 370.0]
    out = turns_by_tempo(guessed, np.array([[350, 400]]), FS)
    assert out[2].tolist() == [300.0, 390.0, 400.0, 440.0, 450.0]
    assert np.array_equal(np.delete(out, 2, axis=0), np.delete(bounds, 2, axis=0))
    # a last rep has no trailing pause: its length is shared between the other three phases
    last = bounds.copy()
    last[4, 1:3] = [680.0, 680.0]
    out = turns_by_tempo(last, np.array([[660, 700]]), FS)
    assert np.allclose(out[4], [600.0, 600 + 140 * 90 / 140, 600 + 140 * 100 / 140, 740.0, 740.0])
    # a dropout inside a movement, its turns on record either side, still leaves the movement
    # timed across the bridge: the rep is timed by the tempo all the same
    out = turns_by_tempo(guessed, np.array([[371, 400]]), FS)
    assert out[2].tolist() == [300.0, 390.0, 400.0, 440.0, 450.0]
    # a dropout after the set overlaps no rep: nothing moves
    assert turns_by_tempo(guessed, np.array([[745, 760]]), FS) is guessed


def test_bounds_a_dropout_hid_across_two_reps_are_placed_between_those_on_record() -> None:
    # a dropout from the third rep's movement out to the fourth rep's start hides the third's
    # turns and its end; the bridge put its bottom early and the fourth rep's start just after
    # the dropout, 20 samples late. Between the third rep's start and the fourth rep's turn
    # (both on record), the set's tempo places them all where they were
    truth = _rep_bounds([0.0, 150.0, 300.0, 450.0, 600.0])
    bridged = truth.copy()
    bridged[2, 1:] = [380.0, 380.0, 430.0, 470.0]
    bridged[3, 0] = 470.0
    out = turns_by_tempo(bridged, np.array([[350, 460]]), FS)
    assert np.allclose(out, truth)
    # where the time between those on record is no run of the set's reps (the fourth rep's
    # movement out took 370 samples for 90), the bounds found stay
    slow = bridged.copy()
    slow[3, 1:] += 300.0
    slow[4:] += 300.0
    out = turns_by_tempo(slow, np.array([[350, 460]]), FS)
    assert out[2, 4] == out[3, 0] == 470.0


def _bounds_of(phases: list[list[float]]) -> np.ndarray:
    """Reps one after another, each of the four ``phases`` given (samples)."""
    ph = np.array(phases, dtype=np.float64)
    ends = np.cumsum(ph.sum(axis=1))
    starts = np.concatenate([[0.0], ends[:-1]])
    return np.column_stack([starts, starts[:, None] + np.cumsum(ph, axis=1)])


def test_a_phase_the_dropout_does_not_cross_keeps_its_measured_length() -> None:
    # the dropout lies inside the third rep's movement out; its movement back (32 samples,
    # within the 30-60 the other reps took) and its pause after it keep their measured lengths,
    # and the movement out and the pause at the far end share the rest as the set's reps do
    bounds = _bounds_of(
        [[90, 10, 30, 10], [90, 10, 60, 10], [70, 30, 32, 10], [90, 10, 45, 10], [90, 10, 50, 0]]
    )
    out = turns_by_tempo(bounds, np.array([[330, 360]]), FS)
    assert out[2].tolist() == [310.0, 400.0, 410.0, 442.0, 452.0]
    # a movement back no rep of the set took as quickly is no measurement to keep
    quick = bounds.copy()
    quick[2, 3] = quick[2, 2] + 20
    assert np.diff(turns_by_tempo(quick, np.array([[330, 360]]), FS)[2])[2] > 40


def test_a_hidden_turn_of_a_rep_out_of_rhythm_moves_only_within_its_dropout() -> None:
    # the third rep's end is a re-rack's start after a rest: its length is no rep's, and only
    # its turn inside the dropout is placed, between the turns either side, kept in the dropout
    bounds = _rep_bounds([0.0, 150.0, 300.0, 650.0, 800.0])
    bounds[2, 3:] = [430.0, 650.0]
    out = turns_by_tempo(bounds, np.array([[420, 470]]), FS)
    assert out[2].tolist() == [300.0, 390.0, 400.0, 469.0, 650.0]
    assert np.array_equal(np.delete(out, 2, axis=0), np.delete(bounds, 2, axis=0))
    # a dropout in every rep: nothing to take the tempo from
    spans = np.array([[80, 95], [230, 245], [380, 395], [730, 745], [880, 895]])
    assert turns_by_tempo(bounds, spans, FS) is bounds


def test_a_rep_followed_by_hidden_ones_ends_where_the_rhythm_leaves_room_for_them() -> None:
    bounds = _rep_bounds([0.0, 150.0, 300.0, 600.0, 750.0])  # one rep hidden after the third
    assert room_for_hidden(bounds, np.zeros(4, dtype=np.int64)) is bounds
    stretched = bounds.copy()
    stretched[2, 4] = 600.0  # its pause before the next rep found ran to it
    out = room_for_hidden(stretched, np.array([0, 0, 1, 0]))
    assert out[2].tolist() == [300.0, 390.0, 400.0, 440.0, 450.0]
    assert np.array_equal(np.delete(out, 2, axis=0), np.delete(stretched, 2, axis=0))
    # a rep whose movement back (500-590) was the hidden rep's: its turns are placed by the
    # set's tempo within the room it has
    merged = bounds.copy()
    merged[2] = [300.0, 390.0, 500.0, 590.0, 600.0]
    out = room_for_hidden(merged, np.array([0, 0, 1, 0]))
    assert out[2].tolist() == [300.0, 390.0, 400.0, 440.0, 450.0]


@st.composite
def _set_of_reps(draw: st.DrawFn) -> np.ndarray:
    """A set of 2-10 reps, each of four phases of 0-200 samples (at least 20 in all), one after
    another; the last without a trailing pause."""
    n = draw(st.integers(2, 10))
    phases = np.array(
        draw(
            st.lists(st.lists(st.integers(0, 200), min_size=4, max_size=4), min_size=n, max_size=n)
        ),
        dtype=np.float64,
    )
    phases[:, 0] += 20
    phases[-1, 3] = 0
    ends = np.cumsum(phases.sum(axis=1))
    starts = np.concatenate([[0.0], ends[:-1]])
    return np.column_stack([starts, starts[:, None] + np.cumsum(phases, axis=1)])


@given(bounds=_set_of_reps(), at=st.floats(0.0, 1.0), width=st.integers(1, 150))
def test_timing_by_tempo_keeps_reps_joined_and_in_order(
    bounds: np.ndarray, at: float, width: int
) -> None:
    a = int(at * bounds[-1, 4])
    spans = np.array([[a, a + width]])
    out = turns_by_tempo(bounds, spans, FS)
    assert out.shape == bounds.shape
    assert np.all(np.diff(out, axis=1) >= -1e-9)  # each rep's bounds in order
    assert np.array_equal(out[:-1, 4], out[1:, 0])  # each rep ends where the next starts
    assert out[0, 0] == bounds[0, 0] and out[-1, 4] == bounds[-1, 4]
    # only the bounds in or near the dropout move; the reps they all miss stay whole
    lo, hi = a - _NEAR_DROPOUT_S * FS, a + width + _NEAR_DROPOUT_S * FS
    far = (bounds < lo) | (bounds >= hi)
    assert np.array_equal(out[:, [0, 4]][far[:, [0, 4]]], bounds[:, [0, 4]][far[:, [0, 4]]])
    untouched = np.all(far, axis=1) & ((bounds[:, 4] < lo) | (bounds[:, 0] >= hi))
    assert np.array_equal(out[untouched], bounds[untouched])


@given(bounds=_set_of_reps(), data=st.data())
def test_room_for_hidden_reps_ends_each_rep_at_its_share_of_the_step(
    bounds: np.ndarray, data: st.DataObject
) -> None:
    hidden = np.array(
        data.draw(st.lists(st.integers(0, 2), min_size=len(bounds) - 1, max_size=len(bounds) - 1))
    )
    out = room_for_hidden(bounds, hidden)
    assert np.all(np.diff(out, axis=1) >= -1e-9)
    assert np.array_equal(out[:, 0], bounds[:, 0])
    for k in np.flatnonzero(hidden):
        end = bounds[k, 0] + (bounds[k + 1, 0] - bounds[k, 0]) / (hidden[k] + 1)
        if bounds[k, 3] <= end:  # it turned back in time: its turns stay, its pause shrinks
            assert out[k, 4] == end and np.array_equal(out[k, :4], bounds[k, :4])
        elif not np.array_equal(out[k], bounds[k]):  # its turns placed within the room it has
            assert out[k, 4] == end and out[k, 3] <= end
    followed = np.append(hidden > 0, False)  # the reps hidden reps follow
    assert np.array_equal(out[~followed], bounds[~followed])


def test_turns_placed_by_the_tempo_stay_within_the_rep_despite_rounding() -> None:
    # the clean reps spend all their length in the eccentric: the shares' cumulative sum
    # rounds past 1, which put the last turn 2e-15 samples past the rep's end
    bounds = np.array([[0.0, 20, 20, 20, 20], [20, 40, 40, 40, 40], [40, 213, 391, 531, 531]])
    out = room_for_hidden(bounds, np.array([1, 0]))
    assert out[0, 4] == 10.0
    assert np.all(out[0, 1:4] <= out[0, 4])
