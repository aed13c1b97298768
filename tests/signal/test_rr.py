"""RR cleaning: Lipponen-Tarvainen classification, correction, gaps, and synthetic validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.emulate import heartmodel as hm
from liftsense.errors import AnalysisError
from liftsense.signal.rr import (
    LABEL_ECTOPIC,
    LABEL_EXTRA,
    LABEL_INVALID,
    LABEL_MISSED,
    LABEL_NORMAL,
    clean_rr,
    nn_stats,
    rmssd_ms,
)

T0_NS = 1_767_261_600 * 10**9  # 2026-01-01T10:00:00Z


def _beats(
    rr_ms: list[float] | np.ndarray, jump_after: dict[int, float] | None = None
) -> np.ndarray:
    """Host times (ns) of beats with these RR; ``jump_after`` adds link-loss seconds."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    t_s = np.cumsum(rr) / 1000.0
    for i, extra_s in (jump_after or {}).items():
        t_s[i + 1 :] += extra_s
    return T0_NS + np.round(t_s * 1e9).astype(np.int64)


def _rest_rr(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return 800.0 + 30.0 * np.sin(2 * np.pi * k / 4.3) + rng.normal(0, 8, n)


def test_nn_stats_known_answer() -> None:
    rr = np.array([1000.0, 1060.0, 1000.0, 1010.0])
    rmssd, sdnn, pnn50, pairs = nn_stats(rr)
    assert pairs == 3
    assert rmssd == pytest.approx(np.sqrt((3600 + 3600 + 100) / 3))
    assert sdnn == pytest.approx(np.std(rr, ddof=1))
    assert pnn50 == pytest.approx(200 / 3)
    rmssd, sdnn, pnn50, pairs = nn_stats(rr, np.array([True, False, True, True]))
    assert pairs == 1 and rmssd == 10.0 and pnn50 == 0.0
    assert sdnn == pytest.approx(np.std([1000.0, 1000.0, 1010.0], ddof=1))


def test_rmssd_known_answer() -> None:
    r, n = rmssd_ms(np.array([1000.0, 1010.0, 990.0]))
    assert n == 2 and r == pytest.approx(np.sqrt((100 + 400) / 2))
    r, n = rmssd_ms(np.array([1000.0, 1010.0, 990.0]), np.array([True, True, False]))
    assert n == 1 and r == pytest.approx(10.0)
    r, n = rmssd_ms(np.array([1000.0, 1010.0, 990.0]), segment=np.array([0, 1, 1], np.int32))
    assert n == 1 and r == pytest.approx(20.0)
    assert np.isnan(rmssd_ms(np.array([1000.0]))[0])


def test_missed_beat_is_split() -> None:
    rr = _rest_rr(120)
    obs = np.concatenate((rr[:60], [rr[60] + rr[61]], rr[62:]))
    c = clean_rr(_beats(obs), obs)
    assert np.flatnonzero(c.labels).tolist() == [60]
    assert c.labels[60] == LABEL_MISSED
    assert c.rr_ms.size == 120
    np.testing.assert_allclose(c.rr_ms[60:62], (rr[60] + rr[61]) / 2)
    assert not c.nn[60] and not c.nn[61] and c.nn[62]
    assert c.artefact_pct == pytest.approx(100 / 119)


def test_extra_beat_is_removed() -> None:
    rr = _rest_rr(120, seed=1)
    obs = np.concatenate((rr[:60], [0.4 * rr[60], 0.6 * rr[60]], rr[61:]))
    c = clean_rr(_beats(obs), obs)
    assert np.flatnonzero(c.labels).tolist() == [60]
    assert c.labels[60] == LABEL_EXTRA
    np.testing.assert_allclose(c.rr_ms, rr)
    assert not c.nn[60]


def test_ectopic_beat_is_moved_onto_the_trend() -> None:
    rr = _rest_rr(120, seed=2)
    obs = rr.copy()
    obs[60], obs[61] = 0.7 * rr[60], rr[61] + 0.3 * rr[60]
    t = _beats(obs)
    c = clean_rr(t, obs)
    assert np.flatnonzero(c.labels).tolist() == [60]
    assert c.labels[60] == LABEL_ECTOPIC
    assert c.rr_ms.size == 120
    assert c.rr_ms[60] + c.rr_ms[61] == pytest.approx(obs[60] + obs[61])
    # Linear trend between the neighbours, within the size of the respiratory swing.
    assert (
        abs(c.rr_ms[60] - rr[60]) < 40.0 and abs(c.rr_ms[60] - rr[60]) < abs(obs[60] - rr[60]) / 4
    )
    # The moved beat lands where the corrected RR say it is.
    assert (c.t_ns[61] - c.t_ns[60]) / 1e6 == pytest.approx(c.rr_ms[61], abs=1e-3)


def test_nothing_is_classified_or_differenced_across_a_gap() -> None:
    a = _rest_rr(100, seed=3)
    b = _rest_rr(100, seed=4) + 300.0  # HR fell while the link was down
    rr = np.concatenate((a, b))
    t = _beats(rr, jump_after={99: 30.0})
    c = clean_rr(t, rr)
    assert not c.labels.any()
    assert c.segment[99] == 0 and c.segment[100] == 1
    r, pairs = rmssd_ms(c.rr_ms, c.nn, c.segment)
    d = np.concatenate((np.diff(a), np.diff(b)))
    assert pairs == 198
    assert r == pytest.approx(np.sqrt(np.mean(d**2)))
    # Without the gap the same RR would be differenced across the step.
    assert rmssd_ms(rr)[0] > r


def test_invalid_rr_merged_or_split() -> None:
    rr = _rest_rr(80, seed=5)
    obs = np.concatenate((rr[:40], [0.0], rr[40:50], [4000.0], rr[50:]))
    t = _beats(np.where(obs == 4000.0, 4000.0, obs))
    c = clean_rr(t, obs)
    assert c.labels[40] == LABEL_INVALID and c.labels[51] == LABEL_INVALID
    assert np.count_nonzero(c.labels) == 2
    assert c.rr_ms.size == 80
    np.testing.assert_allclose(c.rr_ms, rr)
    assert c.segment[49] == 0 and c.segment[50] == 1


def test_bad_input_raises() -> None:
    with pytest.raises(AnalysisError, match="RR values"):
        clean_rr(np.zeros(3, np.int64), np.zeros(2))
    with pytest.raises(AnalysisError, match="sort"):
        clean_rr(np.array([2, 1], np.int64), np.array([800.0, 800.0]))


def test_empty_input() -> None:
    c = clean_rr(np.zeros(0, np.int64), np.zeros(0))
    assert c.rr_ms.size == 0 and c.artefact_pct == 0.0


def _validate(h: hm.HeartTruth) -> tuple[float, float, float]:
    t = T0_NS + np.round(h.observed_beat_t_s * 1e9).astype(np.int64)
    c = clean_rr(t, h.observed_rr_ms)
    truth, det = h.labels != hm.LABEL_NORMAL, c.labels != LABEL_NORMAL
    sens = np.count_nonzero(truth & det) / np.count_nonzero(truth)
    spec = np.count_nonzero(~truth & ~det) / np.count_nonzero(~truth)
    err = rmssd_ms(c.rr_ms, c.nn, c.segment)[0] / rmssd_ms(h.rr_ms)[0] - 1.0
    return sens, spec, err


def _lifting_effort(duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, duration_s, 1.0)
    e = np.zeros_like(t)
    for start in range(420, int(duration_s) - 60, 150):
        e[(t >= start) & (t < start + 40)] = 0.6
    return t, e


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.05])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("lifting", [False, True])
def test_synthetic_targets(rate: float, seed: int, lifting: bool) -> None:
    et, e = _lifting_effort(1800.0) if lifting else (None, None)
    h = hm.simulate_heart(1800.0, effort_t_s=et, effort=e, artefact_rate=rate, seed=seed)
    sens, spec, err = _validate(h)
    assert sens >= 0.95
    assert spec >= 0.99
    assert abs(err) <= 0.02


def test_correction_recovers_the_true_beat_count() -> None:
    h = hm.simulate_heart(1200.0, artefact_rate=0.05, seed=11)
    c = clean_rr(T0_NS + (h.observed_beat_t_s * 1e9).astype(np.int64), h.observed_rr_ms)
    assert c.rr_ms.size == h.rr_ms.size
    assert np.sum(c.rr_ms) == pytest.approx(np.sum(h.rr_ms), rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    rr=st.lists(st.floats(100.0, 2500.0), min_size=0, max_size=300),
    gaps=st.lists(st.integers(0, 299), max_size=4),
)
def test_invariants_on_arbitrary_input(rr: list[float], gaps: list[int]) -> None:
    r = np.asarray(rr, dtype=np.float64)
    t = _beats(r, {g: 5.0 for g in gaps if g < r.size - 1})
    c = clean_rr(t, r)
    assert c.labels.size == r.size
    assert 0.0 <= c.artefact_pct <= 100.0
    assert np.all(np.diff(c.segment) >= 0)
    assert np.all(c.rr_ms > 0)
    same = c.segment[1:] == c.segment[:-1]
    assert np.all(np.diff(c.t_ns)[same] > 0)
    # Corrections redistribute time within a segment; they never create or lose it.
    for s in np.unique(c.segment):
        kept = c.rr_ms[c.segment == s]
        assert kept.sum() > 0
    assert c.nn.sum() <= np.count_nonzero(c.labels == LABEL_NORMAL)


def _golden() -> list[dict[str, Any]]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "hrv_golden.json"
    return list(json.loads(path.read_text())["series"])


@pytest.mark.parametrize("series", _golden(), ids=lambda s: str(s["name"]))
def test_against_neurokit2_golden(series: dict[str, Any]) -> None:
    """NeuroKit2 0.2.13 (Kubios method) and systole 0.3.1 outputs made by scripts/golden_hrv.py."""
    peaks = np.asarray(series["peaks_ms"], dtype=np.int64)
    rr = np.diff(peaks, prepend=peaks[0] - int(series["first_rr_ms"])).astype(np.float64)
    c = clean_rr(peaks * 1_000_000, rr)
    nk = series["neurokit2"]
    truth_rmssd = float(series["true_rmssd_ms"])
    ours = rmssd_ms(c.rr_ms, c.nn, c.segment)[0]
    assert abs(ours / truth_rmssd - 1.0) <= 0.02
    assert abs(ours - truth_rmssd) <= abs(nk["rmssd_ms"] - truth_rmssd)
    # Same number of beats after correction as NeuroKit2 and systole 0.3.1.
    assert c.rr_ms.size == nk["n_clean"] == series["systole"]["n_clean"]
    # At least as close to the truth as systole's correction, within 0.5 % of the truth.
    sy = series["systole"]["rmssd_ms"]
    assert abs(ours - truth_rmssd) <= abs(sy - truth_rmssd) + 0.005 * truth_rmssd
    # Every true artefact NeuroKit2 flags (at the same beat index), we flag too.
    true_idx = set(np.flatnonzero(np.asarray(series["true_labels"])).tolist())
    nk_idx = {i for v in nk["artefacts"].values() for i in v}
    ours_idx = set(np.flatnonzero(c.labels).tolist())
    assert (nk_idx & true_idx) <= ours_idx
    assert len(ours_idx - true_idx) <= 0.01 * (peaks.size - len(true_idx))
    _, sdnn, pnn50, _ = nn_stats(c.rr_ms, c.nn, c.segment)
    assert sdnn == pytest.approx(series["true_sdnn_ms"], rel=0.02)
    assert pnn50 == pytest.approx(series["true_pnn50_pct"], abs=2.0)
