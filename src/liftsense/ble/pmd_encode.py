"""Build Polar PMD Data notifications (the inverse of :func:`liftsense.ble.pmd_frames.parse_frame`),
for virtual sensors and tests. Layouts and units are documented in :mod:`liftsense.ble.pmd_frames`.
"""

from __future__ import annotations

import operator

import numpy as np
import numpy.typing as npt

from liftsense.ble.pmd_delta import encode_delta
from liftsense.ble.pmd_frames import Layout, MeasurementType, layout_for

__all__ = ["encode_frame"]


def encode_frame(
    measurement: MeasurementType | int,
    raw: npt.ArrayLike,
    *,
    timestamp_ns: int,
    frame_type: int,
    resolution_bits: int | None = None,
    block_samples: int = 255,
) -> bytes:
    """Encode a PMD Data notification; the inverse of :func:`parse_frame` on ``raw``.

    Args:
        measurement: measurement type.
        raw: (n_samples, n_channels) integers as :attr:`PmdFrame.raw` holds them (for float
            frames the uint32 bit patterns; for PPI the six columns, flags as 0/1).
        timestamp_ns: sensor time of the LAST sample, ns since 2000-01-01 (0..2**64-1).
        frame_type: frame type byte; bit 7 set = delta-compressed (e.g. 0x01 H10 ACC, 0x80 and
            0x81 Verity ACC).
        resolution_bits: for compressed frames, overrides the default resolution.
        block_samples: deltas per compressed block (<= 255).

    Raises:
        ValueError: unknown layout, bad shape, or values that do not fit the format.
    """
    arr = np.asarray(raw, dtype=np.int64)
    if arr.ndim == 1:
        arr = arr[:, None]
    layout = layout_for(
        int(measurement), frame_type, resolution_bits=resolution_bits, channels=arr.shape[1]
    )
    if layout is None:
        raise ValueError(f"no layout for measurement {measurement} frame type 0x{frame_type:02x}")
    if arr.ndim != 2 or arr.shape[1] != len(layout.channels) or arr.shape[0] < 1:
        raise ValueError(f"raw must be (n >= 1, {len(layout.channels)}), got {arr.shape}")
    timestamp_ns = operator.index(timestamp_ns)  # numpy integers welcome
    if not 0 <= timestamp_ns < 1 << 64:
        raise ValueError("timestamp_ns must fit in an unsigned 64-bit integer")
    header = bytes([int(measurement) & 0x3F]) + timestamp_ns.to_bytes(8, "little")
    header += bytes([frame_type])
    if layout.kind == "delta":
        payload = encode_delta(
            arr, layout.resolution_bits, is_float=layout.is_float, block_samples=block_samples
        )
        return header + payload
    return header + _pack_records(arr, layout)


def _check(arr: npt.NDArray[np.int64], lo: int, hi: int, what: str) -> None:
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise ValueError(f"{what} outside {lo}..{hi}")


def _le_bytes(col: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """(n,) ints -> (n, width) little-endian two's-complement bytes."""
    shifts = np.arange(width, dtype=np.int64) * 8
    return ((col[:, None] >> shifts) & 0xFF).astype(np.uint8)


def _pack_records(arr: npt.NDArray[np.int64], layout: Layout) -> bytes:
    if layout.kind == "int":
        w = layout.value_bytes
        lim = 1 << (8 * w - 1)
        _check(arr, -lim, lim - 1, f"int{8 * w} samples")
        parts = [_le_bytes(arr[:, c], w) for c in range(arr.shape[1])]
    elif layout.kind == "ppi":
        _check(arr[:, 0], 0, 0xFF, "PPI hr")
        _check(arr[:, 1:3], 0, 0xFFFF, "PPI intervals")
        _check(arr[:, 3:], 0, 1, "PPI flags")
        flags = arr[:, 3] | arr[:, 4] << 1 | arr[:, 5] << 2
        parts = [_le_bytes(arr[:, 0], 1), _le_bytes(arr[:, 1], 2), _le_bytes(arr[:, 2], 2)]
        parts.append(_le_bytes(flags, 1))
    elif layout.kind == "ecg1":
        _check(arr[:, 0], 0, 0x3FFF, "ECG 14-bit value")
        _check(arr[:, 1], 0, 1, "over_sampling")
        _check(arr[:, 2:], 0, 3, "contact fields")
        status = arr[:, 1] | arr[:, 2] << 1 | arr[:, 3] << 3
        parts = [_le_bytes(arr[:, 0], 2), _le_bytes(status, 1)]
    elif layout.kind == "ecg2":
        _check(arr[:, 0], 0, 0x3FFFF, "ECG 18-bit value")
        _check(arr[:, 1:], 0, 7, "ECG tags")
        parts = [_le_bytes(arr[:, 0] | arr[:, 1] << 18 | arr[:, 2] << 21, 3)]
    else:  # ecg3
        _check(arr[:, :2], -(1 << 23), (1 << 23) - 1, "ECG int24 values")
        _check(arr[:, 2], 0, 0xFF, "ECG status")
        parts = [_le_bytes(arr[:, 0], 3), _le_bytes(arr[:, 1], 3), _le_bytes(arr[:, 2], 1)]
    return np.concatenate(parts, axis=1).tobytes()
