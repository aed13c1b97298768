"""Benchmark rep detection on a 1-hour 200 Hz acc+gyro recording.

Writes a synthetic session (16 sets of 8 reps with rests, at the wrist) as a LiftSense recording
(``emulate.offline.write_recording``), then measures in the same run:

- read: load the acc and gyro rows with pyarrow and pivot them to the DataFrame ``detect`` takes
  (the least any reader must do);
- load: the same through ``liftsense.load(path).stream``;
- detect: ``liftsense.signal.reps.detect`` on that DataFrame, and its three stages apart:
  validating and resampling to the 50-Hz grid (``imu.prepare``), finding the candidate windows
  (``segment.candidate_windows``) and the reps in each (``progress.reps_in_window``).

Prints the times (best of ``--repeat``) and the ratios to the read; the target is detect <= 2x
read.

Usage: python scripts/bench_reps.py [--out DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import liftsense
from liftsense.emulate.motion import SessionSpec, SetSpec, Tempo, generate
from liftsense.emulate.offline import write_recording
from liftsense.signal import imu
from liftsense.signal.exercises import exercise_info
from liftsense.signal.progress import reps_in_window
from liftsense.signal.reps import detect
from liftsense.signal.segment import candidate_windows

EXERCISES = ("back_squat", "bench_press", "romanian_deadlift", "hip_thrust")


def _session_spec() -> SessionSpec:
    sets = tuple(
        SetSpec(EXERCISES[k // 4], 60 + 5 * k, 8, Tempo.parse("3-0-1-0")) for k in range(16)
    )
    return SessionSpec(
        sets, rest_s=180, lead_in_s=300, tail_s=300, placement="wrist", rate_hz=200.0
    )


def _read_with_pyarrow(path: Path) -> pd.DataFrame:
    table = pq.read_table(path, columns=["stream", "t", "x", "y", "z"])
    frames = {}
    for stream in ("acc", "gyro"):
        sub = table.filter(pc.equal(table["stream"].cast(pa.string()), stream))
        frames[stream] = sub.select(["t", "x", "y", "z"]).to_pandas().set_index("t")
    gyro = frames["gyro"].rename(columns={"x": "gx", "y": "gy", "z": "gz"})
    return frames["acc"].join(gyro, how="inner")


def _load(path: Path) -> pd.DataFrame:
    rec = liftsense.load(path)
    gyro = rec.stream("gyro").rename(columns={"x": "gx", "y": "gy", "z": "gz"})
    return rec.stream("acc")[["x", "y", "z"]].join(gyro[["gx", "gy", "gz"]], how="inner")


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, help="folder for the recording (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = a.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        _run(out / f"bench_reps-{time.strftime('%Y%m%d-%H%M%S')}", a.repeat)


def _run(base: Path, repeat: int) -> None:
    spec = _session_spec()
    path = write_recording(generate(spec, seed=11), base)
    print(f"recording: {path} ({path.stat().st_size / 1e6:.1f} MB), 200 Hz acc+gyro")
    read_s, frame = _best(lambda: _read_with_pyarrow(path), repeat)
    assert isinstance(frame, pd.DataFrame)
    print(f"read (pyarrow, filter + pivot only): {read_s * 1000:.0f} ms, {len(frame)} samples")
    load_s, _ = _best(lambda: _load(path), repeat)
    print(f"load (liftsense.load(...).stream): {load_s * 1000:.0f} ms")
    detect_s, found = _best(lambda: detect(frame), repeat)
    assert isinstance(found, list)
    n_reps = sum(s.reps - s.failed_last for s in spec.sets)
    print(
        f"detect: {detect_s * 1000:.0f} ms ({len(found)} sets, "
        f"{sum(f.n_reps for f in found)} reps; truth {len(spec.sets)} sets, {n_reps} reps)"
    )
    prepare_s, u = _best(lambda: imu.prepare(frame), repeat)
    assert isinstance(u, imu.UniformImu)
    windows_s, windows = _best(lambda: candidate_windows(u), repeat)
    assert isinstance(windows, list)
    info = exercise_info(None)
    reps_s, _ = _best(lambda: [reps_in_window(u, a, b, info) for a, b in windows], repeat)
    print(
        f"  of which: resample {prepare_s * 1000:.0f} ms, find the windows "
        f"{windows_s * 1000:.0f} ms ({len(windows)}), the reps in them {reps_s * 1000:.0f} ms"
    )
    print(
        f"detect / read = {detect_s / read_s:.2f} (target <= 2); load / read = "
        f"{load_s / read_s:.2f}; (load + detect) / read = {(load_s + detect_s) / read_s:.2f}"
    )


if __name__ == "__main__":
    main()
