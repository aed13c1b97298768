"""Session heart features on synthetic sessions with known truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.emulate.heartmodel import HeartTruth, simulate_heart, strap_notifications
from liftsense.errors import AnalysisError
from liftsense.signal.heart import HeartSummary, session_heart
from liftsense.signal.hrseries import heart_rate_series
from liftsense.signal.rr import clean_rr

T0 = pd.Timestamp("2026-01-01T10:00:00Z")
SETS_S = [(900.0 + 180.0 * k, 940.0 + 180.0 * k) for k in range(5)]
INTAKE_S = 300.0
REQUIRED = {"rest_hr_bpm", "rest_rmssd_ms", "rest_lnrmssd", "artefact_pct", "elevation", "sets"}


def _frame(t_s: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    idx = pd.DatetimeIndex(T0 + pd.to_timedelta(t_s, unit="s"), name="t")
    return pd.DataFrame(
        {"device": pd.Categorical(["H10"] * len(t_s)), "value": value.astype(np.float32)},
        index=idx,
    )


def _at(t_s: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=t_s)


def _session(
    artefact_rate: float = 0.02, elevation_bpm: float = 0.0, seed: int = 0
) -> tuple[HeartTruth, pd.DataFrame, pd.DataFrame]:
    et = np.arange(0.0, 1900.0, 0.5)
    e = np.zeros_like(et)
    for a, b in SETS_S:
        e[(et >= a) & (et < b)] = 0.65
    h = simulate_heart(
        1900.0,
        effort_t_s=et,
        effort=e,
        rest_hr_bpm=60.0,
        elevation_bpm=elevation_bpm,
        elevation_onset_s=INTAKE_S,
        artefact_rate=artefact_rate,
        seed=seed,
    )
    n = strap_notifications(h.observed_beat_t_s, h.observed_rr_ms)
    return h, _frame(h.observed_beat_t_s, h.observed_rr_ms), _frame(n.notify_t_s, n.bpm)


def _sets() -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [(_at(a), _at(b)) for a, b in SETS_S]


def test_features_match_the_model() -> None:
    h, rr, hr = _session(elevation_bpm=8.0)
    s = session_heart(hr, rr, sets=_sets(), intake_t=_at(INTAKE_S), t0=T0, dose_mg=200.0)
    assert s.source == "rr" and s.stimulant and s.rest_window == "pre_intake"
    assert s.pre_intake is not None and s.pre_workout is not None
    assert (s.pre_intake.start_s, s.pre_intake.end_s) == (0.0, 300.0)
    assert (s.pre_workout.start_s, s.pre_workout.end_s) == (590.0, 890.0)
    assert s.rest.hr_bpm == pytest.approx(60.0, abs=1.0)
    truth_pw = float(np.mean(h.hr_bpm[590:890]))
    assert s.pre_workout.hr_bpm == pytest.approx(truth_pw, abs=1.0)
    assert s.elevation.delta_bpm == pytest.approx(truth_pw - 60.0, abs=1.0)
    pre = (h.beat_t_s >= 0) & (h.beat_t_s < 300)
    true_rmssd = float(np.sqrt(np.mean(np.diff(h.rr_ms[pre]) ** 2)))
    assert s.rest.rmssd_ms == pytest.approx(true_rmssd, rel=0.1)
    assert s.rest.lnrmssd == pytest.approx(math.log(s.rest.rmssd_ms))
    assert s.artefact_pct == pytest.approx(100 * np.mean(h.labels != 0), abs=0.3)
    assert len(s.sets) == 5
    for k, (a, b) in enumerate(SETS_S):
        f = s.sets[k]
        peak = h.hr_bpm[int(a) : int(b) + 16].max()
        assert f.index == k + 1 and f.since_intake_s == a - INTAKE_S
        assert f.peak_hr_bpm == pytest.approx(peak, abs=3.0)
        assert f.hrr60_bpm == pytest.approx(peak - h.hr_bpm[int(b) + 60], abs=3.0)
        assert f.rest_before_hr_bpm == pytest.approx(np.mean(h.hr_bpm[int(a) - 30 : int(a)]), abs=2)
        nxt = SETS_S[k + 1][0] if k + 1 < len(SETS_S) else b + 60.0
        span = (h.observed_beat_t_s >= a) & (h.observed_beat_t_s < nxt)
        assert f.artefact_pct == pytest.approx(100 * np.mean(h.labels[span] != 0), abs=1.5)


def test_json_has_the_contracted_shape() -> None:
    _, rr, hr = _session()
    s = session_heart(hr, rr, sets=_sets(), intake_t=None, t0=T0)
    j = s.to_json()
    assert set(j) >= REQUIRED
    assert {"delta_bpm", "z", "status"} <= set(j["elevation"])
    assert [x["index"] for x in j["sets"]] == [1, 2, 3, 4, 5]
    assert all({"index", "peak_hr_bpm", "hrr60_bpm"} <= set(x) for x in j["sets"])
    assert j["rest_window"] == "pre_workout" and j["rest_hr_bpm"] is not None
    # No intake: no within-session delta, and it says why.
    assert j["elevation"]["delta_bpm"] is None and "no intake" in j["elevation"]["reason"]
    assert j["elevation"]["status"] == "insufficient baseline"
    assert j["sets"][0]["since_intake_s"] is None
    json.dumps(j, allow_nan=False)


def test_strap_bpm_only() -> None:
    h, _, hr = _session(artefact_rate=0.0)
    s = session_heart(hr, None, sets=_sets(), intake_t=_at(INTAKE_S), t0=T0)
    assert s.source == "hr"
    assert s.rest.hr_bpm == pytest.approx(60.0, abs=1.5)
    assert math.isnan(s.rest.rmssd_ms) and "no RR" in (s.rest.reason or "")
    j = s.to_json()
    assert j["rest_rmssd_ms"] is None and j["artefact_pct"] is None
    assert j["sets"][0]["peak_hr_bpm"] == pytest.approx(h.hr_bpm[900:956].max(), abs=4.0)


def test_contact_lost_makes_the_window_invalid() -> None:
    _, rr, hr = _session(artefact_rate=0.0)
    lost = (hr.index >= _at(100.0)) & (hr.index < _at(250.0))
    hr.loc[lost, "value"] = 0.0
    keep = (rr.index < _at(100.0)) | (rr.index >= _at(250.0))
    s = session_heart(hr, rr[keep], sets=_sets(), intake_t=_at(INTAKE_S), t0=T0)
    assert math.isnan(s.rest.hr_bpm)
    assert "covers" in (s.rest.reason or "")
    assert s.to_json()["rest_hr_bpm"] is None


def test_short_rest_between_sets_gives_no_hrr60() -> None:
    _, rr, hr = _session()
    sets = [(_at(900.0), _at(940.0)), (_at(970.0), _at(1000.0))]
    s = session_heart(hr, rr, sets=sets, t0=T0)
    assert math.isnan(s.sets[0].hrr60_bpm) and "within 60 s" in (s.sets[0].reason or "")
    assert math.isfinite(s.sets[1].hrr60_bpm)
    # A set soon after the recording starts: no pre-workout rest, and the reason says why.
    s = session_heart(hr, rr, sets=[(_at(100.0), _at(140.0))], t0=T0)
    assert math.isnan(s.rest.hr_bpm) and "first set began" in (s.rest.reason or "")


def test_no_data_at_all() -> None:
    s = session_heart(None, None, sets=_sets(), t0=T0)
    assert s.source == "none" and s.reason
    j = s.to_json()
    assert j["rest_hr_bpm"] is None and j["sets"][0]["peak_hr_bpm"] is None


def test_overlapping_sets_raise() -> None:
    _, rr, hr = _session()
    with pytest.raises(AnalysisError, match="overlaps"):
        session_heart(hr, rr, sets=[(_at(900), _at(960)), (_at(950), _at(1000))], t0=T0)


def test_stream_without_a_time_index_raises() -> None:
    _, rr, hr = _session()
    with pytest.raises(AnalysisError, match="indexed by RangeIndex"):
        session_heart(hr, rr.reset_index(drop=True), sets=_sets(), t0=T0)


def test_hr_series_skips_gaps_and_falls_back_to_strap() -> None:
    # 60 s of beats at 1000 ms, a 20 s link loss, then 60 s more.
    bt = np.concatenate((np.arange(1.0, 61.0), np.arange(81.0, 141.0)))
    t_ns = np.int64(T0.value) + (bt * 1e9).astype(np.int64)
    c = clean_rr(t_ns, np.full(bt.size, 1000.0))
    assert c.segment.max() == 1
    s = heart_rate_series(c, np.zeros(0, np.int64), np.zeros(0))
    grid_s = (s.t0_ns - T0.value) / 1e9 + np.arange(s.hr_bpm.size) / 4.0
    in_gap = (grid_s > 60.0) & (grid_s < 81.0)
    assert np.all(np.isnan(s.hr_bpm[in_gap]))
    np.testing.assert_allclose(s.hr_bpm[~in_gap], 60.0)
    # Strap notifications cover the gap at 72 bpm; a 0-bpm notification is no contact.
    hr_s = np.arange(0.5, 141.0, 1.0)
    bpm = np.full(hr_s.size, 72.0)
    bpm[(hr_s > 120.0) & (hr_s < 125.0)] = 0.0
    hr_ns = np.int64(T0.value) + (hr_s * 1e9).astype(np.int64)
    s = heart_rate_series(c, hr_ns, bpm)
    grid_s = (s.t0_ns - T0.value) / 1e9 + np.arange(s.hr_bpm.size) / 4.0
    in_gap = (grid_s > 61.0) & (grid_s < 80.0)
    np.testing.assert_allclose(s.hr_bpm[in_gap], 72.0)
    assert np.all(s.source[in_gap] == 2)
    assert np.all(s.source[(grid_s > 10.0) & (grid_s < 60.0)] == 1)
    assert np.all(np.isnan(s.hr_bpm[(grid_s > 121.0) & (grid_s < 124.0)]))


def test_summary_window_values() -> None:
    _, rr, hr = _session()
    s: HeartSummary = session_heart(hr, rr, sets=_sets(), t0=T0)
    v = s.window_values()
    assert set(v) == {"pre_workout_hr_bpm", "pre_workout_lnrmssd", "inter_set_hr_bpm"}
    assert v["pre_workout_hr_bpm"] == pytest.approx(60.0, abs=1.0)
    assert v["inter_set_hr_bpm"] > v["pre_workout_hr_bpm"]


@settings(max_examples=100, deadline=None)
@given(
    bpm=st.lists(st.sampled_from([0.0, 55.0, 60.0, 90.0, 150.0]), min_size=1, max_size=60),
    dt_s=st.lists(st.sampled_from([0.5, 1.0, 1.0, 1.0, 4.0]), min_size=60, max_size=60),
)
def test_strap_only_series_interpolates_and_never_invents(
    bpm: list[float], dt_s: list[float]
) -> None:
    t_s = np.cumsum(dt_s[: len(bpm)])
    hr_ns = np.int64(T0.value) + (t_s * 1e9).astype(np.int64)
    v = np.asarray(bpm)
    s = heart_rate_series(None, hr_ns, v)
    ok = np.isfinite(s.hr_bpm)
    assert np.all(s.source[ok] == 2) and np.all(s.source[~ok] == 0)
    if ok.any():
        assert s.hr_bpm[ok].min() >= v[v > 0].min() and s.hr_bpm[ok].max() <= v.max()
    grid_s = (s.t0_ns - T0.value) / 1e9 + np.arange(s.hr_bpm.size) / 4.0
    # Nothing valid within 1.25 s of a no-contact (0 bpm) notification, nor across a 4 s gap.
    for z in t_s[v == 0]:
        assert not ok[np.abs(grid_s - z) <= 1.2].any()
    for k in np.flatnonzero(np.diff(t_s) > 3.0):
        assert not ok[(grid_s > t_s[k]) & (grid_s < t_s[k + 1])].any()


def test_intake_before_recording_start_says_so() -> None:
    _, rr, hr = _session()
    s = session_heart(hr, rr, sets=_sets(), intake_t=_at(60.0), t0=T0)
    assert s.rest_window == "pre_intake" and math.isnan(s.rest.hr_bpm)
    assert "after heart recording began" in (s.rest.reason or "")
    assert math.isnan(s.elevation.delta_bpm)
    assert s.pre_workout is not None and math.isfinite(s.pre_workout.hr_bpm)
