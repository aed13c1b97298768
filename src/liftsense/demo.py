"""``liftsense demo`` / ``make demo``: the whole pipeline on built-in synthetic data."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from liftsense import __version__
from liftsense.recording import JournalWriter, load
from liftsense.schema import DeviceInfo, SessionMeta, SetPlan, StreamInfo


def make_recording(out: Path, *, seconds: float = 60.0, seed: int = 0) -> Path:
    """A short synthetic recording (bar IMU at 200 Hz, strap HR and RR) written by the journal."""
    rng = np.random.default_rng(seed)
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    meta = SessionMeta(
        session_id=name,
        subject="demo",
        software_version=__version__,
        devices=(
            DeviceInfo("IMU-BAR", model="LiftSense open IMU", streams={"acc": StreamInfo(200, 8)}),
            DeviceInfo(
                "HR-STRAP", model="HR strap", streams={"hr": StreamInfo(1), "rr": StreamInfo()}
            ),
        ),
        sets=(SetPlan("back squat", 100.0, "3-1-1-0"),),
    )
    t0 = time.time_ns()
    n = int(seconds * 200)
    t_s = np.arange(n) / 200.0
    vertical = 9.81 + 2.0 * np.sin(2 * np.pi * t_s / 5.0) * (t_s > 10) * (t_s < 40)
    with JournalWriter(out / name, meta) as journal:
        journal.append(
            "acc",
            "IMU-BAR",
            t0 + (t_s * 1e9).astype(np.int64),
            x=rng.normal(0, 0.05, n),
            y=rng.normal(0, 0.05, n),
            z=vertical + rng.normal(0, 0.05, n),
        )
        rr_ms = 60_000 / 75 + rng.normal(0, 20, int(seconds * 1.25))
        beats = t0 + (np.cumsum(rr_ms) * 1e6).astype(np.int64)
        keep = beats < t0 + int(seconds * 1e9)
        journal.append("rr", "HR-STRAP", beats[keep], value=rr_ms[keep])
        journal.append(
            "hr",
            "HR-STRAP",
            t0 + np.arange(int(seconds)) * 1_000_000_000,
            value=np.full(int(seconds), 75.0),
        )
    return journal.parquet_path


def run(out: Path) -> None:
    from rich.console import Console

    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    path = make_recording(out)
    rec = load(path)
    console.print(f"recorded [bold]{path}[/bold]")
    for s in rec.summary():
        console.print(f"  {s.stream:5} {s.device:9} {s.samples:7,} samples  {s.rate_hz:7.2f} Hz")
