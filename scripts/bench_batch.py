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


def run(name: str, data: Path, **kwargs: object) -> tuple[float, float, float, float]:
    """Seconds for the whole batch; the median and largest RSS growth of a worker on one
    recording (the largest is a worker's first, which grows the allocator's heap); and the
    largest peak RSS of a worker."""
    out = Path(tempfile.mkdtemp(prefix=f"bench-batch-{name}-"))
    try:
        started = time.perf_counter()
        summary = batch.run_batch(data, out, **kwargs)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        assert summary.failed == 0, f"{summary.failed} recordings failed"
        cache = batch._Cache(out)
        results = [cache.get(p, batch.content_hash(p)) for p in batch.find_recordings(data)]
        done = [r for r in results if r is not None]
        growths = [r.rss_growth_mb for r in done]
        growth, worst = float(np.median(growths)), max(growths)
        peak = max(r.peak_rss_mb for r in done)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(
        f"{name:28} {seconds:7.1f} s  {summary.total / seconds:6.2f} recordings/s  "
        f"worker RSS growth per recording: median {growth:.0f} MB, max {worst:.0f} MB; "
        f"worker peak RSS {peak:.0f} MB"
    )
    return seconds, growth, worst, peak


def _live_peak_mb(path: Path) -> tuple[float, float]:
    """In a fresh worker: the peak of live Python/numpy memory (tracemalloc) and of Arrow's
    pool while one recording is analysed and reported, and the worker's RSS before it."""
    import tracemalloc

    import pyarrow as pa

    batch.init_worker()
    rss_mb = batch._reset_peak_rss()
    out = Path(tempfile.mkdtemp(prefix="bench-batch-live-"))
    tracemalloc.start()
    try:
        batch.process_recording(path, out)
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        shutil.rmtree(out, ignore_errors=True)
    return (traced + pa.default_memory_pool().max_memory()) / 2**20, rss_mb


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
    one, *_ = run("local pool, 1 worker", data, workers=1, report=report)
    two, median, worst, peak = run("local pool, 2 workers", data, workers=2, report=report)
    dask, dmedian, dworst, dpeak = run(
        "Dask LocalCluster, 2 workers", data, dask_local=2, report=report
    )
    print(f"2-worker speed-up: {one / two:.2f}x   Dask / local pool time: {dask / two:.2f}")
    biggest = max(paths, key=lambda p: p.stat().st_size)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        live, base = pool.apply(_live_peak_mb, (biggest,))
    print(
        f"largest recording in memory (Arrow): {largest:.1f} MB. Per worker: live data peak "
        f"(numpy + Arrow) {live:.0f} MB = {live / largest:.1f}x; RSS growth per recording "
        f"median {max(median, dmedian) / largest:.1f}x, worst (a worker's first recording) "
        f"{max(worst, dworst) / largest:.1f}x; whole worker {max(peak, dpeak):.0f} MB, of "
        f"which {base:.0f} MB is Python and the libraries before any recording"
    )
    shutil.rmtree(data)


if __name__ == "__main__":
    main()
