"""Evaluate rep detection: (a) a grid of synthetic sessions scored against ground truth, and
(b) real labelled sets (the folder described in its README: ebbelaar_barbell_metamotion/ and
muvr_pebble_wrist/, each with a labels.csv naming the files to use).

Usage:
    python scripts/eval_reps.py synthetic [--quick] [--verbose] [--jobs N]
        [--exercise E[,E...]] [--placement P[,P...]] [--seed-offset N]
        [--dropout-s S [--dropout-at middle|end]] [--thigh-model linear|angle|height]
    python scripts/eval_reps.py real /path/to/data/reps [--verbose]

The grid's rules were developed on its own seeds; ``--seed-offset 5000`` scores the same grid
on sessions generated from other seeds (held out), to tell a rule that generalises from one
fitted to the grid. A subset keeps each session's seed from the full grid. ``--dropout-s S``
removes S seconds of samples from every set, from halfway through its middle rep (a Bluetooth
dropout), or with ``--dropout-at end`` from 0.2 s after its last rep, and scores against the
full truth: every rep was made. ``--thigh-model`` chooses how an emulated thigh moves
(``liftsense.emulate.poses``): by default its tilt and its height are both linear in the lift's
progress, which a thigh turning about the knee cannot be.

Printed per exercise and placement (synthetic) or per dataset and exercise (real): per-set
rep-count exact and within-one rates; where the truth has them (synthetic), MAE of each phase
duration (ms), the error of the eccentric and of the total time under tension, and the mean
relative error of each rep's range of motion and mean concentric velocity (%; at the bar and
the wrist, which travel with the load); and false reps detected outside lifting (synthetic:
reps not mostly within a true set, and reps in rest-only and walking-only sessions; real: in
the labelled rest recordings). The synthetic grid also says in how many of its sets that end
with a failed attempt one is reported, and in how many without.

The real sets' labels are counts, some of them prescribed rather than counted, and a recording
can end before the set did. So the real report also scores, apart, the sets whose recording
can hold the labelled count at the set's own cadence (``cycles_on_record``): an audit of the
labels, not a replacement for the score over every set.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from liftsense.emulate.imu_model import drop_out
from liftsense.emulate.motion import (
    SessionSpec,
    Tempo,
    generate,
)
from liftsense.emulate.poses import PLACEMENTS, THIGH_MODELS, check
from liftsense.emulate.scenarios import FULL_BODY_EXERCISES, NOISY_SENSOR, evaluation_spec
from liftsense.errors import AnalysisError
from liftsense.signal.exercises import exercise_info
from liftsense.signal.filters import lowpass
from liftsense.signal.imu import prepare, row_norm
from liftsense.signal.kinematics import dominant_period_s
from liftsense.signal.reps import SetResult, detect
from liftsense.units import G_MPS2

T = TypeVar("T")
R = TypeVar("R")
PHASES = ("eccentric_s", "bottom_pause_s", "concentric_s", "top_pause_s")
#: Placements whose sensor travels as far as the load (on the bar, or the hand that holds it):
#: there a rep's range of motion and mean concentric velocity are scored against the load's.
_WITH_THE_LOAD = ("bar", "wrist")
EXERCISES = FULL_BODY_EXERCISES
RATES = (12.5, 25.0, 50.0, 100.0, 200.0)
TEMPOS: dict[str, dict[str, Any]] = {
    "2-0-1-0": {"tempo": Tempo(2, 0, 1, 0)},
    "3-1-1-1": {"tempo": Tempo(3, 1, 1, 1)},
    "paused": {"tempo": Tempo(2, 0, 1, 0), "paused": True},
    "6-0-1-0": {"tempo": Tempo(6, 0, 1, 0)},
    "fail": {"tempo": Tempo(2, 0, 1, 0), "failed_last": True},
}
NOISE: dict[str, dict[str, float]] = {
    "low": {},
    "high": NOISY_SENSOR,
}


def _score_session(truth_sets: list[dict[str, Any]], found: list[SetResult]) -> dict[str, Any]:
    """A row per true set (counts of reps and failed attempts, phase errors), and where each
    false rep lies: a rep not mostly (half its length) within a true set, or in a detected
    set matched to none."""
    rows: list[dict[str, Any]] = []
    used: set[int] = set()
    for ts in truth_sets:
        best, overlap = None, 0.0
        for k, fs in enumerate(found):
            ov = min(ts["end_s"], fs.end_s) - max(ts["start_s"], fs.start_s)
            if ov > overlap:
                best, overlap = k, ov
        n_true = len(ts["reps"])
        failed_true = int(ts.get("failed_reps", 0))
        if best is None:
            rows.append({"n_true": n_true, "n_det": 0, "failed_true": failed_true, "failed_det": 0})
            continue
        used.add(best)
        fs = found[best]
        errs: dict[str, list[float]] = {p: [] for p in PHASES}
        rom_errs, speed_errs = [], []
        for k, tr in enumerate(ts["reps"]):
            cand = min(fs.reps, key=lambda r: abs(r.start_s - tr["start_s"]))
            if abs(cand.start_s - tr["start_s"]) > 0.5 * (tr["end_s"] - tr["start_s"]):
                continue
            rom_errs.append(abs(cand.rom_m - tr["rom_m"]) / tr["rom_m"])
            speed = tr["rom_m"] / tr["concentric_s"]  # the true concentric's mean velocity
            speed_errs.append(abs(cand.concentric_mean_velocity_mps - speed) / speed)
            for p in PHASES:
                if k == n_true - 1 and tr[p] == 0 and p in ("top_pause_s", "bottom_pause_s"):
                    continue  # the trailing pause of a set's last rep is 0 by convention
                errs[p].append(abs(getattr(cand, p) - tr[p]))
        rows.append(
            {
                "n_true": n_true,
                "n_det": fs.n_reps,
                "failed_true": failed_true,
                "failed_det": fs.failed_reps,
                "ecc_tut_err": abs(fs.eccentric_tut_s - ts["eccentric_tut_s"])
                / ts["eccentric_tut_s"],
                "tut_err": abs(fs.total_tut_s - _total_tut_s(ts)) / _total_tut_s(ts),
                "rom_err": float(np.mean(rom_errs)) if rom_errs else np.nan,
                "con_speed_err": float(np.mean(speed_errs)) if speed_errs else np.nan,
                **{p: float(np.mean(v)) if v else np.nan for p, v in errs.items()},
            }
        )
    false: list[str] = []
    for k, fs in enumerate(found):
        for r in fs.reps:
            # one of the lifter's reps, however badly timed, lies mostly within a true set (a
            # slow first lowering whose onset drifts can start it seconds before the set)
            inside = any(
                min(t["end_s"], r.end_s) - max(t["start_s"], r.start_s)
                >= 0.5 * (r.end_s - r.start_s)
                for t in truth_sets
            )
            if not (inside and k in used):
                false.append(f"{r.start_s:.1f}-{r.end_s:.1f} s in a set of {fs.n_reps}")
    return {"sets": rows, "false_reps": false}


def _total_tut_s(truth_set: dict[str, Any]) -> float:
    """A true set's total time under tension: all phases of all its reps (the last rep's
    trailing pause is 0 by convention)."""
    return float(sum(r[p] for r in truth_set["reps"] for p in PHASES))


def _failed_attempts(df: pd.DataFrame) -> str:
    """How the sets' failed attempts were reported: found in the sets that end with one, and
    reported in the sets that have none."""
    has = df.failed_true > 0
    found = int((df.failed_det[has] >= df.failed_true[has]).sum())
    spurious = int((df.failed_det[~has] > 0).sum())
    return (
        f"failed attempts: reported in {found} of {int(has.sum())} sets that end with one; "
        f"in {spurious} of {int((~has).sum())} sets without one"
    )


def _mean(x: pd.Series) -> float:
    """The mean of ``x`` without its NaNs (NaN if nothing is left)."""
    return float(np.nanmean(x)) if x.notna().any() else math.nan


def _summary(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    df = df.assign(exact=df.n_det == df.n_true, within1=(df.n_det - df.n_true).abs() <= 1)
    agg: dict[str, Any] = {"n_sets": ("exact", "size"), "exact": ("exact", "mean")}
    agg["within1"] = ("within1", "mean")
    for p in PHASES:
        if p in df:
            agg[p.replace("_s", "_ms")] = (p, lambda x: 1000 * _mean(x))
    for col in ("ecc_tut_err", "tut_err", "rom_err", "con_speed_err"):
        if col in df:
            agg[f"{col}_pct"] = (col, lambda x: 100 * _mean(x))
    return df.groupby(by).agg(**agg).round(3)


@dataclass(frozen=True)
class GridJob:
    """One session of the synthetic grid. ``seed`` numbers the session within the full grid
    (whatever subset is run) and sets whether it has a gyro (even seeds); the session is
    generated from ``seed + seed_offset``."""

    exercise: str
    placement: str
    rate_hz: float
    noise: str
    tempo: str
    seed: int
    seed_offset: int = 0
    dropout_s: float = 0.0
    dropout_at: Literal["middle", "end"] = "middle"
    thigh_model: str = "linear"


def grid_jobs(
    quick: bool = False,
    exercises: Sequence[str] | None = None,
    placements: Sequence[str] | None = None,
    seed_offset: int = 0,
    dropout_s: float = 0.0,
    dropout_at: Literal["middle", "end"] = "middle",
    thigh_model: str = "linear",
) -> list[GridJob]:
    """The grid's sessions, optionally only some exercises and placements."""
    rates = (12.5, 50.0, 200.0) if quick else RATES
    tempos = ("2-0-1-0", "6-0-1-0") if quick else tuple(TEMPOS)
    jobs: list[GridJob] = []
    seed = 0
    for ex, pl, rate, noise, tempo in itertools.product(
        EXERCISES, PLACEMENTS, rates, NOISE, tempos
    ):
        try:
            check(ex, pl)
        except ValueError:
            continue
        seed += 1
        if (exercises is None or ex in exercises) and (placements is None or pl in placements):
            jobs.append(
                GridJob(
                    ex,
                    pl,
                    rate,
                    noise,
                    tempo,
                    seed,
                    seed_offset,
                    dropout_s,
                    dropout_at,
                    thigh_model,
                )
            )
    return jobs


def run_job(job: GridJob) -> tuple[list[dict[str, Any]], list[str]]:
    """Score one grid session: a row per true set, and where each false rep lies."""
    kw = {**TEMPOS[job.tempo], **NOISE[job.noise], "thigh_model": job.thigh_model}
    spec = evaluation_spec(job.exercise, job.placement, job.rate_hz, gyro=job.seed % 2 == 0, **kw)
    s = generate(spec, seed=job.seed + job.seed_offset)
    imu = s.imu
    if job.dropout_s > 0:
        imu = drop_out(imu, s.truth.sets, job.dropout_s, job.dropout_at)
    sc = _score_session(list(s.truth.sets), detect(imu, exercise=job.exercise))
    if job.placement not in _WITH_THE_LOAD:  # its travel is not the load's: not scored
        sc["sets"] = [{**r, "rom_err": np.nan, "con_speed_err": np.nan} for r in sc["sets"]]
    rows = [
        {
            "exercise": job.exercise,
            "placement": job.placement,
            "rate_hz": job.rate_hz,
            "noise": job.noise,
            "tempo": job.tempo,
            "seed": job.seed,
            "gyro": job.seed % 2 == 0,
            "false_reps": len(sc["false_reps"]),
            **r,
        }
        for r in sc["sets"]
    ]
    return rows, sc["false_reps"]


def _idle_reps(job: tuple[str, str, int]) -> int:
    """Reps found in a rest-only or walking-only session (``job``: placement, kind, seed)."""
    pl, name, seed = job
    spec = SessionSpec(
        (), lead_in_s=300, tail_s=0, placement=pl, walk_s=200 if name == "walk" else None
    )
    return sum(f.n_reps for f in detect(generate(spec, seed=seed).imu))


def _run_all(fn: Callable[[T], R], items: Sequence[T], jobs: int, what: str) -> list[R]:
    """``fn`` over ``items`` in order, on ``jobs`` processes, with a progress bar on stderr."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=len(items))
        if jobs <= 1:
            out = []
            for it in items:
                out.append(fn(it))
                bar.advance(task)
            return out
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(fn, it) for it in items]
            for _ in as_completed(futures):
                bar.advance(task)
            return [f.result() for f in futures]


def synthetic(
    quick: bool,
    verbose: bool = False,
    *,
    exercises: Sequence[str] | None = None,
    placements: Sequence[str] | None = None,
    seed_offset: int = 0,
    jobs: int = 1,
    dropout_s: float = 0.0,
    dropout_at: Literal["middle", "end"] = "middle",
    thigh_model: str = "linear",
) -> None:
    t_start = time.perf_counter()
    grid = grid_jobs(quick, exercises, placements, seed_offset, dropout_s, dropout_at, thigh_model)
    if not grid:
        raise SystemExit("no session of the grid matches the chosen exercises and placements")
    scored = _run_all(run_job, grid, jobs, "synthetic grid")
    rows = [r for sets, _ in scored for r in sets]
    false_total = sum(len(f) for _, f in scored)
    df = pd.DataFrame(rows)
    if verbose:
        for r in df[df.n_det != df.n_true].itertuples():
            print(
                f"miss: {r.exercise} {r.placement} {r.rate_hz} {r.noise} {r.tempo} "
                f"gyro={r.gyro} seed={r.seed} true={r.n_true} det={r.n_det}"
            )
        for job, (_, false) in zip(grid, scored, strict=True):
            for where in false:
                print(f"false rep: {job.exercise} {job.placement} seed={job.seed} at {where}")
        for r in df[df.failed_det != df.failed_true].itertuples():
            print(
                f"failed attempts: {r.exercise} {r.placement} {r.rate_hz} {r.noise} {r.tempo} "
                f"gyro={r.gyro} seed={r.seed} true={r.failed_true} det={r.failed_det}"
            )
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    held = f", seeds offset by {seed_offset}" if seed_offset else ""
    where = "its middle rep" if dropout_at == "middle" else "its end"
    held += f", a {dropout_s:g}-s dropout in each set, at {where}" if dropout_s else ""
    held += f", thigh model {thigh_model!r}" if thigh_model != "linear" else ""
    print(f"synthetic grid: {len(df)} sets in {time.perf_counter() - t_start:.0f} s{held}")
    print(_summary(df, ["exercise", "placement"]).to_string())
    print(_summary(df, ["rate_hz"]).to_string())
    print(_summary(df, ["placement", "rate_hz"]).to_string())
    # without a gyro, a turning limb's tilt is read from gravity, which its own acceleration
    # bends: the timing that costs shows by placement
    sensor = df.assign(sensor=np.where(df.gyro, "acc+gyro", "acc only"))
    print(_summary(sensor, ["placement", "sensor"]).to_string())
    print(_summary(df, ["tempo"]).to_string())
    print(_summary(df.assign(all="all"), ["all"]).to_string())
    # the phase target is stated at 50 Hz and above
    if (df.rate_hz >= 50).any():
        print(_summary(df[df.rate_hz >= 50].assign(all=">= 50 Hz"), ["all"]).to_string())
    miss = int((df.n_det != df.n_true).sum())
    print(f"miscounted sets: {miss} of {len(df)} ({100 * (1 - miss / len(df)):.2f} % exact)")
    print(f"false reps (not mostly within a true set): {false_total}")
    print(_failed_attempts(df))
    idle_jobs = [
        (pl, name, 1000 + seed_offset + k)
        for k, (pl, name) in enumerate(
            itertools.product(("wrist", "thigh", "hip", "bar"), ("rest", "walk"))
        )
        if placements is None or pl in placements
    ]
    idle = sum(_run_all(_idle_reps, idle_jobs, jobs, "rest and walking sessions"))
    print(
        f"false reps in {len(idle_jobs)} rest-only/walking-only sessions "
        f"({5 * len(idle_jobs)} min): {idle}"
    )


#: The real datasets under the folder ``real`` takes, each with its labels.csv.
_DATASETS = ("ebbelaar_barbell_metamotion", "muvr_pebble_wrist")


def _ebbelaar(root: Path) -> list[dict[str, Any]]:
    d = root / "ebbelaar_barbell_metamotion"
    labels = pd.read_csv(d / "labels.csv", dtype=str, keep_default_na=False)
    names = {
        "bench": "bench_press",
        "dead": "deadlift",
        "ohp": "overhead_press",
        "row": "bent_over_row",
        "squat": "back_squat",
        "rest": None,
    }
    out = []
    for _, row in labels.iterrows():
        if row["category"].startswith("form"):
            continue
        acc = pd.read_csv(d / row["acc_file"])
        gyr = pd.read_csv(d / row["gyr_file"])
        t = pd.to_datetime(acc["epoch (ms)"], unit="ms", utc=True)
        frame = pd.DataFrame(
            {a: acc[f"{a}-axis (g)"].to_numpy() * G_MPS2 for a in "xyz"},
            index=pd.DatetimeIndex(t, name="t"),
        )
        tg = gyr["epoch (ms)"].to_numpy(dtype=float)
        for a in "xyz":
            frame[f"g{a}"] = np.radians(
                np.interp(acc["epoch (ms)"].to_numpy(dtype=float), tg, gyr[f"{a}-axis (deg/s)"])
            )
        reps = int(float(row["nominal_reps"])) if row["nominal_reps"] else 0
        out.append(
            {
                "dataset": "ebbelaar",
                "id": row["recording_id"],
                "exercise": row["exercise"],
                "imu": frame,
                "name": names[row["exercise"]],
                "reps": reps,
                "rest": row["exercise"] == "rest",
            }
        )
    return out


def _muvr(root: Path) -> list[dict[str, Any]]:
    d = root / "muvr_pebble_wrist"
    labels = pd.read_csv(d / "labels.csv")
    out = []
    for _, row in labels[labels["usable"].astype(str) == "True"].iterrows():
        raw = pd.read_csv(d / row["file"], header=None).iloc[:, :3].to_numpy(dtype=float) * G_MPS2
        t = pd.Timestamp("2015-07-01", tz="UTC") + pd.to_timedelta(np.arange(len(raw)) / 50.0, "s")
        frame = pd.DataFrame(raw, columns=["x", "y", "z"], index=pd.DatetimeIndex(t, name="t"))
        known = exercise_info(row["exercise"]).name != "unknown"
        out.append(
            {
                "dataset": "muvr",
                "id": row["file"],
                "exercise": row["exercise"],
                "imu": frame,
                "name": row["exercise"] if known else None,
                "reps": int(row["reps"]),
                "rest": False,
            }
        )
    return out


def cycles_on_record(imu: pd.DataFrame) -> float:
    """How many cycles of its own cadence a recording holds at most: its length over the shorter
    of the lags at which the acc magnitude and the acc's first principal component (low-passed
    at 3 Hz) first repeat (a wrist's two peaks per squat make that half a rep: more cycles, not
    fewer); infinite where neither repeats. A set of N reps at that cadence takes N periods,
    less the pause between two reps."""
    u = prepare(imu)
    lp = lowpass(u.acc, u.fs_hz, 3.0)
    centred = lp - lp.mean(axis=0)
    main = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
    periods = [dominant_period_s(s, u.fs_hz, first=True) for s in (row_norm(lp), main)]
    finite = [p for p in periods if np.isfinite(p)]
    return float(u.t_s[-1] / min(finite)) if finite else float("inf")


def real(root: Path, verbose: bool = False) -> None:
    rows = []
    false_rest = 0
    for item in _ebbelaar(root) + _muvr(root):
        try:
            found = detect(item["imu"], exercise=item["name"])
        except AnalysisError as exc:
            print(f"skipped {item['dataset']} {item['exercise']}: {exc}", file=sys.stderr)
            continue
        n = sum(f.n_reps for f in found)
        if verbose and n != item["reps"]:
            print(
                f"{item['dataset']} {item['id']} {item['exercise']}: labelled {item['reps']}, "
                f"found {n} in {len(found)} set(s)"
            )
        if item["rest"]:
            false_rest += n
            continue
        rows.append(
            {
                "dataset": item["dataset"],
                "exercise": item["exercise"],
                "n_true": item["reps"],
                "n_det": n,
                "n_sets_found": len(found),
                # half a cycle of slack: the pause between reps
                "fits": item["reps"] <= cycles_on_record(item["imu"]) + 0.5,
            }
        )
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print(_summary(df, ["dataset", "exercise"]).to_string())
    print(_summary(df, ["dataset"]).to_string())
    print(f"false reps in ebbelaar rest recordings: {false_rest}")
    fit = df[df.fits]
    print(
        "\nlabel audit: the sets whose recording holds the labelled count at the set's own "
        "cadence (cycles_on_record)"
    )
    print(_summary(fit, ["dataset"]).to_string())
    for name, g in df[df.n_det != df.n_true].groupby("dataset"):
        print(f"{name}: {int((~g.fits).sum())} of the {len(g)} miscounted sets do not hold it")


def _names(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: a comma-separated list of names, each one of ``allowed``."""

    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        bad = [n for n in names if n not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(map(repr, bad)) or repr(text)}; "
                f"choose from {', '.join(allowed)}"
            )
        return names

    return parse


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--quick", action="store_true", help="3 rates x 2 tempos instead of 5 x 5")
    s.add_argument("--verbose", action="store_true", help="list every miscounted set and false rep")
    s.add_argument(
        "--exercise", type=_names(EXERCISES), help="only these exercises (comma-separated)"
    )
    s.add_argument(
        "--placement", type=_names(PLACEMENTS), help="only these placements (comma-separated)"
    )
    s.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        metavar="N",
        help="held-out sessions: the same grid generated from seeds moved by N (default 0)",
    )
    s.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes to score sessions on (default: all cores)",
    )
    s.add_argument(
        "--dropout-s",
        type=float,
        default=0.0,
        metavar="S",
        help="remove S s of samples from every set, halfway through its middle rep (default 0)",
    )
    s.add_argument(
        "--dropout-at",
        choices=("middle", "end"),
        default="middle",
        help="where the dropout starts: halfway through the middle rep, or 0.2 s after the set",
    )
    s.add_argument(
        "--thigh-model",
        choices=THIGH_MODELS,
        default="linear",
        help="how an emulated thigh moves: tilt and height both linear in the lift's progress "
        "(default), or turning about the knee with its angle or its height linear in it",
    )
    r = sub.add_parser("real")
    r.add_argument("root", type=Path, help="folder holding the two datasets (see its README)")
    r.add_argument("--verbose", action="store_true", help="list every miscounted set")
    a = ap.parse_args()
    if a.what == "synthetic":
        synthetic(
            a.quick,
            a.verbose,
            exercises=a.exercise,
            placements=a.placement,
            seed_offset=a.seed_offset,
            jobs=max(a.jobs, 1),
            dropout_s=max(a.dropout_s, 0.0),
            dropout_at=a.dropout_at,
            thigh_model=a.thigh_model,
        )
    else:
        missing = [d for d in _DATASETS if not (a.root / d / "labels.csv").is_file()]
        if missing:
            ap.error(
                f"{a.root} does not hold {', '.join(f'{d}/labels.csv' for d in missing)}: "
                "pass the folder of the labelled real sets (its README describes them)"
            )
        real(a.root, a.verbose)


if __name__ == "__main__":
    main()
