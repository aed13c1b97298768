"""Crash-safe journaling of samples while recording, and finalization to one Parquet file.

While a session records, samples go to ``<name>.partial.arrows`` (an Arrow IPC stream: one record
batch per stream and device at least every ``flush_interval_s``) beside ``<name>.partial.json`` (the
metadata, rewritten atomically at the next flush after it changes). A SIGKILL therefore loses at
most the samples and metadata changes made since the last flush. ``finalize`` turns both into
``<name>.parquet`` atomically; ``recover`` does the same for whatever a crash left behind. Both
are idempotent.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from numpy.typing import ArrayLike, NDArray

from liftsense.errors import RecordingError
from liftsense.schema import (
    META_KEY,
    SCALAR_STREAMS,
    STREAMS,
    VECTOR_STREAMS,
    ClockFit,
    Gap,
    Intake,
    Marker,
    MetaError,
    SessionMeta,
    arrow_schema,
)

log = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".partial.arrows"
META_SUFFIX = ".partial.json"
ROW_GROUP_ROWS = 1 << 20
"""Row groups never mix streams or devices, so one stream is read without touching the others."""
_T = pa.timestamp("ns", tz="UTC")
_REALIGN_MARGIN_NS = 2_000_000_000
"""Samples within this device time of a clock fit's points are re-timed with it (a frame's
first samples precede its timestamp; a clock reset jumps much further)."""


def paths_for(base: str | Path) -> tuple[Path, Path, Path]:
    """(parquet, journal, metadata) paths for a recording base name, with or without suffix."""
    base = Path(base)
    name = base.name
    for suffix in (JOURNAL_SUFFIX, META_SUFFIX, ".parquet"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    stem = base.with_name(name)
    return (
        stem.with_name(name + ".parquet"),
        stem.with_name(name + JOURNAL_SUFFIX),
        stem.with_name(name + META_SUFFIX),
    )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _timestamps(t_ns: NDArray[np.int64]) -> pa.Array:
    return pa.Array.from_buffers(_T, len(t_ns), [None, pa.py_buffer(t_ns)])


def _label(value: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([value], pa.string()))


class JournalWriter:
    """Append samples as numpy arrays; every batch reaches the OS within ``flush_interval_s``.

    A background thread flushes pending samples on time even when appends stop, so the "at most
    the last second is lost" promise does not depend on the caller. Use as a context manager or
    call ``close()``, which finalizes to ``<name>.parquet`` and returns its path.

    Arrays passed to ``append`` are copied; times are host-clock ns since the Unix epoch (UTC).
    """

    def __init__(
        self,
        base: str | Path,
        meta: SessionMeta,
        *,
        flush_interval_s: float = 0.5,
        fsync_interval_s: float = 5.0,
    ) -> None:
        self.parquet_path, self.journal_path, self.meta_path = paths_for(base)
        for existing in (self.parquet_path, self.journal_path):
            if existing.exists():
                raise RecordingError(
                    existing,
                    "already exists; choose another name"
                    + (
                        " or run `liftsense recover` on it" if existing == self.journal_path else ""
                    ),
                )
        self.parquet_path.parent.mkdir(parents=True, exist_ok=True)
        self._meta = meta
        self._write_meta()
        self._schema = arrow_schema().with_metadata({META_KEY: meta.to_json().encode()})
        self._file = open(self.journal_path, "wb")  # noqa: SIM115 (closed in close())
        self._writer = ipc.new_stream(self._file, self._schema)
        self._file.flush()
        self._pending: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        # Two locks so that disk stalls never reach the event loop: ``_lock`` guards only the
        # pending buffers and metadata (held for a dict swap), ``_io_lock`` the journal file and
        # the metadata file (held while building batches, writing and fsyncing). Order: _io_lock
        # first, then _lock.
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._meta_dirty = False
        self._flush_interval_s = flush_interval_s
        self._fsync_interval_s = fsync_interval_s
        self._last_fsync = time.monotonic()
        self._closed = False
        self.samples_written = 0
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="journal-flush", daemon=True)
        self._flusher.start()

    # -- metadata ------------------------------------------------------------------------------
    @property
    def meta(self) -> SessionMeta:
        return self._meta

    def update_meta(self, **changes: Any) -> None:
        """Replace metadata fields (e.g. ``devices=...``); they reach disk at the next flush.

        Never touches the disk itself (it is called on the event loop), so like appended samples
        a change is persisted within ``flush_interval_s`` and by ``close()``.
        """
        with self._lock:
            self._meta = self._meta.evolve(**changes)
            self._meta_dirty = True

    def add_marker(self, t: datetime, kind: str, label: str = "") -> None:
        self.update_meta(markers=(*self._meta.markers, Marker(t=t, kind=kind, label=label)))

    def add_gap(self, device: str, start: datetime, end: datetime, reason: str = "") -> None:
        gap = Gap(device=device, start=start, end=end, reason=reason)
        self.update_meta(gaps=(*self._meta.gaps, gap))

    def add_intake(self, t: datetime, substance: str, dose_mg: float) -> None:
        item = Intake(t=t, substance=substance, dose_mg=dose_mg)
        self.update_meta(intake=(*self._meta.intake, item))

    def set_clock(self, label: str, fit: ClockFit) -> None:
        self.update_meta(clock={**self._meta.clock, label: fit})

    def _write_meta(self) -> None:
        _write_atomic(self.meta_path, self._meta.to_json().encode())

    # -- samples -------------------------------------------------------------------------------
    def append(
        self,
        stream: str,
        device: str,
        t_ns: ArrayLike,
        *,
        x: ArrayLike | None = None,
        y: ArrayLike | None = None,
        z: ArrayLike | None = None,
        xyz: ArrayLike | None = None,
        value: ArrayLike | None = None,
        t_device_ns: ArrayLike | None = None,
    ) -> None:
        """Append samples of one stream from one device.

        Vector streams (acc m/s², gyro rad/s, mag µT) take ``x, y, z`` or one ``xyz`` array of
        shape (n, 3); scalar streams (hr bpm, rr ms, ecg µV, ppg raw) take ``value``. Every array
        has the length of ``t_ns``. The journal keeps a reference to the arrays until the next
        flush (well under a second): do not modify them after appending.
        """
        if self._closed:
            raise RecordingError(self.journal_path, "journal is closed")
        t = np.asarray(t_ns, dtype=np.int64)
        if t.ndim != 1:
            t = t.reshape(-1)
        n = t.shape[0]
        vals: Any
        if stream in VECTOR_STREAMS:
            if value is not None:
                raise ValueError(f"stream {stream!r} takes x, y and z")
            if xyz is not None:
                vals = np.asarray(xyz, dtype=np.float32)
                ok = vals.shape == (n, 3)
            elif x is None or y is None or z is None:
                raise ValueError(f"stream {stream!r} takes x, y and z")
            else:
                vals = (
                    np.asarray(x, np.float32).reshape(-1),
                    np.asarray(y, np.float32).reshape(-1),
                    np.asarray(z, np.float32).reshape(-1),
                )
                ok = vals[0].shape[0] == n and vals[1].shape[0] == n and vals[2].shape[0] == n
        elif stream in SCALAR_STREAMS:
            if value is None or x is not None or y is not None or z is not None or xyz is not None:
                raise ValueError(f"stream {stream!r} takes value")
            vals = np.asarray(value, np.float32).reshape(-1)
            ok = vals.shape[0] == n
        else:
            raise ValueError(f"unknown stream {stream!r}; expected one of {STREAMS}")
        td = None if t_device_ns is None else np.asarray(t_device_ns, np.int64).reshape(-1)
        if not ok or (td is not None and td.shape[0] != n):
            raise ValueError(f"{stream}/{device}: arrays differ in length")
        if n == 0:
            return
        with self._lock:
            if self._closed:
                raise RecordingError(self.journal_path, "journal is closed")
            chunks = self._pending.get((stream, device))
            if chunks is None:
                self._pending[(stream, device)] = [(t, td, vals)]
            else:
                chunks.append((t, td, vals))

    def flush(self) -> None:
        """Write pending samples as record batches and changed metadata; hand both to the OS."""
        with self._io_lock:
            if self._closed:
                return
            self._flush_io(*self._take())

    def _take(self) -> tuple[dict[tuple[str, str], list[tuple[Any, ...]]], SessionMeta | None]:
        """Swap out what is pending (the only work done under ``_lock``)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            meta = self._meta if self._meta_dirty else None
            self._meta_dirty = False
        return pending, meta

    def _flush_io(
        self, pending: dict[tuple[str, str], list[tuple[Any, ...]]], meta: SessionMeta | None
    ) -> None:
        """Write what ``_take`` returned; the caller holds ``_io_lock``."""
        if meta is not None:
            try:
                _write_atomic(self.meta_path, meta.to_json().encode())
            except BaseException:
                with self._lock:  # retry at the next flush
                    self._meta_dirty = True
                raise
        if not pending:
            return
        for (stream, device), chunks in pending.items():
            batch = self._batch(stream, device, chunks)
            self._writer.write_batch(batch)
            self.samples_written += batch.num_rows
        self._file.flush()
        now = time.monotonic()
        if now - self._last_fsync >= self._fsync_interval_s:
            os.fsync(self._file.fileno())
            self._last_fsync = now

    def _batch(self, stream: str, device: str, chunks: list[tuple[Any, ...]]) -> pa.RecordBatch:
        t = np.concatenate([c[0] for c in chunks])
        n = len(t)
        if all(c[1] is None for c in chunks):
            t_device = pa.nulls(n, pa.int64())
        else:
            filled = [np.full(len(c[0]), -1, np.int64) if c[1] is None else c[1] for c in chunks]
            mask = np.concatenate([np.full(len(c[0]), c[1] is None) for c in chunks])
            t_device = pa.array(np.concatenate(filled), pa.int64(), mask=mask)
        nulls = pa.nulls(n, pa.float32())
        if stream in VECTOR_STREAMS:
            stacked = np.concatenate(
                [c[2] if isinstance(c[2], np.ndarray) else np.column_stack(c[2]) for c in chunks]
            )
            xyz = [pa.array(np.ascontiguousarray(stacked[:, k])) for k in range(3)]
            value = nulls
        else:
            xyz = [nulls, nulls, nulls]
            value = pa.array(np.concatenate([c[2] for c in chunks]))
        return pa.record_batch(
            [_label(stream, n), _label(device, n), _timestamps(t), t_device, *xyz, value],
            schema=self._schema,
        )

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_interval_s / 2):
            try:
                self.flush()
            except Exception:  # a failing disk must not kill the thread silently forever
                log.exception("journal flush failed")

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self, *, finalize_now: bool = True) -> Path:
        """Flush, close the journal and (by default) finalize it to ``<name>.parquet``."""
        if not self._closed:
            self._stop.set()
            self._flusher.join()
            with self._io_lock:
                with self._lock:
                    self._closed = True  # appends from now on raise instead of being lost
                self._flush_io(*self._take())
                self._writer.close()
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
        if finalize_now:
            return finalize(self.journal_path).path
        return self.journal_path

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Finalized:
    """What finalize/recover produced."""

    path: Path
    samples: int
    start: datetime | None
    end: datetime | None
    dropped_bytes: int = 0
    already_final: bool = False

    def describe(self) -> str:
        if self.already_final:
            return f"{self.path}: already finalized, nothing to do"
        span = ""
        if self.start is not None and self.end is not None:
            span = f" from {self.start:%Y-%m-%d %H:%M:%S} to {self.end:%H:%M:%S} UTC" + (
                f" ({(self.end - self.start).total_seconds():.1f} s)"
            )
        torn = (
            f"; dropped a torn last batch of {self.dropped_bytes} bytes"
            if self.dropped_bytes
            else ""
        )
        return f"{self.path}: recovered {self.samples:,} samples{span}{torn}"


def _read_journal(path: Path) -> tuple[list[pa.RecordBatch], pa.Schema | None, int]:
    """Complete batches of a journal, its schema, and how many trailing bytes were unreadable."""
    size = path.stat().st_size
    batches: list[pa.RecordBatch] = []
    source = pa.memory_map(str(path))
    try:
        reader = ipc.open_stream(source)
    except (pa.ArrowInvalid, OSError):
        return [], None, size
    good_end = source.tell()
    with contextlib.suppress(StopIteration):
        while True:
            try:
                batch = reader.read_next_batch()
            except (pa.ArrowInvalid, pa.ArrowException, OSError):
                break  # a torn last message: everything before it is intact
            batches.append(batch)
            good_end = source.tell()
    return batches, reader.schema, max(0, size - good_end)


def _journal_meta(meta_path: Path, schema: pa.Schema | None, name: str) -> SessionMeta:
    if meta_path.exists():
        try:
            return SessionMeta.from_json(meta_path.read_bytes())
        except MetaError as exc:
            log.warning(
                "%s is damaged (%s); using the metadata saved in the journal", meta_path, exc
            )
    raw = (schema.metadata or {}).get(META_KEY) if schema is not None else None
    if raw:
        with contextlib.suppress(MetaError):
            return SessionMeta.from_json(raw)
    return SessionMeta(session_id=name, notes="metadata was lost in a crash; samples recovered")


def _realigned(table: pa.Table, meta: SessionMeta) -> pa.Table:
    """Re-time samples that carry a device time with their device's final clock fit.

    Live times come from the fit as it stood when each notification arrived; the final fit has
    seen the whole session, so it is the better estimate (see ``ble/clock.py``).
    """
    fits = {k: c for k, c in meta.clock.items() if c.first_device_ns is not None}
    if not fits or table.num_rows == 0:
        return table
    device = table.column("device").chunk(0)
    assert isinstance(device, pa.DictionaryArray)
    labels = device.dictionary.to_pylist()
    codes = device.indices.to_numpy(zero_copy_only=False)
    t_device = table.column("t_device").chunk(0)
    has = t_device.is_valid().to_numpy(zero_copy_only=False)
    td = t_device.fill_null(0).to_numpy(zero_copy_only=False)
    t = table.column("t").chunk(0).cast(pa.int64()).to_numpy().copy()
    changed = False
    for label, fit in fits.items():
        if label not in labels or fit.first_device_ns is None:
            continue
        first = fit.first_device_ns - _REALIGN_MARGIN_NS
        last = (fit.last_device_ns or int(td.max())) + _REALIGN_MARGIN_NS
        rows = (codes == labels.index(label)) & has & (td >= first) & (td <= last)
        if rows.any():
            t[rows] = fit.to_host(td[rows])
            changed = True
    if not changed:
        return table
    return table.set_column(2, "t", _timestamps(t))


def _sorted_table(table: pa.Table) -> pa.Table:
    """Sort by stream name, device label, t, with stream/device as one dictionary each."""
    table = table.unify_dictionaries().combine_chunks()
    keys = []
    for name in ("stream", "device"):
        col = table.column(name).chunk(0) if table.num_rows else None
        assert isinstance(col, pa.DictionaryArray)
        names = col.dictionary.to_pylist()
        rank = np.argsort(np.argsort(np.array(names, dtype=object)))
        keys.append(rank[col.indices.to_numpy(zero_copy_only=False)])
    t = table.column("t").chunk(0).cast(pa.int64()).to_numpy()
    order = np.lexsort((t, keys[1], keys[0]))
    if not np.array_equal(order, np.arange(len(order))):
        table = table.take(pa.array(order))
    return table


def _groups(table: pa.Table) -> Iterator[pa.Table]:
    """Slices of a sorted table, one per (stream, device)."""
    s = table.column("stream").chunk(0).indices.to_numpy(zero_copy_only=False)
    d = table.column("device").chunk(0).indices.to_numpy(zero_copy_only=False)
    cuts = np.flatnonzero((np.diff(s) != 0) | (np.diff(d) != 0)) + 1
    bounds = [0, *cuts.tolist(), table.num_rows]
    for a, b in itertools.pairwise(bounds):
        yield table.slice(a, b - a)


def write_parquet(table: pa.Table, meta: SessionMeta, path: Path) -> None:
    """Write a sorted recording table atomically (temporary name, fsync, rename)."""
    schema = arrow_schema().with_metadata({META_KEY: meta.to_json().encode()})
    table = table.cast(schema)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = pq.ParquetWriter(
        tmp,
        schema,
        compression="zstd",
        compression_level=3,
        # Sensor values are quantised (int16 x scale), so dictionary pages beat byte-stream-split
        # by ~35 %; parquet falls back to plain pages by itself when a stream has too many values.
        use_dictionary=["stream", "device", "x", "y", "z", "value"],
        column_encoding={"t": "DELTA_BINARY_PACKED", "t_device": "DELTA_BINARY_PACKED"},
        write_statistics=True,
        write_page_checksum=True,
    )
    try:
        for group in _groups(table) if table.num_rows else []:
            writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
    finally:
        writer.close()
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def finalize(base: str | Path) -> Finalized:
    """Turn a journal (and its metadata) into ``<name>.parquet`` and remove the journal.

    Idempotent: a journal already finalized is reported as such. A torn last batch (the crash
    hit mid-write) is dropped, not fatal. Raises RecordingError when nothing can be recovered.
    """
    parquet_path, journal_path, meta_path = paths_for(base)
    if not journal_path.exists():
        if parquet_path.exists():
            return Finalized(parquet_path, 0, None, None, already_final=True)
        raise RecordingError(journal_path, "no journal here to finalize")
    if parquet_path.exists():
        from liftsense.recording import load

        try:
            load(parquet_path)
        except RecordingError:
            log.warning("%s is unreadable; rebuilding it from the journal", parquet_path)
        else:  # the crash hit between the rename and the clean-up
            journal_path.unlink()
            meta_path.unlink(missing_ok=True)
            return Finalized(parquet_path, 0, None, None, already_final=True)
    batches, schema, dropped = _read_journal(journal_path)
    rows = sum(b.num_rows for b in batches)
    if rows == 0:
        raise RecordingError(
            journal_path,
            "the journal holds no complete batch of samples (the recording stopped before "
            "its first flush); nothing to recover",
        )
    meta = _journal_meta(meta_path, schema, parquet_path.stem)
    table = pa.Table.from_batches(batches, schema=batches[0].schema)
    table = _sorted_table(_realigned(table.unify_dictionaries().combine_chunks(), meta))
    write_parquet(table, meta, parquet_path)
    t = table.column("t")
    start, end = pc.min(t).as_py(), pc.max(t).as_py()
    journal_path.unlink()
    meta_path.unlink(missing_ok=True)
    return Finalized(parquet_path, rows, start, end, dropped_bytes=dropped)


def recover(path: str | Path) -> list[Finalized]:
    """Finalize every journal found at ``path`` (a recording, a journal file, or a directory)."""
    path = Path(path)
    if path.is_dir():
        bases = sorted({paths_for(p)[0] for p in path.glob(f"*{JOURNAL_SUFFIX}")})
        if not bases:
            raise RecordingError(path, f"no unfinished recordings (*{JOURNAL_SUFFIX}) here")
        return [finalize(b) for b in bases]
    parquet_path, journal_path, _ = paths_for(path)
    if not journal_path.exists() and not parquet_path.exists():
        raise RecordingError(path, "no such recording or journal")
    return [finalize(path)]
