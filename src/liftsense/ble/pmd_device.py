"""Polar PMD control point, device side: what a (virtual) Polar sensor reads and answers.

The client side, the shared enums and the settings TLV live in :mod:`liftsense.ble.pmd_control`;
everything is re-exported by :mod:`liftsense.ble.pmd`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from liftsense.ble.codes import enum_or_int
from liftsense.ble.pmd_control import (
    FEATURE_READ_CODE,
    MEASUREMENT_STOPPED_CODE,
    OFFLINE_BIT,
    RESPONSE_CODE,
    OpCode,
    Settings,
    SettingType,
    SettingValue,
    Status,
    encode_settings,
    measurement_of,
    parse_settings,
    type_byte,
)
from liftsense.ble.pmd_frames import MeasurementType
from liftsense.errors import DecodeError

__all__ = [
    "CpRequest",
    "encode_features",
    "encode_measurement_stopped",
    "encode_response",
    "parse_request",
]


@dataclass(frozen=True, slots=True)
class CpRequest:
    """A control point request as a device receives it."""

    op: OpCode | int
    measurement: MeasurementType | int
    offline: bool
    parameters: bytes
    settings: Settings


def parse_request(data: bytes) -> CpRequest:
    """Decode a CP write. Answer a DecodeError with :attr:`Status.INVALID_LENGTH` or
    :attr:`Status.INVALID_PARAMETER`.

    Raises:
        DecodeError: fewer than 2 bytes, or settings that are not a valid TLV.
    """
    raw = bytes(data)
    if len(raw) < 2:
        raise DecodeError(raw, "PMD control point request needs an op code and a type byte")
    op = enum_or_int(OpCode, raw[0])
    params = raw[2:]
    settings: Settings = {}
    if op == OpCode.REQUEST_MEASUREMENT_START:
        try:
            settings = parse_settings(params)
        except DecodeError as exc:
            raise DecodeError(raw, f"start request settings: {exc.reason}") from None
    return CpRequest(
        op=op,
        measurement=measurement_of(raw[1] & 0x3F),
        offline=bool(raw[1] & OFFLINE_BIT),
        parameters=params,
        settings=settings,
    )


def encode_response(
    op: OpCode | int,
    measurement: MeasurementType | int,
    status: Status | int = Status.SUCCESS,
    *,
    settings: Mapping[SettingType | int, SettingValue | Sequence[SettingValue]] | None = None,
    parameters: bytes = b"",
    more: bool = False,
    offline: bool = False,
) -> bytes:
    """Encode a CP response ``F0 op type status more params``.

    ``settings`` (e.g. the GET_MEASUREMENT_SETTINGS lists, or ``{FACTOR: 2.44e-4}`` for START)
    is TLV-encoded after any raw ``parameters``.
    """
    head = bytes([RESPONSE_CODE, int(op), type_byte(measurement, offline), int(status), int(more)])
    return head + parameters + encode_settings(settings or {})


def encode_features(measurements: Iterable[MeasurementType | int]) -> bytes:
    """Encode the feature-read value (17 bytes: 0x0F then a 16-byte bitmap)."""
    bits = 0
    for m in measurements:
        if not 0 <= int(m) < 16:
            raise ValueError(f"measurement type {int(m)} has no feature bit")
        bits |= 1 << int(m)
    return bytes([FEATURE_READ_CODE]) + bits.to_bytes(16, "little")


def encode_measurement_stopped(measurements: Iterable[MeasurementType | int]) -> bytes:
    """Encode ONLINE_MEASUREMENT_STOPPED (``01 [types…]``) for the given streams."""
    return bytes([MEASUREMENT_STOPPED_CODE, *(int(m) & 0x3F for m in measurements)])
