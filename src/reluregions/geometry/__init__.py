"""Geometric kernels: the LP wrapper, exact arithmetic, polytope kernels (vertices, facets, volume)."""
from __future__ import annotations

from .lp import LPOptions, LPSolver

__all__ = ["LPOptions", "LPSolver"]
