"""Benchmark the HTML reports against the analysis they render, measured in the same run.

Session report: a synthetic one-hour session (24 sets of hip thrust and Romanian deadlift,
200 Hz IMU with gyro, HR strap with RR, caffeine logged) is written as a recording, analysed
with ``analyze`` (the baseline), then rendered with ``write_session_report``. The first report
in a process also pays for importing matplotlib; it is reported separately ("cold"), and the
figure compared with the target is the median of the following runs ("warm"), which is what
batch processing sees after its first recording. Target: <= 3 s.

Cohort report: ``--sessions`` (default 200) analyses over 5 subjects with soreness and intake
logs. Only a few distinct recordings are generated and analysed; the cohort is built from them
by giving each copy its own subject, session id, start date and loads (the report renders
analyses and never re-detects reps, so copies cost it exactly what distinct sessions would).
The per-recording analysis is excluded from the target, as batch parallelises it; it is shown
as the baseline: the measured time to analyse one recording times the number of sessions.
Target: <= 10 s.

Wall-clock times are compared with the targets; CPU times (``time.process_time``) are printed
beside them because other work on a shared machine inflates wall-clock time.

    .venv/bin/python scripts/bench_report.py
    .venv/bin/python scripts/bench_report.py --sessions 200 --repeat 3 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from liftsense.analysis.session import SessionAnalysis, analyze
from liftsense.emulate.motion import generate
from liftsense.emulate.offline import write_recording
from liftsense.emulate.scenarios import scenario
from liftsense.recording import load
from liftsense.report.cohort import write_cohort_report
from liftsense.report.session import write_session_report

MUSCLES = ("glutes", "hamstrings", "quads", "back", "core")


def hour_session(folder: Path) -> Path:
    demo = scenario("demo")
    spec = dataclasses.replace(
        demo, sets=demo.sets * 4, rest_s=120.0, lead_in_s=420.0, hr_elevation_bpm=8.0
    )
    session = generate(spec, seed=7)
    return write_recording(
        session, folder / "hour", subject="bench", caffeine_mg=200, caffeine_at_s=120.0
    )


def bench_session(folder: Path, repeat: int) -> None:
    t = time.perf_counter()
    path = hour_session(folder)
    gen_s = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    rec = load(path)
    analysis = analyze(rec)
    analyze_s, analyze_cpu = time.perf_counter() - t, time.process_time() - c
    times, cpu = [], []
    for _ in range(repeat + 1):
        t, c = time.perf_counter(), time.process_time()
        out = write_session_report(analysis, folder / "hour.html", recording=rec)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    cold, warm = times[0], statistics.median(times[1:])
    minutes = analysis.duration_s / 60
    reps = sum(s.n_reps for s in analysis.sets)
    print(f"session: {minutes:.0f} min, {len(analysis.sets)} sets, {reps} reps "
          f"(recording written in {gen_s:.1f} s)")  # fmt: skip
    print(f"  analyze (baseline)       {analyze_s:6.2f} s   (CPU {analyze_cpu:.2f} s)")
    print(f"  report, cold (+import)   {cold:6.2f} s   ratio to analyze {cold / analyze_s:5.2f}"
          f"   (CPU {cpu[0]:.2f} s)")  # fmt: skip
    verdict = "ok" if warm <= 3 else "MISSED"
    print(f"  report, warm (median {repeat}) {warm:6.2f} s   ratio to analyze "
          f"{warm / analyze_s:5.2f}   target <= 3 s: {verdict}   "
          f"(CPU {statistics.median(cpu[1:]):.2f} s)")  # fmt: skip
    print(f"  {out} ({out.stat().st_size / 1e6:.2f} MB)")


def _copies(base: list[SessionAnalysis], n: int, n_subjects: int) -> list[SessionAnalysis]:
    rng = np.random.default_rng(3)
    out = []
    per = n // n_subjects
    for k in range(n):
        src = base[k % len(base)]
        subject, j = f"S{k % n_subjects + 1}", k // n_subjects
        started = src.meta.started_at + timedelta(days=3 * j + (k % n_subjects) / 10)
        scale = 1.0 + 0.4 * j / max(per, 1) + rng.normal(0, 0.03)
        sets = tuple(dataclasses.replace(s, load_kg=round(s.load_kg * scale, 1)) for s in src.sets)
        meta = src.meta.evolve(subject=subject, session_id=f"{subject}-{j:03d}", started_at=started)
        out.append(dataclasses.replace(src, meta=meta, sets=sets))
    return out


def _logs(folder: Path, analyses: list[SessionAnalysis]) -> None:
    rng = np.random.default_rng(4)
    sore = ["time,subject,muscle,rating"]
    intake = ["time,subject,substance,dose_mg"]
    for a in analyses:
        vl = sum(s.load_kg * s.n_reps for s in a.sets)
        for muscle in MUSCLES:
            for h in (24, 48):
                t = a.meta.started_at + timedelta(hours=h)
                r = int(np.clip(round(vl / 1500 + rng.normal(0, 1.2)), 0, 10))
                sore.append(f"{t.isoformat()},{a.meta.subject},{muscle},{r}")
        if rng.random() < 0.3:
            t = a.meta.started_at + timedelta(hours=24, minutes=-60)
            intake.append(f"{t.isoformat()},{a.meta.subject},caffeine,100")
    (folder / "soreness.csv").write_text("\n".join(sore) + "\n")
    (folder / "intake.csv").write_text("\n".join(intake) + "\n")


def bench_cohort(folder: Path, n: int, repeat: int) -> None:
    base_paths = []
    for k, name in enumerate(("demo", "squat-5x5", "short")):
        session = generate(scenario(name), seed=k)
        base_paths.append(write_recording(session, folder / f"base{k}", subject="base"))
    t, c = time.perf_counter(), time.process_time()
    base = [analyze(p) for p in base_paths]
    per_analysis_s = (time.perf_counter() - t) / len(base)
    per_analysis_cpu = (time.process_time() - c) / len(base)
    analyses = _copies(base, n, 5)
    logs = folder / "cohort"
    logs.mkdir(exist_ok=True)
    _logs(logs, analyses)
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = write_cohort_report(logs, folder / "cohort.html", analyses=analyses)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    best = statistics.median(times)
    print(f"cohort: {n} sessions, 5 subjects, {len(MUSCLES)} muscles rated at 24 and 48 h")
    print(f"  analyze one recording    {per_analysis_s:6.2f} s   x {n} = "
          f"{per_analysis_s * n:6.1f} s (excluded: batch parallelises it; "
          f"CPU {per_analysis_cpu:.2f} s each)")  # fmt: skip
    print(f"  cohort report (median {repeat}) {best:6.2f} s   ratio to analysing the cohort "
          f"{best / (per_analysis_s * n):5.3f}   target <= 10 s: "
          f"{'ok' if best <= 10 else 'MISSED'}")  # fmt: skip
    print(f"  runs: {', '.join(f'{x:.2f}' for x in times)} s "
          f"(CPU {', '.join(f'{x:.2f}' for x in cpu)} s); {out} "
          f"({out.stat().st_size / 1e6:.2f} MB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write files here instead of a temp folder")
    parser.add_argument("--only", choices=("session", "cohort"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.only != "cohort":
            bench_session(folder, args.repeat)
        if args.only != "session":
            bench_cohort(folder, args.sessions, args.repeat)


if __name__ == "__main__":
    main()
