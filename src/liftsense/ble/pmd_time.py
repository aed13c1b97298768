"""Per-sample timestamps of PMD frames (the Polar SDK rule), in exact integer arithmetic.

A PMD frame is stamped with the time T of its LAST sample. For a frame of n samples:

* with a usable previous frame timestamp P (same measurement and frame type, 0 < P < T):
  ``d = (T - P) / n``, ``t_i = round(P + d * (i + 1))``; the last sample is T;
* otherwise, from the nominal rate fs: ``d = 1e9 / fs``, ``t_i = round(T - d * (n - 1 - i))``,
  and the frame is rejected if ``T < n * d`` (samples before the sensor epoch).

``round`` is half-to-even, as in Kotlin and Python. The SDK evaluates these in doubles, which
lose whole nanoseconds once times exceed 2**53 ns (about 104 days); here they are evaluated
exactly on integers, so both agree wherever the double evaluation is exact.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt

from liftsense.errors import DecodeError

__all__ = ["frames_timestamps_ns", "sample_timestamps_ns"]

_INT64_MAX = (1 << 63) - 1
_NS_PER_S = 10**9
# Below this, span * n_samples keeps float64 rounding error far under 1 / (2 * n_samples).
_FLOAT_EXACT = 1 << 44


_ONE_TO = np.arange(1, 4097, dtype=np.int64)  # k = 1..n for frames up to 4096 samples


def _ks(n: int) -> npt.NDArray[np.int64]:
    return _ONE_TO[:n] if n <= _ONE_TO.size else np.arange(1, n + 1, dtype=np.int64)


def _from_previous(
    p: npt.NDArray[np.int64] | int,
    q: npt.NDArray[np.int64] | int,
    r: npt.NDArray[np.int64] | int,
    n: npt.NDArray[np.int64] | int,
    k: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """round_half_even(P + (q*n + r) * k / n) for 1 <= k <= n, with 0 <= r < n (no overflow)."""
    whole, rem = np.divmod(r * k, n)
    base = p + q * k + whole
    twice = 2 * rem
    return base + ((twice > n) | ((twice == n) & (base & 1 == 1)))


def _from_rate(
    t: npt.NDArray[np.int64] | int, m: npt.NDArray[np.int64], rate: Fraction
) -> npt.NDArray[np.int64]:
    """round_half_even(T - m * 1e9 / rate) for m >= 0 samples before the last one."""
    q, r = np.divmod(m * (_NS_PER_S * rate.denominator), rate.numerator)
    # T - q - r/num: the floor is T - q - 1 with fraction 1 - r/num whenever r > 0.
    has_frac = r > 0
    base = t - q - has_frac
    twice = np.where(has_frac, 2 * (rate.numerator - r), 0)
    return base + ((twice > rate.numerator) | ((twice == rate.numerator) & (base & 1 == 1)))


def _rate_fraction(rate_hz: float) -> Fraction:
    # Rates are small rationals (52, 208, 130, 1.5 …); a bounded denominator keeps int64 exact.
    return Fraction(rate_hz).limit_denominator(1000)


def _too_early(
    t: npt.NDArray[np.int64] | int, n: npt.NDArray[np.int64] | int, rate: Fraction
) -> npt.NDArray[np.bool_]:
    """SDK guard T < n * d (d = 1e9 / rate), in integers: T < ceil(n * 1e9 * den / num)."""
    return np.asarray(t < -((-(n * _NS_PER_S * rate.denominator)) // rate.numerator))


def frames_timestamps_ns(
    timestamps_ns: npt.NDArray[np.int64],
    previous_ns: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    rate_hz: float | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Vectorised SDK rule for many frames at once.

    Args:
        timestamps_ns: (F,) last-sample time T of each frame (each < 2**63).
        previous_ns: (F,) previous frame time P of each frame, 0 when unknown.
        counts: (F,) samples per frame (>= 1).
        rate_hz: nominal rate for frames without a usable P, or None.

    Returns:
        (sample times concatenated in frame order, per-frame "invalid" mask). A frame is invalid
        when it has no usable P and no rate, or when its first sample would precede the epoch;
        its sample times are then meaningless.
    """
    t = timestamps_ns.astype(np.int64)
    n = counts.astype(np.int64)
    use_prev = (previous_ns > 0) & (previous_ns < t)
    p = np.where(use_prev, previous_ns, t - 1)  # placeholder keeps the arithmetic in range
    if t.size and use_prev.all() and (n == n[0]).all():
        # The usual stream (fixed samples per frame, each after its predecessor): a
        # (frames, n) broadcast, no per-sample gathers. Same exact rule as sample_timestamps_ns.
        span = t - p
        k = _ks(int(n[0]))
        if int(span.max()) * int(n[0]) < _FLOAT_EXACT:
            odd = p & 1
            offsets = np.rint(np.multiply.outer(span, k) / n[0] + odd[:, None])
            return (offsets.astype(np.int64) + (p - odd)[:, None]).reshape(-1), ~use_prev
        q, r = np.divmod(span, n)
        return _from_previous(p[:, None], q[:, None], r[:, None], n[0], k).reshape(-1), ~use_prev
    frame_of = np.repeat(np.arange(t.size), n)
    starts = np.cumsum(n) - n
    k = np.arange(frame_of.size, dtype=np.int64) - starts[frame_of] + 1  # 1..n within a frame
    q, r = np.divmod(t - p, n)
    out = _from_previous(p[frame_of], q[frame_of], r[frame_of], n[frame_of], k)
    invalid = ~use_prev
    if rate_hz is not None and rate_hz > 0 and not use_prev.all():
        rate = _rate_fraction(rate_hz)
        need = ~use_prev[frame_of]
        out[need] = _from_rate(t[frame_of][need], (n[frame_of] - k)[need], rate)
        invalid = ~use_prev & _too_early(t, n, rate)
    return out, invalid


def sample_timestamps_ns(
    timestamp_ns: int,
    n_samples: int,
    *,
    previous_timestamp_ns: int | None = None,
    rate_hz: float | None = None,
    data: bytes = b"",
) -> npt.NDArray[np.int64]:
    """Sensor times (ns since 2000-01-01) of the ``n_samples`` samples of one frame.

    Args:
        timestamp_ns: frame timestamp T (time of the last sample).
        n_samples: samples in the frame (>= 1).
        previous_timestamp_ns: the previous frame's T, None or 0 when unknown.
        rate_hz: nominal sample rate, used when there is no usable previous timestamp.
        data: the frame, only to be quoted in errors.

    Raises:
        DecodeError: no usable previous timestamp and no rate; the first sample would fall
            before the epoch; or T does not fit in int64.
    """
    if n_samples < 1:
        raise DecodeError(data, "a frame needs at least one sample to be timestamped")
    if not 0 <= timestamp_ns <= _INT64_MAX:
        raise DecodeError(data, f"frame timestamp {timestamp_ns} does not fit in int64 ns")
    prev = previous_timestamp_ns or 0
    if not 0 < prev < timestamp_ns:
        prev = 0  # unusable (unknown, or a clock correction put it after this frame)
    if not prev and not (rate_hz and rate_hz > 0):
        raise DecodeError(
            data, "cannot place samples: no usable previous frame timestamp and no sample rate"
        )
    k = _ks(n_samples)
    if prev:
        span = timestamp_ns - prev
        q, r = divmod(span, n_samples)
        if r == 0:  # evenly divisible: no rounding at all
            return prev + q * k
        if span * n_samples < _FLOAT_EXACT:
            # span * k is an exact integer in float64 and one division is correctly rounded,
            # so ties stay exact ties and other values stay far (>= 1/2n) from one; rint
            # rounds half to even, and shifting by P's parity makes it even in P + offset.
            x = k * span / n_samples
            if prev & 1:
                return np.rint(x + 1).astype(np.int64) + (prev - 1)
            return np.rint(x).astype(np.int64) + prev
        return _from_previous(prev, q, r, n_samples, k)
    assert rate_hz is not None
    rate = _rate_fraction(rate_hz)
    if _too_early(timestamp_ns, n_samples, rate):
        raise DecodeError(
            data,
            f"first of {n_samples} samples at {rate_hz} Hz would fall before the sensor epoch "
            f"(frame timestamp {timestamp_ns} ns)",
        )
    return _from_rate(timestamp_ns, n_samples - k, rate)
