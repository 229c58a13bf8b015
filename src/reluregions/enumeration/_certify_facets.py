"""Step 2 of the completeness certificate, one region at a time: every facet is matched or disproven.

For each constraint of a region (DESIGN.md §1: the region is cut out by its pattern's pulled-back
constraints, Drammis et al. 2024, §3) it decides, with rigorous floating-point error bounds and
exact rational arithmetic (python-flint, :mod:`reluregions.geometry.exact`) where those cannot
decide, that the constraint is

* far: strictly slack on a rigorous bounding box of the region (LP bounds made safe by weak
  duality), so it is no facet;
* on the domain's boundary: a positive multiple of a domain constraint;
* matched: the region across it, computed exactly (neurons vanishing on the facet take the sign of
  their derivative across it, layer by layer), is in the output;
* or no facet: proven by a Motzkin certificate from the facet LP's dual, verified exactly.

Called by :func:`reluregions.enumeration.certify.certify_regions`; pure, no printing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Container

import numpy as np

from ..geometry import exact as ex
from ..geometry.lp import LPSolver

if TYPE_CHECKING:  # pragma: no cover
    from .certify import Certificate

__all__ = ["CertifyContext", "certify_region"]


@dataclass
class CertifyContext:
    """What every region's check shares: exact network and domain, LP solver, output patterns
    (packed bytes, bit ``j`` in bit ``j % 8`` of byte ``j // 8``)."""

    net: ex.ExactNetwork
    dom: ex.ExactDomain
    solver: LPSolver
    keys: Container[bytes]
    cert: Certificate
    widths: list[int] = field(default_factory=list)


def _float_maps(ctx: CertifyContext, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All neurons' pulled-back rows ``[M | m]`` (float) and rigorous bounds on their error."""
    dom, net = ctx.dom, ctx.net
    H = np.column_stack([dom.Pf, dom.P0f])
    EH = dom.eP
    rows, errs = [], []
    start = 0
    a = net.float_slope
    for W, b in zip(net.float_weights, net.float_biases):
        aW = np.abs(W)
        V = W @ H
        V[:, -1] += b
        absb = np.zeros_like(V)
        absb[:, -1] = np.abs(b)
        E = aW @ EH + ex.gamma(W.shape[1] + 1) * (aW @ np.abs(H) + absb) + ex._TINY
        rows.append(V)
        errs.append(E)
        d = np.where(bits[start:start + W.shape[0]], 1.0, a)[:, None]
        H = d * V
        EH = E * max(1.0, abs(a)) + ex._U * np.abs(H)
        start += W.shape[0]
    return np.vstack(rows), np.vstack(errs)


class _Exact:
    """Lazily computed exact pull-back of one region."""

    def __init__(self, ctx: CertifyContext, bits: np.ndarray) -> None:
        self.ctx, self.bits, self._rows = ctx, bits, None

    @property
    def rows(self) -> list:
        if self._rows is None:
            maps = ex.pullback(self.ctx.net, self.ctx.dom, self.bits)
            self._rows = [(V, i) for V in maps for i in range(V.nrows())]
        return self._rows

    def zero(self, j: int) -> bool:
        self.ctx.cert.exact_decisions += 1
        V, i = self.rows[j]
        return ex.identically_zero(V, i)

    def flat(self, j: int) -> bool:
        """Whether neuron ``j``'s pulled-back row has an exactly zero gradient (a constant)."""
        self.ctx.cert.exact_decisions += 1
        V, i = self.rows[j]
        return all(V[i, c] == 0 for c in range(V.ncols() - 1))

    def ratio(self, i: int, j: int):
        self.ctx.cert.exact_decisions += 1
        (Vi, a), (Vj, b) = self.rows[i], self.rows[j]
        return ex.proportional(Vi, a, Vj, b)


def certify_region(ctx: CertifyContext, bits: np.ndarray, s0: np.ndarray) -> str | None:
    """Check every constraint of the region of pattern ``bits`` (interior point ``s0``, in the
    exact domain's coordinates); ``None`` when all are settled, else what is wrong, in words.

    Counters of ``ctx.cert`` are updated as constraints are settled.
    """
    k = ctx.dom.dim
    if k == 0:
        return None  # a single point: no facets
    V, E = _float_maps(ctx, bits)
    exact = _Exact(ctx, bits)
    norms = np.linalg.norm(V, axis=1)
    enorm = np.linalg.norm(E, axis=1)
    maybe_zero = np.flatnonzero(np.all(np.abs(V) <= E, axis=1))
    zero = np.zeros(len(V), dtype=bool)
    for j in maybe_zero.tolist():
        zero[j] = exact.zero(j)
    sign = np.where(bits, -1.0, 1.0)
    C = sign[:, None] * V                       # constraints C [s; 1] <= 0
    live = np.flatnonzero(~zero)
    U = C[live] / norms[live, None]
    rel = enorm[live] / norms[live]
    box = _bounding_box(ctx, C[live], E[live])
    far = np.zeros(len(V), dtype=bool)
    if box is not None:
        far[live] = _far_all(C[live], E[live], box)
    ctx.cert.far_constraints += int(far.sum())
    flat = np.all(np.abs(V[:, :k]) <= E[:, :k], axis=1)  # gradient zero within its rounding
    for pos, j in enumerate(live.tolist()):
        if far[j]:
            continue
        if flat[j] and exact.flat(j):
            # constant on the domain (strict at the checked point, so everywhere): no facet. With
            # a bounded domain the box test catches these; the whole space has no box.
            ctx.cert.far_constraints += 1
            continue
        dots = U @ U[pos]
        close = 1.0 - np.abs(dots) <= 4.0 * (rel + rel[pos]) + 8.0 * ex.gamma(k + 1)
        same = [live[p] for p in np.flatnonzero(close).tolist()]
        coincident = {j: 1}
        for i in same:
            if i != j:
                lam = exact.ratio(j, i)
                if lam is not None:
                    coincident[i] = lam * int(sign[i] * sign[j])
        if _on_boundary(ctx, C[j], E[j], exact, j):
            ctx.cert.boundary_facets += 1
            continue
        nb = _neighbour(ctx, bits, C[j], set(coincident) | set(np.flatnonzero(zero).tolist()),
                        exact, j, sign)
        if nb is not None and np.packbits(nb, bitorder="little").tobytes() in ctx.keys:
            ctx.cert.facets_matched += 1
            continue
        dup = {i for i, lam in coincident.items() if lam > 0}
        verdict = _non_facet(ctx, C, live, j, dup, exact)
        if verdict:
            ctx.cert.non_facets_proven += 1
            continue
        want = "undetermined" if nb is None else "".join("1" if b else "0" for b in nb)
        return (f"the facet of neuron {j} has no region on its other side in the output "
                f"(expected pattern {want})")
    return None


def _on_boundary(ctx: CertifyContext, c: np.ndarray, e: np.ndarray, exact: _Exact, j: int) -> bool:
    """Whether constraint ``j`` (float ``c``, error ``e``) is a positive multiple of a domain
    constraint, decided exactly for the candidates float cannot rule out."""
    dom = ctx.dom
    if dom.A is None or not dom.Af.shape[0]:
        return False
    k = dom.dim
    D = np.column_stack([dom.Af, -dom.bf])
    Dn = D / np.linalg.norm(D, axis=1)[:, None]
    cn = c / np.linalg.norm(c)
    tol = 4.0 * np.linalg.norm(e) / np.linalg.norm(c) + 8.0 * ex.gamma(len(c))
    for i in np.flatnonzero(Dn @ cn >= 1.0 - tol).tolist():
        ctx.cert.exact_decisions += 1
        V, a = exact.rows[j]
        sgn = -1 if exact.bits[j] else 1
        row = [sgn * V[a, col] for col in range(k + 1)]
        dom_row = [dom.A[i, col] for col in range(k)] + [-dom.b[i, 0]]
        p = next(col for col in range(k + 1) if dom_row[col] != 0)
        lam = row[p] / dom_row[p]
        if lam > 0 and all(row[col] == lam * dom_row[col] for col in range(k + 1)):
            return True
    return False


def _neighbour(ctx: CertifyContext, bits: np.ndarray, c: np.ndarray, vanish: set, exact: _Exact,
               j: int, sign: np.ndarray) -> np.ndarray | None:
    """Pattern of the region across the facet of constraint ``c`` (neurons ``vanish`` vanish on it)."""
    net, dom = ctx.net, ctx.dom
    k = dom.dim
    n = c[:k].copy()  # direction leaving the region: c . n > 0
    out = bits.copy()
    delta = dom.Pf @ n
    edelta = np.abs(dom.eP[:, :k]) @ np.abs(n) + ex.gamma(k + 1) * (np.abs(dom.Pf) @ np.abs(n))
    start = 0
    a = net.float_slope
    uncertain = False
    for W, _ in zip(net.float_weights, net.float_biases):
        w = W.shape[0]
        aW = np.abs(W)
        z = W @ delta
        ez = aW @ edelta + ex.gamma(W.shape[1] + 1) * (aW @ np.abs(delta)) + ex._TINY
        for i in range(w):
            if start + i in vanish:
                if abs(z[i]) <= ez[i]:
                    uncertain = True
                out[start + i] = z[i] > 0
        d = np.where(out[start:start + w], 1.0, a)
        delta = d * z
        edelta = ez * max(1.0, abs(a))
        start += w
    if uncertain:
        return _neighbour_exact(ctx, bits, c, vanish, exact, j)
    return out


def _neighbour_exact(ctx: CertifyContext, bits: np.ndarray, c: np.ndarray, vanish: set, exact: _Exact,
                     j: int) -> np.ndarray | None:
    import flint

    net, dom = ctx.net, ctx.dom
    k = dom.dim
    ctx.cert.exact_decisions += 1
    V, i = exact.rows[j]
    sgn = -1 if bits[j] else 1
    n = [sgn * V[i, a] for a in range(k)]
    if all(v == 0 for v in n):
        return None
    delta = dom.P * flint.fmpq_mat(k, 1, n)
    out = bits.copy()
    start = 0
    for W in net.weights:
        z = W * delta
        w = z.nrows()
        vals = [z[r, 0] for r in range(w)]
        for r in range(w):
            if start + r in vanish:
                out[start + r] = vals[r] > 0
        delta = flint.fmpq_mat(w, 1, [v if out[start + r] else v * net.slope
                                      for r, v in enumerate(vals)])
        start += w
    return out


def _bounding_box(ctx: CertifyContext, C: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A rigorous box around the region: LP bounds made safe with the dual (weak duality)."""
    dom = ctx.dom
    if dom.box is None:
        return None
    k = dom.dim
    smax = np.maximum(np.abs(dom.box[0]), np.abs(dom.box[1]))
    G = np.vstack([C[:, :k], dom.Af])
    h = np.concatenate([-C[:, k], dom.bf])
    EG = np.vstack([E[:, :k], np.zeros_like(dom.Af)])
    Eh = np.concatenate([E[:, k], ex.gamma(2) * np.abs(dom.bf)])
    lo, hi = dom.box[0].copy(), dom.box[1].copy()
    for a in range(k):
        for sgn in (1.0, -1.0):
            c = np.zeros(k)
            c[a] = sgn
            status, _, _ = ctx.solver.minimize(c, G, h)
            if status != "optimal":
                continue
            y = np.maximum(-ctx.solver.row_duals(), 0.0)
            r = c + G.T @ y
            er = ex.gamma(len(y) + 1) * (np.abs(c) + np.abs(G).T @ y)
            bound = -(np.abs(r) + er) @ smax - y @ h - y @ Eh - (EG.T @ y) @ smax
            bound -= ex.gamma(len(y) + k + 2) * (np.abs(y) @ np.abs(h) + (np.abs(r) + er) @ smax
                                                + (EG.T @ y) @ smax + y @ Eh) + ex._TINY
            if sgn > 0:
                lo[a] = max(lo[a], bound)
            else:
                hi[a] = min(hi[a], -bound)
    return lo, hi


def _far_all(C: np.ndarray, E: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Which constraints ``C [s; 1] < 0`` hold strictly on the whole box (never tight)."""
    lo, hi = box
    k = lo.size
    top = np.maximum(C[:, :k] * lo, C[:, :k] * hi).sum(axis=1) + C[:, k]
    smax = np.maximum(np.abs(lo), np.abs(hi))
    err = (E[:, :k] @ smax + E[:, k] + ex.gamma(k + 2) * (np.abs(C[:, :k]) @ smax + np.abs(C[:, k]))
           + ex._TINY)
    return top + err < 0


def _non_facet(ctx: CertifyContext, C: np.ndarray, live: np.ndarray, j: int, dup: set,
               exact: _Exact) -> bool:
    """Prove exactly that constraint ``j`` is not a facet (Motzkin certificate from the LP dual)."""
    import flint

    dom = ctx.dom
    k = dom.dim
    others = [i for i in live.tolist() if i not in dup]
    G = np.vstack([C[others, :k], dom.Af]) if others else dom.Af
    h = np.concatenate([-C[others, k], dom.bf])
    norms = np.linalg.norm(G, axis=1)
    rows = np.zeros((len(h) + 2, k + 1))
    rows[:len(h), :k] = G
    rows[:len(h), k] = norms
    rows[len(h), :k] = C[j, :k]
    rows[len(h) + 1, :k] = -C[j, :k]
    rhs = np.concatenate([h, [-C[j, k], C[j, k]]])
    cost = np.zeros(k + 1)
    cost[k] = -1.0
    upper = np.full(k + 1, np.inf)
    upper[k] = 1.0
    status, x, value = ctx.solver._solve(cost, np.full(k + 1, -np.inf), upper, rows, rhs)
    if status == "optimal" and -value > 1e-7:
        return False  # a facet, with room to spare
    duals = -ctx.solver.row_duals() if status == "optimal" else None
    if duals is None:
        return False
    ctx.cert.exact_decisions += 1
    # the exact system: rows of the region's exact constraints (others, domain) and the equality
    exact_rows = []
    for i in others:
        V, a = exact.rows[i]
        sgn = -1 if exact.bits[i] else 1
        exact_rows.append(([sgn * V[a, c] for c in range(k)], -sgn * V[a, k]))
    if dom.A is not None:
        for i in range(dom.A.nrows()):
            exact_rows.append(([dom.A[i, c] for c in range(k)], dom.b[i, 0]))
    V, a = exact.rows[j]
    sgn = -1 if exact.bits[j] else 1
    exact_rows.append(([sgn * V[a, c] for c in range(k)], -sgn * V[a, k]))
    m = len(exact_rows)
    Gq = flint.fmpq_mat(m, k, [v for row, _ in exact_rows for v in row])
    hq = flint.fmpq_mat(m, 1, [rhs_ for _, rhs_ in exact_rows])
    y = np.concatenate([duals[:len(h)], [duals[len(h)] - duals[len(h) + 1]]])
    strict = [True] * (m - 1) + [False]
    free = [False] * (m - 1) + [True]
    for tol in (1e-9, 1e-6, 1e-12):
        if ex.motzkin_from_float(Gq, hq, y, strict, free, support_tol=tol) is not None:
            return True
    return False
