from __future__ import annotations

from typing import Any

import pytest

from liftsense.emulate.wearables import VirtualWearable

ECHO_SERVICE = "6e4d0001-4c53-4c53-8000-000000000000"
RW_CHAR = "6e4d0002-4c53-4c53-8000-000000000000"
NOTIFY_CHAR = "6e4d0003-4c53-4c53-8000-000000000000"
INDICATE_CHAR = "6e4d0004-4c53-4c53-8000-000000000000"


class EchoDevice(VirtualWearable):
    """A test peripheral: whatever is written to RW_CHAR is stored, notified on NOTIFY_CHAR
    and indicated on INDICATE_CHAR."""

    SERVICE = ECHO_SERVICE
    RW = RW_CHAR
    NOTIFY = NOTIFY_CHAR
    INDICATE = INDICATE_CHAR

    def __init__(self, name: str, address: str, **kwargs: Any) -> None:
        super().__init__(name, address, **kwargs)
        self.value = b"hello"
        self.writes: list[bytes] = []

    def advertised_uuid128(self) -> str | None:
        return ECHO_SERVICE

    def services(self) -> list[Any]:
        from bumble.gatt import Service

        self.rw = self.characteristic(
            RW_CHAR, "READ,WRITE,WRITE_WITHOUT_RESPONSE", read=lambda: self.value, write=self._write
        )
        self.notify_char = self.characteristic(NOTIFY_CHAR, "NOTIFY")
        self.indicate_char = self.characteristic(INDICATE_CHAR, "INDICATE")
        echo = Service(ECHO_SERVICE, [self.rw, self.notify_char, self.indicate_char])
        return [echo, *super().services()]

    async def _write(self, connection: Any, value: bytes) -> None:
        self.value = bytes(value)
        self.writes.append(self.value)
        assert self.device is not None
        self.spawn(self._echo(self.value))

    async def _echo(self, value: bytes) -> None:
        assert self.device is not None
        await self.device.notify_subscribers(self.notify_char, value)
        await self.device.indicate_subscribers(self.indicate_char, value)


@pytest.fixture
def echo_cls() -> type[EchoDevice]:
    """The echo test peripheral class (tests cannot import conftest)."""
    return EchoDevice
