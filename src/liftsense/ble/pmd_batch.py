"""Decode many PMD Data notifications of one stream at once (replaying a journal, benchmarks).

Every frame must share one (measurement, frame type). Delta-compressed frames are decoded
together: one Python step per block header, then one vectorised bit extraction and one
segmented cumulative sum over all frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from liftsense.ble.pmd_delta import MAX_DELTA_BITS
from liftsense.ble.pmd_frames import (
    HEADER_SIZE,
    MeasurementType,
    layout_for,
    parse_frame,
    parse_header,
    to_values,
)
from liftsense.ble.pmd_time import frames_timestamps_ns
from liftsense.errors import DecodeError

__all__ = ["PmdFrames", "parse_frames"]

_U64 = np.dtype("<u8")


@dataclass(frozen=True, eq=False, slots=True)
class PmdFrames:
    """Samples of many frames of one stream, concatenated in frame order.

    Attributes:
        measurement, frame_type, channels, unit, factor: as in :class:`PmdFrame`.
        timestamps_ns: (n_frames,) int64 last-sample time of each frame.
        frame_starts: (n_frames,) int64 index of each frame's first sample in ``raw``.
        raw, values: (n_samples, n_channels) as in :class:`PmdFrame`.
        sample_timestamps_ns: (n_samples,) int64, each frame placed after its predecessor with
            the SDK rule; None when it cannot be computed for every frame.
    """

    measurement: MeasurementType | int
    frame_type: int
    channels: tuple[str, ...]
    unit: str
    factor: float
    timestamps_ns: npt.NDArray[np.int64]
    frame_starts: npt.NDArray[np.int64]
    raw: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    sample_timestamps_ns: npt.NDArray[np.int64] | None


def parse_frames(
    frames: Sequence[bytes],
    *,
    factor: float | None = None,
    previous_timestamp_ns: int | None = None,
    rate_hz: float | None = None,
    resolution_bits: int | None = None,
    channels: int | None = None,
) -> PmdFrames:
    """Decode a sequence of PMD Data notifications of one stream (strict, as :func:`parse_frame`).

    ``previous_timestamp_ns`` is the frame before the first one (None if unknown); each later
    frame uses its predecessor.

    Raises:
        DecodeError: an empty sequence, mixed streams, or any frame :func:`parse_frame` rejects.
    """
    if not frames:
        raise DecodeError(b"", "no PMD frames to decode")
    first = bytes(frames[0])
    measurement, _, frame_type = parse_header(first)
    layout = layout_for(measurement, frame_type, resolution_bits=resolution_bits, channels=channels)
    fac = 1.0 if factor is None else float(factor)
    n_frames = len(frames)
    t_frames = np.empty(n_frames, dtype=np.int64)
    if layout is not None and layout.kind == "delta":
        raw, counts = _decode_delta_frames(
            frames,
            layout.resolution_bits,
            layout.channels,
            layout.is_float,
            t_frames,
            first[0],
            frame_type,
        )
    else:
        parts = []
        for i, data in enumerate(frames):
            if data[0] != first[0] or data[9:10] != first[9:10]:
                raise DecodeError(data, "parse_frames needs frames of one stream only")
            frame = parse_frame(data, resolution_bits=resolution_bits, channels=channels)
            if frame.timestamp_ns >= 1 << 63:
                raise DecodeError(data, "frame timestamp does not fit in int64 ns")
            t_frames[i] = frame.timestamp_ns
            parts.append(frame.raw)
        raw = np.concatenate(parts)
        counts = np.array([p.shape[0] for p in parts], dtype=np.int64)
        layout = layout_for(
            measurement, frame_type, resolution_bits=resolution_bits, channels=channels
        )
    assert layout is not None  # parse_frame raised otherwise
    starts = np.cumsum(counts) - counts
    stamps = None
    prev = np.empty(n_frames, dtype=np.int64)
    p0 = previous_timestamp_ns or 0
    prev[0] = p0 if 0 < p0 < 1 << 63 else 0
    prev[1:] = t_frames[:-1]
    if layout.kind != "ppi":
        candidate, invalid = frames_timestamps_ns(t_frames, prev, counts, rate_hz)
        if not invalid.any():
            stamps = candidate
    return PmdFrames(
        measurement=measurement,
        frame_type=frame_type,
        channels=layout.channels,
        unit=layout.unit,
        factor=fac,
        timestamps_ns=t_frames,
        frame_starts=starts,
        raw=raw,
        values=to_values(raw, layout, fac),
        sample_timestamps_ns=stamps,
    )


def _raise_for(
    frames: Sequence[bytes], index: int, resolution_bits: int, n_ch: int, why: str
) -> None:
    """Raise the precise DecodeError for a bad frame (parse_frame says why)."""
    data = bytes(frames[index])
    parse_frame(data, resolution_bits=resolution_bits, channels=n_ch)
    raise DecodeError(data, why)


def _decode_delta_frames(
    frames: Sequence[bytes],
    resolution_bits: int,
    names: tuple[str, ...],
    is_float: bool,
    t_out: npt.NDArray[np.int64],
    type_byte: int,
    frame_type: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Decode delta frames together; fills ``t_out``; returns (raw, samples per frame).

    Block headers are walked in lockstep: step j reads the j-th block header of every frame
    that has one, so the Python loop runs once per block *position*, not per frame.
    """
    n_ch = len(names)
    ref_len = n_ch * ((resolution_bits + 7) // 8)
    n_frames = len(frames)
    lengths = np.fromiter((len(f) for f in frames), dtype=np.int64, count=n_frames)
    buf = np.frombuffer(b"".join(frames) + bytes(16), dtype=np.uint8)
    offsets = np.cumsum(lengths) - lengths
    ends = offsets + lengths
    short = np.flatnonzero(lengths < HEADER_SIZE + ref_len)
    if short.size:
        _raise_for(frames, int(short[0]), resolution_bits, n_ch, "frame too short")
    alien = np.flatnonzero((buf[offsets] != type_byte) | (buf[offsets + 9] != frame_type))
    if alien.size:
        _raise_for(frames, int(alien[0]), resolution_bits, n_ch, "frames of one stream only")
    stamp_bytes = buf[(offsets + 1)[:, None] + np.arange(8)]
    stamps = stamp_bytes.view(_U64).ravel()
    huge = np.flatnonzero(stamps >= np.uint64(1 << 63))
    if huge.size:
        _raise_for(frames, int(huge[0]), resolution_bits, n_ch, "timestamp beyond int64 ns")
    t_out[:] = stamps.astype(np.int64)

    # Each frame's reference sample is read as one more "block": 1 sample of ``resolution``-bit
    # fields spaced ``value_bits`` apart. Then one extraction yields every row in order.
    value_bits = 8 * ((resolution_bits + 7) // 8)
    all_frames = np.arange(n_frames)
    ones = np.ones(n_frames, dtype=np.int64)
    found = [
        (all_frames, (offsets + HEADER_SIZE) * 8, ones * resolution_bits, ones, ones * value_bits)
    ]
    pos = offsets + HEADER_SIZE + ref_len
    active = np.flatnonzero(pos < ends)
    while active.size:
        at = pos[active]
        cut = np.flatnonzero(ends[active] - at < 2)
        if cut.size:
            _raise_for(frames, int(active[cut[0]]), resolution_bits, n_ch, "block header cut")
        bits = buf[at].astype(np.int64)
        count = buf[at + 1].astype(np.int64)
        nxt = at + 2 + ((bits * count * n_ch + 7) >> 3)
        bad = np.flatnonzero((bits > MAX_DELTA_BITS) | (nxt > ends[active]))
        if bad.size:
            _raise_for(frames, int(active[bad[0]]), resolution_bits, n_ch, "bad delta block")
        found.append((active, (at + 2) * 8, bits, count, bits))
        pos[active] = nxt
        active = active[nxt < ends[active]]

    frame_of = np.concatenate([f[0] for f in found])
    order = np.argsort(frame_of, kind="stable")  # frame order; reference, then blocks in order
    frame_of = frame_of[order]
    start_bit, width, count, stride = (
        np.concatenate([f[i] for f in found])[order] for i in range(1, 5)
    )
    out_counts = np.bincount(frame_of, weights=count, minlength=n_frames).astype(np.int64)
    reps = count * n_ch
    first_value = np.cumsum(reps) - reps
    # Value j of block b starts at start_bit[b] + (j - first_value[b]) * stride[b].
    widths = np.repeat(width.astype(np.uint8), reps)
    # References are spaced by whole bytes; when that equals their width, one array serves.
    strides = widths if value_bits == resolution_bits else np.repeat(stride, reps)
    positions = np.repeat(start_bit - first_value * stride, reps)
    positions += np.arange(positions.size, dtype=np.int64) * strides
    out = _fields(buf, positions, widths).reshape(-1, n_ch)
    # Segmented cumulative sum: shift each frame's first row by the previous frame's last value
    # (the per-frame row sums), so one global cumsum restarts at every reference.
    starts_row = np.cumsum(out_counts) - out_counts
    last = np.add.reduceat(out, starts_row, axis=0)
    out[starts_row[1:]] -= last[:-1]
    np.cumsum(out, axis=0, out=out)
    if is_float:
        out &= 0xFFFFFFFF
    return out, out_counts


def _words(buf: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.unsignedinteger[Any]]:
    """The little-endian word of ``size`` bytes (4 or 8) starting at every byte offset of
    ``buf`` (padded by >= 8 bytes): ``size`` aligned reinterpretations, not a per-byte loop."""
    dtype = np.dtype(f"<u{size}")
    n = buf.size - 8
    words = np.empty(n, dtype=dtype)
    for r in range(size):
        words[r::size] = np.frombuffer(buf, dtype=dtype, count=(n - r + size - 1) // size, offset=r)
    return words


def _fields(
    buf: npt.NDArray[np.uint8],
    start_bits: npt.NDArray[np.int64],
    widths: npt.NDArray[np.uint8],
) -> npt.NDArray[np.int64]:
    """Signed LSB-first bit fields (width 0..32) at ``start_bits`` of ``buf``, sign-extended.

    Shifting a field to the top of a word and back arithmetically sign-extends it. Fields of
    up to 25 bits (plus up to 7 bits of offset) fit a 32-bit word, which halves memory traffic.
    """
    narrow = int(widths.max(initial=0)) <= 25
    bits = 32 if narrow else 64
    words = _words(buf, bits // 8)[start_bits >> 3]
    left = np.uint8(bits) - widths - (start_bits & 7).astype(np.uint8)
    signed = np.int32 if narrow else np.int64
    values = ((words << left).view(signed) >> (np.uint8(bits) - widths)).astype(np.int64)
    if not widths.all():  # a zero-width field would shift by the word size: undefined
        values[widths == 0] = 0
    return values
