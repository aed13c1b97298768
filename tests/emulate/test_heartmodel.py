"""Tests for the synthetic heart model: known answers from its construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.emulate.heartmodel import (
    LABEL_ECTOPIC,
    LABEL_EXTRA,
    LABEL_MISSED,
    LABEL_NORMAL,
    simulate_heart,
    strap_notifications,
)
from liftsense.errors import AnalysisError


def _one_set(start_s: float, dur_s: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.array([0.0, start_s - 1e-3, start_s, start_s + dur_s, start_s + dur_s + 1e-3])
    e = np.array([0.0, 0.0, level, level, 0.0])
    return t, e


def test_same_seed_same_session() -> None:
    a = simulate_heart(300.0, artefact_rate=0.03, seed=7)
    b = simulate_heart(300.0, artefact_rate=0.03, seed=7)
    c = simulate_heart(300.0, artefact_rate=0.03, seed=8)
    np.testing.assert_array_equal(a.observed_rr_ms, b.observed_rr_ms)
    assert not np.array_equal(a.rr_ms, c.rr_ms)


def test_rest_rate_and_variability() -> None:
    h = simulate_heart(1200.0, rest_hr_bpm=60.0, rsa_ms=40.0, seed=1)
    np.testing.assert_allclose(h.hr_bpm, 60.0)
    assert h.hr_t_s[0] == 0.0 and np.all(np.diff(h.hr_t_s) == 1.0)
    assert np.mean(h.rr_ms) == pytest.approx(1000.0, rel=0.01)
    rmssd = np.sqrt(np.mean(np.diff(h.rr_ms) ** 2))
    assert 30.0 < rmssd < 55.0
    # RR and beat times agree: each RR is the gap to the previous beat.
    np.testing.assert_allclose(np.diff(h.beat_t_s) * 1000.0, h.rr_ms[1:], atol=1e-6)
    assert h.beat_t_s[-1] <= 1200.0


def test_elevation_peaks_at_about_forty_minutes() -> None:
    h = simulate_heart(4 * 3600.0, rest_hr_bpm=60.0, elevation_bpm=8.0, elevation_onset_s=600.0)
    assert h.hr_bpm[599] == pytest.approx(60.0)
    peak_at = h.hr_t_s[np.argmax(h.hr_bpm)]
    assert peak_at - 600.0 == pytest.approx(2400.0, abs=5.0)
    assert h.hr_bpm.max() == pytest.approx(68.0, abs=1e-3)
    # Five-hour half-life: three hours after the peak, still well above half.
    assert 64.0 < h.hr_bpm[int(peak_at) + 3 * 3600] < 67.0


def test_effort_rises_then_recovers_in_two_phases() -> None:
    et, e = _one_set(300.0, 40.0, 0.7)
    h = simulate_heart(900.0, effort_t_s=et, effort=e, rest_hr_bpm=60.0, max_hr_bpm=180.0)
    end = 340
    assert h.hr_bpm[end] > 110.0
    assert np.argmax(h.hr_bpm) in range(335, 345)
    first_min = h.hr_bpm[end] - h.hr_bpm[end + 60]
    second_min = h.hr_bpm[end + 60] - h.hr_bpm[end + 120]
    assert first_min > 2.0 * second_min > 0.0
    assert h.hr_bpm[-1] > 60.5  # the slow phase is not over after 9 minutes


def test_variability_shrinks_during_effort() -> None:
    et, e = _one_set(200.0, 300.0, 0.8)
    h = simulate_heart(600.0, effort_t_s=et, effort=e, seed=3)
    rest = h.rr_ms[h.beat_t_s < 190.0]
    work = h.rr_ms[(h.beat_t_s > 350.0) & (h.beat_t_s < 490.0)]
    assert np.std(np.diff(work)) < 0.5 * np.std(np.diff(rest))


def test_no_artefacts_means_observed_equals_truth() -> None:
    h = simulate_heart(300.0, seed=2)
    np.testing.assert_array_equal(h.observed_beat_t_s, h.beat_t_s)
    np.testing.assert_allclose(h.observed_rr_ms, h.rr_ms)
    assert np.all(h.labels == LABEL_NORMAL)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.01, 0.1), seed=st.integers(0, 10_000))
def test_artefacts_match_their_definition(rate: float, seed: int) -> None:
    h = simulate_heart(900.0, artefact_rate=rate, seed=seed)
    n_true = h.beat_t_s.size
    counts = np.bincount(h.labels, minlength=4)
    assert counts[1:].sum() == pytest.approx(rate * n_true, abs=1.0)
    assert max(counts[1:]) - min(counts[1:]) <= 1
    assert h.observed_beat_t_s.size == n_true - counts[LABEL_MISSED] + counts[LABEL_EXTRA]
    assert np.all(np.diff(h.observed_beat_t_s) > 0)
    np.testing.assert_allclose(np.diff(h.observed_beat_t_s) * 1000, h.observed_rr_ms[1:])
    true_set = set(np.round(h.beat_t_s, 9))
    lab, ot, orr = h.labels, h.observed_beat_t_s, h.observed_rr_ms
    for i in np.flatnonzero(lab == LABEL_MISSED):
        j = int(np.searchsorted(h.beat_t_s, ot[i] - 1e-9))
        assert orr[i] == pytest.approx(h.rr_ms[j] + h.rr_ms[j - 1])
    for i in np.flatnonzero(lab == LABEL_EXTRA):
        assert round(ot[i], 9) not in true_set
        j = int(np.searchsorted(h.beat_t_s, ot[i + 1] - 1e-9))
        assert orr[i] + orr[i + 1] == pytest.approx(h.rr_ms[j])
    for i in np.flatnonzero(lab == LABEL_ECTOPIC):
        j = int(np.searchsorted(h.beat_t_s, ot[i + 1] - 1e-9))
        assert orr[i] <= 0.8 * h.rr_ms[j - 1] + 1e-9
        assert orr[i + 1] > orr[i]
        assert orr[i] + orr[i + 1] == pytest.approx(h.rr_ms[j] + h.rr_ms[j - 1])


def test_strap_notifications_carry_every_beat_once() -> None:
    h = simulate_heart(120.0, rest_hr_bpm=75.0, seed=4)
    n = strap_notifications(h.observed_beat_t_s, h.observed_rr_ms)
    np.testing.assert_allclose(np.diff(n.notify_t_s), 1.0)
    assert n.notify_t_s[0] == 0.5 and n.notify_t_s[-1] >= h.observed_beat_t_s[-1]
    flat = np.array([v for rr in n.rr_1024 for v in rr])
    assert flat.size == h.observed_rr_ms.size
    np.testing.assert_allclose(flat * 1000.0 / 1024.0, h.observed_rr_ms, atol=0.5)
    # Each beat arrives in the first notification at or after it.
    idx = np.repeat(np.arange(n.notify_t_s.size), [len(r) for r in n.rr_1024])
    assert np.all(n.notify_t_s[idx] >= h.observed_beat_t_s)
    assert np.all(n.notify_t_s[idx] - h.observed_beat_t_s < 1.0)
    assert n.bpm[0] == 0.0 or h.observed_beat_t_s[0] <= 0.5
    assert np.all(np.abs(n.bpm[5:] - 75.0) < 8.0)


def test_strap_bpm_is_rounded_mean_of_recent_rr() -> None:
    bt = np.array([1.0, 2.0, 2.5, 3.0])
    rr = np.array([1000.0, 1000.0, 500.0, 500.0])
    n = strap_notifications(bt, rr, phase_s=0.0, bpm_beats=2)
    np.testing.assert_array_equal(n.notify_t_s, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(n.bpm, [0.0, 60.0, 60.0, 120.0])
    assert n.rr_1024 == [[], [1024], [1024], [512, 512]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_s": 0.0},
        {"duration_s": 10.0, "artefact_rate": 0.5},
        {"duration_s": 10.0, "rest_hr_bpm": 190.0},
        {"duration_s": 10.0, "effort": np.zeros(3)},
        {"duration_s": 10.0, "effort": np.zeros(3), "effort_t_s": np.zeros(2)},
        {"duration_s": 10.0, "effort": np.zeros(3), "effort_t_s": np.array([0.0, 2.0, 1.0])},
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(AnalysisError):
        simulate_heart(**kwargs)  # type: ignore[arg-type]
