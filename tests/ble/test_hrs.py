"""Heart Rate Measurement decoding against the shared vectors, round trips and fuzzing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ble_fuzz import mutations, random_payloads
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.ble import hrs
from liftsense.ble.hrs import BodySensorLocation, HeartRateMeasurement
from liftsense.errors import DecodeError

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "data" / "ble" / "hrm.json").read_text()
)


def expected(vector: dict[str, Any]) -> HeartRateMeasurement:
    anomaly = "RR flag set but no RR values" if vector.get("strict_valid") is False else ""
    return HeartRateMeasurement(
        bpm=vector["hr"],
        contact=vector["contact"],
        energy_kj=vector["energy"],
        rr_1024=tuple(vector["rr_raw_1024"]),
        rr_ms=tuple(vector["rr_ms"]),
        flags=int(vector["flags"], 16),
        anomaly=anomaly,
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[v["hex"] for v in VECTORS])
def test_every_shared_vector_decodes_to_the_whole_expected_object(vector: dict[str, Any]) -> None:
    assert hrs.parse(bytes.fromhex(vector["hex"])) == expected(vector)


def test_vector_set_covers_all_32_flag_combinations() -> None:
    assert {int(v["flags"], 16) & 0x1F for v in VECTORS} == set(range(32))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["hex"] for v in VECTORS])
def test_encode_reproduces_canonical_vectors_byte_for_byte(vector: dict[str, Any]) -> None:
    m = hrs.parse(bytes.fromhex(vector["hex"]))
    data = hrs.encode(
        m.bpm,
        contact=m.contact,
        energy_kj=m.energy_kj,
        rr_1024=m.rr_1024,
        uint16=bool(m.flags & 0x01),
    )
    flags = m.flags
    canonical = not flags & 0xE0 and (flags & 0x06) != 0x02 and not m.anomaly
    if canonical:
        assert data.hex() == vector["hex"]
    again = hrs.parse(data)
    assert (again.bpm, again.contact, again.energy_kj, again.rr_1024) == (
        m.bpm,
        m.contact,
        m.energy_kj,
        m.rr_1024,
    )


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("", "at least 2 bytes"),
        ("10", "at least 2 bytes"),
        ("0150", "uint16 heart rate"),
        ("085001", "energy expended"),
        ("095000ff", "energy expended"),
        ("18", "at least 2 bytes"),
    ],
)
def test_packets_shorter_than_their_flags_raise_with_hex_and_reason(hex_: str, reason: str) -> None:
    data = bytes.fromhex(hex_)
    with pytest.raises(DecodeError) as info:
        hrs.parse(data)
    assert info.value.data == data
    assert reason in info.value.reason
    assert (hex_ or "<empty>") in str(info.value)


def test_odd_trailing_byte_is_flagged_and_never_becomes_an_rr() -> None:
    # Seen in a public bug report: one dangling byte after the last full RR value.
    m = hrs.parse(bytes.fromhex("103eb103de"))
    assert m == HeartRateMeasurement(
        bpm=62,
        contact=None,
        energy_kj=None,
        rr_1024=(945,),
        rr_ms=(945 * 1000 / 1024,),
        flags=0x10,
        anomaly="odd trailing byte after the RR values ignored",
    )


def test_trailing_bytes_without_rr_flag_are_reported() -> None:
    assert hrs.parse(bytes.fromhex("0048ffff")).anomaly == "2 trailing byte(s) ignored"


def test_h10_and_h7_contact_conventions() -> None:
    h10 = hrs.parse(bytes.fromhex("10480004"))
    h7 = hrs.parse(bytes.fromhex("16480004"))
    assert (h10.contact, h10.contact_supported) == (None, False)
    assert (h7.contact, h7.contact_supported) == (True, True)


def test_encode_rejects_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="bpm"):
        hrs.encode(70000)
    with pytest.raises(ValueError, match="energy"):
        hrs.encode(60, energy_kj=-1)
    with pytest.raises(ValueError, match="RR"):
        hrs.encode(60, rr_1024=[70000])


def test_encode_switches_to_uint16_above_255() -> None:
    assert hrs.encode(300) == bytes([0x01, 0x2C, 0x01])


@settings(max_examples=200, deadline=None)
@given(
    bpm=st.integers(0, 0xFFFF),
    contact=st.none() | st.booleans(),
    energy=st.none() | st.integers(0, 0xFFFF),
    rr=st.lists(st.integers(0, 0xFFFF), max_size=9),
    uint16=st.booleans(),
)
def test_encode_parse_round_trip(
    bpm: int, contact: bool | None, energy: int | None, rr: list[int], uint16: bool
) -> None:
    m = hrs.parse(hrs.encode(bpm, contact=contact, energy_kj=energy, rr_1024=rr, uint16=uint16))
    assert (m.bpm, m.contact, m.energy_kj, m.rr_1024, m.anomaly) == (
        bpm,
        contact,
        energy,
        tuple(rr),
        "",
    )
    assert m.rr_ms == tuple(v * 1000 / 1024 for v in rr)


def test_battery_and_body_sensor_location_helpers() -> None:
    assert hrs.parse_battery_level(hrs.encode_battery_level(87)) == 87
    assert hrs.parse_body_sensor_location(b"\x01") is BodySensorLocation.CHEST
    assert hrs.parse_body_sensor_location(b"\x09") == 9
    assert hrs.encode_body_sensor_location(BodySensorLocation.WRIST) == b"\x02"
    for bad in (b"", b"\x65", b"\x01\x02"):
        with pytest.raises(DecodeError):
            hrs.parse_battery_level(bad)
    with pytest.raises(DecodeError):
        hrs.parse_body_sensor_location(b"")
    with pytest.raises(ValueError):
        hrs.encode_battery_level(101)


def test_uuids_are_the_sig_ones() -> None:
    assert hrs.HEART_RATE_MEASUREMENT_UUID == "00002a37-0000-1000-8000-00805f9b34fb"
    assert hrs.HEART_RATE_SERVICE_UUID == "0000180d-0000-1000-8000-00805f9b34fb"


def fuzz_payloads(seeds: list[bytes], n: int, max_len: int, seed: int) -> list[bytes]:
    """n payloads: half random bytes, half mutations (bit flips, truncation, extension) of seeds."""
    rng = np.random.default_rng(seed)
    return [bytes(p) for p in random_payloads(rng, n // 2, max_len)] + mutations(
        rng, seeds, n - n // 2
    )


def test_100k_random_and_mutated_payloads_raise_only_decode_error() -> None:
    seeds = [bytes.fromhex(v["hex"]) for v in VECTORS]
    decoded = rejected = 0
    for data in fuzz_payloads(seeds, 100_000, 24, seed=3):
        try:
            hrs.parse(data)
            decoded += 1
        except DecodeError as exc:
            assert exc.data == data
            rejected += 1
    assert decoded > 50_000 and rejected > 1_000


@pytest.mark.parametrize(
    "decoder", [hrs.parse_battery_level, hrs.parse_body_sensor_location], ids=lambda f: f.__name__
)
def test_100k_random_and_mutated_helper_values_raise_only_decode_error(decoder: Any) -> None:
    decoded = 0
    for data in fuzz_payloads([b"\x01", b"\x64"], 100_000, 3, seed=8):
        try:
            decoder(data)
            decoded += 1
        except DecodeError as exc:
            assert exc.data == data
    assert decoded > 1_000
