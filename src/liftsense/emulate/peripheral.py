"""Machinery shared by virtual wearables: GATT helpers, session and device clocks, faults.

Each wearable (see ``liftsense.emulate.wearables``) is a
:class:`~liftsense.emulate.world.Peripheral` for :meth:`BumbleWorld.add`. It plays a
:class:`~liftsense.emulate.sources.WearableSource` on a session clock (``speed`` times real
time, from the moment it is added) and notifies only while a client is subscribed: data
produced while nobody listens is gone, as on a real sensor. The bytes on the air come from
the pure encoders in ``liftsense.ble``.

Faults (:class:`Faults`), all on the session timeline:

* ``drop_packets`` / ``drop_every``: data notifications that are counted (sequence numbers and
  device clocks advance) but never sent: a gap the client must detect;
* ``disconnects``: ``(t_s, hci_reason)``: the device drops every link at ``t_s`` (0x08 =
  connection timeout, "out of range"; 0x13 = remote user terminated) and re-advertises;
* ``disconnect_after_s``: ``(delay_s, hci_reason)`` per connection, in order: the k-th
  connection is dropped ``delay_s`` (session seconds) after it is made; later ones are kept;
* ``strap_off``: ``(start_s, end_s)`` windows without skin contact: HR 0, no RR, the contact
  bit cleared where the device reports contact;
* ``read_delay_s`` / ``read_error``: every read of a device characteristic is slow, or fails
  with that ATT error code;
* ``never_connects``: advertises but ignores connection requests;
* ``gatt_silent``: connects, then never answers any ATT request (not even the MTU exchange).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from liftsense.ble import hrs
from liftsense.emulate.sources import HrTrack, ImuTrack, WearableSource

if TYPE_CHECKING:
    from bumble.device import Device
    from bumble.gatt import Characteristic, Service

logger = logging.getLogger(__name__)

ATT_READ_NOT_PERMITTED = 0x02
ATT_WRITE_NOT_PERMITTED = 0x03


@dataclass(frozen=True)
class Faults:
    """Fault knobs of one wearable (see the module docstring). Defaults: a healthy device."""

    drop_packets: frozenset[int] = frozenset()
    drop_every: int = 0
    disconnects: tuple[tuple[float, int], ...] = ()
    disconnect_after_s: tuple[tuple[float, int], ...] = ()
    strap_off: tuple[tuple[float, float], ...] = ()
    read_delay_s: float = 0.0
    read_error: int | None = None
    never_connects: bool = False
    gatt_silent: bool = False

    def drops(self, index: int) -> bool:
        """Whether data notification ``index`` (0-based, per stream) is lost."""
        return index in self.drop_packets or (
            self.drop_every > 0 and (index + 1) % self.drop_every == 0
        )

    def contact_at(self, t_s: float) -> bool:
        return not any(a <= t_s < b for a, b in self.strap_off)


@dataclass(frozen=True)
class DeviceClock:
    """A device's own clock: ``offset_ns`` from its nominal zero at session start and a rate
    error of ``drift_ppm`` (positive = runs fast).

    Device time at session time ``t_s`` is ``base_ns + offset_ns + round(t_s * 1e9 * (1 +
    drift_ppm * 1e-6))``, where ``base_ns`` is chosen by the device kind (Polar: host wall time
    since 2000-01-01 at session start; IMU board: 0, a monotonic clock since boot).
    """

    offset_ns: int = 0
    drift_ppm: float = 0.0

    def device_ns(self, base_ns: int, t_s: NDArray[np.float64]) -> NDArray[np.int64]:
        scaled = np.round(np.asarray(t_s, dtype=np.float64) * 1e9 * (1.0 + self.drift_ppm * 1e-6))
        return base_ns + self.offset_ns + scaled.astype(np.int64)


@dataclass
class StreamStats:
    """Per-stream counters: ``produced`` = notifications due, ``sent`` = actually notified."""

    produced: int = 0
    sent: int = 0
    dropped: int = 0


def _uuid16_list(uuids: Sequence[int]) -> bytes:
    return b"".join(u.to_bytes(2, "little") for u in uuids)


class VirtualWearable:
    """Common machinery: GATT helpers, standard services, session clock and faults.

    Args:
        name: advertised complete local name.
        address: static random address (``C0:..`` style; unique within a world).
        source: what to play; ``None`` plays nothing (the device only answers GATT).
        speed: session seconds per wall second (1 = real time).
        loop: restart the source at its end instead of going quiet.
        faults: fault knobs.
        battery_percent: Battery Level value.
        max_mtu: largest ATT MTU the device accepts (an old strap may stop at 23 or 185).

    Attributes:
        stats: per stream name (``hr``, ``acc``, ``ecg``, ``gyro``, ``imu``) the
            :class:`StreamStats` of notifications produced for a subscriber, sent, dropped.
        reads_started: characteristic reads received (before read faults apply).
        device: the bumble device, once installed in a world.
    """

    model = "Virtual wearable"
    manufacturer = "LiftSense"
    firmware = "1.0.0"

    def __init__(
        self,
        name: str,
        address: str,
        *,
        source: WearableSource | None = None,
        speed: float = 1.0,
        loop: bool = False,
        faults: Faults | None = None,
        battery_percent: int = 87,
        max_mtu: int = 517,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.name = name
        self.address = address
        self.source = source
        self.speed = speed
        self.loop = loop
        self.faults = faults or Faults()
        self.battery_percent = battery_percent
        self.max_mtu = max_mtu
        self.stats: dict[str, StreamStats] = {}
        self.device: Device | None = None
        self._t0_loop_s = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._connections_made = 0
        self.reads_started = 0

    # -- Peripheral protocol ------------------------------------------------------------
    @property
    def accepts_connections(self) -> bool:
        return not self.faults.never_connects

    def install(self, device: Device) -> None:
        self.device = device
        device.gatt_server.max_mtu = self.max_mtu
        for service in self.services():
            device.add_service(service)
        if self.faults.disconnect_after_s:
            device.on("connection", self._drop_later)
        if self.faults.gatt_silent:
            # Swallow every ATT PDU addressed to the server: requests never get an answer.
            device.gatt_server.on_gatt_pdu = lambda *args: None  # type: ignore[method-assign]

    def advertising_data(self) -> bytes:
        from bumble.core import AdvertisingData

        structures: list[tuple[int, bytes]] = [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]
        uuids16 = self.advertised_uuids16()
        if uuids16:
            structures.append(
                (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, _uuid16_list(uuids16))
            )
        uuid128 = self.advertised_uuid128()
        if uuid128 is not None:
            from bumble.core import UUID

            structures.append(
                (
                    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    UUID(uuid128).to_bytes(),
                )
            )
        return bytes(AdvertisingData(structures))

    async def start(self) -> None:
        self._t0_loop_s = asyncio.get_running_loop().time()
        if self.faults.disconnects:
            self.spawn(self._run_disconnects())
        self.start_streams()

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- for subclasses -----------------------------------------------------------------
    def services(self) -> list[Service]:
        """Every GATT service; the base adds Battery and Device Information."""
        return [self.battery_service(), self.device_information_service()]

    def advertised_uuids16(self) -> list[int]:
        return []

    def advertised_uuid128(self) -> str | None:
        return None

    def start_streams(self) -> None:
        """Spawn the data tasks (called from :meth:`start`)."""

    def spawn(self, coro: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    def session_time_s(self) -> float:
        """Seconds on the session timeline since the device started."""
        return (asyncio.get_running_loop().time() - self._t0_loop_s) * self.speed

    async def sleep_until(self, t_s: float) -> None:
        delay = (t_s - self.session_time_s()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)

    def stream_stats(self, stream: str) -> StreamStats:
        return self.stats.setdefault(stream, StreamStats())

    async def notify(self, stream: str, characteristic: Characteristic, value: bytes) -> None:
        """Notify every subscriber of ``value`` unless the fault plan drops this packet.

        Counted (``produced``, and the IMU board's ``seq``) only while some client has
        notifications enabled: without a subscriber the data goes into the void.
        """
        assert self.device is not None
        handle = characteristic.handle
        bearers = [
            bearer
            for bearer, cccds in self.device.gatt_server.subscribers.items()
            if (cccd := cccds.get(handle)) and cccd[0] & 0x01
        ]
        if not bearers:
            return
        stats = self.stream_stats(stream)
        index = stats.produced
        stats.produced += 1
        if self.faults.drops(index):
            stats.dropped += 1
            return
        for bearer in bearers:
            # Per bearer: notify_subscribers() would spawn a task per notification.
            await self.device.gatt_server.notify_subscriber(bearer, characteristic, value)
        stats.sent += 1

    def characteristic(
        self,
        uuid: str | int,
        properties: str,
        *,
        read: Callable[[], bytes] | None = None,
        write: Callable[[Any, bytes], Awaitable[None] | None] | None = None,
        value: bytes | None = None,
    ) -> Characteristic:
        """A characteristic; reads go through the read faults (delay, ATT error)."""
        from bumble.att import ATT_Error
        from bumble.gatt import Characteristic, CharacteristicValue

        props = Characteristic.Properties.from_string(properties)
        perms = Characteristic.READABLE | Characteristic.WRITEABLE
        uuid_text = f"{uuid:04X}" if isinstance(uuid, int) else uuid
        reader = read if read is not None else (lambda: value or b"")

        readable = bool(props & Characteristic.Properties.READ)
        writable = bool(
            props
            & (Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE)
        )

        async def on_read(connection: Any) -> bytes:
            if not readable:
                raise ATT_Error(ATT_READ_NOT_PERMITTED)
            self.reads_started += 1
            await self._read_faults()
            return reader()

        async def on_write(connection: Any, data: bytes) -> None:
            if not writable or write is None:
                raise ATT_Error(ATT_WRITE_NOT_PERMITTED)
            result = write(connection, data)
            if result is not None:
                await result

        return Characteristic(uuid_text, props, perms, CharacteristicValue(on_read, on_write))

    async def _read_faults(self) -> None:
        from bumble.att import ATT_Error

        if self.faults.read_delay_s > 0:
            await asyncio.sleep(self.faults.read_delay_s / self.speed)
        if self.faults.read_error is not None:
            raise ATT_Error(self.faults.read_error)

    def battery_service(self) -> Service:
        from bumble.gatt import Service

        self.battery_level = self.characteristic(
            0x2A19, "READ,NOTIFY", read=lambda: hrs.encode_battery_level(self.battery_percent)
        )
        return Service("180F", [self.battery_level])

    def device_information_service(self) -> Service:
        from bumble.gatt import Service

        fields = [
            (0x2A29, self.manufacturer),
            (0x2A24, self.model),
            (0x2A25, self.address.replace(":", "")),
            (0x2A26, self.firmware),
        ]
        return Service(
            "180A", [self.characteristic(u, "READ", value=v.encode()) for u, v in fields]
        )

    def _drop_later(self, connection: Any) -> None:
        plan = self.faults.disconnect_after_s
        self._connections_made += 1
        if self._connections_made <= len(plan):
            delay_s, reason = plan[self._connections_made - 1]
            self.spawn(self._drop(connection, delay_s, reason))

    async def _drop(self, connection: Any, delay_s: float, reason: int) -> None:
        await asyncio.sleep(delay_s / self.speed)
        with contextlib.suppress(Exception):
            await connection.disconnect(reason)

    async def _run_disconnects(self) -> None:
        for t_s, reason in sorted(self.faults.disconnects):
            await self.sleep_until(t_s)
            assert self.device is not None
            for connection in list(self.device.connections.values()):
                with contextlib.suppress(Exception):
                    await connection.disconnect(reason)

    async def play_hr(
        self, track: HrTrack, emit: Callable[[float, int, list[int]], Awaitable[None]]
    ) -> None:
        """Walk an HR track on the session clock, calling ``emit(t_s, bpm, rr_1024)``."""
        period = self.source.duration_s if self.source is not None else 0.0
        base = 0.0
        while True:
            for t_s, bpm, rr in zip(track.t_s, track.bpm, track.rr_1024, strict=True):
                await self.sleep_until(base + float(t_s))
                await emit(base + float(t_s), int(bpm), rr)
            if not self.loop or period <= 0:
                return
            base += period

    async def play_imu(
        self,
        track: ImuTrack,
        rate_hz: float,
        batch: int,
        emit: Callable[[NDArray[np.float64], NDArray[np.intp]], Awaitable[None]],
    ) -> None:
        """Stream ``track`` resampled to ``rate_hz`` in batches of ``batch`` samples.

        Sample k is at session time ``s0 + k / rate_hz`` (``s0`` = now); a batch is emitted
        when its last sample is due, as ``emit(t_s, rows)`` with ``rows`` indexing the track.
        Late wake-ups catch up with every complete batch, so the count never drifts.
        """
        s0 = self.session_time_s()
        period = self.source.duration_s if self.source is not None else track.duration_s
        k = 0
        while True:
            await self.sleep_until(s0 + (k + batch - 1) / rate_hz)
            due = int((self.session_time_s() - s0) * rate_hz + 1e-9) + 1
            while k + batch <= due:
                t_s = s0 + (k + np.arange(batch)) / rate_hz
                if not self.loop and t_s[-1] >= period:
                    return
                t_src = np.mod(t_s, period) if self.loop and period > 0 else t_s
                await emit(t_s, track.index_at(t_src))
                k += batch
