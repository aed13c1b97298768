"""Analyse folders of recordings on all local cores or on a Dask cluster.

Each recording is an independent task (``process_recording``): load, analyse, write its HTML
report, return small per-set / per-session / per-muscle tables. There is no shuffle, so the work
scales with workers until the disk is the limit.

Outputs in ``OUT`` (merged by :mod:`liftsense.batch_outputs`): ``sets.parquet``,
``sessions.parquet`` and ``muscles.parquet`` (datasets partitioned by subject),
``errors.parquet`` (one row per recording that failed, and why), ``reports/<session>.html``.
Each finished recording's result is cached in ``OUT/.cache/`` under the hash of its content and
of the LiftSense code that analysed it (``source_fingerprint``), so an interrupted batch resumes
where it stopped, a re-run skips recordings whose outputs are up to date, and a re-run after an
upgrade re-analyses them.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import pickle
import resource
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liftsense import __version__
from liftsense.batch_outputs import Outputs, apply_baselines, table_columns, write_outputs
from liftsense.errors import LiftSenseError

if TYPE_CHECKING:
    from dask.distributed import LocalCluster

__all__ = [
    "WORKER_CONFIG",
    "BatchSummary",
    "Outputs",
    "apply_baselines",
    "content_hash",
    "find_recordings",
    "init_worker",
    "local_cluster",
    "process_recording",
    "run_batch",
    "run_dask",
    "run_local",
    "source_fingerprint",
    "warm_up",
    "write_outputs",
]

_CACHE = ".cache"
_HASH_CHUNK = 1 << 20


def source_fingerprint(root: Path) -> str:
    """SHA-256 of the version and of every Python source file under ``root`` (path and bytes):
    any change to the code that analyses a recording changes it, within one version number."""
    digest = hashlib.sha256(__version__.encode())
    for f in sorted(root.rglob("*.py")):
        digest.update(f.relative_to(root).as_posix().encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


@functools.cache
def _code() -> str:
    """``source_fingerprint`` of the running LiftSense package."""
    return source_fingerprint(Path(__file__).parent)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes and of the LiftSense code (``source_fingerprint``): a
    changed recording, and any change to the analysis, re-analyses it."""
    digest = hashlib.sha256(_code().encode())
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def process_recording(
    path: str | Path, out: str | Path, *, report: bool = True, digest: str | None = None
) -> Outputs:
    """Analyse one recording and write its report into ``out/reports``; never raises.

    Deterministic: the same file gives the same tables, whichever worker runs it.
    """
    from liftsense.analysis.session import analyze

    started = time.perf_counter()
    rss_before_mb = _reset_peak_rss()
    path = Path(path)
    result = Outputs(str(path), "")
    try:
        result.content_hash = digest or content_hash(path)
        analysis = analyze(path)
        result.subject, result.heart = analysis.meta.subject, analysis.heart
        sets = analysis.set_rows()
        for table, rows in (
            ("sets", sets),
            ("sessions", analysis.session_row(sets)),
            ("muscles", analysis.muscle_rows(sets)),
        ):
            rows["recording"] = str(path)
            rows["content_hash"] = result.content_hash
            result.tables[table] = rows[list(table_columns(table))]
        if report:
            from liftsense.report.session import write_session_report

            reports = Path(out) / "reports"
            reports.mkdir(parents=True, exist_ok=True)
            target = reports / f"{_safe(analysis.meta.session_id or path.stem)}.html"
            result.report = str(write_session_report(analysis, target))
    except LiftSenseError as exc:
        result.tables = {}
        result.error, result.message = type(exc).__name__, str(exc)
    except Exception as exc:  # a bug must not stop the batch: record it with its traceback
        result.tables = {}
        result.error = type(exc).__name__
        result.message = f"{exc}\n{traceback.format_exc(limit=8)}"
    result.seconds = time.perf_counter() - started
    result.peak_rss_mb = _peak_rss_mb()
    if math.isfinite(rss_before_mb):
        result.rss_growth_mb = result.peak_rss_mb - rss_before_mb
    return result


def warm_up() -> None:
    """Import and initialise what a task uses, once per worker, so that each recording's time
    and memory are its own and not the worker's one-off start-up (imports, font cache)."""
    import io

    import pyarrow.parquet  # noqa: F401
    from matplotlib.figure import Figure

    import liftsense.analysis.session
    import liftsense.report.session  # noqa: F401

    figure = Figure(figsize=(1, 1))
    figure.add_subplot().set_title("0")
    figure.savefig(io.BytesIO(), format="png")


def init_worker() -> None:
    """Prepare a worker process for a stream of recordings: Arrow allocates through the
    system allocator, so the memory a read frees is reused by numpy instead of being held
    in a second pool (a worker's first recording then grows it by about 30 MB less), and
    the imports are done (``warm_up``)."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    warm_up()


def _proc_status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return math.nan


def _reset_peak_rss() -> float:
    """Reset this process's peak-RSS mark (Linux) and return the current RSS in MB, so the
    memory one recording needs can be measured; NaN where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _proc_status_mb("VmRSS")
    except OSError:
        return math.nan


def _peak_rss_mb() -> float:
    try:
        return _proc_status_mb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def find_recordings(folder: Path) -> list[Path]:
    """Every ``*.parquet`` recording under ``folder`` (recursively), outputs excluded."""
    if not folder.is_dir():
        raise LiftSenseError(f"{folder}: not a folder")
    return sorted(
        p
        for p in folder.rglob("*.parquet")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


class _Cache:
    """One pickle per finished recording, written atomically: the resume log of the batch."""

    def __init__(self, out: Path) -> None:
        self.dir = out / _CACHE
        self.dir.mkdir(parents=True, exist_ok=True)

    def _file(self, recording: Path, digest: str) -> Path:
        name = hashlib.sha256(str(recording.resolve()).encode()).hexdigest()[:16]
        return self.dir / f"{name}-{digest}.pkl"

    def get(self, recording: Path, digest: str) -> Outputs | None:
        f = self._file(recording, digest)
        if not f.exists():
            return None
        try:
            with open(f, "rb") as fh:
                value = pickle.load(fh)
        except Exception:  # a torn cache entry is recomputed, not trusted
            return None
        if not isinstance(value, Outputs):
            return None
        if value.report and not Path(value.report).exists():
            return None
        return value

    def put(self, recording: Path, result: Outputs) -> None:
        f = self._file(recording, result.content_hash)
        tmp = f.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, f)


Task = tuple[Path, str]
"""A recording and the hash of its content (computed once, by the driver)."""


def run_local(tasks: list[Task], out: Path, report: bool, workers: int) -> Iterator[Outputs]:
    """Map over a local process pool, yielding results as they finish."""
    if workers <= 1:
        warm_up()
        for p, digest in tasks:
            yield process_recording(p, out, report=report, digest=digest)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker) as pool:
        pending: set[Future[Outputs]] = {
            pool.submit(process_recording, p, out, report=report, digest=digest)
            for p, digest in tasks
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        finally:
            for f in pending:
                f.cancel()


WORKER_CONFIG: dict[str, Any] = {
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in every worker. Any explicit glibc
    # threshold switches off malloc's dynamic mmap threshold, so each of the many short-lived
    # numpy arrays of an analysis is mmapped and unmapped afresh: tasks ran 25 % slower than in
    # a plain process. Our tasks free what they allocate, so the default allocator is right.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # The statistical profiler samples the task thread every 10 ms: a few % of every task.
    "distributed.worker.profile.enabled": False,
}
"""Dask settings for the workers LiftSense starts itself (``--dask-local``). Workers of an
existing cluster keep their own: the README says how to set the same there."""


def local_cluster(n_workers: int) -> LocalCluster:
    """A Dask LocalCluster of single-threaded worker processes with ``WORKER_CONFIG``."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(WORKER_CONFIG):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )


def _process_task(path: str, digest: str, *, out: str, report: bool) -> Outputs:
    return process_recording(path, out, report=report, digest=digest)


def run_dask(
    tasks: list[Task], out: Path, report: bool, *, scheduler: str | None, local_workers: int
) -> Iterator[Outputs]:
    """Map over Dask distributed: an existing scheduler, or a LocalCluster of processes."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise LiftSenseError(
            "Dask is not installed: pip install 'liftsense[cluster]' (or use --workers)"
        ) from exc
    cluster = local_cluster(local_workers) if scheduler is None else None
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            try:
                client.run(init_worker)
            except ImportError as exc:
                raise LiftSenseError(
                    f"a Dask worker cannot import what LiftSense needs ({exc}): install "
                    "liftsense in the workers' environment"
                ) from exc
            futures = client.map(
                _process_task,
                [str(p) for p, _ in tasks],
                [d for _, d in tasks],  # Client.map iterates positional arguments only
                out=str(out),
                report=report,
                pure=False,
            )
            for future in as_completed(futures):
                yield future.result()
    except OSError as exc:
        raise LiftSenseError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
    finally:
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True)
class BatchSummary:
    out: Path
    total: int
    processed: int
    skipped: int
    failed: int
    seconds: float


def run_batch(
    folder: Path,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    report: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Process every recording in ``folder`` into ``out``; see the module docstring.

    ``progress(done, total)`` is called as recordings finish (skipped ones count at once).
    Raises LiftSenseError when ``folder`` holds no recordings.
    """
    started = time.perf_counter()
    paths = [p for p in find_recordings(folder) if out.resolve() not in p.resolve().parents]
    if not paths:
        raise LiftSenseError(f"{folder}: no *.parquet recordings found")
    out.mkdir(parents=True, exist_ok=True)
    cache = _Cache(out)
    results: list[Outputs] = []
    todo: list[Task] = []
    for p in paths:
        digest = content_hash(p)
        cached = cache.get(p, digest)
        if cached is not None and (cached.report is not None or not report or cached.error):
            results.append(cached)
        else:
            todo.append((p, digest))
    skipped = len(results)
    if progress:
        progress(skipped, len(paths))
    stream: Iterator[Outputs]
    if not todo:
        stream = iter(())
    elif dask_local is not None or scheduler is not None:
        stream = run_dask(todo, out, report, scheduler=scheduler, local_workers=dask_local or 2)
    else:
        stream = run_local(todo, out, report, workers or os.cpu_count() or 1)
    try:
        for result in stream:
            cache.put(Path(result.recording), result)
            results.append(result)
            if progress:
                progress(len(results), len(paths))
    finally:
        write_outputs(results, out)
    return BatchSummary(
        out=out,
        total=len(paths),
        processed=len(results) - skipped,
        skipped=skipped,
        failed=sum(1 for r in results if r.error),
        seconds=time.perf_counter() - started,
    )
