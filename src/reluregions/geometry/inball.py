"""A ball inside a polytope cut from a box, by the compiled simplex, with a rigorous radius.

The Chebyshev-ball LP of Drammis et al. 2024, Appendix A (the feasibility test in the form used
throughout the package, :meth:`reluregions.geometry.lp.LPSolver.chebyshev`), posed for the compiled
dual simplex of :mod:`reluregions.geometry.simplex` with the box ``lower <= t <= upper`` as column
bounds:

    max r  s.t.  G t + |G_i| r <= h,   lower + shrink <= t <= upper - shrink,   floor <= r <= cap.

With ``shrink = 0`` and the domain's facets among the rows it is the Chebyshev LP itself (the
low-dimensional form: a few more rows than columns, the condensed tableau). With ``shrink = cap``
the box's facets need no rows at all: every ``t`` in the shrunk box is ``cap`` or more from them,
so a solution ``(t, r)`` still has a ball of radius ``min(r, cap)`` inside, and the LP keeps only
the rows that can reach the shrunk box (``max G_i t + |G_i| cap > h_i`` over it): the form for
hundreds of coordinates and a handful of tight cuts (the revised simplex). Its optimum is
``min(R, cap)`` when the Chebyshev radius ``R`` is at least ``cap``, and a lower bound of ``R``
otherwise.

Nothing the simplex returns is trusted: :func:`certified_radius` bounds the distance from its
point to every row (rounding included), which is the radius a caller may rely on.
"""
from __future__ import annotations

import numpy as np

from .simplex import OPTIMAL, box_lp_until

__all__ = ["box_chebyshev", "certified_radius"]

_EPS = 2.0 ** -52


def certified_radius(G: np.ndarray, h: np.ndarray, t: np.ndarray,
                     l1: np.ndarray | None = None, norms: np.ndarray | None = None,
                     sign: np.ndarray | None = None) -> float:
    """A lower bound of the distance from ``t`` to every hyperplane of ``G t <= h`` (negative if
    ``t`` violates a row): ``min_i (h_i - G_i t) / |G_i|``, rounding included.

    Parameters
    ----------
    G, h : ndarray
        The rows, shapes (m, k) and (m,).
    t : ndarray (k,)
    l1, norms : ndarray (m,), optional
        The rows' 1- and 2-norms when the caller has them (computed otherwise).
    sign : ndarray (m,) of +-1, optional
        The rows are ``sign_i G_i`` (a negation is exact, so nothing else changes).

    Notes
    -----
    ``fl(h_i - G_i t)`` is within ``gamma (|h_i| + |G_i|_1 |t|_inf)`` of the true slack with
    ``gamma = (k + 2) eps / (1 - (k + 2) eps)`` (a dot product of ``k`` terms and a subtraction),
    and the computed 2-norm within ``gamma`` of the true one, relatively; both are taken against
    the radius.
    """
    if len(h) == 0:
        return np.inf
    k = G.shape[1]
    gamma = 2.0 * (k + 2) * _EPS
    l1 = np.abs(G).sum(axis=1) if l1 is None else l1
    norms = np.linalg.norm(G, axis=1) if norms is None else norms
    Gt = G @ t
    slack = h - (Gt if sign is None else sign * Gt)
    err = gamma * (np.abs(h) + l1 * float(np.max(np.abs(t), initial=0.0))) + 1e-300
    low = slack - err
    radius = np.where(low > 0, low / (norms * (1 + gamma)), low / np.maximum(norms, 1e-300))
    return float(radius.min())


def box_chebyshev(G: np.ndarray, h: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  shrink: float, cap: float, floor: float = -1.0,
                  norms: np.ndarray | None = None,
                  reach: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """The LP of the module notes by the compiled simplex: ``(t, r)``, or None when it ends
    otherwise than optimal (infeasible above ``floor``, or out of pivots).

    Parameters
    ----------
    G, h : ndarray
        Rows ``G t <= h`` besides the box.
    lower, upper : ndarray (k,)
        Finite column bounds.
    shrink, cap, floor : float
        The box shrunk by ``shrink`` on every side; ``floor <= r <= cap``.
    norms : ndarray (m,), optional
        ``|G_i|`` (computed otherwise).
    reach : ndarray (m,), optional
        ``max G_i t`` over the shrunk box, when the caller has it: rows with
        ``reach + |G_i| cap <= h`` are left out (they cannot be tight).
    """
    k = G.shape[1]
    lo = np.append(np.asarray(lower, float) + shrink, floor)
    hi = np.append(np.asarray(upper, float) - shrink, cap)
    if not np.all(lo[:k] <= hi[:k]):
        return None
    norms = np.linalg.norm(G, axis=1) if norms is None else norms
    if reach is None:
        reach = np.maximum(G * lo[:k], G * hi[:k]).sum(axis=1)
    keep = np.flatnonzero(reach + norms * cap > h)
    r = keep.size
    if r == 0:
        return (lo[:k] + hi[:k]) / 2, cap
    A = np.empty((r, k + 1))
    A[:, :k] = G[keep]
    A[:, k] = norms[keep]
    c = np.zeros(k + 1)
    c[k] = -1.0
    status, x, _, _ = box_lp_until(c, A, np.ascontiguousarray(h[keep], dtype=np.float64), r, lo,
                                   hi, 50 * (r + k), np.inf)
    if status != OPTIMAL:
        return None
    return np.clip(x[:k], lo[:k], hi[:k]), float(x[k])
