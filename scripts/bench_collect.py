"""Collector cost and completeness with N emulated 200 Hz IMU boards.

    .venv/bin/python scripts/bench_collect.py [--seconds 8] [--devices 1 4 8]

For each N, the same world (N IMU boards at 200 Hz, 6 channels, 10 samples per notification,
played in real time) is recorded twice for ``--seconds``:

* baseline: one bleak client per board that subscribes, starts the stream and only counts the
  notifications (the emulator and the BLE stack, nothing of the collector);
* collector: ``Collector`` into a real ``JournalWriter`` (decode, clock alignment, journal).

It prints samples lost (sent by the boards minus samples in the finalized recording; a packet
in flight when the stream is stopped may be lost), process CPU of each run (1.0 = one core),
the collector's own CPU per device ``(cpu_collector - cpu_baseline) / N`` as a share of one
core, and the journal lag: the most samples ever decoded but not yet written (sampled every
0.25 s), in seconds of data.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from bleak import BleakClient

from liftsense.ble import diy_imu
from liftsense.ble.collector import Collector, Found, scan
from liftsense.emulate.imu_board import ImuBoard
from liftsense.emulate.sources import sine_source
from liftsense.emulate.world import BumbleWorld, open_world
from liftsense.journal import JournalWriter
from liftsense.schema import SessionMeta

CONFIG = diy_imu.ImuConfig(streaming=True, samples_per_packet=10)


async def _world(n: int, seconds: float) -> tuple[BumbleWorld, list[ImuBoard]]:
    world = await open_world(advertising_interval_ms=20.0)
    boards = [
        ImuBoard(
            f"LiftSense IMU {i:02d}", f"C0:00:00:00:01:{i:02X}", source=sine_source(seconds + 5)
        )
        for i in range(n)
    ]
    for board in boards:
        await world.add(board)
    return world, boards


async def _targets(world: BumbleWorld, n: int) -> list[Found]:
    for _ in range(50):
        found = [f for f in await scan(world.ble_context, timeout_s=0.2) if f.profile]
        if len(found) >= n:
            return found[:n]
    raise RuntimeError(f"only {len(found)} of {n} boards advertise")


async def baseline(n: int, seconds: float) -> float:
    """Process CPU share while N boards stream into counting callbacks."""
    world, _ = await _world(n, seconds)
    clients = []
    count = [0]

    def on_value(_: object, data: bytearray) -> None:
        count[0] += 1

    try:
        for found in await _targets(world, n):
            assert found.device is not None
            client = BleakClient(found.device, **world.ble_context)
            await client.connect()
            await client.start_notify(diy_imu.DATA_UUID, on_value)
            await client.write_gatt_char(diy_imu.CONFIG_UUID, diy_imu.encode_config(CONFIG))
            clients.append(client)
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0)
        for client in clients:
            await client.disconnect()
    finally:
        await world.close()
    return cpu


async def collect(n: int, seconds: float, out: Path) -> tuple[float, int, int, int]:
    """(CPU share, samples sent, samples recorded, worst journal lag in samples)."""
    world, boards = await _world(n, seconds)
    journal = JournalWriter(out / f"bench{n}", SessionMeta(session_id=f"bench{n}"))
    try:
        collector = Collector(journal, await _targets(world, n), ble_context=world.ble_context)
        task = asyncio.create_task(collector.run())
        await asyncio.sleep(1.0)  # connected and streaming
        cpu0, t0 = time.process_time(), time.perf_counter()
        lag = 0
        while time.perf_counter() - t0 < seconds:
            await asyncio.sleep(0.25)
            decoded = sum(sum(s.samples.values()) for s in collector.status()) // 2  # acc+gyro
            lag = max(lag, decoded - journal.samples_written // 2)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0)
        collector.stop()
        await task
    finally:
        path = journal.close()
        await world.close()
    table = pq.read_table(path, columns=["stream"])
    recorded = sum(1 for s in table["stream"].to_pylist() if s == "acc")
    sent = sum(b.stats["imu"].sent for b in boards) * CONFIG.samples_per_packet
    return cpu, sent, recorded, lag


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    print(
        f"{'N':>3} {'base cpu':>9} {'coll cpu':>9} {'ratio':>6} {'coll/dev':>9} "
        f"{'sent':>7} {'lost':>5} {'max lag s':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.devices:
            base = await baseline(n, args.seconds)
            cpu, sent, recorded, lag = await collect(n, args.seconds, Path(tmp))
            per_device = (cpu - base) / n
            print(
                f"{n:>3} {base:>9.3f} {cpu:>9.3f} {cpu / base:>6.2f} {per_device:>9.2%} "
                f"{sent:>7} {sent - recorded:>5} {lag / (200 * n):>9.2f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
