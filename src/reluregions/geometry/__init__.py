"""Geometric kernels: the LP wrapper and affine-map helpers."""
from __future__ import annotations

from .lp import LPOptions, LPSolver

__all__ = ["LPOptions", "LPSolver"]
