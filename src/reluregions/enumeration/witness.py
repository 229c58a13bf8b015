"""The default algorithm: LayerWise-NNCE with witness points and unstable-neuron filtering.

Same framework as the paper (Drammis et al. 2024, §3, Alg. 1) with three changes that cut the LPs
per region (DESIGN.md §2, "Where we go beyond it"):

* every cell carries a *witness ball* certified to lie inside it. The side of a new hyperplane that
  holds the witness needs no LP; when the hyperplane cuts through the ball deeply enough both sides
  get a certified ball with no LP at all; otherwise one Chebyshev LP on the far side decides the
  split and also supplies that side's witness — one LP per split, not two;
* before inserting a layer's neurons into a cell, an outer bounding box of the cell (inherited, or
  tightened with ``2k`` LPs when too many neurons stay undecided) discards every neuron whose
  hyperplane cannot cross the cell, without any LP;
* cells are expanded depth first, one split per work item, so memory is bounded by the depth of
  the tree, never by the number of regions.

A side of a split is kept when it has an interior (DESIGN.md §1, the rule every algorithm
follows): a certified ball of radius above the band of float decisions (``config.band``:
``radius_tol``, at least ten times the LP's feasibility tolerance) — the witness ball, or the
part of it the hyperplane leaves on either side — or a float Chebyshev radius above it proves one;
a radius below minus the band proves there is none; a side in between is settled exactly
(:meth:`~reluregions.tree.Context.settle`), which also gives its witness: a point checked exactly,
with a certified radius that may be 0, or, in a sliver thinner than float spacing (near-duplicate
hyperplanes), a float point that is not inside it at all. So a witness ball within the band proves
no side of a later hyperplane: the side it lies on is kept only when the witness is checked
exactly inside it, else that side is settled exactly too (issue 15). Distances to a hyperplane are
compared net of the rounding of the pull-back. The interval filter likewise calls a neuron stable
only when an outer box proven by weak duality lies beyond the band. So the paper algorithm and this
one return identical region sets, and no tolerance decides what a region is: the band only sets
how many decisions are exact.

Unbounded cells (the whole input space, :class:`~reluregions.domains.WholeSpace`) need no special
case: their Chebyshev LPs stay bounded because the radius is capped (``LPOptions.radius_cap``, far
above the band, so no side decision changes; DESIGN.md §1), the outer box
starts as ``R^k`` and keeps an infinite side wherever the tightening LP is unbounded, and the
interval test treats ``0 * inf`` as 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.exactside import pullback_rounding
from ..geometry.simplex import lp_lower_bound
from .base import Algorithm, Block, Cell, Context, Problem, RegionBlock
from .cells import exhaustive_first_layer
from .layers import chebyshev_side, constant_neurons, finish_layer, layer_offsets, root_cell

__all__ = ["WitnessAlgorithm", "WitnessState"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessState:
    """The witness algorithm's state of a cell (:attr:`~reluregions.tree.Cell.payload`).

    Attributes
    ----------
    lo, hi : ndarray
        An outer bounding box ``lo <= t <= hi`` of the cell, inherited from the ancestor that
        computed it (infinite sides where the domain is unbounded).
    """

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of_domain(cls, problem: Problem) -> "WitnessState":
        """The box of the root: ``[-1, 1]^k`` (the normalised domain), or ``R^k`` for the whole
        space."""
        k = problem.param.dim
        edge = 1.0 if problem.param.bounded else np.inf
        return cls(lo=np.full(k, -edge), hi=np.full(k, edge))


class WitnessAlgorithm(Algorithm):
    """Witness-point LayerWise-NNCE (the package default)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        #: relative rounding of a pulled-back pre-activation (times the neuron's scale)
        self._gamma = pullback_rounding(problem.network.n_hidden, problem.param.dim)

    def roots(self, ctx: Context) -> list[Cell]:
        box = WitnessState.of_domain(self.problem)
        if self.problem.config.first_layer == "exhaustive":
            return exhaustive_first_layer(self.problem, ctx, box)
        return [root_cell(self.problem, ctx, box)]

    def expand(self, cell: Cell, ctx: Context, *, budget: int,
               count_only: bool) -> tuple[list[Cell], Block]:
        """Insert the cell's remaining neurons until one splits it or the network ends."""
        problem = self.problem
        offsets = layer_offsets(problem)
        cell.bits = cell.bits.copy()
        ctx.stats.expansions += 1
        while True:
            norms = np.linalg.norm(cell.M, axis=1)
            todo = self._undecided(cell, norms, ctx)
            base = offsets[cell.layer]
            for j in todo[todo >= cell.neuron]:
                # Decided: every neuron before j (inserted, or fixed by _undecided) and every
                # neuron _undecided fixed; the open ones after j are not.
                decided = np.ones(cell.M.shape[0], dtype=bool)
                decided[todo[todo > j]] = False
                children = self._insert(cell, int(j), norms[j], base + int(j), decided, ctx)
                if children is not None:
                    return children, RegionBlock.empty()
            nxt = finish_layer(problem, cell, ctx)
            if isinstance(nxt, RegionBlock):
                return [], nxt
            cell = nxt

    # ------------------------------------------------------------------ filtering
    def _undecided(self, cell: Cell, norms: np.ndarray, ctx: Context) -> np.ndarray:
        """Indices of the layer's neurons whose hyperplane may cross the cell; fix the others' bits."""
        problem = self.problem
        base = layer_offsets(problem)[cell.layer]
        n = cell.M.shape[0]
        const, const_bits = constant_neurons(problem, cell, norms)
        # Float decides a neuron stable only when the whole outer box lies farther than the band
        # (and the rounding of the pull-back) from its hyperplane (DESIGN.md §1); a nearer one is
        # inserted, and settled exactly.
        margin = problem.config.band * norms + self._gamma * cell.scale
        lo_z, hi_z = self._interval(cell)
        pos = ~const & (lo_z > margin)
        neg = ~const & (hi_z < -margin)
        open_ = ~(const | pos | neg)
        k = cell.M.shape[1]
        if cell.neuron == 0 and open_.sum() > 2 * k and k > 0:
            self._tighten_box(cell, ctx)
            lo_z, hi_z = self._interval(cell)
            pos |= ~const & (lo_z > margin)
            neg |= ~const & (hi_z < -margin)
            open_ = ~(const | pos | neg)
        # Bits of neurons at or after the insertion point that need no split are fixed here.
        sel = np.arange(n) >= cell.neuron
        idx = base + np.flatnonzero(sel & ~open_)
        cell.bits[idx] = (const_bits | pos)[sel & ~open_]
        return np.flatnonzero(open_)

    @staticmethod
    def _interval(cell: Cell) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = cell.payload.lo, cell.payload.hi
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return _interval_unbounded(cell.M, cell.m, lo, hi)
        mid = (lo + hi) / 2
        half = (hi - lo) / 2
        centre = cell.M @ mid + cell.m
        spread = np.abs(cell.M) @ half
        return centre - spread, centre + spread

    @staticmethod
    def _tighten_box(cell: Cell, ctx: Context) -> None:
        """Shrink the cell's outer box with ``2k`` LPs, each side a weak-duality bound from the
        LP's multipliers (valid whatever the LP's rounding: a hyperplane that touches the cell
        must never fall outside its box), or unchanged where none is proven. A box with an
        infinite side (the whole space) proves no bound (the rounding of a reduced cost there is
        unbounded), so it is left as it is, with no LP."""
        k = cell.M.shape[1]
        lo, hi = cell.payload.lo.copy(), cell.payload.hi.copy()
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return
        for i in range(k):
            for sign in (1.0, -1.0):
                c = np.zeros(k)
                c[i] = sign
                status, _, _ = ctx.solver.minimize(c, cell.G, cell.h)
                ctx.stats.lps += 1
                if status != "optimal":
                    continue
                # weak duality from HiGHS's row duals (<= 0 for these rows), rounding included
                y = np.maximum(-ctx.solver.row_duals(), 0.0)
                bound = lp_lower_bound(c, cell.G, cell.h, len(cell.h), cell.payload.lo,
                                       cell.payload.hi, y)
                if sign > 0:
                    lo[i] = max(lo[i], bound)
                else:
                    hi[i] = min(hi[i], -bound)
        cell.payload = WitnessState(lo=lo, hi=hi)

    # ------------------------------------------------------------------ one hyperplane
    def _insert(self, cell: Cell, j: int, norm: float, bit_index: int, decided: np.ndarray,
                ctx: Context) -> list[Cell] | None:
        """Insert neuron ``j``: return the two children if it splits the cell, else fix its bit.

        ``decided`` masks the layer's neurons that define the cell, ``j`` included.
        """
        problem = self.problem
        tol = problem.config.band
        a = cell.M[j] / norm
        off = cell.m[j] / norm
        w, r = cell.center, cell.radius
        z = float(a @ w + off)
        # z is off from the exact pre-activation by at most ``err`` (the pull-back's rounding)
        err = self._gamma * float(cell.scale[j]) * max(1.0, float(np.abs(w).max(initial=0.0))) / norm
        s = 1.0 if z >= 0 else -1.0
        dist = abs(z)
        normal = s * a  # unit normal pointing into the witness side
        # Witness side: s * (a t + off) >= 0  <=>  -s a t <= s off.   Far side: s a t <= -s off.
        near_row, near_rhs = -s * a, s * off
        far_row, far_rhs = s * a, -s * off
        if dist < r:
            near = w + normal * (r - dist) / 2, (r + dist) / 2
        else:
            near = w, r
        if dist < r and (r - dist) / 2 > tol + err:
            far = w - normal * (r + dist) / 2, (r - dist) / 2
        else:
            far = chebyshev_side(problem, ctx, np.vstack([cell.G, far_row]),
                                 np.append(cell.h, far_rhs), _with(cell.bits, bit_index, s < 0),
                                 cell.layer, decided)
            if far is None:
                cell.bits[bit_index] = s > 0
                if dist < r:  # the ball crossed the hyperplane: move it, keep the cut it relies on
                    cell.G = np.vstack([cell.G, near_row])
                    cell.h = np.append(cell.h, near_rhs)
                    cell.center, cell.radius = near
                return None
            if near[1] <= tol + err:
                # A ball within the band proves no side (DESIGN.md §1), and the witness of a cell
                # settled exactly may not even lie in it (no float point does in a sliver thinner
                # than float spacing): the near side exists when the witness is exactly inside
                # it, else it is settled exactly.
                found = ctx.settle(problem, _with(cell.bits, bit_index, s > 0), cell.layer, decided,
                                   hint=w)
                if found is not None:
                    near = found.point, found.radius
                else:  # the far side is the whole cell
                    cell.bits[bit_index] = s < 0
                    cell.G = np.vstack([cell.G, far_row])
                    cell.h = np.append(cell.h, far_rhs)
                    cell.center, cell.radius = far
                    return None
        near_cell = cell.split(near_row, near_rhs, near[0], near[1], bit_index, s > 0)
        far_cell = cell.split(far_row, far_rhs, far[0], far[1], bit_index, s < 0)
        near_cell.neuron = far_cell.neuron = j + 1
        return [near_cell, far_cell]


def _with(bits: np.ndarray, index: int, bit: bool) -> np.ndarray:
    """A copy of ``bits`` with ``bits[index] = bit`` (a side's pattern for the exact settlement)."""
    out = bits.copy()
    out[index] = bit
    return out


def _interval_unbounded(M: np.ndarray, m: np.ndarray, lo: np.ndarray,
                        hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``M t + m`` over the box ``lo <= t <= hi`` with infinite sides (``0 * inf = 0``)."""
    pos, neg = M > 0, M < 0
    with np.errstate(invalid="ignore"):
        low = np.where(pos, M * lo, 0.0) + np.where(neg, M * hi, 0.0)
        high = np.where(pos, M * hi, 0.0) + np.where(neg, M * lo, 0.0)
    return low.sum(axis=1) + m, high.sum(axis=1) + m
