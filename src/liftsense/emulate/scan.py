"""The scanning half of the bumble backend: the shared central and bleak's scanner backend.

:class:`BumbleCentral` wraps one bumble ``Device`` acting as central (virtual controller, USB
dongle or TCP HCI); every bleak scanner and client bound to it shares it. Scanners share one
radio scan (reference-counted) and get bleak's ``AdvertisementData`` (:func:`parse_advertisement`).
bumble is imported lazily.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_mod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.uuids import normalize_uuid_str

if TYPE_CHECKING:
    from bumble.controller import Controller
    from bumble.core import UUID as BumbleUUID
    from bumble.device import Advertisement, Connection, Device
    from bumble.hci import Address

logger = logging.getLogger(__name__)

# AD structure types (Bluetooth Core Supplement, Part A, 1.1-1.4)
_AD_UUID16 = (0x02, 0x03)
_AD_UUID32 = (0x04, 0x05)
_AD_UUID128 = (0x06, 0x07)
_AD_SHORT_NAME, _AD_COMPLETE_NAME, _AD_TX_POWER = 0x08, 0x09, 0x0A
_AD_SERVICE_DATA = {0x16: 2, 0x20: 4, 0x21: 16}
_AD_MANUFACTURER = 0xFF
_HCI_REMOTE_USER_TERMINATED = 0x13


def bumble_uuid_to_str(value: BumbleUUID) -> str:
    """bumble UUID -> bleak's normalised lower-case 128-bit string."""
    return str(uuid_mod.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def _le_uuid_to_str(data: bytes) -> str:
    """Little-endian 16/32/128-bit UUID bytes (as in AD structures) -> bleak's string."""
    if len(data) == 16:
        return str(uuid_mod.UUID(bytes=bytes(reversed(data))))
    return f"{int.from_bytes(data, 'little'):08x}-0000-1000-8000-00805f9b34fb"


def parse_advertisement(
    ad_structures: list[tuple[int, bytes]], rssi_dbm: int, platform: tuple[Any, ...]
) -> AdvertisementData:
    """AD structures -> bleak's ``AdvertisementData``.

    The first occurrence of a name or TX power wins (bumble's virtual controller echoes the
    advertising data as scan response, so every structure can appear twice).
    """
    name: str | None = None
    tx_power: int | None = None
    uuids: list[str] = []
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    for ad_type, data in ad_structures:
        if ad_type in (_AD_SHORT_NAME, _AD_COMPLETE_NAME) and name is None:
            name = data.decode("utf-8", errors="replace")
        elif ad_type == _AD_TX_POWER and tx_power is None and data:
            tx_power = int.from_bytes(data[:1], "little", signed=True)
        elif ad_type in _AD_UUID16 + _AD_UUID32 + _AD_UUID128:
            width = 2 if ad_type in _AD_UUID16 else 4 if ad_type in _AD_UUID32 else 16
            for i in range(0, len(data) - width + 1, width):
                text = _le_uuid_to_str(data[i : i + width])
                if text not in uuids:
                    uuids.append(text)
        elif ad_type in _AD_SERVICE_DATA and len(data) >= _AD_SERVICE_DATA[ad_type]:
            width = _AD_SERVICE_DATA[ad_type]
            service_data.setdefault(_le_uuid_to_str(data[:width]), data[width:])
        elif ad_type == _AD_MANUFACTURER and len(data) >= 2:
            manufacturer.setdefault(int.from_bytes(data[:2], "little"), data[2:])
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=uuids,
        tx_power=tx_power,
        rssi=rssi_dbm,
        platform_data=platform,
    )


class BumbleCentral:
    """One bumble ``Device`` acting as central, shared by every scanner and client bound to it.

    Attributes:
        device: the powered-on bumble device (virtual controller, USB dongle or TCP HCI).
        connect_lock: serialises link-layer connects.
        rssi_overrides_dbm: advertised address -> RSSI to report instead of the controller's
            (the virtual controller always reports -50 dBm).
    """

    def __init__(self, device: Device, *, controller: Controller | None = None) -> None:
        self.device = device
        self.controller = controller
        self.connect_lock = asyncio.Lock()
        self.rssi_overrides_dbm: dict[str, int] = {}
        self._listeners: set[Callable[[Advertisement], None]] = set()
        self._scan_users = 0
        self._addresses: dict[str, Address] = {}
        self._connecting = False
        self._cleanups: set[asyncio.Future[None]] = set()
        device.on("advertisement", self._on_advertisement)
        device.on("connection", self._on_connection)

    async def connect(self, address: Address) -> Connection:
        """One LE connection to ``address``, serialised with every other connect.

        If the attempt is cancelled (a timeout) or fails, the pending create-connection is
        cancelled so the controller accepts the next one.
        """
        async with self.connect_lock:
            self._connecting = True
            try:
                return await self.device.connect(address, timeout=None)
            except BaseException:
                await self._abort_connect()
                raise
            finally:
                self._connecting = False

    async def _abort_connect(self) -> None:
        from bumble import hci

        with contextlib.suppress(Exception):
            await self.device.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        if self.controller is not None:
            # bumble's virtual controller acknowledges the cancel but keeps the connect
            # pending: the next connect would fail with COMMAND_DISALLOWED, and the device
            # would be connected behind our back when it advertises again.
            self.controller.pending_le_connection = None

    def _on_connection(self, connection: Connection) -> None:
        from bumble import hci

        if connection.role == hci.Role.CENTRAL and not self._connecting:
            # Completed after its connect was given up: nobody owns it.
            task = asyncio.ensure_future(disconnect_quietly(connection))
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self._addresses[_address_key(advertisement.address)] = advertisement.address
        for listener in tuple(self._listeners):
            listener(advertisement)

    def resolve_address(self, text: str) -> Address:
        """A seen device's bumble address for a string address (random unless ``/P``)."""
        from bumble.hci import Address

        seen = self._addresses.get(text.upper())
        return seen if seen is not None else Address(text)

    async def start_scan(self, listener: Callable[[Advertisement], None], active: bool) -> None:
        """Register ``listener``; start the radio scan for the first user."""
        self._listeners.add(listener)
        self._scan_users += 1
        if self._scan_users == 1 and not self.device.is_scanning:
            await self.device.start_scanning(active=active, filter_duplicates=False)

    async def stop_scan(self, listener: Callable[[Advertisement], None]) -> None:
        """Unregister ``listener``; stop the radio scan when the last user leaves."""
        if listener not in self._listeners:
            return
        self._listeners.discard(listener)
        self._scan_users -= 1
        if self._scan_users == 0 and self.device.is_scanning and self.device.powered_on:
            await self.device.stop_scanning()


async def disconnect_quietly(connection: Connection) -> None:
    """Disconnect (reason 0x13, remote user terminated), tolerating a link that is already gone.

    Errors are logged, not raised; a cancellation of the calling task still propagates.
    """
    try:
        await connection.disconnect(_HCI_REMOTE_USER_TERMINATED)
    except (Exception, asyncio.CancelledError) as error:
        task = asyncio.current_task()
        if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
            raise
        logger.debug("disconnect of %s: %s", connection.peer_address, error)


def _address_key(address: Address) -> str:
    """The address as bleak shows it: ``AA:BB:CC:DD:EE:FF`` without bumble's type suffix."""
    return str(address).split("/")[0].upper()


class BumbleScannerBackend(BaseBleakScanner):
    """``BaseBleakScanner`` over a :class:`BumbleCentral` (bound as ``central``)."""

    central: ClassVar[BumbleCentral]

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if service_uuids is not None:
            # Accept 16-bit shorthands ("180d") like the OS backends do.
            self._service_uuids = [normalize_uuid_str(u) for u in service_uuids]
        self._active = scanning_mode != "passive"

    async def start(self) -> None:
        self.seen_devices = {}
        await self.central.start_scan(self._on_advertisement, self._active)

    async def stop(self) -> None:
        await self.central.stop_scan(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        key = _address_key(advertisement.address)
        rssi = self.central.rssi_overrides_dbm.get(key, advertisement.rssi)
        adv = parse_advertisement(list(advertisement.data.ad_structures), rssi, (advertisement,))
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        device = self.create_or_update_device(key, key, adv.local_name, advertisement.address, adv)
        try:
            self.call_detection_callbacks(device, adv)
        except Exception:
            # A failing user callback must not stop the scan for everyone else.
            logger.exception("detection callback failed for %s", key)
