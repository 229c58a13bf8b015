"""Warm-started LPs over shared rows: the primal simplex on the condensed tableau (issue 15).

Callers that solve many LPs over the same rows ``A t <= b``, ``lo <= t <= hi`` with different
objectives (the certificate's bounding box of a region: ``2k`` coordinate LPs, then one LP per
constraint to disprove as a facet; Drammis et al. 2024, Appendix A, over one region's rows) solve
the first with the dual simplex of :func:`reluregions.geometry.simplex.tableau_dual_into` and every
later one from the basis the previous one ended in. That basis is a vertex of the feasible set, so
it is *primal* feasible for any objective: the primal simplex (Dantzig's rule over the ``k``
nonbasic variables, a bounded ratio test with bound flips) reaches the next optimum in a few
pivots, where the dual simplex from the slack basis needs about ``k``.

The column bounds may shrink between solves (the certificate tightens its box after every
coordinate LP): nonbasic columns are moved onto their new bounds first. A tightened bound that a
rigorous upper bound of the LP's own optimum gave never cuts off the current vertex, except by
rounding, which the ratio test absorbs (a negative step is taken as zero).

As with the dual form, nothing returned is trusted: callers turn the multipliers ``y`` into a
rigorous bound by weak duality, so an iteration limit or a loss of feasibility to rounding costs
tightness, never correctness. A failed solve (status ``LIMIT``) leaves no valid basis: the caller
solves from scratch.
"""
from __future__ import annotations

import numpy as np

from .kernels import njit_borrowed
from .simplex import LIMIT, OPTIMAL, exchange

__all__ = ["tableau_primal_into"]


@njit_borrowed(error_model="numpy")
def tableau_primal_into(c, r, lo, hi, max_iter, T, d, col, head, val, upper, y):
    """Minimise ``c @ t`` from the basis left in the scratch arrays by the previous solve.

    Parameters
    ----------
    c : ndarray (k,)
        The new costs.
    r : int
        Rows of the tableau (those of the previous solve).
    lo, hi : ndarray (k,)
        Finite column bounds, each inside the previous solve's (nonbasic columns are moved onto
        them).
    max_iter : int
        Pivots (and bound flips) before giving up with status ``LIMIT``.
    T, d, col, head, val, upper : ndarray
        The state :func:`reluregions.geometry.simplex.tableau_dual_into` (or this function) ended
        in with status ``OPTIMAL``: ``x_B = beta - T x_N``, labels, values, bound flags.
    y : ndarray (>= r,)
        Receives the row multipliers (the slacks' reduced costs, ``>= 0``) when optimal.

    Returns
    -------
    status : int
        ``OPTIMAL`` or ``LIMIT``.
    pivots : int
    """
    k = c.shape[0]
    for j in range(k):  # nonbasic columns onto their (possibly tightened) bounds
        v = col[j]
        if v < k:
            target = hi[v] if upper[v] else lo[v]
            if target != val[v]:
                delta = target - val[v]
                for i in range(r):
                    val[head[i]] -= T[i, j] * delta
                val[v] = target
    scale = 0.0
    for j in range(k):
        d[j] = c[col[j]] if col[j] < k else 0.0
        scale = max(scale, abs(c[j]))
    for i in range(r):  # reduced costs d_N = c_N - c_B T
        v = head[i]
        if v < k and c[v] != 0.0:
            for j in range(k):
                d[j] -= c[v] * T[i, j]
    dtol = 1e-12 * scale
    ptol = 1e-11
    status = LIMIT
    pivots = 0
    while pivots <= max_iter:
        # entering: the nonbasic variable whose move off its bound lowers the cost most per unit
        q = -1
        best = dtol
        for j in range(k):
            v = col[j]
            if v < k and lo[v] == hi[v]:
                continue
            gain = d[j] if (v < k and upper[v]) else -d[j]
            if gain > best:
                best, q = gain, j
        if q < 0:
            status = OPTIMAL
            break
        e = col[q]
        sgn = -1.0 if (e < k and upper[e]) else 1.0
        step = hi[e] - lo[e] if e < k else np.inf  # its own bound first (a bound flip)
        row = -1
        rate = 0.0
        for i in range(r):
            g = -sgn * T[i, q]  # d x_B[i] / d step
            if abs(g) <= ptol:
                continue
            v = head[i]
            if g < 0.0:
                room = val[v] - (lo[v] if v < k else 0.0)
                lim = max(room, 0.0) / -g
            elif v < k:
                lim = max(hi[v] - val[v], 0.0) / g
            else:
                continue  # a slack has no upper bound
            if lim < step - 1e-12 or (lim <= step + 1e-12 and row >= 0 and abs(g) > rate):
                step, row, rate = lim, i, abs(g)
        if step == np.inf:
            break  # no bound stops it (not over a box): give up, the caller solves afresh
        delta = sgn * step
        for i in range(r):
            val[head[i]] -= T[i, q] * delta
        val[e] += delta
        pivots += 1
        if row < 0:  # the entering variable reached its other bound: no basis change
            upper[e] = not upper[e]
            val[e] = hi[e] if upper[e] else lo[e]
            continue
        v = head[row]
        if v < k:  # the leaving variable lands on the bound it reached
            upper[v] = -sgn * T[row, q] > 0.0
            val[v] = hi[v] if upper[v] else lo[v]
        else:
            upper[v] = False
            val[v] = 0.0
        exchange(T, d, head, col, r, k, row, q)
    for i in range(r):
        y[i] = 0.0
    if status == OPTIMAL:
        for j in range(k):
            if col[j] >= k:
                y[col[j] - k] = max(d[j], 0.0)
    return status, pivots
