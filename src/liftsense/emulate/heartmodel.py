"""Synthetic heart: beat times and RR intervals with known truth, for emulation and validation.

The model is deliberately simple and deterministic given a seed:

* **Heart rate** is a resting baseline plus two first-order components driven by effort (0..1):
  a fast one (vagal withdrawal / reactivation) and a slow one (sympathetic drive). Each rises with
  its "on" time constant while effort is present and decays with its "off" time constant after,
  which gives the fast-then-slow two-phase recovery seen after a set.
* **Elevation** (e.g. caffeine) raises the baseline by ``elevation_bpm`` at its peak, following a
  one-compartment oral absorption curve (Bateman function) with Tmax about 40 min and a 5 h
  elimination half-life (ANALYSIS.md 2.1), normalised so the peak equals ``elevation_bpm``.
* **Beats** are placed where the integral of HR/60 crosses each integer; the RR series then gets
  respiratory sinus arrhythmia (0.25 Hz, drifting), a 0.1 Hz Mayer-wave component and white noise,
  all scaled down as HR rises (vagal withdrawal), so beat-to-beat variability shrinks during sets.
* **Artefacts** a strap produces are injected at ``artefact_rate`` (fraction of true beats),
  split evenly among missed beats (two RR merged), extra beats (one RR split) and ectopic beats
  (a premature beat with a compensatory pause, the sum of the two RR preserved).

Times are seconds from session start; RR in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from liftsense.emulate.sources import rr_per_notification
from liftsense.errors import AnalysisError

__all__ = [
    "LABEL_ECTOPIC",
    "LABEL_EXTRA",
    "LABEL_MISSED",
    "LABEL_NORMAL",
    "HeartTruth",
    "StrapNotifications",
    "simulate_heart",
    "strap_notifications",
]

#: Per observed beat labels in :attr:`HeartTruth.labels`.
LABEL_NORMAL = 0
#: The beat ends an interval that spans a beat the strap did not detect (two true RR merged).
LABEL_MISSED = 1
#: A spurious detection inside a true interval (the beat ends the first, short, part).
LABEL_EXTRA = 2
#: A premature (ectopic) beat: short RR ending here, compensatory long RR after it.
LABEL_ECTOPIC = 3

_GRID_DT_S = 0.1
_FAST_SHARE = 0.55  # share of the effort drive carried by the fast (vagal) component
_TAU_FAST_ON_S, _TAU_FAST_OFF_S = 12.0, 45.0
_TAU_SLOW_ON_S, _TAU_SLOW_OFF_S = 90.0, 300.0
_ELEV_TMAX_S = 40.0 * 60.0
_ELEV_HALF_LIFE_S = 5.0 * 3600.0
_RESP_HZ = 0.25
_MAYER_HZ = 0.1
_NOISE_FRACTION = 0.3  # white beat-to-beat noise SD as a fraction of rsa_ms
_MIN_ARTEFACT_SPACING = 4  # beats between injected artefacts, so each one is isolated


@dataclass(frozen=True)
class HeartTruth:
    """Ground truth and strap-observed beats of one simulated session.

    Attributes:
        beat_t_s: true beat times, s from session start.
        rr_ms: true RR interval ending at each true beat (the first is the interval from the
            virtual beat before the session start).
        observed_beat_t_s: beat times as a strap would report them (after artefacts).
        observed_rr_ms: RR a strap reports, one per observed beat.
        labels: per observed beat, one of ``LABEL_NORMAL``, ``LABEL_MISSED``, ``LABEL_EXTRA``,
            ``LABEL_ECTOPIC``.
        hr_t_s: 1 Hz grid, s from session start (0, 1, 2, ...).
        hr_bpm: the model's smooth heart rate on that grid (without RSA or beat noise).
    """

    beat_t_s: NDArray[np.float64]
    rr_ms: NDArray[np.float64]
    observed_beat_t_s: NDArray[np.float64]
    observed_rr_ms: NDArray[np.float64]
    labels: NDArray[np.int8]
    hr_t_s: NDArray[np.float64]
    hr_bpm: NDArray[np.float64]


@dataclass(frozen=True)
class StrapNotifications:
    """What a BLE Heart Rate strap would notify, one entry per notification.

    Attributes:
        notify_t_s: notification times, s from session start.
        bpm: heart rate each notification carries (integer bpm as float; 0 before any beat).
        rr_1024: per notification, the RR values of beats since the previous notification in
            1/1024 s units (rounded), oldest first; possibly empty.
    """

    notify_t_s: NDArray[np.float64]
    bpm: NDArray[np.float64]
    rr_1024: list[list[int]]


def _bateman_peak1(t_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Oral one-compartment concentration curve, 0 before t=0, peak 1 at Tmax."""
    ke = np.log(2.0) / _ELEV_HALF_LIFE_S
    # Solve Tmax = ln(ka/ke) / (ka - ke) for ka by bisection on a bracket (monotone in ka).
    lo, hi = ke * 1.0001, 1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.log(mid / ke) / (mid - ke) > _ELEV_TMAX_S:
            lo = mid
        else:
            hi = mid
    ka = 0.5 * (lo + hi)
    tc = np.clip(t_s, 0.0, None)
    c = np.exp(-ke * tc) - np.exp(-ka * tc)
    t_max = np.log(ka / ke) / (ka - ke)
    peak = np.exp(-ke * t_max) - np.exp(-ka * t_max)
    return np.where(t_s > 0, c / peak, 0.0)


def _first_order(
    u: NDArray[np.float64], on: NDArray[np.bool_], tau_on_s: float, tau_off_s: float
) -> NDArray[np.float64]:
    """First-order lag of ``u`` whose time constant switches with ``on``, run by regime blocks."""
    out = np.empty_like(u)
    change = np.flatnonzero(np.diff(on.astype(np.int8))) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [u.size]))
    y_prev = 0.0
    for s, e in zip(starts, ends, strict=True):
        a = float(np.exp(-_GRID_DT_S / (tau_on_s if on[s] else tau_off_s)))
        y, _ = lfilter([1.0 - a], [1.0, -a], u[s:e], zi=[a * y_prev])
        out[s:e] = y
        y_prev = float(y[-1])
    return out


def _hr_curve(
    t_s: NDArray[np.float64],
    effort_t_s: NDArray[np.float64] | None,
    effort: NDArray[np.float64] | None,
    rest_hr_bpm: float,
    max_hr_bpm: float,
    elevation_bpm: float,
    elevation_onset_s: float,
) -> NDArray[np.float64]:
    base = rest_hr_bpm + elevation_bpm * _bateman_peak1(t_s - elevation_onset_s)
    if effort is None or effort_t_s is None:
        return base
    e = np.clip(np.interp(t_s, effort_t_s, effort, left=0.0, right=0.0), 0.0, 1.0)
    drive = e * (max_hr_bpm - base)
    on = e > 0
    fast = _first_order(_FAST_SHARE * drive, on, _TAU_FAST_ON_S, _TAU_FAST_OFF_S)
    slow = _first_order((1.0 - _FAST_SHARE) * drive, on, _TAU_SLOW_ON_S, _TAU_SLOW_OFF_S)
    return np.minimum(base + fast + slow, max_hr_bpm)


def _inject_artefacts(
    beat_t_s: NDArray[np.float64],
    rr_ms: NDArray[np.float64],
    rate: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]]:
    n = beat_t_s.size
    labels = np.zeros(n, dtype=np.int8)
    n_art = round(rate * n)
    if n_art == 0 or n < 8:
        return beat_t_s.copy(), rr_ms.copy(), labels
    # Isolated positions: draw gaps of at least _MIN_ARTEFACT_SPACING beats, then place.
    slots = (n - 4) // _MIN_ARTEFACT_SPACING
    n_art = min(n_art, slots)
    pos = np.sort(rng.choice(slots, size=n_art, replace=False)) * _MIN_ARTEFACT_SPACING + 2
    kinds = rng.permutation(np.resize(np.array([1, 2, 3], dtype=np.int8), n_art))

    t = beat_t_s.copy()
    keep = np.ones(n, dtype=bool)
    ect = pos[kinds == LABEL_ECTOPIC]
    # Premature by 20-35 % of the interval; the next beat stays where it was (compensatory pause).
    t[ect] -= rng.uniform(0.20, 0.35, ect.size) * rr_ms[ect] / 1000.0
    labels[ect] = LABEL_ECTOPIC
    mis = pos[kinds == LABEL_MISSED]
    keep[mis] = False
    labels[mis + 1] = LABEL_MISSED
    ext = pos[kinds == LABEL_EXTRA]
    extra_t = t[ext - 1] + rng.uniform(0.25, 0.65, ext.size) * rr_ms[ext] / 1000.0

    obs_t = np.concatenate((t[keep], extra_t))
    obs_lab = np.concatenate((labels[keep], np.full(ext.size, LABEL_EXTRA, dtype=np.int8)))
    order = np.argsort(obs_t, kind="stable")
    obs_t, obs_lab = obs_t[order], obs_lab[order]
    obs_rr = np.diff(obs_t, prepend=beat_t_s[0] - rr_ms[0] / 1000.0) * 1000.0
    return obs_t, obs_rr, obs_lab


def simulate_heart(
    duration_s: float,
    *,
    effort_t_s: NDArray[np.float64] | None = None,
    effort: NDArray[np.float64] | None = None,
    rest_hr_bpm: float = 62.0,
    max_hr_bpm: float = 185.0,
    elevation_bpm: float = 0.0,
    elevation_onset_s: float = 0.0,
    rsa_ms: float = 40.0,
    artefact_rate: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> HeartTruth:
    """Simulate a session's beats with known truth and strap-style artefacts.

    Args:
        duration_s: session length, s.
        effort_t_s, effort: effort in 0..1 sampled at increasing times (s); linearly
            interpolated, 0 outside. Effort 1 drives HR towards ``max_hr_bpm``.
        rest_hr_bpm: resting HR without elevation.
        max_hr_bpm: ceiling the effort drive aims at.
        elevation_bpm: peak rise of the resting baseline (caffeine-like time course).
        elevation_onset_s: intake time, s from session start (may be negative: taken before).
        rsa_ms: respiratory sinus arrhythmia amplitude at rest (ms); beat noise scales with it.
        artefact_rate: fraction of true beats turned into missed, extra or ectopic beats (0..0.2).
        seed: seed or generator, for reproducibility.

    Returns:
        :class:`HeartTruth`.

    Raises:
        AnalysisError: on a non-positive duration, out-of-range rates or mismatched effort arrays.
    """
    if not duration_s > 0:
        raise AnalysisError(f"simulate_heart: duration_s must be > 0, got {duration_s}")
    if not 0.0 <= artefact_rate <= 0.2:
        raise AnalysisError(f"simulate_heart: artefact_rate must be in 0..0.2, got {artefact_rate}")
    if not 20.0 <= rest_hr_bpm < max_hr_bpm <= 240.0:
        raise AnalysisError(
            f"simulate_heart: need 20 <= rest_hr_bpm < max_hr_bpm <= 240, got "
            f"{rest_hr_bpm} and {max_hr_bpm}"
        )
    if (effort is None) != (effort_t_s is None):
        raise AnalysisError("simulate_heart: give both effort_t_s and effort, or neither")
    if effort is not None and effort_t_s is not None:
        effort_t_s = np.asarray(effort_t_s, dtype=np.float64)
        effort = np.asarray(effort, dtype=np.float64)
        if effort.shape != effort_t_s.shape or effort.ndim != 1:
            raise AnalysisError("simulate_heart: effort and effort_t_s must be 1-D, same length")
        if np.any(np.diff(effort_t_s) < 0):
            raise AnalysisError("simulate_heart: effort_t_s must be non-decreasing")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    # Grid extends past the end so the last beats are placed with a defined HR.
    grid_t = np.arange(0.0, duration_s + 5.0, _GRID_DT_S)
    hr = _hr_curve(
        grid_t, effort_t_s, effort, rest_hr_bpm, max_hr_bpm, elevation_bpm, elevation_onset_s
    )
    # Beats where the cumulative number of heartbeats crosses each integer (random phase start).
    phase = np.concatenate(([0.0], np.cumsum(hr[:-1] / 60.0 * _GRID_DT_S))) + rng.uniform()
    k = np.arange(np.ceil(phase[0]), np.floor(phase[-1]) + 1.0)
    smooth_t = np.interp(k, phase, grid_t)
    smooth_rr_ms = np.diff(smooth_t) * 1000.0
    mid_t = smooth_t[1:]

    # Variability shrinks with the square of mean RR relative to rest (vagal withdrawal).
    scale = (smooth_rr_ms / (60000.0 / rest_hr_bpm)) ** 2
    resp_hz = _RESP_HZ * np.exp(np.cumsum(rng.normal(0.0, 0.01, mid_t.size)))
    resp_phase = 2.0 * np.pi * np.cumsum(resp_hz * smooth_rr_ms / 1000.0)
    rr = smooth_rr_ms + scale * (
        rsa_ms * np.sin(resp_phase)
        + 0.5 * rsa_ms * np.sin(2.0 * np.pi * _MAYER_HZ * mid_t + rng.uniform(0, 2 * np.pi))
        + _NOISE_FRACTION * rsa_ms * rng.standard_normal(mid_t.size)
    )
    rr = np.clip(rr, 250.0, 2500.0)
    beat_t = smooth_t[0] + np.cumsum(rr) / 1000.0
    inside = beat_t <= duration_s
    beat_t, rr = beat_t[inside], rr[inside]

    obs_t, obs_rr, labels = _inject_artefacts(beat_t, rr, artefact_rate, rng)
    hr_t = np.arange(0.0, np.floor(duration_s) + 1.0)
    hr_bpm = np.interp(hr_t, grid_t, hr)
    return HeartTruth(beat_t, rr, obs_t, obs_rr, labels, hr_t, hr_bpm)


def strap_notifications(
    observed_beat_t_s: NDArray[np.float64],
    observed_rr_ms: NDArray[np.float64],
    *,
    duration_s: float | None = None,
    interval_s: float = 1.0,
    phase_s: float = 0.5,
    bpm_beats: int = 4,
) -> StrapNotifications:
    """Turn observed beats into the notifications a BLE Heart Rate strap would send.

    A notification goes out every ``interval_s`` from ``phase_s`` on; it carries the RR of beats
    detected since the previous notification (1/1024 s units, rounded, oldest first) and a bpm
    equal to 60000 / mean of the last ``bpm_beats`` RR up to that time, rounded (0 before the
    first beat), as straps report a smoothed rate.

    Args:
        observed_beat_t_s, observed_rr_ms: from :class:`HeartTruth` (same length).
        duration_s: last notification time bound; defaults to the last beat time.
        interval_s: notification period, s.
        phase_s: first notification time, s.
        bpm_beats: number of recent RR averaged for the bpm field.
    """
    bt = np.asarray(observed_beat_t_s, dtype=np.float64)
    rr = np.asarray(observed_rr_ms, dtype=np.float64)
    if bt.shape != rr.shape:
        raise AnalysisError("strap_notifications: beat times and RR differ in length")
    end = float(bt[-1]) if duration_s is None and bt.size else float(duration_s or 0.0)
    # One period past the end so the last beats are delivered.
    notify_t = np.arange(phase_s, end + interval_s, interval_s)
    # Number of beats detected up to each notification (right-closed: a beat at the same
    # instant is already in that notification).
    upto = np.searchsorted(bt, notify_t, side="right")
    csum = np.concatenate(([0.0], np.cumsum(rr)))
    lo = np.maximum(upto - bpm_beats, 0)
    n = upto - lo
    mean_rr = np.divide(csum[upto] - csum[lo], n, out=np.zeros(n.size), where=n > 0)
    bpm = np.where(n > 0, np.round(60000.0 / np.where(n > 0, mean_rr, 1.0)), 0.0)
    rr_1024 = rr_per_notification(bt, np.round(rr * 1.024).astype(np.int64), notify_t)
    return StrapNotifications(notify_t, bpm.astype(np.float64), rr_1024)
