"""The revised bounded dual simplex, for LPs with many more columns than rows (issue 14).

The method of :mod:`reluregions.geometry.simplex` (same problem, same starting basis, same
answers) in the form that suits a cell of the high-dimensional engine: hundreds of boxed columns
(784 inputs) and a few dozen rows (its cuts). The inverse basis is ``r x r``, so a pivot costs one
pass over ``A`` for the leaving row of the tableau plus ``O(r^2)``, not a Jordan exchange of the
whole ``r x k`` tableau. Three more things make it fast at that shape:

* **bound flipping** in the ratio test: a boxed column whose whole range does not repair the
  leaving row's excess jumps to its other bound instead of entering, so a row that needs hundreds
  of columns to move takes one pivot, not hundreds; only the candidates passed are ordered (a heap);
* **dual steepest edge**: the leaving row has the largest excess relative to its row of the
  inverse, measured exactly each time (the inverse is small);
* **a cost perturbation** of a relative ``1e-9`` away from zero: an objective in the span of a few
  rows would otherwise tie every ratio at zero, and the dual simplex cycle. Callers bound the true
  costs (:func:`~reluregions.geometry.simplex.lp_lower_bound`), so nothing relies on it.

Called through :func:`~reluregions.geometry.simplex.box_lp_until`, which picks the form by shape.
"""
from __future__ import annotations

import numpy as np

from .kernels import njit

__all__ = ["revised_lp", "dual_ratio", "excess", "OPTIMAL", "INFEASIBLE", "LIMIT", "ABOVE"]

OPTIMAL, INFEASIBLE, LIMIT, ABOVE = 0, 1, 2, 3
_NUDGE = 1e-9  # relative size of the cost perturbation


@njit(cache=True, nogil=True, inline="always")
def excess(v, x, k, lo, hi):
    """How far variable ``v`` (a column when ``v < k``, else a slack ``>= 0``) at value ``x`` is
    outside its bounds, and whether below them: ``(excess, below)``, the excess ``<= 0`` inside."""
    if v < k:
        if lo[v] - x >= x - hi[v]:
            return lo[v] - x, True
        return x - hi[v], False
    return -x, True


@njit(cache=True, nogil=True, inline="always")
def dual_ratio(a, dj, up, below, ptol):
    """The dual ratio test's ratio of a nonbasic variable with tableau entry ``a`` in the leaving
    row, reduced cost ``dj`` and at its upper bound when ``up``; ``-1`` when it cannot enter
    (moving it off its bound would not move the leaving variable towards its violated bound)."""
    if below:
        ok = (a < -ptol and not up) or (a > ptol and up)
    else:
        ok = (a > ptol and not up) or (a < -ptol and up)
    if not ok:
        return -1.0
    return max(-dj if up else dj, 0.0) / abs(a)


@njit(cache=True, nogil=True)
def _sift(heap, key, p, size):
    """Restore the min-heap order of ``heap[:size]`` (by ``key``) below position ``p``."""
    while True:
        child = 2 * p + 1
        if child >= size:
            return
        if child + 1 < size and key[heap[child + 1]] < key[heap[child]]:
            child += 1
        if key[heap[child]] >= key[heap[p]]:
            return
        heap[p], heap[child] = heap[child], heap[p]
        p = child


@njit(cache=True, nogil=True)
def revised_lp(c, A, b, r, lo, hi, max_iter, stop):
    """:func:`~reluregions.geometry.simplex.box_lp_until` in the revised form (for many more
    columns than rows): the same arguments and results."""
    k = c.shape[0]
    n = k + r
    # Variables 0..k-1 are the columns, k + i the slack of row i (A t + s = b, s >= 0).
    # ``head[i]`` is the basic variable of row i, ``pos[v]`` the row of a basic v (-1: nonbasic).
    binv = np.zeros((r, r))
    AT = np.empty((k, r))  # the rows' columns, contiguous: a flipped column is read whole
    for i in range(r):
        for j in range(k):
            AT[j, i] = A[i, j]
    head = np.empty(r, np.int64)
    pos = np.full(n, -1, np.int64)
    xb = np.empty(r)  # values of the basic variables
    val = np.zeros(n)  # values of the nonbasic variables (their bounds)
    d = np.zeros(n)  # reduced costs
    upper = np.zeros(n, np.bool_)  # nonbasic at its upper bound
    cmax = 0.0
    cp = np.empty(k)  # the perturbed costs
    for j in range(k):
        cmax = max(cmax, abs(c[j]))
    for j in range(k):
        # costs pushed apart by a tiny deterministic amount away from zero, so that no two columns
        # tie in the ratio test (an objective in the span of a few rows makes every reduced cost
        # vanish at once, and the dual simplex then cycles); the callers' bounds use the true costs
        nudge = _NUDGE * cmax * (1.0 + ((j * 7919) % 1009) / 1009.0)
        d[j] = c[j] - nudge if c[j] < 0.0 else c[j] + nudge
        cp[j] = d[j]
        upper[j] = c[j] < 0.0
        val[j] = hi[j] if upper[j] else lo[j]
    for i in range(r):
        binv[i, i] = 1.0
        head[i] = k + i
        pos[k + i] = i
        s = b[i]
        for j in range(k):
            s -= A[i, j] * val[j]
        xb[i] = s
    scale = 1.0
    for i in range(r):
        scale = max(scale, abs(b[i]))
    ftol = 1e-12 * scale
    ptol = 1e-11
    alpha = np.empty(n)  # the leaving row of B^-1 [A | I]
    cand = np.empty(n, np.int64)
    ratios = np.empty(n)
    heap = np.empty(n, np.int64)
    acc = np.empty(r)
    col = np.empty(r)
    status = LIMIT
    pivots = 0
    while pivots <= max_iter:
        if stop < np.inf:  # the dual objective: the basic solution's value at the perturbed costs
            z = 0.0
            for j in range(k):
                z += cp[j] * (xb[pos[j]] if pos[j] >= 0 else val[j])
            if z > stop:
                status = ABOVE
                break
        # leaving row: the largest excess relative to its row of B^-1 (dual steepest edge, exact:
        # the inverse is small enough to measure each time)
        row = -1
        worst = 0.0
        score = 0.0
        below = True
        for i in range(r):
            e, low = excess(head[i], xb[i], k, lo, hi)
            if e <= ftol:
                continue
            w = 0.0
            for l in range(r):
                w += binv[i, l] * binv[i, l]
            if e * e > score * w:
                score, worst, row, below = e * e / w, e, i, low
        if row < 0:
            status = OPTIMAL
            break
        # the leaving row of the tableau: rho A for the columns, rho itself for the slacks
        for j in range(k):
            alpha[j] = 0.0
        for i in range(r):
            rho = binv[row, i]
            alpha[k + i] = rho
            if rho != 0.0:
                for j in range(k):
                    alpha[j] += rho * A[i, j]
        # dual ratio test with bound flipping: the eligible nonbasic variables in order of their
        # ratio; a boxed column whose whole range does not yet repair the leaving row's excess
        # jumps to its other bound instead of entering (its reduced cost changes sign, as its new
        # bound requires), and the first one that does repair it enters
        m = 0
        for j in range(n):
            if pos[j] >= 0 or (j < k and lo[j] == hi[j]):
                continue  # basic, or a fixed column, which never enters
            ratio = dual_ratio(alpha[j], d[j], upper[j], below, ptol)
            if ratio >= 0.0:
                cand[m] = j
                ratios[m] = ratio
                m += 1
        if m == 0:  # a Farkas row, unless the worst excess is rounding at a degenerate vertex
            status = INFEASIBLE if worst > 1e-9 * scale else OPTIMAL
            break
        # a binary heap of the candidates keyed by ratio: only those passed before one enters are
        # ever ordered (usually a few dozen of several hundred)
        for p in range(m):
            heap[p] = p
        for p in range(m // 2 - 1, -1, -1):
            _sift(heap, ratios, p, m)
        size = m
        slope = worst
        q = -1
        for i in range(r):
            acc[i] = 0.0
        flipped = False
        while size:
            top = heap[0]
            size -= 1
            heap[0] = heap[size]
            _sift(heap, ratios, 0, size)
            j = cand[top]
            drop = abs(alpha[j]) * (hi[j] - lo[j]) if j < k else np.inf
            if size and drop < slope:
                slope -= drop
                step = (lo[j] - hi[j]) if upper[j] else (hi[j] - lo[j])
                upper[j] = not upper[j]
                val[j] += step
                for i in range(r):
                    acc[i] += AT[j, i] * step
                flipped = True
                continue
            # enters: among the variables tied with it on the ratio, the largest pivot
            q = j
            best = ratios[top]
            bestp = abs(alpha[j])
            while size and ratios[heap[0]] <= best + 1e-12:
                jj = cand[heap[0]]
                if abs(alpha[jj]) > bestp:
                    q, bestp = jj, abs(alpha[jj])
                size -= 1
                heap[0] = heap[size]
                _sift(heap, ratios, 0, size)
            break
        if flipped:  # the basic variables follow the flipped columns: x_B -= B^-1 (sum a_j step_j)
            for i in range(r):
                s = 0.0
                for l in range(r):
                    s += binv[i, l] * acc[l]
                xb[i] -= s
        # the entering column B^-1 a_q
        if q < k:
            for i in range(r):
                s = 0.0
                for l in range(r):
                    s += binv[i, l] * A[l, q]
                col[i] = s
        else:
            for i in range(r):
                col[i] = binv[i, q - k]
        piv = col[row]
        # primal step: the leaving variable lands on its violated bound, the entering one moves
        v = head[row]
        bound = (lo[v] if below else hi[v]) if v < k else 0.0
        delta = (xb[row] - bound) / piv
        for i in range(r):
            xb[i] -= col[i] * delta
        xb[row] = val[q] + delta
        val[v] = bound
        upper[v] = not below
        # dual step
        theta = d[q] / piv
        for j in range(n):
            if pos[j] < 0:
                d[j] -= theta * alpha[j]
        d[q] = 0.0
        d[v] = -theta
        # basis change: B^-1 <- E B^-1 (eta transformation on the pivot column)
        inv = 1.0 / piv
        for l in range(r):
            binv[row, l] *= inv
        for i in range(r):
            if i != row:
                f = col[i]
                if f != 0.0:
                    for l in range(r):
                        binv[i, l] -= f * binv[row, l]
        pos[v] = -1
        pos[q] = row
        head[row] = q
        pivots += 1
    t = val[:k].copy()
    for i in range(r):
        if head[i] < k:
            t[head[i]] = xb[i]
    y = np.zeros(r)
    for i in range(r):
        if pos[k + i] < 0:
            y[i] = max(d[k + i], 0.0)
    return status, t, y, pivots
