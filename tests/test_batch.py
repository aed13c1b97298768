"""Batch processing: local pool and a real Dask LocalCluster agree; failures and resumes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import liftsense
from liftsense.batch import Outputs, apply_baselines, content_hash, run_batch, source_fingerprint
from liftsense.emulate.motion import generate
from liftsense.emulate.offline import write_recording
from liftsense.emulate.scenarios import scenario
from liftsense.signal.baseline import personal_baselines
from liftsense.signal.heart import HeartSummary

MakeHeart = Callable[..., HeartSummary]  # the heart_summary fixture (conftest.py)

N_GOOD = 4


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("recordings")
    for i in range(N_GOOD):
        subject = ("anna", "ben")[i % 2]
        write_recording(generate(scenario("short"), seed=i), d / f"s{i}", subject=subject)
    (d / "corrupt.parquet").write_bytes(b"PAR1 this is not a recording PAR1")
    (d / "notes.txt").write_text("ignored")
    return d


def tables(out: Path) -> dict[str, pd.DataFrame]:
    result = {}
    for name in ("sets", "sessions", "muscles"):
        df = pd.read_parquet(out / f"{name}.parquet")
        df["subject"] = df["subject"].astype(str)
        result[name] = df.sort_values(["recording", *df.columns[2:4]]).reset_index(drop=True)
    result["errors"] = pd.read_parquet(out / "errors.parquet")
    return result


@pytest.fixture(scope="module")
def local_out(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    summary = run_batch(folder, out, workers=2, report=False)
    assert (summary.total, summary.processed, summary.failed) == (N_GOOD + 1, N_GOOD + 1, 1)
    return out


def test_outputs_are_partitioned_and_complete(local_out: Path) -> None:
    t = tables(local_out)
    assert sorted(p.name for p in (local_out / "sets.parquet").iterdir()) == [
        "subject=anna",
        "subject=ben",
    ]
    assert len(t["sessions"]) == N_GOOD
    assert len(t["sets"]) == 2 * N_GOOD and (t["sets"]["reps"] == 5).all()
    assert t["sessions"]["content_hash"].str.len().eq(32).all()


def test_a_corrupt_file_is_reported_and_does_not_stop_the_batch(local_out: Path) -> None:
    errors = tables(local_out)["errors"]
    assert list(errors["recording"].map(lambda p: Path(p).name)) == ["corrupt.parquet"]
    assert errors["error"].iloc[0] == "RecordingError"
    assert "corrupt.parquet" in errors["message"].iloc[0]


def test_dask_local_cluster_gives_identical_tables(
    folder: Path, local_out: Path, tmp_path: Path
) -> None:
    pytest.importorskip("dask.distributed")
    summary = run_batch(folder, tmp_path, dask_local=2, report=False)
    assert summary.processed == N_GOOD + 1
    ours, theirs = tables(local_out), tables(tmp_path)
    for name in ("sets", "sessions", "muscles"):
        pd.testing.assert_frame_equal(ours[name], theirs[name])
    pd.testing.assert_frame_equal(
        ours["errors"][["recording", "error"]], theirs["errors"][["recording", "error"]]
    )


def test_rerun_skips_up_to_date_recordings_and_is_idempotent(folder: Path, local_out: Path) -> None:
    before = tables(local_out)
    summary = run_batch(folder, local_out, workers=2, report=False)
    assert (summary.processed, summary.skipped) == (0, N_GOOD + 1)
    after = tables(local_out)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])


def test_interrupt_and_resume(folder: Path, local_out: Path, tmp_path: Path) -> None:
    seen = []

    def interrupt_after_two(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(folder, tmp_path, workers=1, report=False, progress=interrupt_after_two)
    partial = pd.read_parquet(tmp_path / "sessions.parquet")
    assert len(partial) + len(pd.read_parquet(tmp_path / "errors.parquet")) == 2
    summary = run_batch(folder, tmp_path, workers=1, report=False)
    assert (summary.skipped, summary.processed) == (2, N_GOOD - 1)
    resumed, clean = tables(tmp_path), tables(local_out)
    for name in ("sets", "sessions", "muscles"):
        pd.testing.assert_frame_equal(resumed[name], clean[name])


def test_changed_recording_is_reanalysed(folder: Path, tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "in"
    shutil.copytree(folder, src)
    run_batch(src, tmp_path / "out", workers=1, report=False)
    write_recording(generate(scenario("short"), seed=99), src / "s9", subject="cleo")
    summary = run_batch(src, tmp_path / "out", workers=1, report=False)
    assert (summary.processed, summary.skipped) == (1, N_GOOD + 1)
    assert "cleo" in set(
        pd.read_parquet(tmp_path / "out" / "sessions.parquet")["subject"].astype(str)
    )


def test_a_change_to_the_code_re_analyses_what_the_old_code_cached(tmp_path: Path) -> None:
    # the cache is keyed by the code as well as the recording: results of an earlier build of
    # the same version (say, before a set's table gained a column) are not reused
    import shutil

    package = Path(liftsense.__file__).parent
    copy = tmp_path / "liftsense"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert source_fingerprint(copy) == source_fingerprint(package)
    reps = copy / "signal" / "reps.py"
    reps.write_text(reps.read_text() + "\n# a changed rule\n")
    assert source_fingerprint(copy) != source_fingerprint(package)
    (copy / "signal" / "extra.py").write_text("")
    assert len({source_fingerprint(copy), source_fingerprint(package)}) == 2
    # a result cached by code of the same version number but other source (its key the
    # version and the recording alone) is analysed again, not reused
    rec = write_recording(generate(scenario("short"), seed=3), tmp_path / "in" / "r")
    out = tmp_path / "out"
    run_batch(rec.parent, out, workers=1, report=False)
    (cached,) = (out / ".cache").glob("*.pkl")
    version_only = hashlib.sha256(liftsense.__version__.encode() + rec.read_bytes())
    name = cached.name.split("-")[0]
    assert content_hash(rec) in cached.name
    cached.rename(cached.with_name(f"{name}-{version_only.hexdigest()[:32]}.pkl"))
    summary = run_batch(rec.parent, out, workers=1, report=False)
    assert (summary.processed, summary.skipped) == (1, 0)


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    from liftsense.errors import LiftSenseError

    with pytest.raises(LiftSenseError, match=r"no \*\.parquet recordings"):
        run_batch(tmp_path, tmp_path / "out")


def _worker_settings() -> tuple[str | None, bool, str]:
    import dask
    import pyarrow as pa

    return (
        os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        bool(dask.config.get("distributed.worker.profile.enabled")),
        pa.default_memory_pool().backend_name,
    )


def test_dask_workers_run_without_the_trim_threshold_and_profiler() -> None:
    # Dask's defaults (MALLOC_TRIM_THRESHOLD_=65536, the sampling profiler) slow every task;
    # the workers we start must not carry them, and init_worker gives Arrow the system pool
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client

    from liftsense.batch import init_worker, local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        client.run(init_worker)
        (settings,) = client.run(_worker_settings).values()
    assert settings == (None, False, "system")


def test_baselines_judge_each_subject_alone_and_skip_failed_recordings(
    heart_summary: MakeHeart,
) -> None:
    """The batch tables carry the same verdicts as ``personal_baselines`` per subject (what the
    cohort report computes); a failed recording's summary joins no baseline."""
    rows = {"hr_elevation_z": [0.0], "hr_elevation_delta_bpm": [0.0], "hr_elevation_status": [""]}
    rest = {"anna": (60.0, 61.0, 62.0, 75.0), "ben": (80.0, 82.0, 84.0, 86.0)}
    results = [
        Outputs(
            f"{s}{k}",
            "",
            tables={"sessions": pd.DataFrame(rows), "muscles": pd.DataFrame(rows).iloc[:, :2]},
            subject=s,
            heart=heart_summary(hr),
        )
        for k in range(4)
        for s, hr in ((s, rest[s][k]) for s in rest)
    ]
    # a failed recording: its (bogus) summary must not pull anna's baseline
    results.append(
        Outputs("bad", "", error="DecodeError", subject="anna", heart=heart_summary(200.0))
    )
    apply_baselines(results)
    for s in rest:
        expect = [h.elevation for h in personal_baselines([heart_summary(hr) for hr in rest[s]])]
        got = [r.tables for r in results if r.subject == s and not r.error]
        for tables_, e in zip(got, expect, strict=True):
            sessions = tables_["sessions"].iloc[0]
            assert sessions["hr_elevation_z"] == pytest.approx(e.z)
            assert sessions["hr_elevation_status"] == e.status
            assert tables_["muscles"]["hr_elevation_z"].iloc[0] == pytest.approx(e.z)
            assert "hr_elevation_status" not in tables_["muscles"]
    statuses = [r.tables["sessions"]["hr_elevation_status"].iloc[0] for r in results[:-1]]
    assert statuses.count("elevated") == 1  # anna's 75 bpm day; ben's spread hides 86
    assert results[-1].tables == {}
