"""Physical constants shared by decoders, emulation and analysis."""

from __future__ import annotations

__all__ = ["G_MPS2"]

#: Standard gravity (m/s² per g).
G_MPS2 = 9.80665
