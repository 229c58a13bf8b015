"""Exact rational arithmetic for the decisions no tolerance may make (DESIGN.md §1, issue 15).

Float64 weights, biases and points are exact dyadic rationals, so a network's activation regions are
well defined. This module decides, for the network *as written*:

- the exact pull-back of every neuron through a region's pattern (rows and offsets in the
  domain's exact coordinates ``s``, see :class:`ExactDomain`);
- whether a point lies strictly inside a region (float forward pass with a rigorous error bound;
  the neurons inside the uncertain band are settled by an exact forward pass);
- whether a neuron is identically zero on a region (its exact pulled-back row and offset vanish);
- whether a Farkas/Motzkin certificate ``y >= 0, y^T G = 0, y^T h <= 0`` (``< 0`` for a
  non-strict system) proves a system empty, verified exactly on the support of ``y``.

Library choice. Rational matrices come from python-flint (``fmpq_mat``, FLINT's C
implementation). Measured on a 50x50 by 50x5 product of float64 matrices (one layer of ACAS Xu
pulled back): python-flint 0.13 ms, gmpy2 ``mpq`` in Python loops 7.4 ms, sympy ``Matrix`` of
``Rational`` 11 ms, :mod:`fractions` 66 ms; a 6-layer pull-back takes 1.6 ms with flint. flint is
maintained, has wheels for every platform we build on, and does the products in C with common
denominators, so it is 50x faster than the next candidate; it is a core dependency.

Exact work is only done where floating point cannot decide: every float decision here compares a
value with a rigorous bound on its rounding error (:func:`gamma`), so exact arithmetic runs only
in the uncertain band.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

try:
    import flint
except ImportError as exc:  # pragma: no cover - a core dependency
    from ..errors import MissingDependencyError

    raise MissingDependencyError("python-flint is missing; run: pip install python-flint") from exc

__all__ = ["fmpq_of", "qmat", "qcol", "gamma", "ExactNetwork", "ExactDomain", "exact_domain",
           "pullback", "forward_exact", "check_point", "identically_zero", "verify_motzkin",
           "motzkin_from_float", "proportional"]

_U = 2.0 ** -53
_TINY = 2.0 ** -1000


def fmpq_of(x: float) -> "flint.fmpq":
    """The float ``x`` as the exact rational it is."""
    n, d = float(x).as_integer_ratio()
    return flint.fmpq(n, d)


def qmat(a: Any) -> "flint.fmpq_mat":
    """A 2-D float array as an exact rational matrix."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    return flint.fmpq_mat(a.shape[0], a.shape[1], [fmpq_of(v) for v in a.ravel().tolist()])


def qcol(v: Any) -> "flint.fmpq_mat":
    """A 1-D float array as an exact rational column."""
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    return flint.fmpq_mat(v.size, 1, [fmpq_of(x) for x in v.tolist()])


def _col_list(m: "flint.fmpq_mat") -> list:
    return [m[i, 0] for i in range(m.nrows())]


def gamma(n: int) -> float:
    """Twice Higham's ``gamma_n = n u / (1 - n u)``: bounds the relative error of an ``n``-term
    float64 dot product, doubled to cover the rounding of the bound's own evaluation."""
    n = n + 2
    return 2.0 * n * _U / (1.0 - n * _U)


@dataclass(frozen=True, eq=False)
class ExactNetwork:
    """A network's hidden layers as exact rational matrices (built once, reused per region)."""

    weights: tuple
    biases: tuple
    slope: "flint.fmpq"
    float_weights: tuple
    float_biases: tuple
    float_slope: float

    @classmethod
    def of(cls, network: Any) -> "ExactNetwork":
        """The hidden layers of ``network`` (a :class:`reluregions.network.Network`)."""
        ws = network.weights[:-1]
        bs = network.biases[:-1]
        return cls(tuple(qmat(w) for w in ws), tuple(qcol(b) for b in bs),
                   fmpq_of(network.negative_slope), tuple(ws), tuple(bs), network.negative_slope)

    @property
    def widths(self) -> list[int]:
        """Neurons per hidden layer."""
        return [w.shape[0] for w in self.float_weights]


@dataclass(frozen=True, eq=False)
class ExactDomain:
    """A domain as ``x = P0 + P s`` with ``s`` in ``{s : A s <= b}`` (all exact rationals).

    ``box`` is a float box ``(lo, hi)`` known to contain every feasible ``s`` (``None`` for the
    whole space). ``P0f, Pf`` are the float values of ``P0, P`` and ``eP`` a bound on their
    rounding error.
    """

    P0: "flint.fmpq_mat"
    P: "flint.fmpq_mat"
    A: "flint.fmpq_mat | None"
    b: "flint.fmpq_mat | None"
    P0f: np.ndarray
    Pf: np.ndarray
    eP: np.ndarray
    Af: np.ndarray
    bf: np.ndarray
    box: tuple[np.ndarray, np.ndarray] | None
    axis_box: bool = False

    @property
    def dim(self) -> int:
        """Dimension ``k`` of ``s``."""
        return int(self.Pf.shape[1])


def _make(P0: "flint.fmpq_mat", P: "flint.fmpq_mat", A, b, box, axis_box: bool = False) -> ExactDomain:
    P0f = np.array([float(P0[i, 0]) for i in range(P0.nrows())])
    Pf = np.array([[float(P[i, j]) for j in range(P.ncols())] for i in range(P.nrows())]
                  ).reshape(P.nrows(), P.ncols())
    eP = _U * np.abs(np.column_stack([Pf, P0f]))
    if A is None:
        Af, bf = np.zeros((0, Pf.shape[1])), np.zeros(0)
    else:
        Af = np.array([[float(A[i, j]) for j in range(A.ncols())] for i in range(A.nrows())]
                      ).reshape(A.nrows(), A.ncols())
        bf = np.array([float(b[i, 0]) for i in range(b.nrows())])
    return ExactDomain(P0, P, A, b, P0f, Pf, eP, Af, bf, box, axis_box)


def exact_domain(domain: Any) -> ExactDomain:
    """The exact form of a :class:`~reluregions.domains.Domain` (box, polytope, slice, whole space)."""
    kind = domain.to_dict()["type"]
    if kind == "box":
        lo, hi = domain.lo, domain.hi
        free = np.flatnonzero(hi > lo)
        d, k = lo.size, free.size
        P0 = np.where(hi > lo, 0.0, lo)
        P = np.zeros((d, k))
        P[free, np.arange(k)] = 1.0
        A = np.vstack([np.eye(k), -np.eye(k)])
        b = np.concatenate([hi[free], -lo[free]])
        return _make(qcol(P0), qmat(P) if k else flint.fmpq_mat(d, 0), qmat(A) if k else None,
                     qcol(b) if k else None, (lo[free].copy(), hi[free].copy()), True)
    if kind == "hpolytope":
        p = domain.parametrize()
        half = np.abs(p.U).sum(axis=1)
        pad = 1e-6 * (half + np.abs(p.x0)) + 1e-300
        d = domain.input_dim
        return _make(flint.fmpq_mat(d, 1), qmat(np.eye(d)), qmat(domain.G), qcol(domain.h),
                     (p.x0 - half - pad, p.x0 + half + pad))
    if kind == "affine_slice":
        inner = exact_domain(domain.inner)
        X0, U = qcol(domain.x0), qmat(domain.U)
        return _make(X0 + U * inner.P0, U * inner.P, inner.A, inner.b, inner.box, inner.axis_box)
    if kind == "whole_space":
        d = domain.input_dim
        return _make(flint.fmpq_mat(d, 1), qmat(np.eye(d)), None, None, None)
    raise TypeError(f"no exact form for domain type {kind!r}")


def domain_coordinates(domain: Any, t: np.ndarray) -> np.ndarray:
    """The exact-domain coordinates ``s`` (float) of the parameter points ``t`` (n, k)."""
    kind = domain.to_dict()["type"]
    t = np.atleast_2d(np.asarray(t, dtype=np.float64))
    if kind == "affine_slice":
        return domain_coordinates(domain.inner, t)
    x = domain.parametrize().to_input(t)
    if kind == "box":
        return x[:, domain.hi > domain.lo]
    return x


def pullback(net: ExactNetwork, dom: ExactDomain, bits: np.ndarray) -> list:
    """Exact pre-activation maps ``z_l = M_l s + m_l`` of every hidden layer on the region ``bits``.

    Returns one ``fmpq_mat`` per layer of shape ``(n_l, k + 1)``: the rows ``[M_l | m_l]``
    (DESIGN.md §1; Drammis et al. 2024, §3: ``M_{l+1} = W_{l+1} D_l M_l``).
    """
    k = dom.dim
    H = flint.fmpq_mat(dom.P.nrows(), k + 1)
    for i in range(dom.P.nrows()):
        for j in range(k):
            H[i, j] = dom.P[i, j]
        H[i, k] = dom.P0[i, 0]
    out = []
    start = 0
    for W, b in zip(net.weights, net.biases):
        V = W * H
        n = V.nrows()
        for i in range(n):
            V[i, k] = V[i, k] + b[i, 0]
        out.append(V)
        H = flint.fmpq_mat(V)
        layer_bits = bits[start:start + n]
        for i in np.flatnonzero(~layer_bits).tolist():
            for j in range(k + 1):
                H[i, j] = H[i, j] * net.slope
        start += n
    return out


def identically_zero(row: "flint.fmpq_mat", i: int) -> bool:
    """Whether row ``i`` of a pulled-back map ``[M | m]`` is exactly zero (neuron constant 0)."""
    return all(row[i, j] == 0 for j in range(row.ncols()))


def proportional(V: "flint.fmpq_mat", i: int, W: "flint.fmpq_mat", j: int) -> "flint.fmpq | None":
    """``lam`` with ``W[j] = lam V[i]`` exactly (rows of ``[M | m]`` maps), or ``None``."""
    n = V.ncols()
    p = next((a for a in range(n) if V[i, a] != 0), None)
    if p is None:
        return None
    lam = W[j, p] / V[i, p]
    return lam if all(W[j, a] == lam * V[i, a] for a in range(n)) else None


def forward_exact(net: ExactNetwork, dom: ExactDomain, s: np.ndarray) -> list[list]:
    """Exact pre-activations of every hidden layer at the float point ``s`` (taken as rational)."""
    x = dom.P0 + dom.P * qcol(s) if dom.dim else flint.fmpq_mat(dom.P0)
    out = []
    for W, b in zip(net.weights, net.biases):
        z = W * x + b
        vals = _col_list(z)
        out.append(vals)
        x = flint.fmpq_mat(len(vals), 1, [v if v > 0 else v * net.slope for v in vals])
    return out


def _float_forward(net: ExactNetwork, dom: ExactDomain, S: np.ndarray):
    """Float pre-activations of points ``S`` (n, k) with rigorous bounds on their error."""
    X = S @ dom.Pf.T + dom.P0f
    k = S.shape[1]
    E = (np.abs(S) @ dom.eP[:, :k].T + dom.eP[:, k] + gamma(k + 1) * (np.abs(S) @ np.abs(dom.Pf).T
                                                                      + np.abs(dom.P0f)))
    out = []
    a = net.float_slope
    for W, b in zip(net.float_weights, net.float_biases):
        aW = np.abs(W)
        Z = X @ W.T + b
        EZ = E @ aW.T + gamma(W.shape[1] + 1) * (np.abs(X) @ aW.T + np.abs(b)) + _TINY
        out.append((Z, EZ))
        X = np.where(Z > 0, Z, a * Z)
        E = EZ * max(1.0, abs(a)) + _U * np.abs(X)
    return out


@dataclass
class PointCheck:
    """Result of :func:`check_point` for a batch of regions."""

    ok: np.ndarray            # (n,) bool: the point is strictly inside its region
    exact: int                # regions whose check needed exact arithmetic
    reason: list[str]         # per failing region, why


def check_point(net: ExactNetwork, dom: ExactDomain, bits: np.ndarray, S: np.ndarray) -> PointCheck:
    """Check exactly that each point ``S[r]`` lies strictly inside the region of pattern ``bits[r]``.

    Strictly inside means: every domain constraint strict, every active neuron's pre-activation
    ``> 0``, every inactive one ``< 0`` unless the neuron is identically zero on the region (its
    exact pulled-back row and offset vanish; DESIGN.md §1). Float decides where the value clears
    its error bound; the other regions are settled by an exact forward pass (and, for a zero
    value, an exact pull-back).
    """
    S = np.atleast_2d(np.asarray(S, dtype=np.float64))
    bits = np.atleast_2d(np.asarray(bits, dtype=bool))
    n = S.shape[0]
    ok = np.ones(n, dtype=bool)
    reason = [""] * n
    unsure = np.zeros(n, dtype=bool)
    if dom.A is not None and dom.Af.shape[0]:
        if dom.axis_box:
            lo, hi = dom.box
            inside = ((S > lo) & (S < hi)).all(axis=1)
            for r in np.flatnonzero(~inside).tolist():
                ok[r], reason[r] = False, "the point is not strictly inside the domain"
        else:
            slack = dom.bf - S @ dom.Af.T
            err = gamma(dom.dim + 1) * (np.abs(S) @ np.abs(dom.Af).T + np.abs(dom.bf)) + _TINY
            bad = (slack < -err).any(axis=1)
            unsure |= ~bad & (slack <= err).any(axis=1)
            for r in np.flatnonzero(bad).tolist():
                ok[r], reason[r] = False, "the point is not strictly inside the domain"
    start = 0
    for Z, EZ in _float_forward(net, dom, S):
        w = Z.shape[1]
        b = bits[:, start:start + w]
        wrong = (b & (Z < -EZ)) | (~b & (Z > EZ))
        for r in np.flatnonzero(wrong.any(axis=1) & ok).tolist():
            j = int(np.flatnonzero(wrong[r])[0])
            ok[r], reason[r] = False, f"neuron {start + j} has the wrong sign at the point"
        unsure |= (np.abs(Z) <= EZ).any(axis=1)
        start += w
    exact = 0
    for r in np.flatnonzero(unsure & ok).tolist():
        exact += 1
        ok[r], reason[r] = _check_point_exact(net, dom, bits[r], S[r])
    return PointCheck(ok, exact, reason)


def _check_point_exact(net: ExactNetwork, dom: ExactDomain, bits: np.ndarray,
                       s: np.ndarray) -> tuple[bool, str]:
    if dom.A is not None and dom.Af.shape[0]:
        slack = dom.b - dom.A * qcol(s)
        if any(slack[i, 0] <= 0 for i in range(slack.nrows())):
            return False, "the point is not strictly inside the domain"
    maps = None
    start = 0
    for layer, z in enumerate(forward_exact(net, dom, s)):
        for j, v in enumerate(z):
            bit = bool(bits[start + j])
            if (bit and v > 0) or (not bit and v < 0):
                continue
            if not bit and v == 0:
                if maps is None:
                    maps = pullback(net, dom, bits)
                if identically_zero(maps[layer], j):
                    continue
                return False, f"neuron {start + j} is exactly 0 at the point (on its hyperplane)"
            return False, f"neuron {start + j} has the wrong sign at the point (exact)"
        start += len(z)
    return True, ""


def verify_motzkin(G: "flint.fmpq_mat", h: "flint.fmpq_mat", y: Sequence, strict: Sequence[bool],
                   free: Sequence[bool] = ()) -> bool:
    """Exactly verify that ``y`` proves ``{s : G s <= h}`` (rows marked ``strict``: ``<``) empty.

    Rows marked ``free`` are equalities (their multiplier may have any sign). The certificate
    (Motzkin's transposition theorem) is: ``y_i >= 0`` on inequality rows, ``y^T G = 0``, and
    either ``y^T h < 0``, or ``y^T h == 0`` with ``y_i > 0`` on some strict row.
    """
    m = G.nrows()
    free = list(free) or [False] * m
    y = [flint.fmpq(v) if not isinstance(v, flint.fmpq) else v for v in y]
    if any(v < 0 and not f for v, f in zip(y, free)):
        return False
    for c in range(G.ncols()):
        if sum((y[i] * G[i, c] for i in range(m) if y[i] != 0), flint.fmpq(0)) != 0:
            return False
    yh = sum((y[i] * h[i, 0] for i in range(m) if y[i] != 0), flint.fmpq(0))
    if yh < 0:
        return True
    return yh == 0 and any(y[i] > 0 and strict[i] and not free[i] for i in range(m))


def motzkin_from_float(G: "flint.fmpq_mat", h: "flint.fmpq_mat", y_float: np.ndarray,
                       strict: Sequence[bool], free: Sequence[bool] = (),
                       support_tol: float = 1e-9) -> list | None:
    """An exact certificate near the float multipliers ``y_float`` (an LP's dual), or ``None``.

    The support of ``y_float`` is kept and the exact null space of ``G_S^T`` computed; the float
    ``y`` is projected onto it, rounded to rationals and checked with :func:`verify_motzkin`.
    """
    y_float = np.asarray(y_float, dtype=np.float64)
    scale = float(np.abs(y_float).max(initial=0.0))
    if scale == 0.0:
        return None
    S = np.flatnonzero(np.abs(y_float) > support_tol * scale).tolist()
    m, k = G.nrows(), G.ncols()
    GS = flint.fmpq_mat(k, len(S))
    for a, i in enumerate(S):
        for c in range(k):
            GS[c, a] = G[i, c]
    N = _nullspace(GS)
    if not N:
        return None
    B = np.array([[float(v) for v in vec] for vec in N]).T  # |S| x r
    coef, *_ = np.linalg.lstsq(B, y_float[S] / scale, rcond=None)
    y = [flint.fmpq(0)] * m
    for a, i in enumerate(S):
        y[i] = sum((fmpq_of(float(c)) * vec[a] for c, vec in zip(coef, N)), flint.fmpq(0))
    return y if verify_motzkin(G, h, y, strict, free) else None


def _nullspace(A: "flint.fmpq_mat") -> list[list]:
    """A basis of ``{x : A x = 0}`` (exact), from the reduced row echelon form."""
    R, rank = A.rref()
    n = A.ncols()
    pivots = []
    r = 0
    for c in range(n):
        if r < rank and R[r, c] != 0:
            pivots.append(c)
            r += 1
    free_cols = [c for c in range(n) if c not in pivots]
    basis = []
    for f in free_cols:
        v = [flint.fmpq(0)] * n
        v[f] = flint.fmpq(1)
        for row, p in enumerate(pivots):
            v[p] = -R[row, f] / R[row, p]
        basis.append(v)
    return basis
