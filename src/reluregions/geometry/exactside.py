"""Exact settlement of the side decisions floating point cannot make (DESIGN.md §1, issue 15).

Every algorithm splits a cell of the layer-wise framework (Drammis et al. 2024, §3, Alg. 1) by a
neuron's hyperplane and must say whether each side has an interior. It decides in floating point
when the margin clears its error bound (a float Chebyshev radius beyond ``radius_tol`` either way,
a vertex clearly on one side) and hands every decision inside that band to a :class:`SideOracle`,
which settles it for the network *as written* (float weights are exact rationals):

- a side **has an interior** when a point is found whose every constraint holds strictly in exact
  rational arithmetic (the constraints pulled back through the pattern exactly, python-flint);
- a side **has none** when a Motzkin certificate ``y >= 0, y^T G = 0, y^T h <= 0`` read from the
  float LP's dual verifies exactly on its support (:func:`~.exact.motzkin_from_float`);
- when neither verifies (rare: a side thinner than the float LP can resolve), an exact LP decides
  (sympy's rational simplex, a maintained library: ``max tau`` subject to ``G s + tau w <= h``).

So the answer never depends on a tolerance or on the scale of the box: ``radius_tol`` only sets
how wide the band of float decisions is that come here. The cell is given by the pattern bits of
the layers before ``layer`` and a mask of the decided neurons of ``layer``; neurons constant on the
cell (pulled-back row below ``zero_tol`` times its scale, DESIGN.md §1) are not constraints, the
same rule the algorithms apply. The domain is the parametrised one (``x = x0 + U t``, ``G t <=
h``), taken as the exact rationals of its floats, as every algorithm sees it.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import flint
import numpy as np

from .exact import ExactNetwork, fmpq_of, motzkin_from_float, qcol, qmat, verify_motzkin
from .lp import LPOptions, LPSolver

__all__ = ["Interior", "SideOracle", "pullback_rounding"]

#: Exact entries of pulled-back maps kept in the cache of prefixes (a traversal asks about nearby
#: cells in a row; a degenerate net asks thousands of times). Bounds its memory, whatever ``k``.
_CACHE_ENTRIES = 1 << 20


def pullback_rounding(n_hidden: int, k: int) -> float:
    """Relative bound on the rounding of a pre-activation pulled back to the ``k`` parameters in
    floating point (at most ``n_hidden + k`` terms deep): ``|M t + m|`` at a point of the
    normalised domain is off by at most this times the neuron's scale (DESIGN.md §1)."""
    return 2.0 ** -51 * (n_hidden + k + 8)


@dataclass(frozen=True)
class Interior:
    """A point strictly inside a side (checked exactly) and a radius certified around it.

    ``point`` is in parameter coordinates ``t``; ``radius`` is a lower bound on the distance from
    ``point`` to every constraint of the side, rounding included (it may be 0 for a side thinner
    than float arithmetic can certify: the point itself is still exactly inside).
    """

    point: np.ndarray
    radius: float


class SideOracle:
    """Exact "does this side have an interior" for one problem (network and parametrised domain).

    Parameters
    ----------
    network : Network
        The network (its hidden layers are pulled back).
    param : Parametrization
        The domain as the algorithms see it: ``x = x0 + U t`` with ``G t <= h``.
    zero_tol : float
        The constant-neuron rule of :class:`~reluregions.config.EnumerationConfig`.
    lp : LPOptions, optional
        Options of the float LP that proposes a point or a certificate.

    Not thread-safe (it owns an LP solver); make one per worker. ``calls`` counts the decisions
    settled here, ``exact_lps`` those that needed the rational simplex.
    """

    def __init__(self, network: Any, param: Any, zero_tol: float, lp: LPOptions | None = None) -> None:
        self._net = ExactNetwork.of(network)
        self._slope = float(network.negative_slope)
        self._zero_tol = float(zero_tol)
        self._k = k = int(param.dim)
        self._G = np.asarray(param.G, dtype=np.float64).reshape(-1, k)
        self._h = np.asarray(param.h, dtype=np.float64)
        box = np.vstack([np.eye(k), -np.eye(k)])
        self._axis_box = (self._G.shape == box.shape and bool(np.all(self._G == box))
                          and bool(np.all(self._h == 1.0)))
        self._Gq = qmat(self._G) if self._G.shape[0] and not self._axis_box else None
        self._hq = qcol(self._h) if self._G.shape[0] and not self._axis_box else None
        U, x0 = np.asarray(param.U, dtype=np.float64), np.asarray(param.x0, dtype=np.float64)
        self._U, self._x0 = U, x0
        self._H0 = qmat(np.column_stack([U, x0])) if U.size else None
        self._solver = LPSolver(lp)
        self._cache: OrderedDict = OrderedDict()
        self._cached = 0  # exact entries held by the cache
        self.calls = 0
        self.exact_lps = 0

    def __getstate__(self) -> None:
        raise TypeError("SideOracle holds an LP solver; make one per worker")

    # ------------------------------------------------------------------ the maps
    def _maps(self, bits: np.ndarray, layer: int) -> list:
        """Exact and float pre-activation maps of layers ``0..layer`` on the cell's pattern."""
        widths = self._net.widths
        off = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        key = (layer, np.packbits(bits[:off[layer]]).tobytes())
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        k = self._k
        H = self._H0
        A, c = self._U, self._x0
        absA = np.abs(A).sum(axis=1) + np.abs(c)
        out = []
        for lay in range(layer + 1):
            W, b = self._net.float_weights[lay], self._net.float_biases[lay]
            V = self._net.weights[lay] * H
            for i in range(V.nrows()):
                V[i, k] = V[i, k] + self._net.biases[lay][i, 0]
            M, m = W @ A, W @ c + b
            scale = np.abs(W) @ absA + np.abs(b)
            out.append((V, M, m, scale))
            if lay == layer:
                break
            on = bits[off[lay]:off[lay + 1]]
            H = _scale_rows(V, np.flatnonzero(~on).tolist(), self._net.slope)
            d = np.where(on, 1.0, self._slope)
            A, c = d[:, None] * M, d * m
            absA = np.abs(A).sum(axis=1) + np.abs(c)
        self._cache[key] = out
        self._cached += sum(V.nrows() * V.ncols() for V, *_ in out)
        while self._cached > _CACHE_ENTRIES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= sum(V.nrows() * V.ncols() for V, *_ in old)
        return out

    def _system(self, bits: np.ndarray, layer: int, decided: np.ndarray):
        """The side's strict constraints: per layer the exact map ``V = [M | m]``, the rows that
        constrain (``live``) and their signs (``sign (M s + m) > 0``), and the same rows in float
        (unit norm, right-hand sides tightened by a bound on the rounding of the pull-back)."""
        widths = self._net.widths
        off = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        k = self._k
        gam = pullback_rounding(sum(widths), k)
        exact: list = []
        Gf, hf, err = [], [], []
        for lay, (V, M, m, scale) in enumerate(self._maps(bits, layer)):
            sel = np.arange(widths[lay]) if lay < layer else np.flatnonzero(decided)
            norms = np.linalg.norm(M, axis=1)
            live = sel[norms[sel] > self._zero_tol * np.maximum(scale[sel], 1e-300)]
            if live.size == 0:
                continue  # constant neurons are not constraints (DESIGN.md §1)
            sign = np.where(bits[off[lay]:off[lay + 1]][live], 1.0, -1.0)
            exact.append((V, live, sign, lay == layer))  # rows -sign [M | m] of the rows live
            nr = norms[live]
            Gf.append(-sign[:, None] * M[live] / nr[:, None])
            hf.append(sign * m[live] / nr)
            err.append(gam * scale[live] / nr)
        if not Gf:
            return exact, np.zeros((0, k)), np.zeros(0)
        return exact, np.vstack(Gf), np.concatenate(hf) - np.concatenate(err)

    # ------------------------------------------------------------------ the decision
    def interior(self, bits: np.ndarray, layer: int, decided: np.ndarray,
                 hint: np.ndarray | None = None) -> Interior | None:
        """A point strictly inside the side, or ``None`` when it provably has no interior.

        Parameters
        ----------
        bits : ndarray of bool
            Pattern bits of every hidden neuron: those of the layers before ``layer`` complete, and
            those of ``layer`` where ``decided`` (the neuron being inserted included).
        layer : int
            The layer being split.
        decided : ndarray of bool, shape (width of ``layer``,)
            The neurons of ``layer`` whose side defines the cell (split or fixed so far).
        hint : ndarray, optional
            A candidate point (a witness whose ball is too thin to prove the side): when every
            constraint holds strictly at it in exact arithmetic it is the answer, with no LP.
        """
        self.calls += 1
        bits = np.asarray(bits, dtype=bool)
        exact, Gf, hf = self._system(bits, layer, np.asarray(decided, dtype=bool))
        k = self._k
        G = np.vstack([self._G, Gf])
        h = np.concatenate([self._h, hf])
        if G.shape[0] == 0:
            return Interior(np.zeros(k), float(self._solver.options.radius_cap))
        if hint is not None and self._strictly_inside(exact, np.asarray(hint, dtype=np.float64)):
            point = np.array(hint, dtype=np.float64)
            return Interior(point, self._certified_radius(G, h, point))
        if self._opposite_pair(exact, G):
            return None
        centre, r = self._solver.chebyshev(G, h, np.ones(G.shape[0]))
        if r > 0 and self._strictly_inside(exact, centre):
            return Interior(centre, self._certified_radius(G, h, centre))
        y = np.maximum(-self._solver.row_duals(), 0.0)
        S = np.flatnonzero(y > 1e-9 * max(float(y.max(initial=0.0)), 1e-300))
        if S.size:
            Gs, hs = self._rows(exact, S)
            if motzkin_from_float(Gs, hs, y[S], [True] * S.size) is not None:
                return None
        Gq, hq = self._rows(exact, np.arange(G.shape[0]))
        settled = self._basis_lp(Gq, hq)
        if settled is not None:
            return settled[0]
        return self._exact_lp(Gq, hq, G)

    def _basis_lp(self, Gq, hq) -> tuple | None:
        """The float LP's optimal basis, verified in rational arithmetic (the technique of exact
        LP solvers: a basis is optimal when its exact basic solution is primal feasible and its
        exact multipliers dual feasible). The LP is ``max tau`` over ``Gq s + tau <= hq`` (the
        rows HiGHS just solved, unit weights). Returns ``(Interior or None,)`` when the basis is
        exactly optimal (then ``tau*`` decides: its multipliers are a Motzkin certificate when
        ``tau* <= 0``), or ``None`` when it is not (degenerate or inexact: the rational simplex
        decides)."""
        m, k = Gq.nrows(), Gq.ncols()
        basis = self._solver.basis()
        if basis is None:
            return None
        rows, cols = basis
        active = np.flatnonzero(~rows)
        if active.size != k + 1 or not cols.all():
            return None
        one = flint.fmpq(1)
        B = flint.fmpq_mat(k + 1, k + 1)
        b = flint.fmpq_mat(k + 1, 1)
        for a, i in enumerate(active.tolist()):
            for c in range(k):
                B[a, c] = Gq[i, c]
            B[a, k] = one
            b[a, 0] = hq[i, 0]
        try:
            x = B.solve(b)
            e = flint.fmpq_mat(k + 1, 1)
            e[k, 0] = one
            y = B.transpose().solve(e)
        except ZeroDivisionError:  # a singular basis: not a vertex
            return None
        if any(y[a, 0] < 0 for a in range(k + 1)):
            return None  # not dual feasible
        s = flint.fmpq_mat(k, 1, [x[c, 0] for c in range(k)])
        slack = hq - Gq * s
        tau = x[k, 0]
        if any(slack[i, 0] < tau for i in range(m)):
            return None  # not primal feasible
        self.exact_lps += 1
        if tau <= 0:
            return (None,)
        point = np.array([float(x[c, 0]) for c in range(k)], dtype=np.float64)
        return (Interior(point, 0.0),)

    def _opposite_pair(self, exact: list, G: np.ndarray) -> bool:
        """Whether two constraints are exact opposites (``c_i = -lam c_j``, ``lam > 0``, offsets
        included): then ``c_i < 0`` and ``c_j < 0`` cannot both hold, a certificate on two rows.
        The common exact decision of degenerate nets (a neuron whose hyperplane is a face of the
        cell asked for its far side) is settled here without an LP."""
        n0 = self._G.shape[0]
        cur = exact[-1][1].size if exact and exact[-1][3] else 0  # rows of the layer being split
        if cur == 0 or G.shape[0] - n0 < 2:
            return False
        U = G[n0:]
        m = U.shape[0]
        D = U[m - cur:] @ U.T  # the earlier rows hold together on a full-dimensional region
        D[np.arange(cur), np.arange(m - cur, m)] = 0.0
        for a, j in np.argwhere(D <= -1.0 + 1e-9).tolist():
            Gs, hs = self._rows(exact, np.array([n0 + m - cur + a, n0 + j]))
            if verify_motzkin(Gs, hs, _opposite(Gs, hs), [True, True]):
                return True
        return False

    def _rows(self, exact: list, index: np.ndarray):
        """Rows ``index`` of the exact system ``Gq s < hq`` (the domain's rows first, then the
        side's constraints in the order of :meth:`_system`)."""
        k = self._k
        n0 = self._G.shape[0]
        starts = np.cumsum([n0] + [live.size for _, live, _, _ in exact])
        g, h = [], []
        for i in index.tolist():
            if i < n0:
                g.extend(fmpq_of(v) for v in self._G[i].tolist())  # floats are exact rationals
                h.append(fmpq_of(float(self._h[i])))
                continue
            lay = int(np.searchsorted(starts, i, side="right")) - 1
            V, live, sign, _ = exact[lay]
            a = i - int(starts[lay])
            j = int(live[a])
            if sign[a] > 0:  # -[M | m] (s, 1) < 0:  -M s < m
                g.extend(-V[j, c] for c in range(k))
                h.append(V[j, k])
            else:
                g.extend(V[j, c] for c in range(k))
                h.append(-V[j, k])
        return flint.fmpq_mat(len(index), k, g), flint.fmpq_mat(len(index), 1, h)

    def _strictly_inside(self, exact: list, t: np.ndarray) -> bool:
        """Whether every constraint holds strictly, in exact arithmetic, at the float point ``t``."""
        if self._G.shape[0]:
            if self._axis_box:  # |t_i| < 1 compares floats exactly
                if not bool(np.all(np.abs(t) < 1.0)):
                    return False
            else:
                slack = self._hq - self._Gq * qcol(t)
                if not all(v > 0 for v in slack.entries()):
                    return False
        col = qcol(np.append(t, 1.0))
        for V, live, sign, _ in exact:
            z = (V * col).entries()
            if not all((z[j] > 0) if sg > 0 else (z[j] < 0) for j, sg in zip(live.tolist(), sign.tolist())):
                return False
        return True

    @staticmethod
    def _certified_radius(G: np.ndarray, h: np.ndarray, t: np.ndarray) -> float:
        """The least slack of the unit rows at ``t``, lowered by a bound on its rounding (the rows'
        own rounding is already in ``h``)."""
        k = G.shape[1]
        slack = h - G @ t - 2.0 ** -52 * (k + 2) * (np.abs(h) + np.abs(G) @ np.abs(t))
        return max(float(slack.min(initial=np.inf)), 0.0)

    def _exact_lp(self, Gq, hq, G: np.ndarray) -> Interior | None:
        """Decide by an exact LP (sympy's rational simplex), in its dual form: the least
        ``hq . y + z`` over ``y, z >= 0`` with ``Gq^T y = 0`` and ``sum y + z = 1`` is the largest
        ``tau <= 1`` with ``Gq s + tau <= hq`` (LP duality; unit weights). At most 0: no
        interior, ``y`` being a Motzkin certificate. Above 0: an interior, and a point from the
        rows ``y`` makes tight.
        (The dual has no free variables, which sympy 1.14's simplex mishandles, and it solved
        in 40 ms a 23-row system on which the primal form ran for minutes.) It is passed with
        ``z = 1 - sum y`` eliminated and each equation as two inequalities with right-hand side
        0, so ``y = 0`` is a feasible start: sympy's first phase, which can stop on an
        "oscillating system" in degenerate problems, has nothing to do, and its second phase
        follows Bland's rule, which cannot cycle."""
        from sympy.solvers.simplex import InfeasibleLPError, linprog

        self.exact_lps += 1
        m, k = Gq.nrows(), Gq.ncols()
        g = [_sym(v) for v in Gq.entries()]
        # the primal caps tau at 1 (an unbounded cell of the whole space): its multiplier is
        # z = 1 - sum y, so the cost is hq . y + 1 - sum y
        cost = [_sym(v) - 1 for v in hq.entries()]
        eqs = [[g[i * k + c] for i in range(m)] for c in range(k)]
        A_ub = eqs + [[-v for v in row] for row in eqs] + [[1] * m]
        value, y = linprog(cost, A_ub, [0] * (2 * k) + [1])
        value += 1
        tau = flint.fmpq(int(value.p), int(value.q))
        if tau <= 0:
            return None
        point = self._tight_point(Gq, hq, [i for i in range(m) if y[i] != 0], tau)
        if point is None and tau > flint.fmpq(1, 2 ** 52):  # below: thinner than float spacing
            try:
                point = self._primal_point(Gq, hq, tau)  # a feasibility LP, 0.1-0.5 s
            except InfeasibleLPError:  # sympy's first phase stopped ("oscillating system")
                point = None  # the interior is proved all the same; the point certifies nothing
        if point is None:  # thinner than float spacing: the interior exists all the same
            point = np.linalg.lstsq(G, np.asarray([float(v) for v in hq.entries()]), rcond=None)[0]
        return Interior(point, 0.0)

    @staticmethod
    def _primal_point(Gq, hq, tau) -> np.ndarray | None:
        """A float point strictly inside ``Gq s < hq``: an exact solution of ``Gq s <= hq - tau/2``
        (sympy's simplex; free ``s`` as ``u - z`` with one shared ``z >= 0``, since sympy 1.14
        ignores free bounds), rounded and checked."""
        from sympy.solvers.simplex import linprog

        m, k = Gq.nrows(), Gq.ncols()
        g = [_sym(v) for v in Gq.entries()]
        A = [g[i * k:(i + 1) * k] + [-sum(g[i * k:(i + 1) * k])] for i in range(m)]
        b = [_sym(v - tau / 2) for v in hq.entries()]
        _, x = linprog([0] * (k + 1), A, b)
        point = np.array([float(x[c] - x[k]) for c in range(k)], dtype=np.float64)
        slack = hq - Gq * qcol(point)
        return point if all(v > 0 for v in slack.entries()) else None

    @staticmethod
    def _tight_point(Gq, hq, support: list, tau) -> np.ndarray | None:
        """A float point strictly inside ``Gq s < hq``, from an exact solution of the rows of the
        dual's support made tight at ``tau`` (complementary slackness), or ``None``."""
        k = Gq.ncols()
        if not support:
            return None
        A = flint.fmpq_mat(len(support), k + 1)
        for a, i in enumerate(support):
            for c in range(k):
                A[a, c] = Gq[i, c]
            A[a, k] = hq[i, 0] - tau
        R, rank = A.rref()
        s = [flint.fmpq(0)] * k
        for r in range(rank):
            lead = next((c for c in range(k + 1) if R[r, c] != 0), None)
            if lead is None or lead == k:
                return None
            s[lead] = R[r, k] / R[r, lead]
        point = np.array([float(v) for v in s], dtype=np.float64)
        slack = hq - Gq * qcol(point)
        return point if all(v > 0 for v in slack.entries()) else None


def _sym(v: "flint.fmpq"):
    """A flint rational as a sympy ``Rational`` (sympy's simplex works in its own numbers)."""
    from sympy import Rational

    return Rational(int(v.p), int(v.q))


def _opposite(Gs, hs) -> list:
    """Multipliers ``(1, lam)`` with ``row_0 + lam row_1 = 0`` on the first nonzero column of a
    two-row system, or ``(0, 0)`` (no certificate) when there is none."""
    zero = flint.fmpq(0)
    for c in range(Gs.ncols()):
        if Gs[1, c] != 0:
            return [flint.fmpq(1), -Gs[0, c] / Gs[1, c]]
    return [zero, zero]


def _scale_rows(V, rows: list, slope):
    """A copy of the exact map ``V`` with ``rows`` multiplied by ``slope`` (inactive neurons)."""
    H = flint.fmpq_mat(V)
    n = H.ncols()
    for i in rows:
        for j in range(n):
            H[i, j] = H[i, j] * slope
    return H
