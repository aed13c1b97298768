"""Soreness and intake logs: time expressions, append, validated read with file and line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.analysis.logs import (
    MUSCLES,
    IntakeEntry,
    SorenessEntry,
    format_time,
    log_intake,
    log_soreness,
    parse_time,
    read_intake,
    read_soreness,
)
from liftsense.errors import LogError

CET = timezone(timedelta(hours=1))
NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=CET)


# ---------------------------------------------------------------- parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("-45m", NOW - timedelta(minutes=45)),
        ("-2h", NOW - timedelta(hours=2)),
        ("-1d", NOW - timedelta(days=1)),
        ("-90s", NOW - timedelta(seconds=90)),
        ("-1.5h", NOW - timedelta(minutes=90)),
        ("07:15", datetime(2026, 3, 2, 7, 15, tzinfo=CET)),
        ("7:05:30", datetime(2026, 3, 2, 7, 5, 30, tzinfo=CET)),
        ("2026-03-01T21:00+01:00", datetime(2026, 3, 1, 21, 0, tzinfo=CET)),
        ("2026-03-01T20:00Z", datetime(2026, 3, 1, 20, 0, tzinfo=UTC)),
        ("2026-03-01T21:00", datetime(2026, 3, 1, 21, 0, tzinfo=CET)),
        ("2026-03-01 21:00", datetime(2026, 3, 1, 21, 0, tzinfo=CET)),
    ],
)
def test_parse_time_accepts_the_documented_forms(text: str, expected: datetime) -> None:
    got = parse_time(text, now=NOW, tz=CET)
    assert got == expected
    assert got.tzinfo is not None


def test_parse_time_keeps_the_given_offset() -> None:
    got = parse_time("2026-03-01T08:00-05:00", now=NOW, tz=CET)
    assert got.utcoffset() == timedelta(hours=-5)


def test_parse_time_naive_iso_uses_the_system_zone_without_tz() -> None:
    got = parse_time("2026-03-01T21:00", now=NOW)
    assert got.tzinfo is not None
    assert got.replace(tzinfo=None) == datetime(2026, 3, 1, 21, 0)


@pytest.mark.parametrize("text", ["yesterday", "+2h", "25:00", "12:60", "-h", "2026-13-01", ""])
def test_parse_time_rejects_other_text(text: str) -> None:
    with pytest.raises(LogError, match="time"):
        parse_time(text, now=NOW, tz=CET)


def test_parse_time_requires_an_aware_now() -> None:
    with pytest.raises(LogError, match="timezone-aware"):
        parse_time("now", now=datetime(2026, 3, 2, 9, 30))


@settings(max_examples=200, deadline=None)
@given(minutes=st.integers(min_value=0, max_value=60 * 24 * 30))
def test_relative_minutes_round_trip(minutes: int) -> None:
    assert NOW - parse_time(f"-{minutes}m", now=NOW, tz=CET) == timedelta(minutes=minutes)


# ---------------------------------------------------------------- append + read


def test_log_soreness_creates_file_with_header_and_reads_back(tmp_path: Path) -> None:
    e1 = log_soreness(tmp_path, "Glutes", 6, at="-2h", subject="ana", now=NOW, tz=CET)
    e2 = log_soreness(tmp_path, "quads", "3.5", at="08:00", subject="ana", now=NOW, tz=CET)
    assert e1 == SorenessEntry(NOW - timedelta(hours=2), "ana", "glutes", 6.0)
    assert e2.rating == 3.5
    text = (tmp_path / "soreness.csv").read_text().splitlines()
    assert text == [
        "time,subject,muscle,rating",
        "2026-03-02T07:30:00+01:00,ana,glutes,6",
        "2026-03-02T08:00:00+01:00,ana,quads,3.5",
    ]
    df = read_soreness(tmp_path)
    assert list(df.columns) == ["time", "subject", "muscle", "rating", "utc_offset_min", "line"]
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert df["time"].tolist() == [
        pd.Timestamp("2026-03-02T06:30:00Z"),
        pd.Timestamp("2026-03-02T07:00:00Z"),
    ]
    assert df["muscle"].tolist() == ["glutes", "quads"]
    assert df["rating"].tolist() == [6.0, 3.5]
    assert df["utc_offset_min"].tolist() == [60, 60]
    assert df["line"].tolist() == [2, 3]


def test_log_intake_round_trip(tmp_path: Path) -> None:
    entry = log_intake(tmp_path, "Caffeine", 200, at="-45m", now=NOW, tz=CET)
    assert entry == IntakeEntry(NOW - timedelta(minutes=45), "me", "caffeine", 200.0)
    df = read_intake(tmp_path / "intake.csv")
    assert df[["subject", "substance", "dose_mg"]].values.tolist() == [["me", "caffeine", 200.0]]
    assert df["time"].iloc[0] == pd.Timestamp("2026-03-02T07:45:00Z")


def test_append_follows_a_hand_edited_header_and_missing_final_newline(tmp_path: Path) -> None:
    f = tmp_path / "soreness.csv"
    f.write_text("subject,time,rating,muscle,provoked_by\nbo,2026-03-01T08:00:00Z,2,calves,stairs")
    log_soreness(tmp_path, "calves", 4, at="now", subject="bo", now=NOW)
    lines = f.read_text().splitlines()
    assert lines[2] == "bo,2026-03-02T09:30:00+01:00,4,calves,"
    assert read_soreness(f)["rating"].tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"muscle": "lats", "rating": 3}, "unknown muscle 'lats'"),
        ({"muscle": "quads", "rating": 11}, "outside the 0-10 scale"),
        ({"muscle": "quads", "rating": -1}, "outside the 0-10 scale"),
        ({"muscle": "quads", "rating": "nan"}, "not a finite number"),
        ({"muscle": "quads", "rating": "six"}, "not a number"),
        ({"muscle": "quads", "rating": 3, "subject": "  "}, "subject is empty"),
        ({"muscle": "quads", "rating": 3, "at": "+1h"}, "not understood"),
        ({"muscle": "quads", "rating": 3, "at": "11:00"}, "in the future"),
    ],
)
def test_log_soreness_refuses_bad_values_and_writes_nothing(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(LogError, match=match):
        log_soreness(tmp_path, now=NOW, tz=CET, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "soreness.csv").exists()


def test_logged_now_is_stored_to_the_second(tmp_path: Path) -> None:
    entry = log_intake(tmp_path, "caffeine", 80, now=NOW.replace(microsecond=654321))
    assert entry.time == NOW
    assert "2026-03-02T09:30:00+01:00" in (tmp_path / "intake.csv").read_text()


def test_log_intake_refuses_negative_dose(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="negative"):
        log_intake(tmp_path, "caffeine", -5, now=NOW)


def test_append_refuses_a_header_missing_a_column(tmp_path: Path) -> None:
    (tmp_path / "intake.csv").write_text("time,subject,dose_mg\n")
    with pytest.raises(LogError, match=r"intake.csv: line 1: missing column\(s\) substance"):
        log_intake(tmp_path, "caffeine", 100, now=NOW)


HEADER = "time,subject,muscle,rating\n"
GOOD = "2026-03-01T08:00:00+01:00,me,quads,4\n"


@pytest.mark.parametrize(
    ("body", "line", "match"),
    [
        (GOOD + "2026-03-01T25:00:00+01:00,me,quads,4\n", 3, "not ISO 8601"),
        (GOOD + "2026-03-01T09:00:00,me,quads,4\n", 3, "has no UTC offset"),
        (GOOD + "\n2026-03-01T09:00:00Z,me,lats,4\n", 4, "unknown muscle 'lats'"),
        (GOOD + "2026-03-01T09:00:00Z,me,quads,10.5\n", 3, "outside the 0-10 scale"),
        (GOOD + "2026-03-01T09:00:00Z,me,quads,\n", 3, "rating '' is not a number"),
        (GOOD + "2026-03-01T09:00:00Z,,quads,3\n", 3, "subject is empty"),
        (GOOD + "2026-03-01T09:00:00Z,me,quads\n", 3, "3 field"),
    ],
)
def test_read_soreness_names_file_and_line(
    tmp_path: Path, body: str, line: int, match: str
) -> None:
    f = tmp_path / "soreness.csv"
    f.write_text(HEADER + body)
    with pytest.raises(LogError, match=match) as info:
        read_soreness(f)
    assert f"{f}: line {line}:" in str(info.value)


def test_read_soreness_allows_trailing_optional_fields_to_be_left_off(tmp_path: Path) -> None:
    f = tmp_path / "soreness.csv"
    f.write_text("time,subject,muscle,rating,note\n" + GOOD + "2026-03-01T09:00:00Z,me,core,2,ok\n")
    assert read_soreness(f)["rating"].tolist() == [4.0, 2.0]


def test_read_soreness_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "soreness.csv"
    f.write_text("time,subject,muscle\n" + GOOD)
    with pytest.raises(LogError, match=r"line 1: missing column\(s\) rating"):
        read_soreness(f)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("2026-03-01T08:00:00Z,me,caffeine,lots", "dose_mg 'lots' is not a number"),
        ("2026-03-01T08:00:00Z,me,caffeine,-1", "dose_mg -1 is negative"),
        ("2026-03-01T08:00:00Z,me,,100", "substance is empty"),
        ("2026-03-01,me,caffeine,100", "has no UTC offset"),
    ],
)
def test_read_intake_names_file_and_line(tmp_path: Path, row: str, match: str) -> None:
    f = tmp_path / "intake.csv"
    f.write_text("time,subject,substance,dose_mg\n" + row + "\n")
    with pytest.raises(LogError, match=match) as info:
        read_intake(f)
    assert f"{f}: line 2:" in str(info.value)


def test_missing_file_and_missing_ok(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="no soreness log"):
        read_soreness(tmp_path)
    empty = read_intake(tmp_path, missing_ok=True)
    assert empty.empty
    assert list(empty.columns) == [
        "time",
        "subject",
        "substance",
        "dose_mg",
        "utc_offset_min",
        "line",
    ]


def test_mixed_offsets_read_as_utc_and_keep_each_offset(tmp_path: Path) -> None:
    f = tmp_path / "soreness.csv"
    f.write_text(
        HEADER + "2026-03-01T08:00:00+01:00,me,back,1\n2026-03-01T08:00:00-05:00,me,back,2\n"
    )
    df = read_soreness(f)
    assert df["time"].tolist() == [
        pd.Timestamp("2026-03-01T07:00:00Z"),
        pd.Timestamp("2026-03-01T13:00:00Z"),
    ]
    assert df["utc_offset_min"].tolist() == [60, -300]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(MUSCLES),
            st.integers(min_value=0, max_value=100).map(lambda k: k / 10),
            st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
            st.integers(min_value=0, max_value=10_000_000),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_written_rows_read_back_identically(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, float, int, int]]
) -> None:
    directory = tmp_path_factory.mktemp("log")
    written = []
    for muscle, rating, offset_min, seconds in rows:
        tz = timezone(timedelta(minutes=offset_min))
        t = datetime(2026, 1, 1, tzinfo=UTC).astimezone(tz) + timedelta(seconds=seconds)
        written.append(log_soreness(directory, muscle, rating, at=t, now=NOW + timedelta(days=365)))
    df = read_soreness(directory)
    assert df["muscle"].tolist() == [e.muscle for e in written]
    assert df["rating"].tolist() == [e.rating for e in written]
    assert [t.to_pydatetime() for t in df["time"]] == [e.time for e in written]
    assert df["utc_offset_min"].tolist() == [
        int(e.time.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        for e in written
    ]


def test_format_time_requires_an_offset() -> None:
    assert format_time(NOW) == "2026-03-02T09:30:00+01:00"
    with pytest.raises(LogError, match="no timezone"):
        format_time(datetime(2026, 3, 2, 9, 30))
