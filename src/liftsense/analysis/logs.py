"""Soreness and intake logs kept beside the recordings: read, append, validate.

Two CSV files (UTF-8, comma separated, one header line), as DESIGN.md defines them:

``soreness.csv``: ``time`` (ISO 8601 *with* UTC offset), ``subject``, ``muscle`` (one of
:data:`MUSCLES`), ``rating`` (0-10 numeric scale; decimals allowed).

``intake.csv``: ``time`` (ISO 8601 with offset), ``subject``, ``substance`` (free text, stored
lower-case, e.g. ``caffeine``), ``dose_mg`` (a finite number >= 0; log the caffeine content of a
pre-workout product as ``caffeine``, since the analysis flags that substance by name).

Columns may appear in any order and extra columns are allowed (and ignored), because people edit
these files by hand. Every problem found on read raises :class:`~liftsense.errors.LogError` whose
message names the file, the line number (the header is line 1) and what to do.

Times are always timezone-aware. The readers return them in UTC and keep each row's own UTC
offset in ``utc_offset_min``, which the analysis needs to know the *local* calendar day of a
rating (caffeine taken on a rating day).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

# Re-exported: parse_time and FUTURE_TOLERANCE stay part of the log API of this module.
from liftsense.analysis.logtime import FUTURE_TOLERANCE as FUTURE_TOLERANCE
from liftsense.analysis.logtime import checked_time, format_time
from liftsense.analysis.logtime import parse_time as parse_time
from liftsense.errors import LogError

if TYPE_CHECKING:
    import pandas as pd

MUSCLES: tuple[str, ...] = (
    "glutes",
    "quads",
    "hamstrings",
    "chest",
    "back",
    "shoulders",
    "biceps",
    "triceps",
    "calves",
    "core",
)
SORENESS_FILE = "soreness.csv"
INTAKE_FILE = "intake.csv"
SORENESS_COLUMNS: tuple[str, ...] = ("time", "subject", "muscle", "rating")
INTAKE_COLUMNS: tuple[str, ...] = ("time", "subject", "substance", "dose_mg")
RATING_MIN = 0.0
RATING_MAX = 10.0
DEFAULT_SUBJECT = "me"


@dataclass(frozen=True)
class SorenessEntry:
    """One soreness rating: ``time`` is timezone-aware; ``rating`` on the 0-10 scale."""

    time: datetime
    subject: str
    muscle: str
    rating: float


@dataclass(frozen=True)
class IntakeEntry:
    """One logged intake: ``time`` is timezone-aware; ``dose_mg`` in milligrams."""

    time: datetime
    subject: str
    substance: str
    dose_mg: float


# ---------------------------------------------------------------- validation of fields


def _where(path: Path, line: int) -> str:
    # Line 0 marks a value given on the command line rather than read from a file.
    return f"{path}: line {line}" if line > 0 else str(path)


def _check_time(value: str, path: Path, line: int) -> datetime:
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise LogError(
            f"{_where(path, line)}: time {value!r} is not ISO 8601; "
            "write it like 2026-03-01T08:30:00+01:00"
        ) from None
    if t.tzinfo is None:
        raise LogError(
            f"{_where(path, line)}: time {value!r} has no UTC offset; "
            "add one, e.g. +01:00 or Z, so the time is unambiguous"
        )
    return t


def _check_subject(value: str, path: Path, line: int) -> str:
    subject = value.strip()
    if not subject:
        raise LogError(f"{_where(path, line)}: subject is empty; name the person (e.g. 'me')")
    return subject


def _check_muscle(value: str, path: Path, line: int) -> str:
    muscle = value.strip().lower()
    if muscle not in MUSCLES:
        raise LogError(
            f"{_where(path, line)}: unknown muscle {value!r}; use one of {', '.join(MUSCLES)}"
        )
    return muscle


def _check_number(value: str, name: str, path: Path, line: int) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise LogError(f"{_where(path, line)}: {name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise LogError(f"{_where(path, line)}: {name} {value!r} is not a finite number")
    return number


def _check_rating(value: str, path: Path, line: int) -> float:
    rating = _check_number(value, "rating", path, line)
    if not RATING_MIN <= rating <= RATING_MAX:
        raise LogError(
            f"{_where(path, line)}: rating {value.strip()} is outside the 0-10 scale "
            "(0 = no soreness, 10 = worst imaginable)"
        )
    return rating


def _check_dose(value: str, path: Path, line: int) -> float:
    dose = _check_number(value, "dose_mg", path, line)
    if dose < 0:
        raise LogError(f"{_where(path, line)}: dose_mg {value.strip()} is negative")
    return dose


def _check_substance(value: str, path: Path, line: int) -> str:
    substance = value.strip().lower()
    if not substance:
        raise LogError(f"{_where(path, line)}: substance is empty (e.g. 'caffeine')")
    return substance


# ---------------------------------------------------------------- reading


def _rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each non-blank data row; check the header first."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise LogError(f"{path}: cannot be read ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                return
            names = [h.strip().lower() for h in header]
            missing = [c for c in columns if c not in names]
            if missing:
                raise LogError(
                    f"{_where(path, 1)}: missing column(s) {', '.join(missing)}; "
                    f"the header must name {','.join(columns)}"
                )
            index = {c: names.index(c) for c in columns}
            for fields in reader:
                if not fields or all(not f.strip() for f in fields):
                    continue
                line = reader.line_num
                # Trailing optional columns may be left off; the required ones may not.
                if len(fields) <= max(index.values()):
                    raise LogError(
                        f"{_where(path, line)}: {len(fields)} field(s), the header has "
                        f"{len(names)}; check for a missing comma"
                    )
                yield line, {c: fields[i] for c, i in index.items()}
        except csv.Error as exc:
            raise LogError(f"{_where(path, reader.line_num)}: malformed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise LogError(f"{path}: not UTF-8 text; save it as UTF-8 CSV") from None


def _frame(
    records: list[tuple[int, datetime, str, str, float]], value_cols: tuple[str, str]
) -> pd.DataFrame:
    import pandas as pd

    times = [r[1] for r in records]
    offsets = [int((t.utcoffset() or timedelta()).total_seconds() // 60) for t in times]
    return pd.DataFrame(
        {
            "time": pd.to_datetime([t.astimezone(UTC) for t in times], utc=True).as_unit("ns"),
            "subject": pd.Series([r[2] for r in records], dtype=object),
            value_cols[0]: pd.Series([r[3] for r in records], dtype=object),
            value_cols[1]: pd.Series([r[4] for r in records], dtype="float64"),
            "utc_offset_min": pd.Series(offsets, dtype="int64"),
            "line": pd.Series([r[0] for r in records], dtype="int64"),
        }
    )


def _read_log(
    path: str | Path,
    filename: str,
    columns: Sequence[str],
    value_cols: tuple[str, str],
    checks: tuple[Callable[[str, Path, int], str], Callable[[str, Path, int], float]],
    kind: str,
    *,
    missing_ok: bool,
) -> pd.DataFrame:
    """Read one log, validating every row (time, subject, then the two value columns)."""
    file = _resolve(path, filename)
    if not file.exists():
        if missing_ok:
            return _frame([], value_cols)
        raise LogError(f"{file}: no {kind} log; create it with `liftsense log {kind}`")
    check_a, check_b = checks
    records = [
        (
            line,
            _check_time(row["time"], file, line),
            _check_subject(row["subject"], file, line),
            check_a(row[value_cols[0]], file, line),
            check_b(row[value_cols[1]], file, line),
        )
        for line, row in _rows(file, columns)
    ]
    return _frame(records, value_cols)


def _resolve(path: str | Path, filename: str) -> Path:
    p = Path(path)
    return p / filename if p.is_dir() else p


def read_soreness(path: str | Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read and validate a soreness log (a file, or a directory holding ``soreness.csv``).

    Returns a DataFrame with columns ``time`` (datetime64[ns, UTC]), ``subject``, ``muscle``,
    ``rating`` (float64, 0-10), ``utc_offset_min`` (int64, the row's own offset) and ``line``
    (int64, line number in the file), in file order. A missing file raises LogError unless
    ``missing_ok``, which returns the empty frame.

    Raises:
        LogError: naming the file and line of the first problem.
    """
    return _read_log(
        path,
        SORENESS_FILE,
        SORENESS_COLUMNS,
        ("muscle", "rating"),
        (_check_muscle, _check_rating),
        "soreness",
        missing_ok=missing_ok,
    )


def read_intake(path: str | Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read and validate an intake log (a file, or a directory holding ``intake.csv``).

    Returns a DataFrame with columns ``time`` (datetime64[ns, UTC]), ``subject``, ``substance``
    (lower-case), ``dose_mg`` (float64), ``utc_offset_min`` (int64) and ``line`` (int64).

    Raises:
        LogError: naming the file and line of the first problem.
    """
    return _read_log(
        path,
        INTAKE_FILE,
        INTAKE_COLUMNS,
        ("substance", "dose_mg"),
        (_check_substance, _check_dose),
        "intake",
        missing_ok=missing_ok,
    )


# ---------------------------------------------------------------- appending


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _append(path: Path, columns: Sequence[str], values: dict[str, str]) -> None:
    """Append one row, creating the file with ``columns`` as header if needed.

    An existing file's own header order is followed (extra columns are left blank); a header
    lacking a required column is refused rather than extended.
    """
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        header: list[str] = list(columns)
        prefix = ",".join(header) + "\r\n"
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            first = next(csv.reader(handle), [])
        header = [h.strip().lower() for h in first]
        missing = [c for c in columns if c not in header]
        if missing:
            raise LogError(
                f"{_where(path, 1)}: missing column(s) {', '.join(missing)}; "
                "fix the header before appending"
            )
        with path.open("rb") as raw:
            raw.seek(-1, 2)
            ends_with_newline = raw.read(1) in (b"\n", b"\r")
        prefix = "" if ends_with_newline else "\r\n"
    with path.open("a", newline="", encoding="utf-8") as handle:
        handle.write(prefix)
        csv.writer(handle).writerow([values.get(name, "") for name in header])


def log_soreness(
    directory: str | Path,
    muscle: str,
    rating: float | str,
    *,
    at: str | datetime = "now",
    subject: str = DEFAULT_SUBJECT,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> SorenessEntry:
    """Validate one rating and append it to ``directory/soreness.csv`` (created if absent).

    ``at`` is a :func:`parse_time` expression or an aware datetime (stored to the second);
    ``now``/``tz`` default to the system clock and zone. Returns the entry written. Raises
    LogError on a bad muscle, rating, subject or time (including a time more than 5 minutes in
    the future).
    """
    file = Path(directory) / SORENESS_FILE
    where = Path("<command line>")
    entry = SorenessEntry(
        time=checked_time(at, now, tz),
        subject=_check_subject(subject, where, 0),
        muscle=_check_muscle(muscle, where, 0),
        rating=_check_rating(str(rating), where, 0),
    )
    _append(
        file,
        SORENESS_COLUMNS,
        {
            "time": format_time(entry.time),
            "subject": entry.subject,
            "muscle": entry.muscle,
            "rating": _number_text(entry.rating),
        },
    )
    return entry


def log_intake(
    directory: str | Path,
    substance: str,
    dose_mg: float | str,
    *,
    at: str | datetime = "now",
    subject: str = DEFAULT_SUBJECT,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> IntakeEntry:
    """Validate one intake and append it to ``directory/intake.csv`` (created if absent).

    Same conventions as :func:`log_soreness`; ``dose_mg`` must be a finite number >= 0.
    """
    file = Path(directory) / INTAKE_FILE
    where = Path("<command line>")
    entry = IntakeEntry(
        time=checked_time(at, now, tz),
        subject=_check_subject(subject, where, 0),
        substance=_check_substance(substance, where, 0),
        dose_mg=_check_dose(str(dose_mg), where, 0),
    )
    _append(
        file,
        INTAKE_COLUMNS,
        {
            "time": format_time(entry.time),
            "subject": entry.subject,
            "substance": entry.substance,
            "dose_mg": _number_text(entry.dose_mg),
        },
    )
    return entry
