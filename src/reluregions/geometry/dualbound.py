"""Lower bounds of many linear objectives over one polytope cut from a box, without an LP.

For ``min f·t`` over ``{t : G t <= h, |t_i| <= b}`` every multiplier vector ``y >= 0`` gives the
weak-duality bound ``-h·y - b ||f + Gᵀ y||_1`` (the box is kept as bounds, so the bound is exact
over it). With ``y = 0`` this is plain interval arithmetic over the box; a few sweeps of exact
coordinate ascent on ``y`` (each coordinate's maximiser is a weighted median of the breakpoints
``-(f + Gᵀ y)_i / G_ci``) tighten it towards the LP's optimum, for many objectives at once.

This is how the high-dimensional engine (issue 14, "most neurons never need an LP") proves that a
neuron's hyperplane misses a cell: a cell there has a handful of cuts and hundreds of coordinates,
so one sweep costs a few sorts of the objectives, against one LP per neuron. A bound that falls
short proves nothing; the neuron then goes to the LP as before.
"""
from __future__ import annotations

import numpy as np

__all__ = ["lagrangian_lower_bounds"]


def lagrangian_lower_bounds(F: np.ndarray, G: np.ndarray, h: np.ndarray, half_width: float,
                            sweeps: int = 1) -> np.ndarray:
    """Valid lower bounds of ``min F_j · t`` over ``{G t <= h, |t_i| <= half_width}``, one per row.

    Parameters
    ----------
    F : ndarray, shape (q, k)
        The objectives.
    G, h : ndarray, shapes (r, k) and (r,)
        The polytope's rows (assumed non-empty inside the box).
    half_width : float
        The box is ``[-half_width, half_width]^k``.
    sweeps : int
        Rounds of coordinate ascent over the ``r`` multipliers.

    Returns
    -------
    ndarray, shape (q,)
        Each a lower bound (up to rounding) of its objective's minimum; ``-inf`` is never returned
        for a bounded box.
    """
    q, k = F.shape
    r = G.shape[0]
    V = np.array(F, dtype=np.float64)
    Y = np.zeros((q, r))
    rows = np.arange(q)
    for _ in range(sweeps if r else 0):
        for c in range(r):
            g = G[c]
            V -= Y[:, c:c + 1] * g
            with np.errstate(divide="ignore", invalid="ignore"):
                brk = -V / g
            sign_v = np.where(V != 0, np.sign(V), np.sign(g))
            slope0 = -h[c] - half_width * (sign_v * g).sum(axis=1)
            brk = np.where(brk > 0, brk, np.inf)
            order = np.argsort(brk, axis=1)
            weights = 2 * half_width * np.abs(g)[order]
            reach = np.cumsum(weights, axis=1) >= slope0[:, None]
            first = np.argmax(reach, axis=1)
            y = brk[rows[:, None], order][rows, first]
            y = np.where((slope0 > 0) & reach[rows, first] & np.isfinite(y), y, 0.0)
            Y[:, c] = y
            V += y[:, None] * g
    return -(Y @ h) - half_width * np.abs(V).sum(axis=1)
