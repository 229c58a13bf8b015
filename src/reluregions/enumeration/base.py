"""The enumeration tree's types, re-exported from :mod:`reluregions.tree` (their home).

Kept so that ``from reluregions.enumeration.base import Cell`` (and ``from .base import ...``
inside :mod:`reluregions.enumeration`) keeps working; new code imports from
:mod:`reluregions.tree`.
"""
from __future__ import annotations

from ..tree import (Algorithm, Block, Cell, Context, Problem, RegionBlock, RegionCount, Stats,
                    pack_cells, root_items, unpack_cells)

__all__ = ["Cell", "Block", "RegionBlock", "RegionCount", "Stats", "Context", "Algorithm",
           "Problem", "pack_cells", "unpack_cells", "root_items"]
