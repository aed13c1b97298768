from __future__ import annotations

import json
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from liftsense.emulate import poses
from liftsense.emulate.imu_model import drop_out
from liftsense.emulate.motion import (
    G_MPS2,
    SessionSpec,
    SetSpec,
    Tempo,
    generate,
)
from liftsense.emulate.scenarios import SCENARIOS, scenario

QUIET = {"acc_noise_ug_rthz": 0.0, "acc_bias_mps2": 0.0, "gyro_noise_dps_rthz": 0.0}


def test_tempo_parses_and_prints() -> None:
    t = Tempo.parse("3-1-X-0")
    assert t == Tempo(3.0, 1.0, 0.6, 0.0)
    assert str(Tempo.parse("3-1-1-0")) == "3-1-1-0"
    with pytest.raises(ValueError, match="four numbers"):
        Tempo.parse("3-1-1")


def test_same_seed_same_session_other_seed_differs() -> None:
    a = generate(scenario("short"), seed=4)
    b = generate(scenario("short"), seed=4)
    c = generate(scenario("short"), seed=5)
    pd.testing.assert_frame_equal(a.imu, b.imu)
    assert a.truth.to_json() == b.truth.to_json()
    assert not a.imu.iloc[:100].equals(c.imu.iloc[:100])


def test_imu_frame_layout_and_rate() -> None:
    for rate in (12.5, 416.0):
        s = generate(replace(scenario("short"), rate_hz=rate), seed=1)
        assert s.imu.index.name == "t"
        assert str(s.imu.index.tz) == "UTC"
        assert list(s.imu.columns) == ["x", "y", "z", "gx", "gy", "gz"]
        step_s = np.diff(s.imu.index.asi8) / 1e9
        assert step_s == pytest.approx(np.full(step_s.size, 1 / rate), abs=1e-6)
    no_gyro = generate(replace(scenario("short"), gyro=False), seed=1)
    assert list(no_gyro.imu.columns) == ["x", "y", "z"]


def test_truth_json_has_the_analyze_shape() -> None:
    s = generate(scenario("short"), seed=2)
    doc = json.loads(s.truth.to_json())
    assert [len(st["reps"]) for st in doc["sets"]] == [5, 5]
    first = doc["sets"][0]
    assert first["exercise"] == "back_squat"
    assert first["tempo"] == "2-0-1-0"
    assert set(first["reps"][0]) == {
        "index",
        "start_s",
        "end_s",
        "eccentric_s",
        "bottom_pause_s",
        "concentric_s",
        "top_pause_s",
        "rom_m",
    }
    reps = first["reps"]
    for r in reps:  # the phases tile the rep
        total = r["eccentric_s"] + r["bottom_pause_s"] + r["concentric_s"] + r["top_pause_s"]
        assert total == pytest.approx(r["end_s"] - r["start_s"], abs=1e-9)
    assert first["eccentric_tut_s"] == pytest.approx(sum(r["eccentric_s"] for r in reps))
    assert reps[-1]["top_pause_s"] == 0.0
    assert first["start_s"] == reps[0]["start_s"] and first["end_s"] == reps[-1]["end_s"]


def test_bar_acceleration_integrates_to_the_true_range_of_motion() -> None:
    spec = replace(scenario("short"), random_orientation=False, **QUIET)
    s = generate(spec, seed=3)
    t_s = (s.imu.index.asi8 - s.imu.index.asi8[0]) / 1e9
    z = s.imu["z"].to_numpy()  # sensor z is vertical without a random mount
    rep = s.truth.sets[0]["reps"][0]
    still = (t_s > rep["start_s"] - 1.2) & (t_s < rep["start_s"] - 0.2)
    az = z - z[still].mean()  # the sensor's scale error, as a user would calibrate it away
    m = (t_s >= rep["start_s"] - 0.2) & (t_s <= rep["start_s"] + rep["eccentric_s"] + 0.05)
    dt = 1 / spec.rate_hz
    depth_m = np.cumsum(np.cumsum(az[m]) * dt) * dt
    assert depth_m[-1] == pytest.approx(-rep["rom_m"], abs=0.03)


def test_specific_force_magnitude_does_not_depend_on_mounting() -> None:
    base = replace(scenario("short"), **QUIET)
    a = generate(replace(base, random_orientation=False), seed=6).imu
    b = generate(base, seed=6).imu
    na = np.linalg.norm(a[["x", "y", "z"]].to_numpy(), axis=1)
    nb = np.linalg.norm(b[["x", "y", "z"]].to_numpy(), axis=1)
    assert np.median(np.abs(na - nb)) < 0.03 * G_MPS2


def test_saturation_clips_at_the_chosen_range() -> None:
    fast = SetSpec("back_squat", 60, 3, Tempo(1, 0, 0.4, 0.5))
    spec = SessionSpec((fast,), lead_in_s=5, tail_s=5, range_g=2, random_orientation=False)
    acc = generate(spec, seed=1).imu[["x", "y", "z"]].to_numpy()
    assert np.abs(acc).max() == pytest.approx(2 * G_MPS2, rel=1e-4)
    assert (np.abs(acc[:, 2]) >= 2 * G_MPS2 * 0.9999).sum() > 5


def test_failed_last_rep_is_flagged_and_not_counted() -> None:
    s = generate(scenario("failure"), seed=1)
    last = s.truth.sets[-1]
    assert last["failed_reps"] == 1
    assert len(last["reps"]) == 7
    table = s.truth.rep_table
    assert table["failed"].sum() == 1
    assert len(table) == 8 * 3


def test_paused_and_slow_reps_follow_the_prescription() -> None:
    paused = generate(scenario("paused"), seed=1).truth.sets[0]["reps"]
    assert min(r["bottom_pause_s"] for r in paused) > 1.5
    slow = generate(scenario("slow-eccentric"), seed=1).truth.sets[0]["reps"]
    assert np.median([r["eccentric_s"] for r in slow]) == pytest.approx(6.0, rel=0.15)


def test_concentric_first_exercise_starts_with_the_concentric() -> None:
    spec = SessionSpec(
        (SetSpec("overhead_press", 40, 4, Tempo(3, 0, 1, 1)),),
        lead_in_s=5,
        tail_s=5,
        random_orientation=False,
        **QUIET,
    )
    s = generate(spec, seed=2)
    rep = s.truth.sets[0]["reps"][0]
    t_s = (s.imu.index.asi8 - s.imu.index.asi8[0]) / 1e9
    early = (t_s > rep["start_s"]) & (t_s < rep["start_s"] + 0.3)
    assert s.imu["z"].to_numpy()[early].mean() > G_MPS2 + 0.5  # pushed up first


def test_placement_that_does_not_move_is_refused() -> None:
    spec = replace(scenario("slow-eccentric"), placement="thigh")
    with pytest.raises(ValueError, match="thigh"):
        generate(spec)
    with pytest.raises(ValueError, match="placement"):
        generate(replace(scenario("short"), placement="ankle"))


def test_every_scenario_generates() -> None:
    for name, spec in SCENARIOS.items():
        assert scenario(name) is spec
        s = generate(spec, seed=0)
        assert len(s.truth.sets) == len(spec.sets), name
        assert len(s.truth.rep_table) == sum(st.reps for st in spec.sets), name
    with pytest.raises(ValueError, match="demo"):
        scenario("nope")


def test_effort_is_high_in_sets_and_zero_at_rest() -> None:
    s = generate(scenario("short"), seed=1)
    first = s.truth.sets[0]
    inside = (s.effort_t_s > first["start_s"] + 1) & (s.effort_t_s < first["end_s"] - 1)
    assert s.effort[inside].min() > 0.5
    assert s.effort[s.effort_t_s < 5].max() == 0.0


def test_heart_truth_is_attached() -> None:
    s = generate(replace(scenario("short"), rest_hr_bpm=55), seed=1)
    heart = json.loads(s.truth.to_json())["heart"]
    assert np.diff(heart["hr_t_s"]) == pytest.approx(np.ones(len(heart["hr_t_s"]) - 1))
    assert min(heart["hr_bpm"]) > 40 and max(heart["hr_bpm"]) < 200
    assert math.isclose(heart["hr_t_s"][0], 0.0)


def test_a_dropout_takes_the_samples_from_a_sets_middle_rep_or_from_its_end() -> None:
    t = pd.date_range("2026-01-05", periods=200, freq="100ms", tz="UTC")
    imu = pd.DataFrame({"x": range(200)}, index=pd.DatetimeIndex(t, name="t"))
    reps = [{"start_s": 2.0 * k, "end_s": 2.0 * k + 2.0} for k in range(3)]  # middle: 2-4 s
    late = [{"start_s": 10.0 + r["start_s"], "end_s": 10.0 + r["end_s"]} for r in reps]
    out = drop_out(imu, [{"reps": reps}, {"reps": late}], 1.5)
    gone = sorted(set(range(200)) - set(out["x"]))
    assert gone == [*range(31, 45), *range(131, 145)]  # 3.0-4.5 s and 13.0-14.5 s, open
    out = drop_out(imu, [{"reps": reps}, {"reps": late}], 1.5, at="end")
    gone = sorted(set(range(200)) - set(out["x"]))
    assert gone == [*range(63, 77), *range(163, 177)]  # from 0.2 s after 6.0 s and 16.0 s


@pytest.mark.parametrize("exercise", ["back_squat", "romanian_deadlift", "deadlift"])
def test_the_hips_travel_back_and_stay_back_at_the_bottom(exercise: str) -> None:
    # a hip sensor's forward position through one movement down: it moves back all the way
    # (not out and back again within the movement, a whip no lifter makes)
    t = np.linspace(0.0, 1.0, 101)
    plan = SimpleNamespace(segments=[(0.0, 2.0, 1)])  # past the last sample: all in the set
    geo = poses.geometry("hip", plan, [SetSpec(exercise, 60, 1)], t.copy(), t)
    assert geo.x[-1] < -0.05
    assert bool(np.all(np.diff(geo.x) <= 0))


@pytest.mark.parametrize(
    ("exercise", "start_deg", "end_deg"),
    [("back_squat", 5.0, 90.0), ("romanian_deadlift", 5.0, 30.0), ("hip_thrust", 130.0, 90.0)],
)
def test_a_thigh_turning_about_the_knee_keeps_its_height_and_turns_its_whole_angle(
    exercise: str, start_deg: float, end_deg: float
) -> None:
    # one movement out, progress 0 to 1: both knee models end where the default thigh does
    # (the same height), turn the thigh through its whole angle, and keep the sensor on the
    # thigh (0.25 m from the knee); "height" keeps the height linear in the progress, "angle"
    # the tilt
    p = np.linspace(0.0, 1.0, 101)
    plan = SimpleNamespace(segments=[(0.0, 2.0, 1)])
    sets = [SetSpec(exercise, 60, 1)]
    linear = poses.geometry("thigh", plan, sets, p.copy(), p)
    turn = math.radians(end_deg - start_deg)
    for model in ("angle", "height"):
        geo = poses.geometry("thigh", plan, sets, p.copy(), p, thigh=model)
        assert geo.z[-1] == pytest.approx(linear.z[-1])
        assert geo.theta[-1] == pytest.approx(-turn)
        phi = math.radians(start_deg) - geo.theta  # the thigh's angle from straight up
        # the sensor moves forward or back only as the thigh turns (the knee only rises)
        assert np.ptp(geo.x + 0.25 * (np.sin(phi) - math.sin(math.radians(start_deg)))) < 1e-9
    height = poses.geometry("thigh", plan, sets, p.copy(), p, thigh="height")
    angle = poses.geometry("thigh", plan, sets, p.copy(), p, thigh="angle")
    np.testing.assert_allclose(height.z, linear.z)
    np.testing.assert_allclose(angle.theta, -turn * p)
    assert not np.allclose(height.theta, -turn * p, atol=0.01)
    with pytest.raises(ValueError, match="thigh model"):
        poses.geometry("thigh", plan, sets, p.copy(), p, thigh="knee")
    spec = replace(scenario("slow-eccentric"), thigh_model="knee")
    with pytest.raises(ValueError, match="thigh model 'knee'"):
        generate(spec)
