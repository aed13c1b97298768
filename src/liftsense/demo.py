"""``liftsense demo`` / ``make demo``: the whole story on emulated wearables, in one command.

1. Emulated wearables on a real BLE stack (bumble): a Polar-like chest strap streaming HR, RR and
   ACC, and the open IMU board on the bar, play a synthetic hip-thrust and Romanian-deadlift
   session at ``speed`` times real time.
2. The real collector records it over GATT into a journal, finalized to one Parquet file.
3. The recording is analysed (sets, reps, tempo, eccentric TUT, heart) and scored against the
   generator's truth.
4. A per-session report, and a cross-session report over the sample cohort in
   ``recordings/cohort`` (made by ``scripts/make_samples.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

SAMPLE_COHORT = Path("recordings/cohort")


def _record(out: Path, *, scenario: str, speed: float, console: Console) -> Path:
    from liftsense.record import RecordOptions, record
    from liftsense.report.console import LiveDashboard

    opts = RecordOptions(
        out=out,
        subject="demo",
        simulate=scenario,
        speed=speed,
        caffeine_mg=200.0,
        taken_at=timedelta(minutes=-45),
        name=f"demo-{time.strftime('%Y%m%d-%H%M%S')}",
    )
    with LiveDashboard(console, keys=False) as live:
        return asyncio.run(record(opts, show=live.show, on_ready=live.on_ready))


def score(analysis: Any, truth_path: Path) -> str:
    """One line comparing detected sets and reps with the generator's truth."""
    truth = json.loads(truth_path.read_text())
    true_reps = [len(s["reps"]) for s in truth["sets"]]
    found_reps = [s.n_reps for s in analysis.sets]
    exact = sum(a == b for a, b in zip(found_reps, true_reps, strict=False))
    ecc_true = sum(s["eccentric_tut_s"] for s in truth["sets"])
    ecc_found = sum(s.eccentric_tut_s for s in analysis.sets)
    return (
        f"against the truth: {len(found_reps)}/{len(true_reps)} sets, exact rep count in "
        f"{exact}/{len(true_reps)}, eccentric TUT {ecc_found:.1f} s vs {ecc_true:.1f} s true"
    )


def run(
    out: Path,
    *,
    scenario: str = "demo",
    speed: float = 8.0,
    cohort: Path | None = SAMPLE_COHORT,
) -> dict[str, Path]:
    """Run the demo; return the paths it wrote (recording, session report, cohort report)."""
    from liftsense.analysis.session import analyze
    from liftsense.report.console import heart_line, sets_table
    from liftsense.report.session import write_session_report

    console = Console()
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    console.rule("1. emulated wearables -> BLE -> collector -> journal")
    path = _record(out, scenario=scenario, speed=speed, console=console)
    console.print(f"recorded [bold]{path}[/bold]")

    console.rule("2. analysis")
    analysis = analyze(path)
    console.print(sets_table([analysis]))
    console.print(heart_line(analysis))
    for w in analysis.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    truth = path.with_name(path.stem + ".truth.json")
    if truth.exists():
        console.print(score(analysis, truth))

    console.rule("3. reports")
    paths = {"recording": path}
    paths["session_report"] = write_session_report(analysis, path.with_suffix(".html"))
    if cohort is not None and cohort.is_dir():
        from liftsense.report.cohort import write_cohort_report

        paths["cohort_report"] = write_cohort_report(cohort, out / "cohort.html")
    else:
        console.print(f"(no sample cohort at {cohort}; run scripts/make_samples.py for one)")
    for what, p in paths.items():
        console.print(f"{what.replace('_', ' '):15} [bold]{p}[/bold]")
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s")
    return paths
