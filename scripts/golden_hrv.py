"""Make the golden HRV fixture: synthetic series with known truth, and NeuroKit2's answers on them.

NeuroKit2 (and optionally systole) are not dependencies of LiftSense (not at run time, not in
tests). They run once, each in a throwaway virtual environment, and their outputs are committed
as a small JSON fixture that ``tests/signal/test_rr.py`` compares against:

    python3 -m venv /tmp/nk2venv
    /tmp/nk2venv/bin/pip install neurokit2          # 0.2.13 when the fixture was made
    python3 -m venv /tmp/systolevenv                # optional second reference
    /tmp/systolevenv/bin/pip install systole
    .venv/bin/python scripts/golden_hrv.py --nk-python /tmp/nk2venv/bin/python \
        --systole-python /tmp/systolevenv/bin/python

The series come from ``liftsense.emulate.heartmodel`` with fixed seeds; beat times are rounded to
whole milliseconds (peaks at 1000 Hz) so that NeuroKit2 and LiftSense see identical input. For
each series the fixture stores the peaks, the true RMSSD, SDNN, pNN50 and labels, and NeuroKit2's
Kubios-method correction (``signal_fixpeaks(method="Kubios", iterative=True)``) followed by
``hrv_time``: RMSSD, SDNN, pNN50, the corrected beat count, and the first-pass artefact indices
by type. With ``--systole-python`` it also stores systole's ``correct_rr`` (its own
Lipponen-Tarvainen implementation): the corrected beat count and RMSSD of the corrected RR.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from liftsense.emulate.heartmodel import simulate_heart

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "hrv_golden.json"

# Runs inside the throwaway venv: JSON list of {"peaks_ms": [...]} on stdin, results on stdout.
NK_PROGRAM = r"""
import json, sys, time, warnings
import numpy as np
import neurokit2 as nk
warnings.simplefilter("ignore")
KINDS = ("ectopic", "missed", "extra", "longshort")
out = []
for item in json.load(sys.stdin):
    peaks = np.asarray(item["peaks_ms"], dtype=np.int64)
    info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=False, method="Kubios")
    t = time.perf_counter()
    _, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=True, method="Kubios")
    h = nk.hrv_time(clean, sampling_rate=1000)
    elapsed = time.perf_counter() - t
    raw = nk.hrv_time(peaks, sampling_rate=1000)
    out.append({
        "rmssd_ms": float(h["HRV_RMSSD"].iloc[0]),
        "sdnn_ms": float(h["HRV_SDNN"].iloc[0]),
        "pnn50_pct": float(h["HRV_pNN50"].iloc[0]),
        "raw_rmssd_ms": float(raw["HRV_RMSSD"].iloc[0]),
        "n_clean": int(len(clean)),
        "artefacts": {k: [int(i) for i in info[k]] for k in KINDS},
        "seconds": elapsed,
    })
json.dump({"neurokit2": nk.__version__, "results": out}, sys.stdout)
"""

# Runs inside a venv with systole: JSON list of RR series (ms) on stdin, results on stdout.
SYSTOLE_PROGRAM = r"""
import contextlib, io, json, sys
from importlib.metadata import version
import numpy as np
from systole.correction import correct_rr
out = []
for rr in json.load(sys.stdin):
    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress
        clean, _ = correct_rr(np.asarray(rr, dtype=float), input_type="rr_ms")
    d = np.diff(clean)
    out.append({"rmssd_ms": float(np.sqrt(np.mean(d * d))), "n_clean": int(len(clean))})
json.dump({"version": version("systole"), "results": out}, sys.stdout)
"""

# (name, duration_s, rest_hr_bpm, artefact_rate, lifting, seed)
SERIES = [
    ("rest_3pct", 600.0, 62.0, 0.03, False, 101),
    ("lifting_5pct", 900.0, 65.0, 0.05, True, 102),
    ("rest_fast_1pct", 600.0, 85.0, 0.01, False, 103),
]


def make_series() -> list[dict[str, Any]]:
    """The synthetic series: peaks (ms), true time-domain HRV and labels per observed beat."""
    out = []
    for name, dur, rest, rate, lifting, seed in SERIES:
        et = ev = None
        if lifting:
            et = np.arange(0.0, dur, 1.0)
            ev = np.zeros_like(et)
            for start in range(240, int(dur) - 60, 150):
                ev[(et >= start) & (et < start + 40)] = 0.6
        h = simulate_heart(
            dur, effort_t_s=et, effort=ev, rest_hr_bpm=rest, artefact_rate=rate, seed=seed
        )
        peaks = np.round(h.observed_beat_t_s * 1000.0).astype(np.int64)
        out.append(
            {
                "name": name,
                "peaks_ms": peaks.tolist(),
                "first_rr_ms": round(float(h.observed_rr_ms[0])),
                "true_rmssd_ms": round(float(np.sqrt(np.mean(np.diff(h.rr_ms) ** 2))), 4),
                "true_sdnn_ms": round(float(np.std(h.rr_ms, ddof=1)), 4),
                "true_pnn50_pct": round(100.0 * float(np.mean(np.abs(np.diff(h.rr_ms)) > 50)), 4),
                "true_labels": h.labels.tolist(),
            }
        )
    return out


def run_in_venv(python: str, program: str, payload: str) -> Any:
    """Run ``program`` with another venv's python, JSON in on stdin and out on stdout."""
    run = subprocess.run(
        [python, "-c", program], input=payload, capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return None
    return json.loads(run.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nk-python", required=True, help="python of a venv with neurokit2")
    ap.add_argument("--systole-python", help="python of a venv with systole (optional)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    series = make_series()
    payload = json.dumps([{"peaks_ms": s["peaks_ms"]} for s in series])
    nk = run_in_venv(args.nk_python, NK_PROGRAM, payload)
    if nk is None:
        return 1
    for s, r in zip(series, nk["results"], strict=True):
        r.pop("seconds")
        s["neurokit2"] = r
    if args.systole_python:
        rrs = [
            np.diff(np.asarray(s["peaks_ms"]), prepend=s["peaks_ms"][0] - s["first_rr_ms"]).tolist()
            for s in series
        ]
        sy = run_in_venv(args.systole_python, SYSTOLE_PROGRAM, json.dumps(rrs))
        if sy is None:
            return 1
        for s, r in zip(series, sy["results"], strict=True):
            s["systole"] = r
    doc = {
        "made_by": "scripts/golden_hrv.py",
        "neurokit2_version": nk["neurokit2"],
        "systole_version": sy["version"] if args.systole_python else None,
        "series": series,
    }
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    for s in series:
        r = s["neurokit2"]
        line = f"{s['name']}: true RMSSD {s['true_rmssd_ms']:.2f} ms; NeuroKit2 {r['rmssd_ms']:.2f}"
        line += f" (uncorrected {r['raw_rmssd_ms']:.2f})"
        if "systole" in s:
            line += f"; systole {s['systole']['rmssd_ms']:.2f}"
        print(line)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
