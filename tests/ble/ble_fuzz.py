"""Random and mutated payloads for the decoders' robustness tests (shared by test_*.py here)."""

from __future__ import annotations

import numpy as np


def random_payloads(rng: np.random.Generator, n: int, max_len: int) -> list[bytearray]:
    """n payloads of uniformly random bytes and lengths 0..max_len."""
    lengths = rng.integers(0, max_len + 1, n)
    blob = rng.integers(0, 256, int(lengths.sum()), dtype=np.uint8).tobytes()
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [bytearray(blob[a:b]) for a, b in zip(starts, ends, strict=True)]


def mutations(rng: np.random.Generator, seeds: list[bytes], n: int) -> list[bytes]:
    """n mutations of real payloads: 1-3 bit flips, a truncation, or 1-7 random extra bytes."""
    out = []
    picks = rng.integers(0, len(seeds), n)
    kinds = rng.integers(0, 3, n)
    for pick, kind in zip(picks.tolist(), kinds.tolist(), strict=True):
        data = bytearray(seeds[pick])
        if kind == 0 and data:
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            data = data[: int(rng.integers(0, len(data) + 1))]
        else:
            data += rng.integers(0, 256, int(rng.integers(1, 8)), dtype=np.uint8).tobytes()
        out.append(bytes(data))
    return out
