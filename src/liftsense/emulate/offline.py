"""Write a synthetic session straight to a recording, without the BLE round trip.

``liftsense record --simulate`` plays synthetic sessions through emulated wearables and the real
collector; this module writes the same samples directly through the journal, for sample cohorts,
batch benchmarks and analysis tests that do not need to exercise BLE. The heart-rate strap's
output is rebuilt as a strap sends it (1 Hz bpm, RR in 1/1024 s).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from liftsense import __version__
from liftsense.emulate.heartmodel import strap_notifications
from liftsense.emulate.motion import SyntheticSession
from liftsense.finalize import paths_for
from liftsense.journal import JournalWriter
from liftsense.schema import DeviceInfo, Intake, SessionMeta, SetPlan, StreamInfo

IMU_LABEL = "IMU-BAR"
STRAP_LABEL = "HR-STRAP"


def write_recording(
    session: SyntheticSession,
    base: str | Path,
    *,
    subject: str = "demo",
    session_id: str | None = None,
    caffeine_mg: float | None = None,
    caffeine_at_s: float = 0.0,
) -> Path:
    """Write ``session`` as ``<base>.parquet`` (and ``<base>.truth.json``); return the path.

    Args:
        session: from ``liftsense.emulate.motion.generate``.
        base: recording path without suffix.
        subject, session_id: metadata (session_id defaults to the file name).
        caffeine_mg, caffeine_at_s: an intake to log, at seconds from the session start
            (negative: before the recording started).
    """
    spec = session.spec
    start = pd.Timestamp(spec.start)
    start_ns = int(start.value)
    parquet = paths_for(base)[0]
    devices = [
        DeviceInfo(
            IMU_LABEL,
            model="LiftSense open IMU (synthetic)",
            streams={
                "acc": StreamInfo(spec.rate_hz, spec.range_g),
                **({"gyro": StreamInfo(spec.rate_hz, 2000.0)} if spec.gyro else {}),
            },
        ),
        DeviceInfo(STRAP_LABEL, model="HR strap (synthetic)", streams={"hr": StreamInfo(1.0)}),
    ]
    intake: tuple[Intake, ...] = ()
    if caffeine_mg:
        t = start.to_pydatetime() + timedelta(seconds=caffeine_at_s)
        intake = (Intake(t, "caffeine", float(caffeine_mg)),)
    meta = SessionMeta(
        session_id=session_id or parquet.stem,
        subject=subject,
        started_at=start.to_pydatetime(),
        software_version=__version__,
        devices=tuple(devices),
        sets=tuple(SetPlan(s.exercise, s.load_kg, str(s.tempo)) for s in spec.sets),
        intake=intake,
    )
    imu = session.imu
    t_ns = imu.index.to_numpy(np.int64)
    with JournalWriter(base, meta) as journal:
        journal.append("acc", IMU_LABEL, t_ns, xyz=imu[["x", "y", "z"]].to_numpy(np.float32))
        if spec.gyro:
            journal.append(
                "gyro", IMU_LABEL, t_ns, xyz=imu[["gx", "gy", "gz"]].to_numpy(np.float32)
            )
        heart = session.heart
        duration_s = (t_ns[-1] - t_ns[0]) / 1e9 if len(t_ns) else None
        notes = strap_notifications(
            heart.observed_beat_t_s, heart.observed_rr_ms, duration_s=duration_s
        )
        journal.append(
            "hr",
            STRAP_LABEL,
            start_ns + (notes.notify_t_s * 1e9).astype(np.int64),
            value=notes.bpm,
        )
        # what the strap can tell: RR quantised to 1/1024 s, beat times from RR sums
        rr_1024 = np.round(heart.observed_rr_ms * 1.024)
        beats_ns = start_ns + (heart.observed_beat_t_s * 1e9).astype(np.int64)
        keep = (beats_ns >= start_ns) & (rr_1024 > 0)
        journal.append("rr", STRAP_LABEL, beats_ns[keep], value=rr_1024[keep] / 1.024)
    truth = parquet.with_name(parquet.stem + ".truth.json")
    truth.write_text(json.dumps(json.loads(session.truth.to_json()), indent=1))
    return parquet
