"""A real SIGKILL while journaling loses at most the last second, and recover restores the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from liftsense.recording import load, recover

CHILD = r"""
import sys, time
import numpy as np
from liftsense.recording import JournalWriter
from liftsense.schema import SessionMeta

journal = JournalWriter(sys.argv[1], SessionMeta(session_id="killed"))
start = time.time_ns()
print(start, flush=True)
done_acc = done_hr = 0
while True:
    elapsed = time.time_ns() - start
    n_acc = elapsed // 5_000_000 + 1          # 200 Hz
    if n_acc > done_acc:
        i = np.arange(done_acc, n_acc)
        journal.append("acc", "imu", start + i * 5_000_000, x=i, y=-i, z=i * 0.5)
        done_acc = n_acc
    n_hr = elapsed // 1_000_000_000 + 1       # 1 Hz
    if n_hr > done_hr:
        i = np.arange(done_hr, n_hr)
        journal.append("hr", "strap", start + i * 1_000_000_000, value=60 + i)
        done_hr = n_hr
    time.sleep(0.004)
"""


@pytest.mark.parametrize("run", range(3))
def test_sigkill_loses_at_most_the_last_second(tmp_path: Path, run: int) -> None:
    rng = np.random.default_rng(run)
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "rec")], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            start_ns = int(child.stdout.readline())
            time.sleep(float(rng.uniform(1.3, 3.5)))
            killed_ns = time.time_ns()
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    [result] = recover(tmp_path)
    rec = load(result.path)
    must_have_before = killed_ns - 1_000_000_000
    acc = rec.stream("acc", "imu")
    expected = np.arange((must_have_before - start_ns) // 5_000_000 + 1)
    got = acc["x"].to_numpy().astype(np.int64)
    # every sample older than one second before the kill, exactly once, in order
    assert len(got) >= len(expected)
    np.testing.assert_array_equal(got, np.arange(len(got)))
    np.testing.assert_array_equal(acc.index.asi8, start_ns + got * 5_000_000)
    hr = rec.stream("hr", "strap")["value"].to_numpy()
    expected_hr = (must_have_before - start_ns) // 1_000_000_000 + 1
    assert len(hr) >= expected_hr
    np.testing.assert_array_equal(hr, 60 + np.arange(len(hr)))
