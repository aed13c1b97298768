"""How many emulated 200 Hz IMU boards plus HR straps one process sustains, with zero loss.

    .venv/bin/python scripts/bench_emulation.py [--seconds 5] [--max-devices 64]

For N = 1, 2, 4, 8, 16, 24, ... IMU boards (200 Hz, 6 channels, 10 samples per notification) plus
N/2 HR straps (1 Hz), all in one emulated world with one bleak client each (decoding every
packet with LiftSense's decoders), it runs in real time for ``--seconds`` and prints:

* loss: packets produced by the devices minus packets the clients decoded, plus sequence gaps;
* lag: how far delivery trails the device schedule (samples due by the end minus received);
* notifications/s, samples/s and CPU (process time / wall time, 1.0 = one core).

"Sustained" = zero loss and a final backlog under two notifications per device. The baseline,
measured in the same run, plays the same devices with the same encoders and decoders but hands
each packet straight to the decoder (no BLE stack): ``ratio`` = CPU per notification through
bumble + bleak / CPU per notification of the baseline. It also times a fresh world (central +
one strap + one IMU board, ready to be scanned) and a flat-out run (speed 100).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner

from liftsense.ble import diy_imu, hrs
from liftsense.emulate.imu_board import ImuBoard
from liftsense.emulate.sources import sine_source
from liftsense.emulate.wearables import HeartRateStrap
from liftsense.emulate.world import open_world

RATE_HZ = 200
BATCH = 10
CONFIG = diy_imu.ImuConfig(rate_hz=RATE_HZ, streaming=True, samples_per_packet=BATCH)


@dataclass
class Result:
    devices: int
    straps: int
    wall_s: float
    cpu: float
    notifications: int
    samples: int
    lost: int
    backlog_samples: int

    @property
    def sustained(self) -> bool:
        return self.lost == 0 and self.backlog_samples < 2 * BATCH * self.devices


def _imu_cb(on_imu: Any, name: str, sender: Any, data: bytearray) -> None:
    on_imu(name, data)


async def _drained(counts: dict[str, int], limit_s: float = 5.0) -> None:
    """Wait until no notification has arrived for 0.2 s (in-flight ones are not losses)."""
    last, quiet = -1, 0
    for _ in range(int(limit_s / 0.05)):
        if counts["notifications"] == last:
            quiet += 1
            if quiet >= 4:
                return
        else:
            last, quiet = counts["notifications"], 0
        await asyncio.sleep(0.05)


async def run_world(n_imu: int, n_hr: int, seconds: float, speed: float = 1.0) -> Result:
    source = sine_source(max(seconds * speed + 10.0, 30.0))
    world = await open_world()
    boards = [
        ImuBoard(f"IMU {i}", f"C0:00:00:00:10:{i:02X}", source=source, speed=speed)
        for i in range(n_imu)
    ]
    straps = [
        HeartRateStrap(f"HRM {i}", f"C0:00:00:00:20:{i:02X}", source=source, speed=speed)
        for i in range(n_hr)
    ]
    for device in (*boards, *straps):
        await world.add(device)
    found = await BleakScanner.discover(0.3, **world.ble_context)
    by_name = {d.name: d for d in found}
    counts = {"notifications": 0, "samples": 0, "gaps": 0}
    last_seq: dict[str, int] = {}

    def on_imu(name: str, data: bytearray) -> None:
        packet = diy_imu.parse_packet(data)
        if name in last_seq:
            counts["gaps"] += max(diy_imu.lost_packets(last_seq[name], packet.seq), 0)
        last_seq[name] = packet.seq
        counts["notifications"] += 1
        counts["samples"] += packet.n_samples

    def on_hr(data: bytearray) -> None:
        hrs.parse(data)
        counts["notifications"] += 1

    clients: list[BleakClient] = []
    for board in boards:
        client = BleakClient(by_name[board.name], **world.ble_context)
        await client.connect()
        await client.start_notify(diy_imu.DATA_UUID, functools.partial(_imu_cb, on_imu, board.name))
        clients.append(client)
    for strap in straps:
        client = BleakClient(by_name[strap.name], **world.ble_context)
        await client.connect()
        await client.start_notify(hrs.HEART_RATE_MEASUREMENT_UUID, lambda s, d: on_hr(d))
        clients.append(client)
    config = diy_imu.encode_config(CONFIG)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for client in clients[: len(boards)]:
        await client.write_gatt_char(diy_imu.CONFIG_UUID, config, response=True)
    await asyncio.sleep(seconds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    due = int(wall * speed * RATE_HZ) * len(boards)
    received_samples = counts["samples"]
    for device in (*boards, *straps):
        await device.stop()  # stop producing, then let in-flight notifications land
    await _drained(counts)
    produced = sum(s.produced for d in (*boards, *straps) for s in d.stats.values())
    result = Result(
        n_imu,
        n_hr,
        wall,
        cpu / wall,
        counts["notifications"],
        counts["samples"],
        produced - counts["notifications"] + counts["gaps"],
        max(0, due - received_samples),
    )
    for client in clients:
        await client.disconnect()
    await world.close()
    return result


async def run_baseline(n_imu: int, n_hr: int, seconds: float) -> Result:
    """The same devices, encoders and decoders without the BLE stack in between."""
    source = sine_source(seconds + 10.0)
    counts = {"notifications": 0, "samples": 0}

    class Direct:
        def __init__(self, decode: Any) -> None:
            self.decode = decode

        async def __call__(self, stream: str, characteristic: Any, value: bytes) -> None:
            self.decode(bytearray(value))

    def on_imu(data: bytearray) -> None:
        counts["samples"] += diy_imu.parse_packet(data).n_samples
        counts["notifications"] += 1

    def on_hr(data: bytearray) -> None:
        hrs.parse(data)
        counts["notifications"] += 1

    boards = [ImuBoard(f"IMU {i}", "C0:00:00:00:00:01", source=source) for i in range(n_imu)]
    straps = [HeartRateStrap(f"HRM {i}", "C0:00:00:00:00:02", source=source) for i in range(n_hr)]
    for device in (*boards, *straps):
        device.services()  # builds the characteristics the streams notify on
    for device in boards:
        device.notify = Direct(on_imu)  # type: ignore[method-assign]
    for device in straps:
        device.notify = Direct(on_hr)  # type: ignore[method-assign]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for device in (*boards, *straps):
        await device.start()
    tasks = [asyncio.ensure_future(b._run(CONFIG, 517)) for b in boards]
    await asyncio.sleep(seconds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    for task in tasks:
        task.cancel()
    for device in (*boards, *straps):
        await device.stop()
    return Result(n_imu, n_hr, wall, cpu / wall, counts["notifications"], counts["samples"], 0, 0)


async def world_ready_ms(repeats: int = 20) -> tuple[float, float]:
    """Median ms for a bare world, and for a world with a strap and an IMU board advertising."""
    await (await open_world()).close()  # imports and first-use costs out of the timing
    bare, full = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        world = await open_world()
        bare.append((time.perf_counter() - t0) * 1e3)
        await world.close()
        t0 = time.perf_counter()
        world = await open_world()
        await world.add(HeartRateStrap("HRM", "C0:00:00:00:00:01"))
        await world.add(ImuBoard("IMU", "C0:00:00:00:00:02"))
        full.append((time.perf_counter() - t0) * 1e3)
        await world.close()
    return statistics.median(bare), statistics.median(full)


def _line(label: str, r: Result) -> str:
    rate = r.notifications / r.wall_s
    return (
        f"{label:<22} notif/s {rate:8.0f}  samples/s {r.samples / r.wall_s:9.0f}  "
        f"CPU {r.cpu:5.2f}  lost {r.lost:3d}  backlog {r.backlog_samples:5d}  "
        f"{'sustained' if r.sustained else 'NOT sustained'}"
    )


async def main(seconds: float, max_devices: int) -> None:
    bare_ms, full_ms = await world_ready_ms()
    print(f"fresh world ready: {bare_ms:.1f} ms (central only), {full_ms:.1f} ms (+ strap + IMU)")
    best = 0
    n = 1
    results: dict[int, Result] = {}
    while n <= max_devices:
        r = await run_world(n, max(1, n // 2), seconds)
        results[n] = r
        print(_line(f"{n:2d} IMU + {max(1, n // 2):2d} HR", r))
        if not r.sustained:
            break
        best = n
        n = n * 2 if n < 16 else n + 8
    straps = max(1, best // 2)
    print(f"=> sustained with zero loss: {best} IMU boards at {RATE_HZ} Hz + {straps} straps")
    ref = results.get(8) or results[max(results)]
    base = await run_baseline(ref.devices, ref.straps, seconds)
    print(_line(f"baseline {ref.devices} IMU (no BLE)", base))
    per_notif = ref.cpu * ref.wall_s / max(ref.notifications, 1)
    per_base = base.cpu * base.wall_s / max(base.notifications, 1)
    print(
        f"CPU per notification: {per_notif * 1e6:.0f} µs through bumble+bleak vs "
        f"{per_base * 1e6:.0f} µs baseline: ratio {per_notif / per_base:.1f}"
    )
    # Flat out: devices played 100x faster than real time saturate the loop.
    flat = await run_world(4, 0, min(seconds, 3.0), speed=100.0)
    print(
        f"flat out (4 IMU at 100x): {flat.notifications / flat.wall_s:.0f} notifications/s, "
        f"{flat.samples / flat.wall_s:.0f} samples/s, CPU {flat.cpu:.2f}, lost {flat.lost}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-devices", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.max_devices))
