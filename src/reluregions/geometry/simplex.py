"""A small dense LP solver in compiled code: the bounded dual simplex over a box (issue 14).

Solves ``min c @ t  s.t.  A t <= b,  lo <= t <= hi`` for the cells of the compiled LP traversal
(:mod:`reluregions.geometry.lpdfs`), of the high-dimensional engine
(:mod:`reluregions.enumeration.highd_lp`) and of the certificate: the LP of Drammis et al. 2024,
Appendix A (Bound-IncEnum) in the form of the high-dimensional engine, the box as column bounds and
only the cell's cuts as rows (DESIGN.md §2).

Method: every row gets a slack ``s = b - A t >= 0``. With the slacks basic and every column at the
bound that minimises its own cost term, the basis is *dual feasible* from the start, whatever the
objective, so the dual simplex needs no phase 1: it drives out one primal-infeasible basic variable
per pivot. A row with no eligible entering column proves the LP infeasible (a Farkas ray), unless
its excess is below ``1e-9`` (then every excess is: the solve ends there, the point feasible to
that accuracy). An iteration limit ends the solve with status ``LIMIT``; a dual objective past
the caller's ``stop`` ends it with status ``ABOVE`` (the minimum is above it: a side proven empty
with no more pivots). Two forms, picked by shape:

* as many rows as columns or more (low-dimensional cells, the certificate): a condensed dense
  tableau ``B^-1 N`` over the nonbasic columns, a Jordan exchange per pivot (the most infeasible
  row leaves; ratio test with the largest pivot among near-ties, then the smallest index);
* many more columns than rows (784 inputs, a few dozen cuts): the revised form of
  :mod:`reluregions.geometry.simplex_revised` (an ``r x r`` inverse, bound flipping, dual steepest
  edge, perturbed costs).

Nothing the solver returns is trusted by its callers: :func:`lp_lower_bound` turns the final row
multipliers into a rigorous lower bound on the optimum of the true costs (weak duality over the
box, evaluated with a bound on its rounding), and a point is checked against the rows directly
before it counts as a witness. Where neither certificate clears its margin the caller hands the
decision to HiGHS.
"""
from __future__ import annotations

import numpy as np

from .kernels import njit, njit_borrowed
from .simplex_revised import ABOVE, INFEASIBLE, LIMIT, OPTIMAL, dual_ratio, excess, revised_lp

__all__ = ["box_lp", "box_lp_until", "exchange", "lp_lower_bound", "tableau_dual_into", "tableau_lp_into", "OPTIMAL", "INFEASIBLE", "LIMIT", "ABOVE"]

_EPS = 2.0 ** -52


@njit(cache=True, nogil=True)
def box_lp(c, A, b, r, lo, hi, max_iter):
    """:func:`box_lp_until` solved to the end: ``(status, t, y, pivots)``."""
    return box_lp_until(c, A, b, r, lo, hi, max_iter, np.inf)


@njit(cache=True, nogil=True)
def box_lp_until(c, A, b, r, lo, hi, max_iter, stop):
    """Minimise ``c @ t`` over ``A[:r] t <= b[:r]``, ``lo <= t <= hi`` (all bounds finite).

    Parameters
    ----------
    c : ndarray (k,)
    A, b : ndarray (>= r, k), (>= r,)
        Only the first ``r`` rows are read.
    lo, hi : ndarray (k,)
        Finite column bounds with ``lo <= hi``.
    max_iter : int
        Pivots before giving up (status ``LIMIT``).
    stop : float
        Stop with status ``ABOVE`` once the dual objective (of the perturbed costs) exceeds it:
        the minimum is above ``stop`` up to the perturbation, which the caller's rigorous
        :func:`lp_lower_bound` of ``y`` then confirms. ``inf`` solves to the end.

    Returns
    -------
    status : int
        ``OPTIMAL``, ``INFEASIBLE``, ``LIMIT`` or ``ABOVE``.
    t : ndarray (k,)
        The final basic solution (primal feasible up to rounding when optimal; not when ``ABOVE``).
    y : ndarray (r,)
        Row multipliers ``>= 0`` (the slacks' reduced costs): ``c + A^T y`` prices the columns.
    pivots : int
    """
    if c.shape[0] > 2 * r:
        return revised_lp(c, A, b, r, lo, hi, max_iter, stop)
    return _tableau_lp(c, A, b, r, lo, hi, max_iter, stop)


@njit(cache=True, nogil=True)
def _tableau_lp(c, A, b, r, lo, hi, max_iter, stop):
    """:func:`box_lp_until` on the condensed tableau (for as many rows as columns, or more)."""
    k = c.shape[0]
    y = np.zeros(r)
    status, t, pivots = tableau_lp_into(c, A, b, r, lo, hi, max_iter, stop, np.empty((r, k)),
                                        np.empty(k), np.empty(k, np.int64),
                                        np.empty(r, np.int64), np.empty(k + r),
                                        np.empty(k + r, np.bool_), y)
    return status, t.copy(), y, pivots


@njit(cache=True, nogil=True)
def tableau_lp_into(c, A, b, r, lo, hi, max_iter, stop, T, d, col, head, val, upper, y):
    """:func:`_tableau_lp` in the caller's scratch arrays (no allocation: for callers solving many
    small LPs): ``T`` (>= r, >= k), ``d``, ``col`` (>= k), ``head`` (>= r), ``val``, ``upper``
    (>= k + r) and ``y`` (>= r; its first ``r`` entries receive the multipliers).

    Returns ``(status, t, pivots)`` with ``t`` a view of ``val`` (overwritten by the next solve).
    """
    status, pivots = tableau_dual_into(c, A, b, r, lo, hi, max_iter, stop, T, d, col, head, val,
                                       upper, y)
    return status, val[:c.shape[0]], pivots


@njit_borrowed()
def tableau_dual_into(c, A, b, r, lo, hi, max_iter, stop, T, d, col, head, val, upper, y):
    """:func:`tableau_lp_into` for compiled callers that borrow (:func:`~.kernels.njit_borrowed`):
    ``(status, pivots)``, the solution in ``val[:k]`` and the final basis left in the scratch
    arrays (for :func:`reluregions.geometry.simplex_primal.tableau_primal_into`)."""
    k = c.shape[0]
    n = k + r
    # Condensed tableau: x_B = beta - T x_N over the k nonbasic columns only (the basic ones are
    # unit vectors), so a pivot costs r * k, not r * (k + r). Variables 0..k-1 are the columns,
    # k + i the slack of row i; ``head[i]`` labels row i, ``col[j]`` labels column j.
    for i in range(r):
        for j in range(k):
            T[i, j] = A[i, j]
    # d: reduced costs of the nonbasic columns; val: every variable's value (nonbasic: its
    # bound); upper: nonbasic at its upper bound
    for j in range(k):
        col[j] = j
    for i in range(r):
        head[i] = k + i
    for v in range(n):
        val[v] = 0.0
        upper[v] = False
    for j in range(k):
        d[j] = c[j]
        upper[j] = c[j] < 0.0
        val[j] = hi[j] if upper[j] else lo[j]
    for i in range(r):
        s = b[i]
        for j in range(k):
            s -= A[i, j] * val[j]
        val[k + i] = s
    scale = 1.0
    for i in range(r):
        scale = max(scale, abs(b[i]))
    ftol = 1e-12 * scale
    ptol = 1e-11
    status = LIMIT
    pivots = 0
    while pivots <= max_iter:
        if stop < np.inf:  # the dual objective: the basic solution's value
            z = 0.0
            for j in range(k):
                z += c[j] * val[j]
            if z > stop:
                status = ABOVE
                break
        # leaving row: the most infeasible basic variable
        row = -1
        worst = ftol
        below = True
        for i in range(r):
            e, low = excess(head[i], val[head[i]], k, lo, hi)
            if e > worst:
                worst, row, below = e, i, low
        if row < 0:
            status = OPTIMAL
            break
        # dual ratio test over the nonbasic columns
        q = -1
        best = np.inf
        bestp = 0.0
        for j in range(k):
            v = col[j]
            if v < k and lo[v] == hi[v]:
                continue  # a fixed column never enters
            a = T[row, j]
            ratio = dual_ratio(a, d[j], upper[v], below, ptol)
            if ratio < 0.0:
                continue
            if ratio < best - 1e-12 or (ratio <= best + 1e-12 and abs(a) > bestp):
                best, bestp, q = ratio, abs(a), j
        if q < 0:  # a Farkas row, unless the worst excess is rounding at a degenerate vertex
            status = INFEASIBLE if worst > 1e-9 * scale else OPTIMAL
            break
        # primal step: the leaving variable lands on its violated bound
        v = head[row]
        e = col[q]
        bound = (lo[v] if below else hi[v]) if v < k else 0.0
        piv = T[row, q]
        delta = (val[v] - bound) / piv
        for i in range(r):
            if i != row:
                val[head[i]] -= T[i, q] * delta
        val[e] += delta
        val[v] = bound
        upper[v] = not below
        exchange(T, d, head, col, r, k, row, q)
        pivots += 1
    for i in range(r):
        y[i] = 0.0
    for j in range(k):
        if col[j] >= k:
            y[col[j] - k] = max(d[j], 0.0)
    return status, pivots


@njit(cache=True, nogil=True, inline="always")
def exchange(T, d, head, col, r, k, row, q):
    """The pivot of the condensed tableau ``x_B = beta - T x_N``: basic ``head[row]`` and nonbasic
    ``col[q]`` trade places (a Jordan exchange of ``T``'s first ``r`` rows and ``k`` columns), the
    reduced costs ``d`` updated with it. Shared by the dual (:func:`tableau_lp_into`) and the primal
    (:func:`reluregions.geometry.simplex_primal.tableau_primal_into`) simplex."""
    piv = T[row, q]
    theta = d[q] / piv
    for j in range(k):
        d[j] -= theta * T[row, j]
    d[q] = -theta
    inv = 1.0 / piv
    for j in range(k):
        T[row, j] *= inv
    T[row, q] = inv
    for i in range(r):
        if i == row:
            continue
        f = T[i, q]
        if f != 0.0:
            for j in range(k):
                T[i, j] -= f * T[row, j]
            T[i, q] = -f * inv
    v = head[row]
    head[row] = col[q]
    col[q] = v


@njit(cache=True, nogil=True)
def lp_lower_bound(c, A, b, r, lo, hi, y):
    """A rigorous lower bound on ``min c @ t`` over ``A[:r] t <= b[:r]``, ``lo <= t <= hi``.

    Weak duality: for any ``y >= 0``, ``c @ t >= (c + A^T y) @ t - y @ b`` on the feasible set, and
    the right side's minimum over the box is read off the bounds. The sum is lowered by a bound on
    the rounding of its evaluation, so the value returned never exceeds the true minimum (nor
    ``+inf`` for an empty set, which any bound is).
    """
    k = c.shape[0]
    total = 0.0
    mag = 0.0
    terms = r + k + 2
    for j in range(k):
        g = c[j]
        gm = abs(c[j])
        for i in range(r):
            if y[i] > 0.0:
                g += A[i, j] * y[i]
                gm += abs(A[i, j] * y[i])
        x = lo[j] if g >= 0.0 else hi[j]
        total += g * x
        mag += gm * max(abs(lo[j]), abs(hi[j]))
    for i in range(r):
        if y[i] > 0.0:
            total -= y[i] * b[i]
            mag += abs(y[i] * b[i])
    return total - 2.0 * terms * _EPS * mag
