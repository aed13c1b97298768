"""bleak scanner and client backends that drive a bumble central.

The application talks to bleak's public API only (``BleakScanner``, ``BleakClient``) and is handed
one *BLE context*: keyword arguments for both constructors. For the OS stack the context is
``{}``; for a bumble central it is ``{"backend": <class>}`` built by :func:`backend_context`.
The same class serves both constructors: bleak calls it with the scanner's positional arguments
or with the client's ``disconnected_callback=`` keyword, and it returns the matching backend
instance. The central is bound to that class as a class attribute, because bleak rejects unknown
keyword arguments.

Contract (checked by ``tests/emulate/test_backend_contract.py``; run it before bumping bleak
or bumble, whose backend interfaces change without notice):

* scanning reports local name, service UUIDs (lower-case 128-bit strings), manufacturer and
  service data, TX power and RSSI (dBm); service filters are applied by bleak's base class;
* connects on one central are serialised with an ``asyncio.Lock`` (concurrent connects break
  the virtual controller); each connect requests an ATT MTU of 517 and discovers every
  service, characteristic and descriptor into bleak's objects, all within bleak's ``timeout``
  (seconds), else ``TimeoutError``;
* ATT error responses raise ``BleakGATTProtocolError`` carrying the ATT code; a request that
  gets no answer raises ``BleakError`` after bumble's 30 s GATT timeout;
* a disconnect while a request is pending raises ``BleakError`` in the caller, unless the
  caller's own task is being cancelled, in which case ``CancelledError`` propagates;
* the disconnected callback runs (scheduled on the loop) after every disconnect of an
  established connection, whoever initiated it, like bleak's BlueZ backend;
  ``disconnect_reason`` on the backend holds the HCI reason code.

bumble is imported lazily: importing this module costs only bleak.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError

from liftsense.emulate.scan import (
    BumbleCentral,
    BumbleScannerBackend,
    bumble_uuid_to_str,
    disconnect_quietly,
)

if TYPE_CHECKING:
    from bumble.device import Connection, Peer
    from bumble.hci import Address

__all__ = [
    "REQUESTED_MTU",
    "BleContext",
    "BumbleCentral",
    "BumbleClientBackend",
    "BumbleScannerBackend",
    "backend_context",
]

logger = logging.getLogger(__name__)

BleContext = dict[str, Any]
"""Keyword arguments for ``BleakScanner(**ctx)`` and ``BleakClient(device, **ctx)``."""

REQUESTED_MTU = 517
"""ATT MTU requested on every connect: bumble never exchanges it by itself, and at the default
23 its GATT server silently truncates notifications to 20 bytes (Polar PMD needs >= 232)."""

_T = TypeVar("_T")


class BumbleClientBackend(BaseBleakClient):
    """``BaseBleakClient`` over a :class:`BumbleCentral` (bound as ``central``)."""

    central: ClassVar[BumbleCentral]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 30.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        if isinstance(address_or_ble_device, BLEDevice):
            self._peer_address: Address | None = address_or_ble_device.details
            self._name = address_or_ble_device.name or self.address
        else:
            self._peer_address = None
            self._name = address_or_ble_device
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}
        self.disconnect_reason: int | None = None
        self._established = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover services, all within ``timeout`` seconds."""
        if self._connection is not None:
            return
        address = self._peer_address or self.central.resolve_address(self.address)
        connection: Connection | None = None
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self.central.connect(address)
                connection.on("disconnection", self._on_disconnection)
                self._connection = connection
                self.disconnect_reason = None
                from bumble.device import Peer

                self._peer = Peer(connection)
                await self._guard("MTU exchange", self._peer.request_mtu(REQUESTED_MTU))
                self.services = await self._discover()
                if pair:
                    await self.pair()
            self._established = True
        except BaseException:
            if connection is not None:
                # A failed connect never reports a disconnect: the caller gets the exception.
                connection.remove_listener("disconnection", self._on_disconnection)
                self._forget()
                if connection.handle in self.central.device.connections:
                    await disconnect_quietly(connection)
            raise

    async def _discover(self) -> BleakGATTServiceCollection:
        from bumble.core import UUID

        assert self._peer is not None
        peer = self._peer
        uuids = [UUID(u) for u in self._service_filter] if self._service_filter else []
        services = await self._guard("service discovery", peer.discover_services(uuids))
        collection = BleakGATTServiceCollection()
        for proxy in services:
            service = BleakGATTService(proxy, proxy.handle, bumble_uuid_to_str(proxy.uuid))
            collection.add_service(service)
            chars = await self._guard("characteristic discovery", proxy.discover_characteristics())
            for char in chars:
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    bumble_uuid_to_str(char.uuid),
                    sorted(gatt_char_props_to_strs(int(char.properties))),
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(bleak_char)
                descriptors = await self._guard("descriptor discovery", char.discover_descriptors())
                for desc in descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            desc, desc.handle, bumble_uuid_to_str(desc.type), bleak_char
                        )
                    )
        return collection

    def _forget(self) -> None:
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        self.services = None

    def _on_disconnection(self, reason: int) -> None:
        self.disconnect_reason = int(reason)
        established, self._established = self._established, False
        self._forget()
        # A link lost while connecting surfaces as connect()'s exception, not as a callback.
        if established and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def disconnect(self) -> None:
        """Disconnect (reason 0x13); a no-op when not connected."""
        if self._connection is not None:
            await disconnect_quietly(self._connection)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._require_connection()
        await self._guard("pairing", connection.pair())

    async def unpair(self) -> None:
        raise BleakError("unpair is not supported by the bumble backend; disconnect instead")

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError(f"Not connected to {self.address}")
        return self._connection

    async def _guard(self, what: str, awaitable: Awaitable[_T]) -> _T:
        """Run one GATT procedure; translate bumble's failures into bleak's exceptions."""
        from bumble import core
        from bumble.att import ATT_Error

        connection = self._require_connection()
        try:
            return await connection.cancel_on_disconnection(awaitable)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise BleakError(
                f"{what} on {self.address} failed: the device disconnected"
                f" (reason 0x{self.disconnect_reason or 0:02X}) while the request was pending"
            ) from None
        except ATT_Error as error:
            exc = BleakGATTProtocolError(error.error_code)
            exc.add_note(f"{what} on {self.address}, handle 0x{error.att_handle:04X}")
            raise exc from error
        except core.TimeoutError as error:
            raise BleakError(f"{what} on {self.address}: the device did not answer") from error
        except core.BaseBumbleError as error:
            raise BleakError(f"{what} on {self.address} failed: {error}") from error

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(characteristic.handle, use_cached, f"read of {characteristic.uuid}")

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(descriptor.handle, use_cached, f"read of {descriptor.uuid}")

    async def _read(self, handle: int, use_cached: bool, what: str) -> bytearray:
        self._require_connection()
        assert self._peer is not None
        cached = self._peer.gatt_client.cached_values.get(handle)
        if use_cached and cached is not None:
            return bytearray(cached[1])
        return bytearray(await self._guard(what, self._peer.read_value(handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._require_connection()
        assert self._peer is not None
        await self._guard(
            f"write to {characteristic.uuid}",
            self._peer.gatt_client.write_value(
                characteristic.handle, bytes(data), with_response=response
            ),
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        self._require_connection()
        assert self._peer is not None
        await self._guard(
            f"write to descriptor {descriptor.uuid}",
            self._peer.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True),
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications (preferred) or indications; ``callback`` gets a ``bytearray``."""
        self._require_connection()
        proxy = characteristic.obj
        if characteristic.handle in self._subscriptions:
            await self.stop_notify(characteristic)

        def subscriber(value: bytes) -> None:
            try:
                callback(bytearray(value))
            except Exception:
                # A failing callback must not break bumble's PDU processing for the link.
                logger.exception("notification callback for %s failed", characteristic.uuid)

        self._subscriptions[characteristic.handle] = subscriber
        try:
            await self._guard(f"subscription to {characteristic.uuid}", proxy.subscribe(subscriber))
        except BaseException:
            self._subscriptions.pop(characteristic.handle, None)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_connection()
        subscriber = self._subscriptions.pop(characteristic.handle, None)
        if subscriber is None:
            return
        await self._guard(
            f"unsubscription from {characteristic.uuid}",
            characteristic.obj.unsubscribe(subscriber),
        )


def backend_context(central: BumbleCentral) -> BleContext:
    """The BLE context for ``central``: ``{"backend": cls}``.

    ``cls`` builds a scanner backend when bleak's ``BleakScanner`` calls it and a client
    backend when ``BleakClient`` calls it (recognised by the ``disconnected_callback``
    keyword that ``BleakClient`` always passes).
    """
    scanner_cls = type("BumbleScanner", (BumbleScannerBackend,), {"central": central})
    client_cls = type("BumbleClient", (BumbleClientBackend,), {"central": central})

    class BumbleBackend:
        """Dispatches bleak's backend construction to the scanner or client backend."""

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            if "disconnected_callback" in kwargs:
                return client_cls(*args, **kwargs)
            return scanner_cls(*args, **kwargs)

    return {"backend": BumbleBackend}
