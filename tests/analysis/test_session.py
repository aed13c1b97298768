"""One recording in, one analysis out: the plumbing from recording to analyze --json."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from liftsense.analysis.session import (
    MUSCLE_COLUMNS,
    SESSION_COLUMNS,
    SET_COLUMNS,
    add_novelty,
    analyze,
    epley_1rm,
    reps_text,
)
from liftsense.cli import app
from liftsense.emulate.motion import generate
from liftsense.emulate.offline import write_recording
from liftsense.emulate.scenarios import scenario
from liftsense.errors import AnalysisError
from liftsense.recording import JournalWriter
from liftsense.schema import SessionMeta


@pytest.fixture(scope="module")
def short_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    session = generate(scenario("short"), seed=3)
    base = tmp_path_factory.mktemp("rec") / "short"
    return write_recording(session, base, subject="anna", caffeine_mg=200, caffeine_at_s=-2700)


def test_analysis_matches_the_generator_truth(short_recording: Path) -> None:
    result = analyze(short_recording)
    truth = json.loads(short_recording.with_name("short.truth.json").read_text())
    assert [len(s.reps) for s in result.sets] == [len(s["reps"]) for s in truth["sets"]]
    assert [s.exercise for s in result.sets] == ["back_squat", "back_squat"]
    assert [s.load_kg for s in result.sets] == [60.0, 60.0]
    for found, true in zip(result.sets, truth["sets"], strict=True):
        assert found.start_s == pytest.approx(true["start_s"], abs=1.0)
        assert found.eccentric_tut_s == pytest.approx(true["eccentric_tut_s"], rel=0.15)
    assert result.imu_device == "IMU-BAR"
    assert result.heart is not None and result.heart.stimulant
    assert result.caffeine_mg == 200
    # The logged intake reaches the heart features: exposure, and time since it per set.
    assert (result.heart.substance, result.heart.dose_mg) == ("caffeine", 200)
    intake_s = (pd.Timestamp(result.meta.intake[0].t) - result.t0).total_seconds()
    assert intake_s == pytest.approx(-2700, abs=5.0)
    assert [h.since_intake_s for h in result.heart.sets] == pytest.approx(
        [s.start_s - intake_s for s in result.sets]
    )


def test_json_is_the_documented_contract(short_recording: Path) -> None:
    out = analyze(short_recording).to_json()
    assert {"recording", "t0", "sets", "heart"} <= out.keys()
    s = out["sets"][0]
    assert {
        "index",
        "exercise",
        "load_kg",
        "start_s",
        "end_s",
        "tempo",
        "eccentric_tut_s",
        "reps",
    } <= s.keys()
    assert {
        "index",
        "start_s",
        "end_s",
        "eccentric_s",
        "bottom_pause_s",
        "concentric_s",
        "top_pause_s",
        "rom_m",
    } <= s["reps"][0].keys()
    assert {
        "rest_hr_bpm",
        "rest_rmssd_ms",
        "rest_lnrmssd",
        "artefact_pct",
        "elevation",
        "sets",
    } <= out["heart"].keys()
    assert {"delta_bpm", "z", "status"} <= out["heart"]["elevation"].keys()
    json.dumps(out, allow_nan=False)


def test_tables_have_a_fixed_schema(short_recording: Path) -> None:
    result = analyze(short_recording)
    sets = result.set_rows()
    assert tuple(sets.columns) == SET_COLUMNS and len(sets) == 2
    assert (sets["volume_load_kg"] == sets["load_kg"] * sets["reps"]).all()
    assert tuple(result.session_row().columns) == SESSION_COLUMNS
    muscles = result.muscle_rows()
    assert tuple(muscles.columns) == MUSCLE_COLUMNS
    quads = muscles.set_index("muscle").loc["quads"]
    assert quads["eccentric_volume_load_kg"] == pytest.approx(sets["volume_load_kg"].sum())


def test_cli_analyze_json_and_table(short_recording: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["analyze", str(short_recording), "--json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["sets"]) == 2
    table = runner.invoke(app, ["analyze", str(short_recording)])
    assert table.exit_code == 0 and "back_squat" in table.output


def test_rest_only_recording_has_no_sets_and_says_so(tmp_path: Path) -> None:
    session = generate(replace(scenario("rest-only"), lead_in_s=60), seed=1)
    result = analyze(write_recording(session, tmp_path / "rest"))
    assert result.sets == ()
    assert any("no sets found" in w for w in result.warnings)


def test_recording_without_imu_or_heart(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "hr", SessionMeta(session_id="x")) as journal:
        journal.append(
            "hr", "strap", 1_700_000_000_000_000_000 + pd.RangeIndex(60) * 10**9, value=[70.0] * 60
        )
    result = analyze(tmp_path / "hr.parquet")
    assert result.sets == () and result.imu_device is None
    assert any("no accelerometer" in w for w in result.warnings)


def test_unanalysable_imu_names_the_file(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "flat", SessionMeta(session_id="x")) as journal:
        t = 1_700_000_000_000_000_000 + pd.RangeIndex(100).to_numpy() * 10_000_000
        journal.append("acc", "imu", t, x=[0.0] * 100, y=[0.0] * 100, z=[9.81] * 100)
    with pytest.raises(AnalysisError, match=r"flat\.parquet"):
        analyze(tmp_path / "flat.parquet")


def test_a_sets_count_reads_with_its_failed_attempts_and_unrecorded_time_and_reps() -> None:
    assert reps_text(8, 0, 0.0) == "8"
    assert reps_text(8, 1, 0.0) == "8 (+1 failed)"
    assert reps_text(7, 0, 2.08) == "7 (2.1 s unrecorded)"
    assert reps_text(7, 2, 1.0) == "7 (+2 failed; 1.0 s unrecorded)"
    assert reps_text(7, 0, 2.0, 1) == "7 (2.0 s unrecorded; 1 untimed)"
    assert reps_text(7, 0, 2.0, 0, 2) == "7 (2.0 s unrecorded; 2 timed from the tempo)"
    assert reps_text(9, 1, 3.5, 2) == "9 (+1 failed; 3.5 s unrecorded; 2 untimed)"
    assert reps_text(10, 0, 0.0, 1) == "10 (1 untimed)"


def test_epley_and_novelty() -> None:
    assert epley_1rm(100, 1) == 100
    assert epley_1rm(100, 10) == pytest.approx(133.333, abs=1e-3)
    assert math.isnan(epley_1rm(math.nan, 5))
    t = pd.to_datetime(["2026-01-01", "2026-01-04", "2026-01-02"], utc=True)
    df = pd.DataFrame(
        {
            "subject": ["a", "a", "a"],
            "muscle": ["glutes", "glutes", "quads"],
            "started_at": t,
            "novelty_days": math.nan,
        }
    )
    out = add_novelty(df)
    assert math.isnan(out.loc[0, "novelty_days"]) and out.loc[1, "novelty_days"] == 3.0
    assert math.isnan(out.loc[2, "novelty_days"])


def test_each_set_row_carries_its_own_heart_features(short_recording: Path) -> None:
    result = analyze(short_recording)
    assert result.heart is not None
    sets = result.set_rows()
    assert [h.index for h in result.heart.sets] == list(sets["set_index"])
    expected = [h.peak_hr_bpm for h in result.heart.sets]
    np.testing.assert_array_equal(sets["peak_hr_bpm"].to_numpy(), expected)
    assert np.isfinite(sets["peak_hr_bpm"]).all()
