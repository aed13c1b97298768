"""Recordings: load and validate a session's Parquet file, read one stream at a time.

Writing happens through the journal (``JournalWriter``, ``finalize``, ``recover`` live in
``liftsense.journal`` and are re-exported here). A reader never sees a half-written Parquet file:
finalization writes to a temporary name and renames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from liftsense.errors import RecordingError
from liftsense.journal import Finalized, JournalWriter, finalize, paths_for, recover
from liftsense.schema import META_KEY, SCALAR_STREAMS, VECTOR_STREAMS, MetaError, SessionMeta

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Finalized",
    "JournalWriter",
    "Recording",
    "StreamSummary",
    "finalize",
    "load",
    "paths_for",
    "recover",
]

Key = tuple[str, str]
_PARQUET_MAGIC = b"PAR1"


def _is_label(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_utc_ns(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) and t.unit == "ns" and t.tz in ("UTC", "+00:00", "Etc/UTC")


_COLUMN_TYPES = {
    "stream": ("dictionary<string> (or string)", _is_label),
    "device": ("dictionary<string> (or string)", _is_label),
    "t": ("timestamp[ns, tz=UTC]", _is_utc_ns),
    "t_device": ("int64", pa.types.is_int64),
    "x": ("float32", pa.types.is_float32),
    "y": ("float32", pa.types.is_float32),
    "z": ("float32", pa.types.is_float32),
    "value": ("float32", pa.types.is_float32),
}


@dataclass(frozen=True)
class StreamSummary:
    """Sample count, span, effective rate and gaps of one stream from one device."""

    stream: str
    device: str
    samples: int
    start: pd.Timestamp
    end: pd.Timestamp
    rate_hz: float
    gaps: int
    longest_gap_s: float

    @property
    def duration_s(self) -> float:
        return float((self.end - self.start).total_seconds())


@dataclass(frozen=True)
class _Span:
    """What :meth:`Recording.summary` reports of one stream, from the timestamps read once
    while loading (times in ns since the epoch)."""

    samples: int
    start_ns: int
    end_ns: int
    rate_hz: float
    gaps: int
    longest_gap_s: float

    @classmethod
    def of(cls, stream: str, t: npt.NDArray[np.int64]) -> _Span:
        n = len(t)
        dt = np.diff(t)
        period = float(np.median(dt)) if n > 1 else 0.0
        # rr and hr arrive beat by beat / once a second: a gap is a long silence, not jitter.
        limit = max(3 * period, 2e9 if stream in SCALAR_STREAMS else 0.0)
        gaps = dt[dt > limit] if n > 1 else dt
        span_s = (t[-1] - t[0]) / 1e9 if n > 1 else 0.0
        return cls(
            samples=n,
            start_ns=int(t[0]),
            end_ns=int(t[-1]),
            rate_hz=float((n - 1) / span_s) if span_s > 0 else float("nan"),
            gaps=len(gaps),
            longest_gap_s=float(gaps.max() / 1e9) if len(gaps) else 0.0,
        )


class Recording:
    """A validated recording. Build it with ``liftsense.load(path)``."""

    def __init__(
        self,
        path: Path,
        meta: SessionMeta,
        file: pq.ParquetFile,
        index: dict[Key, list[int]],
        spans: dict[Key, _Span],
    ) -> None:
        self.path = path
        self.meta = meta
        self._file = file
        self._index = index
        self._spans = spans

    def __repr__(self) -> str:
        keys = ", ".join(f"{s}/{d}" for s, d in self.keys)
        return f"Recording({str(self.path)!r}, session={self.meta.session_id!r}, streams=[{keys}])"

    @property
    def keys(self) -> list[Key]:
        """(stream, device) pairs present, sorted."""
        return sorted(self._index)

    def devices(self, stream: str | None = None) -> list[str]:
        return sorted({d for s, d in self._index if stream is None or s == stream})

    def has(self, stream: str, device: str | None = None) -> bool:
        return any(s == stream and (device is None or d == device) for s, d in self._index)

    @property
    def t0(self) -> pd.Timestamp:
        """Time of the first sample of any stream."""
        import pandas as pd

        return pd.Timestamp(min(span.start_ns for span in self._spans.values()), tz="UTC")

    def _read(self, key: Key, columns: list[str]) -> pa.Table:
        groups = self._index[key]
        try:
            table = self._file.read_row_groups(groups, columns=["stream", "device", *columns])
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(self.path, f"damaged data in {key[0]}/{key[1]}: {exc}") from exc
        mine = _rows_of(table, key)
        if not pc.all(mine).as_py():  # a foreign writer mixed streams in a row group
            table = table.filter(mine)
        return table

    def stream(self, name: str, device: str | None = None) -> pd.DataFrame:
        """One stream as a DataFrame indexed by UTC time ``t``, sorted by time.

        Columns: ``device``, ``t_device`` (ns, may be missing), then ``x, y, z`` for vector
        streams or ``value`` for scalar ones. Only the row groups and columns needed are read.
        Raises RecordingError when the stream (or device) is not in the recording.
        """
        import pandas as pd

        keys = [k for k in self._index if k[0] == name and (device is None or k[1] == device)]
        if not keys:
            have = ", ".join(f"{s}/{d}" for s, d in self.keys) or "nothing"
            what = name if device is None else f"{name} from {device}"
            raise RecordingError(self.path, f"no {what} in this recording (it has {have})")
        values = ["x", "y", "z"] if name in VECTOR_STREAMS else ["value"]
        frames = []
        for key in sorted(keys):
            table = self._read(key, ["t", "t_device", *values])
            frame = pd.DataFrame(
                {
                    "device": pd.Categorical.from_codes(
                        np.zeros(table.num_rows, np.int8), categories=pd.Index([key[1]])
                    ),
                    "t_device": table.column("t_device")
                    .to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
                    .array,
                    **{v: table.column(v).to_numpy(zero_copy_only=False) for v in values},
                },
                index=pd.DatetimeIndex(table.column("t").to_pandas(), name="t"),
            )
            frames.append(frame)
        out = frames[0] if len(frames) == 1 else pd.concat(frames).sort_index(kind="stable")
        if len(frames) > 1:
            out["device"] = out["device"].astype("category")
        return out

    def imu(self, device: str | None = None) -> pd.DataFrame:
        """Accelerometer (``x, y, z`` m/s²) of one device, with its gyro as ``gx, gy, gz`` (rad/s)
        interpolated onto the accelerometer's times when the device has one.

        This is the input ``liftsense.signal.reps.detect`` expects.
        """
        acc_devices = self.devices("acc")
        if device is None:
            if len(acc_devices) != 1:
                raise RecordingError(
                    self.path,
                    f"choose one IMU device: {', '.join(acc_devices) or 'none has acc'}",
                )
            device = acc_devices[0]
        acc = self.stream("acc", device).drop(columns=["device", "t_device"])
        if self.has("gyro", device):
            gyro = self.stream("gyro", device)
            t_acc = acc.index.to_numpy(np.int64)
            t_gyro = gyro.index.to_numpy(np.int64)
            for axis in "xyz":
                acc["g" + axis] = np.interp(t_acc, t_gyro, gyro[axis].to_numpy(np.float64)).astype(
                    np.float32
                )
        return acc

    def summary(self) -> list[StreamSummary]:
        """Per stream and device: samples, span, effective rate, gaps (> 3 median periods)."""
        import pandas as pd

        return [
            StreamSummary(
                stream=key[0],
                device=key[1],
                samples=span.samples,
                start=pd.Timestamp(span.start_ns, tz="UTC"),
                end=pd.Timestamp(span.end_ns, tz="UTC"),
                rate_hz=span.rate_hz,
                gaps=span.gaps,
                longest_gap_s=span.longest_gap_s,
            )
            for key, span in sorted(self._spans.items())
        ]


def _fail(path: Path, problem: str) -> RecordingError:
    return RecordingError(path, problem)


def _open(path: Path) -> pq.ParquetFile:
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a directory, not a recording")
    size = path.stat().st_size
    if size == 0:
        raise _fail(path, "the file is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        journal = paths_for(path)[1]
        hint = (
            f"; an unfinished recording is in {journal.name}, run `liftsense recover`"
            if (journal.exists())
            else ""
        )
        raise _fail(path, f"not a Parquet file (or truncated){hint}")
    try:
        return pq.ParquetFile(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as exc:
        raise _fail(path, f"damaged Parquet file: {exc}") from exc


def _check_schema(path: Path, schema: pa.Schema) -> None:
    for name, (expected, ok) in _COLUMN_TYPES.items():
        idx = schema.get_field_index(name)
        if idx < 0:
            raise _fail(path, f"missing column {name!r} ({expected})")
        if not ok(schema.field(idx).type):
            raise _fail(path, f"column {name!r} is {schema.field(idx).type}, expected {expected}")


def _rows_of(table: pa.Table, key: Key) -> pa.ChunkedArray:
    """Which rows of ``table`` belong to the stream and device ``key`` (False where a label is
    missing)."""
    both = pc.and_(_equal(table.column("stream"), key[0]), _equal(table.column("device"), key[1]))
    return pc.fill_null(both, False)


def _equal(labels: pa.ChunkedArray, value: str) -> pa.ChunkedArray:
    """Where a label column (``stream``, ``device``) equals ``value``: for a dictionary-encoded
    column, the dictionary is compared and its answer taken for each row's code (comparing a
    million rows' decoded strings took longer than reading them)."""
    chunks = [
        pc.take(pc.equal(ch.dictionary, value), ch.indices)
        if pa.types.is_dictionary(ch.type)
        else pc.equal(ch, value)
        for ch in labels.chunks
    ]
    return pa.chunked_array(chunks, pa.bool_())


def _index(path: Path, file: pq.ParquetFile) -> tuple[dict[Key, list[int]], dict[Key, _Span]]:
    """Which row groups hold which (stream, device), checking time order within each, and the
    span, rate and gaps of each: the one pass over the timestamps a load makes."""
    md = file.metadata
    s_col = file.schema_arrow.get_field_index("stream")
    d_col = file.schema_arrow.get_field_index("device")
    index: dict[Key, list[int]] = {}
    times: dict[Key, list[npt.NDArray[np.int64]]] = {}
    last_t: dict[Key, int] = {}
    for rg in range(md.num_row_groups):
        if md.row_group(rg).num_rows == 0:
            continue
        stats = [md.row_group(rg).column(c).statistics for c in (s_col, d_col)]
        try:
            if all(st is not None and st.has_min_max and st.min == st.max for st in stats):
                t = file.read_row_group(rg, columns=["t"]).column("t")
                parts = {(str(stats[0].min), str(stats[1].min)): t.cast(pa.int64()).to_numpy()}
            else:
                table = file.read_row_group(rg, columns=["stream", "device", "t"])
                labels = table.select(["stream", "device"])
                if any(c.null_count for c in labels.columns):
                    raise _fail(path, f"rows without a stream or device label in row group {rg}")
                keys = labels.group_by(["stream", "device"]).aggregate([]).to_pylist()
                t_all = table.column("t").cast(pa.int64())
                parts = {}
                for key in sorted((str(k["stream"]), str(k["device"])) for k in keys):
                    parts[key] = t_all.filter(_rows_of(table, key)).to_numpy()
        except (pa.ArrowException, OSError) as exc:
            raise _fail(path, f"damaged data in row group {rg}: {exc}") from exc
        for key, t_ns in parts.items():
            if key[0] not in VECTOR_STREAMS + SCALAR_STREAMS:
                raise _fail(path, f"unknown stream {key[0]!r} (device {key[1]!r})")
            previous = last_t.get(key)
            seq = t_ns if previous is None else np.concatenate([[previous], t_ns])
            back = np.flatnonzero(np.diff(seq) < 0)
            if len(back):
                raise _fail(
                    path,
                    f"timestamps go backwards in {key[0]}/{key[1]} (row group {rg}, "
                    f"{len(back)} place(s)); the file was not written in time order",
                )
            last_t[key] = int(t_ns[-1])
            times.setdefault(key, []).append(t_ns)
            groups = index.setdefault(key, [])
            if not groups or groups[-1] != rg:
                groups.append(rg)
    spans = {
        key: _Span.of(key[0], chunks[0] if len(chunks) == 1 else np.concatenate(chunks))
        for key, chunks in times.items()
    }
    return index, spans


def load(path: str | Path) -> Recording:
    """Open and validate a recording.

    Raises RecordingError, naming the file and the problem, for: a missing or empty file, a file
    that is not Parquet (or is truncated), Parquet without LiftSense metadata, a newer schema
    version, missing or mistyped columns, no samples, and timestamps going backwards within a
    stream and device.
    """
    path = Path(path)
    file = _open(path)
    schema = file.schema_arrow
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise _fail(path, "Parquet file without LiftSense metadata: not a LiftSense recording")
    try:
        meta = SessionMeta.from_json(raw)
    except MetaError as exc:
        raise _fail(path, f"invalid LiftSense metadata: {exc}") from exc
    _check_schema(path, schema)
    if file.metadata.num_rows == 0:
        raise _fail(path, "the recording holds no samples")
    return Recording(path, meta, file, *_index(path, file))
