"""Make the sample cohort in ``recordings/cohort``: fixed seed, a few MB in all.

Three subjects train hip thrusts and Romanian deadlifts twice a week for three weeks, adding
load each week (progressive overload), with a 200 mg caffeine intake 45 min before about half
the sessions. Each session is a synthetic recording (52 Hz accelerometer on the bar, HR strap)
written through the real journal, with its ``.truth.json``. Soreness is rated 0, 24, 48 and
72 h after each session for glutes and hamstrings, from a known model: it grows with eccentric
volume-load, shrinks with the repeated-bout effect (a muscle loaded recently gets less sore) and
caffeine on the rating day lowers the rating a little. The statistics can be checked against it.

    .venv/bin/python scripts/make_samples.py [--out recordings/cohort]
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from liftsense.analysis.logs import log_intake, log_soreness
from liftsense.emulate.motion import SessionSpec, SetSpec, Tempo, generate
from liftsense.emulate.offline import write_recording
from liftsense.signal.exercises import exercise_info

SEED = 20260105
SUBJECTS = {"anna": 60.0, "ben": 80.0, "cleo": 70.0}  # starting hip-thrust load, kg
WEEKS = 3
DAYS = (0, 3)  # Monday and Thursday
FIRST_MONDAY = datetime(2026, 1, 5, 17, 30, tzinfo=UTC)


def session_spec(load_kg: float, ecc_s: float, rng: np.random.Generator) -> SessionSpec:
    tempo = Tempo(ecc_s, 0.5, 1.0, 0.0)
    sets = tuple(SetSpec("hip_thrust", load_kg, int(rng.integers(8, 11)), tempo) for _ in range(3))
    sets += tuple(
        SetSpec("romanian_deadlift", load_kg * 0.8, int(rng.integers(6, 9)), tempo)
        for _ in range(2)
    )
    return SessionSpec(
        sets, rest_s=90, lead_in_s=330, tail_s=60, rate_hz=52.0, gyro=False, placement="bar"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("recordings/cohort"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    for subject, start_load in SUBJECTS.items():
        last_loaded: dict[str, datetime] = {}
        for week in range(WEEKS):
            for day in DAYS:
                start = FIRST_MONDAY + timedelta(days=7 * week + day)
                load = start_load + 5.0 * week
                ecc_s = float(rng.choice([2.0, 3.0, 4.0]))
                caffeine = bool(rng.random() < 0.5)
                spec = replace(
                    session_spec(load, ecc_s, rng),
                    start=start.isoformat().replace("+00:00", "Z"),
                    rest_hr_bpm=float(rng.normal(62, 3)),
                    hr_elevation_bpm=4.0 if caffeine else 0.0,
                    hr_elevation_onset_s=-45 * 60.0,
                )
                session = generate(spec, seed=int(rng.integers(1 << 30)))
                name = f"{subject}-{start:%Y-%m-%d}"
                write_recording(
                    session,
                    args.out / name,
                    subject=subject,
                    session_id=name,
                    caffeine_mg=200.0 if caffeine else None,
                    caffeine_at_s=-45 * 60.0,
                )
                if caffeine:
                    log_intake(
                        args.out, "caffeine", 200, at=start - timedelta(minutes=45), subject=subject
                    )
                # the known soreness model, per muscle
                exposure: dict[str, float] = {}
                for s in spec.sets:
                    for muscle, w in exercise_info(s.exercise).muscles.items():
                        if muscle in ("glutes", "hamstrings"):
                            ecc = w * s.load_kg * s.reps * s.tempo.eccentric_s
                            exposure[muscle] = exposure.get(muscle, 0.0) + ecc
                for muscle, ecc_load in exposure.items():
                    days_since = (start - last_loaded[muscle]).days if muscle in last_loaded else 30
                    rbe = min(1.0, 0.35 + days_since / 14)
                    peak = rbe * ecc_load / 1500.0
                    log_soreness(
                        args.out, muscle, 0, at=start - timedelta(hours=1), subject=subject
                    )
                    for hours, share in ((24, 0.8), (48, 1.0), (72, 0.5)):
                        rating = peak * share + rng.normal(0, 0.5)
                        rating = float(np.clip(np.round(rating), 0, 10))
                        at = start + timedelta(hours=hours)
                        log_soreness(args.out, muscle, rating, at=at, subject=subject)
                    last_loaded[muscle] = start
                print(
                    f"{name}: {len(spec.sets)} sets at {load:g} kg, eccentric {ecc_s:g} s"
                    + (", caffeine 200 mg" if caffeine else "")
                )
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
