"""The rep evaluation script: its grid, its subsets and held-out seeds, and its command line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from liftsense.signal.results import RepResult, SetResult

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_reps.py"


@pytest.fixture(scope="module")
def ev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_reps", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["eval_reps"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_the_grid_has_a_thousand_sessions_numbered_in_order(ev: ModuleType) -> None:
    grid = ev.grid_jobs()
    assert len(grid) == 1000
    assert [j.seed for j in grid] == list(range(1, 1001))
    # placements an exercise cannot be worn at (a thigh in a bench press) are left out
    assert {j.placement for j in grid if j.exercise == "bench_press"} == {"bar", "wrist"}


def test_a_subset_keeps_each_sessions_seed_from_the_full_grid(ev: ModuleType) -> None:
    full = {(j.exercise, j.placement, j.rate_hz, j.noise, j.tempo): j.seed for j in ev.grid_jobs()}
    sub = ev.grid_jobs(exercises=["back_squat", "hip_thrust"], placements=["thigh"])
    assert len(sub) == 2 * 5 * 2 * 5
    assert {j.exercise for j in sub} == {"back_squat", "hip_thrust"}
    for j in sub:
        assert full[(j.exercise, j.placement, j.rate_hz, j.noise, j.tempo)] == j.seed


def test_a_thigh_model_reaches_the_sessions_it_scores(ev: ModuleType) -> None:
    # the same thigh session, scored with the thigh turning about the knee: same truth, other
    # timing of what the detector sees
    job = ev.grid_jobs(quick=True, exercises=["back_squat"], placements=["thigh"])[0]
    jobs = ev.grid_jobs(
        quick=True, exercises=["back_squat"], placements=["thigh"], thigh_model="angle"
    )
    assert jobs[0].seed == job.seed and {j.thigh_model for j in jobs} == {"angle"}
    rows, _ = ev.run_job(job)
    rows_knee, _ = ev.run_job(jobs[0])
    assert [r["n_true"] for r in rows] == [r["n_true"] for r in rows_knee]
    assert [r["ecc_tut_err"] for r in rows] != [r["ecc_tut_err"] for r in rows_knee]


def test_held_out_seeds_generate_other_sessions_of_the_same_kind(ev: ModuleType) -> None:
    job = ev.grid_jobs(quick=True, exercises=["biceps_curl"], placements=["bar"])[0]
    held = ev.GridJob(**{**job.__dict__, "seed_offset": 5000})
    rows, _ = ev.run_job(job)
    rows_held, _ = ev.run_job(held)
    assert [r["n_true"] for r in rows] == [r["n_true"] for r in rows_held]
    # the same set's eccentric error differs: the noise and the lifter's timing were redrawn
    assert [r["eccentric_s"] for r in rows] != [r["eccentric_s"] for r in rows_held]


def test_failed_attempts_are_scored_against_the_sets_that_have_one(ev: ModuleType) -> None:
    job = ev.grid_jobs(quick=True, exercises=["bench_press"], placements=["bar"])[0]
    fail = ev.GridJob(**{**job.__dict__, "tempo": "fail"})
    rows, _ = ev.run_job(fail)
    # both sets end with a failed rep, found on a clean bar sensor
    assert [(r["failed_true"], r["failed_det"]) for r in rows] == [(1, 1), (1, 1)]
    df = pd.DataFrame(
        {"failed_true": [1, 1, 0, 0, 0, 2], "failed_det": [1, 0, 0, 1, 2, 2], "n_true": 5}
    )
    assert ev._failed_attempts(df) == (
        "failed attempts: reported in 2 of 3 sets that end with one; in 2 of 3 sets without one"
    )


def test_a_dropout_in_every_set_is_scored_against_every_rep_made(ev: ModuleType) -> None:
    job = ev.grid_jobs(quick=True, exercises=["back_squat"], placements=["bar"])[0]
    for at in ("middle", "end"):
        rows, _ = ev.run_job(ev.GridJob(**{**job.__dict__, "dropout_s": 1.0, "dropout_at": at}))
        assert [(r["n_true"], r["n_det"]) for r in rows] == [(6, 6), (10, 10)]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def test_a_subset_runs_from_the_command_line_on_two_processes() -> None:
    out = _run(
        "synthetic", "--quick", "--exercise", "biceps_curl", "--placement", "bar", "--jobs", "2"
    )
    assert out.returncode == 0, out.stderr
    # 12 sessions (3 rates x 2 noise levels x 2 tempos) of two sets each
    assert "synthetic grid: 24 sets" in out.stdout
    assert "of 24 (" in out.stdout
    # the sessions alternate between a sensor with and without gyro, scored apart
    assert "acc only" in out.stdout and "acc+gyro" in out.stdout
    assert "false reps in 2 rest-only/walking-only sessions (10 min)" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--placement", "knee"), "unknown: 'knee'; choose from bar, wrist, thigh, hip"),
        (("--exercise", "plank"), "unknown: 'plank'"),
    ],
)
def test_an_unknown_name_is_refused_with_the_choices(args: tuple[str, ...], message: str) -> None:
    out = _run("synthetic", *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_a_folder_without_the_real_sets_is_refused_with_what_it_lacks(tmp_path: Path) -> None:
    (tmp_path / "muvr_pebble_wrist").mkdir()
    (tmp_path / "muvr_pebble_wrist" / "labels.csv").write_text("file,reps\n")
    out = _run("real", str(tmp_path))
    assert out.returncode == 2
    assert "does not hold ebbelaar_barbell_metamotion/labels.csv" in out.stderr
    assert "muvr_pebble_wrist/labels.csv" not in out.stderr
    assert "Traceback" not in out.stderr


def _acc(t_s: np.ndarray, vertical: np.ndarray) -> pd.DataFrame:
    """Acc (m/s²) of a sensor held upright that moves vertically with ``vertical`` (m/s²)."""
    index = pd.DatetimeIndex(pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(t_s, "s"))
    zeros = np.zeros(t_s.size)
    return pd.DataFrame({"x": zeros, "y": zeros, "z": 9.81 + vertical}, index=index.rename("t"))


def test_a_recording_holds_as_many_cycles_as_its_length_over_its_cadence(ev: ModuleType) -> None:
    t = np.arange(0, 20, 0.02)
    # 2-s reps: 10 on record
    assert ev.cycles_on_record(_acc(t, np.sin(2 * np.pi * t / 2.0))) == pytest.approx(10, abs=0.2)
    # two peaks a rep (a squat at the wrist): counted as cycles of half a rep, never fewer
    doubled = np.sin(2 * np.pi * t / 2.0) + 1.5 * np.sin(2 * np.pi * t / 1.0)
    assert ev.cycles_on_record(_acc(t, doubled)) == pytest.approx(20, abs=0.4)


def _rep(start: float, end: float) -> RepResult:
    return RepResult(0, start, end, end - start, 0.0, 0.0, 0.0, 0.5, 0.1, 0.2, 0.1, 0.2)


def _set(reps: list[RepResult], total_tut_s: float = 2.0) -> SetResult:
    return SetResult(
        0, "back_squat", pd.Timestamp("2026-01-01", tz="UTC"), reps[0].start_s, reps[-1].end_s,
        tuple(reps), "2-0-1-0", 1.0, 1.0, total_tut_s, 0, 0.5, "displacement", "auto",
    )  # fmt: skip


def test_a_rep_mostly_within_a_true_set_is_no_false_rep_however_early_it_starts(
    ev: ModuleType,
) -> None:
    truth = [
        {
            "start_s": 136.5,
            "end_s": 149.3,
            "eccentric_tut_s": 10.0,
            "reps": [
                {"start_s": 136.5, "end_s": 142.5, "eccentric_s": 5.0, "bottom_pause_s": 0.0,
                 "concentric_s": 1.0, "top_pause_s": 0.0, "rom_m": 0.5},
                {"start_s": 142.5, "end_s": 149.3, "eccentric_s": 5.8, "bottom_pause_s": 0.0,
                 "concentric_s": 1.0, "top_pause_s": 0.0, "rom_m": 0.5},
            ],
        }
    ]  # fmt: skip
    # a slow first lowering found 2 s early: the lifter's rep, badly timed
    early = _set([_rep(134.5, 142.5), _rep(142.5, 149.3)])
    assert ev._score_session(truth, [early])["false_reps"] == []
    # a rep in the rest before the set, reaching 1 s into it, is not one of the lifter's
    before = _set([_rep(131.0, 137.5), _rep(137.5, 142.5), _rep(142.5, 149.3)])
    assert ev._score_session(truth, [before])["false_reps"] == ["131.0-137.5 s in a set of 3"]
    # nor is a rep in a detected set that matches no true set
    stray = _set([_rep(300.0, 306.0)])
    assert len(ev._score_session(truth, [early, stray])["false_reps"]) == 1


def test_a_sets_total_tut_is_scored_against_all_the_phases_of_its_true_reps(
    ev: ModuleType,
) -> None:
    reps = [
        {"start_s": 10.0, "end_s": 14.0, "eccentric_s": 2.0, "bottom_pause_s": 1.0,
         "concentric_s": 0.5, "top_pause_s": 0.5, "rom_m": 0.5},
        {"start_s": 14.0, "end_s": 17.5, "eccentric_s": 2.0, "bottom_pause_s": 1.0,
         "concentric_s": 0.5, "top_pause_s": 0.0, "rom_m": 0.5},
    ]  # fmt: skip
    truth = [{"start_s": 10.0, "end_s": 17.5, "eccentric_tut_s": 4.0, "reps": reps}]
    found = [_rep(10.0, 14.0), _rep(14.0, 17.5)]
    exact = ev._score_session(truth, [_set(found, total_tut_s=7.5)])["sets"][0]
    assert exact["tut_err"] == pytest.approx(0.0)
    # each rep's range of motion as true, its concentric 0.1 m/s for 0.5 m in 0.5 s
    assert exact["rom_err"] == pytest.approx(0.0)
    assert exact["con_speed_err"] == pytest.approx(0.9)
    # a last rep that "pauses" 3 s at the top after the set
    long = ev._score_session(truth, [_set(found, total_tut_s=10.5)])["sets"][0]
    assert long["tut_err"] == pytest.approx(3.0 / 7.5)
