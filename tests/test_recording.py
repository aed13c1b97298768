"""The recording format: journal, finalize, load, validation, recovery."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liftsense.errors import RecordingError
from liftsense.recording import JournalWriter, finalize, load, paths_for, recover
from liftsense.schema import (
    META_KEY,
    STREAMS,
    VECTOR_STREAMS,
    ClockFit,
    DeviceInfo,
    Intake,
    Marker,
    SessionMeta,
    SetPlan,
    StreamInfo,
    arrow_schema,
)

T0 = 1_700_000_000_000_000_000


def full_meta() -> SessionMeta:
    t = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    return SessionMeta(
        session_id="2026-11-01-anna",
        subject="anna",
        started_at=t,
        software_version="0.1.0",
        devices=(
            DeviceInfo("IMU-BAR", "AA:BB", "LiftSense IMU", "1.0", {"acc": StreamInfo(200, 8)}),
            DeviceInfo("H10-1", "CC:DD", "Polar H10", "5.0", {"hr": StreamInfo(1.0, None)}),
        ),
        sets=(SetPlan("hip thrust", 100.0, "3-1-1-0", "felt heavy"), SetPlan("rdl", 80.0)),
        markers=(Marker(t + timedelta(minutes=5), "set_start", "set 1"),),
        intake=(Intake(t - timedelta(minutes=45), "caffeine", 200.0),),
        notes="<script>alert(1)</script> slept 6 h",
        clock={"H10-1": ClockFit(offset_ns=3_000_000_000, drift_ppm=50.0, device_ref_ns=123)},
    )


def append_all(journal: JournalWriter, rng: np.random.Generator, n: int = 50) -> dict:
    """Append n samples of every stream type from two devices; return what was written."""
    written = {}
    for stream in STREAMS:
        for device in ("dev-a", "dev-b"):
            t = T0 + np.sort(rng.integers(0, 10**10, n))
            td = rng.integers(0, 2**40, n)
            if stream in VECTOR_STREAMS:
                xyz = rng.normal(size=(3, n)).astype(np.float32)
                journal.append(stream, device, t, x=xyz[0], y=xyz[1], z=xyz[2], t_device_ns=td)
                written[(stream, device)] = (t, td, xyz)
            else:
                v = rng.normal(size=n).astype(np.float32)
                journal.append(stream, device, t, value=v, t_device_ns=td)
                written[(stream, device)] = (t, td, v)
    return written


def test_round_trip_every_stream_type(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    meta = full_meta()
    with JournalWriter(tmp_path / "s", meta) as journal:
        written = append_all(journal, rng)
    assert not paths_for(tmp_path / "s")[1].exists(), "journal removed after finalize"
    rec = load(tmp_path / "s.parquet")
    assert rec.meta == meta
    assert rec.keys == sorted(written)
    for (stream, device), (t, td, values) in written.items():
        df = rec.stream(stream, device)
        assert df.index.tz is not None and str(df.index.tz) == "UTC"
        np.testing.assert_array_equal(df.index.asi8, t)
        np.testing.assert_array_equal(df["t_device"].to_numpy(np.int64), td)
        if stream in VECTOR_STREAMS:
            np.testing.assert_array_equal(df[["x", "y", "z"]].to_numpy().T, values)
        else:
            np.testing.assert_array_equal(df["value"].to_numpy(), values)


def test_file_is_sorted_zstd_and_one_stream_per_row_group(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "s", full_meta()) as journal:
        append_all(journal, np.random.default_rng(2))
    f = pq.ParquetFile(tmp_path / "s.parquet")
    seen = []
    for i in range(f.num_row_groups):
        rg = f.metadata.row_group(i)
        assert rg.column(0).compression == "ZSTD"
        s, d = rg.column(0).statistics, rg.column(1).statistics
        assert s.min == s.max and d.min == d.max
        seen.append((s.min, d.min))
    assert seen == sorted(seen)
    table = f.read()
    assert table.schema.remove_metadata() == arrow_schema()
    assert json.loads(table.schema.metadata[META_KEY])["schema_version"] == 1


def test_stream_reads_only_its_row_groups(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "s", full_meta()) as journal:
        append_all(journal, np.random.default_rng(3))
    rec = load(tmp_path / "s.parquet")
    assert len(rec._index[("hr", "dev-a")]) == 1
    both = rec.stream("hr")
    assert set(both["device"].cat.categories) == {"dev-a", "dev-b"}
    assert both.index.is_monotonic_increasing


def test_load_reads_the_timestamps_once_for_summary_and_t0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with JournalWriter(tmp_path / "s", full_meta()) as journal:
        append_all(journal, np.random.default_rng(4))
    path = tmp_path / "s.parquet"
    n_groups = pq.ParquetFile(path).num_row_groups
    t_reads: list[int] = []  # row groups whose `t` was read

    def counted(name: str, groups: Any) -> None:
        original = getattr(pq.ParquetFile, name)

        def read(self: pq.ParquetFile, *args: Any, columns: Any = None, **kw: Any) -> Any:
            if columns is None or "t" in columns:
                t_reads.extend(groups(self, *args))
            return original(self, *args, columns=columns, **kw)

        monkeypatch.setattr(pq.ParquetFile, name, read)

    counted("read_row_group", lambda f, i: [i])
    counted("read_row_groups", lambda f, groups: list(groups))
    counted("read", lambda f: range(f.num_row_groups))
    rec = load(path)
    summary = rec.summary()
    t0 = rec.t0
    assert rec.t0 == t0 and rec.summary() == summary
    assert sorted(t_reads) == list(range(n_groups))
    monkeypatch.undo()

    t_all = pq.read_table(path, columns=["t"]).column("t").cast(pa.int64()).to_numpy()
    assert t0 == pd.Timestamp(int(t_all.min()), tz="UTC")
    for one in summary:
        t = rec.stream(one.stream, one.device).index
        assert (one.samples, one.start, one.end) == (len(t), t[0], t[-1])
        assert one.rate_hz == pytest.approx((len(t) - 1) / (t[-1] - t[0]).total_seconds())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.tuples(
            st.sampled_from(STREAMS),
            st.sampled_from(["H10-A1", "IMU-1", "ü-device"]),
            st.integers(min_value=1, max_value=40),
            st.integers(min_value=0, max_value=2**31),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_random_batches_round_trip(tmp_path: Path, batches: list) -> None:
    base = tmp_path / f"h{abs(hash(tuple(batches)))}"
    expected: dict[tuple[str, str], list[np.ndarray]] = {}
    with JournalWriter(base, full_meta()) as journal:
        for stream, device, n, seed in batches:
            rng = np.random.default_rng(seed)
            t = T0 + rng.integers(0, 10**12, n)
            v = rng.normal(size=(3, n)).astype(np.float32)
            if stream in VECTOR_STREAMS:
                journal.append(stream, device, t, x=v[0], y=v[1], z=v[2])
            else:
                journal.append(stream, device, t, value=v[0])
            expected.setdefault((stream, device), []).append(np.vstack([t, v.view(np.int32)]))
            if seed % 3 == 0:
                journal.flush()
    rec = load(base.with_suffix(".parquet"))
    assert rec.keys == sorted(expected)
    for (stream, device), parts in expected.items():
        rows = np.hstack(parts)
        rows = rows[:, np.argsort(rows[0], kind="stable")]
        df = rec.stream(stream, device)
        np.testing.assert_array_equal(df.index.asi8, rows[0])
        cols = ["x", "y", "z"] if stream in VECTOR_STREAMS else ["value"]
        got = df[cols].to_numpy(np.float32).T.copy().view(np.int32)
        np.testing.assert_array_equal(got, rows[1 : 1 + len(cols)].astype(np.int32))


def test_append_rejects_wrong_shapes(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "s", full_meta()) as journal:
        with pytest.raises(ValueError, match="takes x, y and z"):
            journal.append("acc", "d", [1], value=[1.0])
        with pytest.raises(ValueError, match="takes value"):
            journal.append("hr", "d", [1], x=[1.0], y=[1.0], z=[1.0])
        with pytest.raises(ValueError, match="unknown stream"):
            journal.append("temperature", "d", [1], value=[1.0])
        with pytest.raises(ValueError, match="differ in length"):
            journal.append("hr", "d", [1, 2], value=[1.0])
        journal.append("hr", "d", [T0], value=[60.0])


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "s", full_meta()) as journal:
        journal.append("hr", "d", [T0], value=[60.0])
    with pytest.raises(RecordingError, match="already exists"):
        JournalWriter(tmp_path / "s", full_meta())


def test_metadata_changes_during_recording_are_kept(tmp_path: Path) -> None:
    t = datetime(2026, 11, 1, 10, tzinfo=UTC)
    with JournalWriter(tmp_path / "s", SessionMeta(session_id="x", started_at=t)) as journal:
        journal.append("hr", "d", [T0], value=[60.0])
        journal.add_marker(t, "note", "knee caved <b>")
        journal.add_gap("d", t, t + timedelta(seconds=3), "connection timeout")
        journal.add_intake(t, "caffeine", 150)
        journal.set_clock("d", ClockFit(5, 1.5))
    meta = load(tmp_path / "s.parquet").meta
    assert meta.markers == (Marker(t, "note", "knee caved <b>"),)
    assert meta.gaps[0].reason == "connection timeout"
    assert meta.intake[0].dose_mg == 150
    assert meta.clock == {"d": ClockFit(5, 1.5)}


# --- load(): every invalid input gives RecordingError naming the file and the problem ---------


def write_table(path: Path, table: pa.Table, meta: dict | None) -> Path:
    if meta is not None:
        table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    pq.write_table(table, path)
    return path


def good_table(n: int = 5) -> pa.Table:
    label = pa.dictionary(pa.int32(), pa.string())
    return pa.table(
        {
            "stream": pa.array(["hr"] * n).cast(label),
            "device": pa.array(["d"] * n).cast(label),
            "t": pa.array(np.arange(n, dtype=np.int64) * 10**9 + T0)
            .cast(pa.int64())
            .cast(pa.timestamp("ns", tz="UTC")),
            "t_device": pa.nulls(n, pa.int64()),
            "x": pa.nulls(n, pa.float32()),
            "y": pa.nulls(n, pa.float32()),
            "z": pa.nulls(n, pa.float32()),
            "value": pa.array(np.full(n, 60, np.float32)),
        }
    )


GOOD_META = {"schema_version": 1, "session_id": "s", "started_at": "2026-11-01T09:00:00Z"}


def test_a_foreign_writer_with_plain_pyarrow_is_accepted(tmp_path: Path) -> None:
    rec = load(write_table(tmp_path / "f.parquet", good_table(), GOOD_META))
    assert len(rec.stream("hr", "d")) == 5


@pytest.mark.parametrize("encoded", [True, False])
def test_a_row_group_a_foreign_writer_shared_between_streams_gives_each_its_own_rows(
    tmp_path: Path, encoded: bool
) -> None:
    label = pa.dictionary(pa.int32(), pa.string())
    a, b = good_table(), good_table()
    b = b.set_column(1, "device", pa.array(["e"] * 5).cast(label))
    b = b.set_column(7, "value", pa.array(np.full(5, 70, np.float32)))
    mixed = pa.concat_tables([a, b]).sort_by("t")  # one row group, two devices interleaved
    if not encoded:  # labels as plain strings
        for i in (0, 1):
            mixed = mixed.set_column(i, mixed.field(i).name, mixed.column(i).cast(pa.string()))
    rec = load(write_table(tmp_path / "f.parquet", mixed, GOOD_META))
    assert rec.stream("hr", "d")["value"].tolist() == [60.0] * 5
    assert rec.stream("hr", "e")["value"].tolist() == [70.0] * 5
    assert len(rec.stream("hr")) == 10


def test_a_shared_row_group_with_a_row_without_a_label_is_refused(tmp_path: Path) -> None:
    label = pa.dictionary(pa.int32(), pa.string())
    b = good_table().set_column(1, "device", pa.array(["e", "e", None, "e", "e"]).cast(label))
    path = write_table(tmp_path / "f.parquet", pa.concat_tables([good_table(), b]), GOOD_META)
    with pytest.raises(RecordingError, match="rows without a stream or device label"):
        load(path)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("time,hr\n1,60\n"), "not a Parquet file"),
        (lambda p: write_table(p, good_table(), None), "without LiftSense metadata"),
        (lambda p: write_table(p, good_table(), {**GOOD_META, "schema_version": 2}), "newer"),
        (lambda p: write_table(p, good_table(), {**GOOD_META, "started_at": 5}), "started_at"),
        (
            lambda p: write_table(p, good_table().drop_columns(["t_device"]), GOOD_META),
            "missing column 't_device'",
        ),
        (
            lambda p: write_table(
                p, good_table().set_column(7, "value", pa.array(np.ones(5))), GOOD_META
            ),
            "column 'value' is double, expected float32",
        ),
        (
            lambda p: write_table(
                p,
                good_table().set_column(
                    2, "t", pa.array(np.arange(5, dtype=np.int64)).cast(pa.timestamp("ns"))
                ),
                GOOD_META,
            ),
            "column 't' is timestamp\\[ns\\], expected",
        ),
        (lambda p: write_table(p, good_table(0), GOOD_META), "no samples"),
        (
            lambda p: write_table(p, good_table().take([0, 2, 1, 3, 4]), GOOD_META),
            "timestamps go backwards in hr/d",
        ),
    ],
)
def test_invalid_files_raise_recording_error(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "bad.parquet"
    make(path)
    with pytest.raises(RecordingError, match=problem) as info:
        load(path)
    assert str(path) in str(info.value)


def test_missing_file_and_missing_stream(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        load(tmp_path / "nope.parquet")
    rec = load(write_table(tmp_path / "f.parquet", good_table(), GOOD_META))
    with pytest.raises(RecordingError, match=r"no acc in this recording \(it has hr/d"):
        rec.stream("acc")


def read_everything(path: Path) -> None:
    rec = load(path)
    for stream, device in rec.keys:
        rec.stream(stream, device)
    rec.summary()


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    base = tmp_path_factory.mktemp("sample") / "s"
    with JournalWriter(base, full_meta()) as journal:
        append_all(journal, np.random.default_rng(4), n=300)
    return base.with_suffix(".parquet").read_bytes()


def test_truncated_files_give_only_recording_error(tmp_path: Path, sample_file: bytes) -> None:
    path = tmp_path / "cut.parquet"
    for cut in np.linspace(0, len(sample_file) - 1, 80).astype(int):
        path.write_bytes(sample_file[:cut])
        with pytest.raises(RecordingError):
            read_everything(path)


def test_flipped_bytes_give_only_recording_error(tmp_path: Path, sample_file: bytes) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "flip.parquet"
    failures = 0
    for pos in rng.integers(0, len(sample_file), 150):
        data = bytearray(sample_file)
        data[pos] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(data))
        try:
            read_everything(path)
        except RecordingError:
            failures += 1
    # page checksums catch flips in the data pages; some flips (padding, unread statistics) are
    # harmless, but most must be reported rather than silently read.
    assert failures > 75


# --- recovery -------------------------------------------------------------------------------


def crashed_journal(base: Path, *, batches: int = 5) -> int:
    journal = JournalWriter(base, full_meta())
    for i in range(batches):
        journal.append(
            "hr", "d", T0 + np.arange(i * 10, i * 10 + 10) * 10**9, value=np.full(10, 60.0)
        )
        journal.flush()
    # simulate the crash: stop the flusher without finalizing
    journal.close(finalize_now=False)
    return batches * 10


def test_recover_finalizes_and_is_idempotent(tmp_path: Path) -> None:
    n = crashed_journal(tmp_path / "s")
    [result] = recover(tmp_path)
    assert result.samples == n and not result.already_final
    assert result.end - result.start == timedelta(seconds=n - 1)
    assert "recovered 50 samples" in result.describe()
    assert len(load(tmp_path / "s.parquet").stream("hr")) == n
    [again] = recover(tmp_path / "s.parquet")
    assert again.already_final
    with pytest.raises(RecordingError, match="no unfinished recordings"):
        recover(tmp_path)


def test_torn_last_batch_is_dropped_not_fatal(tmp_path: Path) -> None:
    crashed_journal(tmp_path / "s")
    journal = paths_for(tmp_path / "s")[1]
    whole = journal.read_bytes()
    counts = set()
    for cut in range(len(whole) - 1, 0, -37):
        journal.write_bytes(whole[:cut])
        paths_for(tmp_path / "s")[0].unlink(missing_ok=True)
        try:
            [result] = recover(journal)
        except RecordingError as exc:
            assert "no complete batch" in str(exc)
            continue
        n = len(load(result.path).stream("hr"))
        assert n % 10 == 0 and n == result.samples
        counts.add(n)
        journal.write_bytes(whole)  # recover removed it
    assert counts == {10, 20, 30, 40, 50}  # 50: only the end-of-stream marker was cut


def test_recover_when_crash_hit_after_rename(tmp_path: Path) -> None:
    n = crashed_journal(tmp_path / "s")
    parquet, journal, meta = paths_for(tmp_path / "s")
    saved = journal.read_bytes(), meta.read_bytes()
    finalize(journal)
    journal.write_bytes(saved[0])
    meta.write_bytes(saved[1])
    [result] = recover(tmp_path)
    assert result.already_final and not journal.exists() and not meta.exists()
    assert len(load(parquet).stream("hr")) == n


def test_recover_with_damaged_metadata_keeps_samples(tmp_path: Path) -> None:
    n = crashed_journal(tmp_path / "s")
    paths_for(tmp_path / "s")[2].write_text("{not json")
    [result] = recover(tmp_path)
    rec = load(result.path)
    assert rec.meta.session_id == "2026-11-01-anna"  # from the copy inside the journal
    assert len(rec.stream("hr")) == n


def test_imu_joins_gyro_onto_acc_times(tmp_path: Path) -> None:
    t = T0 + np.arange(100) * 5_000_000
    with JournalWriter(tmp_path / "s", full_meta()) as journal:
        journal.append("acc", "imu", t, x=np.zeros(100), y=np.zeros(100), z=np.full(100, 9.81))
        journal.append("gyro", "imu", t[::2] + 1, x=np.arange(50.0), y=np.zeros(50), z=np.zeros(50))
    imu = load(tmp_path / "s.parquet").imu()
    assert list(imu.columns) == ["x", "y", "z", "gx", "gy", "gz"]
    assert imu["gx"].iloc[2] == pytest.approx(1.0, abs=1e-3)
    assert isinstance(imu.index, pd.DatetimeIndex)


class _StalledWriter:
    """The journal's IPC writer behind a disk that stalls: write_batch waits to be released."""

    def __init__(self, inner: Any, entered: threading.Event, release: threading.Event) -> None:
        self.inner, self.entered, self.release = inner, entered, release

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.entered.set()
        assert self.release.wait(60)
        self.inner.write_batch(batch)

    def close(self) -> None:
        self.inner.close()


def test_appends_and_metadata_changes_never_wait_for_a_stalled_flush(tmp_path: Path) -> None:
    # appends run on the event loop that stamps BLE notifications: a slow disk must not hold
    # the lock they take
    entered, release = threading.Event(), threading.Event()
    journal = JournalWriter(tmp_path / "s", full_meta(), flush_interval_s=3600.0)
    journal._writer = _StalledWriter(journal._writer, entered, release)
    journal.append("hr", "d", [T0], value=[60.0])
    flushing = threading.Thread(target=journal.flush)
    flushing.start()
    marker_t = datetime(2026, 11, 1, 9, 40, tzinfo=UTC)
    try:
        assert entered.wait(60)  # the flush is inside its write now
        assert not journal._lock.locked()
        journal.append("hr", "d", [T0 + 10**9], value=[61.0])
        journal.add_marker(marker_t, "set_end", "set 1")
    finally:
        release.set()
        flushing.join()
    rec = load(journal.close())
    assert rec.stream("hr")["value"].tolist() == [60.0, 61.0]
    assert rec.meta.markers[-1] == Marker(marker_t, "set_end", "set 1")


def test_metadata_changes_reach_disk_with_the_next_flush(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "s", SessionMeta(session_id="x"), flush_interval_s=3600.0)
    fit = ClockFit(offset_ns=T0, drift_ppm=12.0)
    journal.set_clock("imu", fit)
    journal.flush()
    saved = SessionMeta.from_json(journal.meta_path.read_bytes())
    assert saved.clock == {"imu": fit}
    journal.add_intake(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "caffeine", 100.0)
    journal.append("hr", "d", [T0], value=[60.0])
    journal.close(finalize_now=False)  # what a crash right after closing leaves behind
    [result] = recover(tmp_path)
    assert load(result.path).meta.intake[-1].dose_mg == 100.0


def test_finalize_retimes_samples_with_the_final_clock_fit(tmp_path: Path) -> None:
    # live times were off by up to 30 ms; the final fit knows better, within its device span
    t_device = np.arange(0, 20_000_000_000, 5_000_000, dtype=np.int64)  # 20 s at 200 Hz
    fit = ClockFit(
        offset_ns=T0,
        drift_ppm=50.0,
        device_ref_ns=0,
        first_device_ns=1_000_000_000,
        last_device_ns=12_000_000_000,
    )
    live = fit.to_host(t_device) + np.random.default_rng(0).integers(0, 30_000_000, t_device.size)
    live = np.maximum.accumulate(live)
    with JournalWriter(tmp_path / "s", SessionMeta(session_id="x")) as journal:
        journal.append("acc", "imu", live, xyz=np.zeros((t_device.size, 3)), t_device_ns=t_device)
        journal.append("hr", "strap", [T0 + 5 * 10**9], value=[60.0])
        journal.set_clock("imu", fit)
    rec = load(tmp_path / "s.parquet")
    acc = rec.stream("acc", "imu")
    inside = t_device <= 12_000_000_000 + 2_000_000_000  # the span plus a 2 s margin
    np.testing.assert_array_equal(acc.index.asi8[inside], fit.to_host(t_device[inside]))
    np.testing.assert_array_equal(acc.index.asi8[~inside], live[~inside])  # outside: kept
    assert rec.stream("hr").index.asi8[0] == T0 + 5 * 10**9  # no device time: untouched
    assert rec.meta.clock["imu"] == fit
