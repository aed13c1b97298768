"""Crossing times, movement fits (``signal.movement``) and rep finding (``signal.phases``) in a
progress signal."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.signal.movement import (
    _cross_all,
    fit_movement,
    fit_movement_misfit,
    level_fractions,
    movement_back,
    movement_out,
)
from liftsense.signal.phases import (
    _plateau,
    _reverses,
    _window_range,
    candidate_peaks,
    find_reps,
)


def _crossings_by_loop(seg: list[float], level: float, rising: bool, last: bool) -> float:
    """Reference: scan the samples one pair at a time."""
    found = math.nan
    for j in range(len(seg) - 1):
        a, b = seg[j], seg[j + 1]
        if (a < level <= b) if rising else (a > level >= b):
            found = j + (level - a) / (b - a)
            if not last:
                break
    return found


_values = st.lists(st.integers(-20, 20).map(lambda v: v / 4), min_size=2, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    seg=_values,
    # eighths: some levels fall on samples, some between
    levels=st.lists(st.integers(-44, 44).map(lambda v: v / 8), min_size=1, max_size=8),
    rising=st.booleans(),
)
def test_crossing_times_match_a_sample_by_sample_scan(
    seg: list[float], levels: list[float], rising: bool
) -> None:
    # fit_movement asks for the last rise or the first fall through each level; both take a
    # shortcut when the segment ends above (starts above) every level
    lv = np.sort(np.array(levels))
    for s in (seg, [*seg, max(seg + levels) + 1.0], [max(seg + levels) + 1.0, *seg]):
        got = _cross_all(np.array(s), lv, rising=rising, last=rising)
        want = [_crossings_by_loop(s, float(v), rising, rising) for v in lv]
        np.testing.assert_array_equal(got, np.array(want))


@settings(max_examples=300, deadline=None)
@given(seg=_values, arc=st.sampled_from([0.0, 1.2]))
def test_the_movement_searches_agree_with_the_crossing_scan(seg: list[float], arc: float) -> None:
    # find_reps times a movement with one search of the running or suffix minimum when the
    # signal is finite; the crossing scan (quick=False) is the reference
    s = np.array([*seg, max(seg) + 1.0, *seg])
    p = len(seg)
    frac_out, frac_back = level_fractions(arc)
    l0, l1, l2 = s[0], s[p], s[-1]
    lv_out = [l0 + f * (l1 - l0) for f in frac_out]
    lv_back = [l2 + 0.1 * (l1 - l2), *(l1 - f * (l1 - l2) for f in frac_back)]
    sl = s.tolist()

    def both(quick: bool) -> tuple[object, object]:
        out = movement_out(s, sl, 0, p, lv_out, quick, arc)
        return out, movement_back(s, sl, p, s.size - 1, lv_back, quick, arc)

    np.testing.assert_equal(both(True), both(False))


def _min_jerk(n: int) -> np.ndarray:
    tau = np.arange(n + 1) / n
    out: np.ndarray = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    return out


def test_fit_movement_recovers_onset_and_duration_of_a_minimum_jerk_movement() -> None:
    rise = np.concatenate([np.zeros(17), _min_jerk(60), np.ones(23)])
    onset, dur = fit_movement(rise, 0.0, 1.0, rising=True)
    assert abs(onset - 17) < 0.3 and abs(dur - 60) < 0.5
    onset, dur = fit_movement(1 - rise, 1.0, 1.0, rising=False)
    assert abs(onset - 17) < 0.3 and abs(dur - 60) < 0.5


def test_misfit_tells_a_minimum_jerk_movement_from_one_seen_through_a_tilt() -> None:
    rise = np.concatenate([np.zeros(17), _min_jerk(60), np.ones(23)])
    onset, dur, straight = fit_movement_misfit(rise, 0.0, 1.0, rising=True)
    assert (onset, dur) == fit_movement(rise, 0.0, 1.0, rising=True)
    assert straight < 1e-4
    # the sine of a forearm's angle swinging through 130 degrees (a curl): out of step
    tilt = np.sin(np.radians(130) * rise)
    tilt = (tilt - tilt[0]) / (tilt.max() - tilt[0])
    assert fit_movement_misfit(tilt, 0.0, 1.0, rising=True)[2] > 20 * straight
    assert math.isnan(fit_movement_misfit(rise, 0.0, 2.0, rising=True)[2])  # never gets there


def test_window_range_is_the_range_of_each_window() -> None:
    s = np.array([0.0, 3.0, 1.0, 1.0, 5.0, 2.0])
    np.testing.assert_array_equal(_window_range(s, 3), [3.0, 2.0, 4.0, 4.0])
    assert _window_range(s, 7).size == 0


def test_plateau_stops_at_the_first_rest_after_the_descent() -> None:
    # down from the peak, rests 40 samples, then a second, deeper descent (re-racking)
    seg = np.concatenate([1 - _min_jerk(30), np.zeros(40), -_min_jerk(30)])
    end = _plateau(seg, 1.0, 20, _window_range(seg, 20))
    assert 28 <= end <= 70  # on the rest, not in the re-racking


def test_a_wobble_at_the_far_end_is_not_a_reversal_but_sinking_back_part_way_is() -> None:
    up = _min_jerk(50)
    # a wrist's double peak: at the top, back by a quarter of the range, then up again
    wobble = np.concatenate([up, 1 - 0.25 * _min_jerk(10), 0.75 + 0.25 * _min_jerk(10)])
    assert not _reverses(wobble, 1.0, rising=True)
    # the same quarter given back part-way up is a stall
    stall = np.concatenate([0.4 * up, 0.4 - 0.25 * _min_jerk(10), 0.15 + 0.85 * up])
    assert _reverses(stall, 1.0, rising=True)
    # a third given back at the top is more than a wobble, going down as going up
    sink = np.concatenate([up, 1 - 0.35 * _min_jerk(10), 0.65 + 0.35 * _min_jerk(10)])
    assert _reverses(sink, 1.0, rising=True)
    assert _reverses(1 - sink, 1.0, rising=False) and not _reverses(1 - wobble, 1.0, rising=False)


def _reps_signal(fs: float, tempo: tuple[float, float, float, float], n: int) -> np.ndarray:
    out_s, far_s, back_s, rest_s = tempo
    parts = [np.zeros(int(2 * fs))]
    for _ in range(n):
        parts += [
            _min_jerk(int(out_s * fs))[1:],
            np.ones(int(far_s * fs)),
            1 - _min_jerk(int(back_s * fs))[1:],
            np.zeros(int(rest_s * fs)),
        ]
    parts.append(np.zeros(int(2 * fs)))
    return 0.5 * np.concatenate(parts)


def test_find_reps_times_each_movement_of_known_reps() -> None:
    fs = 50.0
    s = _reps_signal(fs, (1.0, 0.5, 2.0, 1.0), 4)
    reps = find_reps(s, fs, min_prominence=0.05)
    assert len(reps) == 4 and not any(r.failed for r in reps)
    for k, r in enumerate(reps):
        start = 2 * fs + k * 4.5 * fs
        assert abs(r.out_on - start) < 1.5
        assert abs((r.out_arr - r.out_on) / fs - 1.0) < 0.04
        assert abs((r.back_on - r.out_arr) / fs - 0.5) < 0.04
        assert abs((r.back_arr - r.back_on) / fs - 2.0) < 0.04


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 6),
    noise=st.floats(0.0, 0.05),
    seed=st.integers(0, 2**16),
    flip=st.booleans(),
)
def test_find_reps_finds_no_more_reps_than_candidate_peaks(
    n: int, noise: float, seed: int, flip: bool
) -> None:
    fs = 50.0
    s = _reps_signal(fs, (1.0, 0.3, 1.5, 0.8), n)
    s = s + np.random.default_rng(seed).normal(0.0, noise, s.size).cumsum() * 0.05
    s = -s if flip else s
    peaks, _ = candidate_peaks(s, fs, min_prominence=0.05)
    assert len(find_reps(s, fs, min_prominence=0.05)) <= peaks.size


def test_a_rep_the_recording_cuts_is_judged_and_timed_by_its_movement_on_record() -> None:
    # four reps (tempo 1-0.5-2-1) recorded from the middle of the first one's movement out:
    # only 40 % of that movement is on record before its far end
    fs = 50.0
    s = _reps_signal(fs, (1.0, 0.5, 2.0, 1.0), 4)
    start = int(2 * fs) + int(0.5 * fs) + 1  # half-way through the first movement out
    cut = s[start:]
    assert 0.35 < (cut[int(fs)] - cut[0]) / np.ptp(s) < 0.45
    # not known to start the recording, the part on record is too small for a rep ...
    assert candidate_peaks(cut, fs, min_prominence=0.05)[0].size == 3
    assert len(find_reps(cut, fs, min_prominence=0.05)) == 3
    # ... known to: a rep cut by the recording's start, which ends where the next starts
    peaks, _ = candidate_peaks(cut, fs, min_prominence=0.05, cut_edges=(True, False))
    assert peaks.size == 4
    reps = find_reps(cut, fs, min_prominence=0.05, cut_edges=(True, True))
    assert len(reps) == 4 and not any(r.failed for r in reps)
    assert reps[0].out_on == 0 and reps[0].ipk < reps[0].back_arr <= reps[1].out_on
    # its movement back, all on record, is timed as the complete reps' are
    assert abs((reps[0].back_arr - reps[0].back_on) / fs - 2.0) < 0.04
    assert abs(reps[0].back_arr - (reps[1].out_on - 1.0 * fs)) < 1.5
    # the same at the end: a recording stopped part-way back from the last rep's far end
    ends = s[: int(s.size - 2 * fs - 1.0 * fs - 1.5 * fs)]
    last = find_reps(ends, fs, min_prominence=0.05, cut_edges=(True, True))[-1]
    assert len(find_reps(ends, fs, min_prominence=0.05, cut_edges=(True, True))) == 4
    assert abs((last.out_arr - last.out_on) / fs - 1.0) < 0.04
    # a rest at the start (the recording began before the set) is no cut rep either way
    rested = np.concatenate([np.full(int(fs), cut[0]), cut])
    assert len(find_reps(rested, fs, min_prominence=0.05, cut_edges=(True, True))) == 3
