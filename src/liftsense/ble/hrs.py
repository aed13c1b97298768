"""Bluetooth SIG Heart Rate Service (0x180D): decode and encode, no I/O.

Heart Rate Measurement (0x2A37) layout, little-endian::

    [flags u8][HR u8 | u16][Energy Expended u16]?[RR u16]*

Flags: bit 0 HR is uint16, bits 1-2 sensor contact (a 2-bit field: 0/1 = not supported,
2 = supported but no contact, 3 = contact), bit 3 energy present (kJ), bit 4 RR present (units of
1/1024 s, oldest first), bits 5-7 reserved and ignored. Packets carry no timestamp: the caller
back-fills beat times from the receive time.

The decoder is lenient where real sensors are sloppy (RR flag set with no RR bytes, one dangling
byte after the last RR) and strict where the packet is shorter than its flags require. Leniencies
are reported in :attr:`HeartRateMeasurement.anomaly`, never silently hidden.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from liftsense.ble.codes import enum_or_int
from liftsense.errors import DecodeError

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "BODY_SENSOR_LOCATION_UUID",
    "DEVICE_INFORMATION_SERVICE_UUID",
    "FIRMWARE_REVISION_UUID",
    "HEART_RATE_CONTROL_POINT_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_UUID",
    "MANUFACTURER_NAME_UUID",
    "MODEL_NUMBER_UUID",
    "RESET_ENERGY_EXPENDED",
    "SERIAL_NUMBER_UUID",
    "BodySensorLocation",
    "HeartRateMeasurement",
    "encode",
    "encode_battery_level",
    "encode_body_sensor_location",
    "parse",
    "parse_battery_level",
    "parse_body_sensor_location",
    "rr_1024_to_ms",
    "uuid16",
]


def uuid16(short: int) -> str:
    """The 128-bit string form of a 16-bit SIG UUID (lower case, as bleak reports it)."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


HEART_RATE_SERVICE_UUID = uuid16(0x180D)
HEART_RATE_MEASUREMENT_UUID = uuid16(0x2A37)  # notify only
BODY_SENSOR_LOCATION_UUID = uuid16(0x2A38)  # read, uint8
HEART_RATE_CONTROL_POINT_UUID = uuid16(0x2A39)  # write; only when energy is supported
BATTERY_SERVICE_UUID = uuid16(0x180F)
BATTERY_LEVEL_UUID = uuid16(0x2A19)  # read (+ optional notify), uint8 percent
DEVICE_INFORMATION_SERVICE_UUID = uuid16(0x180A)
MANUFACTURER_NAME_UUID = uuid16(0x2A29)
MODEL_NUMBER_UUID = uuid16(0x2A24)
SERIAL_NUMBER_UUID = uuid16(0x2A25)
FIRMWARE_REVISION_UUID = uuid16(0x2A26)

#: Heart Rate Control Point value that resets the accumulated energy; any other value is
#: rejected by the sensor with ATT error 0x80.
RESET_ENERGY_EXPENDED = bytes([0x01])

_FLAG_UINT16 = 0x01
_FLAG_CONTACT_STATUS = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10


class BodySensorLocation(enum.IntEnum):
    """Body Sensor Location (0x2A38) values."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


def rr_1024_to_ms(rr_1024: int) -> float:
    """Convert an RR interval in 1/1024 s to ms; exact in binary floating point."""
    return rr_1024 * 1000 / 1024


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    Attributes:
        bpm: heart rate in beats per minute as sent (0 is common when the signal is lost; no
            range check is applied here).
        contact: True/False when the sensor supports contact detection, None when it does not.
        energy_kj: accumulated energy expended in kJ, None when absent (saturates at 65535).
        rr_1024: RR intervals in units of 1/1024 s, oldest first; empty when none were sent.
        rr_ms: the same intervals in ms (exact conversion).
        flags: the flags byte as received, reserved bits included.
        anomaly: "" for a well-formed packet, else what was tolerated (for logging).
    """

    bpm: int
    contact: bool | None
    energy_kj: int | None
    rr_1024: tuple[int, ...]
    rr_ms: tuple[float, ...]
    flags: int
    anomaly: str = ""

    @property
    def contact_supported(self) -> bool:
        """Whether the sensor reports skin contact at all (an H10 typically does not)."""
        return self.contact is not None


def parse(data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) value.

    Raises:
        DecodeError: the packet is empty or shorter than its flags require.
    """
    raw = bytes(data)
    size = len(raw)
    if size < 2:
        raise DecodeError(raw, "heart rate measurement needs at least 2 bytes (flags + HR)")
    flags = raw[0]
    pos = 1
    if flags & _FLAG_UINT16:
        if size < 3:
            raise DecodeError(raw, "flags announce a uint16 heart rate but the packet ends")
        bpm = raw[1] | raw[2] << 8
        pos = 3
    else:
        bpm = raw[1]
        pos = 2
    contact = bool(flags & _FLAG_CONTACT_STATUS) if flags & _FLAG_CONTACT_SUPPORTED else None
    energy_kj: int | None = None
    if flags & _FLAG_ENERGY:
        if size < pos + 2:
            raise DecodeError(raw, "flags announce energy expended but the packet ends")
        energy_kj = raw[pos] | raw[pos + 1] << 8
        pos += 2
    anomaly = ""
    rr: tuple[int, ...] = ()
    if flags & _FLAG_RR:
        n_rr = (size - pos) // 2
        if n_rr == 0 and size == pos:
            anomaly = "RR flag set but no RR values"
        rr = tuple(raw[pos + 2 * i] | raw[pos + 2 * i + 1] << 8 for i in range(n_rr))
        if (size - pos) % 2:
            # Never turn a dangling byte into an RR value; flag the packet instead.
            anomaly = "odd trailing byte after the RR values ignored"
    elif size > pos:
        anomaly = f"{size - pos} trailing byte(s) ignored"
    return HeartRateMeasurement(
        bpm=bpm,
        contact=contact,
        energy_kj=energy_kj,
        rr_1024=rr,
        rr_ms=tuple(rr_1024_to_ms(v) for v in rr),
        flags=flags,
        anomaly=anomaly,
    )


def encode(
    bpm: int,
    *,
    contact: bool | None = None,
    energy_kj: int | None = None,
    rr_1024: Sequence[int] = (),
    uint16: bool = False,
) -> bytes:
    """Encode a Heart Rate Measurement (0x2A37) value; the inverse of :func:`parse`.

    Args:
        bpm: heart rate; sent as uint8 unless ``uint16`` is set or it exceeds 255.
        contact: None = contact detection not supported; True/False = supported and
            (not) in contact.
        energy_kj: accumulated energy in kJ (0..65535), None to omit the field.
        rr_1024: RR intervals in 1/1024 s (each 0..65535), oldest first; omitted when empty.
        uint16: force the uint16 HR format.

    Raises:
        ValueError: a field is out of its range. (The caller is the emulator, not a sensor.)
    """
    wide = uint16 or bpm > 0xFF
    if not 0 <= bpm <= 0xFFFF:
        raise ValueError(f"bpm {bpm} is outside 0..65535")
    flags = _FLAG_UINT16 if wide else 0
    if contact is not None:
        flags |= _FLAG_CONTACT_SUPPORTED | (_FLAG_CONTACT_STATUS if contact else 0)
    out = bytearray([0])
    out += bpm.to_bytes(2 if wide else 1, "little")
    if energy_kj is not None:
        if not 0 <= energy_kj <= 0xFFFF:
            raise ValueError(f"energy_kj {energy_kj} is outside 0..65535")
        flags |= _FLAG_ENERGY
        out += energy_kj.to_bytes(2, "little")
    if rr_1024:
        flags |= _FLAG_RR
        for value in rr_1024:
            if not 0 <= value <= 0xFFFF:
                raise ValueError(f"RR value {value} (1/1024 s) is outside 0..65535")
            out += int(value).to_bytes(2, "little")
    out[0] = flags
    return bytes(out)


def parse_battery_level(data: bytes | bytearray | memoryview) -> int:
    """Decode Battery Level (0x2A19): percent 0-100.

    Raises:
        DecodeError: not exactly one byte, or a value above 100.
    """
    raw = bytes(data)
    if len(raw) != 1:
        raise DecodeError(raw, "battery level must be exactly 1 byte")
    if raw[0] > 100:
        raise DecodeError(raw, f"battery level {raw[0]} % is above 100 %")
    return raw[0]


def encode_battery_level(percent: int) -> bytes:
    """Encode Battery Level (0x2A19). Raises ValueError outside 0..100."""
    if not 0 <= percent <= 100:
        raise ValueError(f"battery level {percent} % is outside 0..100")
    return bytes([percent])


def parse_body_sensor_location(data: bytes | bytearray | memoryview) -> BodySensorLocation | int:
    """Decode Body Sensor Location (0x2A38).

    Returns the enum member, or the plain int for values the SIG reserves (7..255).

    Raises:
        DecodeError: not exactly one byte.
    """
    raw = bytes(data)
    if len(raw) != 1:
        raise DecodeError(raw, "body sensor location must be exactly 1 byte")
    return enum_or_int(BodySensorLocation, raw[0])


def encode_body_sensor_location(location: BodySensorLocation | int) -> bytes:
    """Encode Body Sensor Location (0x2A38). Raises ValueError outside 0..255."""
    value = int(location)
    if not 0 <= value <= 0xFF:
        raise ValueError(f"body sensor location {value} is outside 0..255")
    return bytes([value])
