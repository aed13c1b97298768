"""Benchmark the recording format on a 1-hour, 3-device session.

Two IMUs at 200 Hz (acc + gyro), one strap with 1 Hz hr and ~1.2 Hz rr. Measures journal-append
throughput (per-notification chunks, as the collector appends), finalize time, the time to load one
stream, and bytes per IMU axis-sample on disk; the baseline in the same run is pandas
``DataFrame.to_parquet`` of the same long table (pyarrow defaults, snappy).

    .venv/bin/python scripts/bench_recording.py [--minutes 60] [--chunk 10]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from liftsense.recording import JournalWriter, load
from liftsense.schema import SessionMeta
from liftsense.units import G_MPS2


def session(minutes: float, seed: int = 0) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Quantised like real sensors: acc ±8 g int16, gyro ±2000 dps int16, with lifting motion."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * 200)
    t0 = 1_763_800_000_000_000_000
    out = {}
    for dev in ("IMU-BAR", "IMU-THIGH"):
        t = t0 + np.arange(n, dtype=np.int64) * 5_000_000 + rng.integers(0, 200_000, n)
        ts = np.arange(n) / 200
        motion = np.sin(2 * np.pi * ts / 4)[None, :] * rng.uniform(0.5, 3, (3, 1))
        acc = (motion + np.array([[0], [0], [G_MPS2]]) + rng.normal(0, 0.05, (3, n))) / (
            8 * G_MPS2 / 32768
        )
        gyro = (motion * 0.8 + rng.normal(0, 0.01, (3, n))) / (np.deg2rad(2000) / 32768)
        acc = np.round(acc) * (8 * G_MPS2 / 32768)
        gyro = np.round(gyro) * (np.deg2rad(2000) / 32768)
        for name, v in (("acc", acc), ("gyro", gyro)):
            xyz = np.ascontiguousarray(v.T, dtype=np.float32)
            out[(name, dev)] = {"t": t, "xyz": xyz, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    secs = int(minutes * 60)
    out[("hr", "H10")] = {
        "t": t0 + np.arange(secs) * 1_000_000_000,
        "value": 70 + rng.normal(0, 5, secs).round(),
    }
    rr = np.round(rng.normal(820, 40, int(secs * 1.25)) * 1.024) / 1.024
    out[("rr", "H10")] = {"t": t0 + np.cumsum(rr * 1e6).astype(np.int64), "value": rr}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument(
        "--chunk", type=int, default=10, help="IMU samples per append (one notification)"
    )
    args = parser.parse_args()
    data = session(args.minutes)
    rows = sum(len(v["t"]) for v in data.values())
    imu_axis_samples = sum(3 * len(v["t"]) for (s, _), v in data.items() if s in ("acc", "gyro"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    try:
        imu_keys = [k for k in data if k[0] in ("acc", "gyro")]
        n_imu = len(data[imu_keys[0]]["t"])
        c = args.chunk
        # the notifications as the decoders hand them over, prepared before timing
        chunks: list[tuple[str, str, np.ndarray, dict[str, np.ndarray]]] = []
        for a in range(0, n_imu, c):
            for key in imu_keys:
                d = data[key]
                chunks.append((*key, d["t"][a : a + c], {"xyz": d["xyz"][a : a + c]}))
            if a % 200 == 0:
                for key in (("hr", "H10"), ("rr", "H10")):
                    d, i = data[key], a // 200
                    chunks.append((*key, d["t"][i : i + 1], {"value": d["value"][i : i + 1]}))
        journal = JournalWriter(tmp / "s", SessionMeta(session_id="bench"), flush_interval_s=0.5)
        append = journal.append
        started = time.perf_counter()
        for stream, device, t, values in chunks:
            append(stream, device, t, **values)
        journal.flush()
        append_s = time.perf_counter() - started
        started = time.perf_counter()
        path = journal.close()
        finalize_s = time.perf_counter() - started
        size = path.stat().st_size
        started = time.perf_counter()
        one = load(path).stream("acc", "IMU-BAR")
        load_s = time.perf_counter() - started
        assert len(one) == n_imu

        # baseline: the same long table written by pandas
        frames = []
        for (stream, device), d in data.items():
            f = pd.DataFrame(
                {"stream": stream, "device": device, "t": pd.to_datetime(d["t"], utc=True)}
            )
            for col in ("x", "y", "z", "value"):
                f[col] = d[col].astype(np.float32) if col in d else np.float32("nan")
            frames.append(f)
        table = pd.concat(frames, ignore_index=True)
        started = time.perf_counter()
        table.to_parquet(tmp / "baseline.parquet")
        base_write_s = time.perf_counter() - started
        base_size = (tmp / "baseline.parquet").stat().st_size
        started = time.perf_counter()
        base = pd.read_parquet(
            tmp / "baseline.parquet", filters=[("stream", "==", "acc"), ("device", "==", "IMU-BAR")]
        )
        base_load_s = time.perf_counter() - started
        assert len(base) == n_imu
    finally:
        shutil.rmtree(tmp)

    appended = rows - 2 * 2  # per-sample rows
    print(
        f"session: {args.minutes:g} min, {rows:,} samples "
        f"({imu_axis_samples:,} IMU axis-samples), {c} samples per append"
    )
    print(
        f"journal append : {appended / append_s / 1e6:6.2f} M samples/s "
        f"({append_s:.2f} s, one thread)"
    )
    print(
        f"finalize       : {finalize_s:6.2f} s        "
        f"baseline DataFrame.to_parquet: {base_write_s:.2f} s  "
        f"(ratio {finalize_s / base_write_s:.2f})"
    )
    print(
        f"load one stream: {load_s * 1e3:6.1f} ms       "
        f"baseline read_parquet+filter: {base_load_s * 1e3:.1f} ms  "
        f"(ratio {load_s / base_load_s:.2f})"
    )
    print(
        f"on disk        : {size / 1e6:.2f} MB, {size / imu_axis_samples:.2f} B/IMU axis-sample"
        f"   baseline: {base_size / 1e6:.2f} MB = {base_size / imu_axis_samples:.2f}  "
        f"(ratio {size / base_size:.2f})"
    )


if __name__ == "__main__":
    main()
