"""Finding wearables and talking GATT to one, over bleak's public API only.

:func:`scan` lists advertising devices with the profile that recognises each; :func:`select`
picks the ones to record; :class:`BleakPort` is the :class:`~liftsense.ble.profiles.GattPort`
the profiles drive, over a connected ``BleakClient``. The BLE context (keyword arguments for
``BleakScanner`` and ``BleakClient``) is injected: ``{}`` for the OS stack, the bumble backend for
emulation or a USB dongle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice

from liftsense.ble.profiles import Advertisement, DeviceProfile, ValueCallback, match
from liftsense.errors import DeviceError

__all__ = ["BleContext", "BleakPort", "Found", "scan", "select"]

BleContext = dict[str, Any]
"""Keyword arguments for ``BleakScanner(**ctx)`` and ``BleakClient(device, **ctx)``."""


@dataclass(frozen=True)
class Found:
    """A device seen in a scan, with the profile that recognised it (None: not ours)."""

    advertisement: Advertisement
    profile: DeviceProfile | None
    device: BLEDevice | None = None


async def scan(
    ble_context: BleContext,
    *,
    timeout_s: float = 5.0,
    candidates: Sequence[DeviceProfile] | None = None,
) -> list[Found]:
    """Every advertising device, strongest signal first, with the profile that recognises it.

    ``candidates`` replaces the default profiles (e.g. a ``PolarProfile`` asking for ECG).
    """
    seen = await BleakScanner.discover(timeout_s, return_adv=True, **ble_context)
    out = []
    for device, adv in seen.values():
        ad = Advertisement(
            name=adv.local_name or device.name or "",
            address=device.address,
            service_uuids=tuple(adv.service_uuids),
            rssi_dbm=adv.rssi,
        )
        out.append(Found(ad, match(ad, candidates), device))
    return sorted(out, key=lambda f: -(f.advertisement.rssi_dbm or -999))


def select(found: Sequence[Found], wanted: Sequence[str] = ()) -> list[Found]:
    """The devices to record: each ``wanted`` name (or name prefix) or address, matched
    case-insensitively, else every recognised device.

    Raises:
        DeviceError: a wanted device was not seen, is not a supported wearable, or nothing
            recognisable was seen at all; the message lists what was seen.
    """

    def seen() -> str:
        names = [f"{f.advertisement.name or '?'} ({f.advertisement.address})" for f in found]
        return ", ".join(names) or "nothing"

    if not wanted:
        ours = [f for f in found if f.profile is not None]
        if not ours:
            raise DeviceError(f"no supported wearable found (seen: {seen()}); are they on?")
        return ours
    chosen: list[Found] = []
    for want in wanted:
        key = want.casefold()
        hits = [
            f
            for f in found
            if f.advertisement.address.casefold() == key
            or f.advertisement.name.casefold().startswith(key)
        ]
        if not hits:
            raise DeviceError(f"device {want!r} not found (seen: {seen()})")
        if len(hits) > 1:
            raise DeviceError(f"{want!r} matches several devices; give an address (seen: {seen()})")
        chosen.append(hits[0])
    return list(dict.fromkeys(chosen))


class BleakPort:
    """:class:`~liftsense.ble.profiles.GattPort` over a connected ``BleakClient``.

    Data subscriptions hand ``(receive_ns, uuid, bytes)`` to ``put`` and do nothing else.
    """

    def __init__(
        self,
        client: BleakClient,
        put: Callable[[tuple[int, str, bytes]], None],
        now_ns: Callable[[], int],
    ) -> None:
        self._client = client
        self._put = put
        self._now_ns = now_ns

    def has(self, uuid: str) -> bool:
        return self._client.services.get_characteristic(uuid) is not None

    async def read(self, uuid: str) -> bytes:
        return bytes(await self._client.read_gatt_char(uuid))

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        await self._client.write_gatt_char(uuid, data, response=response)

    async def subscribe(self, uuid: str, callback: ValueCallback | None = None) -> None:
        now_ns = self._now_ns
        if callback is None:
            put = self._put

            def on_value(_: BleakGATTCharacteristic, data: bytearray) -> None:
                put((now_ns(), uuid, bytes(data)))  # only stamp and queue: decode elsewhere

        else:
            deliver = callback

            def on_value(_: BleakGATTCharacteristic, data: bytearray) -> None:
                deliver(now_ns(), bytes(data))

        await self._client.start_notify(uuid, on_value)

    async def unsubscribe(self, uuid: str) -> None:
        await self._client.stop_notify(uuid)
