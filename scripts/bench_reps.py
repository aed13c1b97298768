"""Benchmark rep detection on a 1-hour 200 Hz acc+gyro recording.

Writes a synthetic session (about 16 sets with rests, walking and fiddling) as a Parquet file in
the long format of DESIGN.md (one row per sample and stream, zstd), then measures in the same run:

- read: load the file and get the acc+gyro DataFrame that ``detect`` takes (with
  ``liftsense.load(path).stream`` when the recording module offers it, else pyarrow + pandas);
- detect: ``liftsense.signal.reps.detect`` on that DataFrame.

Prints both times (best of ``--repeat``) and their ratio; the target is detect <= 2x read.

Usage: python scripts/bench_reps.py [--out /tmp/bench_reps.parquet] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from liftsense.emulate.motion import SessionSpec, SetSpec, Tempo, generate
from liftsense.signal.reps import detect

EXERCISES = ("back_squat", "bench_press", "romanian_deadlift", "hip_thrust")


def _session_spec() -> SessionSpec:
    sets = tuple(
        SetSpec(EXERCISES[k // 4], 60 + 5 * k, 8, Tempo.parse("3-0-1-0")) for k in range(16)
    )
    return SessionSpec(sets, rest_s=180, lead_in_s=300, tail_s=300, placement="wrist")


def write_recording(path: Path) -> tuple[int, float]:
    """Write the session; return (samples per stream, duration in s)."""
    s = generate(_session_spec(), seed=11)
    imu = s.imu
    n = len(imu)
    t = imu.index.as_unit("ns")
    parts = []
    for stream, cols in (("acc", ["x", "y", "z"]), ("gyro", ["gx", "gy", "gz"])):
        parts.append(
            pa.table(
                {
                    "stream": pa.DictionaryArray.from_arrays(
                        pa.array(np.zeros(n, dtype=np.int32)), pa.array([stream])
                    ),
                    "device": pa.DictionaryArray.from_arrays(
                        pa.array(np.zeros(n, dtype=np.int32)), pa.array(["IMU-BENCH"])
                    ),
                    "t": pa.array(t.asi8, pa.timestamp("ns", tz="UTC")),
                    "t_device": pa.array(np.arange(n, dtype=np.int64) * 5_000_000),
                    "x": pa.array(imu[cols[0]].to_numpy(np.float32)),
                    "y": pa.array(imu[cols[1]].to_numpy(np.float32)),
                    "z": pa.array(imu[cols[2]].to_numpy(np.float32)),
                    "value": pa.nulls(n, pa.float32()),
                }
            )
        )
    table = pa.concat_tables(parts)
    device = {
        "label": "IMU-BENCH",
        "address": "",
        "model": "synthetic",
        "firmware": "",
        "streams": {"acc": {"rate_hz": 200, "range": 8}, "gyro": {"rate_hz": 200, "range": 2000}},
    }
    meta = {
        "schema_version": 1,
        "session_id": "bench",
        "subject": "bench",
        "started_at": t[0].isoformat(),
        "software_version": "bench",
        "devices": [device],
        "sets": [],
        "markers": [],
        "intake": [],
        "notes": "",
        "clock": {},
    }
    try:  # the project's own schema, when the recording module is there
        from liftsense.schema import arrow_schema

        table = table.cast(arrow_schema())
    except (ImportError, pa.ArrowInvalid, ValueError):
        pass
    table = table.replace_schema_metadata({"liftsense": json.dumps(meta)})
    pq.write_table(table, path, compression="zstd")
    return n, float((t[-1] - t[0]).total_seconds())


def _read_with_pyarrow(path: Path) -> pd.DataFrame:
    table = pq.read_table(path, columns=["stream", "t", "x", "y", "z"])
    frames = {}
    for stream in ("acc", "gyro"):
        sub = table.filter(pa.compute.equal(table["stream"].cast(pa.string()), stream))
        frames[stream] = sub.select(["t", "x", "y", "z"]).to_pandas().set_index("t")
    gyro = frames["gyro"].rename(columns={"x": "gx", "y": "gy", "z": "gz"})
    return frames["acc"].join(gyro, how="inner")


def _reader() -> tuple[str, Callable[[Path], pd.DataFrame]]:
    try:
        import liftsense

        def read(path: Path) -> pd.DataFrame:
            rec = liftsense.load(path)
            acc = rec.stream("acc")
            gyro = rec.stream("gyro").rename(columns={"x": "gx", "y": "gy", "z": "gz"})
            return acc[["x", "y", "z"]].join(gyro[["gx", "gy", "gz"]], how="inner")

        return "liftsense.load(...).stream", read
    except (ImportError, AttributeError):
        return "pyarrow", _read_with_pyarrow


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_reps.parquet"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    n, dur = write_recording(a.out)
    print(
        f"recording: {a.out} ({a.out.stat().st_size / 1e6:.1f} MB), {n} samples/stream, "
        f"{dur / 3600:.2f} h at 200 Hz, acc+gyro"
    )
    raw_s, imu = _best(lambda: _read_with_pyarrow(a.out), a.repeat)
    print(f"read (pyarrow, filter + pivot only): {raw_s * 1000:.0f} ms")
    name, read = _reader()
    if name != "pyarrow":
        try:
            load_s, _ = _best(lambda: read(a.out), a.repeat)
            print(f"read ({name}): {load_s * 1000:.0f} ms")
        except Exception as exc:  # the recording module may still be changing
            print(f"{name} could not read the file: {exc}")
    assert isinstance(imu, pd.DataFrame)
    detect_s, found = _best(lambda: detect(imu), a.repeat)
    assert isinstance(found, list)
    print(
        f"detect: {detect_s * 1000:.0f} ms ({len(found)} sets, "
        f"{sum(f.n_reps for f in found)} reps; truth 16 sets, 128 reps)"
    )
    print(f"detect / read (pyarrow) = {detect_s / raw_s:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
