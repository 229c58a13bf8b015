"""Bound-IncEnum (Drammis et al. 2024, Appendix A): insert one hyperplane into one cell.

Faithful to the paper: both sides of the hyperplane are tested with an LP (here the Chebyshev-ball
LP, so the test is "radius above ``radius_tol``"), and every inserted hyperplane becomes a
constraint of the child cells, whether it split the cell or not.
"""
from __future__ import annotations

import numpy as np

from ..base import Cell, Context

__all__ = ["incremental_step"]


def incremental_step(cell: Cell, a: np.ndarray, off: float, bit_index: int, tol: float,
                     ctx: Context) -> list[Cell]:
    """Children of ``cell`` cut by the unit-normal hyperplane ``a t + off = 0``.

    Each side ``a t + off >= 0`` (bit 1) and ``<= 0`` (bit 0) is kept when its Chebyshev radius
    exceeds ``tol``. If neither does (a cell of radius near ``tol`` cut through the middle), the
    larger side is kept so that no part of the domain is lost.
    """
    sides = []
    for bit, row, rhs in ((True, -a, off), (False, a, -off)):
        G = np.vstack([cell.G, row])
        h = np.append(cell.h, rhs)
        center, radius = ctx.solver.chebyshev(G, h, np.ones(len(h)))
        ctx.stats.lps += 1
        sides.append((radius, bit, row, rhs, center))
    kept = [s for s in sides if s[0] > tol] or [max(sides, key=lambda s: s[0])]
    return [cell.split(row, rhs, center, radius, bit_index, bit)
            for radius, bit, row, rhs, center in kept]
