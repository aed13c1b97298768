"""LiftSense: BLE heart-rate and IMU recording and analysis for resistance training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["LiftSenseError", "Recording", "__version__", "load"]

if TYPE_CHECKING:
    from liftsense.errors import LiftSenseError
    from liftsense.recording import Recording, load


def __getattr__(name: str) -> Any:
    # Lazy so that `import liftsense` (and `liftsense --help`) stays cheap: pyarrow and pandas
    # are imported only when a recording is actually touched.
    if name in ("load", "Recording"):
        from liftsense import recording

        return getattr(recording, name)
    if name == "LiftSenseError":
        from liftsense.errors import LiftSenseError

        return LiftSenseError
    raise AttributeError(f"module 'liftsense' has no attribute {name!r}")
