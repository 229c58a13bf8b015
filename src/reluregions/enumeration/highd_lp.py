"""The high-dimensional engine's LP over a cell, by the compiled simplex where it is certified.

Every LP of :mod:`reluregions.enumeration.highd` minimises a unit normal over a cell (its cuts as
rows, the box as column bounds) and asks two questions of the minimum (DESIGN.md §1, the rule of
float decisions): is it below ``below`` (the side beyond the hyperplane holds a ball of radius
``radius_tol``: an interior), and is a rigorous lower bound of the minimum over the cell *grown*
by ``radius_tol`` above ``above`` (the side's Chebyshev radius is below ``-radius_tol``: no
interior)? A minimum between the two is inside the band and is settled exactly by the caller.
The lower bound over the grown cell is weak duality with the LP's own row multipliers
(:func:`~reluregions.geometry.simplex.lp_lower_bound`), so one LP answers both questions.

HiGHS spends most of each of these LPs on its fixed overhead and its warm start, while the
compiled revised dual simplex of :mod:`reluregions.geometry.simplex` (bound flipping, an ``r x r``
inverse basis for a cell's ``r`` cuts) solves them in a fraction of the time: microseconds at 14
inputs (gcas), about a quarter of HiGHS's time at 784 (MNIST). Its answer is used only where it
decides with a certificate ``BAND`` past the threshold: a point checked against the rows and the
box for "below", the rigorous dual bound for "above". Anything closer goes to HiGHS.
"""
from __future__ import annotations

import numpy as np

from ..geometry.lp import LPSolver
from ..geometry.rays import exit_step
from ..geometry.simplex import ABOVE, OPTIMAL, box_lp, box_lp_until, lp_lower_bound

__all__ = ["cell_minimum", "shoot", "load_compiled", "BAND"]

#: How far past each threshold a compiled answer must be certified (normalised coordinates).
BAND = 1e-8
#: How far past ``above`` the compiled simplex's dual objective must get before it stops early: the
#: grown cell's rigorous bound is then still ``BAND`` clear (the cost perturbation, the growth by
#: tol and rounding take far less).
STOP_PAST = 1e-6
_INSIDE = 1e-12  # a point this close to the shrunk cell counts as inside (the band is far larger)


def load_compiled() -> None:
    """Load the compiled simplex and the dual bound (from numba's cache, or compile them) on a
    one-row LP."""
    one = np.ones(1)
    box_lp(one, np.ones((1, 1)), one, 1, -one, one, 10)
    lp_lower_bound(one, np.ones((1, 1)), one, 1, -one, one, one)


def cell_minimum(solver: LPSolver, c: np.ndarray, G: np.ndarray, hs: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray, below: float,
                 grown: tuple | None = None) -> tuple[str, np.ndarray, float, float, bool]:
    """``min c @ t`` over ``{G t <= hs, lower <= t <= upper}`` as ``(status, t, value, low, by_highs)``.

    ``status`` is HiGHS's, or ``"above"`` when the compiled simplex stopped as soon as its dual
    bound proved ``low > above`` (then ``value`` is ``nan`` and ``t`` no point of the set).

    ``value`` is on the right side of ``below`` (``value < below`` exactly when the true minimum is
    below it, to HiGHS's accuracy); ``t`` is a point of the set (to ``1e-12``) where ``c`` reaches
    ``value``. With ``grown = (hg, lower_g, upper_g, above)``, ``low`` is a rigorous lower bound of
    ``min c @ t`` over ``{G t <= hg, lower_g <= t <= upper_g}`` from the LP's row multipliers
    (``-inf`` when there are none, or without ``grown``); a compiled answer is then kept when it
    certifies ``value < below`` or ``low > above``, each ``BAND`` clear (without ``grown``: either
    side of ``below``). ``by_highs`` says whether HiGHS answered.
    """
    k = c.shape[0]
    r = G.shape[0]
    Gc = np.ascontiguousarray(G, dtype=np.float64)
    if r:
        stop = np.inf if grown is None else grown[3] + STOP_PAST
        status, t, y, _ = box_lp_until(c, Gc, hs, r, lower, upper, 20 * (r + k), stop)
        if status == ABOVE:  # stopped early: the grown cell's bound alone decides "above"
            low = lp_lower_bound(c, Gc, grown[0], r, grown[1], grown[2], y)
            if low >= grown[3] + BAND:
                return "above", t, np.nan, low, False
        if status == OPTIMAL:
            value = float(c @ t)
            inside = (float(np.max(Gc @ t - hs)) <= _INSIDE
                      and bool(np.all(t >= lower - _INSIDE)) and bool(np.all(t <= upper + _INSIDE)))
            if grown is None:
                low = -np.inf
                clear = lp_lower_bound(c, Gc, hs, r, lower, upper, y) >= below + BAND
            else:
                low = lp_lower_bound(c, Gc, grown[0], r, grown[1], grown[2], y)
                clear = low >= grown[3] + BAND
            if (inside and value <= below - BAND) or clear:
                return "optimal", np.clip(t, lower, upper), value, low, False
    status, x, value = solver.minimize_in_box(c, G, hs, lower, upper)
    low = -np.inf
    if grown is not None and status == "optimal":
        y = np.maximum(-solver.row_duals(), 0.0) if r else np.zeros(0)
        low = lp_lower_bound(c, Gc, grown[0], r, grown[1], grown[2], y)
    return status, x, value, low, True


def shoot(G: np.ndarray, h: np.ndarray, w: np.ndarray, row: np.ndarray, need: float,
          lower: np.ndarray, upper: np.ndarray, tol: float) -> np.ndarray | None:
    """A point inside the cell ``G t <= h`` shrunk by ``tol`` (box ``[lower, upper]``, the box
    shrunk by ``tol``) where ``row @ t <= row @ w - need``, or ``None``; ``w`` in the shrunk cell.

    Two rays from the witness ``w``: along ``-row`` (the hyperplane's normal), and towards the
    corner of the shrunk box that minimises ``row @ t`` (in high dimension the box reaches far
    past the normal's short exit through its faces). Each exit from the shrunk cell is a ratio
    test over the cell's rows and the box bounds; the point returned is halfway between the
    crossing and the exit.
    """
    corner = np.where(row > 0, lower, upper)
    for d in (corner - w, -row):
        drop = -float(row @ d)  # decrease of row @ t per unit step
        if not drop > 0:
            continue
        exit_ = exit_step(G, h, w, d, tol)
        step = need / drop
        if exit_ > step * (1 + 1e-9) + 1e-15:
            return w + ((step + exit_) / 2 if np.isfinite(exit_) else 2 * step + 1.0) * d
    return None
