"""Polar PMD Data notifications (characteristic FB005C82-…): decode and encode, no I/O.

Notification layout (little-endian)::

    [0] measurement type (& 0x3F) | [1..8] u64 ns since 2000-01-01 of the LAST sample |
    [9] frame type (bit 7 = delta-compressed) | [10..] payload

Supported (measurement, frame type) pairs and the columns of ``raw`` / ``values``:

==========  =====  ================================  =============================================
measurement frame  raw                               values
==========  =====  ================================  =============================================
ACC         0/1/2  int8/16/24 x,y,z in mG            m/s² (raw x factor x g/1000)
ACC         0x80   16-bit delta x,y,z in counts      m/s² (raw x factor[G/count] x g)
ACC         0x81   16-bit delta x,y,z in mG          m/s² (raw x factor x g/1000)
GYRO        0x80   16-bit delta in counts            rad/s (raw x factor[dps/count] x pi/180)
GYRO        0x81   32-bit delta, float32 bit pattern rad/s (float32 x factor x pi/180)
MAG         0x80   16-bit delta in counts            µT (raw x factor[G/count] x 100)
MAG         0x81   16-bit delta x,y,z mG + calib     µT (raw x factor x 0.1); calibration as is
ECG         0      int24 µV                          µV (raw x factor)
ECG         1      14-bit µV + 3 status fields       µV (raw x factor); status as is
ECG         2      18-bit µV + 2 tags                µV (raw x factor); tags as is
ECG         3      int24, int24, u8 status           unchanged (unit "raw")
PPG         0      int24 ppg0..2 + ambient           unchanged (unit "raw")
PPG         0x80   22-bit delta, 4 channels          unchanged (unit "raw")
PPI         0      hr, pp_ms, pp_error_ms, 3 flags   unchanged (bpm, ms, ms, 0/1)
==========  =====  ================================  =============================================

``factor`` is the FACTOR returned in the START response (1.0 when the device sent none). Other
compressed frame types decode when the caller passes ``resolution_bits`` and ``channels`` (from the
settings), as unit "raw". Anything else raises :class:`~liftsense.errors.DecodeError`; the
exception carries the bytes so a collector can store the frame as received.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liftsense.ble.pmd_delta import decode_delta
from liftsense.ble.pmd_time import sample_timestamps_ns
from liftsense.errors import DecodeError
from liftsense.units import G_MPS2

__all__ = [
    "HEADER_SIZE",
    "POLAR_EPOCH_UNIX_NS",
    "Layout",
    "MeasurementType",
    "PmdFrame",
    "layout_for",
    "parse_frame",
    "parse_header",
]

HEADER_SIZE = 10
#: Add to a PMD timestamp (ns since 2000-01-01) for Unix ns, if the sensor clock was ever set.
POLAR_EPOCH_UNIX_NS = 946_684_800 * 10**9


class MeasurementType(enum.IntEnum):
    """PMD measurement types (low 6 bits of the type byte)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


_MEASUREMENTS: dict[int, MeasurementType | int] = {m.value: m for m in MeasurementType}


@dataclass(frozen=True, slots=True)
class Layout:
    """How one (measurement, frame type) payload is laid out and converted.

    ``kind`` is "int" (little-endian ints, ``value_bytes`` each), "delta", or one of the packed
    records "ecg1", "ecg2", "ecg3", "ppi". The first ``scaled`` channels are multiplied by
    ``factor * si_scale``; the remaining (status) channels are copied unchanged.
    """

    kind: str
    channels: tuple[str, ...]
    unit: str
    value_bytes: int = 0
    resolution_bits: int = 0
    is_float: bool = False
    si_scale: float = 1.0
    scaled: int = 0


_XYZ = ("x", "y", "z")
_ACC_MG = G_MPS2 / 1000.0
_DEG = math.pi / 180.0
_ACC, _GYRO, _MAG, _ECG, _PPG, _PPI = 2, 5, 6, 0, 1, 3
_LAYOUTS: dict[tuple[int, int], Layout] = {
    (_ACC, 0x00): Layout("int", _XYZ, "m/s^2", value_bytes=1, si_scale=_ACC_MG, scaled=3),
    (_ACC, 0x01): Layout("int", _XYZ, "m/s^2", value_bytes=2, si_scale=_ACC_MG, scaled=3),
    (_ACC, 0x02): Layout("int", _XYZ, "m/s^2", value_bytes=3, si_scale=_ACC_MG, scaled=3),
    (_ACC, 0x80): Layout("delta", _XYZ, "m/s^2", resolution_bits=16, si_scale=G_MPS2, scaled=3),
    (_ACC, 0x81): Layout("delta", _XYZ, "m/s^2", resolution_bits=16, si_scale=_ACC_MG, scaled=3),
    (_GYRO, 0x80): Layout("delta", _XYZ, "rad/s", resolution_bits=16, si_scale=_DEG, scaled=3),
    (_GYRO, 0x81): Layout(
        "delta", _XYZ, "rad/s", resolution_bits=32, is_float=True, si_scale=_DEG, scaled=3
    ),
    (_MAG, 0x80): Layout("delta", _XYZ, "uT", resolution_bits=16, si_scale=100.0, scaled=3),
    (_MAG, 0x81): Layout(
        "delta", (*_XYZ, "calibration"), "uT", resolution_bits=16, si_scale=0.1, scaled=3
    ),
    (_ECG, 0x00): Layout("int", ("ecg",), "uV", value_bytes=3, scaled=1),
    (_ECG, 0x01): Layout(
        "ecg1", ("ecg", "over_sampling", "skin_contact", "contact_impedance"), "uV", scaled=1
    ),
    (_ECG, 0x02): Layout("ecg2", ("ecg", "ecg_data_tag", "pace_data_tag"), "uV", scaled=1),
    (_ECG, 0x03): Layout("ecg3", ("data0", "data1", "status"), "raw"),
    (_PPG, 0x00): Layout("int", ("ppg0", "ppg1", "ppg2", "ambient"), "raw", value_bytes=3),
    (_PPG, 0x80): Layout("delta", ("ppg0", "ppg1", "ppg2", "ambient"), "raw", resolution_bits=22),
    (_PPI, 0x00): Layout(
        "ppi",
        ("hr", "pp_ms", "pp_error_ms", "blocker", "skin_contact", "skin_contact_supported"),
        "bpm, ms, ms, flags",
    ),
}
_RECORD_BYTES = {"ecg1": 3, "ecg2": 3, "ecg3": 7, "ppi": 6}


def layout_for(
    measurement: int,
    frame_type: int,
    *,
    resolution_bits: int | None = None,
    channels: int | None = None,
) -> Layout | None:
    """The layout for a (measurement, frame type byte), with settings overrides for delta frames.

    Returns None for an unknown pair. Raises ValueError for overrides out of range
    (resolution 1..32 bits, channels 1..16).
    """
    if resolution_bits is not None and not 1 <= resolution_bits <= 32:
        raise ValueError(f"resolution_bits {resolution_bits} is outside 1..32")
    if channels is not None and not 1 <= channels <= 16:
        raise ValueError(f"channels {channels} is outside 1..16")
    layout = _LAYOUTS.get((measurement, frame_type))
    if layout is None:
        if frame_type & 0x80 and resolution_bits and channels:
            names = tuple(f"ch{i}" for i in range(channels))
            return Layout("delta", names, "raw", resolution_bits=resolution_bits)
        return None
    if layout.kind == "delta" and (resolution_bits or channels) and not layout.is_float:
        n_ch = channels or len(layout.channels)
        names = (
            layout.channels
            if n_ch == len(layout.channels)
            else tuple(f"ch{i}" for i in range(n_ch))
        )
        return Layout(
            "delta",
            names,
            layout.unit,
            resolution_bits=resolution_bits or layout.resolution_bits,
            si_scale=layout.si_scale,
            scaled=min(layout.scaled, n_ch),
        )
    return layout


@dataclass(frozen=True, eq=False, slots=True)
class PmdFrame:
    """One decoded PMD Data notification.

    Attributes:
        measurement: :class:`MeasurementType` (a plain int for unknown types).
        frame_type: the frame type byte as sent (bit 7 = delta-compressed, e.g. 0x80).
        timestamp_ns: sensor time of the LAST sample, ns since 2000-01-01 (sensor clock).
        channels: column names of ``raw`` and ``values``.
        raw: (n_samples, n_channels) int64 as sent, before factor and unit conversion
            (float frames: the uint32 IEEE-754 bit patterns).
        values: (n_samples, n_channels) float64 in ``unit`` (SI where one exists).
        unit: unit of the scaled channels of ``values``.
        factor: the factor applied (1.0 when none was given).
        sample_timestamps_ns: (n_samples,) int64 sensor time of each sample, reconstructed with
            the SDK rule (see :mod:`liftsense.ble.pmd_time`); None when neither a previous
            timestamp nor a rate was given, and always None for PPI (no sample time).
        truncated: True when ``strict=False`` dropped an incomplete tail.
    """

    measurement: MeasurementType | int
    frame_type: int
    timestamp_ns: int
    channels: tuple[str, ...]
    raw: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    unit: str
    factor: float
    sample_timestamps_ns: npt.NDArray[np.int64] | None
    truncated: bool = False

    @property
    def compressed(self) -> bool:
        """Whether the frame was delta-compressed."""
        return bool(self.frame_type & 0x80)

    @property
    def n_samples(self) -> int:
        """Number of samples in the frame."""
        return int(self.raw.shape[0])


def parse_header(data: bytes) -> tuple[MeasurementType | int, int, int]:
    """Return (measurement, timestamp_ns, frame_type) of a PMD Data notification.

    Raises:
        DecodeError: fewer than 10 bytes.
    """
    if len(data) < HEADER_SIZE:
        raise DecodeError(data, f"PMD data frame needs a {HEADER_SIZE}-byte header")
    code = data[0] & 0x3F
    measurement = _MEASUREMENTS.get(code, code)
    return measurement, int.from_bytes(data[1:9], "little"), data[9]


def _int_le(chunk: npt.NDArray[np.uint8], width: int, signed: bool) -> npt.NDArray[np.int64]:
    """Little-endian integers of ``width`` bytes from the rows of ``chunk`` (n, width)."""
    acc = np.zeros(chunk.shape[0], dtype=np.int64)
    for b in range(width):  # at most 4 byte columns, not a per-sample loop
        acc |= chunk[:, b].astype(np.int64) << (8 * b)
    if signed:
        sign = np.int64(1) << (8 * width - 1)
        acc = (acc ^ sign) - sign
    return acc


def _unpack_records(
    data: bytes, layout: Layout, strict: bool
) -> tuple[npt.NDArray[np.int64], bool]:
    """Decode an uncompressed payload; returns (raw, truncated)."""
    n_ch = len(layout.channels)
    size = layout.value_bytes * n_ch if layout.kind == "int" else _RECORD_BYTES[layout.kind]
    payload_len = len(data) - HEADER_SIZE
    n, rest = divmod(payload_len, size)
    if rest and strict:
        raise DecodeError(
            data, f"payload of {payload_len} bytes is not a whole number of {size}-byte samples"
        )
    if n == 0:
        raise DecodeError(data, "PMD data frame carries no complete sample")
    if layout.kind == "int" and layout.value_bytes in (1, 2, 4):
        native = np.frombuffer(
            data, dtype=f"<i{layout.value_bytes}", count=n * n_ch, offset=HEADER_SIZE
        )
        return native.reshape(n, n_ch).astype(np.int64), bool(rest)
    rows = np.frombuffer(data, dtype=np.uint8, count=n * size, offset=HEADER_SIZE).reshape(n, size)
    if layout.kind == "int":
        w = layout.value_bytes
        cols = [_int_le(rows[:, c * w : (c + 1) * w], w, True) for c in range(n_ch)]
    elif layout.kind == "ppi":
        flags = rows[:, 5].astype(np.int64)
        cols = [
            rows[:, 0].astype(np.int64),
            _int_le(rows[:, 1:3], 2, False),
            _int_le(rows[:, 3:5], 2, False),
            flags & 1,
            (flags >> 1) & 1,
            (flags >> 2) & 1,
        ]
    elif layout.kind == "ecg1":
        status = rows[:, 2].astype(np.int64)
        cols = [_int_le(rows[:, :2], 2, False) & 0x3FFF, status & 1, (status >> 1) & 3]
        cols.append((status >> 3) & 3)
    elif layout.kind == "ecg2":
        v = _int_le(rows, 3, False)
        cols = [v & 0x3FFFF, (v >> 18) & 7, (v >> 21) & 7]
    else:  # ecg3
        cols = [_int_le(rows[:, 0:3], 3, True), _int_le(rows[:, 3:6], 3, True)]
        cols.append(rows[:, 6].astype(np.int64))
    return np.stack(cols, axis=1), bool(rest)


def to_values(raw: npt.NDArray[np.int64], layout: Layout, factor: float) -> npt.NDArray[np.float64]:
    """Convert raw samples to ``layout.unit`` (see the module table)."""
    if layout.is_float:
        # Corrupt bit patterns may be signalling NaNs; keep them as NaN without a warning.
        with np.errstate(invalid="ignore"):
            values = raw.astype(np.uint32).view(np.float32).astype(np.float64)
    elif layout.scaled == raw.shape[1]:
        return np.multiply(raw, factor * layout.si_scale, dtype=np.float64)
    else:
        values = raw.astype(np.float64)
    if layout.scaled:
        values[:, : layout.scaled] *= factor * layout.si_scale
    return values


def parse_frame(
    data: bytes | bytearray | memoryview,
    *,
    factor: float | None = None,
    previous_timestamp_ns: int | None = None,
    rate_hz: float | None = None,
    resolution_bits: int | None = None,
    channels: int | None = None,
    strict: bool = True,
) -> PmdFrame:
    """Decode one PMD Data notification.

    Args:
        data: the notification value.
        factor: FACTOR from the START response; None means 1.0.
        previous_timestamp_ns: timestamp of the previous frame of the same measurement and frame
            type; None (or 0) for the first frame.
        rate_hz: nominal sample rate, used when there is no usable previous timestamp.
        resolution_bits, channels: settings overriding the defaults of delta frames.
        strict: reject payloads that end inside a sample or delta block (MTU truncation).
            ``strict=False`` keeps the complete samples and sets ``truncated``.

    Raises:
        DecodeError: short header, unsupported frame type, malformed or truncated payload, a
            first sample that would fall before the sensor epoch, or a previous timestamp that
            is not before this frame's (duplicate or out of order) when no rate is given.
        ValueError: ``resolution_bits`` or ``channels`` out of range.
    """
    raw_bytes = bytes(data)
    measurement, timestamp_ns, frame_type = parse_header(raw_bytes)
    layout = layout_for(measurement, frame_type, resolution_bits=resolution_bits, channels=channels)
    if layout is None:
        raise DecodeError(
            raw_bytes,
            f"unsupported PMD frame: measurement {int(measurement)} frame type 0x{frame_type:02x}"
            " (store it raw, or pass resolution_bits and channels for a compressed type)",
        )
    if layout.kind == "delta":
        n_ch = len(layout.channels)
        raw, complete = decode_delta(
            raw_bytes,
            n_ch,
            layout.resolution_bits,
            offset=HEADER_SIZE,
            is_float=layout.is_float,
            strict=strict,
        )
        truncated = not complete
    else:
        raw, truncated = _unpack_records(raw_bytes, layout, strict)
    fac = 1.0 if factor is None else float(factor)
    stamps = None
    # PPI samples have no sample time (the frame stamp is 0 on current devices).
    if (previous_timestamp_ns or rate_hz) and layout.kind != "ppi":
        stamps = sample_timestamps_ns(
            timestamp_ns,
            raw.shape[0],
            previous_timestamp_ns=previous_timestamp_ns,
            rate_hz=rate_hz,
            data=raw_bytes,
        )
    return PmdFrame(
        measurement=measurement,
        frame_type=frame_type,
        timestamp_ns=timestamp_ns,
        channels=layout.channels,
        raw=raw,
        values=to_values(raw, layout, fac),
        unit=layout.unit,
        factor=fac,
        sample_timestamps_ns=stamps,
        truncated=truncated,
    )
