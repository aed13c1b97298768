"""Filters along the time axis (axis 0) of signals on a uniform grid: the running integral,
moving mean and RMS, zero-phase Butterworth low-, high- and band-pass, and the moving RMS of a
band.

The zero-phase filters compute what ``scipy.signal.sosfiltfilt`` computes (odd extension by
three filter lengths, forward and backward passes started in their steady state), to the last
bit; but each filter's design and steady state are worked out once, not on every call: rep
detection filters every candidate window with the same few filters, and working out the steady
state took a quarter of each call.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt, sosfilt_zi

__all__ = [
    "band_rms",
    "filtfilt",
    "highpass",
    "integrate",
    "lowpass",
    "moving_mean",
    "moving_rms",
]

FloatArray = npt.NDArray[np.float64]


def integrate(x: FloatArray, fs_hz: float) -> FloatArray:
    """Running integral of ``x`` along axis 0 from its first sample (0 there), by the trapezoid
    rule: sample ``i`` holds the integral up to sample ``i``. A plain running sum holds it up
    to half a sample later, so each integration would move the signal half a sample early.
    """
    out = np.zeros(x.shape)
    np.cumsum(x[1:] + x[:-1], axis=0, out=out[1:])
    out *= 0.5 / fs_hz
    return out


def moving_mean(x: FloatArray, width: int) -> FloatArray:
    """Centred moving average over ``width`` samples along axis 0; the edges repeat the end
    samples."""
    width = max(int(width), 1)
    if width == 1:
        return x.astype(np.float64, copy=True)
    out: FloatArray = uniform_filter1d(
        x.astype(np.float64, copy=False), width, axis=0, mode="nearest"
    )
    return out


def moving_rms(squares: FloatArray, width: int) -> FloatArray:
    """Centred moving RMS over ``width`` samples of the signal whose ``squares`` are given:
    the root of their moving mean, which the running sum's rounding can take a little below 0
    over a stretch of zeros (a sensor at rest reporting one value), where it is 0."""
    out = moving_mean(squares, width)
    np.maximum(out, 0.0, out=out)
    np.sqrt(out, out=out)
    return out


@functools.lru_cache(maxsize=64)
def _butter(
    order: int, wn: float | tuple[float, float], btype: str
) -> tuple[FloatArray, FloatArray, int]:
    """Second-order sections of a Butterworth filter (``wn`` in units of Nyquist), their
    steady state for a unit step (``sosfilt_zi``), and the odd extension ``sosfiltfilt`` pads
    each end with (samples). Shared: do not modify (scipy's filters only read them)."""
    sos: FloatArray = butter(order, wn, btype=btype, output="sos")  # type: ignore[call-overload]
    zi: FloatArray = sosfilt_zi(sos)
    taps = 2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return sos, zi, 3 * taps


def filtfilt(
    design: tuple[FloatArray, FloatArray, int], x: FloatArray | npt.NDArray[np.float32]
) -> FloatArray:
    """``scipy.signal.sosfiltfilt(sos, x, axis=0)`` for a ``design`` of ``_butter``.

    Raises:
        ValueError: ``x`` is not longer than the padding (as ``sosfiltfilt``).
    """
    sos, zi, edge = design
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] <= edge:
        raise ValueError(f"the signal must be longer than the filter's padding ({edge})")
    ext = np.concatenate((2 * x[:1] - x[edge:0:-1], x, 2 * x[-1:] - x[-2 : -(edge + 2) : -1]))
    z = zi.reshape(zi.shape + (1,) * (x.ndim - 1))
    y, _ = sosfilt(sos, ext, axis=0, zi=z * ext[:1])
    y, _ = sosfilt(sos, y[::-1], axis=0, zi=z * y[-1:])
    out: FloatArray = y[::-1][edge:-edge]
    return out


def lowpass(x: FloatArray, fs_hz: float, cutoff_hz: float, order: int = 2) -> FloatArray:
    """Zero-phase Butterworth low-pass along axis 0 (returned unchanged if too short)."""
    design = _butter(order, min(cutoff_hz / (fs_hz / 2), 0.99), "lowpass")
    if x.shape[0] <= 3 * (2 * design[0].shape[0] + 1):
        return x.astype(np.float64, copy=True)
    return filtfilt(design, x)


def highpass(x: FloatArray, fs_hz: float, cutoff_hz: float) -> FloatArray:
    """Zero-phase second-order Butterworth high-pass along axis 0 (the mean removed if too
    short)."""
    design = _butter(2, cutoff_hz / (fs_hz / 2), "highpass")
    if x.shape[0] <= 15:
        out: FloatArray = x - np.mean(x, axis=0)
        return out
    return filtfilt(design, x)


def band_rms(
    x: FloatArray, fs_hz: float, lo_hz: float, hi_hz: float, window_s: float
) -> FloatArray:
    """Moving RMS over ``window_s`` of ``x`` (one-dimensional) band-passed to
    ``lo_hz``-``hi_hz``."""
    design = _butter(2, (lo_hz / (fs_hz / 2), min(hi_hz / (fs_hz / 2), 0.99)), "bandpass")
    y = filtfilt(design, x) if x.size > 30 else x - np.mean(x)
    return moving_rms(y * y, int(window_s * fs_hz))
