"""Benchmark: all heart features of a 1-hour session, against NeuroKit2's Kubios path.

    .venv/bin/python scripts/bench_heart.py [--nk-python /tmp/nk2venv/bin/python]
        [--systole-python /tmp/systolevenv/bin/python] [--repeats 20]

The session is synthetic (``liftsense.emulate.heartmodel``): 1 h, 20 sets of 40 s, artefacts at
1 % and 3 %. LiftSense's path is ``session_heart`` on the ``rr`` and ``hr`` DataFrames (cleaning,
4 Hz HR, rest windows, per-set peak/HRR60/rest) and, separately, ``clean_rr`` + RMSSD alone.
The baseline, measured in the same run, is NeuroKit2's ``signal_fixpeaks(method="Kubios",
iterative=True)`` + ``hrv_time`` in a throwaway venv (see scripts/golden_hrv.py for making one),
timed inside that process after import. Without ``--nk-python`` (or if it fails) the baseline is
an uncorrected numpy RMSSD + SDNN, which shows what the cleaning costs and what it fixes.
``--systole-python`` adds systole's ``correct_rr`` as a second reference. Figures are medians
over ``--repeats`` calls (LiftSense) or a quarter as many (references), in ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from liftsense.emulate.heartmodel import HeartTruth, simulate_heart, strap_notifications
from liftsense.signal.heart import session_heart
from liftsense.signal.rr import clean_rr, rmssd_ms

T0 = pd.Timestamp("2026-01-01T10:00:00Z")
NK_PROGRAM = r"""
import json, sys, time, warnings
import numpy as np
import neurokit2 as nk
warnings.simplefilter("ignore")
args = json.load(sys.stdin)
out = []
for peaks in args["series"]:
    peaks = np.asarray(peaks, dtype=np.int64)
    times = []
    for _ in range(args["repeats"]):
        t = time.perf_counter()
        _, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=True, method="Kubios")
        h = nk.hrv_time(clean, sampling_rate=1000)
        times.append(time.perf_counter() - t)
    out.append({"ms": 1000 * float(np.median(times)), "rmssd_ms": float(h["HRV_RMSSD"].iloc[0])})
json.dump({"version": nk.__version__, "results": out}, sys.stdout)
"""
SYSTOLE_PROGRAM = r"""
import contextlib, io, json, sys, time
from importlib.metadata import version
import numpy as np
from systole.correction import correct_rr
args = json.load(sys.stdin)
out = []
for rr in args["series"]:
    rr = np.asarray(rr, dtype=float)
    times = []
    for _ in range(args["repeats"] + 1):  # the first call compiles (numba)
        with contextlib.redirect_stdout(io.StringIO()):
            t = time.perf_counter()
            clean, _ = correct_rr(rr, input_type="rr_ms")
            d = np.diff(clean)
            rmssd = float(np.sqrt(np.mean(d * d)))
            times.append(time.perf_counter() - t)
    out.append({"ms": 1000 * float(np.median(times[1:])), "rmssd_ms": rmssd})
json.dump({"version": version("systole"), "results": out}, sys.stdout)
"""


def _run_reference(python: str, program: str, payload: object) -> dict[str, Any] | None:
    """Run a reference library's timing program in its own venv; None if it fails."""
    run = subprocess.run(
        [python, "-c", program],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        print(f"{python}: failed ({run.stderr.strip().splitlines()[-1:]})")
        return None
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def _session(rate: float, seed: int) -> tuple[HeartTruth, list[tuple[float, float]]]:
    et = np.arange(0.0, 3600.0, 1.0)
    ev = np.zeros_like(et)
    sets = [(600.0 + 140.0 * k, 640.0 + 140.0 * k) for k in range(20)]
    for a, b in sets:
        ev[(et >= a) & (et < b)] = 0.6
    h = simulate_heart(3600.0, effort_t_s=et, effort=ev, artefact_rate=rate, seed=seed)
    return h, sets


def _frame(t_s: np.ndarray, v: np.ndarray) -> pd.DataFrame:
    idx = pd.DatetimeIndex(T0 + pd.to_timedelta(t_s, unit="s"), name="t")
    return pd.DataFrame({"device": "H10", "value": v.astype(np.float32)}, index=idx)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def _numpy_baseline(rr: np.ndarray) -> tuple[float, float]:
    d = np.diff(rr)
    return float(np.sqrt(np.mean(d * d))), float(np.std(rr, ddof=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nk-python", default=None, help="python of a venv with neurokit2")
    ap.add_argument("--systole-python", default=None, help="python of a venv with systole")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)

    cases = []
    for rate, seed in ((0.01, 1), (0.03, 2)):
        h, sets = _session(rate, seed)
        # Same input for both paths: beat times in whole ms, RR from them.
        peaks = np.round(h.observed_beat_t_s * 1000.0).astype(np.int64)
        rr = np.diff(peaks, prepend=peaks[0] - round(h.observed_rr_ms[0])).astype(np.float64)
        n = strap_notifications(h.observed_beat_t_s, h.observed_rr_ms)
        cases.append(
            (rate, h, sets, peaks, rr, _frame(peaks / 1000.0, rr), _frame(n.notify_t_s, n.bpm))
        )

    nk = sy = None
    reps = max(args.repeats // 4, 3)
    if args.nk_python:
        series = [c[3].tolist() for c in cases]
        nk = _run_reference(args.nk_python, NK_PROGRAM, {"repeats": reps, "series": series})
    if args.systole_python:
        series = [c[4].tolist() for c in cases]
        sy = _run_reference(
            args.systole_python, SYSTOLE_PROGRAM, {"repeats": reps, "series": series}
        )
    if nk is None:
        print("NeuroKit2 not run: the baseline is an uncorrected numpy RMSSD + SDNN")

    for k, (rate, h, sets, peaks, rr, rr_df, hr_df) in enumerate(cases):
        truth = rmssd_ms(h.rr_ms)[0]
        set_ts = [(T0 + pd.Timedelta(seconds=a), T0 + pd.Timedelta(seconds=b)) for a, b in sets]
        intake = T0 + pd.Timedelta(seconds=200)

        def features(
            hr_df: pd.DataFrame = hr_df,
            rr_df: pd.DataFrame = rr_df,
            set_ts: list[tuple[pd.Timestamp, pd.Timestamp]] = set_ts,
            intake: pd.Timestamp = intake,
        ) -> object:
            return session_heart(hr_df, rr_df, sets=set_ts, intake_t=intake, t0=T0)

        cold_t = time.perf_counter()
        features()
        cold_ms = 1000.0 * (time.perf_counter() - cold_t)
        feat_ms = _median_ms(features, args.repeats)
        t_ns = peaks * 1_000_000

        def cleaning(t_ns: np.ndarray = t_ns, rr: np.ndarray = rr) -> object:
            c = clean_rr(t_ns, rr)
            return rmssd_ms(c.rr_ms, c.nn, c.segment)

        clean_ms = _median_ms(cleaning, args.repeats)
        c = clean_rr(t_ns, rr)
        ours = rmssd_ms(c.rr_ms, c.nn, c.segment)[0]
        print(
            f"1-h session, {peaks.size} beats, {rate:.0%} artefacts "
            f"({int(np.count_nonzero(h.labels))} injected); true RMSSD {truth:.2f} ms"
        )
        print(
            f"  liftsense session_heart (all features): {feat_ms:.1f} ms median "
            f"(first call {cold_ms:.1f} ms)"
        )
        print(
            f"  liftsense clean_rr + RMSSD: {clean_ms:.1f} ms; RMSSD {ours:.2f} ms "
            f"({100 * (ours / truth - 1):+.2f} % vs truth); artefacts {c.artefact_pct:.2f} %"
        )
        if sy is not None:
            r = sy["results"][k]
            err = 100 * (r["rmssd_ms"] / truth - 1)
            print(
                f"  systole {sy['version']} correct_rr + RMSSD: {r['ms']:.1f} ms; "
                f"RMSSD {r['rmssd_ms']:.2f} ms ({err:+.2f} % vs truth)"
            )
        if nk is not None:
            r = nk["results"][k]
            print(
                f"  NeuroKit2 {nk['version']} fixpeaks(Kubios, iterative) + hrv_time: "
                f"{r['ms']:.1f} ms; RMSSD {r['rmssd_ms']:.2f} ms "
                f"({100 * (r['rmssd_ms'] / truth - 1):+.2f} % vs truth)"
            )
            print(
                f"  ratio NeuroKit2 / liftsense: {r['ms'] / feat_ms:.1f}x (all features), "
                f"{r['ms'] / clean_ms:.1f}x (cleaning + RMSSD)"
            )
        else:
            base_ms = _median_ms(lambda: _numpy_baseline(rr), args.repeats)  # noqa: B023
            raw = _numpy_baseline(rr)[0]
            print(
                f"  numpy RMSSD + SDNN, uncorrected: {base_ms:.2f} ms; RMSSD {raw:.2f} ms "
                f"({100 * (raw / truth - 1):+.2f} % vs truth)"
            )
            print(f"  ratio liftsense / uncorrected numpy: {feat_ms / base_ms:.0f}x slower")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
