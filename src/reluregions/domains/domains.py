"""Convex input domains and their common parametrisation (DESIGN.md §1).

Every domain is reduced to a :class:`Parametrization`: ``x = x0 + U t`` with ``t`` in the polytope
``{t : G t <= h}`` of full dimension ``k``, normalised so that it fits in ``[-1, 1]^k``. Fixed box
coordinates (``lo == hi``) and affine slices simply make ``k`` smaller than the input dimension,
so lower-dimensional domains are handled by reparametrising, never by special cases downstream.
Radii (and the full-dimensionality tolerance) are measured in ``t``.

:class:`WholeSpace` is the one unbounded domain (R^d, issue 15): its parametrisation has no rows
(``G`` is ``(0, d)``), ``t = x`` and ``bounded`` is False, so the algorithms that work with
unbounded cells (witness, paper) know to mark each region bounded or not.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DomainError, EmptyDomainError, ShapeMismatchError, UnboundedDomainError

__all__ = ["Domain", "Box", "HPolytope", "AffineSlice", "WholeSpace", "Parametrization"]


@dataclass(frozen=True, eq=False)
class Parametrization:
    """``x = x0 + U t`` with ``t`` in ``{t : G t <= h}``, rows of ``G`` of unit Euclidean norm.

    ``bounded`` is False only for the whole input space (:class:`WholeSpace`): then ``G`` has no
    rows and cells, hence regions, may be unbounded.
    """

    x0: np.ndarray
    U: np.ndarray
    G: np.ndarray
    h: np.ndarray
    bounded: bool = True

    @property
    def dim(self) -> int:
        """Dimension ``k`` of the domain (of its affine hull)."""
        return int(self.U.shape[1])

    def __post_init__(self) -> None:
        # A box's U has one non-zero per column: map by scaling, not by a dense (d x k) product
        # (at d = 784 the product is most of the cost of writing a region out).
        U = self.U
        scaled = None
        if U.size and np.count_nonzero(U) == U.shape[1] and np.all(np.count_nonzero(U, axis=0) == 1):
            rows = np.argmax(U != 0, axis=0)
            scaled = (rows, U[rows, np.arange(U.shape[1])])
        object.__setattr__(self, "_scaled", scaled)

    def to_input(self, t: np.ndarray) -> np.ndarray:
        """Map parameter points ``t`` (n, k) or (k,) to input points."""
        t = np.asarray(t)
        if self._scaled is None:
            return self.x0 + t @ self.U.T
        rows, scale = self._scaled
        x = np.broadcast_to(self.x0, t.shape[:-1] + self.x0.shape).copy()
        x[..., rows] += t * scale
        return x


def _normalise_rows(G: np.ndarray, h: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(G, axis=1)
    scale = max(float(norms.max(initial=0.0)), 1.0)
    zero = norms <= 1e-14 * scale
    if np.any(zero & (h < 0)):
        raise EmptyDomainError(f"{what}: a constraint 0 <= h with h < 0 makes the domain empty")
    keep = ~zero
    return G[keep] / norms[keep, None], h[keep] / norms[keep]


class Domain(ABC):
    """A convex input domain: bounded, except :class:`WholeSpace`."""

    #: Whether the domain is bounded (every domain but :class:`WholeSpace`).
    bounded: bool = True

    @property
    @abstractmethod
    def input_dim(self) -> int:
        """Dimension of the input space the domain lives in."""

    @abstractmethod
    def parametrize(self) -> Parametrization:
        """Reduce the domain to the normalised form the enumeration works in."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description, written into output metadata."""

    def contains(self, x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Whether the points ``x`` (n, d) lie in the domain, up to ``tol``."""
        p = self.parametrize()
        x = np.atleast_2d(np.asarray(x, dtype=float))
        t, *_ = np.linalg.lstsq(p.U, (x - p.x0).T, rcond=None) if p.dim else (np.zeros((0, len(x))),)
        on_hull = np.linalg.norm(p.to_input(t.T) - x, axis=1) <= tol * (1 + np.abs(x).max(axis=1))
        inside = (t.T @ p.G.T <= p.h + tol).all(axis=1) if p.G.size else np.ones(len(x), bool)
        return on_hull & inside


class Box(Domain):
    """The box ``lo <= x <= hi``; coordinates with ``lo == hi`` are fixed (a lower-dimensional slice)."""

    def __init__(self, lo: Any, hi: Any) -> None:
        lo = np.array(lo, dtype=np.float64).reshape(-1)
        hi = np.array(hi, dtype=np.float64).reshape(-1)
        if lo.shape != hi.shape:
            raise ShapeMismatchError(f"box has {lo.size} lower but {hi.size} upper bounds; give one "
                                     "pair per input coordinate")
        if lo.size == 0:
            raise DomainError("box has no coordinates")
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise UnboundedDomainError("box bounds must be finite numbers (no NaN or inf); "
                                       "give a bounded box")
        bad = np.flatnonzero(lo > hi)
        if bad.size:
            i = int(bad[0])
            raise EmptyDomainError(f"box is empty: lo[{i}] = {lo[i]:g} > hi[{i}] = {hi[i]:g}; "
                                   "swap the bounds")
        lo.setflags(write=False)
        hi.setflags(write=False)
        self.lo, self.hi = lo, hi

    @classmethod
    def symmetric(cls, dim: int, radius: float = 1.0) -> "Box":
        """The box ``[-radius, radius]^dim`` (the default domain)."""
        return cls(np.full(dim, -radius), np.full(dim, radius))

    @property
    def input_dim(self) -> int:
        return int(self.lo.size)

    def parametrize(self) -> Parametrization:
        free = np.flatnonzero(self.hi > self.lo)
        k = free.size
        x0 = (self.lo + self.hi) / 2
        U = np.zeros((self.input_dim, k))
        U[free, np.arange(k)] = (self.hi - self.lo)[free] / 2
        G = np.vstack([np.eye(k), -np.eye(k)])
        return Parametrization(x0, U, G, np.ones(2 * k))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "box", "lo": self.lo.tolist(), "hi": self.hi.tolist()}

    def __repr__(self) -> str:
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"


class HPolytope(Domain):
    """The polytope ``{x : G x <= h}``, checked non-empty, full-dimensional and bounded."""

    def __init__(self, G: Any, h: Any) -> None:
        G = np.array(G, dtype=np.float64)
        h = np.array(h, dtype=np.float64).reshape(-1)
        if G.ndim != 2 or G.shape[0] != h.shape[0]:
            raise ShapeMismatchError(f"polytope G has shape {G.shape} but h has {h.shape[0]} entries; "
                                     "G must be (m, d) and h (m,)")
        if not (np.isfinite(G).all() and np.isfinite(h).all()):
            raise DomainError("polytope constraints contain NaN or infinite values")
        self.G, self.h = G, h
        self._param = self._build()

    @property
    def input_dim(self) -> int:
        return int(self.G.shape[1])

    def _build(self) -> Parametrization:
        from ..geometry.lp import LPSolver

        d = self.input_dim
        G, h = _normalise_rows(self.G, self.h, "polytope")
        solver = LPSolver()
        lo, hi = np.empty(d), np.empty(d)
        for i in range(d):
            for sign, store in ((1.0, lo), (-1.0, hi)):
                c = np.zeros(d)
                c[i] = sign
                status, _, value = solver.minimize(c, G, h)
                if status == "infeasible":
                    raise EmptyDomainError("polytope G x <= h has no point; check the signs of G and h")
                if status == "unbounded":
                    raise UnboundedDomainError(f"polytope is unbounded along input {i}; add bounds "
                                               "(for example a box) to make it bounded")
                store[i] = sign * value
        x0 = (lo + hi) / 2
        half = np.maximum((hi - lo) / 2, 0.0)
        if np.any(half <= 1e-12 * max(1.0, float(np.abs(x0).max()))):
            raise DomainError("polytope has no interior (it is flat along some input); describe a "
                              "lower-dimensional domain with an affine slice instead")
        U = np.diag(half)
        Gt, ht = _normalise_rows(G @ U, h - G @ x0, "polytope")
        _, radius = solver.chebyshev(Gt, ht)
        if radius <= 1e-9:
            raise DomainError("polytope has no interior; describe a lower-dimensional domain with "
                              "an affine slice instead")
        return Parametrization(x0, U, Gt, ht)

    def parametrize(self) -> Parametrization:
        return self._param

    def to_dict(self) -> dict[str, Any]:
        return {"type": "hpolytope", "G": self.G.tolist(), "h": self.h.tolist()}


class AffineSlice(Domain):
    """The slice ``x = x0 + U s`` with ``s`` in an inner domain (a :class:`Box` or :class:`HPolytope`).

    Used for 2-D slices of high-dimensional inputs (the plane through three images, as SplineCam
    draws). ``U`` must have full column rank.
    """

    def __init__(self, x0: Any, U: Any, inner: Domain) -> None:
        x0 = np.array(x0, dtype=np.float64).reshape(-1)
        U = np.array(U, dtype=np.float64)
        if U.ndim != 2 or U.shape[0] != x0.size:
            raise ShapeMismatchError(f"slice U has shape {U.shape}; expected ({x0.size}, k)")
        if inner.input_dim != U.shape[1]:
            raise ShapeMismatchError(f"slice has {U.shape[1]} directions but its parameter domain "
                                     f"has dimension {inner.input_dim}")
        if not (np.isfinite(x0).all() and np.isfinite(U).all()):
            raise DomainError("slice origin or directions contain NaN or infinite values")
        if np.linalg.matrix_rank(U) < U.shape[1]:
            raise DomainError("slice directions are linearly dependent; give independent directions")
        self.x0, self.U, self.inner = x0, U, inner

    @classmethod
    def through_points(cls, a: Any, b: Any, c: Any, margin: float = 0.1) -> "AffineSlice":
        """The plane through three input points, as a 2-D slice.

        The parameters are ``(s1, s2)`` with ``x = a + s1 (b - a) + s2 (c - a)``; the parameter box
        is ``[-margin, 1 + margin]^2``, so the three points sit at (0,0), (1,0) and (0,1).
        """
        a, b, c = (np.asarray(p, dtype=np.float64).reshape(-1) for p in (a, b, c))
        U = np.stack([b - a, c - a], axis=1)
        return cls(a, U, Box([-margin, -margin], [1 + margin, 1 + margin]))

    @property
    def input_dim(self) -> int:
        return int(self.x0.size)

    def parametrize(self) -> Parametrization:
        p = self.inner.parametrize()
        return Parametrization(self.x0 + self.U @ p.x0, self.U @ p.U, p.G, p.h, p.bounded)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "affine_slice", "x0": self.x0.tolist(), "U": self.U.tolist(),
                "inner": self.inner.to_dict()}


class WholeSpace(Domain):
    """The whole input space ``R^d``: every region, bounded or not (issue 15, DESIGN.md §1).

    Not a big box: the parametrisation has no constraint rows (``t = x``, ``G`` of shape
    ``(0, d)``), and the witness and paper algorithms split unbounded cells as they split bounded
    ones. Their Chebyshev LPs stay bounded because the radius variable is capped
    (:class:`~reluregions.geometry.lp.LPOptions.radius_cap`); a cap above ``radius_tol`` changes no
    "radius > radius_tol" decision, so the regions are the same as in any box that holds every
    vertex. Radii are in input units. Each region is marked bounded or unbounded.

    Parameters
    ----------
    dim : int
        The input dimension ``d`` (at least 1).
    """

    bounded = False

    def __init__(self, dim: int) -> None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise DomainError(f"the whole space needs a dimension of at least 1, got {dim!r}")
        self.dim = int(dim)

    @property
    def input_dim(self) -> int:
        return self.dim

    def parametrize(self) -> Parametrization:
        d = self.dim
        return Parametrization(np.zeros(d), np.eye(d), np.zeros((0, d)), np.zeros(0), bounded=False)

    def contains(self, x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Every finite point of the right dimension lies in the whole space."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.isfinite(x).all(axis=1) & (x.shape[1] == self.dim)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "whole_space", "dim": self.dim}

    def __repr__(self) -> str:
        return f"WholeSpace({self.dim})"
