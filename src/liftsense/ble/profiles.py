"""Device profiles: recognise a wearable from its advertisement, start and stop its streams, and
turn its notifications into samples.

Pure where it can be: matching works on :class:`Advertisement` (name, service UUIDs) without BLE,
and each profile drives the device through a small :class:`GattPort` (read, write, subscribe),
which the collector implements over bleak and tests implement with fakes.

Profiles (most specific first):

* ``polar``: name prefix "Polar" or the PMD service. HR/RR from the Heart Rate Service, plus PMD:
  enable CP indications and data notifications, feature read, for each wanted measurement get
  its settings, pick the nearest to the wish (H10: ACC 200 Hz / 8 G; Verity Sense: its own
  rates, gyro too; ECG optional) and start it. ``stop`` stops every started stream: an H10
  otherwise streams until its battery is flat.
* ``imu``: the LiftSense open IMU board (:mod:`liftsense.ble.diy_imu`): write its config with
  streaming on (200 Hz, ±8 g, gyro ±2000 deg/s), stop by writing it with streaming off.
* ``hr``: any standard Heart Rate Service (0x180D) strap.

Decoders are stateful per device (factors, previous frame times, duplicates) and return
:class:`Samples` with the device time of each sample where the device sends one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from liftsense.ble import diy_imu, hrs

log = logging.getLogger(__name__)

__all__ = [
    "Advertisement",
    "DeviceProfile",
    "GattPort",
    "HeartRateProfile",
    "ImuBoardProfile",
    "ImuDecoder",
    "Samples",
    "StreamDecoder",
    "StreamSpec",
    "ValueCallback",
    "decode_heart_rate",
    "label_for",
    "match",
    "normalize_uuid",
    "profiles",
]

#: ``(receive_ns, value)``: what a subscription hands on for each notification or indication.
ValueCallback = Callable[[int, bytes], None]

_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


def normalize_uuid(uuid: str | int) -> str:
    """Lower-case 128-bit form of a UUID given as 16/32-bit int, short hex or full string."""
    if isinstance(uuid, int):
        return f"{uuid:08x}{_BASE_UUID_TAIL}"
    text = uuid.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) in (4, 8):
        return f"{int(text, 16):08x}{_BASE_UUID_TAIL}"
    return text


@dataclass(frozen=True)
class Advertisement:
    """What a scan tells about a device: enough to pick a profile, no connection needed.

    ``service_uuids`` may be given in any form :func:`normalize_uuid` accepts.
    """

    name: str
    address: str
    service_uuids: tuple[str, ...] = ()
    rssi_dbm: int | None = None

    @property
    def uuids(self) -> frozenset[str]:
        """The advertised service UUIDs, normalised."""
        return frozenset(normalize_uuid(u) for u in self.service_uuids)


@dataclass(frozen=True)
class StreamSpec:
    """Nominal settings of one started stream: ``range`` in g (acc), deg/s (gyro), µT (mag)."""

    stream: str
    rate_hz: float | None = None
    range: float | None = None


@dataclass(frozen=True, eq=False)
class Samples:
    """Decoded samples of one stream from one notification.

    Attributes:
        stream: ``acc``, ``gyro``, ``mag``, ``hr``, ``rr``, ``ecg``...
        timing: ``"device"`` (``t_device_ns`` holds each sample's device time and
            ``frame_device_ns`` the notification's device time, for clock alignment),
            ``"receive"`` (one sample at the receive time: HR) or ``"beats"`` (RR intervals,
            timed from their sums).
        x, y, z: vector samples (acc m/s², gyro rad/s, mag µT), else None.
        value: scalar samples (hr bpm, rr ms, ecg µV), else None.
        clock_reset: the device clock restarted before this notification (new clock segment).
    """

    stream: str
    timing: str
    t_device_ns: npt.NDArray[np.int64] | None = None
    frame_device_ns: int | None = None
    x: npt.NDArray[np.float64] | None = None
    y: npt.NDArray[np.float64] | None = None
    z: npt.NDArray[np.float64] | None = None
    value: npt.NDArray[np.float64] | None = None
    clock_reset: bool = False

    def __len__(self) -> int:
        col = self.value if self.value is not None else self.x
        return 0 if col is None else int(col.shape[0])


class GattPort(Protocol):
    """The GATT operations a profile needs; UUIDs are normalised 128-bit strings.

    ``subscribe`` without a callback routes values to the collector's data queue (the callback
    there only timestamps); with one (a PMD control point) values go to that callback.
    """

    def has(self, uuid: str) -> bool: ...

    async def read(self, uuid: str) -> bytes: ...

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None: ...

    async def subscribe(self, uuid: str, callback: ValueCallback | None = None) -> None: ...

    async def unsubscribe(self, uuid: str) -> None: ...


class StreamDecoder(Protocol):
    """Per-device decoding state (kept across reconnects so nothing is duplicated)."""

    def decode(self, uuid: str, data: bytes) -> list[Samples]: ...

    def link_lost(self) -> None: ...


class DeviceProfile:
    """Base of the profiles: matching, labels, start/stop sequences, decoder factory."""

    kind: ClassVar[str] = ""
    #: Higher wins when several profiles match one advertisement.
    priority: ClassVar[int] = 0

    def matches(self, adv: Advertisement) -> bool:
        raise NotImplementedError

    def model(self, adv: Advertisement) -> str:
        """A model name from the advertisement (refined by the device information later)."""
        return adv.name or self.kind

    def new_decoder(self) -> StreamDecoder:
        raise NotImplementedError

    async def start(self, port: GattPort, decoder: StreamDecoder) -> tuple[StreamSpec, ...]:
        """Subscribe and start every stream; return what runs. Raises DeviceError."""
        raise NotImplementedError

    async def stop(self, port: GattPort, decoder: StreamDecoder) -> None:
        """Stop every stream started by ``start``; never raises for a vanished device."""
        raise NotImplementedError


# -- standard heart-rate strap -----------------------------------------------------------------


def decode_heart_rate(data: bytes) -> list[Samples]:
    """HR (bpm, at the receive time) and RR (ms, timed from their sums) of one HRM value."""
    m = hrs.parse(data)
    if m.anomaly:
        log.debug("heart rate packet %s: %s", bytes(data).hex(), m.anomaly)
    out = [Samples("hr", "receive", value=np.array([float(m.bpm)]))]
    if m.rr_ms:
        out.append(Samples("rr", "beats", value=np.array(m.rr_ms, dtype=np.float64)))
    return out


class _HeartRateDecoder:
    def decode(self, uuid: str, data: bytes) -> list[Samples]:
        return decode_heart_rate(data) if uuid == hrs.HEART_RATE_MEASUREMENT_UUID else []

    def link_lost(self) -> None:
        pass


class HeartRateProfile(DeviceProfile):
    """Any strap with the standard Heart Rate Service: HR and RR from 0x2A37 notifications."""

    kind = "hr"
    priority = 0

    def matches(self, adv: Advertisement) -> bool:
        return hrs.HEART_RATE_SERVICE_UUID in adv.uuids

    def new_decoder(self) -> StreamDecoder:
        return _HeartRateDecoder()

    async def start(self, port: GattPort, decoder: StreamDecoder) -> tuple[StreamSpec, ...]:
        await port.subscribe(hrs.HEART_RATE_MEASUREMENT_UUID)
        return (StreamSpec("hr"), StreamSpec("rr"))

    async def stop(self, port: GattPort, decoder: StreamDecoder) -> None:
        await _quietly(port.unsubscribe(hrs.HEART_RATE_MEASUREMENT_UUID))


async def _quietly(awaitable: Awaitable[object]) -> None:
    """Await a stop step; a device that has gone away must not abort the others."""
    try:
        await awaitable
    except Exception as exc:  # bleak raises many kinds while disconnecting
        log.debug("stop step failed (device gone?): %s", exc)


# -- LiftSense open IMU board ------------------------------------------------------------------

IMU_SERVICE = normalize_uuid(diy_imu.SERVICE_UUID)
IMU_DATA = normalize_uuid(diy_imu.DATA_UUID)
IMU_CONFIG = normalize_uuid(diy_imu.CONFIG_UUID)
#: A packet starting this far before the last one ended is a clock restart, not a repeat.
_IMU_RESET_NS = 5_000_000_000


class ImuDecoder:
    """Open IMU packets -> acc (and gyro) samples; drops repeated samples, counts lost packets."""

    def __init__(self) -> None:
        self._last_seq: int | None = None
        self._last_t_ns: int | None = None
        self.lost_packets = 0
        self.duplicates = 0

    def link_lost(self) -> None:
        self._last_seq = None  # sequence numbers may have moved on a lot; times still hold

    def decode(self, uuid: str, data: bytes) -> list[Samples]:
        if uuid != IMU_DATA:
            return []
        packet = diy_imu.parse_packet(data)
        reset = bool(packet.flags & diy_imu.FLAG_CLOCK_RESET)
        stamps = packet.sample_timestamps_ns
        last = self._last_t_ns
        if last is not None and not reset and stamps[0] < last - _IMU_RESET_NS:
            reset = True  # the clock went back by far more than any repeat: a restart
        keep = slice(None)
        if last is not None and not reset and stamps[0] <= last:
            first_new = int(np.searchsorted(stamps, last, side="right"))
            self.duplicates += first_new
            keep = slice(first_new, None)
        if self._last_seq is not None and not reset:
            self.lost_packets += max(0, diy_imu.lost_packets(self._last_seq, packet.seq))
        self._last_seq = packet.seq
        stamps = stamps[keep]
        if stamps.size == 0:
            return []
        self._last_t_ns = int(stamps[-1])
        values = packet.values[keep]
        frame_t = int(packet.sample_timestamps_ns[-1])
        out = [_vector("acc", stamps, frame_t, values[:, 0:3], reset)]
        if values.shape[1] == 6:
            out.append(_vector("gyro", stamps, frame_t, values[:, 3:6], reset))
        return out


def _vector(
    stream: str,
    stamps: npt.NDArray[np.int64],
    frame_t: int,
    xyz: npt.NDArray[np.float64],
    reset: bool,
) -> Samples:
    return Samples(
        stream,
        "device",
        stamps,
        frame_t,
        x=xyz[:, 0].copy(),
        y=xyz[:, 1].copy(),
        z=xyz[:, 2].copy(),
        clock_reset=reset,
    )


class ImuBoardProfile(DeviceProfile):
    """The LiftSense open IMU board: acc (+ gyro) in packets with a device clock and a counter."""

    kind = "imu"
    priority = 10

    def __init__(self, config: diy_imu.ImuConfig | None = None) -> None:
        # 10 samples per packet (20 packets/s at 200 Hz): each packet is a (device, receive)
        # timing point, and the clock fit tightens with their number.
        self.config = config or diy_imu.ImuConfig(samples_per_packet=10)

    def matches(self, adv: Advertisement) -> bool:
        return IMU_SERVICE in adv.uuids

    def new_decoder(self) -> StreamDecoder:
        return ImuDecoder()

    async def start(self, port: GattPort, decoder: StreamDecoder) -> tuple[StreamSpec, ...]:
        await port.subscribe(IMU_DATA)
        cfg = self.config
        on = dataclasses.replace(cfg, streaming=True)
        await port.write(IMU_CONFIG, diy_imu.encode_config(on), response=True)
        specs = [StreamSpec("acc", float(cfg.rate_hz), float(cfg.acc_range_g))]
        if cfg.gyro_enabled:
            specs.append(StreamSpec("gyro", float(cfg.rate_hz), float(cfg.gyro_range_dps)))
        return tuple(specs)

    async def stop(self, port: GattPort, decoder: StreamDecoder) -> None:
        off = diy_imu.encode_config(dataclasses.replace(self.config, streaming=False))
        await _quietly(port.write(IMU_CONFIG, off, response=True))
        await _quietly(port.unsubscribe(IMU_DATA))


# -- registry ------------------------------------------------------------------------------------


def profiles() -> tuple[DeviceProfile, ...]:
    """Every known profile, most specific first."""
    from liftsense.ble.polar_profile import PolarProfile

    found: list[DeviceProfile] = [PolarProfile(), ImuBoardProfile(), HeartRateProfile()]
    return tuple(sorted(found, key=lambda p: -p.priority))


def match(
    adv: Advertisement, candidates: Sequence[DeviceProfile] | None = None
) -> DeviceProfile | None:
    """The first of ``candidates`` (default :func:`profiles`, most specific first) that
    recognises the advertisement, or None."""
    for profile in candidates if candidates is not None else profiles():
        if profile.matches(adv):
            return profile
    return None


def label_for(adv: Advertisement, profile: DeviceProfile, taken: Collection[str] = ()) -> str:
    """A short device label unique in the session, e.g. ``H10-A1B2C3D4`` or ``hr-0A1B2C``."""
    words = adv.name.split()
    if profile.kind == "polar" and len(words) >= 3:
        base = f"{words[1]}-{words[-1]}"
    else:
        tail = "".join(ch for ch in adv.address if ch.isalnum())[-6:].upper()
        base = f"{profile.kind}-{tail}" if tail else profile.kind
    label, n = base, 2
    while label in taken:
        label, n = f"{base}-{n}", n + 1
    return label
