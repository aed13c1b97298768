"""LiftSense open IMU format: hand-built golden packets (the worked example of
firmware_notes/liftsense_imu.md), length checks, gap detection, config, round trips, fuzzing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from ble_fuzz import mutations, random_payloads
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from liftsense.ble import diy_imu
from liftsense.ble.diy_imu import ImuConfig, ImuPacket
from liftsense.errors import DecodeError

# Header field by field (little-endian), then samples; see firmware_notes/liftsense_imu.md.
GOLDEN_6CH = bytes.fromhex(
    "01"  # version 1
    "00"  # flags
    "3412"  # seq 0x1234
    "40420f0000000000"  # t0_us 1_000_000
    "404b4c00"  # period_ns 5_000_000 (200 Hz)
    "02"  # 2 samples
    "06"  # 6 channels
    "0000003b"  # acc_scale float32 2**-9 m/s² per count
    "0000803a"  # gyro_scale float32 2**-10 rad/s per count
    "640038ff0010"  # sample 0 acc: 100, -200, 4096
    "0100ffffff7f"  # sample 0 gyro: 1, -1, 32767
    "008000000410"  # sample 1 acc: -32768, 0, 4100
    "0200feff0000"  # sample 1 gyro: 2, -2, 0
)
GOLDEN_3CH = bytes.fromhex("0102ffff000000000000000040420f0001030000803f000000000100feff0300")


def assert_packets_equal(got: ImuPacket, want: ImuPacket) -> None:
    assert (got.seq, got.flags, got.t0_us, got.period_ns, got.channels) == (
        want.seq,
        want.flags,
        want.t0_us,
        want.period_ns,
        want.channels,
    )
    assert (got.acc_scale, got.gyro_scale) == (want.acc_scale, want.gyro_scale)
    np.testing.assert_array_equal(got.raw, want.raw)
    assert got.raw.dtype == np.int16
    np.testing.assert_array_equal(got.values, want.values)
    np.testing.assert_array_equal(got.sample_timestamps_ns, want.sample_timestamps_ns)


def test_golden_six_channel_packet() -> None:
    raw = np.array([[100, -200, 4096, 1, -1, 32767], [-32768, 0, 4100, 2, -2, 0]], np.int16)
    want = ImuPacket(
        seq=0x1234,
        flags=0,
        t0_us=1_000_000,
        period_ns=5_000_000,
        channels=("ax", "ay", "az", "gx", "gy", "gz"),
        raw=raw,
        values=np.hstack([raw[:, :3] / 512.0, raw[:, 3:] / 1024.0]),
        sample_timestamps_ns=np.array([1_000_000_000, 1_005_000_000], dtype=np.int64),
        acc_scale=2.0**-9,
        gyro_scale=2.0**-10,
    )
    data = GOLDEN_6CH
    assert len(data) == diy_imu.HEADER_SIZE + 24
    assert_packets_equal(diy_imu.parse_packet(data), want)
    encoded = diy_imu.encode_packet(
        raw,
        seq=0x1234,
        t0_us=1_000_000,
        period_ns=5_000_000,
        acc_scale=2.0**-9,
        gyro_scale=2.0**-10,
    )
    assert encoded == data
    assert diy_imu.parse_packet(data).next_t0_us == 1_010_000


def test_golden_three_channel_packet_with_clock_reset_flag() -> None:
    packet = diy_imu.parse_packet(GOLDEN_3CH)
    want = ImuPacket(
        seq=0xFFFF,
        flags=diy_imu.FLAG_CLOCK_RESET,
        t0_us=0,
        period_ns=1_000_000,
        channels=("ax", "ay", "az"),
        raw=np.array([[1, -2, 3]], np.int16),
        values=np.array([[1.0, -2.0, 3.0]]),
        sample_timestamps_ns=np.array([0], dtype=np.int64),
        acc_scale=1.0,
        gyro_scale=0.0,
    )
    assert_packets_equal(packet, want)


@pytest.mark.parametrize("cut", [0, 10, 25, 26, 27, 30, 49])
def test_truncated_packets_raise_with_the_reason(cut: int) -> None:
    data = GOLDEN_6CH[:cut]
    with pytest.raises(DecodeError) as info:
        diy_imu.parse_packet(data)
    assert info.value.data == data
    assert "header" in info.value.reason or "truncated" in info.value.reason


def test_mtu_23_cut_and_extended_packets_raise() -> None:
    with pytest.raises(DecodeError, match="header"):
        diy_imu.parse_packet(GOLDEN_6CH[:20])
    with pytest.raises(DecodeError, match="announces 2 samples"):
        diy_imu.parse_packet(GOLDEN_6CH + b"\x00\x00")


@pytest.mark.parametrize(
    ("patch", "reason"),
    [((0, 2), "version 2"), ((17, 4), "4 channels"), ((12, 0), "zero sample period")],
)
def test_bad_header_fields(patch: tuple[int, int], reason: str) -> None:
    data = bytearray(GOLDEN_6CH)
    index, value = patch
    if index == 12:
        data[12:16] = b"\x00\x00\x00\x00"
    else:
        data[index] = value
    with pytest.raises(DecodeError, match=reason):
        diy_imu.parse_packet(bytes(data))


@pytest.mark.parametrize(
    ("previous", "current", "lost"),
    [
        (0, 1, 0),
        (5, 9, 3),
        (65535, 0, 0),
        (65534, 2, 3),
        (7, 7, -1),
        (10, 9, -1),
        (0, 32768, 32767),
    ],
)
def test_lost_packets_is_wrap_aware(previous: int, current: int, lost: int) -> None:
    assert diy_imu.lost_packets(previous, current) == lost


def test_config_golden_bytes_and_round_trip() -> None:
    config = ImuConfig(
        rate_hz=208,
        acc_range_g=8,
        gyro_range_dps=2000,
        gyro_enabled=True,
        streaming=True,
        samples_per_packet=0,
    )
    data = diy_imu.encode_config(config)
    assert data.hex() == "0103d00008d00700"
    assert diy_imu.parse_config(data) == config
    for bad in (data[:-1], b"\x02" + data[1:], bytes.fromhex("0103000008d00700")):
        with pytest.raises(DecodeError):
            diy_imu.parse_config(bad)
    with pytest.raises(ValueError):
        diy_imu.encode_config(ImuConfig(rate_hz=70000))


def test_info_json() -> None:
    info = {"imu": "LSM6DSO", "firmware": "1.0.0", "rates_hz": [104, 208], "acc_ranges_g": [8, 16]}
    assert diy_imu.parse_info(diy_imu.encode_info(info)) == info
    for bad in (b"\xff", b"[1, 2]", b"{"):
        with pytest.raises(DecodeError):
            diy_imu.parse_info(bad)


def test_max_samples_for_mtu() -> None:
    assert diy_imu.max_samples(247, 6) == 18
    assert diy_imu.max_samples(247, 3) == 36
    assert diy_imu.max_samples(23, 3) == 0


@settings(max_examples=200, deadline=None)
@given(
    raw=st.sampled_from([3, 6]).flatmap(
        lambda c: hnp.arrays(np.int16, st.tuples(st.integers(0, 40), st.just(c)))
    ),
    seq=st.integers(0, 1 << 20),
    t0_us=st.integers(0, (1 << 53)),
    period_ns=st.integers(1, (1 << 32) - 1),
    acc_scale=st.floats(2.0**-20, 1.0, width=32),
    gyro_scale=st.floats(2.0**-20, 1.0, width=32),
    flags=st.integers(0, 255),
)
def test_encode_parse_round_trip(
    raw: npt.NDArray[np.int16],
    seq: int,
    t0_us: int,
    period_ns: int,
    acc_scale: float,
    gyro_scale: float,
    flags: int,
) -> None:
    data = diy_imu.encode_packet(
        raw,
        seq=seq,
        t0_us=t0_us,
        period_ns=period_ns,
        acc_scale=acc_scale,
        gyro_scale=gyro_scale,
        flags=flags,
    )
    packet = diy_imu.parse_packet(data)
    np.testing.assert_array_equal(packet.raw, raw)
    assert (packet.seq, packet.t0_us, packet.period_ns, packet.flags) == (
        seq & 0xFFFF,
        t0_us,
        period_ns,
        flags,
    )
    assert (packet.acc_scale, packet.gyro_scale) == (acc_scale, gyro_scale)
    np.testing.assert_array_equal(
        packet.sample_timestamps_ns, t0_us * 1000 + np.arange(raw.shape[0]) * period_ns
    )


def fuzz_payloads(seeds: list[bytes], n: int, max_len: int, seed: int) -> list[bytes]:
    """n payloads: half random (a third of those behind a valid version/channels), half
    mutations (bit flips, truncation, extension) of the seeds."""
    rng = np.random.default_rng(seed)
    out: list[bytes] = []
    for i, data in enumerate(random_payloads(rng, n // 2, max_len)):
        if i % 3 == 0 and len(data) >= 18:
            data[0], data[17] = 1, 3 if i % 2 else 6
        out.append(bytes(data))
    return out + mutations(rng, seeds, n - n // 2)


def test_100k_random_and_mutated_packets_raise_only_decode_error() -> None:
    seeds = [GOLDEN_6CH, GOLDEN_3CH]
    decoded = 0
    for data in fuzz_payloads(seeds, 100_000, 80, seed=2):
        try:
            diy_imu.parse_packet(data)
            decoded += 1
        except DecodeError as exc:
            assert exc.data == data
    assert decoded > 5_000


@pytest.mark.parametrize(
    "decoder", [diy_imu.parse_config, diy_imu.parse_info], ids=lambda f: f.__name__
)
def test_100k_random_and_mutated_config_and_info_raise_only_decode_error(decoder: object) -> None:
    seeds = [diy_imu.encode_config(ImuConfig()), diy_imu.encode_info({"imu": "x", "rates": [1]})]
    assert callable(decoder)
    for data in fuzz_payloads(seeds, 100_000, 12, seed=4):
        try:
            decoder(data)
        except DecodeError as exc:
            assert exc.data == data
