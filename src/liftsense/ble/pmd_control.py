"""Polar PMD control point, both sides: client requests and response parsing, and the device's
answers (for a virtual Polar sensor). Pure functions, no I/O; see :mod:`liftsense.ble.pmd`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from liftsense.ble.codes import enum_or_int
from liftsense.ble.pmd_frames import MeasurementType
from liftsense.errors import DecodeError

__all__ = [
    "MIN_MTU",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "SETTING_SIZES",
    "CpResponse",
    "MeasurementStopped",
    "OpCode",
    "SettingType",
    "SettingValue",
    "Settings",
    "Status",
    "encode_settings",
    "get_settings_request",
    "merge_responses",
    "parse_cp_indication",
    "parse_features",
    "parse_response",
    "parse_settings",
    "start_request",
    "stop_request",
]

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"  # read, write, indicate
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"  # notify
#: Smallest ATT MTU for full frames (H10 ECG: 73 samples x 3 B + 10 B header + 3 B ATT header).
MIN_MTU = 232

#: First byte of the feature read, of a response, of ONLINE_MEASUREMENT_STOPPED; type-byte bit 7.
FEATURE_READ_CODE = 0x0F
RESPONSE_CODE = 0xF0
MEASUREMENT_STOPPED_CODE = 0x01
OFFLINE_BIT = 0x80


class OpCode(enum.IntEnum):
    """Control point request op codes (client to device)."""

    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 7
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 8
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 9


class Status(enum.IntEnum):
    """Control point response status codes."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


_STATUS_HINTS = {
    Status.ALREADY_IN_STATE: "the stream is already running (e.g. kept alive across a reconnect)",
    Status.INVALID_MTU: f"negotiate an ATT MTU of at least {MIN_MTU} before starting",
    Status.NOT_SUPPORTED: "the device does not offer this measurement; check the feature read",
    Status.INVALID_SAMPLE_RATE: "ask GET_MEASUREMENT_SETTINGS for the rates it accepts",
    Status.INVALID_RANGE: "ask GET_MEASUREMENT_SETTINGS for the ranges it accepts",
    Status.INVALID_RESOLUTION: "ask GET_MEASUREMENT_SETTINGS for the resolution it accepts",
    Status.DEVICE_IN_CHARGER: "take the sensor off the charger",
    Status.INVALID_STATE: "stop other streams or leave SDK mode first",
}


class SettingType(enum.IntEnum):
    """Settings TLV types."""

    SAMPLE_RATE = 0  # Hz, u16
    RESOLUTION = 1  # bits, u16
    RANGE = 2  # ± G / dps / Gauss, u16
    RANGE_MILLIUNIT = 3  # i32
    CHANNELS = 4  # u8
    FACTOR = 5  # float32
    SECURITY = 6  # 16-byte key


#: Bytes per value of each setting type.
SETTING_SIZES: dict[int, int] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}
_SETTING_FORMATS = {0: "<H", 1: "<H", 2: "<H", 3: "<i", 4: "<B", 5: "<f"}

SettingValue = int | float | bytes
#: Decoded settings: every value list of the TLV, keyed by setting type.
Settings = dict[SettingType, tuple[SettingValue, ...]]


def measurement_of(code: int) -> MeasurementType | int:
    """The MeasurementType for a type code, or the plain int for unknown codes."""
    return enum_or_int(MeasurementType, code)


def parse_settings(data: bytes, *, strict: bool = True) -> Settings:
    """Decode a settings TLV blob.

    With ``strict=False`` parsing stops quietly at the first incomplete or unknown entry
    (devices append "reserved" bytes); otherwise that raises.

    Raises:
        DecodeError: (strict) an unknown setting type or a TLV cut short.
    """
    out: Settings = {}
    pos = 0
    while pos < len(data):
        kind = data[pos]
        size = SETTING_SIZES.get(kind)
        if size is None or pos + 2 > len(data):
            if strict:
                raise DecodeError(data, f"unknown or cut-short setting type {kind} at byte {pos}")
            break
        count = data[pos + 1]
        end = pos + 2 + count * size
        if end > len(data):
            if strict:
                raise DecodeError(data, f"setting {kind} announces {count} values past the end")
            break
        chunk = data[pos + 2 : end]
        if kind == SettingType.SECURITY:
            values: tuple[SettingValue, ...] = tuple(
                chunk[i * size : (i + 1) * size] for i in range(count)
            )
        else:
            fmt = _SETTING_FORMATS[kind]
            values = tuple(struct.unpack_from(fmt, chunk, i * size)[0] for i in range(count))
        out[SettingType(kind)] = out.get(SettingType(kind), ()) + values
        pos = end
    return out


def encode_settings(
    settings: Mapping[SettingType | int, SettingValue | Sequence[SettingValue]],
) -> bytes:
    """Encode settings as TLV, in mapping order. A single value is sent with count 1.

    Raises:
        ValueError: unknown setting type or a value that does not fit its field.
    """
    out = bytearray()
    for kind, raw in settings.items():
        k = int(kind)
        if k not in SETTING_SIZES:
            raise ValueError(f"unknown setting type {k}")
        values = [raw] if isinstance(raw, (int, float, bytes)) else list(raw)
        out += bytes([k, len(values)])
        for v in values:
            if k == SettingType.SECURITY:
                if not isinstance(v, bytes) or len(v) != 16:
                    raise ValueError("SECURITY values are 16-byte keys")
                out += v
            else:
                try:
                    out += struct.pack(_SETTING_FORMATS[k], v if k == 5 else int(v))
                except (struct.error, TypeError) as exc:
                    raise ValueError(f"setting {SettingType(k).name} value {v!r}: {exc}") from exc
    return bytes(out)


# --- client side -----------------------------------------------------------------------------


def type_byte(measurement: MeasurementType | int, offline: bool) -> int:
    """The CP type byte: measurement type, bit 7 set for offline recording."""
    return (int(measurement) & 0x3F) | (OFFLINE_BIT if offline else 0)


def get_settings_request(
    measurement: MeasurementType | int, *, sdk_mode: bool = False, offline: bool = False
) -> bytes:
    """GET_MEASUREMENT_SETTINGS (or the SDK-mode capability list) for one measurement."""
    op = OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS if sdk_mode else OpCode.GET_MEASUREMENT_SETTINGS
    return bytes([op, type_byte(measurement, offline)])


def start_request(
    measurement: MeasurementType | int,
    settings: Mapping[SettingType | int, SettingValue] | None = None,
    *,
    offline: bool = False,
) -> bytes:
    """REQUEST_MEASUREMENT_START with one value per setting (PPI and SDK mode take none).

    Example: ``start_request(MeasurementType.ACC, {SettingType.SAMPLE_RATE: 200,
    SettingType.RESOLUTION: 16, SettingType.RANGE: 8})`` (8 G: 2 G clips during lifts).
    """
    body = encode_settings(settings or {})
    return bytes([OpCode.REQUEST_MEASUREMENT_START, type_byte(measurement, offline)]) + body


def stop_request(measurement: MeasurementType | int, *, offline: bool = False) -> bytes:
    """STOP_MEASUREMENT (type byte only). Send it on exit: an H10 otherwise keeps streaming."""
    return bytes([OpCode.STOP_MEASUREMENT, type_byte(measurement, offline)])


def parse_features(data: bytes) -> frozenset[MeasurementType | int]:
    """Decode the feature read of the CP: the measurement types the device offers.

    Raises:
        DecodeError: not a feature-read value (first byte 0x0F, at least 2 bytes).
    """
    raw = bytes(data)
    if len(raw) < 2 or raw[0] != FEATURE_READ_CODE:
        raise DecodeError(raw, "not a PMD feature read (expected 0x0F and a bitmap)")
    bits = int.from_bytes(raw[1:3], "little")
    return frozenset(measurement_of(i) for i in range(16) if bits >> i & 1 and i != 4)


@dataclass(frozen=True, slots=True)
class CpResponse:
    """A control point response indication (``F0 …``).

    ``parameters`` holds the bytes after the 5-byte head (merged over ``more`` parts by
    :func:`merge_responses`); ``settings`` is their lenient TLV decoding.
    """

    op: OpCode | int
    measurement: MeasurementType | int
    offline: bool
    status: Status | int
    more: bool
    parameters: bytes
    settings: Settings = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the device reported SUCCESS."""
        return self.status == Status.SUCCESS

    @property
    def error(self) -> str:
        """The status in words with a hint, or "" on success."""
        if self.ok:
            return ""
        status = enum_or_int(Status, self.status)
        if not isinstance(status, Status):
            return f"unknown status {status}"
        hint = _STATUS_HINTS.get(status)
        return f"{status.name} ({int(status)})" + (f": {hint}" if hint else "")

    @property
    def factor(self) -> float:
        """FACTOR from a START response, 1.0 when the device sent none."""
        values = self.settings.get(SettingType.FACTOR)
        return float(values[0]) if values else 1.0


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """Device-initiated ONLINE_MEASUREMENT_STOPPED indication (``01 [types…]``)."""

    measurements: tuple[MeasurementType | int, ...]


def parse_response(data: bytes) -> CpResponse:
    """Decode a CP response indication ``F0 op type status more params…``.

    Parameters are decoded as settings only as far as their length allows (the 2019 H10 answer
    carries one "reserved" byte).

    Raises:
        DecodeError: not an ``F0`` response, or shorter than 4 bytes.
    """
    raw = bytes(data)
    if len(raw) < 4 or raw[0] != RESPONSE_CODE:
        raise DecodeError(raw, "not a PMD control point response (expected F0 op type status)")
    op = enum_or_int(OpCode, raw[1])
    status = enum_or_int(Status, raw[3])
    more = len(raw) > 4 and raw[4] != 0
    params = raw[5:]
    return CpResponse(
        op=op,
        measurement=measurement_of(raw[2] & 0x3F),
        offline=bool(raw[2] & OFFLINE_BIT),
        status=status,
        more=more,
        parameters=params,
        settings=parse_settings(params, strict=False),
    )


def merge_responses(parts: Iterable[CpResponse]) -> CpResponse:
    """Join a response sent in several indications (``more`` set on all but the last).

    Raises:
        DecodeError: no parts, or parts answering different op codes.
    """
    items = list(parts)
    if not items:
        raise DecodeError(b"", "no control point response parts to merge")
    first = items[0]
    if any(p.op != first.op for p in items):
        raise DecodeError(b"".join(p.parameters for p in items), "response parts mix op codes")
    params = b"".join(p.parameters for p in items)
    return CpResponse(
        op=first.op,
        measurement=first.measurement,
        offline=first.offline,
        status=first.status,
        more=items[-1].more,
        parameters=params,
        settings=parse_settings(params, strict=False),
    )


def parse_cp_indication(data: bytes) -> CpResponse | MeasurementStopped:
    """Decode any CP indication: a response or ONLINE_MEASUREMENT_STOPPED.

    Raises:
        DecodeError: neither form.
    """
    raw = bytes(data)
    if raw[:1] == bytes([MEASUREMENT_STOPPED_CODE]):
        return MeasurementStopped(tuple(measurement_of(b & 0x3F) for b in raw[1:]))
    return parse_response(raw)
