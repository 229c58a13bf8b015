"""Input/output at the edges: the in-memory RegionSet and the streaming Parquet writer/reader."""
from __future__ import annotations

from .regionset import RegionSet, pack_bits, unpack_bits

__all__ = ["RegionSet", "pack_bits", "unpack_bits"]
