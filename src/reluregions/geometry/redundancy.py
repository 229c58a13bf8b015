"""Irredundant H-representations by LP (one LP per constraint)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .lp import LPSolver

__all__ = ["irredundant"]


def irredundant(G: np.ndarray, h: np.ndarray, solver: LPSolver, stats: Any = None,
                tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Drop the rows of ``G t <= h`` that no point of the polytope makes tight.

    Row ``i`` is redundant when maximising ``G_i t`` subject to the other kept rows (and
    ``G_i t <= h_i + 1``, to keep the LP bounded) stays at most ``h_i + tol``. Exact duplicates are
    removed first. Rows are assumed to have unit norm.
    """
    rounded = np.round(np.column_stack([G, h]), 12)
    _, first = np.unique(rounded, axis=0, return_index=True)
    keep = np.zeros(len(h), dtype=bool)
    keep[np.sort(first)] = True
    for i in np.flatnonzero(keep):
        mask = keep.copy()
        rows = G[mask]
        rhs = h[mask].copy()
        rhs[np.flatnonzero(np.flatnonzero(mask) == i)[0]] += 1.0
        status, _, value = solver.minimize(-G[i], rows, rhs)
        if stats is not None:
            stats.lps += 1
        if status == "optimal" and -value <= h[i] + tol:
            keep[i] = False
    return G[keep], h[keep]
