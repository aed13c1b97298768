"""Validate the cross-session statistics by simulation: interval coverage and false positives.

Runs each scenario of ``liftsense.analysis.simulate.SCENARIOS`` over N simulated cohorts with a
known within-subject effect (and with none), and prints, per method, the share of 95 %
intervals covering the truth and, with no effect, the share excluding zero (false positives).
Targets (issue 8): coverage >= 90 %, false-positive rate <= 5 %.

    .venv/bin/python scripts/validate_relate.py            # 200 cohorts per scenario
    .venv/bin/python scripts/validate_relate.py --cohorts 40 --seed 3
    .venv/bin/python scripts/validate_relate.py --bootstrap  # adds the BCa Spearman (slow)
    # a precise false-positive rate: 20,000 null cohorts, rmcorr and Spearman only (~3 min)
    .venv/bin/python scripts/validate_relate.py --only "null 6x12" --cohorts 20000 --no-mixedlm
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from liftsense.analysis.simulate import SCENARIOS, Scenario, coverage_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--bootstrap", action="store_true", help="also BCa Spearman, 1x20")
    parser.add_argument("--no-mixedlm", action="store_true", help="skip the (slow) MixedLM fits")
    parser.add_argument("--only", default="", help="run scenarios whose name contains this")
    args = parser.parse_args()
    scenarios: list[Scenario] = list(SCENARIOS)
    if args.bootstrap:
        scenarios += [
            dataclasses.replace(s, name=s.name + " BCa", bootstrap=True)
            for s in SCENARIOS
            if s.n_subjects == 1
        ]
    scenarios = [s for s in scenarios if args.only in s.name]
    print(f"{args.cohorts} cohorts per scenario, seed {args.seed}; 95 % intervals")
    header = f"{'scenario':<25}{'method':<14}{'truth':>9}{'n CI':>7}{'coverage':>10}"
    print(header + f"{'FPR':>8}{'width':>11}{'failed':>8}")
    worst_cov, worst_fpr = 1.0, 0.0
    started = time.perf_counter()
    for i, scenario in enumerate(scenarios):
        for m in coverage_study(
            scenario, args.cohorts, seed=args.seed + i, mixedlm=not args.no_mixedlm
        ):
            fpr = (
                ""
                if m.false_positive_rate != m.false_positive_rate
                else f"{m.false_positive_rate:.3f}"
            )
            print(
                f"{m.scenario:<25}{m.method:<14}{m.truth:>9.4g}{m.n_intervals:>7}"
                f"{m.coverage:>10.3f}{fpr:>8}{m.mean_width:>11.4g}{m.n_failed:>8}"
            )
            if m.method.endswith("_unadj"):
                continue  # a deliberately wrong analysis, shown for contrast only
            worst_cov = min(worst_cov, m.coverage)
            if fpr:
                worst_fpr = max(worst_fpr, m.false_positive_rate)
    elapsed = time.perf_counter() - started
    verdict = "meets" if worst_cov >= 0.90 and worst_fpr <= 0.05 else "MISSES"
    # An exact 95 % interval has an expected FPR of exactly 5 %; over n cohorts the observed
    # rate scatters with this Monte Carlo standard error, so a strict "<= 5 %" is a coin flip
    # for any exact method. Both readings are printed.
    mc_se = (0.05 * 0.95 / args.cohorts) ** 0.5
    within = worst_cov >= 0.90 and worst_fpr <= 0.05 + 2 * mc_se
    print(
        f"lowest coverage {worst_cov:.3f} (target >= 0.90), highest FPR {worst_fpr:.3f} "
        f"(target <= 0.05): {verdict} the targets strictly; "
        f"{'within' if within else 'OUTSIDE'} them allowing 2 Monte Carlo SE "
        f"(SE of a 5 % rate over {args.cohorts} cohorts = {mc_se:.3f}); {elapsed:.1f} s"
    )


if __name__ == "__main__":
    main()
