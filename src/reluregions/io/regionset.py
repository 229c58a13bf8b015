"""An in-memory set of regions, for small runs and tests (columnar, canonical order on demand)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["RegionSet", "pack_bits", "unpack_bits"]


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a (n, n_hidden) bool matrix into bytes, ``numpy.packbits(..., bitorder="little")``."""
    return np.packbits(np.asarray(bits, dtype=bool), axis=-1, bitorder="little")


def unpack_bits(packed: np.ndarray, n_hidden: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=n_hidden,
                         bitorder="little").astype(bool)


@dataclass(eq=False)
class RegionSet:
    """Regions as columns: ``bits`` (n, n_hidden), ``points`` (n, d), ``radii`` (n,), ``ranks`` (n, L).

    ``stats`` and ``seconds`` describe the run that produced the set, when there was one.
    ``bounded`` (n,) marks the bounded regions of a whole-space run (None: all are bounded).
    """

    bits: np.ndarray
    points: np.ndarray
    radii: np.ndarray
    ranks: np.ndarray
    maps: list[tuple[np.ndarray, np.ndarray]] | None = None
    stats: Any = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    bounded: np.ndarray | None = None

    @classmethod
    def from_regions(cls, regions: Sequence[Any], input_dim: int, n_layers: int) -> "RegionSet":
        """Collect :class:`~reluregions.enumeration.Region` objects into columns."""
        n = len(regions)
        n_hidden = len(regions[0].bits) if n else 0
        bits = np.array([r.bits for r in regions], dtype=bool).reshape(n, n_hidden)
        points = np.array([r.point for r in regions], dtype=float).reshape(n, input_dim)
        radii = np.array([r.radius for r in regions], dtype=float)
        ranks = np.array([r.ranks if r.ranks else (-1,) * n_layers for r in regions],
                         dtype=np.int64).reshape(n, n_layers)
        maps = None
        if n and regions[0].A is not None:
            maps = [(r.A, r.c) for r in regions]
        bounded = np.array([getattr(r, "bounded", True) for r in regions], dtype=bool)
        return cls(bits, points, radii, ranks, maps, bounded=None if bounded.all() else bounded)

    def __len__(self) -> int:
        return int(self.bits.shape[0])

    @property
    def packed(self) -> np.ndarray:
        """Patterns packed to bytes, as stored in Parquet files."""
        return pack_bits(self.bits)

    def pattern_keys(self) -> list[bytes]:
        """Each pattern as a ``bytes`` key (packed), usable in sets and dicts."""
        return [row.tobytes() for row in self.packed]

    def sorted(self) -> "RegionSet":
        """A copy in canonical order (lexicographic in the packed pattern bytes)."""
        keys = self.pattern_keys()
        order = sorted(range(len(keys)), key=keys.__getitem__)
        maps = [self.maps[i] for i in order] if self.maps is not None else None
        bounded = self.bounded[order] if self.bounded is not None else None
        return RegionSet(self.bits[order], self.points[order], self.radii[order],
                         self.ranks[order], maps, self.stats, self.seconds, dict(self.extra), bounded)
