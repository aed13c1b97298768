"""`liftsense record --simulate` end to end: real BLE traffic through bumble, a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liftsense.recording import load, recover


def start(tmp_path: Path, *extra: str, speed: str = "2") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liftsense.cli",
            "record",
            "--simulate",
            "short",
            "--speed",
            speed,
            "--subject",
            "anna",
            "--out",
            str(tmp_path),
            "--name",
            "rec",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_samples(journal: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if journal.exists() and journal.stat().st_size > 20_000:
            return
        time.sleep(0.2)
    raise AssertionError("the recorder never wrote samples")


def test_record_simulated_session_with_truth(tmp_path: Path) -> None:
    proc = start(tmp_path, "--duration", "40s", "--caffeine-mg", "200")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    rec = load(tmp_path / "rec.parquet")
    assert rec.meta.subject == "anna" and rec.meta.intake[0].dose_mg == 200
    assert {s for s, _ in rec.keys} == {"acc", "gyro", "hr", "rr"}
    acc = rec.stream("acc", rec.devices("gyro")[0])
    # 40 s of session time at 200 Hz, give or take the connection set-up
    assert 30 * 200 < len(acc) <= 41 * 200
    assert np.median(np.diff(acc.index.asi8)) == pytest.approx(5e6, rel=0.02)
    truth = json.loads((tmp_path / "rec.truth.json").read_text())
    # truth is re-based on the recording's first sample (ISO text keeps microseconds)
    assert abs(pd.Timestamp(truth["t0"]) - rec.t0) <= pd.Timedelta(1, "us")
    t_s = (acc.index.asi8 - rec.t0.value) / 1e9
    duration_s = float(t_s[-1])
    starts = [s["start_s"] for s in truth["sets"]]
    assert starts == sorted(starts) and starts[0] >= 0
    first = truth["sets"][0]  # a 40 s recording of the short session holds its first set
    assert 0 <= first["start_s"] < first["end_s"] <= duration_s
    # and the bar moves when the truth says the first set runs, not in the rest before it
    g = np.linalg.norm(acc[["x", "y", "z"]].to_numpy(), axis=1)
    in_set = (t_s >= first["start_s"]) & (t_s <= first["end_s"])
    rest = t_s < first["start_s"] - 1.0
    assert rest.sum() > 200 and g[in_set].std() > 3 * g[rest].std()


def test_sigterm_finalizes_cleanly(tmp_path: Path) -> None:
    proc = start(tmp_path)
    wait_for_samples(tmp_path / "rec.partial.arrows")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not (tmp_path / "rec.partial.arrows").exists()
    assert len(load(tmp_path / "rec.parquet").stream("acc")) > 0


def test_ctrl_c_finalizes_and_says_where(tmp_path: Path) -> None:
    # a terminal's Ctrl-C: SIGINT with its default disposition (a background job inherits it
    # ignored, so restore it before exec)
    wrapper = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            wrapper,
            "-m",
            "liftsense.cli",
            "record",
            "--simulate",
            "short",
            "--speed",
            "2",
            "--out",
            str(tmp_path),
            "--name",
            "rec",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_samples(tmp_path / "rec.partial.arrows")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"saved {tmp_path / 'rec.parquet'}" in out
    assert "WARNING" not in err and "Traceback" not in err
    assert len(load(tmp_path / "rec.parquet").stream("acc")) > 0


def test_sigkill_then_recover_loses_at_most_one_second(tmp_path: Path) -> None:
    proc = start(tmp_path, speed="1")  # host clock = wall clock
    journal = tmp_path / "rec.partial.arrows"
    wait_for_samples(journal)
    time.sleep(2.0)
    killed_ns = time.time_ns()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    [result] = recover(tmp_path)
    rec = load(result.path)
    assert rec.meta.subject == "anna"
    for stream, device in rec.keys:
        if stream in ("acc", "gyro"):
            t = rec.stream(stream, device).index.asi8
            assert t[-1] >= killed_ns - 1_000_000_000, f"{stream}/{device} lost > 1 s"
            assert np.all(np.diff(t) > 0), "no duplicates"


def test_unknown_scenario_is_one_clear_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "liftsense.cli",
            "record",
            "--simulate",
            "bogus",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "scenario 'bogus'" in out.stderr
