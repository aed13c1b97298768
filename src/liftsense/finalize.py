"""From journal to Parquet: ``finalize`` after a clean stop, ``recover`` after a crash.

A recording ``<name>`` is journaled as ``<name>.partial.arrows`` (Arrow IPC stream) beside
``<name>.partial.json`` (metadata) by :class:`liftsense.journal.JournalWriter`. Finalization reads
the complete record batches (a torn last one is dropped), re-times samples with the final clock
fits, sorts by stream, device and time, and writes ``<name>.parquet`` atomically (temporary name,
fsync, rename) before removing the journal. Both ``finalize`` and ``recover`` are idempotent.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from liftsense.errors import RecordingError
from liftsense.schema import META_KEY, MetaError, SessionMeta, arrow_schema

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


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def utc_timestamps(t_ns: NDArray[np.int64]) -> pa.Array:
    """A timestamp[ns, UTC] array over ``t_ns`` (int64 ns since the Unix epoch), without a copy."""
    return pa.Array.from_buffers(_T, len(t_ns), [None, pa.py_buffer(t_ns)])


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
    return table.set_column(2, "t", utc_timestamps(t))


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
