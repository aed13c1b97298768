"""What virtual wearables play: sample tracks on a session timeline.

A :class:`WearableSource` holds, on one timeline (``t_s``, seconds from session start):

* ``imu``: an :class:`ImuTrack`, acc in m/s² and gyro in rad/s at a fixed rate;
* ``hr``: an :class:`HrTrack`, one entry per Heart Rate notification (bpm and the RR values of
  the beats since the previous notification, in 1/1024 s).

Wearables play a source in real time or ``speed`` times faster; a source can loop. Builders:
:func:`sine_source` (tests), :func:`source_from_frames` (any DataFrames with a UTC index: the
common path for synthetic sessions from ``liftsense.emulate.motion`` and for replaying a
recording), :func:`source_from_session` and :func:`source_from_recording` (the replay hook).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from liftsense.errors import RecordingError
from liftsense.units import G_MPS2

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ImuTrack:
    """Inertial samples at a fixed rate.

    Attributes:
        rate_hz: sample rate.
        acc_ms2: (n, 3) float64, specific force in m/s² (gravity included, as a sensor sees it).
        gyro_rads: (n, 3) float64, angular rate in rad/s.
        t0_s: time of the first sample on the session timeline.
    """

    rate_hz: float
    acc_ms2: NDArray[np.float64]
    gyro_rads: NDArray[np.float64]
    t0_s: float = 0.0

    def __post_init__(self) -> None:
        if self.acc_ms2.ndim != 2 or self.acc_ms2.shape[1] != 3:
            raise ValueError(f"acc_ms2 must be (n, 3), got {self.acc_ms2.shape}")
        if self.gyro_rads.shape != self.acc_ms2.shape:
            raise ValueError(
                f"gyro_rads {self.gyro_rads.shape} and acc_ms2 {self.acc_ms2.shape} differ"
            )
        if self.rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, got {self.rate_hz}")

    @property
    def n(self) -> int:
        return int(self.acc_ms2.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n / self.rate_hz

    def index_at(self, t_s: NDArray[np.float64]) -> NDArray[np.intp]:
        """Index of the sample in force at each time (clamped; used to resample)."""
        idx = np.floor((np.asarray(t_s) - self.t0_s) * self.rate_hz + 1e-9).astype(np.intp)
        return np.clip(idx, 0, self.n - 1)


@dataclass(frozen=True)
class HrTrack:
    """Heart Rate notifications: ``t_s[i]`` carries ``bpm[i]`` and ``rr_1024[i]`` (oldest first)."""

    t_s: NDArray[np.float64]
    bpm: NDArray[np.float64]
    rr_1024: list[list[int]]

    def __post_init__(self) -> None:
        if not (len(self.t_s) == len(self.bpm) == len(self.rr_1024)):
            raise ValueError("HrTrack: t_s, bpm and rr_1024 differ in length")

    @classmethod
    def from_notifications(cls, notes: Any) -> HrTrack:
        """From ``liftsense.emulate.heartmodel.StrapNotifications``."""
        return cls(
            np.asarray(notes.notify_t_s, dtype=np.float64),
            np.asarray(notes.bpm, dtype=np.float64),
            [list(map(int, rr)) for rr in notes.rr_1024],
        )


@dataclass(frozen=True)
class WearableSource:
    """Tracks a wearable plays. ``duration_s`` bounds playback (and is the loop period)."""

    duration_s: float
    imu: ImuTrack | None = None
    hr: HrTrack | None = None


def rr_per_notification(
    beat_t_s: ArrayLike, rr_1024: ArrayLike, notify_t_s: ArrayLike
) -> list[list[int]]:
    """The RR values (1/1024 s) each Heart Rate notification carries: those of the beats since
    the previous notification, oldest first. A beat at a notification's instant is in it."""
    upto = np.searchsorted(np.asarray(beat_t_s, dtype=np.float64), notify_t_s, side="right")
    prev = np.concatenate(([0], upto[:-1]))
    values = np.asarray(rr_1024, dtype=np.int64)
    return [values[a:b].tolist() for a, b in zip(prev, upto, strict=True)]


def _index_ns(frame: pd.DataFrame) -> NDArray[np.int64]:
    """A frame's DatetimeIndex as int64 ns since the Unix epoch."""
    import pandas as pd

    return np.asarray(pd.DatetimeIndex(frame.index).as_unit("ns").asi8, dtype=np.int64)


def sine_source(
    duration_s: float,
    *,
    rate_hz: float = 200.0,
    freq_hz: float = 0.5,
    amp_ms2: float = 3.0,
    hr_bpm: float = 72.0,
) -> WearableSource:
    """A deterministic source for tests: gravity on z plus a sine on x, a cosine gyro on y, and
    a constant heart rate with one notification per second (RR = 60/hr_bpm s each beat)."""
    n = round(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    acc = np.zeros((n, 3))
    acc[:, 0] = amp_ms2 * np.sin(2 * np.pi * freq_hz * t)
    acc[:, 2] = G_MPS2
    gyro = np.zeros((n, 3))
    gyro[:, 1] = 0.5 * np.cos(2 * np.pi * freq_hz * t)
    rr_s = 60.0 / hr_bpm
    beats = np.arange(rr_s, duration_s + 1.0, rr_s)
    notify_t = np.arange(1.0, duration_s + 1e-9, 1.0)
    rr = rr_per_notification(beats, np.full(beats.size, round(rr_s * 1024)), notify_t)
    hr = HrTrack(notify_t, np.full(notify_t.size, float(round(hr_bpm))), rr)
    return WearableSource(duration_s, ImuTrack(rate_hz, acc, gyro), hr)


def source_from_frames(
    imu: pd.DataFrame | None = None,
    *,
    hr: HrTrack | None = None,
    rate_hz: float | None = None,
    t0: pd.Timestamp | None = None,
) -> WearableSource:
    """A source from an IMU DataFrame with a UTC DatetimeIndex and columns ``x, y, z`` (m/s²)
    and optionally ``gx, gy, gz`` (rad/s; zeros when absent).

    The frame is resampled onto a regular grid at ``rate_hz`` (default: its median rate) by
    holding the last sample. ``t0`` is the session start (default: the first sample).
    """
    tracks_end = 0.0
    track: ImuTrack | None = None
    if imu is not None and len(imu):
        idx_ns = _index_ns(imu)
        start_ns = idx_ns[0] if t0 is None else t0.value
        t_s = (idx_ns - start_ns) / 1e9
        if rate_hz is None:
            rate_hz = round(1.0 / float(np.median(np.diff(t_s))), 6) if len(t_s) > 1 else 200.0
        grid = np.arange(t_s[0], t_s[-1] + 0.5 / rate_hz, 1.0 / rate_hz)
        pos = np.clip(np.searchsorted(t_s, grid + 1e-9, side="right") - 1, 0, len(t_s) - 1)
        acc = imu[["x", "y", "z"]].to_numpy(dtype=np.float64)[pos]
        cols = ["gx", "gy", "gz"]
        gyro = (
            imu[cols].to_numpy(dtype=np.float64)[pos]
            if all(c in imu.columns for c in cols)
            else np.zeros_like(acc)
        )
        track = ImuTrack(float(rate_hz), acc, gyro, t0_s=float(grid[0]))
        tracks_end = float(grid[0]) + track.duration_s
    if hr is not None and len(hr.t_s):
        tracks_end = max(tracks_end, float(hr.t_s[-1]))
    return WearableSource(tracks_end, track, hr)


def source_from_session(session: Any, *, heart: Any | None = None) -> WearableSource:
    """From a ``liftsense.emulate.motion.SyntheticSession``: its ``.imu`` DataFrame and HR
    notifications built from its ``.heart`` truth (``heartmodel.strap_notifications``), or
    from ``heart`` (``StrapNotifications`` on the same timeline) when given."""
    if heart is None and getattr(session, "heart", None) is not None:
        from liftsense.emulate.heartmodel import strap_notifications

        duration_s = (session.imu.index[-1] - session.imu.index[0]).total_seconds()
        heart = strap_notifications(
            session.heart.observed_beat_t_s, session.heart.observed_rr_ms, duration_s=duration_s
        )
    hr = HrTrack.from_notifications(heart) if heart is not None else None
    return source_from_frames(session.imu, hr=hr)


def source_from_recording(path: str | Path, device: str | None = None) -> WearableSource:
    """Replay hook: a source from a LiftSense recording's ``acc``/``gyro``/``hr``/``rr`` streams
    of ``device`` (default: the first device with ``acc``, else with ``hr``), via
    ``liftsense.load``. Times are relative to that device's first sample.

    HR notifications are rebuilt one per ``hr`` sample, carrying the RR values received
    since the previous one (rounded to 1/1024 s).
    """
    import pandas as pd

    from liftsense import load

    rec = load(path)
    if device is None:
        candidates = rec.devices("acc") or rec.devices("hr")
        if not candidates:
            raise RecordingError(path, "has neither acc nor hr to replay")
        device = candidates[0]

    def stream(name: str) -> pd.DataFrame:
        return rec.stream(name, device) if rec.has(name, device) else pd.DataFrame()

    acc, gyro, hr_df, rr_df = stream("acc"), stream("gyro"), stream("hr"), stream("rr")
    imu = None
    if len(acc):
        imu = acc[["x", "y", "z"]].copy()
        if len(gyro):
            g = gyro[["x", "y", "z"]].rename(columns={"x": "gx", "y": "gy", "z": "gz"})
            imu = pd.merge_asof(imu, g, left_index=True, right_index=True, direction="nearest")
    starts = [f.index[0] for f in (acc, hr_df) if len(f)]
    if not starts:
        raise RecordingError(path, f"device {device!r} has neither acc nor hr samples")
    t0 = min(starts)
    hr = None
    if len(hr_df):
        t_s = (_index_ns(hr_df) - t0.value) / 1e9
        rr_t = (_index_ns(rr_df) - t0.value) / 1e9 if len(rr_df) else np.zeros(0)
        rr_ms = rr_df["value"].to_numpy(dtype=np.float64) if len(rr_df) else np.zeros(0)
        rr_raw = np.round(rr_ms * 1.024).astype(int)
        hr = HrTrack(
            t_s, hr_df["value"].to_numpy(dtype=np.float64), rr_per_notification(rr_t, rr_raw, t_s)
        )
    return source_from_frames(imu, hr=hr, t0=t0)
