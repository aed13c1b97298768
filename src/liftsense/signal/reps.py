"""Sets, reps and phases from one IMU stream: tempo and eccentric time under tension.

``detect(imu, exercise=None, markers=None)`` works for a sensor on the bar, wrist, thigh or hip
in any orientation, 12.5-416 Hz, with or without gyro. Steps:

1. ``imu.prepare``: validate, resample to 50 Hz (anti-aliased), flag long gaps.
2. ``segment``: candidate windows of activity between rests (walking excluded), or the
   recording's set markers when given.
3. Per window, a progress signal: the vertical displacement from the orientation-free magnitude of
   the specific force (drift held by zero velocity at rests and turnarounds), or, when the
   sensor barely moves up and down (a thigh in an RDL), its rotation.
4. ``phases.find_reps``: prominent excursions of that signal, each movement timed from its
   10/90 % crossings; reps that reverse half-way are failed attempts.
5. Which movement is eccentric comes from the exercise table (``exercises.exercise_info``); for
   an unknown exercise the start position is where the window rests, and lowering from it is
   taken as eccentric.

Times in results are seconds from ``t0``, the first sample of the input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from liftsense.signal import imu as _imu
from liftsense.signal.exercises import DEFAULT_EXERCISE, Exercise, exercise_info
from liftsense.signal.phases import RawRep, find_reps, join_turnaround
from liftsense.signal.segment import candidate_windows, marker_windows

__all__ = ["RepResult", "SetResult", "detect", "format_tempo"]

FloatArray = npt.NDArray[np.float64]
_MIN_DISP_M = 0.08
_MIN_ROT_RAD = 0.2
_ROT_PREFERRED_RAD = 0.35
_MIN_REP_S = 0.6
_SET_SPLIT_S = 8.0
_MIN_REL_ROM = 0.35


@dataclass(frozen=True)
class RepResult:
    """One completed rep. Phases are named by what they follow (see ``exercises``); velocities
    are of the sensor, in m/s (NaN when its displacement could not be estimated)."""

    index: int
    start_s: float
    end_s: float
    eccentric_s: float
    bottom_pause_s: float
    concentric_s: float
    top_pause_s: float
    rom_m: float
    eccentric_mean_velocity_mps: float
    eccentric_peak_velocity_mps: float
    concentric_mean_velocity_mps: float
    concentric_peak_velocity_mps: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_json(self, shift_s: float = 0.0) -> dict[str, Any]:
        keys = ("eccentric_s", "bottom_pause_s", "concentric_s", "top_pause_s", "rom_m")
        out: dict[str, Any] = {
            "index": self.index,
            "start_s": round(self.start_s + shift_s, 3),
            "end_s": round(self.end_s + shift_s, 3),
        }
        out |= {k: _num(getattr(self, k)) for k in keys}
        return out


@dataclass(frozen=True)
class SetResult:
    """One set: its reps, tempo (median phases, ``"3-1-1-0"``), eccentric and total time under
    tension (s), and how it was found (``signal``: ``displacement`` or ``rotation``; ``source``:
    ``auto`` or ``markers``). ``load_kg`` is NaN here; the caller knows the plan."""

    index: int
    exercise: str
    t0: pd.Timestamp
    start_s: float
    end_s: float
    reps: tuple[RepResult, ...]
    tempo: str
    eccentric_tut_s: float
    concentric_tut_s: float
    total_tut_s: float
    failed_reps: int
    rom_m: float
    signal: str
    source: str
    load_kg: float = math.nan

    @property
    def n_reps(self) -> int:
        return len(self.reps)

    def to_json(self, t0: pd.Timestamp | str | None = None) -> dict[str, Any]:
        """The ``sets[]`` entry of ``liftsense analyze --json``, times in s from ``t0``
        (default: the first sample of the analysed input)."""
        shift = 0.0 if t0 is None else (self.t0 - _utc(pd.Timestamp(t0))).total_seconds()
        return {
            "index": self.index,
            "exercise": self.exercise,
            "load_kg": _num(self.load_kg),
            "start_s": round(self.start_s + shift, 3),
            "end_s": round(self.end_s + shift, 3),
            "tempo": self.tempo,
            "eccentric_tut_s": _num(self.eccentric_tut_s),
            "total_tut_s": _num(self.total_tut_s),
            "failed_reps": self.failed_reps,
            "reps": [r.to_json(shift) for r in self.reps],
        }


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 3)


def format_tempo(phases_s: Iterable[float]) -> str:
    """``"3-1-1-0"`` from four phase durations, each rounded to the nearest 0.5 s."""
    parts = []
    for v in phases_s:
        r = round(float(v) * 2) / 2 if math.isfinite(v) else 0.0
        parts.append(f"{r:g}")
    return "-".join(parts)


def _edge_sign(s: FloatArray, fs: float) -> float:
    """-1 if ``s`` must be flipped so that the window's resting ends lie nearer its low side."""
    k = max(int(fs), 1)
    edge = float(np.median(np.concatenate([s[:k], s[-k:]])))
    lo, hi = np.quantile(s, [0.05, 0.95])
    return -1.0 if edge - lo > hi - edge else 1.0


def _oriented_reps(
    sig: FloatArray, fs: float, min_prom: float, arc: float, sign: float | None
) -> tuple[list[RawRep], float]:
    """Reps in ``sign * sig``; with ``sign`` None, the orientation giving more completed reps
    (ties: the one whose resting ends lie low)."""
    if sign is not None:
        return _mark_abnormal(find_reps(sign * sig, fs, min_prominence=min_prom, arc_rad=arc)), sign
    first = _edge_sign(sig, fs)
    best: tuple[list[RawRep], float] = ([], first)
    for sg in (first, -first):
        raw = _mark_abnormal(find_reps(sg * sig, fs, min_prominence=min_prom, arc_rad=arc))
        if sum(not r.failed for r in raw) > sum(not r.failed for r in best[0]):
            best = (raw, sg)
    return best


def _reps_in_window(
    u: _imu.UniformImu, i0: int, i1: int, info: Exercise
) -> tuple[list[RawRep], FloatArray, str, bool]:
    """Reps in one window, the oriented displacement (m) they were measured on, the kind of
    progress signal used (``displacement`` or ``rotation``), and whether reps start with the
    eccentric (from the table, or for an unknown exercise: whether the first movement from
    the resting position goes down)."""
    fs = u.fs_hz
    acc = u.acc[i0:i1]
    gyro = u.gyro[i0:i1] if u.gyro is not None else None
    v, x = _imu.vertical_motion(acc, fs, gyro)
    known = info is not DEFAULT_EXERCISE
    first_down = (info.eccentric_direction == "down") == info.starts_with_eccentric
    amp_d = float(np.subtract(*np.quantile(x, [0.95, 0.05])))
    rot = _imu.rotation_progress(acc, gyro, fs)
    amp_r = float(np.subtract(*np.quantile(rot, [0.95, 0.05])))
    corr = float(np.corrcoef(rot, x)[0, 1]) if amp_d > 0 and amp_r > 0 else 0.0
    arc = math.radians(info.arc_deg)
    raw_d: list[RawRep] = []
    sign = (-1.0 if first_down else 1.0) if known else _edge_sign(x, fs)
    if amp_d >= _MIN_DISP_M:
        raw_d, sign = _oriented_reps(x, fs, 0.6 * _MIN_DISP_M, arc, sign if known else None)
    kind, raw = "displacement", raw_d
    if amp_r >= _MIN_ROT_RAD and (amp_r >= _ROT_PREFERRED_RAD or not raw_d):
        # a joint rotating in step with the movement (thigh, hip, forearm in a curl) can be a
        # cleaner progress signal than a small vertical displacement seen through a sensor
        # whose axes disagree on scale: use it when it finds more complete reps; but a wrist
        # that tilts forth and back within each squat shows two rotation peaks per rep
        r_sign = sign * math.copysign(1.0, corr) if abs(corr) >= 0.6 else None
        raw_r, r_sign = _oriented_reps(rot, fs, 0.75 * _MIN_ROT_RAD, 0.0, r_sign)
        done_d, done_r = sum(not r.failed for r in raw_d), sum(not r.failed for r in raw_r)
        if done_r >= 2 and done_r > done_d and not (done_d >= 2 and done_r >= 1.6 * done_d):
            kind, raw = "rotation", raw_r
            if abs(corr) >= 0.6:
                sign = r_sign * math.copysign(1.0, corr)
    disp = sign * x
    ecc_first = info.starts_with_eccentric if known else sign < 0
    raw = _mark_abnormal(raw)
    first = raw
    for _ in range(2):  # drift control: zero velocity at rests and turnarounds, then redo
        normal = [r for r in raw if not r.failed]
        if not normal:
            break
        disp = sign * np.cumsum(v - _velocity_correction(normal, fs, v)) / fs
        if kind != "displacement":
            break
        raw = (
            _mark_abnormal(find_reps(disp, fs, min_prominence=0.6 * _MIN_DISP_M, arc_rad=arc))
            or raw
        )
    # a failed attempt seen in the first pass may be smoothed away by the drift control
    seen = [r.out_on for r in raw]
    raw = raw + [r for r in first if r.failed and all(abs(r.out_on - o) > fs for o in seen)]
    return raw, disp, kind, ecc_first


def _mark_abnormal(raw: list[RawRep]) -> list[RawRep]:
    """Flag as failed a rep whose movements take over 2.5 times the set's median: a grind
    that stalled, was lowered and dumped, rather than a rep."""
    if len(raw) < 3:
        return raw
    moves = np.array([(r.out_arr - r.out_on) + (r.back_arr - r.back_on) for r in raw])
    limit = 2.5 * float(np.median(moves))
    return [replace(r, failed=True) if m > limit else r for r, m in zip(raw, moves, strict=True)]


def _velocity_correction(raw: list[RawRep], fs: float, v: FloatArray) -> FloatArray:
    """Velocity error to subtract from ``v`` (piecewise linear between knots).

    Pinned knots, where the load is still and the error is the measured velocity: every 0.1 s
    inside pauses (0.15 s margins) and before the first and after the last rep (0.5 s
    margins, so re-racking is not timed), and the turnarounds at the start position. The far
    turnaround of a rep without a pause is a free knot, set so that the rep returns to the
    level it started from: its extreme is too flat to place within the few samples where a
    fast movement still moves.
    """
    n = v.size
    rows = sorted(raw, key=lambda r: r.out_on)
    pinned: set[int] = set()
    free: list[tuple[int, int, int]] = []

    def inside(a: float, b: float) -> set[int]:
        return {int(i) for i in np.arange(a + 0.15 * fs, b - 0.15 * fs, 0.1 * fs)}

    if rows:
        pinned |= {int(i) for i in np.arange(0, rows[0].out_on - 0.5 * fs, 0.1 * fs)}
        pinned |= {int(i) for i in np.arange(max(r.back_arr for r in rows) + 0.5 * fs, n, 0.1 * fs)}
        pinned.add(rows[0].i0)
    for k, r in enumerate(rows):
        if r.back_on - r.out_arr < 0.3 * fs:
            free.append((r.ipk, r.i0, r.i1))
        else:
            pinned |= inside(r.out_arr, r.back_on)
        nxt = rows[k + 1].out_on if k + 1 < len(rows) else None
        if nxt is None or nxt - r.back_arr < 0.3 * fs:
            pinned.add(r.i1)
        else:
            pinned |= inside(r.back_arr, nxt)
    pins = sorted(p for p in pinned if 0 <= p < n)
    free = [f for f in free if 0 <= f[0] < n and f[0] not in pinned]
    if not pins:
        return np.zeros(n)
    keys = np.array(sorted(pins + [f[0] for f in free]))
    grid = np.arange(n)
    base_vals = np.where(np.isin(keys, pins), v[keys], 0.0)
    corr: FloatArray = np.interp(grid, keys, base_vals)
    for p, i0, i1 in free:
        hat = np.interp(grid, keys, (keys == p).astype(np.float64))
        span = slice(i0, i1 + 1)
        weight = float(hat[span].sum())
        if weight > 0:
            corr = corr + hat * float((v[span].sum() - corr[span].sum()) / weight)
    return corr


def _phase_speeds(
    disp: FloatArray, vel: FloatArray, a: float, b: float, fs: float
) -> tuple[float, float]:
    """Mean and peak speed (m/s) between sub-sample indices ``a`` and ``b``."""
    ia, ib = math.floor(a), math.ceil(b) + 1
    ia, ib = max(ia, 0), min(ib, disp.size)
    if ib - ia < 2 or b <= a:
        return math.nan, math.nan
    rng = float(np.ptp(disp[ia:ib]))
    return rng / ((b - a) / fs), float(np.max(np.abs(vel[ia:ib])))


def _to_results(
    raw: list[RawRep],
    disp: FloatArray,
    vel: FloatArray,
    *,
    i0: int,
    fs: float,
    ecc_first: bool,
) -> list[tuple[list[RepResult], int]]:
    """Group completed reps into sets (split at long gaps); returns (reps, failed count)."""
    groups: list[tuple[list[RepResult], int]] = []
    done = [r for r in raw if not r.failed]
    ok = sorted(done, key=lambda r: r.out_on)
    cur: list[RawRep] = []
    chunks: list[list[RawRep]] = []
    for r in ok:
        if cur and (r.out_on - cur[-1].back_arr) / fs > _SET_SPLIT_S:
            chunks.append(cur)
            cur = []
        cur.append(r)
    if cur:
        chunks.append(cur)
    for chunk in chunks:
        reps: list[RepResult] = []
        starts = [r.out_on for r in chunk]
        ends = [r.back_arr for r in chunk]
        for k in range(len(chunk) - 1):
            a, b = chunk[k], chunk[k + 1]
            ends[k], starts[k + 1] = join_turnaround(
                a.back_arr, a.back_arr - a.back_on, b.out_on, b.out_arr - b.out_on, fs
            )
        for k, r in enumerate(chunk):
            r = replace(r, out_on=starts[k], back_arr=ends[k])
            nxt = starts[k + 1] if k + 1 < len(chunk) else r.back_arr
            back_arr = min(r.back_arr, nxt)
            out_s = (r.out_arr - r.out_on) / fs
            far_pause = max(r.back_on - r.out_arr, 0.0) / fs
            back_s = (back_arr - r.back_on) / fs
            start_pause = max(nxt - back_arr, 0.0) / fs
            rom = abs(float(disp[r.ipk] - 0.5 * (disp[r.i0] + disp[r.i1]))) if disp.size else 0.0
            sp_out = _phase_speeds(disp, vel, r.out_on, r.out_arr, fs)
            sp_back = _phase_speeds(disp, vel, r.back_on, back_arr, fs)
            ecc, con = (out_s, back_s) if ecc_first else (back_s, out_s)
            bp, tp = (far_pause, start_pause) if ecc_first else (start_pause, far_pause)
            (em, ep), (cm, cp) = (sp_out, sp_back) if ecc_first else (sp_back, sp_out)
            reps.append(
                RepResult(
                    k + 1,
                    (i0 + r.out_on) / fs,
                    (i0 + nxt) / fs,
                    ecc,
                    bp,
                    con,
                    tp,
                    rom,
                    em,
                    ep,
                    cm,
                    cp,
                )
            )
        med_rom = float(np.median([r.rom_m for r in reps]))
        reps = [r for r in reps if r.rom_m >= _MIN_REL_ROM * med_rom]
        reps = [replace(r, index=k) for k, r in enumerate(reps, start=1)]
        last = chunk[-1]
        failed = sum(1 for r in raw if r.failed and r.out_on > last.out_on)
        groups.append((reps, failed))
    return groups


def _make_set(
    reps: list[RepResult],
    failed: int,
    info: Exercise,
    t0: pd.Timestamp,
    kind: str,
    source: str,
    ecc_first: bool,
) -> SetResult:
    ph = np.array([[r.eccentric_s, r.bottom_pause_s, r.concentric_s, r.top_pause_s] for r in reps])
    med = np.median(ph, axis=0)
    trailing = 3 if ecc_first else 1
    if len(reps) > 1:  # the last rep's trailing pause is 0 by convention
        med[trailing] = float(np.median(ph[:-1, trailing]))
    return SetResult(
        index=0,
        exercise=info.name,
        t0=t0,
        start_s=reps[0].start_s,
        end_s=reps[-1].end_s,
        reps=tuple(reps),
        tempo=format_tempo(med),
        eccentric_tut_s=float(ph[:, 0].sum()),
        concentric_tut_s=float(ph[:, 2].sum()),
        total_tut_s=float(ph.sum()),
        failed_reps=failed,
        rom_m=float(np.median([r.rom_m for r in reps])),
        signal=kind,
        source=source,
    )


def detect(
    imu: pd.DataFrame,
    *,
    exercise: str | None = None,
    markers: Iterable[Mapping[str, Any]] | None = None,
) -> list[SetResult]:
    """Find sets, reps and phases in one IMU stream.

    Args:
        imu: UTC ``t`` index; ``x, y, z`` acc in m/s² (gravity included); optional ``gx, gy,
            gz`` in rad/s. Any rate from about 10 Hz; gaps up to 5 s are bridged.
        exercise: the exercise performed (table name or alias); None or unknown uses the
            default (lowering is eccentric, start position inferred from the rests).
        markers: the recording's markers (``{"t", "kind"}`` with kinds ``set_start`` and
            ``set_end``); when present they bound the sets and a single rep counts as a set.

    Returns:
        Sets in time order, indexed from 1; empty if nothing looks like lifting.

    Raises:
        AnalysisError: the input cannot be analysed (missing columns, all NaN, shorter than
            3 s, constant, or acc not in m/s²).
    """
    u = _imu.prepare(imu)
    info = exercise_info(exercise)
    windows = marker_windows(u, markers) if markers is not None else []
    source = "markers" if windows else "auto"
    if not windows:
        windows = candidate_windows(u)
    min_reps = 1 if source == "markers" else 2
    results: list[SetResult] = []
    for i0, i1 in windows:
        raw, disp, kind, ecc_first = _reps_in_window(u, i0, i1, info)
        vel = np.gradient(disp) * u.fs_hz if disp.size > 1 else disp
        for reps, failed in _to_results(raw, disp, vel, i0=i0, fs=u.fs_hz, ecc_first=ecc_first):
            durations = [r.eccentric_s + r.concentric_s for r in reps]
            if not reps or len(reps) < min_reps or float(np.median(durations)) < _MIN_REP_S:
                continue
            results.append(_make_set(reps, failed, info, u.t0, kind, source, ecc_first))
    results.sort(key=lambda s: s.start_s)
    return [SetResult(**{**s.__dict__, "index": k}) for k, s in enumerate(results, start=1)]
