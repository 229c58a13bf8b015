"""Is a region of the whole input space bounded? (issue 15, DESIGN.md §1).

A region ``{t : G t <= h}`` is bounded iff its recession cone ``{v : G v <= 0}`` is ``{0}``. By
Stiemke's theorem of the alternative, when ``rank(G) = k`` that holds iff some ``y > 0`` has
``G^T y = 0``. The rows used are the region's own: every hidden neuron pulled back exactly
through the region's pattern (:func:`reluregions.geometry.exact.pullback`), so the answer is about
the network as written, not about rounded rows.

Floating point proposes, rational arithmetic (python-flint) disposes:

* one LP, ``max tau`` over ``G^T y = 0, tau <= y <= 1``, proposes ``y``; the certificate keeps
  ``y`` on all but ``k`` rows whose ``G_B`` is nonsingular, solves ``G_B^T y_B = -G_N^T y_N``
  exactly and checks ``y_B > 0``: a proof of boundedness;
* otherwise a second LP, ``min 1^T G v`` over ``G v <= 0, |v| <= 1``, proposes a direction ``v``;
  projected exactly onto the null space of the rows it makes (nearly) tight, it is checked to give
  ``G v <= 0, v != 0`` in rationals: a proof of unboundedness (a rank-deficient ``G`` is one such
  case).

When neither proof checks (never seen on the test nets), the float LP decides, and
:func:`region_bounded` says so.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .exact import ExactNetwork, exact_domain, fmpq_of, pullback
from .lp import LPSolver

__all__ = ["cone_rows", "recession_bounded", "region_bounded"]

_CACHE: "weakref.WeakKeyDictionary[Any, tuple]" = weakref.WeakKeyDictionary()


def cone_rows(network: Any, domain: Any, bits: np.ndarray, key: Any = None) -> Any:
    """The rows ``G`` (exact ``fmpq_mat``, ``m x k``) of the recession cone of region ``bits``.

    Each hidden neuron pulled back through the pattern gives ``z = M t + m``; bit 1 holds on
    ``M v >= 0`` asymptotically, so its row is ``-M``, bit 0's is ``M``. Zero rows are dropped.
    Each row is scaled by an exact power of two to a norm near 1 (a positive scaling leaves the
    cone unchanged and keeps the float LP well scaled). ``key`` caches the exact network/domain;
    ``domain`` may be a zero-argument callable that builds the domain (called on a cache miss).
    """
    import flint

    cached = _CACHE.get(key) if key is not None else None
    if cached is None:
        cached = (ExactNetwork.of(network), exact_domain(domain() if callable(domain) else domain))
        if key is not None:
            _CACHE[key] = cached
    net, dom = cached
    k = dom.dim
    rows = []
    start = 0
    for V in pullback(net, dom, bits):
        n = V.nrows()
        for i in range(n):
            row = [V[i, j] for j in range(k)]
            if all(v == 0 for v in row):
                continue
            big = max(abs(float(v)) for v in row) or 1.0
            scale = flint.fmpq(2) ** (-int(np.frexp(big)[1]))
            sign = -1 if bits[start + i] else 1
            rows.append([v * scale * sign for v in row])
        start += n
    return flint.fmpq_mat(len(rows), k, [v for row in rows for v in row]) if rows else \
        flint.fmpq_mat(0, k)


def _float(G: Any) -> np.ndarray:
    return np.array([float(v) for v in G.entries()], dtype=np.float64).reshape(G.nrows(), G.ncols())


def _prove_bounded(G: Any, Gf: np.ndarray, y: np.ndarray) -> bool:
    """Check ``y`` (float, positive) completes to an exact ``y > 0`` with ``G^T y = 0``."""
    import flint
    from scipy.linalg import qr

    m, k = Gf.shape
    if (y <= 0).any():
        return False
    _, _, piv = qr(Gf.T, pivoting=True)
    basis = sorted(int(i) for i in piv[:k])
    rest = [i for i in range(m) if i not in set(basis)]
    GB = flint.fmpq_mat(k, k, [G[i, j] for j in range(k) for i in basis])  # G_B^T
    rhs = flint.fmpq_mat(k, 1)
    for i in rest:
        yi = fmpq_of(y[i])
        for j in range(k):
            rhs[j, 0] -= G[i, j] * yi
    try:
        yB = GB.solve(rhs)
    except ZeroDivisionError:  # G_B singular: this basis proves nothing
        return False
    return all(yB[j, 0] > 0 for j in range(k))


def _nullspace(A: Any) -> list[list]:
    """An exact basis of ``{v : A v = 0}`` from the reduced row echelon form."""
    import flint

    R, rank = A.rref()
    n = A.ncols()
    pivots, r = [], 0
    for c in range(n):
        if r < rank and R[r, c] != 0:
            pivots.append(c)
            r += 1
    basis = []
    for f in (c for c in range(n) if c not in pivots):
        v = [flint.fmpq(0)] * n
        v[f] = flint.fmpq(1)
        for row, p in enumerate(pivots):
            v[p] = -R[row, f] / R[row, p]
        basis.append(v)
    return basis


def _prove_unbounded(G: Any, Gf: np.ndarray, v: np.ndarray) -> bool:
    """Check a float direction ``v`` projects to an exact ``v' != 0`` with ``G v' <= 0``."""
    import flint

    m, k = Gf.shape
    tight = np.flatnonzero(Gf @ v > -1e-7 * max(1.0, float(np.abs(v).max(initial=0.0))))
    if tight.size:
        GT = flint.fmpq_mat(tight.size, k, [G[int(i), j] for i in tight for j in range(k)])
        basis = _nullspace(GT)
    else:
        basis = [[flint.fmpq(int(i == j)) for j in range(k)] for i in range(k)]
    if not basis:
        return False
    B = np.array([[float(x) for x in vec] for vec in basis]).T
    coef, *_ = np.linalg.lstsq(B, v, rcond=None)
    cand = [sum((fmpq_of(float(c)) * vec[j] for c, vec in zip(coef, basis)), flint.fmpq(0))
            for j in range(k)]
    if all(x == 0 for x in cand):
        if tight.size != m:
            return False
        cand = basis[0]  # every row tight: any null vector of G is a recession direction
    Gv = G * flint.fmpq_mat(k, 1, cand)
    return all(Gv[i, 0] <= 0 for i in range(m))


def recession_bounded(G: Any, solver: LPSolver) -> tuple[bool, int, bool]:
    """Whether ``{v : G v <= 0} = {0}`` for the exact rows ``G`` (``fmpq_mat``, ``m x k``).

    Returns ``(bounded, lps, proved)``: the answer, the LPs solved (1 or 2) and whether an exact
    certificate confirmed it (else the float LP decided).
    """
    m, k = G.nrows(), G.ncols()
    if k == 0:
        return True, 0, True
    Gf = _float(G)
    if m <= k or np.linalg.matrix_rank(Gf) < k and G.rank() < k:
        return False, 0, True  # a null direction of G, or too few rows to close a cone in R^k
    # LP 1, variables (y, tau): max tau s.t. G^T y = 0, tau <= y <= 1.
    rows = np.zeros((2 * k + 2 * m, m + 1))
    rows[:k, :m], rows[k:2 * k, :m] = Gf.T, -Gf.T
    rows[2 * k:2 * k + m, :m], rows[2 * k:2 * k + m, m] = -np.eye(m), 1.0
    rows[2 * k + m:, :m] = np.eye(m)
    rhs = np.concatenate([np.zeros(2 * k + m), np.ones(m)])
    cost = np.zeros(m + 1)
    cost[m] = -1.0
    status, z, value = solver.minimize(cost, rows, rhs)
    tau = -value if status == "optimal" else 0.0
    if tau > 0 and _prove_bounded(G, Gf, z[:m]):
        return True, 1, True
    # LP 2: min 1^T G v s.t. G v <= 0, -1 <= v <= 1.
    rows2 = np.vstack([Gf, np.eye(k), -np.eye(k)])
    rhs2 = np.concatenate([np.zeros(m), np.ones(2 * k)])
    status, v, _ = solver.minimize(Gf.sum(axis=0), rows2, rhs2)
    if status == "optimal" and _prove_unbounded(G, Gf, v):
        return False, 2, True
    return not (tau <= 1e-9), 2, False


def region_bounded(network: Any, domain: Any, bits: np.ndarray, solver: LPSolver,
                   key: Any = None) -> tuple[bool, int, bool]:
    """Whether the region of ``network`` with pattern ``bits`` in the unbounded ``domain`` is bounded.

    See :func:`recession_bounded` for the result; ``key`` (the enumeration problem) caches the
    exact network between regions.
    """
    return recession_bounded(cone_rows(network, domain, bits, key), solver)
