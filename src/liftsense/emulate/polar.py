"""A Polar-like sensor: Heart Rate Service plus the PMD control point and data channel.

Behaves like an H10 (ECG 130 Hz as int24 µV frames, ACC as int16 mG frames 0x01) or a Verity
Sense (ACC and GYRO as delta-compressed 0x80 frames with a FACTOR in the START response),
with device timestamps (ns since 2000-01-01, of each frame's LAST sample) from a
:class:`~liftsense.emulate.peripheral.DeviceClock` (offset, drift in ppm).

Control point, as the device answers (ATT write response first, then an ``F0`` indication on
the connection that wrote):

* read: the feature bitmap (``0F 05 ..`` for an H10);
* GET_MEASUREMENT_SETTINGS: the TLV lists of :data:`CAPABILITIES`;
* REQUEST_MEASUREMENT_START: ``INVALID_MTU`` below MTU 232, ``NOT_SUPPORTED`` for types it
  lacks, ``ALREADY_IN_STATE`` when running, ``INVALID_SAMPLE_RATE`` / ``INVALID_RANGE`` /
  ``INVALID_RESOLUTION`` for values outside its lists (missing settings take the first value);
* STOP_MEASUREMENT: ``ALREADY_IN_STATE`` when not running (an emulator choice);
* other known op codes: ``NOT_SUPPORTED``; unknown ones: ``INVALID_OP_CODE``; a malformed
  request: ``INVALID_LENGTH`` / ``INVALID_PARAMETER``.

By default streams survive a disconnect (as an H10 does), so a reconnecting client gets
``ALREADY_IN_STATE`` on START. ECG is synthesised from the HR track's beats (a 1 mV spike per
beat); ACC and GYRO come from the source's IMU track, clipped to the requested range.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from liftsense.ble import hrs, pmd
from liftsense.ble.pmd import MeasurementType, OpCode, SettingType, Status
from liftsense.emulate.peripheral import DeviceClock, VirtualWearable
from liftsense.emulate.sources import HrTrack
from liftsense.errors import DecodeError
from liftsense.units import G_MPS2

if TYPE_CHECKING:
    import asyncio

    from bumble.gatt import Service

ACC, ECG, GYRO = MeasurementType.ACC, MeasurementType.ECG, MeasurementType.GYRO
SR, RES, RANGE, CH = (
    SettingType.SAMPLE_RATE,
    SettingType.RESOLUTION,
    SettingType.RANGE,
    SettingType.CHANNELS,
)

CAPABILITIES: dict[str, dict[MeasurementType, dict[SettingType, tuple[int, ...]]]] = {
    "H10": {
        ECG: {SR: (130,), RES: (14,)},
        ACC: {SR: (25, 50, 100, 200), RES: (16,), RANGE: (2, 4, 8)},
    },
    # SDK-mode rates; a real Verity outside SDK mode offers 52 Hz only.
    "Verity": {
        ACC: {SR: (26, 52, 104, 208), RES: (16,), RANGE: (2, 4, 8, 16), CH: (3,)},
        GYRO: {SR: (26, 52, 104, 208), RES: (16,), RANGE: (250, 500, 1000, 2000), CH: (3,)},
    },
}
_FRAME_TYPE = {
    ("H10", ECG): 0x00,
    ("H10", ACC): 0x01,
    ("Verity", ACC): 0x80,
    ("Verity", GYRO): 0x80,
}
_FRAME_SAMPLES = {ECG: 73, ACC: 36, GYRO: 36}
_INVALID = {
    SR: Status.INVALID_SAMPLE_RATE,
    RANGE: Status.INVALID_RANGE,
    RES: Status.INVALID_RESOLUTION,
}
_UNSET_CLOCK_NS = 599_616_000 * 10**9  # 2019-01-01 since 2000-01-01: an H10 whose clock is unset


def ecg_uv(t_s: NDArray[np.float64], beat_t_s: NDArray[np.float64]) -> NDArray[np.int64]:
    """A crude ECG: a 1000 µV Gaussian spike (10 ms wide) at each beat, 0 elsewhere."""
    if beat_t_s.size == 0:
        return np.zeros(t_s.shape, dtype=np.int64)
    pos = np.clip(np.searchsorted(beat_t_s, t_s), 1, max(beat_t_s.size - 1, 1))
    lo = beat_t_s[np.minimum(pos - 1, beat_t_s.size - 1)]
    hi = beat_t_s[np.minimum(pos, beat_t_s.size - 1)]
    d = np.minimum(np.abs(t_s - lo), np.abs(t_s - hi))
    return np.round(1000.0 * np.exp(-((d / 0.01) ** 2))).astype(np.int64)


def _beat_times(track: HrTrack) -> NDArray[np.float64]:
    """Beat times implied by an HR track: each notification's RR values end at its time."""
    times: list[float] = []
    for t_s, rr in zip(track.t_s, track.rr_1024, strict=True):
        acc = float(t_s)
        for raw in reversed(rr):
            times.append(acc)
            acc -= raw / 1024.0
    return np.sort(np.asarray(times, dtype=np.float64))


class PolarSensor(VirtualWearable):
    """A Polar-like sensor (``model`` "H10" or "Verity"); see the module docstring.

    Args:
        name: advertised name, e.g. ``"Polar H10 A1B2C3D4"``.
        model: "H10" or "Verity".
        clock: the device clock; default an H10-like unset clock (2019-01-01) without drift.
        clock_synced: start the clock at the host's wall time (plus ``clock.offset_ns``).
        streams_survive_disconnect: keep streaming after a disconnect.
        **kwargs: :class:`VirtualWearable` arguments (source, speed, loop, faults, ...).
    """

    manufacturer = "Polar Electro Oy"

    def __init__(
        self,
        name: str,
        address: str,
        *,
        model: str = "H10",
        clock: DeviceClock | None = None,
        clock_synced: bool = False,
        streams_survive_disconnect: bool = True,
        **kwargs: Any,
    ) -> None:
        if model not in CAPABILITIES:
            raise ValueError(f"model must be one of {sorted(CAPABILITIES)}, got {model!r}")
        super().__init__(name, address, **kwargs)
        self.model = f"Polar {model}"
        self.kind = model
        self.clock = clock or DeviceClock()
        self.clock_synced = clock_synced
        self.streams_survive_disconnect = streams_survive_disconnect
        self.running: dict[MeasurementType, asyncio.Task[None]] = {}
        self.settings: dict[MeasurementType, dict[SettingType, int]] = {}
        self._base_ns = 0
        self._beats: NDArray[np.float64] = np.zeros(0)

    def advertised_uuids16(self) -> list[int]:
        return [0x180D]

    def services(self) -> list[Service]:
        from bumble.gatt import Service

        self.hr_measurement = self.characteristic(0x2A37, "NOTIFY")
        heart = Service(
            "180D",
            [
                self.hr_measurement,
                self.characteristic(0x2A38, "READ", value=hrs.encode_body_sensor_location(1)),
            ],
        )
        self.control_point = self.characteristic(
            pmd.PMD_CONTROL_POINT_UUID,
            "READ,WRITE,INDICATE",
            read=lambda: pmd.encode_features(CAPABILITIES[self.kind]),
            write=self._on_control_point,
        )
        self.data = self.characteristic(pmd.PMD_DATA_UUID, "NOTIFY")
        return [
            heart,
            Service(pmd.PMD_SERVICE_UUID, [self.control_point, self.data]),
            *super().services(),
        ]

    def install(self, device: Any) -> None:
        super().install(device)
        device.on("connection", self._on_connection)

    def _on_connection(self, connection: Any) -> None:
        connection.on("disconnection", lambda reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        if not self.streams_survive_disconnect:
            for measurement in list(self.running):
                self._stop(measurement)

    async def start(self) -> None:
        base = time.time_ns() - pmd.POLAR_EPOCH_UNIX_NS if self.clock_synced else _UNSET_CLOCK_NS
        self._base_ns = base
        await super().start()

    async def stop(self) -> None:
        self.running.clear()
        await super().stop()

    def start_streams(self) -> None:
        if self.source is not None and self.source.hr is not None:
            self.spawn(self.play_hr(self.source.hr, self._emit_hr))

    async def _emit_hr(self, t_s: float, bpm: int, rr_1024: list[int]) -> None:
        if not self.faults.contact_at(t_s):
            bpm, rr_1024 = 0, []
        # An H10 reports "contact not supported" (flags 0x10).
        await self.notify("hr", self.hr_measurement, hrs.encode(bpm, rr_1024=rr_1024))

    # -- control point ------------------------------------------------------------------
    async def _on_control_point(self, connection: Any, value: bytes) -> None:
        response = self._answer(bytes(value), connection.att_mtu)
        # The ATT write response goes out first; the indication follows on the same link.
        self.spawn(self._indicate(connection, response))

    async def _indicate(self, connection: Any, response: bytes) -> None:
        assert self.device is not None
        await self.device.indicate_subscriber(connection, self.control_point, response)

    def _answer(self, value: bytes, mtu: int) -> bytes:
        try:
            request = pmd.parse_request(value)
        except DecodeError:
            op = value[0] if value else 0
            status = Status.INVALID_LENGTH if len(value) < 2 else Status.INVALID_PARAMETER
            return pmd.encode_response(op, value[1] & 0x3F if len(value) > 1 else 0, status)
        caps = CAPABILITIES[self.kind]
        measurement = request.measurement
        if request.op not in (
            OpCode.GET_MEASUREMENT_SETTINGS,
            OpCode.REQUEST_MEASUREMENT_START,
            OpCode.STOP_MEASUREMENT,
        ):
            known = isinstance(request.op, OpCode)
            status = Status.NOT_SUPPORTED if known else Status.INVALID_OP_CODE
            return pmd.encode_response(request.op, measurement, status)
        if not isinstance(measurement, MeasurementType) or measurement not in caps:
            return pmd.encode_response(request.op, measurement, Status.NOT_SUPPORTED)
        if request.op == OpCode.GET_MEASUREMENT_SETTINGS:
            lists: dict[SettingType | int, Any] = {k: v for k, v in caps[measurement].items()}
            return pmd.encode_response(request.op, measurement, settings=lists)
        if request.op == OpCode.STOP_MEASUREMENT:
            if measurement not in self.running:
                return pmd.encode_response(request.op, measurement, Status.ALREADY_IN_STATE)
            self._stop(measurement)
            return pmd.encode_response(request.op, measurement)
        return self._start_answer(measurement, request.settings, mtu)

    def _start_answer(
        self, measurement: MeasurementType, requested: dict[SettingType, Any], mtu: int
    ) -> bytes:
        op = OpCode.REQUEST_MEASUREMENT_START
        if mtu < pmd.MIN_MTU:
            return pmd.encode_response(op, measurement, Status.INVALID_MTU)
        if measurement in self.running:
            return pmd.encode_response(op, measurement, Status.ALREADY_IN_STATE)
        caps = CAPABILITIES[self.kind][measurement]
        chosen: dict[SettingType, int] = {}
        for kind, allowed in caps.items():
            values = requested.get(kind, (allowed[0],))
            if len(values) != 1 or int(values[0]) not in allowed:
                status = _INVALID.get(kind, Status.INVALID_PARAMETER)
                return pmd.encode_response(op, measurement, status)
            chosen[kind] = int(values[0])
        self.settings[measurement] = chosen
        factor = self._factor(measurement)
        self.running[measurement] = self._stream_task(measurement, chosen, factor)
        params: dict[SettingType | int, Any] = {}
        if _FRAME_TYPE[(self.kind, measurement)] & 0x80:
            params[SettingType.FACTOR] = factor
        return pmd.encode_response(op, measurement, settings=params)

    def _factor(self, measurement: MeasurementType) -> float:
        """Units per count of delta frames: G (ACC) or deg/s (GYRO) over the int16 span."""
        rng = self.settings[measurement].get(RANGE, 8)
        return float(np.float32(rng / 32768.0))

    def _stop(self, measurement: MeasurementType) -> None:
        task = self.running.pop(measurement, None)
        if task is not None:
            task.cancel()

    # -- data channel --------------------------------------------------------------------
    def _stream_task(
        self, measurement: MeasurementType, settings: dict[SettingType, int], factor: float
    ) -> asyncio.Task[None]:
        import asyncio

        rate = settings[SR]
        frame_type = _FRAME_TYPE[(self.kind, measurement)]
        stream = measurement.name.lower()

        async def emit(t_s: NDArray[np.float64], rows: NDArray[np.intp]) -> None:
            raw = self._raw(measurement, t_s, rows, settings, factor)
            stamp = int(self.clock.device_ns(self._base_ns, t_s[-1:])[0])
            frame = pmd.encode_frame(measurement, raw, timestamp_ns=stamp, frame_type=frame_type)
            await self.notify(stream, self.data, frame)

        track = self.source.imu if self.source is not None else None
        if measurement == ECG:
            self._beats = (
                _beat_times(self.source.hr)
                if self.source is not None and self.source.hr is not None
                else np.zeros(0)
            )
        if track is None:
            from liftsense.emulate.sources import sine_source

            track = sine_source(1.0, rate_hz=float(rate)).imu
            assert track is not None
        task = asyncio.ensure_future(self.play_imu(track, rate, _FRAME_SAMPLES[measurement], emit))
        self._tasks.append(task)
        return task

    def _raw(
        self,
        measurement: MeasurementType,
        t_s: NDArray[np.float64],
        rows: NDArray[np.intp],
        settings: dict[SettingType, int],
        factor: float,
    ) -> NDArray[np.int64]:
        if measurement == ECG:
            period = self.source.duration_s if self.source is not None else 0.0
            t_src = np.mod(t_s, period) if self.loop and period > 0 else t_s
            return ecg_uv(t_src, self._beats)[:, None]
        track = self.source.imu if self.source is not None and self.source.imu is not None else None
        if measurement == ACC:
            data_g = (
                track.acc_ms2[rows] if track is not None else np.zeros((rows.size, 3))
            ) / G_MPS2
            limit = settings.get(RANGE, 8)
            data_g = np.clip(data_g, -limit, limit)
            scale = 1000.0 if self.kind == "H10" else 1.0 / factor  # mG or counts
        else:
            data_g = (
                np.degrees(track.gyro_rads[rows]) if track is not None else np.zeros((rows.size, 3))
            )
            limit = settings.get(RANGE, 2000)
            data_g = np.clip(data_g, -limit, limit)
            scale = 1.0 / factor
        return np.clip(np.round(data_g * scale), -32768, 32767).astype(np.int64)


def polar_name(model: str, serial: str) -> str:
    """The advertised name of a Polar device, e.g. ``Polar H10 A1B2C3D4``."""
    label = {"H10": "H10", "Verity": "Sense"}.get(model, model)
    return f"Polar {label} {serial}"
