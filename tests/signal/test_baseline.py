"""Personal baselines and the elevation verdict (pure function over session summaries)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from liftsense.signal.baseline import baselines_by_subject, personal_baselines, robust_z
from liftsense.signal.heart import HeartSummary

MakeHeart = Callable[..., HeartSummary]  # the heart_summary fixture (conftest.py)


def test_robust_z_known_answer() -> None:
    z, med, mad = robust_z(70.0, [60.0, 61.0, 62.0, 63.0, 64.0])
    assert med == 62.0 and mad == pytest.approx(1.4826)
    assert z == pytest.approx(8.0 / 1.4826)
    assert math.isnan(robust_z(70.0, [])[0])
    assert math.isnan(robust_z(70.0, [62.0, 62.0, 62.0])[0])


def test_elevated_needs_z_and_a_worthwhile_change(
    heart_summary: MakeHeart,
) -> None:
    free = [heart_summary(x) for x in (60.0, 61.0, 62.0, 63.0, 64.0)]
    out = personal_baselines([*free, heart_summary(70.0, stimulant=True, within=6.0)])
    e = out[-1].elevation
    assert e.status == "elevated" and e.baseline_n == 5
    assert e.z == pytest.approx(8.0 / 1.4826)
    assert e.baseline_median_bpm == 62.0 and e.baseline_delta_bpm == 8.0
    assert e.swc_bpm == pytest.approx(0.5 * math.sqrt(2.5))
    assert e.delta_bpm == 6.0
    assert e.z_by_window["inter_set_hr_bpm"] == pytest.approx(8.0 / 1.4826)
    # z is high but the within-session change is below the smallest worthwhile change.
    out = personal_baselines([*free, heart_summary(70.0, stimulant=True, within=0.5)])
    assert out[-1].elevation.status == "not elevated"
    # Without a within-session delta, the change from the baseline median is used.
    out = personal_baselines([*free, heart_summary(70.0, stimulant=True)])
    assert out[-1].elevation.status == "elevated"
    out = personal_baselines([*free, heart_summary(63.0, stimulant=True, within=6.0)])
    assert out[-1].elevation.status == "not elevated"


def test_stimulant_sessions_never_enter_the_baseline(
    heart_summary: MakeHeart,
) -> None:
    sessions = [heart_summary(60.0), heart_summary(61.0), heart_summary(80.0, stimulant=True)]
    sessions += [heart_summary(90.0, stimulant=True)]
    out = personal_baselines(sessions)
    assert [o.elevation.baseline_n for o in out] == [1, 1, 2, 2]
    assert all(o.elevation.status == "insufficient baseline" for o in out)
    assert all(math.isnan(o.elevation.z) for o in out)
    assert "need 3" in (out[2].elevation.reason or "")


def test_each_session_is_left_out_of_its_own_baseline(
    heart_summary: MakeHeart,
) -> None:
    sessions = [heart_summary(x) for x in (60.0, 61.0, 62.0, 75.0)]
    out = personal_baselines(sessions)
    assert out[3].elevation.baseline_n == 3 and out[3].elevation.baseline_median_bpm == 61.0
    assert out[3].elevation.status == "elevated"
    assert out[0].elevation.baseline_median_bpm == 62.0


def test_missing_window_is_no_data_with_its_baseline_still_counted(
    heart_summary: MakeHeart,
) -> None:
    free = [heart_summary(x) for x in (60.0, 61.0, 62.0)]
    empty = replace(heart_summary(math.nan, stimulant=True), sets=())
    out = personal_baselines([*free, empty])
    assert out[-1].elevation.status == "no data"
    assert out[-1].elevation.reason == "pre-workout rest HR not computable"
    assert out[-1].elevation.baseline_n == 3 and out[-1].elevation.baseline_median_bpm == 61.0
    assert out[-1].to_json()["elevation"]["z"] is None
    # a stimulant session joins no baseline: each free session is judged against the other two
    assert [o.elevation.baseline_n for o in out[:3]] == [2, 2, 2]


def test_by_subject_judges_each_subject_against_their_own_sessions(
    heart_summary: MakeHeart,
) -> None:
    ann = [heart_summary(x) for x in (60.0, 61.0, 62.0, 75.0)]
    bob = [heart_summary(x) for x in (80.0, 81.0, 82.0)]
    mixed = [ann[0], bob[0], None, ann[1], bob[1], ann[2], bob[2], ann[3]]
    subjects = ["ann", "bob", "ann", "ann", "bob", "ann", "bob", "ann"]
    out = baselines_by_subject(subjects, mixed)
    assert out[2] is None

    def verdict(h: HeartSummary | None) -> tuple[str, int, float, float]:
        assert h is not None
        e = h.elevation
        return e.status, e.baseline_n, e.baseline_median_bpm, e.z

    assert [verdict(out[k]) for k in (0, 3, 5, 7)] == [verdict(h) for h in personal_baselines(ann)]
    assert out[7] is not None and out[7].elevation.status == "elevated"
    assert out[1] is not None and out[1].elevation.baseline_median_bpm == 81.5
    with pytest.raises(ValueError, match="2 subjects for 1"):
        baselines_by_subject(["a", "b"], [None])


def test_end_to_end_on_synthetic_sessions() -> None:
    """Four stimulant-free days (rest HR 60-63) and two caffeine days: +8 bpm and +0 bpm."""
    import numpy as np
    import pandas as pd

    from liftsense.emulate.heartmodel import simulate_heart
    from liftsense.signal.heart import session_heart

    t0 = pd.Timestamp("2026-01-01T10:00:00Z")

    def day(rest: float, elevation: float, caffeine: bool, seed: int) -> HeartSummary:
        # Intake at 5 min, first set at 50 min (pre-workout rest 45-50 min, near peak effect).
        et = np.array([0.0, 2999.0, 3000.0, 3040.0, 3041.0])
        h = simulate_heart(
            3300.0,
            effort_t_s=et,
            effort=np.array([0.0, 0.0, 0.6, 0.6, 0.0]),
            rest_hr_bpm=rest,
            elevation_bpm=elevation,
            elevation_onset_s=300.0,
            artefact_rate=0.02,
            seed=seed,
        )
        idx = pd.DatetimeIndex(t0 + pd.to_timedelta(h.observed_beat_t_s, unit="s"), name="t")
        rr = pd.DataFrame({"value": h.observed_rr_ms}, index=idx)
        sets = [(t0 + pd.Timedelta(seconds=3000), t0 + pd.Timedelta(seconds=3040))]
        intake = t0 + pd.Timedelta(seconds=300) if caffeine else None
        return session_heart(None, rr, sets=sets, intake_t=intake, t0=t0)

    free = [day(r, 0.0, False, k) for k, r in enumerate((60.0, 61.0, 62.0, 63.0))]
    out = personal_baselines([*free, day(61.5, 8.0, True, 10), day(61.5, 0.0, True, 11)])
    up, flat = out[-2].elevation, out[-1].elevation
    assert up.baseline_n == 4 and up.status == "elevated"
    assert up.delta_bpm == pytest.approx(8.0 * 0.99, abs=1.5)  # about 99 % of peak at 45-50 min
    assert flat.status == "not elevated" and abs(flat.delta_bpm) < 1.5
    assert all(o.elevation.status in ("elevated", "not elevated") for o in out[:4])
