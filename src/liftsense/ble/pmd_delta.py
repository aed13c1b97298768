"""Polar PMD delta compression: the bit-packed payload of frame types with bit 7 set.

Payload layout (little-endian)::

    reference sample: channels x ceil(resolution/8) bytes, sign-extended from bit resolution-1
                      (float frames: unsigned IEEE-754 bit patterns)
    then blocks until the payload ends:
        [delta_bits u8][sample_count u8] + ceil(delta_bits * sample_count * channels / 8) bytes

Inside a block the deltas are packed LSB-first across byte boundaries, sample-major (ch0, ch1, ...
of sample 1, then sample 2 ...), each sign-extended from its top bit; every block starts on a byte
boundary. Each sample is the previous one plus its delta; for float frames the addition is on the
32-bit patterns modulo 2**32.

Decoding is vectorised: the payload is unpacked to bits once and each block
becomes a (values, width) view whose product with signed bit weights gives the sign-extended
deltas, so no Python loop runs per sample (only one per block header).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liftsense.errors import DecodeError

__all__ = [
    "MAX_DELTA_BITS",
    "BlockIndex",
    "decode_delta",
    "encode_delta",
    "index_blocks",
    "reference_from_bytes",
]

#: Widest delta accepted (float frames need 32; wider would be a corrupt header).
MAX_DELTA_BITS = 32
# Bit weights of a two's-complement field, LSB first: the top bit counts negative.
_WEIGHTS = [np.zeros(0)] + [
    np.array([1 << i for i in range(w - 1)] + [-(1 << (w - 1))], dtype=np.float64)
    for w in range(1, MAX_DELTA_BITS + 1)
]


@dataclass(frozen=True, slots=True)
class BlockIndex:
    """Where the deltas of one payload are: per block (start bit, delta width, sample count).

    ``complete`` is False when the payload ended inside a block (only whole samples kept).
    """

    start_bits: tuple[int, ...]
    widths: tuple[int, ...]
    counts: tuple[int, ...]
    complete: bool


def reference_from_bytes(
    ref: bytes, channels: int, resolution_bits: int, *, is_float: bool
) -> list[int]:
    """Decode the reference sample (``channels`` values of ceil(resolution/8) bytes each)."""
    width = (resolution_bits + 7) // 8
    values = []
    sign = 1 << (resolution_bits - 1)
    mask = (1 << resolution_bits) - 1
    for ch in range(channels):
        v = int.from_bytes(ref[ch * width : (ch + 1) * width], "little")
        if not is_float:
            v &= mask
            v = (v ^ sign) - sign
        values.append(v)
    return values


def index_blocks(
    data: bytes, start: int, channels: int, *, strict: bool, end: int | None = None
) -> BlockIndex:
    """Walk the block headers of ``data[start:end]`` (one Python step per block, not per sample).

    Raises:
        DecodeError: a header is malformed, or (``strict``) the payload ends inside a block.
    """
    starts: list[int] = []
    widths: list[int] = []
    counts: list[int] = []
    pos = start
    end = len(data) if end is None else end
    complete = True
    while pos < end:
        if end - pos < 2:
            if strict:
                raise DecodeError(data, f"delta block header cut short at byte {pos}")
            complete = False
            break
        bits = data[pos]
        count = data[pos + 1]
        if bits > MAX_DELTA_BITS:
            raise DecodeError(
                data, f"delta width {bits} bits at byte {pos} exceeds {MAX_DELTA_BITS}"
            )
        nbytes = (bits * count * channels + 7) // 8
        if pos + 2 + nbytes > end:
            if strict:
                raise DecodeError(
                    data,
                    f"delta block at byte {pos} needs {nbytes} bytes, only {end - pos - 2} left "
                    "(notification truncated? negotiate a larger ATT MTU)",
                )
            per_sample = bits * channels
            count = (end - pos - 2) * 8 // per_sample if per_sample else count
            complete = False
            nbytes = end - pos - 2
        starts.append((pos + 2) * 8)
        widths.append(bits)
        counts.append(count)
        pos += 2 + nbytes
    return BlockIndex(tuple(starts), tuple(widths), tuple(counts), complete)


def decode_delta(
    data: bytes,
    channels: int,
    resolution_bits: int,
    *,
    offset: int = 0,
    is_float: bool = False,
    strict: bool = True,
) -> tuple[npt.NDArray[np.int64], bool]:
    """Decode the delta-compressed payload ``data[offset:]`` to an (n_samples, channels) array.

    Returns (samples, complete); ``complete`` is False only when ``strict`` is off and the
    payload ended inside a block.

    ``offset`` lets a caller pass a whole notification, so errors carry all of its bytes.

    For float frames the result holds the uint32 IEEE-754 bit patterns.

    Raises:
        DecodeError: the payload is shorter than the reference sample, a block header is
            malformed, or (``strict``) a block is cut short.
    """
    ref_len = channels * ((resolution_bits + 7) // 8)
    if len(data) - offset < ref_len:
        raise DecodeError(data, f"delta payload shorter than its {ref_len}-byte reference")
    ref = reference_from_bytes(
        data[offset : offset + ref_len], channels, resolution_bits, is_float=is_float
    )
    index = index_blocks(data, offset + ref_len, channels, strict=strict)
    n_samples = 1 + sum(index.counts)
    # Float64 holds every intermediate exactly (|values| < 2**53), and lets each block be one
    # BLAS matrix-vector product of its bits with the signed bit weights.
    out = np.empty((n_samples, channels), dtype=np.float64)
    out[0] = ref
    if n_samples > 1:
        base_bit = index.start_bits[0]
        payload = np.frombuffer(data, dtype=np.uint8, offset=base_bit >> 3)
        bits = np.unpackbits(payload, bitorder="little").astype(np.float64)
        flat = out.reshape(-1)
        at = channels
        for start, width, count in zip(index.start_bits, index.widths, index.counts, strict=True):
            n_values = count * channels
            first = start - base_bit
            block = bits[first : first + n_values * width].reshape(n_values, width)
            np.dot(block, _WEIGHTS[width], out=flat[at : at + n_values])
            at += n_values
        np.add.accumulate(out, axis=0, out=out)
    result = out.astype(np.int64)
    if is_float:
        result &= 0xFFFFFFFF
    return result, index.complete


def _signed_width(values: npt.NDArray[np.int64]) -> int:
    """Smallest two's-complement width (>= 1 bit) holding every value."""
    if values.size == 0:
        return 1
    hi = int(values.max())
    lo = int(values.min())
    return max(1, hi.bit_length() + 1, (~lo).bit_length() + 1)


def encode_delta(
    samples: npt.ArrayLike,
    resolution_bits: int,
    *,
    is_float: bool = False,
    block_samples: int | Sequence[int] = 255,
) -> bytes:
    """Delta-compress (n_samples, channels) integers: the inverse of :func:`decode_delta`.

    Args:
        samples: integer samples; for float frames the uint32 bit patterns.
        resolution_bits: bits of each reference value (e.g. 16; 22 for Verity PPG; 32 for float).
        is_float: deltas are taken modulo 2**32 on bit patterns.
        block_samples: deltas per block (<= 255), or an explicit list of block sizes whose sum
            is n_samples - 1. Each block uses the narrowest width that fits its deltas.

    Raises:
        ValueError: bad shape, sizes, or a value that does not fit the resolution.
    """
    arr = np.asarray(samples, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"samples must be (n_samples >= 1, channels >= 1), got {arr.shape}")
    n = arr.shape[0]
    width_bytes = (resolution_bits + 7) // 8
    if is_float:
        if arr.min() < 0 or arr.max() > 0xFFFFFFFF:
            raise ValueError("float samples must be uint32 bit patterns")
    else:
        lim = 1 << (resolution_bits - 1)
        if arr.min() < -lim or arr.max() >= lim:
            raise ValueError(f"samples do not fit in {resolution_bits} signed bits")
    out = bytearray()
    ref_mask = (1 << (8 * width_bytes)) - 1
    for v in arr[0].tolist():
        out += (v & ref_mask).to_bytes(width_bytes, "little")
    deltas = np.diff(arr, axis=0)
    if is_float:
        # Wrap to signed 32-bit: the decoder adds modulo 2**32.
        deltas = ((deltas + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    if isinstance(block_samples, int):
        if not 1 <= block_samples <= 255:
            raise ValueError("block_samples must be within 1..255")
        sizes = [block_samples] * ((n - 1) // block_samples)
        if (n - 1) % block_samples:
            sizes.append((n - 1) % block_samples)
    else:
        sizes = list(block_samples)
        if sum(sizes) != n - 1 or any(not 0 <= s <= 255 for s in sizes):
            raise ValueError("block sizes must be within 0..255 and sum to n_samples - 1")
    pos = 0
    for size in sizes:
        block = deltas[pos : pos + size].ravel()
        pos += size
        width = _signed_width(block)
        if width > MAX_DELTA_BITS:
            raise ValueError(f"a delta needs {width} bits, more than {MAX_DELTA_BITS}")
        out += bytes([width, size])
        masked = block & ((1 << width) - 1)
        bits = ((masked[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8)
        out += np.packbits(bits.ravel(), bitorder="little").tobytes()
    return bytes(out)
