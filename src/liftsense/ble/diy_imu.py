"""LiftSense open IMU packet format, version 1: decode and encode, no I/O.

The full specification (for firmware authors) is ``firmware_notes/liftsense_imu.md``. In short,
one GATT service with three characteristics, all little-endian:

* data (notify): a 26-byte header then ``n x channels`` int16 samples::

      version u8 | flags u8 | seq u16 | t0_us u64 | period_ns u32 | n u8 | channels u8 |
      acc_scale f32 (m/s² per count) | gyro_scale f32 (rad/s per count) | samples …

  ``t0_us`` is the device's monotonic clock at the FIRST sample; sample i is at
  ``t0_us * 1000 + i * period_ns``. ``channels`` is 3 (ax, ay, az) or 6 (…, gx, gy, gz).
  ``seq`` counts packets and wraps at 65536, so the host can count lost notifications.
* config (read/write, 8 bytes): ``version u8 | flags u8 (b0 streaming, b1 gyro) | rate_hz u16 |
  acc_range_g u8 | gyro_range_dps u16 | samples_per_packet u8 (0 = as many as fit)``.
* info (read): UTF-8 JSON object (IMU part, firmware, supported rates and ranges).

Every packet's length is checked against its header: a notification cut by a small ATT MTU
raises :class:`~liftsense.errors.DecodeError` rather than yielding short data.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from liftsense.errors import DecodeError

__all__ = [
    "CHANNEL_NAMES",
    "CONFIG_UUID",
    "DATA_UUID",
    "FLAG_CLOCK_RESET",
    "FLAG_FIFO_OVERFLOW",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "INFO_UUID",
    "SERVICE_UUID",
    "ImuConfig",
    "ImuPacket",
    "encode_config",
    "encode_info",
    "encode_packet",
    "lost_packets",
    "max_samples",
    "parse_config",
    "parse_info",
    "parse_packet",
]

_BASE = "4c53{:04x}-0c9e-4217-b477-0147621df379"
SERVICE_UUID = _BASE.format(0x0001)
DATA_UUID = _BASE.format(0x0002)  # notify
CONFIG_UUID = _BASE.format(0x0003)  # read, write
INFO_UUID = _BASE.format(0x0004)  # read

FORMAT_VERSION = 1
#: Samples were dropped on the device (its FIFO overflowed) before this packet.
FLAG_FIFO_OVERFLOW = 0x01
#: The device clock restarted (reboot) since the previous packet: re-align the clock.
FLAG_CLOCK_RESET = 0x02

_HEADER = struct.Struct("<BBHQIBBff")
HEADER_SIZE = _HEADER.size  # 26
CHANNEL_NAMES = ("ax", "ay", "az", "gx", "gy", "gz")
_CONFIG = struct.Struct("<BBHBHB")
_CONFIG_STREAMING = 0x01
_CONFIG_GYRO = 0x02


def max_samples(mtu: int, channels: int) -> int:
    """Samples per notification that fit an ATT MTU (payload = MTU - 3), capped at 255."""
    return max(0, min(255, (mtu - 3 - HEADER_SIZE) // (2 * channels)))


@dataclass(frozen=True, eq=False, slots=True)
class ImuPacket:
    """One decoded data notification.

    Attributes:
        seq: packet counter (u16, wraps).
        flags: FLAG_* bits.
        t0_us: device monotonic time of the first sample, µs.
        period_ns: nominal sample period, ns.
        channels: column names (``ax..az`` and optionally ``gx..gz``).
        raw: (n, channels) int16 counts as sent.
        values: (n, channels) float64: acceleration in m/s², angular rate in rad/s.
        sample_timestamps_ns: (n,) int64 device time of each sample, ns.
        acc_scale: m/s² per count; gyro_scale: rad/s per count (0 without gyro).
    """

    seq: int
    flags: int
    t0_us: int
    period_ns: int
    channels: tuple[str, ...]
    raw: npt.NDArray[np.int16]
    values: npt.NDArray[np.float64]
    sample_timestamps_ns: npt.NDArray[np.int64]
    acc_scale: float
    gyro_scale: float

    @property
    def n_samples(self) -> int:
        """Number of samples in the packet."""
        return int(self.raw.shape[0])

    @property
    def next_t0_us(self) -> float:
        """Where the next packet's first sample should be if nothing was lost, µs."""
        return self.t0_us + self.n_samples * self.period_ns / 1000


def parse_packet(data: bytes | bytearray | memoryview) -> ImuPacket:
    """Decode a data notification.

    Raises:
        DecodeError: unknown version, bad channel count, zero period, or a length that does not
            match the header (typically MTU truncation: request an ATT MTU of 247).
    """
    raw_bytes = bytes(data)
    if len(raw_bytes) < HEADER_SIZE:
        raise DecodeError(raw_bytes, f"IMU packet shorter than its {HEADER_SIZE}-byte header")
    version, flags, seq, t0_us, period_ns, n, n_ch, acc_scale, gyro_scale = _HEADER.unpack_from(
        raw_bytes
    )
    if version != FORMAT_VERSION:
        raise DecodeError(raw_bytes, f"IMU packet format version {version} is not supported (1)")
    if n_ch not in (3, 6):
        raise DecodeError(raw_bytes, f"IMU packet announces {n_ch} channels; 3 or 6 expected")
    if period_ns == 0:
        raise DecodeError(raw_bytes, "IMU packet has a zero sample period")
    if not (math.isfinite(acc_scale) and math.isfinite(gyro_scale)):
        raise DecodeError(raw_bytes, "IMU packet scale is not a finite number")
    expected = HEADER_SIZE + 2 * n * n_ch
    if len(raw_bytes) != expected:
        raise DecodeError(
            raw_bytes,
            f"IMU packet is {len(raw_bytes)} bytes but its header announces {n} samples x "
            f"{n_ch} channels = {expected} bytes (truncated by a small ATT MTU? request 247)",
        )
    samples = np.frombuffer(raw_bytes, dtype="<i2", offset=HEADER_SIZE).reshape(n, n_ch)
    values = samples.astype(np.float64)
    values[:, :3] *= acc_scale
    values[:, 3:] *= gyro_scale
    start_ns = t0_us * 1000
    if start_ns + n * period_ns >= 1 << 63:
        raise DecodeError(raw_bytes, "IMU packet time does not fit in int64 ns")
    stamps = start_ns + np.arange(n, dtype=np.int64) * period_ns
    return ImuPacket(
        seq=seq,
        flags=flags,
        t0_us=t0_us,
        period_ns=period_ns,
        channels=CHANNEL_NAMES[:n_ch],
        raw=samples.astype(np.int16),
        values=values,
        sample_timestamps_ns=stamps,
        acc_scale=float(acc_scale),
        gyro_scale=float(gyro_scale),
    )


def encode_packet(
    raw: npt.ArrayLike,
    *,
    seq: int,
    t0_us: int,
    period_ns: int,
    acc_scale: float,
    gyro_scale: float = 0.0,
    flags: int = 0,
) -> bytes:
    """Encode a data notification; the inverse of :func:`parse_packet`.

    Args:
        raw: (n, 3) or (n, 6) int16 counts (ax, ay, az[, gx, gy, gz]), n <= 255.
        seq: packet counter; taken modulo 65536.
        t0_us: device time of the first sample, µs (u64).
        period_ns: nominal sample period, ns (1..2**32-1).
        acc_scale, gyro_scale: m/s² and rad/s per count.
        flags: FLAG_* bits.

    Raises:
        ValueError: shape, counts or fields out of range.
    """
    arr = np.asarray(raw)
    if arr.ndim != 2 or arr.shape[1] not in (3, 6) or not 0 <= arr.shape[0] <= 255:
        raise ValueError(f"raw must be (n <= 255, 3 or 6), got {arr.shape}")
    if arr.size and (arr.min() < -32768 or arr.max() > 32767):
        raise ValueError("IMU samples must fit in int16")
    if not 0 < period_ns < 1 << 32 or not 0 <= t0_us < 1 << 64 or not 0 <= flags <= 0xFF:
        raise ValueError("period_ns, t0_us or flags out of range")
    head = _HEADER.pack(
        FORMAT_VERSION,
        flags,
        seq & 0xFFFF,
        t0_us,
        period_ns,
        arr.shape[0],
        arr.shape[1],
        acc_scale,
        gyro_scale,
    )
    return head + arr.astype("<i2").tobytes()


def lost_packets(previous_seq: int, seq: int) -> int:
    """Packets lost between two received sequence numbers (u16, wrap-aware).

    Returns 0 for consecutive packets, k when k packets are missing, and -1 for a duplicate or
    a packet that arrives late (up to 32768 behind), which the caller should drop.
    """
    step = (seq - previous_seq) & 0xFFFF
    if step == 0 or step > 0x8000:
        return -1
    return step - 1


@dataclass(frozen=True, slots=True)
class ImuConfig:
    """The config characteristic: what the sensor should stream.

    ``samples_per_packet`` 0 lets the device fill each notification for the negotiated MTU.
    """

    rate_hz: int = 200
    acc_range_g: int = 8
    gyro_range_dps: int = 2000
    gyro_enabled: bool = True
    streaming: bool = False
    samples_per_packet: int = 0


def encode_config(config: ImuConfig) -> bytes:
    """Encode the 8-byte config value. Raises ValueError when a field does not fit."""
    flags = (_CONFIG_STREAMING if config.streaming else 0) | (
        _CONFIG_GYRO if config.gyro_enabled else 0
    )
    try:
        return _CONFIG.pack(
            FORMAT_VERSION,
            flags,
            config.rate_hz,
            config.acc_range_g,
            config.gyro_range_dps,
            config.samples_per_packet,
        )
    except struct.error as exc:
        raise ValueError(f"config {config} does not fit the format: {exc}") from exc


def parse_config(data: bytes | bytearray | memoryview) -> ImuConfig:
    """Decode the config value.

    Raises:
        DecodeError: wrong length, unknown version, or a zero rate or range.
    """
    raw = bytes(data)
    if len(raw) != _CONFIG.size:
        raise DecodeError(raw, f"IMU config must be {_CONFIG.size} bytes")
    version, flags, rate_hz, acc_range_g, gyro_range_dps, per_packet = _CONFIG.unpack(raw)
    if version != FORMAT_VERSION:
        raise DecodeError(raw, f"IMU config version {version} is not supported (1)")
    if rate_hz == 0 or acc_range_g == 0:
        raise DecodeError(raw, "IMU config has a zero sample rate or accelerometer range")
    return ImuConfig(
        rate_hz=rate_hz,
        acc_range_g=acc_range_g,
        gyro_range_dps=gyro_range_dps,
        gyro_enabled=bool(flags & _CONFIG_GYRO),
        streaming=bool(flags & _CONFIG_STREAMING),
        samples_per_packet=per_packet,
    )


def encode_info(info: dict[str, Any]) -> bytes:
    """Encode the info characteristic (compact UTF-8 JSON object)."""
    return json.dumps(info, separators=(",", ":"), sort_keys=True).encode()


def parse_info(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decode the info characteristic.

    Raises:
        DecodeError: not UTF-8 JSON, or not a JSON object.
    """
    raw = bytes(data)
    try:
        info = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd nesting
        raise DecodeError(raw, f"IMU info is not UTF-8 JSON: {exc}") from exc
    if not isinstance(info, dict):
        raise DecodeError(raw, "IMU info must be a JSON object")
    return info
