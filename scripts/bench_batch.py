"""Benchmark batch processing: 1 and 2 local workers against a Dask LocalCluster, same run.

Generates N synthetic 20-minute recordings once (kept in --data for later runs), then runs the
whole batch (analysis + per-session report) three ways and prints throughput, the 2-worker
speed-up, Dask against the local pool, and peak memory per worker against the largest
recording's in-memory size.

    .venv/bin/python scripts/bench_batch.py [--n 200] [--data /tmp/liftsense-bench-batch]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from liftsense import batch
from liftsense.emulate.motion import SessionSpec, SetSpec, Tempo, generate
from liftsense.emulate.offline import write_recording

SPEC = SessionSpec(
    tuple(SetSpec("back_squat", 100, 5, Tempo.parse("3-1-1-0")) for _ in range(6)),
    rest_s=190,
    lead_in_s=60,
)


def _make(args: tuple[Path, int]) -> None:
    folder, i = args
    base = folder / f"s{i:04d}"
    if not base.with_suffix(".parquet").exists():
        spec = replace(SPEC, start=f"2026-01-{1 + i % 28:02d}T09:00:00Z")
        write_recording(generate(spec, seed=i), base, subject=f"subject{i % 10}")


def make_data(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_make, [(folder, i) for i in range(n)])
    return sorted(folder.glob("s*.parquet"))[:n]


def run(name: str, data: Path, **kwargs: object) -> tuple[float, float, float]:
    """Seconds for the whole batch, and the median and largest RSS growth of a worker on one
    recording (the largest is each worker's first, which pays for lazy imports)."""
    out = Path(tempfile.mkdtemp(prefix=f"bench-batch-{name}-"))
    try:
        started = time.perf_counter()
        summary = batch.run_batch(data, out, **kwargs)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        assert summary.failed == 0, f"{summary.failed} recordings failed"
        cache = batch._Cache(out)
        results = [cache.get(p, batch.content_hash(p)) for p in batch.find_recordings(data)]
        growths = [r.rss_growth_mb for r in results if r is not None]
        growth, worst = float(np.median(growths)), max(growths)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(
        f"{name:28} {seconds:7.1f} s  {summary.total / seconds:6.2f} recordings/s  "
        f"worker RSS growth per recording: median {growth:.0f} MB, max {worst:.0f} MB"
    )
    return seconds, growth, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--data", type=Path, default=Path("/tmp/liftsense-bench-batch"))
    parser.add_argument("--generate-only", action="store_true", help="only make the recordings")
    parser.add_argument("--no-reports", action="store_true", help="skip the HTML reports")
    args = parser.parse_args()
    started = time.perf_counter()
    paths = make_data(args.data, args.n)
    if args.generate_only:
        print(f"{len(paths)} recordings in {args.data} ({time.perf_counter() - started:.0f} s)")
        return
    data = Path(tempfile.mkdtemp(prefix="bench-batch-in-"))
    for p in paths:
        (data / p.name).symlink_to(p)
    print(
        f"{len(paths)} recordings of ~{SPEC.rest_s * 6 / 60 + 1:.0f} min ready "
        f"({time.perf_counter() - started:.0f} s)"
    )
    largest = max(pq.read_table(p).nbytes for p in paths) / 2**20
    report = not args.no_reports
    one, _, _ = run("local pool, 1 worker", data, workers=1, report=report)
    two, median, worst = run("local pool, 2 workers", data, workers=2, report=report)
    dask, dmedian, dworst = run("Dask LocalCluster, 2 workers", data, dask_local=2, report=report)
    print(f"2-worker speed-up: {one / two:.2f}x   Dask / local pool time: {dask / two:.2f}")
    print(
        f"largest recording in memory (Arrow): {largest:.1f} MB; worker RSS growth per "
        f"recording: median {max(median, dmedian) / largest:.1f}x, worst (a worker's first "
        f"recording, with its lazy imports) {max(worst, dworst) / largest:.1f}x"
    )
    shutil.rmtree(data)


if __name__ == "__main__":
    main()
