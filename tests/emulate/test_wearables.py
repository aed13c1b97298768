"""Virtual wearables seen through bleak: bytes decoded by LiftSense's own decoders."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakGATTProtocolError

from liftsense.ble import diy_imu, hrs, pmd
from liftsense.ble.pmd import MeasurementType, OpCode, SettingType, Status
from liftsense.emulate.heartmodel import simulate_heart, strap_notifications
from liftsense.emulate.imu_board import ImuBoard
from liftsense.emulate.polar import PolarSensor, polar_name
from liftsense.emulate.sources import HrTrack, sine_source, source_from_frames
from liftsense.emulate.wearables import DeviceClock, Faults, HeartRateStrap
from liftsense.emulate.world import BumbleWorld
from liftsense.units import G_MPS2

ACC, ECG, GYRO = MeasurementType.ACC, MeasurementType.ECG, MeasurementType.GYRO
SOURCE = sine_source(30.0)  # gravity on z, 3 m/s² sine on x, 0.5 rad/s cosine gyro on y


async def _client(world: BumbleWorld, name: str, **kwargs: Any) -> BleakClient:
    device = await BleakScanner.find_device_by_name(name, timeout=5.0, **world.ble_context)
    assert device is not None
    client = BleakClient(device, **kwargs, **world.ble_context)
    await client.connect()
    return client


async def _collect(client: BleakClient, uuid: str, n: int, timeout_s: float = 5.0) -> list[bytes]:
    got: list[bytes] = []
    await client.start_notify(uuid, lambda s, d: got.append(bytes(d)))
    async with asyncio.timeout(timeout_s):
        while len(got) < n:
            await asyncio.sleep(0.005)
    await client.stop_notify(uuid)
    return got


# -- HR strap -------------------------------------------------------------------------------


async def test_strap_sends_hr_with_rr_and_contact(world: BumbleWorld) -> None:
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01", source=SOURCE, speed=20.0))
    client = await _client(world, "HRM A")
    packets = [hrs.parse(p) for p in await _collect(client, hrs.HEART_RATE_MEASUREMENT_UUID, 3)]
    assert all(p.bpm == 72 and p.contact is True and p.anomaly == "" for p in packets)
    # 72 bpm: RR = 60/72 s = 853 / 1024 s; one or two beats per 1 s notification.
    assert all(set(p.rr_1024) == {853} and 1 <= len(p.rr_1024) <= 2 for p in packets)
    assert await client.read_gatt_char(hrs.BODY_SENSOR_LOCATION_UUID) == b"\x01"
    await client.disconnect()


async def test_strap_off_window_sends_zero_without_contact(world: BumbleWorld) -> None:
    faults = Faults(strap_off=((0.0, 8.0),))
    strap = HeartRateStrap("HRM A", "C0:00:00:00:00:01", source=SOURCE, speed=10.0, faults=faults)
    await world.add(strap)
    client = await _client(world, "HRM A")
    assert strap.session_time_s() < 7.0, "connecting took longer than the strap-off window"
    packets: list[hrs.HeartRateMeasurement] = []
    await client.start_notify(
        hrs.HEART_RATE_MEASUREMENT_UUID, lambda s, d: packets.append(hrs.parse(d))
    )
    async with asyncio.timeout(5.0):
        while not packets or packets[-1].contact is not True:
            await asyncio.sleep(0.005)
    off, on = packets[:-1], packets[-1]
    assert off and all(p.bpm == 0 and p.contact is False and p.rr_1024 == () for p in off)
    assert on.bpm == 72 and on.rr_1024
    await client.disconnect()


async def test_strap_energy_and_heart_model_track(world: BumbleWorld) -> None:
    truth = simulate_heart(20.0, rest_hr_bpm=90.0, seed=3)
    notes = strap_notifications(truth.observed_beat_t_s, truth.observed_rr_ms, duration_s=20.0)
    track = HrTrack.from_notifications(notes)
    source = source_from_frames(None, hr=track)
    strap = HeartRateStrap("HRM E", "C0:00:00:00:00:05", source=source, speed=20.0, energy=True)
    await world.add(strap)
    client = await _client(world, "HRM E")
    packets = [hrs.parse(p) for p in await _collect(client, hrs.HEART_RATE_MEASUREMENT_UUID, 4)]
    assert all(p.energy_kj is not None for p in packets)
    sent = {(int(b), tuple(rr)) for b, rr in zip(track.bpm, track.rr_1024, strict=True)}
    assert all((p.bpm, p.rr_1024) in sent for p in packets)
    await client.disconnect()


async def test_scheduled_disconnect_with_reason_then_reconnect(world: BumbleWorld) -> None:
    # The first connection drops 5 session-s (0.5 s) after it is made; the second stays.
    faults = Faults(disconnect_after_s=((5.0, 0x08),))
    strap = HeartRateStrap("HRM A", "C0:00:00:00:00:01", source=SOURCE, speed=10.0, faults=faults)
    await world.add(strap)
    lost = asyncio.Event()
    client = await _client(world, "HRM A", disconnected_callback=lambda c: lost.set())
    await asyncio.wait_for(lost.wait(), 5.0)
    assert client._backend.disconnect_reason == 0x08  # type: ignore[attr-defined]
    await client.connect()  # the strap advertises again
    packets = await _collect(client, hrs.HEART_RATE_MEASUREMENT_UUID, 1)
    assert hrs.parse(packets[0]).bpm == 72
    await client.disconnect()


async def test_disconnect_at_a_session_time(world: BumbleWorld) -> None:
    strap = HeartRateStrap("HRM T", "C0:00:00:00:00:08", faults=Faults(disconnects=((1.0, 0x13),)))
    await world.add(strap)
    lost = asyncio.Event()
    client = await _client(world, "HRM T", disconnected_callback=lambda c: lost.set())
    assert strap.session_time_s() < 1.0, "connecting took longer than the planned drop time"
    await asyncio.wait_for(lost.wait(), 5.0)
    assert strap.session_time_s() >= 1.0
    assert client._backend.disconnect_reason == 0x13  # type: ignore[attr-defined]


async def test_slow_reads_fault(world: BumbleWorld) -> None:
    await world.add(HeartRateStrap("Slow", "C0:00:00:00:00:07", faults=Faults(read_delay_s=0.3)))
    client = await _client(world, "Slow")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client.read_gatt_char(hrs.BATTERY_LEVEL_UUID)
    assert await client.read_gatt_char(hrs.BATTERY_LEVEL_UUID) == b"\x57"
    await client.disconnect()


# -- Polar-like sensor ----------------------------------------------------------------------


class _Cp:
    """Client side of the PMD control point: write a request, await its indication."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def open(self) -> None:
        cp = pmd.PMD_CONTROL_POINT_UUID
        await self.client.start_notify(cp, lambda s, d: self.queue.put_nowait(bytes(d)))

    async def ask(self, request: bytes) -> pmd.CpResponse:
        await self.client.write_gatt_char(pmd.PMD_CONTROL_POINT_UUID, request, response=True)
        return pmd.parse_response(await asyncio.wait_for(self.queue.get(), 5.0))


async def _polar(world: BumbleWorld, model: str = "H10", **kwargs: Any) -> tuple[BleakClient, _Cp]:
    name = polar_name(model, "A1B2C3D4")
    sensor = PolarSensor(name, "C0:00:00:00:00:0A", model=model, source=SOURCE, **kwargs)
    await world.add(sensor)
    client = await _client(world, name)
    cp = _Cp(client)
    await cp.open()
    return client, cp


async def test_polar_feature_read_and_settings(world: BumbleWorld) -> None:
    client, cp = await _polar(world)
    features = await client.read_gatt_char(pmd.PMD_CONTROL_POINT_UUID)
    assert features[:2] == b"\x0f\x05"  # ECG + ACC, as an H10
    assert pmd.parse_features(bytes(features)) == {ECG, ACC}
    answer = await cp.ask(pmd.get_settings_request(ACC))
    assert answer.status == Status.SUCCESS
    assert answer.settings[SettingType.SAMPLE_RATE] == (25, 50, 100, 200)
    assert answer.settings[SettingType.RANGE] == (2, 4, 8)
    await client.disconnect()


async def test_polar_control_point_status_codes(world: BumbleWorld) -> None:
    client, cp = await _polar(world)
    start = pmd.start_request(
        ACC, {SettingType.SAMPLE_RATE: 200, SettingType.RESOLUTION: 16, SettingType.RANGE: 8}
    )
    cases = [
        (pmd.start_request(ACC, {SettingType.SAMPLE_RATE: 300}), Status.INVALID_SAMPLE_RATE),
        (pmd.start_request(ACC, {SettingType.RANGE: 16}), Status.INVALID_RANGE),
        (pmd.start_request(GYRO, {}), Status.NOT_SUPPORTED),
        (pmd.stop_request(ACC), Status.ALREADY_IN_STATE),
        (start, Status.SUCCESS),
        (start, Status.ALREADY_IN_STATE),
        (pmd.stop_request(ACC), Status.SUCCESS),
        (bytes([OpCode.GET_MEASUREMENT_STATUS, ACC]), Status.NOT_SUPPORTED),
        (bytes([0x42, ACC]), Status.INVALID_OP_CODE),
    ]
    for request, status in cases:
        answer = await cp.ask(request)
        assert (answer.op, answer.status) == (request[0], status), request.hex()
    await client.disconnect()


async def test_polar_rejects_start_below_mtu_232(world: BumbleWorld) -> None:
    client, cp = await _polar(world, max_mtu=185)
    assert client.mtu_size == 185
    answer = await cp.ask(pmd.start_request(ACC, {SettingType.SAMPLE_RATE: 200}))
    assert answer.status == Status.INVALID_MTU
    await client.disconnect()


async def test_polar_h10_acc_frames_and_drifting_clock(world: BumbleWorld) -> None:
    clock = DeviceClock(offset_ns=10**9, drift_ppm=500.0)
    client, cp = await _polar(world, clock=clock, speed=10.0)
    got: list[bytes] = []
    await client.start_notify(pmd.PMD_DATA_UUID, lambda s, d: got.append(bytes(d)))
    settings = {SettingType.SAMPLE_RATE: 200, SettingType.RESOLUTION: 16, SettingType.RANGE: 8}
    assert (await cp.ask(pmd.start_request(ACC, settings))).status == Status.SUCCESS
    async with asyncio.timeout(5.0):
        while len(got) < 4:
            await asyncio.sleep(0.005)
    frames = [pmd.parse_frame(f, rate_hz=200.0) for f in got[:4]]
    assert all(f.frame_type == 0x01 and f.n_samples == 36 for f in frames)
    values = np.vstack([f.values for f in frames])
    assert np.allclose(values[:, 2], G_MPS2, atol=0.01)  # 1 mG steps
    assert np.ptp(values[:, 0]) > 1.0 and np.abs(values[:, 0]).max() <= 3.0 + 0.01
    # 36 samples at 200 Hz = 0.18 s per frame on the session clock; the device counts 500 ppm fast.
    steps = np.diff([f.timestamp_ns for f in frames])
    assert np.all(np.abs(steps - 0.18e9 * (1 + 500e-6)) <= 1)
    assert frames[0].timestamp_ns > 599_616_000 * 10**9  # an unset H10 clock: 2019
    await client.disconnect()


async def test_polar_stream_survives_reconnect(world: BumbleWorld) -> None:
    client, cp = await _polar(world, speed=10.0)
    settings = {SettingType.SAMPLE_RATE: 200, SettingType.RANGE: 8}
    assert (await cp.ask(pmd.start_request(ACC, settings))).status == Status.SUCCESS
    await client.disconnect()
    await client.connect()
    cp = _Cp(client)
    await cp.open()
    # Like an H10, the sensor kept streaming: a second START is answered ALREADY_IN_STATE ...
    assert (await cp.ask(pmd.start_request(ACC, settings))).status == Status.ALREADY_IN_STATE
    # ... and frames flow again as soon as notifications are re-enabled.
    frames = await _collect(client, pmd.PMD_DATA_UUID, 2)
    assert all(pmd.parse_header(f)[0] == ACC for f in frames)
    await client.disconnect()


async def test_polar_ecg_frames_from_beats(world: BumbleWorld) -> None:
    client, cp = await _polar(world, speed=10.0)
    got: list[bytes] = []
    await client.start_notify(pmd.PMD_DATA_UUID, lambda s, d: got.append(bytes(d)))
    assert (await cp.ask(pmd.start_request(ECG, {SettingType.SAMPLE_RATE: 130}))).status == 0
    async with asyncio.timeout(5.0):
        while len(got) < 3:
            await asyncio.sleep(0.005)
    frames = [pmd.parse_frame(f, rate_hz=130.0) for f in got[:3]]
    assert all(f.measurement == ECG and f.n_samples == 73 for f in frames)
    ecg = np.concatenate([f.values[:, 0] for f in frames])
    assert ecg.max() > 500.0 and ecg.min() >= 0.0  # spikes at 72 bpm: ~2 beats in 1.7 s
    await client.disconnect()


async def test_verity_delta_frames_with_factor(world: BumbleWorld) -> None:
    client, cp = await _polar(world, model="Verity", speed=10.0)
    got: list[bytes] = []
    await client.start_notify(pmd.PMD_DATA_UUID, lambda s, d: got.append(bytes(d)))
    factors = {}
    for m, rng in ((ACC, 8), (GYRO, 1000)):
        settings = {SettingType.SAMPLE_RATE: 104, SettingType.RANGE: rng}
        answer = await cp.ask(pmd.start_request(m, settings))
        assert answer.status == Status.SUCCESS
        factors[m] = answer.settings[SettingType.FACTOR][0]
    async with asyncio.timeout(5.0):
        while {pmd.parse_header(f)[0] for f in got} != {ACC, GYRO}:
            await asyncio.sleep(0.005)
    for frame_bytes in got:
        m = pmd.parse_header(frame_bytes)[0]
        frame = pmd.parse_frame(frame_bytes, factor=float(factors[m]), rate_hz=104.0)
        assert frame.frame_type == 0x80
        if m == ACC:
            assert np.allclose(frame.values[:, 2], G_MPS2, atol=0.01)
        else:
            assert np.abs(frame.values[:, 1]).max() <= 0.5 + 0.01
            assert np.allclose(frame.values[:, 0], 0.0)
    await client.disconnect()


# -- open IMU board -------------------------------------------------------------------------


async def test_imu_board_streams_packets_with_sequence_gaps(world: BumbleWorld) -> None:
    board = ImuBoard(
        "LiftSense IMU 1",
        "C0:00:00:00:00:0B",
        source=SOURCE,
        speed=10.0,
        faults=Faults(drop_packets=frozenset({2, 3})),
    )
    await world.add(board)
    client = await _client(world, "LiftSense IMU 1")
    info = diy_imu.parse_info(bytes(await client.read_gatt_char(diy_imu.INFO_UUID)))
    assert 200 in info["rates_hz"]
    got: list[bytes] = []
    await client.start_notify(diy_imu.DATA_UUID, lambda s, d: got.append(bytes(d)))
    config = diy_imu.ImuConfig(rate_hz=200, streaming=True, samples_per_packet=10)
    await client.write_gatt_char(diy_imu.CONFIG_UUID, diy_imu.encode_config(config), response=True)
    async with asyncio.timeout(5.0):
        while len(got) < 6:
            await asyncio.sleep(0.005)
    packets = [diy_imu.parse_packet(p) for p in got[:6]]
    assert [p.seq for p in packets] == [0, 1, 4, 5, 6, 7]
    assert diy_imu.lost_packets(packets[1].seq, packets[2].seq) == 2
    # Device time runs on: the first sample after the gap is 3 packets (30 samples) later.
    assert packets[2].t0_us - packets[1].t0_us == 3 * 10 * 5000
    assert packets[0].t0_us >= 5_000_000  # booted 5 s before the session
    values = np.vstack([p.values for p in packets])
    assert np.allclose(values[:, 2], G_MPS2, atol=0.01)
    assert np.abs(values[:, 4]).max() <= 0.5 + 1e-3
    read_back = diy_imu.parse_config(bytes(await client.read_gatt_char(diy_imu.CONFIG_UUID)))
    assert read_back.streaming and read_back.rate_hz == 200
    await client.disconnect()


async def test_imu_board_rejects_bad_config(world: BumbleWorld) -> None:
    await world.add(ImuBoard("LiftSense IMU 2", "C0:00:00:00:00:0C", source=SOURCE))
    client = await _client(world, "LiftSense IMU 2")
    bad = diy_imu.encode_config(diy_imu.ImuConfig(rate_hz=333, streaming=True))
    with pytest.raises(BleakGATTProtocolError) as info:
        await client.write_gatt_char(diy_imu.CONFIG_UUID, bad, response=True)
    assert info.value.code == 0x13
    with pytest.raises(BleakGATTProtocolError):
        await client.write_gatt_char(diy_imu.CONFIG_UUID, b"\x01\x02", response=True)
    await client.disconnect()


# -- sources --------------------------------------------------------------------------------


def test_source_from_frames_resamples_on_a_regular_grid() -> None:
    index = pd.date_range("2026-01-05T09:00:00Z", periods=5, freq="10ms")
    imu = pd.DataFrame({"x": [0.0, 1, 2, 3, 4], "y": 0.0, "z": 9.8}, index=index)
    source = source_from_frames(imu, rate_hz=200.0)
    assert source.imu is not None
    assert source.imu.rate_hz == 200.0
    assert source.imu.acc_ms2[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]
    assert np.all(source.imu.gyro_rads == 0.0)
    assert source.duration_s == pytest.approx(0.045)


def test_sine_source_heart_track_is_consistent() -> None:
    source = sine_source(10.0, hr_bpm=60.0)
    assert source.hr is not None
    assert source.hr.t_s.tolist() == [float(t) for t in range(1, 11)]
    assert sum(len(rr) for rr in source.hr.rr_1024) == 10
    assert {r for rr in source.hr.rr_1024 for r in rr} == {1024}


async def test_polar_plays_a_synthetic_session(world: BumbleWorld) -> None:
    from liftsense.emulate.motion import SessionSpec, SetSpec, generate
    from liftsense.emulate.sources import source_from_session

    spec = SessionSpec(
        sets=(SetSpec("back_squat", 100.0, 2),),
        lead_in_s=5,
        rest_s=5,
        tail_s=2,
        walk_between_sets=False,
    )
    source = source_from_session(generate(spec, seed=1))
    assert source.imu is not None and source.hr is not None
    sensor = PolarSensor("Polar H10 0000SYN1", "C0:00:00:00:00:0D", source=source, speed=10.0)
    await world.add(sensor)
    client = await _client(world, "Polar H10 0000SYN1")
    cp = _Cp(client)
    await cp.open()
    frames: list[bytes] = []
    beats: list[bytes] = []
    await client.start_notify(pmd.PMD_DATA_UUID, lambda s, d: frames.append(bytes(d)))
    await client.start_notify(hrs.HEART_RATE_MEASUREMENT_UUID, lambda s, d: beats.append(bytes(d)))
    settings = {SettingType.SAMPLE_RATE: 200, SettingType.RANGE: 8}
    assert (await cp.ask(pmd.start_request(ACC, settings))).status == Status.SUCCESS
    async with asyncio.timeout(5.0):
        while len(frames) < 3 or len(beats) < 2:
            await asyncio.sleep(0.005)
    got = np.vstack([pmd.parse_frame(f).values for f in frames[:3]])
    # The frames carry a contiguous slice of the session's IMU samples (1 mG steps).
    expected = np.clip(source.imu.acc_ms2, -8 * G_MPS2, 8 * G_MPS2)
    windows = np.lib.stride_tricks.sliding_window_view(expected, got.shape, axis=(0, 1))[:, 0]
    errors = np.abs(windows - got).max(axis=(1, 2))
    assert errors.min() <= 0.5e-3 * G_MPS2 + 1e-9
    track = {(int(b), tuple(rr)) for b, rr in zip(source.hr.bpm, source.hr.rr_1024, strict=True)}
    assert all((p.bpm, p.rr_1024) in track for p in map(hrs.parse, beats))
    await client.disconnect()


def test_source_from_recording_replays_acc_and_hr(tmp_path: Any) -> None:
    from liftsense.emulate.sources import source_from_recording
    from liftsense.journal import JournalWriter
    from liftsense.schema import SessionMeta

    t0_ns = 1_767_600_000 * 10**9
    t_ns = t0_ns + np.arange(40) * 5_000_000  # 200 Hz
    acc = np.column_stack([np.arange(40.0), np.zeros(40), np.full(40, 9.81)])
    with JournalWriter(tmp_path / "rec", SessionMeta(session_id="replay")) as journal:
        journal.append("acc", "IMU-1", t_ns, xyz=acc)
        journal.append("gyro", "IMU-1", t_ns, xyz=np.zeros((40, 3)))
        journal.append("hr", "IMU-1", t0_ns + np.array([0, 1, 2]) * 10**9, value=[70.0, 71, 72])
        journal.append("rr", "IMU-1", t0_ns + np.array([900, 1700]) * 10**6, value=[850.0, 800])
    source = source_from_recording(tmp_path / "rec.parquet")
    assert source.imu is not None and source.hr is not None
    assert source.imu.rate_hz == 200.0
    assert source.imu.acc_ms2[:, 0].tolist() == pytest.approx(list(range(40)))
    assert source.hr.t_s.tolist() == [0.0, 1.0, 2.0]
    assert source.hr.bpm.tolist() == [70.0, 71.0, 72.0]
    assert source.hr.rr_1024 == [[], [870], [819]]
