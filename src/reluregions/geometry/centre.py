"""A point deep inside a polytope cut from the box ``[-1, 1]^k``, without an LP.

Damped Newton steps towards the analytic centre of ``{t : G t <= h, -1 <= t <= 1}``: the
minimiser of the log-barrier ``-Σ log(h - G t) - Σ log(1 - t_i) - Σ log(1 + t_i)``. Its Hessian is
a diagonal (the box) plus ``Gᵀ W G`` for the few rows, so each step solves an ``r × r`` system
(Woodbury) in ``O(r² k)``, never a ``k × k`` one: cheap when the polytope has a handful of cuts in
hundreds of dimensions, as the high-dimensional engine's regions do (issue 14). Every iterate
stays strictly inside (a fraction-to-the-boundary step).
"""
from __future__ import annotations

import numpy as np

__all__ = ["analytic_centre"]


def analytic_centre(G: np.ndarray, h: np.ndarray, t: np.ndarray, half_width: float = 1.0,
                    steps: int = 8, tol: float = 0.1) -> np.ndarray:
    """Move the strictly interior point ``t`` towards the analytic centre of the polytope.

    Parameters
    ----------
    G, h : ndarray
        Rows ``G t <= h`` besides the box ``[-half_width, half_width]^k``.
    t : ndarray
        A point strictly inside; returned unchanged if it is not.
    half_width : float
        Half the side of the box.
    steps : int
        At most this many damped Newton steps.
    tol : float
        Stop when the Newton decrement falls below it (the point is then near the centre).

    Returns
    -------
    ndarray
        A point strictly inside the polytope (the last iterate that was).

    Each Newton step goes at most 90 % of the way to the boundary along its direction, so a
    start next to a face or in a corner leaves it in a few steps.
    """
    t = np.array(t, dtype=np.float64)
    for _ in range(steps):
        s = h - G @ t
        up, down = half_width - t, half_width + t
        if (s.size and s.min() <= 0) or up.min(initial=1.0) <= 0 or down.min(initial=1.0) <= 0:
            return t
        inv_s = 1.0 / s
        grad = G.T @ inv_s + 1.0 / up - 1.0 / down
        diag = 1.0 / up ** 2 + 1.0 / down ** 2
        # H = diag + Gᵀ W G with W = diag(1/s²); H⁻¹ g by Woodbury through an r × r system
        dg = grad / diag
        if G.shape[0]:
            GD = G / diag
            small = np.diag(s ** 2) + GD @ G.T
            try:
                corr = np.linalg.solve(small, G @ dg)
            except np.linalg.LinAlgError:
                return t
            step = dg - GD.T @ corr
        else:
            step = dg
        decrement = float(np.sqrt(max(grad @ step, 0.0)))
        if not np.isfinite(decrement):
            return t
        alpha = min(1.0, 0.9 * _room(G, s, up, down, -step))
        candidate = t - alpha * step
        if (G.shape[0] and np.any(G @ candidate >= h)) or np.any(np.abs(candidate) >= half_width):
            return t
        t = candidate
        if decrement < tol:
            break
    return t


def _room(G: np.ndarray, s: np.ndarray, up: np.ndarray, down: np.ndarray, d: np.ndarray) -> float:
    """Largest step along ``d`` that keeps the slacks ``s``, ``up``, ``down`` non-negative."""
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(d > 0, up / d, np.where(d < 0, -down / d, np.inf)).min(initial=np.inf)
        if G.shape[0]:
            gd = G @ d
            room = min(room, np.where(gd > 0, s / gd, np.inf).min())
    return float(room)
