"""Device clock -> host clock alignment, and beat times rebuilt from RR intervals.

BLE delivery delay is one-sided: a notification stamped on the device at ``t_device`` arrives at
``host = true(t_device) + delay`` with ``delay >= 0``. So the line ``host ≈ a + b·device`` that lies
under every (device, receive) point and touches their lower envelope estimates the clock mapping;
averaging or least squares would be biased by the mean delay and swayed by its tail.

The geometry is in :mod:`liftsense.ble.envelope`: the line under every point that touches the
lower convex hull, its slope taken as the hull's chord between the first and third quarter of the
data (steadier than the single hull edge under the centre when low-delay points sit close).
The slope is then shrunk towards 0 by how poorly the envelope pins it down yet.

Memory is bounded: each segment keeps only the lowest point per ``bin_ns`` of device time over
the last ``window_ns`` (so slow drift changes are followed). Within one bin the drift moves the
line by ``drift · bin_ns`` (12.5 µs at 50 ppm and 250 ms), far below the target accuracy.

A constant part of the delay cannot be observed from one-way timestamps: the envelope estimates
``true + min_delay``. ``min_delay_ns`` (default 7.5 ms, one minimum BLE connection interval) is
subtracted as an assumption; an error in it shifts a device's times by a constant, never warps them.

Conventions: all times are int64 nanoseconds. A fit is ``host_ns = device_ns + offset_ns +
drift_ppm·1e-6·(device_ns − device_ref_ns)`` (drift = host ns per device ns − 1): a
:class:`liftsense.schema.ClockFit`, the recording metadata ``clock`` entry, whose
``device_ref_ns`` is the segment's first device time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from liftsense.ble.envelope import fit_envelope, fit_lower_line
from liftsense.errors import LiftSenseError
from liftsense.schema import ClockFit

__all__ = [
    "BeatClock",
    "ClockAligner",
    "beat_times",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Points over which the mean excess above the envelope is averaged (then an EWMA).
_EXCESS_MEMORY = 200
#: Beat clocks are coarse (a packet is sent up to a second after its last beat), so a short
#: segment's envelope could suggest any slope; a strap crystal is within tens of ppm.
_BEAT_MAX_DRIFT_PPM = 200.0


class ClockAligner:
    """Online lower-envelope fit of one device clock against the host clock.

    Feed it ``update(device_ns, host_ns)`` with the device timestamp of each notification (the
    time of its last sample) and its receive time; map sample times with ``to_host``. Arrays are
    handled vectorised; a call costs a few numpy passes over at most ``window_ns / bin_ns``
    retained points, and a full refit runs only when a point falls under the line or once per
    ``refit_interval_ns`` of device time.

    Warm-up: a frame is placed as well as the lowest delay seen so far allows (about
    (max − min delay) / points: up to the whole delay spread on the first frame, ~1-2 ms after a
    second of 20 frames/s). Drift is fitted once a segment spans ``drift_min_span_ns`` (2 s),
    shrunk towards 0 while the envelope pins it down poorly (a normal prior of standard deviation
    ``drift_prior_ppm``). With 20 frames/s, 7.5-50 ms delays, 3 s offset and 50 ppm, sample times
    are within 2 ms at p95 from 5 s on, ~0.5 ms after 20 s (tests/ble/test_clock.py).

    A point further than ``reset_threshold_ns`` from the line (a device clock reset such as the
    H10 restarting at 2019-01-01, or a jump forward) starts a new segment; ``restart()`` forces
    one. ``to_host`` always uses the current segment, so convert each batch right after
    ``update`` with it.
    """

    def __init__(
        self,
        *,
        min_delay_ns: int = 7_500_000,
        reset_threshold_ns: int = 5_000_000_000,
        max_drift_ppm: float = 1000.0,
        drift_min_span_ns: int = 2_000_000_000,
        drift_prior_ppm: float = 50.0,
        window_ns: int = 300_000_000_000,
        bin_ns: int = 250_000_000,
        refit_interval_ns: int = 1_000_000_000,
    ) -> None:
        if bin_ns <= 0 or window_ns < bin_ns:
            raise LiftSenseError(
                f"ClockAligner: need 0 < bin_ns <= window_ns, got {bin_ns}, {window_ns}"
            )
        self.min_delay_ns = int(min_delay_ns)
        self.reset_threshold_ns = int(reset_threshold_ns)
        self.max_drift = float(max_drift_ppm) * 1e-6
        self.drift_min_span_ns = int(drift_min_span_ns)
        self.drift_prior = float(drift_prior_ppm) * 1e-6
        self.window_bins = int(window_ns // bin_ns)
        self.bin_ns = int(bin_ns)
        self.refit_interval_ns = int(refit_interval_ns)
        self._closed: list[ClockFit] = []
        self._new_segment_pending = True
        self._d0 = 0
        self._h0 = 0
        self._reset_segment_state()

    def _reset_segment_state(self) -> None:
        self._bin_k = np.empty(0, np.int64)
        self._bin_x = np.empty(0, np.float64)
        self._bin_r = np.empty(0, np.float64)
        self._a = 0.0
        self._c = 0.0
        self._fit_x = -np.inf
        self._x_min = np.inf
        self._x_max = -np.inf
        self._n = 0
        self._excess_ns = 0.0  # running mean of how far points lie above the line

    # -- public ---------------------------------------------------------------------------

    def update(self, device_ns: npt.ArrayLike, host_ns: npt.ArrayLike) -> None:
        """Add (device time, receive time) pairs, int64 ns, in arrival order."""
        d = np.atleast_1d(np.asarray(device_ns, dtype=np.int64))
        h = np.atleast_1d(np.asarray(host_ns, dtype=np.int64))
        if d.shape != h.shape or d.ndim != 1:
            raise LiftSenseError(
                f"ClockAligner.update: device_ns {d.shape} and host_ns {h.shape} must be equal 1-D"
            )
        if d.size == 1 and not self._new_segment_pending and self._add_one(int(d[0]), int(h[0])):
            return
        while d.size:
            if self._new_segment_pending:
                self._start_segment(int(d[0]), int(h[0]))
            dx = d - self._d0
            x = dx.astype(np.float64)
            r = ((h - self._h0) - dx).astype(np.float64)
            resid = r - (self._a + self._c * x)
            jumps = np.flatnonzero(np.abs(resid) > self.reset_threshold_ns)
            cut = int(jumps[0]) if jumps.size else d.size
            if cut:
                self._add(dx[:cut], x[:cut], r[:cut], resid[:cut])
            if cut < d.size:
                self._new_segment_pending = True
            d, h = d[cut:], h[cut:]

    def to_host(self, device_ns: npt.ArrayLike) -> I64:
        """Host times (int64 ns) of device times, by the current segment's fit."""
        if self._n == 0:
            raise LiftSenseError(
                "ClockAligner.to_host: no (device, receive) pairs yet; call update() first"
            )
        dx = (np.asarray(device_ns, dtype=np.int64) - self._d0).astype(np.float64)
        rel = dx + (self._a + self._c * dx) - self.min_delay_ns
        return self._h0 + np.rint(rel).astype(np.int64)

    def restart(self) -> None:
        """Start a new segment at the next update (the device clock may have been reset)."""
        self._new_segment_pending = True

    @property
    def ready(self) -> bool:
        """True once the current segment spans ``drift_min_span_ns``, so drift is fitted."""
        return self._n > 0 and self._x_max - self._x_min >= self.drift_min_span_ns

    @property
    def fit(self) -> ClockFit | None:
        """The current segment's fit, or None before the first update."""
        if self._n == 0:
            return None
        return ClockFit(
            offset_ns=self._h0 - self._d0 + round(self._a) - self.min_delay_ns,
            drift_ppm=self._c * 1e6,
            device_ref_ns=self._d0,
            first_device_ns=self._d0 + round(self._x_min),
            last_device_ns=self._d0 + round(self._x_max),
        )

    @property
    def offset_ns(self) -> int:
        """Current offset (see the module docstring); 0 before the first update."""
        fit = self.fit
        return 0 if fit is None else fit.offset_ns

    @property
    def drift_ppm(self) -> float:
        """Current drift in ppm; 0 before the first update."""
        fit = self.fit
        return 0.0 if fit is None else fit.drift_ppm

    @property
    def segments(self) -> tuple[ClockFit, ...]:
        """Every segment so far, oldest first, the current one last."""
        fit = self.fit
        return (*self._closed, fit) if fit is not None else tuple(self._closed)

    # -- internals ------------------------------------------------------------------------

    def _start_segment(self, d0: int, h0: int) -> None:
        fit = self.fit
        if fit is not None:
            self._closed.append(fit)
        self._d0, self._h0 = d0, h0
        self._reset_segment_state()
        self._new_segment_pending = False

    def _add(self, dx: I64, x: F64, r: F64, resid: F64) -> None:
        self._n += int(x.size)
        weight = min(1.0, x.size / min(self._n, _EXCESS_MEMORY))
        self._excess_ns += (float(np.maximum(resid, 0.0).mean()) - self._excess_ns) * weight
        any_below = bool(np.any(resid < 0))
        self._x_min = min(self._x_min, float(x.min()))
        self._x_max = max(self._x_max, float(x.max()))
        self._merge_bins(np.floor_divide(dx, self.bin_ns), x, r)
        if any_below or self._x_max - self._fit_x >= self.refit_interval_ns:
            self._refit()

    def _add_one(self, d: int, h: int) -> bool:
        """Fast path for one in-order pair (the usual call); False when it needs the general one."""
        dx = d - self._d0
        x, r = float(dx), float(h - self._h0 - dx)
        resid = r - (self._a + self._c * x)
        bk = self._bin_k
        k = dx // self.bin_ns
        if abs(resid) > self.reset_threshold_ns or not bk.size or k < bk[-1]:
            return False
        if k == bk[-1]:
            if r < self._bin_r[-1]:
                self._bin_x[-1], self._bin_r[-1] = x, r
        else:
            first = max(0, bk.size + 1 - self.window_bins)
            self._bin_k = np.append(bk[first:], k)
            self._bin_x = np.append(self._bin_x[first:], x)
            self._bin_r = np.append(self._bin_r[first:], r)
        self._n += 1
        self._excess_ns += (max(resid, 0.0) - self._excess_ns) / min(self._n, _EXCESS_MEMORY)
        self._x_min, self._x_max = min(self._x_min, x), max(self._x_max, x)
        if resid < 0 or self._x_max - self._fit_x >= self.refit_interval_ns:
            self._refit()
        return True

    def _merge_bins(self, k: I64, x: F64, r: F64) -> None:
        # Lowest point per bin among the new points...
        order = np.lexsort((r, k))
        k, x, r = k[order], x[order], r[order]
        first = np.ones(k.size, dtype=bool)
        first[1:] = k[1:] != k[:-1]
        k, x, r = k[first], x[first], r[first]
        # ...then merged into the stored bins (sorted, unique).
        bk, bx, br = self._bin_k, self._bin_x, self._bin_r
        pos = np.searchsorted(bk, k)
        hit = pos < bk.size
        hit[hit] = bk[pos[hit]] == k[hit]
        lower = hit.copy()
        lower[hit] = r[hit] < br[pos[hit]]
        bx[pos[lower]] = x[lower]
        br[pos[lower]] = r[lower]
        new = ~hit
        if np.any(new):
            bk = np.concatenate([bk, k[new]])
            bx = np.concatenate([bx, x[new]])
            br = np.concatenate([br, r[new]])
            order = np.argsort(bk, kind="stable")
            bk, bx, br = bk[order], bx[order], br[order]
            keep = bk > bk[-1] - self.window_bins
            bk, bx, br = bk[keep], bx[keep], br[keep]
        self._bin_k, self._bin_x, self._bin_r = bk, bx, br

    def _refit(self) -> None:
        x, r = self._bin_x, self._bin_r
        span = float(x[-1] - x[0]) if x.size else 0.0
        if span < self.drift_min_span_ns:
            self._a, self._c = fit_lower_line(x, r, max_slope=0.0)
        else:
            _, c_hat = fit_envelope(x, r, max_slope=self.max_drift)
            # Shrink the slope towards 0 by how well the envelope pins it down: a hull height is
            # uncertain by about the mean excess over the points near it, and a slope by that
            # over half the span (a normal prior of drift_prior on the drift).
            seg_span = max(self._x_max - self._x_min, span)
            n_window = self._n * span / seg_span
            sigma_h = 8.0 * self._excess_ns / (n_window + 4.0)
            sigma_c = 2.0 * np.sqrt(2.0) * sigma_h / span
            prior2 = self.drift_prior**2
            c = c_hat * prior2 / (prior2 + sigma_c**2) if prior2 > 0 else c_hat
            self._a, self._c = float(np.min(r - c * x)), float(c)
        self._fit_x = self._x_max


class BeatClock:
    """Online host times of heart beats from RR intervals (which carry no device time).

    The strap's RR values, summed, are a device clock that ticks once per beat: the cumulative
    RR at a packet's last beat is its "device time", and that beat happened no later than the
    packet's receive time. A ``ClockAligner`` (offset only for the first minute) maps the sums to
    host time. A receive time that the RR sum cannot explain by more than ``gap_tolerance_ns``
    (beats lost, artefacts) re-anchors; call ``restart()`` after a reconnect.
    """

    def __init__(
        self,
        *,
        gap_tolerance_ns: int = 2_500_000_000,
        min_delay_ns: int = 7_500_000,
        max_drift_ppm: float = _BEAT_MAX_DRIFT_PPM,
    ) -> None:
        self._aligner = ClockAligner(
            min_delay_ns=min_delay_ns,
            reset_threshold_ns=gap_tolerance_ns,
            max_drift_ppm=max_drift_ppm,
            drift_min_span_ns=60_000_000_000,
            bin_ns=1_000_000_000,
            refit_interval_ns=0,
        )
        self._cum_ns = 0

    @property
    def aligner(self) -> ClockAligner:
        """The underlying aligner (its segments are this clock's anchoring periods)."""
        return self._aligner

    def add(self, rr_ms: npt.ArrayLike, receive_ns: int) -> I64:
        """Host times (int64 ns) of the beats that end each RR interval of one packet.

        An empty packet (no RR) returns an empty array and does not move the anchor.
        """
        rr_ns = np.rint(np.asarray(rr_ms, dtype=np.float64).ravel() * 1e6).astype(np.int64)
        if rr_ns.size == 0:
            return np.empty(0, np.int64)
        cum = self._cum_ns + np.cumsum(rr_ns)
        self._cum_ns = int(cum[-1])
        self._aligner.update(cum[-1:], np.array([receive_ns], dtype=np.int64))
        return self._aligner.to_host(cum)

    def restart(self) -> None:
        """Re-anchor at the next packet (after a reconnect: beats were missed)."""
        self._aligner.restart()


def beat_times(
    rr_ms: npt.ArrayLike,
    counts: npt.ArrayLike,
    receive_ns: npt.ArrayLike,
    *,
    restarts: npt.ArrayLike | None = None,
    gap_tolerance_ns: int = 2_500_000_000,
    min_delay_ns: int = 7_500_000,
) -> I64:
    """Host times (int64 ns) of every beat of a whole recording, fitted after the fact.

    Args:
        rr_ms: all RR intervals (ms) in arrival order, concatenated over packets.
        counts: number of RR values in each packet (may be 0).
        receive_ns: receive time of each packet (int64 ns).
        restarts: optional bool per packet, True for the first packet after a reconnect.
        gap_tolerance_ns, min_delay_ns: as for ``BeatClock``.

    Segments are found as ``BeatClock`` finds them (one pass, per packet, ~1 Hz data), then each
    segment is refitted over all its packets, so early beats get the whole segment's envelope.
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    n_rr = np.asarray(counts, dtype=np.int64).ravel()
    rx = np.asarray(receive_ns, dtype=np.int64).ravel()
    if n_rr.size != rx.size or int(n_rr.sum()) != rr.size or np.any(n_rr < 0):
        raise LiftSenseError(
            f"beat_times: {rr.size} RR values do not match counts (sum {int(n_rr.sum())}) "
            f"for {rx.size} packets"
        )
    brk = np.zeros(rx.size, bool) if restarts is None else np.asarray(restarts, bool).ravel()
    clock = BeatClock(gap_tolerance_ns=gap_tolerance_ns, min_delay_ns=min_delay_ns)
    segment = np.empty(rx.size, np.int64)
    ends = np.cumsum(n_rr)
    for i in range(rx.size):  # per packet (about 1 Hz), not per sample
        if brk[i]:
            clock.restart()
        clock.add(rr[ends[i] - n_rr[i] : ends[i]], int(rx[i]))
        segment[i] = len(clock.aligner.segments) - 1
    rr_ns = np.rint(rr * 1e6).astype(np.int64)
    cum = np.cumsum(rr_ns)
    out = np.empty(rr.size, np.int64)
    beat_packet = np.repeat(np.arange(rx.size), n_rr)
    has = n_rr > 0
    for seg in np.unique(segment[has]):
        pk = np.flatnonzero(has & (segment == seg))
        d_last = cum[ends[pk] - 1]
        d0, h0 = int(d_last[0]), int(rx[pk[0]])
        x = (d_last - d0).astype(np.float64)
        r = ((rx[pk] - h0) - (d_last - d0)).astype(np.float64)
        span = float(x.max() - x.min())
        max_slope = _BEAT_MAX_DRIFT_PPM * 1e-6 if span >= 60e9 else 0.0
        a, c = fit_envelope(x, r, max_slope=max_slope)
        sel = np.isin(beat_packet, pk)
        dx = (cum[sel] - d0).astype(np.float64)
        out[sel] = h0 + np.rint(dx + a + c * dx - min_delay_ns).astype(np.int64)
    return out
