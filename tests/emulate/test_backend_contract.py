"""Contract of the bumble backend: every bleak call LiftSense makes, through bleak's public API.

Must pass before bleak or bumble is bumped (both are pinned exactly in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError

from liftsense.ble import diy_imu, hrs
from liftsense.emulate.sources import sine_source
from liftsense.emulate.wearables import Faults, HeartRateStrap
from liftsense.emulate.world import BumbleWorld, open_transport_context
from liftsense.errors import DeviceError

HRS = hrs.HEART_RATE_SERVICE_UUID
HRM = hrs.HEART_RATE_MEASUREMENT_UUID


async def _find(world: BumbleWorld, name: str) -> BLEDevice:
    device = await BleakScanner.find_device_by_name(name, timeout=5.0, **world.ble_context)
    assert device is not None, f"{name} not found"
    return device


async def _connected(world: BumbleWorld, name: str, **kwargs: Any) -> BleakClient:
    client = BleakClient(await _find(world, name), **kwargs, **world.ble_context)
    await client.connect()
    return client


async def test_discover_reports_name_uuids_and_rssi(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01"), rssi_dbm=-63)
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    found = await BleakScanner.discover(0.2, return_adv=True, **world.ble_context)
    by_name = {adv.local_name: (dev, adv) for dev, adv in found.values()}
    assert set(by_name) == {"HRM A", "Echo"}
    dev, adv = by_name["HRM A"]
    assert dev.address == "C0:00:00:00:00:01"
    assert dev.name == "HRM A"
    assert adv.service_uuids == [HRS]
    assert adv.rssi == -63
    assert by_name["Echo"][1].service_uuids == [echo_cls.SERVICE]
    assert by_name["Echo"][1].rssi == -50  # the virtual controller's constant


async def test_discover_with_service_filter(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01"))
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    for uuids, expected in (
        ([HRS], ["HRM A"]),
        (["180d"], ["HRM A"]),
        ([echo_cls.SERVICE], ["Echo"]),
    ):
        devices = await BleakScanner.discover(0.2, service_uuids=uuids, **world.ble_context)
        assert [d.name for d in devices] == expected


async def test_find_device_by_filter_and_missing_name(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    dev = await BleakScanner.find_device_by_filter(
        lambda d, adv: echo_cls.SERVICE in adv.service_uuids, timeout=5.0, **world.ble_context
    )
    assert dev is not None and dev.name == "Echo"
    missing = await BleakScanner.find_device_by_name("nobody", timeout=0.2, **world.ble_context)
    assert missing is None


async def test_connect_discovers_services_and_large_mtu(world: BumbleWorld) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01"))
    client = await _connected(world, "HRM A")
    try:
        assert client.is_connected
        assert client.mtu_size == 517
        service = client.services.get_service(HRS)
        assert service is not None
        hrm = service.get_characteristic(HRM)
        assert hrm is not None and hrm.properties == ["notify"]
        assert [d.uuid for d in hrm.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
        assert hrm.max_write_without_response_size == 514
        assert client.services.get_service(hrs.BATTERY_SERVICE_UUID) is not None
    finally:
        await client.disconnect()
    assert not client.is_connected
    with pytest.raises(BleakError):
        _ = client.services


async def test_connect_with_a_service_filter(world: BumbleWorld) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01"))
    async with BleakClient(await _find(world, "HRM A"), services=[HRS], **world.ble_context) as c:
        assert [s.uuid for s in c.services] == [HRS]


async def test_detection_callback_sees_every_advertisement(
    world: BumbleWorld, echo_cls: Any
) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    seen: list[tuple[str, int]] = []
    scanner = BleakScanner(lambda d, adv: seen.append((d.address, adv.rssi)), **world.ble_context)
    await scanner.start()
    await _until(lambda: len(seen) >= 3)
    await scanner.stop()
    assert set(seen) == {("C0:00:00:00:00:02", -50)}


async def test_connect_with_pairing(world: BumbleWorld) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01"))
    async with BleakClient(await _find(world, "HRM A"), pair=True, **world.ble_context) as c:
        (link,) = world.central.device.connections.values()
        assert link.is_encrypted  # pairing ran before connect() returned
        assert await c.read_gatt_char(hrs.BATTERY_LEVEL_UUID) == b"\x57"


async def test_connect_by_address_string(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    await _find(world, "Echo")  # the central learns the address type from the scan
    async with BleakClient("C0:00:00:00:00:02", **world.ble_context) as client:
        assert await client.read_gatt_char(echo_cls.RW) == bytearray(b"hello")


async def test_read_and_write_with_and_without_response(world: BumbleWorld, echo_cls: Any) -> None:
    echo = echo_cls("Echo", "C0:00:00:00:00:02")
    await world.add(echo)
    async with BleakClient(await _find(world, "Echo"), **world.ble_context) as client:
        value = await client.read_gatt_char(echo_cls.RW)
        assert isinstance(value, bytearray) and value == b"hello"
        await client.write_gatt_char(echo_cls.RW, b"\x01\x02", response=True)
        assert echo.writes == [b"\x01\x02"]
        await client.write_gatt_char(echo_cls.RW, bytearray(b"abc"), response=False)
        assert await client.read_gatt_char(echo_cls.RW) == b"abc"  # the read queues behind it
        big = bytes(range(256)) * 2  # 512 bytes: more than one ATT PDU at MTU 517? no: fits
        await client.write_gatt_char(echo_cls.RW, big[:500], response=True)
        assert await client.read_gatt_char(echo_cls.RW) == big[:500]
        assert await client.read_gatt_char(hrs.MANUFACTURER_NAME_UUID) == b"LiftSense"


async def test_notify_and_indicate_start_and_stop(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    async with BleakClient(await _find(world, "Echo"), **world.ble_context) as client:
        got: list[tuple[str, bytearray]] = []

        def on_data(sender: BleakGATTCharacteristic, data: bytearray) -> None:
            got.append((sender.uuid, data))

        await client.start_notify(echo_cls.NOTIFY, on_data)
        await client.start_notify(echo_cls.INDICATE, on_data)
        await client.write_gatt_char(echo_cls.RW, b"one", response=True)
        await _until(lambda: len(got) == 2)
        assert sorted(got) == [
            (echo_cls.NOTIFY, bytearray(b"one")),
            (echo_cls.INDICATE, bytearray(b"one")),
        ]
        assert all(isinstance(d, bytearray) for _, d in got)
        await client.stop_notify(echo_cls.NOTIFY)
        await client.write_gatt_char(echo_cls.RW, b"two", response=True)
        await _until(lambda: len(got) == 3)
        await asyncio.sleep(0.05)
        assert got[2] == (echo_cls.INDICATE, bytearray(b"two"))
        assert len(got) == 3


async def test_async_notification_callback(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    async with BleakClient(await _find(world, "Echo"), **world.ble_context) as client:
        queue: asyncio.Queue[bytearray] = asyncio.Queue()

        async def on_data(sender: BleakGATTCharacteristic, data: bytearray) -> None:
            await queue.put(data)

        await client.start_notify(echo_cls.NOTIFY, on_data)
        await client.write_gatt_char(echo_cls.RW, b"x", response=False)
        assert await asyncio.wait_for(queue.get(), 5.0) == b"x"


async def test_att_errors_carry_the_code(world: BumbleWorld) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01", energy=True))
    async with BleakClient(await _find(world, "HRM A"), **world.ble_context) as client:
        with pytest.raises(BleakGATTProtocolError) as info:
            await client.read_gatt_char(HRM)
        assert info.value.code == 0x02  # read not permitted
        with pytest.raises(BleakGATTProtocolError) as info:
            await client.write_gatt_char(hrs.BATTERY_LEVEL_UUID, b"\x10", response=True)
        assert info.value.code == 0x03  # write not permitted
        with pytest.raises(BleakGATTProtocolError) as info:
            await client.write_gatt_char(hrs.HEART_RATE_CONTROL_POINT_UUID, b"\x02", response=True)
        assert info.value.code == 0x80  # control point value not supported
        await client.write_gatt_char(
            hrs.HEART_RATE_CONTROL_POINT_UUID, hrs.RESET_ENERGY_EXPENDED, response=True
        )


async def test_failing_reads_fault(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02", faults=Faults(read_error=0x0E)))
    async with BleakClient(await _find(world, "Echo"), **world.ble_context) as client:
        with pytest.raises(BleakGATTProtocolError) as info:
            await client.read_gatt_char(echo_cls.RW)
        assert info.value.code == 0x0E


async def test_peripheral_disconnect_reaches_callback_with_reason(
    world: BumbleWorld, echo_cls: Any
) -> None:
    echo = echo_cls("Echo", "C0:00:00:00:00:02")
    await world.add(echo)
    lost = asyncio.Event()
    client = await _connected(world, "Echo", disconnected_callback=lambda c: lost.set())
    for connection in list(world.device_of(echo).connections.values()):
        await connection.disconnect(0x08)
    await asyncio.wait_for(lost.wait(), 5.0)
    assert not client.is_connected
    assert client._backend.disconnect_reason == 0x08  # type: ignore[attr-defined]
    with pytest.raises(BleakError):
        await client.read_gatt_char(echo_cls.RW)
    # The device re-advertises: a reconnect works.
    await client.connect()
    assert await client.read_gatt_char(echo_cls.RW) == b"hello"
    await client.disconnect()


async def test_client_disconnect_also_calls_callback(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    calls: list[BleakClient] = []
    client = await _connected(world, "Echo", disconnected_callback=calls.append)
    await client.disconnect()
    await _until(lambda: len(calls) == 1)
    assert calls == [client]
    await client.disconnect()  # idempotent


async def test_disconnect_during_pending_read_raises_bleak_error(
    world: BumbleWorld, echo_cls: Any
) -> None:
    echo = echo_cls("Echo", "C0:00:00:00:00:02", faults=Faults(read_delay_s=5.0))
    await world.add(echo)
    client = await _connected(world, "Echo")
    read = asyncio.create_task(client.read_gatt_char(echo_cls.RW))
    await _until(lambda: echo.reads_started == 1)  # the request is pending on the device
    for connection in list(world.device_of(echo).connections.values()):
        await connection.disconnect(0x13)
    with pytest.raises(BleakError, match="disconnected"):
        await read


async def test_cancelling_the_caller_propagates_cancelled_error(
    world: BumbleWorld, echo_cls: Any
) -> None:
    echo = echo_cls("Echo", "C0:00:00:00:00:02", faults=Faults(read_delay_s=5.0))
    await world.add(echo)
    client = await _connected(world, "Echo")
    read = asyncio.create_task(client.read_gatt_char(echo_cls.RW))
    await _until(lambda: echo.reads_started == 1)  # the request is pending on the device
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    assert client.is_connected
    await client.disconnect()


@pytest.mark.parametrize("faults", [Faults(never_connects=True), Faults(gatt_silent=True)])
async def test_unresponsive_device_times_out(
    world: BumbleWorld, faults: Faults, echo_cls: Any
) -> None:
    await world.add(echo_cls("Dead", "C0:00:00:00:00:03", faults=faults))
    client = BleakClient(await _find(world, "Dead"), timeout=0.3, **world.ble_context)
    with pytest.raises(TimeoutError):
        await client.connect()
    assert not client.is_connected
    # The central is still usable afterwards.
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    async with BleakClient(await _find(world, "Echo"), **world.ble_context) as other:
        assert await other.read_gatt_char(echo_cls.RW) == b"hello"


async def test_connect_timeout_to_a_vanished_device_leaves_the_central_usable(
    world: BumbleWorld, echo_cls: Any
) -> None:
    gone = echo_cls("Gone", "C0:00:00:00:00:05")
    await world.add(gone)
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    stale = await _find(world, "Gone")
    echo = await _find(world, "Echo")
    await world.remove(gone)
    with pytest.raises(TimeoutError):
        await BleakClient(stale, timeout=0.2, **world.ble_context).connect()
    async with BleakClient(echo, **world.ble_context) as client:
        assert await client.read_gatt_char(echo_cls.RW) == b"hello"
    assert len(world.central.device.connections) == 0


async def _run_devices(world: BumbleWorld, n: int) -> None:
    straps = [
        HeartRateStrap(
            f"HRM {i}",
            f"C0:00:00:00:01:{i:02X}",
            source=sine_source(4.0, hr_bpm=60 + i),
            speed=8.0,
            loop=True,
        )
        for i in range(n)
    ]
    for strap in straps:
        await world.add(strap)
    found = await BleakScanner.discover(0.3, service_uuids=[HRS], **world.ble_context)
    assert sorted(d.name for d in found) == sorted(s.name for s in straps)
    clients = [BleakClient(d, **world.ble_context) for d in found]
    await asyncio.gather(*(c.connect() for c in clients))  # serialised inside the backend
    received: dict[str, list[int]] = {c.address: [] for c in clients}
    for c in clients:
        await c.start_notify(HRM, lambda s, d, a=c.address: received[a].append(hrs.parse(d).bpm))
    await _until(lambda: all(len(v) >= 2 for v in received.values()), timeout_s=5.0)
    for c in clients:
        await c.disconnect()
    expected = {s.address: 60 + i for i, s in enumerate(straps)}
    assert {a: set(v) for a, v in received.items()} == {a: {b} for a, b in expected.items()}


async def test_two_devices_at_once(world: BumbleWorld) -> None:
    await _run_devices(world, 2)


async def test_eight_devices_at_once(world: BumbleWorld) -> None:
    await _run_devices(world, 8)


async def test_scanning_while_connected(world: BumbleWorld, echo_cls: Any) -> None:
    await world.add(echo_cls("Echo", "C0:00:00:00:00:02"))
    await world.add(echo_cls("Echo 2", "C0:00:00:00:00:04"))
    echo = await _find(world, "Echo")
    async with (
        BleakScanner(**world.ble_context) as scanner,
        BleakClient(echo, **world.ble_context) as client,
    ):
        await asyncio.sleep(0.1)
        assert {d.name for d in scanner.discovered_devices} >= {"Echo 2"}
        assert await client.read_gatt_char(echo_cls.RW) == b"hello"


_SERVER = """
import sys
from liftsense.emulate.serve import main
sys.exit(main(sys.argv[1:]))
"""


async def test_hci_over_tcp_between_two_processes() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVER,
        *("--listen", "127.0.0.1:0", "--strap", "TCP Strap", "--imu", "TCP IMU", "--speed", "10"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # an unread pipe could fill and stall the server
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20.0)).decode()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.strip().rsplit(":", 1)[1])
        ctx = await open_transport_context(f"tcp-client:127.0.0.1:{port}")
        try:
            dev = await BleakScanner.find_device_by_name(
                "TCP Strap", timeout=5.0, **ctx.ble_context
            )
            assert dev is not None
            async with BleakClient(dev, **ctx.ble_context) as client:
                assert client.mtu_size == 517
                beats: asyncio.Queue[int] = asyncio.Queue()
                await client.start_notify(HRM, lambda s, d: beats.put_nowait(hrs.parse(d).bpm))
                assert await asyncio.wait_for(beats.get(), 5.0) == 72
                assert await client.read_gatt_char(hrs.BATTERY_LEVEL_UUID) == b"\x57"
            imu = await BleakScanner.find_device_by_name("TCP IMU", timeout=5.0, **ctx.ble_context)
            assert imu is not None
            async with BleakClient(imu, **ctx.ble_context) as client:
                packets: asyncio.Queue[bytes] = asyncio.Queue()
                await client.start_notify(diy_imu.DATA_UUID, lambda s, d: packets.put_nowait(d))
                config = diy_imu.ImuConfig(rate_hz=200, streaming=True)  # fill the 517 MTU
                await client.write_gatt_char(
                    diy_imu.CONFIG_UUID, diy_imu.encode_config(config), response=True
                )
                first = diy_imu.parse_packet(await asyncio.wait_for(packets.get(), 5.0))
                second = diy_imu.parse_packet(await asyncio.wait_for(packets.get(), 5.0))
                assert first.n_samples == diy_imu.max_samples(517, 6) == 40  # 506-byte packets
                assert diy_imu.lost_packets(first.seq, second.seq) == 0
        finally:
            await ctx.close()
    finally:
        proc.terminate()
        await proc.wait()


async def test_transport_that_cannot_open_raises_device_error() -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DeviceError, match="cannot open HCI transport"):
        await open_transport_context(f"tcp-client:127.0.0.1:{port}")


def test_importing_the_emulation_does_not_import_bumble() -> None:
    code = (
        "import sys, liftsense.emulate.world, liftsense.emulate.wearables, "
        "liftsense.emulate.sources, liftsense.emulate.serve\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'bumble'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def _until(predicate: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)
