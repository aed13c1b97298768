"""A shortened `make demo`, end to end: emulated wearables, BLE, collector, analysis, reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd

from liftsense.analysis.logs import log_soreness
from liftsense.demo import run
from liftsense.emulate.motion import generate
from liftsense.emulate.offline import write_recording
from liftsense.emulate.scenarios import scenario
from liftsense.recording import load


def small_cohort(folder: Path) -> Path:
    folder.mkdir()
    for i, subject in enumerate(("anna", "anna", "ben")):
        spec = scenario("short")
        start = pd.Timestamp(spec.start) + pd.Timedelta(days=3 * i)
        spec = replace(spec, start=start.isoformat())
        write_recording(generate(spec, seed=i), folder / f"{subject}-{i}", subject=subject)
        for hours in (24, 48):
            at = start.to_pydatetime() + timedelta(hours=hours)
            log_soreness(folder, "quads", 3 + i, at=at, subject=subject)
    return folder


def test_short_demo_end_to_end(tmp_path: Path) -> None:
    cohort = small_cohort(tmp_path / "cohort")
    paths = run(tmp_path / "out", scenario="short", speed=4.0, cohort=cohort)
    rec = load(paths["recording"])
    assert {s for s, _ in rec.keys} >= {"acc", "hr", "rr"}
    assert len(rec.devices("acc")) == 2  # the chest strap and the bar IMU
    assert rec.meta.intake[0].substance == "caffeine"
    for report in ("session_report", "cohort_report"):
        html = paths[report].read_text()
        assert html.lstrip().lower().startswith("<!doctype html")
        assert "http://" not in html and "https://" not in html
    assert paths["recording"].with_name(paths["recording"].stem + ".truth.json").exists()
