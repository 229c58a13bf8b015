"""Is a region of the whole input space bounded? (issue 15, DESIGN.md §1).

A region ``{t : G t <= h}`` is bounded iff its recession cone ``{v : G v <= 0}`` is ``{0}``. By
Stiemke's theorem of the alternative, when ``rank(G) = k`` that holds iff some ``y > 0`` has
``G^T y = 0``. The rows used are the region's own: every hidden neuron pulled back exactly
through the region's pattern (:func:`reluregions.geometry.exact.pullback`), so the answer is about
the network as written, not about rounded rows.

Floating point proposes, rational arithmetic (python-flint) disposes:

* with ``N`` an exact basis of ``{y : G^T y = 0}`` (reduced row echelon form), one LP proposes
  ``c`` with ``N c > 0`` (rows of ``N`` scaled to unit norm, so a cone as thin as ``2^-45`` still
  gives the LP a margin of order 1); ``y = N c`` with ``c`` as rationals is exactly in the null
  space, and ``y > 0`` checked in rationals is a proof of boundedness;
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

from .exact import ExactNetwork, _nullspace, exact_domain, fmpq_of, pullback
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


def _bounded_lp(G: Any, solver: LPSolver) -> tuple[bool, float]:
    """Stiemke: an exact ``y = N c > 0`` with ``N`` an exact basis of ``{y : G^T y = 0}``.

    The LP ``max tau`` over ``tau <= n_i c`` (rows ``n_i`` of ``N`` scaled to unit norm, which
    changes no sign), ``|c| <= 1``, proposes ``c``; ``y = N c`` with ``c`` read as rationals is then
    in the null space exactly, and the proof is ``y > 0`` checked in rationals.
    Returns ``(proved, tau, lps)``.
    """
    import flint

    m = G.nrows()
    basis = _nullspace(G.transpose())
    if not basis:
        return False, 0.0, 0
    N = np.array([[float(x) for x in vec] for vec in basis]).T  # m x r
    r = N.shape[1]
    norms = np.linalg.norm(N, axis=1)
    if (norms == 0).any():  # some y_i is 0 on the whole null space: no y > 0
        return False, 0.0, 0
    rows = np.zeros((m + 2 * r, r + 1))
    rows[:m, :r], rows[:m, r] = -N / norms[:, None], 1.0
    rows[m:m + r, :r], rows[m + r:, :r] = np.eye(r), -np.eye(r)
    cost = np.zeros(r + 1)
    cost[r] = -1.0
    status, z, value = solver.minimize(cost, rows, np.concatenate([np.zeros(m), np.ones(2 * r)]))
    tau = -value if status == "optimal" else 0.0
    if not tau > 0:
        return False, tau, 1
    coef = [fmpq_of(float(c)) for c in z[:r]]
    for i in range(m):
        if sum((c * vec[i] for c, vec in zip(coef, basis)), flint.fmpq(0)) <= 0:
            return False, tau, 1
    return True, tau, 1


def _prove_unbounded(G: Any, Gf: np.ndarray, v: np.ndarray) -> bool:
    """Check a float direction ``v`` projects to an exact ``v' != 0`` with ``G v' <= 0``."""
    import flint

    m, k = Gf.shape
    direct = [fmpq_of(float(x)) for x in v]
    if any(x != 0 for x in direct):
        Gv = G * flint.fmpq_mat(k, 1, direct)
        if all(Gv[i, 0] <= 0 for i in range(m)):
            return True
    tight = np.flatnonzero(Gf @ v > -1e-9 * max(1.0, float(np.abs(v).max(initial=0.0))))
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

    Returns ``(bounded, lps, proved)``: the answer, the LPs solved (0 to 2) and whether an exact
    certificate confirmed it (else the float LP decided).
    """
    m, k = G.nrows(), G.ncols()
    if k == 0:
        return True, 0, True
    if m <= k or G.rank() < k:  # too few rows to close a cone in R^k, or a null direction of G
        return False, 0, True
    Gf = _float(G)
    proved, tau, lps = _bounded_lp(G, solver)
    if proved:
        return True, lps, True
    # LP 2: min 1^T G v s.t. G v <= 0, -1 <= v <= 1.
    rows2 = np.vstack([Gf, np.eye(k), -np.eye(k)])
    rhs2 = np.concatenate([np.zeros(m), np.ones(2 * k)])
    status, v, _ = solver.minimize(Gf.sum(axis=0), rows2, rhs2)
    if status == "optimal" and _prove_unbounded(G, Gf, v):
        return False, lps + 1, True
    return not (tau <= 1e-9), lps + 1, False


def region_bounded(network: Any, domain: Any, bits: np.ndarray, solver: LPSolver,
                   key: Any = None) -> tuple[bool, int, bool]:
    """Whether the region of ``network`` with pattern ``bits`` in the unbounded ``domain`` is bounded.

    See :func:`recession_bounded` for the result; ``key`` (the enumeration problem) caches the
    exact network between regions.
    """
    return recession_bounded(cone_rows(network, domain, bits, key), solver)
