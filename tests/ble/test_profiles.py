"""Device profiles: matching from advertisements, start/stop sequences on a fake GATT, decoders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

from liftsense.ble import diy_imu, hrs, pmd
from liftsense.ble.pmd import MeasurementType as M
from liftsense.ble.pmd import OpCode, SettingType, Status
from liftsense.ble.polar_profile import (
    PMD_CP,
    PMD_DATA,
    PolarDecoder,
    PolarOptions,
    PolarProfile,
    choose_settings,
)
from liftsense.ble.profiles import (
    IMU_CONFIG,
    IMU_DATA,
    Advertisement,
    HeartRateProfile,
    ImuBoardProfile,
    ImuDecoder,
    Samples,
    label_for,
    match,
    normalize_uuid,
    profiles,
)
from liftsense.errors import DecodeError, DeviceError
from liftsense.units import G_MPS2 as G

HRM = hrs.HEART_RATE_MEASUREMENT_UUID

H10_ADV = Advertisement("Polar H10 A1B2C3D4", "A0:9E:1A:A1:B2:C3", ("180d", "feee"))
SENSE_ADV = Advertisement(
    "Polar Sense B5C6D7E8", "A0:9E:1A:B5:C6:D7", ("0000180d-0000-1000-8000-00805f9b34fb",)
)
STRAP_ADV = Advertisement("HRM-Dual:123456", "C4:7C:8D:6A:12:34", ("0x180D",))
IMU_ADV = Advertisement("LiftSense IMU 01", "F1:02:03:04:05:06", (diy_imu.SERVICE_UUID.upper(),))


# -- matching -------------------------------------------------------------------------------


def test_normalize_uuid_accepts_every_form() -> None:
    full = "0000180d-0000-1000-8000-00805f9b34fb"
    assert {normalize_uuid(u) for u in ("180d", "0x180D", 0x180D, full.upper(), " 180D ")} == {full}
    assert normalize_uuid(pmd.PMD_SERVICE_UUID.upper()) == pmd.PMD_SERVICE_UUID


@pytest.mark.parametrize(
    ("adv", "kind", "model"),
    [
        (H10_ADV, "polar", "Polar H10"),
        (SENSE_ADV, "polar", "Polar Verity Sense"),
        (Advertisement("Polar OH1 0A0B0C0D", "x", ()), "polar", "Polar OH1"),
        (Advertisement("", "x", (pmd.PMD_SERVICE_UUID,)), "polar", "Polar"),
        (STRAP_ADV, "hr", "HRM-Dual:123456"),
        (IMU_ADV, "imu", "LiftSense IMU 01"),
    ],
)
def test_match_picks_the_most_specific_profile(adv: Advertisement, kind: str, model: str) -> None:
    profile = match(adv)
    assert profile is not None
    assert profile.kind == kind
    assert profile.model(adv) == model


def test_unknown_devices_match_nothing() -> None:
    assert match(Advertisement("Keyboard K380", "x", ("1812",))) is None
    assert match(Advertisement("", "x", ())) is None
    # A name that merely contains "Polar" is not a Polar sensor.
    assert match(Advertisement("My Polar-ish lamp", "x", ())) is None


def test_registry_orders_by_priority() -> None:
    assert [p.kind for p in profiles()] == ["polar", "imu", "hr"]
    # Restricting the candidates: an H10 also offers the plain Heart Rate Service.
    only_hr = match(H10_ADV, [HeartRateProfile()])
    assert only_hr is not None and only_hr.kind == "hr"


def test_labels_are_short_and_unique() -> None:
    polar = PolarProfile()
    assert label_for(H10_ADV, polar) == "H10-A1B2C3D4"
    assert label_for(H10_ADV, polar, {"H10-A1B2C3D4"}) == "H10-A1B2C3D4-2"
    assert label_for(H10_ADV, polar, {"H10-A1B2C3D4", "H10-A1B2C3D4-2"}) == "H10-A1B2C3D4-3"
    assert label_for(STRAP_ADV, HeartRateProfile()) == "hr-6A1234"
    assert label_for(IMU_ADV, ImuBoardProfile()) == "imu-040506"


# -- PMD settings choice -------------------------------------------------------------------------


def test_choose_settings_h10_acc_gets_200hz_8g() -> None:
    offered = {
        SettingType.SAMPLE_RATE: (25, 50, 100, 200),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (2, 4, 8),
    }
    wish = PolarOptions.default().acc
    assert wish is not None
    assert choose_settings(offered, wish) == {
        SettingType.SAMPLE_RATE: 200,
        SettingType.RESOLUTION: 16,
        SettingType.RANGE: 8,
    }


def test_choose_settings_nearest_rules() -> None:
    wish = {SettingType.SAMPLE_RATE: 200, SettingType.RANGE: 8}
    verity = {
        SettingType.SAMPLE_RATE: (26, 52, 104, 208, 416),
        SettingType.RANGE: (2, 4, 16),
        SettingType.RESOLUTION: (16,),
        SettingType.CHANNELS: (3,),
        SettingType.FACTOR: (2.44e-4,),
    }
    # The fastest rate below the wish; the smallest range above it; others as offered.
    assert choose_settings(verity, wish) == {
        SettingType.SAMPLE_RATE: 104,
        SettingType.RANGE: 16,
        SettingType.RESOLUTION: 16,
        SettingType.CHANNELS: 3,
    }
    only_above = {SettingType.SAMPLE_RATE: (416,), SettingType.RANGE: (2, 4)}
    assert choose_settings(only_above, wish) == {SettingType.SAMPLE_RATE: 416, SettingType.RANGE: 4}


# -- a fake GATT port and a fake Polar control point ----------------------------------------


class FakePort:
    """Records GATT operations; a device model answers writes through ``on_write``."""

    def __init__(
        self,
        chars: set[str],
        reads: dict[str, bytes] | None = None,
        on_write: Callable[[FakePort, str, bytes], None] | None = None,
    ) -> None:
        self.chars = chars
        self.reads = reads or {}
        self.on_write = on_write
        self.ops: list[tuple[str, ...]] = []
        self.callbacks: dict[str, Callable[[int, bytes], None]] = {}
        self.fail_unsubscribe = False

    def has(self, uuid: str) -> bool:
        return uuid in self.chars

    async def read(self, uuid: str) -> bytes:
        self.ops.append(("read", uuid))
        return self.reads[uuid]

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        self.ops.append(("write", uuid, data.hex()))
        if self.on_write is not None:
            self.on_write(self, uuid, data)

    async def subscribe(
        self, uuid: str, callback: Callable[[int, bytes], None] | None = None
    ) -> None:
        self.ops.append(("subscribe", uuid, "cb" if callback else "queue"))
        if callback is not None:
            self.callbacks[uuid] = callback

    async def unsubscribe(self, uuid: str) -> None:
        self.ops.append(("unsubscribe", uuid))
        if self.fail_unsubscribe:
            raise OSError("device disconnected")


SETTINGS = {
    M.ACC: {
        SettingType.SAMPLE_RATE: [25, 50, 100, 200],
        SettingType.RESOLUTION: [16],
        SettingType.RANGE: [2, 4, 8],
    },
    M.ECG: {SettingType.SAMPLE_RATE: [130], SettingType.RESOLUTION: [14]},
    M.GYRO: {
        SettingType.SAMPLE_RATE: [52],
        SettingType.RESOLUTION: [16],
        SettingType.RANGE: [250, 500, 1000, 2000],
    },
}


def polar_device(
    features: set[M], *, start_status: dict[M, Status] | None = None, silent: bool = False
) -> FakePort:
    statuses = dict(start_status or {})

    def on_write(port: FakePort, uuid: str, data: bytes) -> None:
        assert uuid == PMD_CP
        if silent:
            return
        req = pmd.parse_request(data)
        m = M(req.measurement)
        if req.op == OpCode.GET_MEASUREMENT_SETTINGS:
            reply = pmd.encode_response(req.op, m, settings=SETTINGS[m])  # type: ignore[arg-type]
        elif req.op == OpCode.REQUEST_MEASUREMENT_START:
            status = statuses.pop(m, Status.SUCCESS)
            settings = {SettingType.FACTOR: 1.0} if status == Status.SUCCESS else None
            reply = pmd.encode_response(req.op, m, status, settings=settings)  # type: ignore[arg-type]
        else:
            reply = pmd.encode_response(req.op, m)
        port.callbacks[PMD_CP](0, reply)

    return FakePort({HRM, PMD_CP, PMD_DATA}, {PMD_CP: pmd.encode_features(features)}, on_write)


def cp_writes(port: FakePort) -> list[str]:
    return [op[2] for op in port.ops if op[0] == "write"]


async def test_h10_start_sequence_and_stop() -> None:
    port = polar_device({M.ECG, M.ACC})
    profile = PolarProfile()
    decoder = profile.new_decoder()
    specs = await profile.start(port, decoder)
    assert port.ops[:4] == [
        ("subscribe", HRM, "queue"),
        ("subscribe", PMD_CP, "cb"),
        ("subscribe", PMD_DATA, "queue"),
        ("read", PMD_CP),
    ]
    # ACC: get settings, then start at 200 Hz, 16 bit, 8 G. No ECG unless asked.
    assert cp_writes(port) == ["0102", "0202" + "00 01 c800 01 01 1000 02 01 0800".replace(" ", "")]
    assert [(s.stream, s.rate_hz, s.range) for s in specs] == [
        ("hr", None, None),
        ("rr", None, None),
        ("acc", 200.0, 8.0),
    ]
    assert isinstance(decoder, PolarDecoder) and decoder.running == {int(M.ACC): (1.0, 200.0)}
    port.ops.clear()
    await profile.stop(port, decoder)
    assert port.ops == [
        ("write", PMD_CP, "0302"),
        ("unsubscribe", PMD_DATA),
        ("unsubscribe", PMD_CP),
        ("unsubscribe", HRM),
    ]
    assert decoder.running == {}


async def test_ecg_option_and_verity_gyro() -> None:
    port = polar_device({M.ECG, M.ACC})
    specs = await PolarProfile(PolarOptions.default(ecg=True)).start(port, PolarDecoder())
    assert [s.stream for s in specs] == ["hr", "rr", "acc", "ecg"]
    assert specs[-1].rate_hz == 130.0
    port = polar_device({M.PPG, M.ACC, M.PPI, M.GYRO, M.MAG})
    specs = await PolarProfile().start(port, PolarDecoder())
    assert [(s.stream, s.rate_hz, s.range) for s in specs][2:] == [
        ("acc", 200.0, 8.0),
        ("gyro", 52.0, 2000.0),
    ]


async def test_already_running_stream_is_restarted_and_errors_are_clear() -> None:
    port = polar_device({M.ACC}, start_status={M.ACC: Status.ALREADY_IN_STATE})
    await PolarProfile().start(port, PolarDecoder())
    assert [w[:4] for w in cp_writes(port)] == ["0102", "0202", "0302", "0202"]

    port = polar_device({M.ACC}, start_status={M.ACC: Status.INVALID_MTU})
    with pytest.raises(DeviceError, match=r"ACC start failed: INVALID_MTU .*MTU of at least 232"):
        await PolarProfile().start(port, PolarDecoder())

    port = polar_device({M.ACC}, silent=True)
    with pytest.raises(DeviceError, match="no answer from the PMD control point"):
        await PolarProfile(cp_timeout_s=0.01).start(port, PolarDecoder())


async def test_stop_survives_a_vanished_device_and_notes_device_stops() -> None:
    port = polar_device({M.ACC})
    decoder = PolarDecoder()
    await PolarProfile().start(port, decoder)
    assert decoder.control_point is not None
    port.callbacks[PMD_CP](0, pmd.encode_measurement_stopped([M.ACC]))
    port.callbacks[PMD_CP](0, b"\xff")  # garbage is logged, not raised
    assert decoder.control_point.stopped_by_device == [int(M.ACC)]
    port.fail_unsubscribe = True
    await PolarProfile().stop(port, decoder)  # must not raise
    assert ("unsubscribe", HRM) in port.ops


async def test_polar_without_pmd_gives_heart_rate_only() -> None:
    port = FakePort({HRM})
    specs = await PolarProfile().start(port, PolarDecoder())
    assert [s.stream for s in specs] == ["hr", "rr"]
    await PolarProfile().stop(port, PolarDecoder())


# -- decoders ----------------------------------------------------------------------------------


def acc_frame(t_ns: int, mg: np.ndarray) -> bytes:
    return pmd.encode_frame(M.ACC, mg, timestamp_ns=t_ns, frame_type=0x01)


def test_heart_rate_decoding() -> None:
    out = HeartRateProfile().new_decoder().decode(HRM, hrs.encode(72, rr_1024=[800, 850]))
    assert [s.stream for s in out] == ["hr", "rr"]
    assert [s.timing for s in out] == ["receive", "beats"]
    assert out[0].value is not None and out[0].value.tolist() == [72.0]
    assert out[1].value is not None and out[1].value.tolist() == [781.25, 830.078125]
    no_rr = HeartRateProfile().new_decoder().decode(HRM, hrs.encode(55))
    assert [s.stream for s in no_rr] == ["hr"]
    assert HeartRateProfile().new_decoder().decode("other", b"\x00\x00") == []


def test_polar_decoder_places_dedupes_and_recovers() -> None:
    dec = PolarDecoder()
    dec.started(M.ACC, factor=1.0, rate_hz=200.0)
    period = 5_000_000
    mg = np.arange(30).reshape(10, 3) - 15
    t1 = 10**12
    (first,) = dec.decode(PMD_DATA, acc_frame(t1, mg))
    assert first.stream == "acc" and first.timing == "device" and first.frame_device_ns == t1
    assert first.t_device_ns is not None
    assert first.t_device_ns.tolist() == [t1 - period * (9 - i) for i in range(10)]
    assert first.x is not None and first.y is not None and first.z is not None
    np.testing.assert_allclose(first.x, mg[:, 0] * G / 1000)
    np.testing.assert_allclose(first.z, mg[:, 2] * G / 1000)
    # The next frame is spread back to the previous one (the device ran a little slow).
    t2 = t1 + 10 * 5_100_000
    (second,) = dec.decode(PMD_DATA, acc_frame(t2, mg))
    assert second.t_device_ns is not None
    assert second.t_device_ns.tolist() == [t1 + 5_100_000 * (i + 1) for i in range(10)]
    # A repeat (or an older frame) is dropped.
    assert dec.decode(PMD_DATA, acc_frame(t2, mg)) == []
    assert dec.decode(PMD_DATA, acc_frame(t1, mg)) == []
    assert dec.duplicates == 2
    # After a lost frame, samples are placed at the nominal rate, not stretched over the gap.
    t4 = t2 + 2 * 10 * period
    (fourth,) = dec.decode(PMD_DATA, acc_frame(t4, mg))
    assert fourth.t_device_ns is not None
    assert fourth.t_device_ns.tolist() == [t4 - period * (9 - i) for i in range(10)]
    # After a reconnect likewise, even when the timing would look adjacent.
    dec.link_lost()
    t5 = t4 + 10 * period
    (fifth,) = dec.decode(PMD_DATA, acc_frame(t5, mg))
    assert fifth.t_device_ns is not None and fifth.t_device_ns[0] == t5 - 9 * period
    # A clock restart (H10 back at 2019-01-01) is accepted, not taken for a repeat.
    assert len(dec.decode(PMD_DATA, acc_frame(60 * 10**9, mg))) == 1


def test_polar_decoder_ecg_hr_and_unknown() -> None:
    dec = PolarDecoder()
    dec.started(M.ECG, factor=1.0, rate_hz=130.0)
    frame = pmd.encode_frame(
        M.ECG, np.array([[104], [-20], [7]]), timestamp_ns=10**12, frame_type=0
    )
    (ecg,) = dec.decode(PMD_DATA, frame)
    assert ecg.stream == "ecg" and ecg.value is not None and ecg.value.tolist() == [104, -20, 7]
    assert [s.stream for s in dec.decode(HRM, hrs.encode(60, rr_1024=[1024]))] == ["hr", "rr"]
    ppi = pmd.encode_frame(M.PPI, np.array([[60, 1000, 5, 0, 1, 1]]), timestamp_ns=0, frame_type=0)
    assert dec.decode(PMD_DATA, ppi) == []
    never_started = PolarDecoder()
    with pytest.raises(DecodeError, match="never started"):
        never_started.decode(PMD_DATA, acc_frame(10**12, np.zeros((2, 3), int)))


def imu_packet(seq: int, t0_us: int, n: int = 10, *, channels: int = 6, flags: int = 0) -> bytes:
    raw = (np.arange(n * channels).reshape(n, channels) % 100).astype(np.int16)
    return diy_imu.encode_packet(
        raw,
        seq=seq,
        t0_us=t0_us,
        period_ns=5_000_000,
        acc_scale=0.01,
        gyro_scale=0.001,
        flags=flags,
    )


def stamps(s: Samples) -> list[int]:
    assert s.t_device_ns is not None
    return s.t_device_ns.tolist()


def test_imu_decoder_counts_losses_and_drops_repeats() -> None:
    dec = ImuDecoder()
    acc, gyro = dec.decode(IMU_DATA, imu_packet(65535, 1_000_000))
    assert (acc.stream, gyro.stream) == ("acc", "gyro")
    assert stamps(acc) == [1_000_000_000 + 5_000_000 * i for i in range(10)]
    assert acc.frame_device_ns == 1_045_000_000
    assert acc.x is not None and acc.x[:2].tolist() == pytest.approx([0.0, 0.06])
    assert gyro.x is not None and gyro.x[:2].tolist() == pytest.approx([0.003, 0.009])
    # seq wraps to 0; then two packets (1, 2) are lost.
    assert len(dec.decode(IMU_DATA, imu_packet(0, 1_050_000))) == 2
    (acc3, _) = dec.decode(IMU_DATA, imu_packet(3, 1_200_000))
    assert dec.lost_packets == 2 and not acc3.clock_reset
    # A repeated packet is dropped; one overlapping by 4 samples keeps only the new 6.
    assert dec.decode(IMU_DATA, imu_packet(3, 1_200_000)) == []
    (acc4, _) = dec.decode(IMU_DATA, imu_packet(4, 1_230_000))
    assert stamps(acc4)[0] == 1_250_000_000 and len(acc4) == 6
    assert dec.duplicates == 14
    # After a reboot (flagged) the clock starts again and nothing is dropped.
    dec.link_lost()
    (acc5, _) = dec.decode(IMU_DATA, imu_packet(0, 0, flags=diy_imu.FLAG_CLOCK_RESET))
    assert acc5.clock_reset and len(acc5) == 10
    # An unflagged jump back by more than 5 s is a restart as well.
    dec.decode(IMU_DATA, imu_packet(1, 60_000_000))
    (acc6,) = dec.decode(IMU_DATA, imu_packet(2, 0, channels=3))
    assert acc6.clock_reset
    assert dec.decode(PMD_DATA, b"") == []


async def test_imu_board_start_and_stop_write_its_config() -> None:
    port = FakePort({IMU_DATA, IMU_CONFIG})
    profile = ImuBoardProfile()
    decoder = profile.new_decoder()
    specs = await profile.start(port, decoder)
    assert [(s.stream, s.rate_hz, s.range) for s in specs] == [
        ("acc", 200.0, 8.0),
        ("gyro", 200.0, 2000.0),
    ]
    assert port.ops[0] == ("subscribe", IMU_DATA, "queue")
    written = diy_imu.parse_config(bytes.fromhex(port.ops[1][2]))
    assert written.streaming and written.rate_hz == 200 and written.gyro_enabled
    port.ops.clear()
    port.fail_unsubscribe = True
    await profile.stop(port, decoder)
    assert not diy_imu.parse_config(bytes.fromhex(port.ops[0][2])).streaming
    assert port.ops[1] == ("unsubscribe", IMU_DATA)
    acc_only = ImuBoardProfile(diy_imu.ImuConfig(rate_hz=100, gyro_enabled=False))
    specs = await acc_only.start(FakePort({IMU_DATA, IMU_CONFIG}), acc_only.new_decoder())
    assert [(s.stream, s.rate_hz) for s in specs] == [("acc", 100.0)]


async def test_heart_rate_strap_sequence() -> None:
    port = FakePort({HRM})
    profile = HeartRateProfile()
    decoder = profile.new_decoder()
    assert [s.stream for s in await profile.start(port, decoder)] == ["hr", "rr"]
    port.fail_unsubscribe = True
    await profile.stop(port, decoder)
    assert port.ops == [("subscribe", HRM, "queue"), ("unsubscribe", HRM)]
    decoder.link_lost()


def test_polar_decoder_verity_delta_frames_with_factor() -> None:
    dec = PolarDecoder()
    factor = 2.44e-4  # G per count, from the Verity's START response
    dec.started(M.ACC, factor=factor, rate_hz=52.0)
    dec.started(M.GYRO, factor=0.061, rate_hz=52.0)
    raw = np.array([[100, -200, 4096], [101, -199, 4090], [99, -205, 4100]])
    acc_frame = pmd.encode_frame(M.ACC, raw, timestamp_ns=10**12, frame_type=0x80)
    (acc,) = dec.decode(PMD_DATA, acc_frame)
    assert acc.stream == "acc" and acc.x is not None and acc.z is not None
    np.testing.assert_allclose(acc.x, raw[:, 0] * factor * G)
    np.testing.assert_allclose(acc.z, raw[:, 2] * factor * G)
    gyro_frame = pmd.encode_frame(M.GYRO, raw, timestamp_ns=10**12, frame_type=0x80)
    (gyro,) = dec.decode(PMD_DATA, gyro_frame)
    assert gyro.stream == "gyro" and gyro.y is not None
    np.testing.assert_allclose(gyro.y, raw[:, 1] * 0.061 * np.pi / 180)
    assert stamps(gyro) == [10**12 - round(2e9 / 52), 10**12 - round(1e9 / 52), 10**12]


async def test_a_stream_the_device_stops_is_started_again() -> None:
    port = polar_device({M.ACC})
    decoder = PolarDecoder()
    await PolarProfile().start(port, decoder)
    start = cp_writes(port)[-1]
    assert start.startswith("0202")
    port.ops.clear()
    port.callbacks[PMD_CP](0, pmd.encode_measurement_stopped([M.ACC, M.ECG]))  # ECG never ran
    await asyncio.sleep(0.01)
    assert cp_writes(port) == [start]
    assert not decoder.restarts
    await PolarProfile().stop(port, decoder)
