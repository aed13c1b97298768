"""One exception family for everything LiftSense reports to a user.

Every message says what went wrong, where (file, device, packet), and, where it helps, what to do.
The CLI prints these without a traceback and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class LiftSenseError(Exception):
    """Root of every error LiftSense raises on purpose."""


class DecodeError(LiftSenseError, ValueError):
    """A BLE payload could not be decoded.

    Attributes:
        data: the payload as received.
        reason: what is wrong with it, in words.
    """

    def __init__(self, data: bytes | bytearray | memoryview, reason: str) -> None:
        self.data = bytes(data)
        self.reason = reason
        shown = self.data[:64].hex()
        if len(self.data) > 64:
            shown += f"... ({len(self.data)} bytes)"
        super().__init__(f"{reason} (payload {shown or '<empty>'})")


class RecordingError(LiftSenseError):
    """A recording or journal is unreadable, invalid, or cannot be written.

    Attributes:
        path: the file concerned.
        problem: what is wrong with it.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class LogError(LiftSenseError):
    """A soreness or intake log is invalid (file and line are in the message)."""


class DeviceError(LiftSenseError):
    """A BLE device could not be found, connected to, or driven."""


class AnalysisError(LiftSenseError):
    """Input to an analysis step cannot be analysed (too short, all NaN, wrong units...)."""
