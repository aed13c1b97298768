"""Emulated BLE worlds: a bumble central plus virtual peripherals, and HCI transports.

* :func:`open_world` builds, inside the running loop (bumble binds to it at construction), a
  ``LocalLink`` with one virtual ``Controller`` per device: the central and every peripheral
  added with :meth:`BumbleWorld.add`. Its ``ble_context`` goes to ``BleakScanner(**ctx)`` and
  ``BleakClient(device, **ctx)``.
* :func:`open_transport_context` drives a bumble central over an HCI transport spec
  (``usb:0`` for a real dongle, exclusive use, no OS stack; ``tcp-client:HOST:PORT``).
* :func:`serve_hci` exposes a virtual controller, sharing a link with virtual peripherals, as
  an HCI TCP server: the other end of ``tcp-client:`` (see ``liftsense.emulate.serve``).

What emulation cannot show: radio timing and loss, real backpressure (peripherals and the app
share one loop, nothing is ever dropped unless a fault is injected), OS stack quirks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from liftsense.emulate.backend import BleContext, BumbleCentral, backend_context

if TYPE_CHECKING:
    from bumble.controller import Controller
    from bumble.device import Device
    from bumble.link import LocalLink

logger = logging.getLogger(__name__)

CENTRAL_ADDRESS = "F0:F0:F0:F0:F0:01"
"""Static random address of the emulated central (top two bits set, as the spec requires)."""

ACL_PACKET_LENGTH = 251
"""LE ACL data length of every virtual controller (bumble defaults to 27: 3-4x slower)."""


class Peripheral(Protocol):
    """What :meth:`BumbleWorld.add` needs from a virtual device (see ``wearables.py``).

    Attributes:
        name: advertised complete local name.
        address: static random address, ``AA:BB:CC:DD:EE:FF``; unique within a world.
        accepts_connections: False for a device that advertises but never completes a
            connection (its controller ignores connection requests).
    """

    name: str
    address: str

    @property
    def accepts_connections(self) -> bool:
        """False for a device that never completes a connection."""
        ...

    def install(self, device: Device) -> None:
        """Add GATT services and event handlers to ``device`` (not yet powered on)."""

    def advertising_data(self) -> bytes:
        """Raw advertising data (AD structures); must carry the name (pitfall: scan response
        is an echo of it)."""

    async def start(self) -> None:
        """Called once the device advertises: start background tasks."""

    async def stop(self) -> None:
        """Cancel background tasks; called by :meth:`BumbleWorld.close`."""


def _controller(name: str, link: LocalLink, *, deaf: bool = False) -> Controller:
    from bumble.controller import Controller

    class DeafController(Controller):
        """Advertises but ignores every connection request (the central times out)."""

        def on_le_connect_ind(self, packet: Any) -> None:
            logger.debug("%s ignores a connection request", self.name)

    controller = (DeafController if deaf else Controller)(name, link=link)
    controller.le_acl_data_packet_length = ACL_PACKET_LENGTH
    return controller


def _new_device(controller: Controller, name: str, address: str) -> Device:
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.host import Host
    from bumble.transport.common import AsyncPipeSink

    device = Device(
        name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
    )
    return device


@dataclass
class _Member:
    peripheral: Peripheral
    device: Device
    controller: Controller


@dataclass
class BumbleWorld:
    """A virtual link with a bumble central and the peripherals added to it.

    Attributes:
        ble_context: ``{"backend": ...}`` for ``BleakScanner`` / ``BleakClient``.
        central: the central behind the context.
        advertising_interval_ms: advertising interval of peripherals added later.
    """

    link: LocalLink
    central: BumbleCentral
    ble_context: BleContext
    advertising_interval_ms: float
    _members: list[_Member] = field(default_factory=list)

    def device_of(self, peripheral: Peripheral) -> Device:
        """The bumble device a peripheral runs on (for tests and fault injection)."""
        for member in self._members:
            if member.peripheral is peripheral:
                return member.device
        raise KeyError(f"{peripheral.name} is not part of this world")

    async def add(self, peripheral: Peripheral, *, rssi_dbm: int | None = None) -> None:
        """Give ``peripheral`` its own controller on the link, power it on and advertise.

        ``rssi_dbm`` replaces the -50 dBm the virtual controller reports in scans.
        """
        if any(m.peripheral.address.upper() == peripheral.address.upper() for m in self._members):
            raise ValueError(f"address {peripheral.address} is already used in this world")
        member = await _start_member(self.link, peripheral, self.advertising_interval_ms)
        if rssi_dbm is not None:
            self.central.rssi_overrides_dbm[peripheral.address.upper()] = rssi_dbm
        self._members.append(member)
        await peripheral.start()

    async def remove(self, peripheral: Peripheral) -> None:
        """Stop ``peripheral``, drop its connections (reason 0x13) and take it off the link."""
        member = next(m for m in self._members if m.peripheral is peripheral)
        self._members.remove(member)
        await _shutdown(member)
        self.link.remove_controller(member.controller)

    async def close(self) -> None:
        """Stop every peripheral and the central. The world cannot be used afterwards."""
        for member in reversed(self._members):
            await _shutdown(member)
        self._members.clear()
        with contextlib.suppress(Exception):
            await self.central.device.power_off()


async def _start_member(
    link: LocalLink, peripheral: Peripheral, advertising_interval_ms: float
) -> _Member:
    controller = _controller(peripheral.name, link, deaf=not peripheral.accepts_connections)
    device = _new_device(controller, peripheral.name, peripheral.address)
    peripheral.install(device)
    await device.power_on()
    await device.start_advertising(
        advertising_data=peripheral.advertising_data(),
        auto_restart=True,
        advertising_interval_min=advertising_interval_ms,
        advertising_interval_max=advertising_interval_ms,
    )
    return _Member(peripheral, device, controller)


async def _shutdown(member: _Member) -> None:
    await member.peripheral.stop()
    device = member.device
    with contextlib.suppress(Exception):
        await device.stop_advertising()
    for connection in list(device.connections.values()):
        with contextlib.suppress(Exception):
            await connection.disconnect(0x13)
    with contextlib.suppress(Exception):
        await device.power_off()


async def open_world(*, advertising_interval_ms: float = 20.0) -> BumbleWorld:
    """A fresh emulated world (call inside the loop that will use it).

    ``advertising_interval_ms``: 20 ms suits tests, 100 ms a demo (each advertising event
    yields two reports).
    """
    from bumble.link import LocalLink

    link = LocalLink()
    controller = _controller("central", link)
    device = _new_device(controller, "LiftSense", CENTRAL_ADDRESS)
    await device.power_on()
    central = BumbleCentral(device, controller=controller)
    return BumbleWorld(link, central, backend_context(central), advertising_interval_ms)


@dataclass
class TransportContext:
    """A bumble central on an HCI transport. ``close()`` releases the transport."""

    central: BumbleCentral
    ble_context: BleContext
    _close: Callable[[], Any]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.central.device.power_off()
        result = self._close()
        if asyncio.iscoroutine(result):
            await result


async def open_transport_context(spec: str, *, address: str = CENTRAL_ADDRESS) -> TransportContext:
    """A BLE context driving a bumble central over ``spec`` (``usb:0``, ``tcp-client:H:P``).

    Raises ``DeviceError`` when the transport cannot be opened or the controller does not
    answer its reset.
    """
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.transport import open_transport

    from liftsense.errors import DeviceError

    try:
        transport = await open_transport(spec)
    except Exception as error:
        raise DeviceError(
            f"cannot open HCI transport {spec!r}: {error}. For a USB dongle check that no OS "
            "stack holds it and that you may access it; for TCP that the server runs."
        ) from error
    device = Device.with_hci("LiftSense", Address(address), transport.source, transport.sink)
    try:
        await device.power_on()
    except Exception as error:
        await transport.close()
        raise DeviceError(f"the controller on {spec!r} did not power on: {error}") from error
    central = BumbleCentral(device)
    return TransportContext(central, backend_context(central), transport.close)


async def serve_hci(
    host: str,
    port: int,
    peripherals: Sequence[Peripheral],
    *,
    advertising_interval_ms: float = 20.0,
    on_listening: Callable[[int], None] | None = None,
) -> None:
    """Serve a virtual controller over HCI on TCP ``host:port`` until cancelled.

    The controller shares a link with ``peripherals``; a client connects with
    ``open_transport_context("tcp-client:HOST:PORT")``. ``port`` 0 picks a free port, passed
    to ``on_listening``. Loopback use is intended: HCI over TCP has no authentication.
    """
    import socket

    from bumble.link import LocalLink
    from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    transport = await open_tcp_server_transport_with_socket(sock)
    link = LocalLink()
    from bumble.controller import Controller

    hci_controller = Controller(
        "hci", host_source=transport.source, host_sink=transport.sink, link=link
    )
    hci_controller.le_acl_data_packet_length = ACL_PACKET_LENGTH
    members: list[_Member] = []
    try:
        for peripheral in peripherals:
            members.append(await _start_member(link, peripheral, advertising_interval_ms))
            await peripheral.start()
        if on_listening is not None:
            on_listening(sock.getsockname()[1])
        await asyncio.Event().wait()
    finally:
        for member in reversed(members):
            await _shutdown(member)
        await transport.close()
