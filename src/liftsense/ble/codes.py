"""Protocol code fields: the enum member for a value the protocol defines, else the plain int."""

from __future__ import annotations

import enum
from typing import TypeVar

__all__ = ["enum_or_int"]

E = TypeVar("E", bound=enum.IntEnum)


def enum_or_int(enum_type: type[E], code: int) -> E | int:
    """``enum_type(code)``, or ``code`` itself when ``enum_type`` has no such value.

    Devices send codes newer than our tables (or reserved ones); decoders keep them as ints for
    the caller to report instead of failing on them.
    """
    try:
        return enum_type(code)
    except ValueError:
        return code
