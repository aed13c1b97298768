"""Soreness outcomes, the relate() result schema and declines, and a small simulation study."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liftsense.analysis import relate as rel
from liftsense.analysis import stats
from liftsense.analysis.logs import log_intake, log_soreness
from liftsense.analysis.outcomes import OUTCOME_COLUMNS, soreness_outcomes
from liftsense.analysis.simulate import SCENARIOS, coverage_study, simulate_cohort
from liftsense.errors import AnalysisError, LogError

T0 = pd.Timestamp("2026-03-02T17:00:00Z")  # 18:00 local at +01:00


def _ratings(rows: list[tuple[float, str, float]], subject: str = "ana") -> pd.DataFrame:
    """Soreness frame from (hours after T0, muscle, rating), all logged at +01:00."""
    return pd.DataFrame(
        {
            "time": pd.DatetimeIndex([T0 + pd.Timedelta(hours=h) for h, _, _ in rows]),
            "subject": subject,
            "muscle": [m for _, m, _ in rows],
            "rating": [float(r) for _, _, r in rows],
            "utc_offset_min": 60,
        }
    )


def _sessions(hours: list[float], muscle: str = "quads", subject: str = "ana") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": subject,
            "session_id": [f"{subject}-{i}" for i in range(len(hours))],
            "started_at": pd.DatetimeIndex([T0 + pd.Timedelta(hours=h) for h in hours]),
            "muscle": muscle,
        }
    )


def test_outcome_known_answer() -> None:
    soreness = _ratings(
        [
            (-30, "quads", 5),  # outside the 24 h pre window
            (-20, "quads", 2),  # the pre-session rating
            (6, "quads", 3),  # before 12 h: in the AUC, not a peak candidate
            (24, "quads", 6),
            (48, "quads", 7),
            (72, "quads", 4),
            (120, "quads", 0),  # anchors the curve's value at 96 h: 4 + (0 - 4) * 24 / 48 = 2
            (48, "glutes", 9),  # another muscle
        ]
    )
    intake = pd.DataFrame(
        {
            "time": [
                T0 + pd.Timedelta(hours=38),  # 08:00 local on the 48 h rating day: counts
                T0 + pd.Timedelta(hours=26),  # 20:00 local after the 24 h rating: does not
                T0 + pd.Timedelta(hours=38),  # decaf: not an analgesic substance
            ],
            "subject": "ana",
            "substance": ["caffeine", "caffeine", "decaf"],
            "dose_mg": [200.0, 150.0, 5.0],
            "utc_offset_min": 60,
        }
    )
    out = soreness_outcomes(_sessions([0.0]), soreness, intake).iloc[0]
    assert out["pre_rating"] == 2.0 and out["pre_rating_logged"]
    assert (out["peak_rating"], out["peak_at_h"], out["peak_soreness_delta"]) == (7.0, 48.0, 5.0)
    # (rating - 2) at 0, 6, 24, 48, 72, 96 h: 0, 1, 4, 5, 2, 0 -> trapezoids 3+45+108+84+24.
    assert out["soreness_auc_rating_h"] == pytest.approx(264.0)
    assert out["auc_carried_h"] == 0.0
    assert out["n_ratings"] == 4
    assert out["rating_day_caffeine_mg"] == 200.0 and out["caffeine_on_rating_day"]
    assert math.isnan(out["next_bout_h"])


def test_outcome_without_ratings_and_with_overlapping_bouts() -> None:
    soreness = _ratings([(24, "quads", 4), (48, "quads", 6)])
    out = soreness_outcomes(_sessions([0.0, 72.0, 500.0]), soreness)
    first, second, third = (out.iloc[i] for i in range(3))
    assert first["pre_rating"] == 0.0 and not first["pre_rating_logged"]
    assert first["peak_soreness_delta"] == 6.0
    # No rating after 48 h: the curve is held at 6 up to 96 h (48 h carried).
    assert first["auc_carried_h"] == 48.0
    assert first["soreness_auc_rating_h"] == pytest.approx(4 * 12 + 5 * 24 + 6 * 48)
    assert first["next_bout_h"] == 72.0
    # The 48 h rating lies 24 h before the second bout: its pre-session rating.
    assert second["pre_rating"] == 6.0 and second["pre_rating_logged"]
    assert math.isnan(second["peak_rating"]) and math.isnan(second["peak_soreness_delta"])
    assert second["next_bout_h"] == 428.0
    assert third["n_ratings"] == 0 and math.isnan(third["soreness_auc_rating_h"])
    assert not third["caffeine_on_rating_day"]
    assert set(OUTCOME_COLUMNS) <= set(out.columns)


def test_outcomes_refuse_naive_session_times() -> None:
    sessions = _sessions([0.0]).assign(started_at=pd.Timestamp("2026-03-02T17:00"))
    with pytest.raises(AnalysisError, match="timezone-aware"):
        soreness_outcomes(sessions, _ratings([(24, "quads", 4)]))


def test_novelty_covariate_caps_and_fills_first_exposure() -> None:
    got = rel.novelty_covariate([np.nan, 3.0, 100.0, 0.0], cap_days=28.0)
    np.testing.assert_allclose(got, np.log1p([28.0, 3.0, 28.0, 0.0]))


def _one_subject_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(2000, 300, n)
    return pd.DataFrame(
        {
            "subject": "ana",
            "session_id": [f"s{i}" for i in range(n)],
            "muscle": "quads",
            "eccentric_volume_load_kg": x,
            "hr_elevation_z": rng.normal(size=n),
            "novelty_days": np.r_[np.nan, rng.integers(2, 10, n - 1)],
            "peak_soreness_delta": 0.004 * x + rng.normal(size=n),
            "caffeine_on_rating_day": np.arange(n) % 3 == 0,
        }
    )


def test_relate_declines_below_the_minimum_n_with_reasons() -> None:
    report = rel.relate(_one_subject_table(5), rel.RelateConfig(features=(), outcomes=()))
    by_method = {(r.feature, r.method): r for r in report.results}
    r = by_method[("eccentric_volume_load_kg", "rmcorr")]
    assert r.status == "declined" and "fewer than 2 subjects" in r.reason
    s = by_method[("eccentric_volume_load_kg", "spearman")]
    assert s.status == "declined" and "5 sessions is below the minimum 8" in s.reason
    assert s.subject == "ana" and math.isnan(s.estimate) and math.isnan(s.ci_low)
    m = by_method[("eccentric_volume_load_kg", "mixedlm")]
    assert m.status == "declined" and "MixedLM needs at least 5" in m.reason


def test_relate_within_one_subject_gives_partial_rho_with_interval() -> None:
    table = _one_subject_table(20)
    report = rel.relate(table, rel.RelateConfig(features=(), outcomes=()))
    s = next(r for r in report.results if r.method == "spearman" and r.family == "primary")
    assert s.status == "ok" and s.estimate_kind == "partial_rho" and s.adjusted_for == "novelty"
    direct = stats.spearman(
        table["eccentric_volume_load_kg"],
        table["peak_soreness_delta"],
        rel.novelty_covariate(table["novelty_days"], 28.0),
    )
    assert (s.estimate, s.ci_low, s.ci_high) == (direct.estimate, direct.ci_low, direct.ci_high)
    assert s.n_obs == 20 and s.n_caffeine_confounded == 7


def test_relate_bootstrap_option_gives_a_bca_interval() -> None:
    cfg = rel.RelateConfig(features=(), outcomes=(), spearman_ci="bootstrap", n_resamples=199)
    report = rel.relate(_one_subject_table(12), cfg)
    s = next(r for r in report.results if r.method == "spearman" and r.status == "ok")
    assert s.ci_method == "bca_bootstrap"
    assert -1 <= s.ci_low < s.estimate < s.ci_high <= 1


def test_relate_missing_feature_column_declines_every_method() -> None:
    table = _one_subject_table(10).drop(columns=["hr_elevation_z"])
    report = rel.relate(table, rel.RelateConfig(features=(), outcomes=()))
    hr = [r for r in report.results if r.feature == "hr_elevation_z"]
    assert {r.method for r in hr} == set(rel.METHODS)
    assert all(r.status == "declined" and "not in the session table" in r.reason for r in hr)


def test_relate_schema_families_holm_and_json() -> None:
    sim = simulate_cohort(np.random.default_rng(4), n_subjects=5, n_sessions=10)
    report = rel.relate(sim.table)
    frame = report.to_frame()
    assert list(frame.columns) == [f.name for f in fields(rel.Relation)]
    assert (report.n_subjects, report.n_sessions, report.n_rows) == (5, 50, 50)
    primary = frame[frame["family"] == "primary"]
    assert set(zip(primary["feature"], primary["outcome"], strict=True)) == set(rel.PRIMARY)
    n_pairs = len(rel.FEATURES) * len(rel.OUTCOMES)
    assert (frame["method"] == "rmcorr").sum() == n_pairs
    assert (frame["method"] == "spearman").sum() == 5 * n_pairs
    ok = frame[frame["status"] == "ok"]
    assert (ok["p_holm"] >= ok["p_value"]).all()
    for _, part in ok.groupby(["family", "method"]):
        np.testing.assert_allclose(part["p_holm"], stats.holm(part["p_value"]))
    body = json.loads(report.to_json())
    assert body["n_subjects"] == 5 and len(body["results"]) == len(frame)
    assert any("not causal" in note for note in body["notes"])
    assert rel.RelateReport((), 0, 0, 0, ()).to_frame().columns.tolist() == list(frame.columns)


def test_declined_results_serialise_nan_as_null() -> None:
    report = rel.relate(_one_subject_table(5), rel.RelateConfig(features=(), outcomes=()))
    body = json.loads(report.to_json())
    assert body["results"][0]["status"] == "declined"
    assert body["results"][0]["estimate"] is None and body["results"][0]["ci_low"] is None


def test_relate_excludes_caffeine_confounded_rows_on_request() -> None:
    table = _one_subject_table(21)
    cfg = rel.RelateConfig(features=(), outcomes=(), exclude_caffeine_confounded=True)
    s = next(r for r in rel.relate(table, cfg).results if r.method == "spearman")
    assert s.n_obs == 14 and s.n_caffeine_confounded == 0


def test_relate_mixedlm_declines_without_statsmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "statsmodels_available", lambda: False)
    sim = simulate_cohort(np.random.default_rng(0), n_subjects=6, n_sessions=8)
    report = rel.relate(sim.table, rel.RelateConfig(features=(), outcomes=()))
    m = [r for r in report.results if r.method == "mixedlm"]
    assert m and all(r.status == "declined" and "not installed" in r.reason for r in m)
    assert all(r.status == "ok" for r in report.results if r.method == "rmcorr")


def test_relate_without_novelty_does_not_adjust_and_says_so() -> None:
    sim = simulate_cohort(np.random.default_rng(2), n_subjects=6, n_sessions=8)
    table = sim.table.drop(columns=["novelty_days"])
    report = rel.relate(table, rel.RelateConfig(features=(), outcomes=()))
    rows = [r for r in report.results if r.feature == "eccentric_volume_load_kg"]
    assert all(r.adjusted_for == "" for r in rows)
    assert {r.estimate_kind for r in rows if r.method == "spearman"} == {"rho"}
    rm = next(r for r in rows if r.method == "rmcorr")
    assert rm.status == "ok" and rm.df == 48 - 6 - 1


def test_relate_marks_an_untrustworthy_mixedlm_as_fallback() -> None:
    pytest.importorskip("statsmodels")
    rng = np.random.default_rng(1)
    table = _one_subject_table(36).assign(subject=np.repeat([f"S{k}" for k in range(6)], 6))
    y = table["eccentric_volume_load_kg"] / 1000 + rng.normal(size=36)
    table["peak_soreness_delta"] = y - y.groupby(table["subject"]).transform("mean")
    table = table.drop(columns=["novelty_days"])
    report = rel.relate(table, rel.RelateConfig(features=(), outcomes=()))
    m = next(r for r in report.results if r.method == "mixedlm" and r.family == "primary")
    assert m.status == "fallback" and "the rmcorr estimate stands" in m.reason
    assert math.isnan(m.estimate)
    rm = next(r for r in report.results if r.method == "rmcorr" and r.family == "primary")
    assert rm.status == "ok"


def test_relate_requires_subject_and_muscle() -> None:
    with pytest.raises(AnalysisError, match="'muscle'"):
        rel.relate(pd.DataFrame({"subject": ["a"]}))


# ---------------------------------------------------------------- simulation (small version)

_BY_NAME = {s.name: s for s in SCENARIOS}


def test_intervals_cover_a_known_effect() -> None:
    results = {m.method: m for m in coverage_study(_BY_NAME["effect 6x12"], 30, seed=7)}
    assert results["rmcorr"].coverage >= 0.85
    assert results["spearman"].coverage >= 0.85
    assert results["mixedlm"].coverage >= 0.85
    assert results["mixedlm"].n_intervals >= 24
    # Not trivially wide: rmcorr's interval is narrower than +-0.3 around r on average.
    assert results["rmcorr"].mean_width < 0.6


def test_false_positive_rate_without_an_effect() -> None:
    results = {m.method: m for m in coverage_study(_BY_NAME["null 6x12"], 30, seed=8)}
    for method in ("rmcorr", "spearman", "mixedlm"):
        assert results[method].false_positive_rate <= 0.125, method


def test_false_positive_rate_through_the_whole_pipeline() -> None:
    scenario = _BY_NAME["null pipeline 6x12"]
    results = {m.method: m for m in coverage_study(scenario, 40, seed=9, mixedlm=False)}
    assert set(results) == {"rmcorr", "spearman"}
    assert results["rmcorr"].n_intervals == 40
    assert results["rmcorr"].false_positive_rate <= 0.125
    assert results["spearman"].false_positive_rate <= 0.125


def test_relate_with_logs_reads_the_logs_beside_the_recordings(tmp_path: Path) -> None:
    now = (T0 + pd.Timedelta(days=30)).to_pydatetime()
    for h, rating in ((-10, 1), (24, 5), (48, 6)):
        at = (T0 + pd.Timedelta(hours=h)).to_pydatetime()
        log_soreness(tmp_path, "quads", rating, at=at, subject="ana", now=now)
    log_intake(tmp_path, "caffeine", 100, at=(T0 + pd.Timedelta(hours=40)).to_pydatetime(),
               subject="ana", now=now)  # fmt: skip
    muscles = _sessions([0.0]).assign(eccentric_volume_load_kg=1500.0, novelty_days=np.nan)
    table, report = rel.relate_with_logs(muscles, tmp_path)
    row = table.iloc[0]
    assert (row["pre_rating"], row["peak_soreness_delta"]) == (1.0, 5.0)
    assert row["caffeine_on_rating_day"]
    assert report.n_subjects == 1
    assert all(r.status == "declined" for r in report.results)


def test_relate_with_logs_reports_a_bad_log_line(tmp_path: Path) -> None:
    (tmp_path / "soreness.csv").write_text("time,subject,muscle,rating\nyesterday,ana,quads,3\n")
    with pytest.raises(LogError, match=r"soreness.csv: line 2: time 'yesterday'"):
        rel.relate_with_logs(_sessions([0.0]), tmp_path)


def test_novelty_adjustment_removes_repeated_bout_confounding() -> None:
    scenario = _BY_NAME["effect 6x12 confounded"]
    results = {m.method: m for m in coverage_study(scenario, 40, seed=10, mixedlm=False)}
    assert results["rmcorr"].coverage >= 0.85
    # Ignoring novelty when load depends on the gap misses the truth far more often.
    assert results["rmcorr_unadj"].coverage <= results["rmcorr"].coverage - 0.15
