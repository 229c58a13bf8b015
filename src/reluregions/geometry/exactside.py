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

import numpy as np

from .exact import ExactNetwork, fmpq_of, motzkin_from_float, qcol, qmat
from .lp import LPOptions, LPSolver

__all__ = ["Interior", "SideOracle"]

_CACHE = 16  # pulled-back prefixes kept (a traversal asks about one cell's two sides in a row)


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
        self._Gq = qmat(self._G) if self._G.shape[0] else None
        self._hq = qcol(self._h) if self._G.shape[0] else None
        U, x0 = np.asarray(param.U, dtype=np.float64), np.asarray(param.x0, dtype=np.float64)
        self._U, self._x0 = U, x0
        self._H0 = qmat(np.column_stack([U, x0])) if U.size else None
        self._solver = LPSolver(lp)
        self._cache: OrderedDict = OrderedDict()
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
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return out

    def _system(self, bits: np.ndarray, layer: int, decided: np.ndarray):
        """The side's strict constraints ``Gq s < hq`` (exact), their float rows (unit norm, rhs
        tightened by the rounding of the pull-back), and ``None`` or an exact-zero contradiction."""
        widths = self._net.widths
        off = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        k = self._k
        exact_rows: list = []
        Gf, hf, err = [], [], []
        empty = False
        for lay, (V, M, m, scale) in enumerate(self._maps(bits, layer)):
            sel = np.arange(widths[lay]) if lay < layer else np.flatnonzero(decided)
            on = bits[off[lay]:off[lay + 1]]
            norms = np.linalg.norm(M, axis=1)
            tol = self._zero_tol * np.maximum(scale, 1e-300)
            gam = 2.0 ** -51 * (sum(widths) + k + 8)
            for j in sel.tolist():
                if norms[j] <= tol[j]:
                    continue  # constant on the cell: not a constraint (DESIGN.md §1)
                sign = 1 if on[j] else -1
                row = [-sign * V[j, c] for c in range(k)]
                rhs = sign * V[j, k]
                if all(v == 0 for v in row):
                    empty |= rhs <= 0  # exactly constant after all: true or false everywhere
                    continue
                exact_rows.append((row, rhs))
                Gf.append(-sign * M[j] / norms[j])
                hf.append(sign * m[j] / norms[j])
                err.append(gam * scale[j] / norms[j])
        return exact_rows, np.array(Gf).reshape(-1, k), np.array(hf), np.array(err), empty

    # ------------------------------------------------------------------ the decision
    def interior(self, bits: np.ndarray, layer: int, decided: np.ndarray) -> Interior | None:
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
        """
        self.calls += 1
        bits = np.asarray(bits, dtype=bool)
        rows, Gf, hf, err, empty = self._system(bits, layer, np.asarray(decided, dtype=bool))
        if empty:
            return None
        k = self._k
        G = np.vstack([self._G, Gf]) if Gf.size else self._G
        h = np.concatenate([self._h, hf - err]) if Gf.size else self._h
        if G.shape[0] == 0:
            return Interior(np.zeros(k), float(self._solver.options.radius_cap))
        Gq, hq = self._exact_system(rows)
        centre, r = self._solver.chebyshev(G, h, np.ones(G.shape[0]))
        if r > 0 and self._strictly_inside(Gq, hq, centre):
            return Interior(centre, self._certified_radius(G, h, centre))
        y = -np.asarray(self._solver.row_duals(), dtype=np.float64)
        y = np.maximum(y, 0.0)
        if motzkin_from_float(Gq, hq, y, [True] * Gq.nrows()) is not None:
            return None
        return self._exact_lp(Gq, hq, G, h)

    def _exact_system(self, rows: list):
        """``Gq, hq``: the domain's rows and the side's constraints as one exact system."""
        import flint

        k = self._k
        n0 = self._G.shape[0]
        Gq = flint.fmpq_mat(n0 + len(rows), k)
        hq = flint.fmpq_mat(n0 + len(rows), 1)
        for i in range(n0):
            for c in range(k):
                Gq[i, c] = self._Gq[i, c]
            hq[i, 0] = self._hq[i, 0]
        for i, (row, rhs) in enumerate(rows):
            for c in range(k):
                Gq[n0 + i, c] = row[c]
            hq[n0 + i, 0] = rhs
        return Gq, hq

    @staticmethod
    def _strictly_inside(Gq, hq, t: np.ndarray) -> bool:
        """Whether ``Gq t < hq`` holds in exact arithmetic at the float point ``t``."""
        slack = hq - Gq * qcol(t)
        return all(slack[i, 0] > 0 for i in range(slack.nrows()))

    @staticmethod
    def _certified_radius(G: np.ndarray, h: np.ndarray, t: np.ndarray) -> float:
        """The least slack of the unit rows at ``t``, lowered by a bound on its rounding (the rows'
        own rounding is already in ``h``)."""
        k = G.shape[1]
        slack = h - G @ t - 2.0 ** -52 * (k + 2) * (np.abs(h) + np.abs(G) @ np.abs(t))
        return max(float(slack.min(initial=np.inf)), 0.0)

    def _exact_lp(self, Gq, hq, G: np.ndarray, h: np.ndarray) -> Interior | None:
        """``max tau`` subject to ``Gq s + tau w <= hq``, ``tau <= 1``, in rational arithmetic."""
        from sympy import Rational
        from sympy.solvers.simplex import linprog

        self.exact_lps += 1
        m, k = Gq.nrows(), Gq.ncols()

        def q(v) -> Rational:
            return Rational(int(v.p), int(v.q))

        norms = np.linalg.norm(G, axis=1) if G.shape[0] == m else np.ones(m)
        A = [[q(Gq[i, c]) for c in range(k)] + [q(fmpq_of(max(float(norms[i]), 1e-300)))]
             for i in range(m)]
        b = [q(hq[i, 0]) for i in range(m)]
        cost = [0] * k + [-1]
        value, x = linprog(cost, A, b, bounds=[(None, None)] * k + [(None, 1)])
        if -value <= 0:
            return None
        point = np.array([float(v) for v in x[:k]], dtype=np.float64)
        return Interior(point, 0.0)


def _scale_rows(V, rows: list, slope):
    """A copy of the exact map ``V`` with ``rows`` multiplied by ``slope`` (inactive neurons)."""
    import flint

    H = flint.fmpq_mat(V)
    n = H.ncols()
    for i in rows:
        for j in range(n):
            H[i, j] = H[i, j] * slope
    return H
