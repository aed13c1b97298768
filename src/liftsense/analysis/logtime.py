"""Times in the soreness and intake logs: the time expressions people type (``now``, ``-45m``,
``HH:MM``, ISO 8601), the text written to the CSV files, and the check on a time to log.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from liftsense.errors import LogError

# A logged time may sit a little after "now" (clock skew between devices) but not more.
FUTURE_TOLERANCE = timedelta(minutes=5)

_RELATIVE = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days)$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_time(text: str, *, now: datetime | None = None, tz: tzinfo | None = None) -> datetime:
    """Parse a user time expression into a timezone-aware datetime.

    Accepted: ``now``; a relative time in the past (``-45m``, ``-2h``, ``-1d``, ``-90s``,
    ``-1.5h``); ``HH:MM`` or ``HH:MM:SS`` today; an ISO 8601 date-time with an offset (kept) or
    without one (taken as local time). ``now`` (aware) and ``tz`` (the local zone) default to the
    system clock and zone; pass them for reproducible results.

    Raises:
        LogError: the expression is none of the above.
    """
    if now is None:
        now = datetime.now(tz) if tz is not None else datetime.now().astimezone()
    elif now.tzinfo is None:
        raise LogError(f"parse_time: 'now' must be timezone-aware, got {now!r}")
    s = text.strip()
    if s.lower() == "now":
        return now
    rel = _RELATIVE.match(s.lower())
    if rel:
        unit = rel.group(2)
        seconds = float(rel.group(1)) * _UNIT_S["d" if unit.startswith("d") else unit]
        return now - timedelta(seconds=seconds)
    clock = _CLOCK.match(s)
    if clock:
        hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise LogError(f"time {text!r}: not a valid clock time (use HH:MM, 00:00-23:59)")
        local_now = now.astimezone(tz) if tz is not None else now
        return local_now.replace(hour=hour, minute=minute, second=second, microsecond=0)
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise LogError(
            f"time {text!r}: not understood; use 'now', '-45m', '-2h', '-1d', 'HH:MM' "
            "or an ISO 8601 time such as 2026-03-01T08:30+01:00"
        ) from None
    if parsed.tzinfo is None:
        # A naive time is local wall-clock time; astimezone() on a naive datetime asks the
        # system zone for the offset valid *at that date* (DST-correct).
        return parsed.replace(tzinfo=tz) if tz is not None else parsed.astimezone()
    return parsed


def format_time(t: datetime) -> str:
    """ISO 8601 with offset, to the second (microseconds kept if present)."""
    if t.tzinfo is None:
        raise LogError(f"time {t!r} has no timezone; log times must carry an offset")
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def checked_time(at: str | datetime, now: datetime | None, tz: tzinfo | None) -> datetime:
    """The time of an entry to log: ``at`` parsed (or an aware datetime), not more than
    :data:`FUTURE_TOLERANCE` after ``now``, to the second. Raises LogError otherwise."""
    t = parse_time(at, now=now, tz=tz) if isinstance(at, str) else at
    if t.tzinfo is None:
        raise LogError(f"time {t!r} has no timezone; pass an aware datetime")
    reference = now if now is not None else datetime.now(UTC)
    if t - reference > FUTURE_TOLERANCE:
        raise LogError(
            f"time {format_time(t)} is in the future; for a time yesterday give the full date "
            "(e.g. 2026-03-01T21:30) or a relative time such as -1d"
        )
    # Logs are kept to the second: "now" would otherwise write microseconds nobody asked for.
    return t.replace(microsecond=0)
