"""Polar PMD: shared vectors (frames, delta payloads, timestamps, control point), round trips,
batch decoding and fuzzing."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from ble_fuzz import mutations, random_payloads
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from liftsense.ble import pmd
from liftsense.ble.pmd import (
    CpRequest,
    CpResponse,
    MeasurementStopped,
    MeasurementType,
    OpCode,
    PmdFrame,
    SettingType,
    Status,
)
from liftsense.ble.pmd_delta import decode_delta, encode_delta
from liftsense.errors import DecodeError
from liftsense.units import G_MPS2 as G

DATA = json.loads((Path(__file__).parent.parent / "data" / "ble" / "pmd.json").read_text())
FRAMES: list[dict[str, Any]] = DATA["frames"]
DEG = math.pi / 180

# Per vector: (measurement, channel names, unit, scale from the vector's `samples` units to
# LiftSense units per channel). Unit facts: ACC mG -> m/s²; GYRO dps -> rad/s; MAG Gauss -> µT.
ACC_XYZ = ("x", "y", "z")
EXPECT: dict[str, tuple[MeasurementType, tuple[str, ...], str, tuple[float, ...]]] = {
    "acc_raw_type1_sdk_test": (MeasurementType.ACC, ACC_XYZ, "m/s^2", (G / 1000,) * 3),
    "acc_delta_type1_sdk_test_ios": (MeasurementType.ACC, ACC_XYZ, "m/s^2", (G / 1000,) * 3),
    "acc_delta_type1_sdk_test_android": (MeasurementType.ACC, ACC_XYZ, "m/s^2", (G / 1000,) * 3),
    "acc_raw_type1_h10_spec_figure": (MeasurementType.ACC, ACC_XYZ, "m/s^2", (G / 1000,) * 3),
    "ecg_type0_sdk_test": (MeasurementType.ECG, ("ecg",), "uV", (1.0,)),
    "ecg_type0_h10_spec2019_figure": (MeasurementType.ECG, ("ecg",), "uV", (1.0,)),
    "ecg_type1_sdk_test": (
        MeasurementType.ECG,
        ("ecg", "over_sampling", "skin_contact", "contact_impedance"),
        "uV",
        (1.0,) * 4,
    ),
    "ecg_type2_sdk_test": (
        MeasurementType.ECG,
        ("ecg", "ecg_data_tag", "pace_data_tag"),
        "uV",
        (1.0,) * 3,
    ),
    "ecg_type3_sdk_test": (MeasurementType.ECG, ("data0", "data1", "status"), "raw", (1.0,) * 3),
    "ecg_type3_header_sdk_test": (
        MeasurementType.ECG,
        ("data0", "data1", "status"),
        "raw",
        (1.0,) * 3,
    ),
    "gyro_delta_type0_sdk_test": (MeasurementType.GYRO, ACC_XYZ, "rad/s", (DEG,) * 3),
    "gyro_delta_type1_float_sdk_test": (MeasurementType.GYRO, ACC_XYZ, "rad/s", (DEG,) * 3),
    "mag_delta_type0_sdk_test": (MeasurementType.MAG, ACC_XYZ, "uT", (100.0,) * 3),
    "mag_delta_type1_sdk_test": (
        MeasurementType.MAG,
        (*ACC_XYZ, "calibration"),
        "uT",
        (100.0, 100.0, 100.0, 1.0),
    ),
    "ppi_type0_sdk_test": (
        MeasurementType.PPI,
        ("hr", "pp_ms", "pp_error_ms", "blocker", "skin_contact", "skin_contact_supported"),
        "bpm, ms, ms, flags",
        (1.0,) * 6,
    ),
    "ppi_type0_oh1_spec2019_figure": (
        MeasurementType.PPI,
        ("hr", "pp_ms", "pp_error_ms", "blocker", "skin_contact", "skin_contact_supported"),
        "bpm, ms, ms, flags",
        (1.0,) * 6,
    ),
    "ppg_type0_oh1_spec2019_figure": (
        MeasurementType.PPG,
        ("ppg0", "ppg1", "ppg2", "ambient"),
        "raw",
        (1.0,) * 4,
    ),
}


def rows(samples: list[Any]) -> npt.NDArray[np.float64]:
    """Vector samples (lists, scalars or dicts in channel order) as a 2-D array."""
    if isinstance(samples[0], dict):
        return np.array([[float(v) for v in s.values()] for s in samples])
    arr = np.array(samples, dtype=np.float64)
    return arr[:, None] if arr.ndim == 1 else arr


def assert_frames_equal(got: PmdFrame, want: PmdFrame) -> None:
    """Compare every field of two frames (arrays exactly, values to float rounding)."""
    assert (got.measurement, got.frame_type, got.timestamp_ns, got.channels, got.unit) == (
        want.measurement,
        want.frame_type,
        want.timestamp_ns,
        want.channels,
        want.unit,
    )
    assert (got.factor, got.truncated) == (want.factor, want.truncated)
    np.testing.assert_array_equal(got.raw, want.raw)
    assert got.raw.dtype == np.int64
    np.testing.assert_allclose(got.values, want.values, rtol=1e-12, atol=1e-12)
    if want.sample_timestamps_ns is None:
        assert got.sample_timestamps_ns is None
    else:
        assert got.sample_timestamps_ns is not None
        np.testing.assert_array_equal(got.sample_timestamps_ns, want.sample_timestamps_ns)


def vector_kwargs(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "factor": v.get("factor"),
        "previous_timestamp_ns": v.get("previous_timestamp_ns"),
        "rate_hz": v.get("sample_rate_hz"),
        "strict": not v.get("truncated", False),
    }


@pytest.mark.parametrize("v", [f for f in FRAMES if f["id"] in EXPECT], ids=lambda f: f["id"])
def test_frame_vectors_decode_to_the_whole_expected_frame(v: dict[str, Any]) -> None:
    measurement, channels, unit, scale = EXPECT[v["id"]]
    samples = rows(v["samples"])
    raw = rows(v.get("samples_uint32_bits") or v.get("samples_raw") or v["samples"])
    if v["id"] == "mag_delta_type1_sdk_test":
        raw = rows(v["samples_raw"])
    factor = v.get("factor") or 1.0
    values = samples * np.array(scale) * np.where(np.array(scale) == 1.0, 1.0, factor)
    if v["id"] in ("mag_delta_type1_sdk_test",):
        values = samples * np.array(scale)  # vector samples are already factor-applied Gauss
    stamps = v.get("sample_timestamps_ns")
    want = PmdFrame(
        measurement=measurement,
        frame_type=v["frame_type"],
        timestamp_ns=v["timestamp_ns"],
        channels=channels,
        raw=raw.astype(np.int64),
        values=values,
        unit=unit,
        factor=float(factor),
        sample_timestamps_ns=None if stamps is None else np.array(stamps, dtype=np.int64),
    )
    got = pmd.parse_frame(bytes.fromhex(v["hex"]), **vector_kwargs(v))
    if v["id"] == "mag_delta_type1_sdk_test":
        np.testing.assert_allclose(got.values[:, :3], values[:, :3], rtol=1e-6)
        got = PmdFrame(**{**{f: getattr(got, f) for f in PmdFrame.__slots__}, "values": values})
    assert_frames_equal(got, want)


def test_acc_delta_with_factor_matches_the_sdk_milli_g_and_si_exactly() -> None:
    v = next(f for f in FRAMES if f["id"] == "acc_delta_type0_sdk_test")
    frame = pmd.parse_frame(bytes.fromhex(v["hex"]), **vector_kwargs(v))
    raw = np.array(v["samples_raw"], dtype=np.int64)
    want = PmdFrame(
        measurement=MeasurementType.ACC,
        frame_type=0x80,
        timestamp_ns=2_000_000_000,
        channels=ACC_XYZ,
        raw=raw,
        values=raw * v["factor"] * G,
        unit="m/s^2",
        factor=v["factor"],
        sample_timestamps_ns=np.array(v["sample_timestamps_ns"], dtype=np.int64),
    )
    assert_frames_equal(frame, want)
    # The SDK's mG: int(raw * float32(factor * 1000)), truncated toward zero.
    sdk_mg = np.trunc(frame.raw * float(np.float32(v["factor"] * 1000)))
    np.testing.assert_array_equal(sdk_mg, np.array(v["samples"]))


def test_truncated_delta_figure_decodes_its_complete_samples_only_when_lenient() -> None:
    v = next(f for f in FRAMES if f["id"] == "acc_delta_type0_verity_spec_figure")
    data = bytes.fromhex(v["hex"])
    with pytest.raises(DecodeError, match="truncated"):
        pmd.parse_frame(data)
    frame = pmd.parse_frame(data, factor=2.44e-4, strict=False)
    raw = np.array(v["samples_raw"], dtype=np.int64)
    want = PmdFrame(
        measurement=MeasurementType.ACC,
        frame_type=0x80,
        timestamp_ns=v["timestamp_ns"],
        channels=ACC_XYZ,
        raw=raw,
        values=raw * 2.44e-4 * G,
        unit="m/s^2",
        factor=2.44e-4,
        sample_timestamps_ns=None,
        truncated=True,
    )
    assert_frames_equal(frame, want)


LONG_FRAMES = [f for f in FRAMES if len(f["hex"]) > 40 and not f.get("truncated")]


@pytest.mark.parametrize("v", LONG_FRAMES, ids=lambda f: f["id"])
def test_notification_cut_to_mtu_23_is_rejected_in_strict_mode(v: dict[str, Any]) -> None:
    data = bytes.fromhex(v["hex"])
    cut = data[:20]  # what a GATT server sends at the default ATT MTU of 23
    full = pmd.parse_frame(data)
    sample_bytes = (len(data) - 10) // full.n_samples
    if not full.compressed and (len(cut) - 10) % sample_bytes == 0:
        # A raw frame cut on a sample boundary cannot be told apart from a short frame.
        assert pmd.parse_frame(cut).n_samples == (len(cut) - 10) // sample_bytes
        return
    with pytest.raises(DecodeError) as info:
        pmd.parse_frame(cut)
    assert info.value.data == cut


def test_raw_frame_ending_inside_a_sample() -> None:
    data = bytes.fromhex(FRAMES[0]["hex"])[:-2]
    with pytest.raises(DecodeError, match="whole number"):
        pmd.parse_frame(data)
    frame = pmd.parse_frame(data, strict=False)
    assert frame.n_samples == 35 and frame.truncated


@pytest.mark.parametrize("d", DATA["delta_payloads"], ids=lambda d: d["id"])
def test_delta_payload_vectors(d: dict[str, Any]) -> None:
    is_float = d["resolution_bits"] == 32
    want = (
        d.get("samples_uint32")
        or d.get("samples")
        or [d.get("reference_sample") or d.get("reference_sample_uint32")]
    )
    data = bytes.fromhex(d["content_hex"])
    got, complete = decode_delta(data, d["channels"], d["resolution_bits"], is_float=is_float)
    np.testing.assert_array_equal(got, np.array(want, dtype=np.int64))
    assert complete
    again = encode_delta(got, d["resolution_bits"], is_float=is_float)
    np.testing.assert_array_equal(
        decode_delta(again, d["channels"], d["resolution_bits"], is_float=is_float)[0], got
    )


@pytest.mark.parametrize("case", DATA["timestamp_reconstruction"], ids=str)
def test_timestamp_reconstruction_cases(case: dict[str, Any]) -> None:
    args = (case["frame_ns"], case["n"])
    kwargs = {"previous_timestamp_ns": case["previous_ns"], "rate_hz": case["fs_hz"] or None}
    if isinstance(case["expected"], str):
        with pytest.raises(DecodeError):
            pmd.sample_timestamps_ns(*args, **kwargs)
    else:
        got = pmd.sample_timestamps_ns(*args, **kwargs)
        np.testing.assert_array_equal(got, np.array(case["expected"], dtype=np.int64))


def test_timestamps_round_half_to_even_and_fall_back_when_previous_is_not_before() -> None:
    np.testing.assert_array_equal(
        pmd.sample_timestamps_ns(101, 2, previous_timestamp_ns=100), [100, 101]
    )
    np.testing.assert_array_equal(
        pmd.sample_timestamps_ns(103, 2, previous_timestamp_ns=100),
        [102, 103],  # 101.5 -> 102
    )
    # A previous stamp at or after this frame (clock correction) falls back to the rate.
    np.testing.assert_array_equal(
        pmd.sample_timestamps_ns(3_000_000_000, 3, previous_timestamp_ns=3_000_000_000, rate_hz=2),
        [2_000_000_000, 2_500_000_000, 3_000_000_000],
    )


def test_large_sensor_times_are_exact() -> None:
    p = 599_618_164_814_402_794  # an H10 clock near 2019-01-01: beyond double precision
    got = pmd.sample_timestamps_ns(p + 3 * 5_000_001, 3, previous_timestamp_ns=p)
    np.testing.assert_array_equal(got, p + np.array([5_000_001, 10_000_002, 15_000_003]))


# --- control point ---------------------------------------------------------------------------

CP = {c["id"]: c for c in DATA["control_point"]}


def test_feature_reads_and_their_encoding() -> None:
    verity = bytes.fromhex(CP["feature_read_verity"]["response_hex"])
    h10 = bytes.fromhex(CP["feature_read_h10"]["response_hex"])
    m = MeasurementType
    assert pmd.parse_features(verity) == {m.PPG, m.ACC, m.PPI, m.GYRO, m.MAG}
    assert pmd.parse_features(h10) == {m.ECG, m.ACC}
    assert pmd.encode_features([m.PPG, m.ACC, m.PPI, m.GYRO, m.MAG]) == verity
    assert pmd.encode_features([m.ECG, m.ACC]) == h10


def test_get_settings_exchange_h10_acc() -> None:
    c = CP["get_settings_acc_h10"]
    assert pmd.get_settings_request(MeasurementType.ACC).hex() == c["request_hex"]
    settings_ = {
        SettingType.SAMPLE_RATE: (25, 50, 100, 200),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (2, 4, 8),
    }
    response = bytes.fromhex(c["response_hex"])
    assert pmd.parse_response(response) == CpResponse(
        op=OpCode.GET_MEASUREMENT_SETTINGS,
        measurement=MeasurementType.ACC,
        offline=False,
        status=Status.SUCCESS,
        more=False,
        parameters=response[5:],
        settings=settings_,
    )
    device_answer = pmd.encode_response(
        OpCode.GET_MEASUREMENT_SETTINGS, MeasurementType.ACC, settings=settings_
    )
    assert device_answer == response


def test_start_acc_verity_with_factor_both_sides() -> None:
    c = CP["start_acc_verity"]
    request = pmd.start_request(
        MeasurementType.ACC,
        {
            SettingType.SAMPLE_RATE: 52,
            SettingType.RESOLUTION: 16,
            SettingType.RANGE: 8,
            SettingType.CHANNELS: 3,
        },
    )
    assert request.hex() == c["request_hex"]
    assert pmd.parse_request(request) == CpRequest(
        op=OpCode.REQUEST_MEASUREMENT_START,
        measurement=MeasurementType.ACC,
        offline=False,
        parameters=request[2:],
        settings={
            SettingType.SAMPLE_RATE: (52,),
            SettingType.RESOLUTION: (16,),
            SettingType.RANGE: (8,),
            SettingType.CHANNELS: (3,),
        },
    )
    response = pmd.parse_response(bytes.fromhex(c["response_hex"]))
    assert response.ok and response.factor == float(np.float32(2.44e-4))
    answer = pmd.encode_response(
        OpCode.REQUEST_MEASUREMENT_START,
        MeasurementType.ACC,
        settings={SettingType.FACTOR: 2.44e-4},
    )
    assert answer.hex() == c["response_hex"]
    no_factor = pmd.parse_response(
        bytes.fromhex(CP["start_acc_verity_no_factor_observed"]["response_hex"])
    )
    assert no_factor.factor == 1.0


@pytest.mark.parametrize(
    "cid",
    [
        "start_acc_h10",
        "start_ecg_h10_polarband2lsl",
        "start_acc_h10_blehrm",
        "start_acc_bleakheart_default",
        "start_ppi_oh1",
        "start_sdk_mode",
    ],
)
def test_start_requests_re_encode_from_their_parsed_settings(cid: str) -> None:
    data = bytes.fromhex(CP[cid]["request_hex"])
    req = pmd.parse_request(data)
    single = {k: v[0] for k, v in req.settings.items()}
    assert pmd.start_request(req.measurement, single) == data


def test_stop_and_sdk_mode_and_offline_requests() -> None:
    assert pmd.stop_request(MeasurementType.ACC).hex() == CP["stop_acc"]["request_hex"]
    assert pmd.stop_request(MeasurementType.SDK_MODE).hex() == CP["stop_sdk_mode"]["request_hex"]
    assert pmd.get_settings_request(MeasurementType.ACC, sdk_mode=True).hex() == "0402"
    assert pmd.get_settings_request(MeasurementType.ACC, offline=True).hex() == "0182"
    stop = pmd.encode_response(OpCode.STOP_MEASUREMENT, MeasurementType.ECG)
    assert stop.hex() == CP["stop_ecg"]["response_hex_expected"]


def test_response_with_reserved_byte_and_unknown_parameters() -> None:
    h10 = pmd.parse_response(bytes.fromhex(CP["start_acc_h10"]["response_hex"]))
    assert (h10.ok, h10.parameters, h10.settings, h10.factor) == (True, b"\x01", {}, 1.0)
    odd = pmd.parse_response(bytes.fromhex(CP["cp_response_success_params"]["response_hex"]))
    assert (odd.op, odd.measurement, odd.parameters, odd.settings) == (
        OpCode.GET_MEASUREMENT_SETTINGS,
        MeasurementType.ACC,
        b"\xff\xff\xff",
        {},
    )


def test_error_response_reads_as_words() -> None:
    r = pmd.parse_response(bytes.fromhex(CP["cp_response_error"]["response_hex"]))
    assert (r.ok, r.status, r.measurement) == (
        False,
        Status.INVALID_RESOLUTION,
        MeasurementType.MAG,
    )
    assert r.error.startswith("INVALID_RESOLUTION (7)")
    mtu = pmd.parse_response(pmd.encode_response(2, 2, Status.INVALID_MTU))
    assert "232" in mtu.error


def test_settings_blobs() -> None:
    four = bytes.fromhex(CP["settings_blob_with_4_ranges"]["parameters_hex"])
    assert pmd.parse_settings(four) == {
        SettingType.SAMPLE_RATE: (52,),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (245, 500, 1000, 2000),
        SettingType.CHANNELS: (3,),
    }
    milli = bytes.fromhex(CP["settings_blob_range_milliunit"]["parameters_hex"])
    parsed = pmd.parse_settings(milli)
    assert parsed == {SettingType.RANGE_MILLIUNIT: (-1, 255), SettingType.RESOLUTION: (14,)}
    assert pmd.encode_settings(parsed) == milli
    with pytest.raises(DecodeError):
        pmd.parse_settings(b"\x00\x02\x34")


def test_multi_part_responses_merge() -> None:
    # One GET_MEASUREMENT_SETTINGS answer split over two indications, "more" set on the first.
    part1 = pmd.parse_response(bytes.fromhex("f00102000100041900320" + "0"))
    part2 = pmd.parse_response(bytes.fromhex("f0010200006400c800"))
    merged = pmd.merge_responses([part1, part2])
    assert part1.more and not merged.more
    assert merged.settings == {SettingType.SAMPLE_RATE: (25, 50, 100, 200)}


def test_device_initiated_stop_indication() -> None:
    data = bytes.fromhex(CP["device_initiated_stop"]["indication_hex"])
    assert pmd.parse_cp_indication(data) == MeasurementStopped(
        (MeasurementType.PPG, MeasurementType.ACC)
    )
    assert pmd.encode_measurement_stopped([MeasurementType.PPG, MeasurementType.ACC]) == data
    assert isinstance(pmd.parse_cp_indication(bytes.fromhex("f003020000")), CpResponse)


# --- round trips and batch -------------------------------------------------------------------

LAYOUTS = [
    (MeasurementType.ACC, 0x01, 3, 16),
    (MeasurementType.ACC, 0x02, 3, 24),
    (MeasurementType.ACC, 0x80, 3, 16),
    (MeasurementType.ACC, 0x81, 3, 16),
    (MeasurementType.GYRO, 0x80, 3, 16),
    (MeasurementType.MAG, 0x81, 4, 16),
    (MeasurementType.PPG, 0x80, 4, 22),
    (MeasurementType.PPG, 0x00, 4, 24),
    (MeasurementType.ECG, 0x00, 1, 24),
]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), layout=st.sampled_from(LAYOUTS), n=st.integers(1, 80))
def test_encode_parse_round_trip(
    data: st.DataObject, layout: tuple[int, int, int, int], n: int
) -> None:
    measurement, frame_type, channels, bits = layout
    lim = 1 << (bits - 1)
    raw = data.draw(hnp.arrays(np.int64, (n, channels), elements=st.integers(-lim, lim - 1)))
    stamp = data.draw(st.integers(0, (1 << 63) - 1))
    block = data.draw(st.integers(1, 255))
    encoded = pmd.encode_frame(
        measurement, raw, timestamp_ns=stamp, frame_type=frame_type, block_samples=block
    )
    frame = pmd.parse_frame(encoded)
    np.testing.assert_array_equal(frame.raw, raw)
    assert (frame.measurement, frame.frame_type, frame.timestamp_ns) == (
        measurement,
        frame_type,
        stamp,
    )


@settings(max_examples=100, deadline=None)
@given(floats=hnp.arrays(np.float32, st.tuples(st.integers(1, 30), st.just(3))))
def test_float_gyro_round_trip_is_bit_exact(floats: npt.NDArray[np.float32]) -> None:
    bits = floats.view(np.uint32).astype(np.int64)
    encoded = pmd.encode_frame(MeasurementType.GYRO, bits, timestamp_ns=1, frame_type=0x81)
    frame = pmd.parse_frame(encoded)
    np.testing.assert_array_equal(frame.raw, bits)


def test_special_records_round_trip() -> None:
    ppi = np.array([[128, 32896, 32896, 1, 1, 1], [0, 1, 1, 0, 0, 0]])
    data = pmd.encode_frame(MeasurementType.PPI, ppi, timestamp_ns=0, frame_type=0)
    assert data[10:].hex() == "808080808007000100010000"
    np.testing.assert_array_equal(pmd.parse_frame(data).raw, ppi)
    for ft, raw in [(1, [[2, 1, 3, 3], [640, 0, 0, 0]]), (2, [[32896, 7, 7]]), (3, [[-5, 7, 255]])]:
        enc = pmd.encode_frame(MeasurementType.ECG, raw, timestamp_ns=5, frame_type=ft)
        np.testing.assert_array_equal(pmd.parse_frame(enc).raw, raw)


def test_parse_frames_batch_equals_frame_by_frame() -> None:
    rng = np.random.default_rng(7)
    frames, singles, prev, t = [], [], None, 10**15
    for _ in range(60):
        n = int(rng.integers(1, 70))
        raw = np.cumsum(rng.integers(-400, 400, (n, 3)), axis=0)
        t += n * 5_000_000
        data = pmd.encode_frame(
            MeasurementType.ACC,
            raw,
            timestamp_ns=t,
            frame_type=0x80,
            block_samples=int(rng.integers(1, 40)),
        )
        frames.append(data)
        singles.append(
            pmd.parse_frame(data, factor=2.44e-4, previous_timestamp_ns=prev, rate_hz=200)
        )
        prev = t
    batch = pmd.parse_frames(frames, factor=2.44e-4, rate_hz=200)
    np.testing.assert_array_equal(batch.raw, np.concatenate([s.raw for s in singles]))
    np.testing.assert_array_equal(batch.values, np.concatenate([s.values for s in singles]))
    stamps = [s.sample_timestamps_ns for s in singles]
    assert batch.sample_timestamps_ns is not None and all(s is not None for s in stamps)
    np.testing.assert_array_equal(batch.sample_timestamps_ns, np.concatenate(stamps))  # type: ignore[arg-type]
    np.testing.assert_array_equal(
        batch.frame_starts, np.cumsum([0] + [s.n_samples for s in singles[:-1]])
    )
    raw_frames = [bytes.fromhex(FRAMES[0]["hex"])] * 3
    plain = pmd.parse_frames(raw_frames)
    assert plain.raw.shape == (108, 3) and plain.sample_timestamps_ns is None


def test_parse_frames_rejects_mixed_streams_and_bad_frames() -> None:
    acc = pmd.encode_frame(
        MeasurementType.ACC, [[1, 2, 3], [4, 5, 6]], timestamp_ns=9, frame_type=0x80
    )
    gyro = pmd.encode_frame(MeasurementType.GYRO, [[1, 2, 3]], timestamp_ns=9, frame_type=0x80)
    with pytest.raises(DecodeError):
        pmd.parse_frames([acc, gyro])
    with pytest.raises(DecodeError):
        pmd.parse_frames([acc, acc[:-1]])
    with pytest.raises(DecodeError):
        pmd.parse_frames([])


# --- fuzzing ---------------------------------------------------------------------------------


def fuzz_payloads(seeds: list[bytes], n: int, max_len: int, seed: int) -> list[bytes]:
    """n payloads: a third random, a third random behind a plausible PMD header, a third
    mutations (bit flips, truncation, extension) of the seeds."""
    rng = np.random.default_rng(seed)
    third = n // 3
    heads = rng.choice(np.array([0, 1, 2, 3, 5, 6], dtype=np.uint8), third)
    frame_types = rng.choice(np.array([0, 1, 2, 3, 0x80, 0x81], dtype=np.uint8), third)
    out: list[bytes] = []
    for i, data in enumerate(random_payloads(rng, 2 * third, max_len)):
        if i >= third and len(data) >= 10:
            data[0], data[9] = int(heads[i - third]), int(frame_types[i - third])
        out.append(bytes(data))
    return out + mutations(rng, seeds, n - 2 * third)


def test_100k_random_and_mutated_frames_raise_only_decode_error() -> None:
    seeds = [bytes.fromhex(f["hex"]) for f in FRAMES]
    decoded = 0
    for i, data in enumerate(fuzz_payloads(seeds, 100_000, 60, seed=11)):
        try:
            pmd.parse_frame(data, rate_hz=52.0 if i % 2 else None, strict=bool(i % 3))
            decoded += 1
        except DecodeError as exc:
            assert exc.data == data
    assert decoded > 5_000


@pytest.mark.parametrize(
    "decoder",
    [
        pmd.parse_response,
        pmd.parse_request,
        pmd.parse_features,
        pmd.parse_settings,
        pmd.parse_cp_indication,
    ],
    ids=lambda f: f.__name__,
)
def test_100k_random_and_mutated_control_point_values_raise_only_decode_error(decoder: Any) -> None:
    seeds = [
        bytes.fromhex(c[k])
        for c in DATA["control_point"]
        for k in ("request_hex", "response_hex", "parameters_hex", "indication_hex")
        if k in c
    ]
    for data in fuzz_payloads(seeds, 100_000, 24, seed=5):
        try:
            decoder(data)
        except DecodeError as exc:
            assert exc.data == data


@settings(max_examples=60, deadline=None)
@given(
    layout=st.sampled_from(
        [
            (MeasurementType.GYRO, 0x81, 3, 32),
            (MeasurementType.PPG, 0x80, 4, 22),
            (MeasurementType.MAG, 0x81, 4, 16),
            (MeasurementType.ACC, 0x81, 3, 16),
        ]
    ),
    data=st.data(),
)
def test_parse_frames_matches_parse_frame_for_every_delta_layout(
    layout: tuple[int, int, int, int], data: st.DataObject
) -> None:
    measurement, frame_type, channels, bits = layout
    lo, hi = (0, (1 << 32) - 1) if bits == 32 else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    sizes = data.draw(st.lists(st.integers(1, 40), min_size=1, max_size=6))
    frames, singles, prev, stamp = [], [], None, 10**12
    for n in sizes:
        raw = data.draw(hnp.arrays(np.int64, (n, channels), elements=st.integers(lo, hi)))
        stamp += n * 1_000_003
        encoded = pmd.encode_frame(
            measurement,
            raw,
            timestamp_ns=stamp,
            frame_type=frame_type,
            block_samples=data.draw(st.integers(1, 255)),
        )
        frames.append(encoded)
        singles.append(pmd.parse_frame(encoded, previous_timestamp_ns=prev, rate_hz=100))
        prev = stamp
    batch = pmd.parse_frames(frames, rate_hz=100)
    np.testing.assert_array_equal(batch.raw, np.concatenate([s.raw for s in singles]))
    np.testing.assert_array_equal(batch.values, np.concatenate([s.values for s in singles]))
    np.testing.assert_array_equal(
        batch.sample_timestamps_ns,
        np.concatenate([s.sample_timestamps_ns for s in singles]),  # type: ignore[misc]
    )


def test_parse_frames_on_mutated_batches_agrees_with_parse_frame() -> None:
    rng = np.random.default_rng(13)
    good = [
        pmd.encode_frame(
            MeasurementType.ACC,
            rng.integers(-3000, 3000, (30, 3)),
            timestamp_ns=10**9 * (i + 1),
            frame_type=0x80,
            block_samples=8,
        )
        for i in range(4)
    ]
    for data in fuzz_payloads(good, 3_000, 40, seed=17)[2_000:]:
        batch = [good[0], data, good[2]]
        try:
            single = pmd.parse_frame(data)
        except DecodeError:
            with pytest.raises(DecodeError):
                pmd.parse_frames(batch)
            continue
        # Batches also need one stream and int64 timestamps (to place samples).
        if data[0] != good[0][0] or data[9] != 0x80 or single.timestamp_ns >= 1 << 63:
            with pytest.raises(DecodeError):
                pmd.parse_frames(batch)
            continue
        result = pmd.parse_frames(batch)
        start, end = result.frame_starts[1], result.frame_starts[2]
        np.testing.assert_array_equal(result.raw[start:end], single.raw)


def exact_sdk_rule(previous: int, stamp: int, n: int) -> list[int]:
    """The SDK rule in plain integers: round_half_even(P + (T - P) * k / n), k = 1..n."""
    out = []
    for k in range(1, n + 1):
        q, r = divmod((stamp - previous) * k, n)
        t = previous + q
        out.append(t + (2 * r > n or (2 * r == n and t % 2 == 1)))
    return out


@settings(max_examples=200, deadline=None)
@given(
    previous=st.integers(1, 10**18),
    n=st.integers(1, 300),
    per_sample=st.integers(1, 10**12),
    extra=st.integers(0, 299),
    tie=st.booleans(),
)
def test_sample_times_equal_the_exact_rule(
    previous: int, n: int, per_sample: int, extra: int, tie: bool
) -> None:
    # Spans from sub-µs to hours, with exact .5 ties forced half of the time (n even).
    span = per_sample * n + (n // 2 if tie and n % 2 == 0 else extra % n)
    got = pmd.sample_timestamps_ns(previous + span, n, previous_timestamp_ns=previous)
    assert got.tolist() == exact_sdk_rule(previous, previous + span, n)


# Every control-point vector, decoded as a whole object (the table is the expected decoding).
M, Op, S = MeasurementType, OpCode, SettingType


def req(
    op: OpCode, m: MeasurementType, settings: dict[Any, Any] | None = None, offline: bool = False
) -> CpRequest:
    single = {k: (v,) for k, v in (settings or {}).items()}
    return CpRequest(op, m, offline, pmd.encode_settings(settings or {}), single)


def resp(
    op: OpCode,
    m: MeasurementType,
    status: Status = Status.SUCCESS,
    params: str = "",
    settings: dict[Any, Any] | None = None,
) -> CpResponse:
    return CpResponse(op, m, False, status, False, bytes.fromhex(params), settings or {})


H10_ACC = {S.SAMPLE_RATE: (25, 50, 100, 200), S.RESOLUTION: (16,), S.RANGE: (2, 4, 8)}
H10_ACC_HEX = "0004190032006400c800010110000203020004000800"
VERITY_ACC_START = {S.SAMPLE_RATE: 52, S.RESOLUTION: 16, S.RANGE: 8, S.CHANNELS: 3}
CP_EXPECT: dict[str, dict[str, Any]] = {
    "feature_read_verity": {"response_hex": frozenset({M.PPG, M.ACC, M.PPI, M.GYRO, M.MAG})},
    "feature_read_h10": {"response_hex": frozenset({M.ECG, M.ACC})},
    "get_settings_acc_h10": {
        "request_hex": req(Op.GET_MEASUREMENT_SETTINGS, M.ACC),
        "response_hex": resp(
            Op.GET_MEASUREMENT_SETTINGS, M.ACC, params=H10_ACC_HEX, settings=H10_ACC
        ),
    },
    "get_settings_acc_verity": {
        "request_hex": req(Op.GET_MEASUREMENT_SETTINGS, M.ACC),
        "response_hex": resp(
            Op.GET_MEASUREMENT_SETTINGS,
            M.ACC,
            params="000134000101100002010800040103",
            settings={S.SAMPLE_RATE: (52,), S.RESOLUTION: (16,), S.RANGE: (8,), S.CHANNELS: (3,)},
        ),
    },
    "get_settings_ecg_h10": {
        "request_hex": req(Op.GET_MEASUREMENT_SETTINGS, M.ECG),
        "response_hex": resp(
            Op.GET_MEASUREMENT_SETTINGS,
            M.ECG,
            params="0001820001010e00",
            settings={S.SAMPLE_RATE: (130,), S.RESOLUTION: (14,)},
        ),
    },
    "get_settings_ppg_oh1": {
        "request_hex": req(Op.GET_MEASUREMENT_SETTINGS, M.PPG),
        "response_hex": resp(
            Op.GET_MEASUREMENT_SETTINGS,
            M.PPG,
            params="0001820001011600",
            settings={S.SAMPLE_RATE: (130,), S.RESOLUTION: (22,)},
        ),
    },
    "start_acc_h10": {
        "request_hex": req(
            Op.REQUEST_MEASUREMENT_START, M.ACC, {S.RANGE: 8, S.SAMPLE_RATE: 200, S.RESOLUTION: 16}
        ),
        "response_hex": resp(Op.REQUEST_MEASUREMENT_START, M.ACC, params="01"),
    },
    "start_acc_verity": {
        "request_hex": req(Op.REQUEST_MEASUREMENT_START, M.ACC, VERITY_ACC_START),
        "response_hex": resp(
            Op.REQUEST_MEASUREMENT_START,
            M.ACC,
            params="050140da7f39",
            settings={S.FACTOR: (float(np.float32(2.44e-4)),)},
        ),
    },
    "start_acc_verity_no_factor_observed": {
        "request_hex": req(Op.REQUEST_MEASUREMENT_START, M.ACC, VERITY_ACC_START),
        "response_hex": resp(Op.REQUEST_MEASUREMENT_START, M.ACC),
    },
    "start_ecg_h10_polarband2lsl": {
        "request_hex": req(
            Op.REQUEST_MEASUREMENT_START, M.ECG, {S.SAMPLE_RATE: 130, S.RESOLUTION: 14}
        ),
    },
    "start_acc_h10_blehrm": {
        "request_hex": req(
            Op.REQUEST_MEASUREMENT_START, M.ACC, {S.SAMPLE_RATE: 200, S.RESOLUTION: 16, S.RANGE: 8}
        ),
    },
    "start_acc_bleakheart_default": {
        "request_hex": req(
            Op.REQUEST_MEASUREMENT_START, M.ACC, {S.SAMPLE_RATE: 200, S.RESOLUTION: 16, S.RANGE: 2}
        ),
    },
    "start_ecg_h10": {
        "request_hex": req(
            Op.REQUEST_MEASUREMENT_START, M.ECG, {S.SAMPLE_RATE: 130, S.RESOLUTION: 14}
        ),
        "response_hex": resp(Op.REQUEST_MEASUREMENT_START, M.ECG, params="00"),
    },
    "start_ppg_oh1_as_documented": {
        "request_hex": req(
            Op.REQUEST_MEASUREMENT_START, M.PPG, {S.SAMPLE_RATE: 200, S.RESOLUTION: 16, S.RANGE: 8}
        ),
        "response_hex": resp(Op.REQUEST_MEASUREMENT_START, M.PPG, params="00"),
    },
    "start_ppi_oh1": {
        "request_hex": req(Op.REQUEST_MEASUREMENT_START, M.PPI),
        "response_hex": resp(Op.REQUEST_MEASUREMENT_START, M.PPI, params="00"),
    },
    "get_settings_ppg_verity_observed": {
        "request_hex": req(Op.GET_MEASUREMENT_SETTINGS, M.PPG),
        "response_hex": resp(
            Op.GET_MEASUREMENT_SETTINGS,
            M.PPG,
            params="0001870001011600040104",
            settings={S.SAMPLE_RATE: (135,), S.RESOLUTION: (22,), S.CHANNELS: (4,)},
        ),
    },
    "start_ppg_verity_observed": {
        "response_hex": resp(
            Op.REQUEST_MEASUREMENT_START, M.PPG, params="05010000803f", settings={S.FACTOR: (1.0,)}
        ),
    },
    "stop_acc": {
        "request_hex": req(Op.STOP_MEASUREMENT, M.ACC),
        "response_hex": resp(Op.STOP_MEASUREMENT, M.ACC),
    },
    "stop_ecg": {
        "request_hex": req(Op.STOP_MEASUREMENT, M.ECG),
        "response_hex_as_documented": resp(Op.STOP_MEASUREMENT, M.ACC),  # the figure's erratum
        "response_hex_expected": resp(Op.STOP_MEASUREMENT, M.ECG),
    },
    "start_sdk_mode": {
        "request_hex": req(Op.REQUEST_MEASUREMENT_START, M.SDK_MODE),
        "response_hex": resp(Op.REQUEST_MEASUREMENT_START, M.SDK_MODE),
    },
    "stop_sdk_mode": {
        "request_hex": req(Op.STOP_MEASUREMENT, M.SDK_MODE),
        "response_hex": resp(Op.STOP_MEASUREMENT, M.SDK_MODE),
    },
    "get_sdk_mode_settings_acc": {
        "request_hex": req(Op.GET_SDK_MODE_MEASUREMENT_SETTINGS, M.ACC),
        "response_hex_as_documented": resp(
            Op.GET_MEASUREMENT_SETTINGS, M.ACC, params=H10_ACC_HEX, settings=H10_ACC
        ),
    },
    "cp_response_success_params": {
        "response_hex": resp(Op.GET_MEASUREMENT_SETTINGS, M.ACC, params="ffffff"),
    },
    "cp_response_error": {
        "response_hex": resp(Op.GET_MEASUREMENT_SETTINGS, M.MAG, Status.INVALID_RESOLUTION),
    },
    "settings_blob_with_4_ranges": {
        "parameters_hex": {
            S.SAMPLE_RATE: (52,),
            S.RESOLUTION: (16,),
            S.RANGE: (245, 500, 1000, 2000),
            S.CHANNELS: (3,),
        },
    },
    "settings_blob_range_milliunit": {
        "parameters_hex": {S.RANGE_MILLIUNIT: (-1, 255), S.RESOLUTION: (14,)},
    },
    "device_initiated_stop": {"indication_hex": MeasurementStopped((M.PPG, M.ACC))},
    "offline_acc_request_byte": {
        "request_prefix_hex": req(Op.GET_MEASUREMENT_SETTINGS, M.ACC, offline=True),
    },
}


def test_control_point_table_covers_every_vector_field() -> None:
    for c in DATA["control_point"]:
        assert set(CP_EXPECT[c["id"]]) == {k for k in c if "_hex" in k}, c["id"]


@pytest.mark.parametrize("cid", list(CP_EXPECT))
def test_control_point_vectors_decode_and_re_encode(cid: str) -> None:
    vector = CP[cid]
    for field, want in CP_EXPECT[cid].items():
        data = bytes.fromhex(vector[field])
        if field.startswith("request"):
            assert pmd.parse_request(data) == want
            single = {k: v[0] for k, v in want.settings.items()}
            op = want.op
            if op == Op.REQUEST_MEASUREMENT_START:
                again = pmd.start_request(want.measurement, single, offline=want.offline)
            elif op == Op.STOP_MEASUREMENT:
                again = pmd.stop_request(want.measurement, offline=want.offline)
            else:
                again = pmd.get_settings_request(
                    want.measurement,
                    sdk_mode=op == Op.GET_SDK_MODE_MEASUREMENT_SETTINGS,
                    offline=want.offline,
                )
            assert again == data
        elif field == "parameters_hex":
            assert pmd.parse_settings(data) == want
            assert pmd.encode_settings(want) == data
        elif field == "indication_hex":
            assert pmd.parse_cp_indication(data) == want
            assert pmd.encode_measurement_stopped(want.measurements) == data
        elif data[0] == 0x0F:
            assert pmd.parse_features(data) == want
            assert pmd.encode_features(want) == data
        else:
            assert pmd.parse_response(data) == want
            again = pmd.encode_response(
                want.op, want.measurement, want.status, parameters=want.parameters
            )
            assert again == data


def test_every_frame_vector_is_checked_as_a_whole() -> None:
    special = {"acc_delta_type0_sdk_test", "acc_delta_type0_verity_spec_figure"}
    assert {f["id"] for f in FRAMES} == set(EXPECT) | special


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 64),
    spans=st.lists(st.integers(1, 10**10), min_size=1, max_size=12),
    first=st.integers(1, 10**18),
)
def test_batch_sample_times_of_equal_sized_frames_follow_the_exact_rule(
    n: int, spans: list[int], first: int
) -> None:
    # Fixed-size frames take a broadcast path in parse_frames; ties (n even, span = n*q + n/2)
    # appear often with small spans.
    raw = np.zeros((n, 3), dtype=np.int64)
    stamps = list(itertools.accumulate([first, *spans]))
    frames = [
        pmd.encode_frame(MeasurementType.ACC, raw, timestamp_ns=t, frame_type=0x01)
        for t in stamps[1:]
    ]
    frames_delta = [
        pmd.encode_frame(MeasurementType.ACC, raw, timestamp_ns=t, frame_type=0x80)
        for t in stamps[1:]
    ]
    want = [x for a, b in itertools.pairwise(stamps) for x in exact_sdk_rule(a, b, n)]
    for batch in (frames, frames_delta):
        got = pmd.parse_frames(batch, previous_timestamp_ns=first).sample_timestamps_ns
        assert got is not None and got.tolist() == want
