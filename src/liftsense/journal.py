"""Crash-safe journaling of samples while recording.

While a session records, samples go to ``<name>.partial.arrows`` (an Arrow IPC stream: one record
batch per stream and device at least every ``flush_interval_s``) beside ``<name>.partial.json`` (the
metadata, rewritten atomically at the next flush after it changes). A SIGKILL therefore loses at
most the samples and metadata changes made since the last flush. ``JournalWriter.close`` finalizes
both into ``<name>.parquet``; ``finalize`` and ``recover`` (in ``liftsense.finalize``, re-exported
here) do the same for whatever a crash left behind.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
from numpy.typing import ArrayLike

from liftsense.errors import RecordingError
from liftsense.finalize import Finalized, finalize, paths_for, recover, utc_timestamps
from liftsense.schema import (
    META_KEY,
    SCALAR_STREAMS,
    STREAMS,
    VECTOR_STREAMS,
    ClockFit,
    Gap,
    Intake,
    Marker,
    SessionMeta,
    arrow_schema,
)

# finalize, recover, Finalized and paths_for are re-exported: callers import them from here.
__all__ = ["Finalized", "JournalWriter", "finalize", "paths_for", "recover"]

log = logging.getLogger(__name__)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
            [_label(stream, n), _label(device, n), utc_timestamps(t), t_device, *xyz, value],
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
