"""Benchmark the BLE decoders on one hour of synthetic data, against a pure-Python baseline.

Data: one hour of 200 Hz accelerometer samples (gravity, a slow lifting motion and sensor noise)
as Polar PMD delta-compressed ACC frames (frame type 0x80, 16-bit, factor 2.44e-4 G/count,
50 samples per frame in blocks of 16 deltas, as a Verity-style sensor packs them), plus one hour
of 1 Hz Heart Rate Measurement packets.

Measured in the same run:
* baseline: a straightforward per-sample pure-Python decoder of the same frames (bit accumulator,
  per-sample unit conversion and timestamps), written below;
* batch: ``pmd.parse_frames`` over all frames at once;
* per notification: ``pmd.parse_frame`` called once per frame, as a collector does;
* heart rate: ``hrs.parse`` per packet.
All decoders are checked to produce identical samples before any figure is printed.

Targets: batch >= 20x the baseline and >= 5 M samples/s; median per-notification <= 50 µs.

Usage: ``python scripts/bench_decode.py [--minutes 60] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from liftsense.ble import hrs, pmd
from liftsense.units import G_MPS2

T = TypeVar("T")
RATE_HZ = 200
FACTOR = 2.44e-4  # G per count, as a Verity Sense reports for ±8 G
SAMPLES_PER_FRAME = 50
BLOCK_SAMPLES = 16
T0_NS = 599_616_000 * 10**9  # an H10-style clock near 2019-01-01, in ns since 2000
FIRST_PREVIOUS_NS = T0_NS - 10**9 // RATE_HZ  # "previous frame" stamp for the first frame


def synth_acc_counts(n: int, seed: int = 1) -> np.ndarray:
    """(n, 3) int counts: gravity on z, a 0.4 Hz lifting motion and ~4 mG noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE_HZ
    g_units = np.stack(
        [
            0.05 * np.sin(2 * np.pi * 0.4 * t),
            0.02 * np.cos(2 * np.pi * 0.4 * t),
            1.0 + 0.6 * np.sin(2 * np.pi * 0.4 * t) ** 3,
        ],
        axis=1,
    )
    g_units += rng.normal(0.0, 0.004, g_units.shape)
    return np.round(g_units / FACTOR).astype(np.int64)


def make_frames(minutes: float) -> tuple[list[bytes], np.ndarray]:
    n = int(minutes * 60 * RATE_HZ)
    n -= n % SAMPLES_PER_FRAME
    counts = synth_acc_counts(n)
    period_ns = 10**9 // RATE_HZ
    # A sensor clock running 30 ppm fast, with +-2 µs of jitter on each frame stamp.
    jitter = np.random.default_rng(3).integers(-2000, 2001, n)
    stamps = T0_NS + np.round(np.arange(n) * period_ns * (1 + 30e-6)).astype(np.int64) + jitter
    frames = []
    for start in range(0, n, SAMPLES_PER_FRAME):
        last = start + SAMPLES_PER_FRAME - 1
        frames.append(
            pmd.encode_frame(
                pmd.MeasurementType.ACC,
                counts[start : last + 1],
                timestamp_ns=stamps[last],
                frame_type=0x80,
                block_samples=BLOCK_SAMPLES,
            )
        )
    return frames, counts


def make_hr_packets(minutes: float) -> list[bytes]:
    rng = np.random.default_rng(2)
    packets = []
    for _ in range(int(minutes * 60)):
        bpm = int(rng.integers(60, 170))
        n_rr = 1 + int(bpm > 90)
        rr = [int(61440 / bpm + rng.integers(-20, 20)) for _ in range(n_rr)]
        packets.append(hrs.encode(bpm, contact=True, rr_1024=rr))
    return packets


# --- the baseline: what a straightforward pure-Python decoder does ---------------------------


def baseline_decode(
    frame: bytes, previous_ns: int
) -> tuple[list[list[int]], list[list[float]], list[int]]:
    """Decode one 0x80 ACC frame sample by sample: raw counts, m/s², sample times."""
    timestamp = int.from_bytes(frame[1:9], "little")
    pos = 10
    ref = []
    for _ in range(3):
        v = frame[pos] | frame[pos + 1] << 8
        ref.append(v - 0x10000 if v & 0x8000 else v)
        pos += 2
    raw = [list(ref)]
    current = list(ref)
    while pos < len(frame):
        bits, count = frame[pos], frame[pos + 1]
        pos += 2
        mask = (1 << bits) - 1
        sign = 1 << (bits - 1)
        acc = 0
        have = 0
        p = pos
        for _ in range(count):
            for c in range(3):
                while have < bits:
                    acc |= frame[p] << have
                    p += 1
                    have += 8
                delta = acc & mask
                acc >>= bits
                have -= bits
                if delta & sign:
                    delta -= 1 << bits
                current[c] += delta
            raw.append(list(current))
        pos += (bits * count * 3 + 7) // 8
    scale = FACTOR * G_MPS2
    values = [[v * scale for v in sample] for sample in raw]
    n = len(raw)
    span = timestamp - previous_ns
    stamps = []
    for i in range(1, n + 1):  # exact half-to-even rounding of P + span * i / n
        q, r = divmod(span * i, n)
        t = previous_ns + q
        stamps.append(t + (2 * r > n or (2 * r == n and t % 2 == 1)))
    return raw, values, stamps


def best_of(repeat: int, fn: Callable[..., T], *args: object) -> tuple[float, float, T]:
    """Best wall time and best CPU time (this thread) of ``repeat`` runs, and the last result."""
    best = best_cpu = float("inf")
    result: T | None = None
    for _ in range(repeat):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    assert result is not None
    return best, best_cpu, result


def run_baseline(frames: list[bytes]) -> list[tuple[list[list[int]], list[list[float]], list[int]]]:
    out = []
    previous = FIRST_PREVIOUS_NS
    for frame in frames:
        out.append(baseline_decode(frame, previous))
        previous = int.from_bytes(frame[1:9], "little")
    return out


def run_batch(frames: list[bytes]) -> pmd.PmdFrames:
    previous = FIRST_PREVIOUS_NS
    return pmd.parse_frames(frames, factor=FACTOR, previous_timestamp_ns=previous, rate_hz=RATE_HZ)


def run_per_notification(
    frames: list[bytes],
) -> tuple[list[pmd.PmdFrame], list[int], list[int]]:
    previous = FIRST_PREVIOUS_NS
    decoded = []
    times_ns = []
    cpu_ns = []
    clock = time.perf_counter_ns
    cpu = time.thread_time_ns
    for frame in frames:
        c0 = cpu()
        t0 = clock()
        f = pmd.parse_frame(frame, factor=FACTOR, previous_timestamp_ns=previous, rate_hz=RATE_HZ)
        times_ns.append(clock() - t0)
        cpu_ns.append(cpu() - c0)
        previous = f.timestamp_ns
        decoded.append(f)
    return decoded, times_ns, cpu_ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    frames, counts = make_frames(args.minutes)
    n_samples = counts.shape[0]
    hr_packets = make_hr_packets(args.minutes)
    sizes = [len(f) for f in frames]
    print(
        f"data: {args.minutes:g} min, {n_samples:,} ACC samples at {RATE_HZ} Hz in "
        f"{len(frames):,} frames (0x80, {SAMPLES_PER_FRAME} samples, "
        f"{min(sizes)}-{max(sizes)} bytes), {len(hr_packets):,} HR packets"
    )

    t_base, c_base, base = best_of(1, run_baseline, frames)
    t_batch, c_batch, batch = best_of(args.repeat, run_batch, frames)
    t_each, c_each, (each, times_ns, cpu_ns) = best_of(args.repeat, run_per_notification, frames)

    # Same answers everywhere before any figure counts.
    base_raw = np.array([s for r in base for s in r[0]], dtype=np.int64)
    base_values = np.array([s for r in base for s in r[1]])
    base_stamps = np.array([s for r in base for s in r[2]], dtype=np.int64)
    assert np.array_equal(base_raw, counts) and np.array_equal(batch.raw, counts)
    assert np.array_equal(np.concatenate([f.raw for f in each]), counts)
    assert np.allclose(batch.values, base_values, rtol=1e-12)
    assert batch.sample_timestamps_ns is not None
    assert np.array_equal(batch.sample_timestamps_ns, base_stamps)

    t_hr = []
    clock = time.perf_counter_ns
    for _ in range(args.repeat):
        for packet in hr_packets:
            t0 = clock()
            hrs.parse(packet)
            t_hr.append(clock() - t0)

    rate_batch = n_samples / t_batch
    median_us = statistics.median(times_ns) / 1000
    p99_us = float(np.percentile(times_ns, 99)) / 1000

    def line(label: str, wall: float, cpu: float, ratio: bool = True) -> None:
        text = (
            f"{label:21s}: {wall * 1000:8.1f} ms wall {n_samples / wall / 1e6:6.2f} M samples/s"
            f" | {cpu * 1000:8.1f} ms CPU {n_samples / cpu / 1e6:6.2f} M samples/s"
        )
        if ratio:
            text += f" | {t_base / wall:5.1f}x baseline wall, {c_base / cpu:5.1f}x CPU"
        print(text)

    line("baseline pure Python", t_base, c_base, ratio=False)
    line("batch parse_frames", t_batch, c_batch)
    line("per-notification", t_each, c_each)
    print("  targets: batch >= 20x baseline and >= 5 M samples/s; median per notification <= 50 µs")
    print(
        f"  parse_frame per notification: median {median_us:.1f} µs wall "
        f"({statistics.median(cpu_ns) / 1000:.1f} µs CPU), p99 {p99_us:.1f} µs wall"
    )
    print(f"  baseline per notification:    mean {t_base / len(frames) * 1e6:.1f} µs")
    print(
        f"hrs.parse per packet: median {statistics.median(t_hr) / 1000:.2f} µs "
        f"({len(hr_packets):,} packets x {args.repeat})"
    )
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        " (other work on the machine slows every figure, the ratios less)"
    )
    ok = t_base / t_batch >= 20 and rate_batch >= 5e6 and median_us <= 50
    print("targets met" if ok else "TARGETS NOT MET")


if __name__ == "__main__":
    main()
