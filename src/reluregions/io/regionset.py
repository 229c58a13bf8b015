"""The in-memory region set of small runs and tests: the region block under its public name.

:class:`RegionSet` is :class:`reluregions.regionblock.RegionBlock` (columns ``bits``, ``points``,
``radii``, ``ranks``, optional ``bounded`` and ``A, c, G, h``; canonical order on demand with
``sorted()``), kept under this name for the public API (DESIGN.md §4).
"""
from __future__ import annotations

from ..regionblock import RegionBlock, pack_bits, unpack_bits

__all__ = ["RegionSet", "pack_bits", "unpack_bits"]

#: The region block under its public name (one region type).
RegionSet = RegionBlock
