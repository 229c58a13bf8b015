"""The high-dimensional engine's LP over a cell, by the compiled simplex where it is certified.

Every LP of :mod:`reluregions.enumeration.highd` minimises a unit normal over a cell shrunk by
``radius_tol`` (its cuts as rows, the box as column bounds) and compares the minimum with one or
two thresholds. In few dimensions (gcas: 14 inputs) HiGHS spends most of each LP on its fixed
overhead, while the compiled bounded dual simplex of :mod:`reluregions.geometry.simplex` solves it
in microseconds. Its answer is used only where it decides every comparison with a certificate
``BAND`` past the threshold (DESIGN.md §1, the rule of the compiled LP traversal): a point checked
against the rows and the box for "below", a rigorous dual bound for "not below". Anything closer,
and every LP in many dimensions (the dense tableau needs hundreds of pivots at 784 inputs), goes
to HiGHS, so the decisions are those HiGHS makes.
"""
from __future__ import annotations

import numpy as np

from ..geometry.lp import LPSolver
from ..geometry.simplex import OPTIMAL, box_lp, lp_lower_bound

__all__ = ["cell_minimum", "load_compiled", "COMPILED_MAX_DIM", "BAND"]

#: Most input coordinates for which the compiled simplex is tried first.
COMPILED_MAX_DIM = 64
#: How far past each threshold a compiled answer must be certified (normalised coordinates).
BAND = 1e-8
_INSIDE = 1e-12  # a point this close to the shrunk cell counts as inside (the band is far larger)


def load_compiled() -> None:
    """Load the compiled simplex (from numba's cache, or compile it) on a one-row LP."""
    one = np.ones(1)
    box_lp(one, np.ones((1, 1)), one, 1, -one, one, 10)


def cell_minimum(solver: LPSolver, c: np.ndarray, G: np.ndarray, hs: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray,
                 thresholds: tuple[float, ...]) -> tuple[str, np.ndarray, float, bool]:
    """``min c @ t`` over ``{G t <= hs, lower <= t <= upper}`` as ``(status, t, value, by_highs)``.

    ``value`` is on the right side of every threshold (``value < θ`` exactly when the true minimum
    is below ``θ``, to HiGHS's accuracy); ``t`` is a point of the set (to ``1e-12``) where ``c``
    reaches ``value``. ``by_highs`` says whether HiGHS answered.
    """
    k = c.shape[0]
    r = G.shape[0]
    if r and k <= COMPILED_MAX_DIM:
        Gc = np.ascontiguousarray(G, dtype=np.float64)
        status, t, y, _ = box_lp(c, Gc, hs, r, lower, upper, 20 * (r + k))
        if status == OPTIMAL:
            value = float(c @ t)
            inside = (float(np.max(Gc @ t - hs)) <= _INSIDE
                      and bool(np.all(t >= lower - _INSIDE)) and bool(np.all(t <= upper + _INSIDE)))
            bound = lp_lower_bound(c, Gc, hs, r, lower, upper, y)
            if all((inside and value <= theta - BAND) or bound >= theta + BAND
                   for theta in thresholds):
                return "optimal", np.clip(t, lower, upper), value, False
    status, x, value = solver.minimize_in_box(c, G, hs, lower, upper)
    return status, x, value, True
