"""Terminal output: the end-of-recording summary of what each device delivered."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from liftsense.ble.collector import Collector, DeviceStatus, scan
from liftsense.emulate.imu_board import ImuBoard
from liftsense.emulate.sources import sine_source
from liftsense.emulate.wearables import Faults, HeartRateStrap
from liftsense.emulate.world import BumbleWorld, open_world
from liftsense.journal import JournalWriter
from liftsense.recording import Recording, load
from liftsense.report.console import (
    LiveDashboard,
    collection_table,
)
from liftsense.schema import SessionMeta

DROPPED = frozenset({5, 6, 30})  # IMU data notifications the board counts but never sends


def summary_row(text: str, label: str) -> list[list[str]]:
    """The cells of the summary row of ``label`` in rich's exported text, line by line."""
    lines = text[text.index("duplicates dropped") :].splitlines()
    first = next(i for i, ln in enumerate(lines) if f" {label} " in ln)
    out: list[list[str]] = []
    for ln in lines[first:]:
        cells = [cell.strip() for cell in ln.strip().strip("│").split("│")]
        if not ln.startswith("│") or (out and cells[0]):
            break
        out.append(cells)
    return out


async def record_with_drops(
    world: BumbleWorld, tmp_path: Path
) -> tuple[Collector, ImuBoard, Console, Recording]:
    """An HR strap and an IMU board that drops ``DROPPED``, recorded under a LiveDashboard."""
    src = sine_source(30.0)
    imu = ImuBoard(
        "LiftSense IMU 01", "C0:00:00:00:00:02", source=src, speed=4.0, faults=Faults(DROPPED)
    )
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01", source=src, speed=4.0))
    await world.add(imu)
    for _ in range(20):
        found = [f for f in await scan(world.ble_context, timeout_s=0.1) if f.profile]
        if len(found) == 2:
            break
    journal = JournalWriter(tmp_path / "rec", SessionMeta(session_id="counts"))
    collector = Collector(journal, found, ble_context=world.ble_context)
    console = Console(record=True, width=120, force_terminal=False)
    with LiveDashboard(console, keys=False) as live:
        live.on_ready(journal.parquet_path)
        task = asyncio.create_task(collector.run())
        # past the last dropped packet, so that a received one follows each drop
        while imu.stream_stats("imu").produced <= max(DROPPED) + 10:
            live.show(collector, journal, 0.0)
            await asyncio.sleep(0.05)
        collector.stop()
        await asyncio.wait_for(task, 10.0)
        live.show(collector, journal, 0.0)
    return collector, imu, console, load(journal.close())


async def test_summary_shows_samples_lost_packets_duplicates_and_reconnects(
    tmp_path: Path,
) -> None:
    world = await open_world(advertising_interval_ms=20.0)
    try:
        collector, imu, console, rec = await record_with_drops(world, tmp_path)
    finally:
        await world.close()

    counts = {c.label: c for c in collector.status()}
    [imu_label] = rec.devices("gyro")
    [hr_label] = rec.devices("hr")
    assert imu.stream_stats("imu").dropped == len(DROPPED)

    def counted(st: DeviceStatus) -> tuple[dict[str, int], int | None, int | None, int]:
        return st.samples, st.lost_packets, st.duplicates, st.reconnects

    rows = {"acc": len(rec.stream("acc")), "gyro": len(rec.stream("gyro"))}
    assert counted(counts[imu_label]) == (rows, len(DROPPED), 0, 0)
    # a standard HR strap has no sequence numbers: nothing to count, shown as "-"
    rows = {"hr": len(rec.stream("hr")), "rr": len(rec.stream("rr"))}
    assert counted(counts[hr_label]) == (rows, None, None, 0)

    text = console.export_text()
    assert "lost packets" in text and "duplicates dropped" in text
    acc, gyro = counts[imu_label].samples["acc"], counts[imu_label].samples["gyro"]
    assert summary_row(text, imu_label) == [
        [imu_label, f"acc {acc:,}", "3", "0", "0"],
        ["", f"gyro {gyro:,}", "", "", ""],
    ]
    hr, rr = counts[hr_label].samples["hr"], counts[hr_label].samples["rr"]
    assert summary_row(text, hr_label) == [
        [hr_label, f"hr {hr:,}", "-", "-", "0"],
        ["", f"rr {rr:,}", "", "", ""],
    ]


def test_summary_table_formats_large_counts() -> None:
    status = DeviceStatus(
        label="H10-A1B2C3D4",
        address="A0:9E:1A:00:00:01",
        model="Polar H10",
        state="stopped",
        samples={"acc": 1_234_567, "ecg": 0},
        hr_bpm=None,
        battery_percent=None,
        gaps=0,
        reconnects=3,
        decode_errors=0,
        last_error="",
        lost_packets=None,
        duplicates=12,
    )
    table = collection_table([status])
    console = Console(record=True, width=120, force_terminal=False)
    console.print(table)
    assert summary_row(console.export_text(), "H10-A1B2C3D4") == [
        ["H10-A1B2C3D4", "acc 1,234,567", "-", "12", "3"],
        ["", "ecg 0", "", "", ""],
    ]
