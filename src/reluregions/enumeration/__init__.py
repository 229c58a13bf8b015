"""Region enumeration: algorithms (one module each), the shared tree, and the public entry points."""
from __future__ import annotations

from .api import (ALGORITHMS, DEFAULT_ALGORITHM, CountResult, RegionStream, count_regions,
                  enumerate_regions, iter_regions, make_algorithm, make_problem)
from .base import Algorithm, Cell, Context, Problem, Stats

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "Algorithm", "Cell", "Context", "CountResult",
           "Problem", "RegionStream", "Stats", "count_regions", "enumerate_regions",
           "iter_regions", "make_algorithm", "make_problem"]
