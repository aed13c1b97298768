"""The Polar profile (H10, Verity Sense, OH1): Heart Rate Service plus PMD streams.

Start sequence (Polar's prerequisites, then per measurement): enable CP indications, enable
Data notifications, read the CP features, then for each wanted measurement the device offers:
GET_MEASUREMENT_SETTINGS, choose the nearest offered settings, REQUEST_MEASUREMENT_START (a
stream left running from an earlier connection answers ALREADY_IN_STATE: stop and start it
again, so its FACTOR is fresh). Stop: STOP_MEASUREMENT for every started stream, then
unsubscribe; an H10 left streaming stays awake until its battery is flat.

A PMD frame's timestamp is the sensor time (ns since 2000-01-01) of its LAST sample; samples are
spread back to the previous frame (the Polar SDK rule) only when that frame is the one just
before (no loss, no reconnect in between), else placed at the nominal rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from liftsense.ble import hrs, pmd
from liftsense.ble.pmd import CpResponse, MeasurementType, SettingType, Status
from liftsense.ble.profiles import (
    Advertisement,
    DeviceProfile,
    GattPort,
    Samples,
    StreamDecoder,
    StreamSpec,
    _quietly,
    decode_heart_rate,
    normalize_uuid,
)
from liftsense.errors import DecodeError, DeviceError

log = logging.getLogger(__name__)

__all__ = ["ControlPoint", "PolarDecoder", "PolarOptions", "PolarProfile", "choose_settings"]

PMD_SERVICE = normalize_uuid(pmd.PMD_SERVICE_UUID)
PMD_CP = normalize_uuid(pmd.PMD_CONTROL_POINT_UUID)
PMD_DATA = normalize_uuid(pmd.PMD_DATA_UUID)

#: PMD measurement -> recording stream, and the factor from a PMD range to the metadata unit.
_STREAMS: dict[int, tuple[str, float]] = {
    MeasurementType.ACC: ("acc", 1.0),  # G
    MeasurementType.GYRO: ("gyro", 1.0),  # deg/s
    MeasurementType.MAG: ("mag", 100.0),  # Gauss -> µT
    MeasurementType.ECG: ("ecg", 1.0),
}
#: A frame whose predecessor is further back than this many frame durations was preceded by a
#: loss or an outage: place its samples at the nominal rate instead of spreading them.
_MAX_FRAME_SPAN = 1.5
#: A frame timestamp this far behind the last one is a clock reset, not a duplicate.
_RESET_NS = 5_000_000_000


@dataclass(frozen=True)
class PolarOptions:
    """What to ask a Polar sensor for; each wish is matched to the nearest offered setting.

    Defaults: ACC 200 Hz / ±8 G / 16 bit (±2 G clips during lifts), gyro 200 Hz / ±2000 deg/s
    where offered (Verity Sense), no magnetometer, no ECG (H10 ECG at 130 Hz is optional).
    """

    acc: Mapping[SettingType, float] | None = None
    gyro: Mapping[SettingType, float] | None = None
    mag: Mapping[SettingType, float] | None = None
    ecg: Mapping[SettingType, float] | None = None

    @classmethod
    def default(cls, *, ecg: bool = False, mag: bool = False) -> PolarOptions:
        return cls(
            acc={SettingType.SAMPLE_RATE: 200, SettingType.RANGE: 8, SettingType.RESOLUTION: 16},
            gyro={SettingType.SAMPLE_RATE: 200, SettingType.RANGE: 2000},
            mag={SettingType.SAMPLE_RATE: 50, SettingType.RANGE: 50} if mag else None,
            ecg={SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14} if ecg else None,
        )

    def wishes(self) -> list[tuple[MeasurementType, Mapping[SettingType, float]]]:
        pairs = [
            (MeasurementType.ACC, self.acc),
            (MeasurementType.GYRO, self.gyro),
            (MeasurementType.MAG, self.mag),
            (MeasurementType.ECG, self.ecg),
        ]
        return [(m, w) for m, w in pairs if w is not None]


def _nearest(offered: list[int], wish: float, prefer_above: bool) -> int:
    exact = [v for v in offered if v == wish]
    if exact:
        return exact[0]
    above = sorted(v for v in offered if v > wish)
    below = sorted(v for v in offered if v < wish)
    if prefer_above:
        return above[0] if above else below[-1]
    return below[-1] if below else above[0]


def choose_settings(
    offered: Mapping[SettingType, tuple[object, ...]], wish: Mapping[SettingType, float]
) -> dict[SettingType | int, int]:
    """One value per offered setting (a START request needs every one the device lists).

    Sample rate: the wish, else the fastest below it, else the slowest above. Range: the wish,
    else the smallest above it (no clipping), else the largest. Resolution and channels: the
    wish, else the largest offered. FACTOR and SECURITY are not request settings.
    """
    chosen: dict[SettingType | int, int] = {}
    for kind, values in offered.items():
        if kind in (SettingType.FACTOR, SettingType.SECURITY, SettingType.RANGE_MILLIUNIT):
            continue
        ints = [int(v) for v in values if isinstance(v, int | float)]
        if not ints:
            continue
        want = wish.get(kind)
        if want is None:
            chosen[kind] = max(ints) if kind != SettingType.SAMPLE_RATE else ints[0]
        else:
            chosen[kind] = _nearest(ints, want, prefer_above=kind == SettingType.RANGE)
    return chosen


class ControlPoint:
    """Request/response on the PMD control point (indications arrive via ``on_indication``)."""

    def __init__(
        self,
        port: GattPort,
        *,
        timeout_s: float = 10.0,
        on_stopped: Callable[[list[int]], None] | None = None,
    ) -> None:
        self._port = port
        self._timeout_s = timeout_s
        self._parts: asyncio.Queue[CpResponse] = asyncio.Queue()
        self._on_stopped = on_stopped
        self.stopped_by_device: list[int] = []

    def on_indication(self, receive_ns: int, data: bytes) -> None:
        """Subscription callback: queue responses, note device-initiated stops."""
        try:
            msg = pmd.parse_cp_indication(data)
        except DecodeError as exc:
            log.warning("ignoring PMD control point indication: %s", exc)
            return
        if isinstance(msg, pmd.MeasurementStopped):
            stopped = [int(m) for m in msg.measurements]
            self.stopped_by_device.extend(stopped)
            log.warning("device stopped PMD measurement(s) %s", list(msg.measurements))
            if self._on_stopped is not None:
                self._on_stopped(stopped)
        else:
            self._parts.put_nowait(msg)

    async def request(self, data: bytes) -> CpResponse:
        """Write a request and return its (merged) response. Raises DeviceError on timeout."""
        while not self._parts.empty():  # a late answer to an earlier, timed-out request
            self._parts.get_nowait()
        await self._port.write(PMD_CP, data, response=True)
        parts: list[CpResponse] = []
        try:
            async with asyncio.timeout(self._timeout_s):
                while not parts or parts[-1].more:
                    part = await self._parts.get()
                    if int(part.op) == data[0]:  # as the SDK: ignore answers to other ops
                        parts.append(part)
        except TimeoutError:
            raise DeviceError(
                f"no answer from the PMD control point within {self._timeout_s:g} s to "
                f"request {data.hex()}; is the sensor worn and awake?"
            ) from None
        return pmd.merge_responses(parts)


class PolarDecoder:
    """HRS and PMD notifications -> samples; one per device, kept across reconnects."""

    def __init__(self) -> None:
        self.control_point: ControlPoint | None = None
        self.running: dict[int, tuple[float, float]] = {}  # measurement -> (factor, rate_hz)
        self.requests: dict[int, bytes] = {}  # measurement -> its START request
        self.restarts: set[asyncio.Task[None]] = set()
        self._last_t: dict[tuple[int, int], int] = {}  # (measurement, frame type) -> T
        self._adjacent: set[tuple[int, int]] = set()  # streams whose last frame is usable as P
        self.duplicates = 0

    def started(self, measurement: int, *, factor: float, rate_hz: float) -> None:
        self.running[int(measurement)] = (factor, rate_hz)

    def link_lost(self) -> None:
        self._adjacent.clear()
        self.control_point = None

    def stream_restarted(self, measurement: int) -> None:
        """Samples were missed: do not spread the next frame back to the last one."""
        self._adjacent = {k for k in self._adjacent if k[0] != int(measurement)}

    def decode(self, uuid: str, data: bytes) -> list[Samples]:
        if uuid == hrs.HEART_RATE_MEASUREMENT_UUID:
            return decode_heart_rate(data)
        if uuid != PMD_DATA:
            return []
        measurement, t_ns, frame_type = pmd.parse_header(data)
        target = _STREAMS.get(int(measurement))
        if target is None:
            return []
        key = (int(measurement), frame_type)
        last = self._last_t.get(key)
        if last is not None and last - _RESET_NS < t_ns <= last:
            self.duplicates += 1
            return []
        factor, rate_hz = self.running.get(int(measurement), (1.0, 0.0))
        frame = pmd.parse_frame(data, factor=factor)  # samples only: timestamped once, below
        if not rate_hz:
            raise DecodeError(data, "PMD frame of a stream that was never started (no rate)")
        n = frame.n_samples
        # Spread back to the previous frame only when it is the one just before this frame.
        adjacent = (
            last is not None
            and key in self._adjacent
            and rate_hz > 0
            and 0 < t_ns - last <= _MAX_FRAME_SPAN * n * 1e9 / rate_hz
        )
        stamps = pmd.sample_timestamps_ns(
            t_ns,
            n,
            previous_timestamp_ns=last if adjacent else None,
            rate_hz=None if adjacent else rate_hz,
            data=data,
        )
        self._last_t[key] = t_ns
        self._adjacent.add(key)
        stream, _ = target
        values = frame.values
        if stream == "ecg":
            return [Samples(stream, "device", stamps, t_ns, value=values[:, 0].copy())]
        return [
            Samples(
                stream,
                "device",
                stamps,
                t_ns,
                x=values[:, 0].copy(),
                y=values[:, 1].copy(),
                z=values[:, 2].copy(),
            )
        ]


class PolarProfile(DeviceProfile):
    """Polar H10 / Verity Sense / OH1: HR+RR, and ACC (gyro, ECG) over PMD."""

    kind = "polar"
    priority = 20

    def __init__(self, options: PolarOptions | None = None, *, cp_timeout_s: float = 10.0) -> None:
        self.options = options or PolarOptions.default()
        self.cp_timeout_s = cp_timeout_s

    def matches(self, adv: Advertisement) -> bool:
        return adv.name.startswith("Polar") or PMD_SERVICE in adv.uuids

    def model(self, adv: Advertisement) -> str:
        words = adv.name.split()
        if len(words) >= 3 and words[0] == "Polar":
            return "Polar Verity Sense" if words[1] == "Sense" else f"Polar {words[1]}"
        return adv.name or "Polar"

    def new_decoder(self) -> StreamDecoder:
        return PolarDecoder()

    async def start(self, port: GattPort, decoder: StreamDecoder) -> tuple[StreamSpec, ...]:
        assert isinstance(decoder, PolarDecoder)
        specs: list[StreamSpec] = []
        if port.has(hrs.HEART_RATE_MEASUREMENT_UUID):
            await port.subscribe(hrs.HEART_RATE_MEASUREMENT_UUID)
            specs += [StreamSpec("hr"), StreamSpec("rr")]
        if not port.has(PMD_CP):
            return tuple(specs)
        cp = ControlPoint(
            port,
            timeout_s=self.cp_timeout_s,
            on_stopped=lambda stopped: self._restart_later(decoder, stopped),
        )
        decoder.control_point = cp
        decoder.running.clear()
        await port.subscribe(PMD_CP, cp.on_indication)
        await port.subscribe(PMD_DATA)
        features = pmd.parse_features(await port.read(PMD_CP))
        for measurement, wish in self.options.wishes():
            if measurement not in features:
                continue
            specs.append(await self._start_one(cp, decoder, measurement, wish))
        return tuple(specs)

    async def _start_one(
        self,
        cp: ControlPoint,
        decoder: PolarDecoder,
        measurement: MeasurementType,
        wish: Mapping[SettingType, float],
    ) -> StreamSpec:
        offered = await cp.request(pmd.get_settings_request(measurement))
        if not offered.ok:
            raise DeviceError(f"PMD {measurement.name} settings refused: {offered.error}")
        chosen = choose_settings(offered.settings, wish)
        request = pmd.start_request(measurement, chosen)
        decoder.requests[int(measurement)] = request
        started = await cp.request(request)
        if started.status == Status.ALREADY_IN_STATE:
            await cp.request(pmd.stop_request(measurement))
            started = await cp.request(request)
        if not started.ok:
            raise DeviceError(f"PMD {measurement.name} start failed: {started.error}")
        rate = float(chosen.get(SettingType.SAMPLE_RATE, 0))
        decoder.started(measurement, factor=started.factor, rate_hz=rate)
        stream, to_unit = _STREAMS[measurement]
        rng = chosen.get(SettingType.RANGE)
        return StreamSpec(stream, rate or None, None if rng is None else rng * to_unit)

    def _restart_later(self, decoder: PolarDecoder, stopped: list[int]) -> None:
        """The device stopped streams on its own (ONLINE_MEASUREMENT_STOPPED): start them again."""
        for measurement in stopped:
            if measurement in decoder.running and measurement in decoder.requests:
                task = asyncio.get_running_loop().create_task(self._restart(decoder, measurement))
                decoder.restarts.add(task)
                task.add_done_callback(decoder.restarts.discard)

    async def _restart(self, decoder: PolarDecoder, measurement: int) -> None:
        cp = decoder.control_point
        if cp is None:
            return
        decoder.stream_restarted(measurement)
        try:
            started = await cp.request(decoder.requests[measurement])
        except DeviceError as exc:
            log.warning("PMD measurement %d: restart failed: %s", measurement, exc)
            return
        if started.ok:
            _, rate = decoder.running[measurement]
            decoder.started(measurement, factor=started.factor, rate_hz=rate)
            log.info("PMD measurement %d restarted", measurement)
        elif started.status != Status.ALREADY_IN_STATE:
            log.warning("PMD measurement %d: restart refused: %s", measurement, started.error)

    async def stop(self, port: GattPort, decoder: StreamDecoder) -> None:
        assert isinstance(decoder, PolarDecoder)
        for task in list(decoder.restarts):
            task.cancel()
        cp = decoder.control_point
        if cp is not None:
            for measurement in list(decoder.running):
                await _quietly(cp.request(pmd.stop_request(measurement)))
            decoder.running.clear()
            await _quietly(port.unsubscribe(PMD_DATA))
            await _quietly(port.unsubscribe(PMD_CP))
        await _quietly(port.unsubscribe(hrs.HEART_RATE_MEASUREMENT_UUID))
