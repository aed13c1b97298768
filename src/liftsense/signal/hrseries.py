"""Heart-rate series on a regular grid from cleaned RR, with the strap's bpm as fallback."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from liftsense.signal.rr import CleanRR

__all__ = ["HeartRateSeries", "heart_rate_series", "smoothed"]

_NS = 1_000_000_000


@dataclass(frozen=True)
class HeartRateSeries:
    """HR on a regular grid: ``t0_ns + i / fs_hz`` seconds; NaN where invalid.

    ``source`` per sample: 0 invalid, 1 from RR, 2 from the strap's bpm.
    """

    t0_ns: int
    fs_hz: float
    hr_bpm: NDArray[np.float64]
    source: NDArray[np.int8]

    def index_of(self, t_ns: int) -> int:
        """Grid index at or after ``t_ns`` (may be outside ``[0, len]``)."""
        return math.ceil((t_ns - self.t0_ns) * self.fs_hz / _NS)


def heart_rate_series(
    clean: CleanRR | None,
    hr_t_ns: NDArray[np.int64],
    hr_bpm: NDArray[np.float64],
    *,
    fs_hz: float = 4.0,
    max_hr_gap_s: float = 2.5,
) -> HeartRateSeries:
    """HR at ``fs_hz`` from cleaned RR, falling back to the strap's bpm where RR is absent.

    RR-derived HR (60000 / RR at each beat, linear between beats) is defined only between two
    beats of the same link-loss segment. Strap bpm is used between two notifications at most
    ``max_hr_gap_s`` apart that both carry a non-zero bpm. Any grid point within
    ``max_hr_gap_s / 2`` of a 0-bpm notification (no skin contact) is invalid.
    """
    step_ns = _NS / fs_hz
    firsts = [int(x[0]) for x in (clean.t_ns if clean else np.zeros(0), hr_t_ns) if x.size]
    lasts = [int(x[-1]) for x in (clean.t_ns if clean else np.zeros(0), hr_t_ns) if x.size]
    if not firsts:
        return HeartRateSeries(0, fs_hz, np.zeros(0), np.zeros(0, np.int8))
    t0 = min(firsts)
    n = int((max(lasts) - t0) // step_ns) + 1
    grid = t0 + np.round(np.arange(n) * step_ns).astype(np.int64)
    out = np.full(n, np.nan)
    src = np.zeros(n, np.int8)

    if clean is not None and clean.t_ns.size >= 2:
        bt = clean.t_ns
        k = np.searchsorted(bt, grid, side="right")
        inside = (k > 0) & (k < bt.size)
        kk = np.clip(k, 1, bt.size - 1)
        inside &= clean.segment[kk] == clean.segment[kk - 1]
        inside |= (k > 0) & (bt[np.maximum(k - 1, 0)] == grid)  # exactly on a beat
        inst = 60000.0 / clean.rr_ms
        val = np.interp(grid.astype(np.float64), bt.astype(np.float64), inst)
        out[inside] = val[inside]
        src[inside] = 1

    if hr_t_ns.size:
        k = np.searchsorted(hr_t_ns, grid, side="right")
        kk = np.clip(k, 1, max(hr_t_ns.size - 1, 1))
        lo, hi = hr_t_ns[kk - 1], hr_t_ns[np.minimum(kk, hr_t_ns.size - 1)]
        gap_ok = (hi - lo) <= max_hr_gap_s * _NS
        both = (hr_bpm[kk - 1] > 0) & (hr_bpm[np.minimum(kk, hr_t_ns.size - 1)] > 0)
        inside = (k > 0) & (k < hr_t_ns.size) & gap_ok & both
        inside |= (grid == hr_t_ns[-1]) & (hr_bpm[-1] > 0)
        val = np.interp(grid.astype(np.float64), hr_t_ns.astype(np.float64), hr_bpm)
        fill = inside & (src == 0)
        out[fill] = val[fill]
        src[fill] = 2
        zero_t = hr_t_ns[hr_bpm <= 0]
        if zero_t.size:
            j = np.searchsorted(zero_t, grid)
            near = np.minimum(
                np.abs(grid - zero_t[np.clip(j - 1, 0, zero_t.size - 1)]),
                np.abs(zero_t[np.clip(j, 0, zero_t.size - 1)] - grid),
            )
            lost = near <= max_hr_gap_s * _NS / 2
            out[lost] = np.nan
            src[lost] = 0
    return HeartRateSeries(t0, fs_hz, out, src)


def smoothed(hr: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Centred moving mean over ``width`` samples ignoring NaN (NaN where none valid)."""
    ok = np.isfinite(hr)
    c = np.concatenate(([0.0], np.cumsum(np.where(ok, hr, 0.0))))
    m = np.concatenate(([0], np.cumsum(ok)))
    lo = np.clip(np.arange(hr.size) - width // 2, 0, hr.size)
    hi = np.clip(np.arange(hr.size) + width - width // 2, 0, hr.size)
    cnt = m[hi] - m[lo]
    return np.divide(c[hi] - c[lo], cnt, out=np.full(hr.size, np.nan), where=cnt > 0)
