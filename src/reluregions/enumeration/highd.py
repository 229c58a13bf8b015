"""The high-dimensional engine: LayerWise-NNCE with cells as short lists of cuts (issue 14).

Same framework as the paper (Drammis et al. 2024, §3, Alg. 1: pull each layer back into the cell,
insert its hyperplanes one at a time) and the same region criterion as every other algorithm here
(DESIGN.md §1: a side of a split has an interior when its float Chebyshev radius in the domain's
normalised coordinates exceeds ``config.radius_tol``, none when it is below ``-radius_tol``, and
anything in between is settled exactly by :meth:`~reluregions.tree.Context.settle`), built for
inputs of hundreds of dimensions (the paper's EMNIST regime):

* **The LP as small as the geometry.** The domain's box ``[-1, 1]^k`` is never a set of rows: it
  is the column bounds of every LP. A cell carries only the cuts that made it (the hyperplanes that
  split an ancestor, unit normals) plus any non-box facets of the domain, so an LP has as many rows
  as the cell is deep, and an open cell costs ``O(depth · k)`` memory, not ``O(k²)``: cells that
  leave an expansion drop their layer maps (``n_l × k`` each), rebuilt from the pattern where they
  are expanded next (:mod:`.highd_maps`). Consecutive LPs share HiGHS's model (a child adds a row
  to its parent's), and in up to 64 dimensions a certified compiled simplex answers first
  (:mod:`.highd_lp`).
* **The radius test without the radius variable.** "The far side of a cut has Chebyshev radius
  above ``tol``" is the same statement as "the cell shrunk by ``tol`` (every row's right-hand side
  and the box lowered by ``tol``) reaches past the cut by ``tol``": one minimisation of the cut's
  normal over the shrunk cell, with the box still as bounds. "Below ``-tol``" is "the cell grown by
  ``tol`` stays ``tol`` short of the cut", proved by the same LP's multipliers (:mod:`.highd_lp`).
* **Witnesses decide most splits without an LP.** Every cell holds a witness point with a ball of
  radius ``tol`` around it inside the cell (a *thin* cell, one an exact settlement made, holds the
  oracle's point and its certified radius instead; its tests go to the LP and the oracle). The side of a new hyperplane holding the witness needs
  no test. For the other side a ray is shot from the witness along the hyperplane's normal (a ratio
  test over the cell's few rows and the box bounds, ``O(depth · k)``): if it crosses the hyperplane
  by ``tol`` before leaving the shrunk cell, the far side is a region and the middle of that stretch
  of ray is its witness. Only when the ray leaves first is an LP solved, to prove the far side
  empty or to find it. Points found on the way (witnesses, and points near each LP's optimum) are kept
  for the cell's later tests and its children: a known point beyond a hyperplane decides it too.
* **Stable neurons never reach the LP.** At the start of each layer, interval bounds of every
  pulled-back neuron over the box fix the bits of the neurons that cannot change sign in the cell.
* **Depth first, a bounded stack per call.** One :meth:`expand` call walks the subtree below a cell
  until ``budget`` regions are out and hands back what is left open, so memory is bounded by the
  depth of the tree times its fan-out, never by the number of regions.

Where the first layer is narrower than the input (``n1 <= n0``, the setting of ParLayerWise1-NNCE,
§5) every later quantity depends on the input only through ``W_1 x``: the cuts of deeper layers are
combinations of the first layer's rows. The engine uses this implicitly: the ray and the LPs work
in ``k`` coordinates, but the rows they see are those combinations, so their number (the depth)
stays near the number of unstable neurons crossed, not near ``k``.
"""
from __future__ import annotations

import numpy as np

from ..geometry.blas import find_blas, one_blas_thread
from ..geometry.dualbound import lagrangian_lower_bounds
from ..geometry.rays import box_rows, exit_step, towards
from .base import Algorithm, Block, Cell, Context, RegionBlock, RegionCount
from .cells import exhaustive_first_layer
from .highd_ball import RegionBalls
from .highd_lp import cell_minimum, load_compiled, shoot
from .highd_maps import LayerMaps, LayerTodo, detach
from .highd_pool import PointPool
from .layers import constant_neurons, finish_layer, layer_offsets, side_ball

__all__ = ["HighDimAlgorithm", "LayerTodo"]

#: Regions per :meth:`HighDimAlgorithm.expand` call when no scheduler asks for fewer.
DEFAULT_BUDGET = 64
#: Interior points a cell hands to its children (:attr:`LayerTodo.points`).
MAX_POINTS = 32
#: Where on the segment from the witness to an LP's optimum a known point is taken.
EXTREME = 0.99


class HighDimAlgorithm(Algorithm):
    """Cut-list LayerWise-NNCE for high-dimensional inputs (box as bounds, rays before LPs)."""

    name = "highd"
    default_budget = DEFAULT_BUDGET

    def __init__(self, problem) -> None:
        super().__init__(problem)
        p = problem.param
        k = p.dim
        tol = problem.config.band
        box = box_rows(p.G, p.h)
        # Rows of the domain other than the faces of [-1, 1]^k stay rows; the box is bounds.
        self._domain_G = np.ascontiguousarray(p.G[~box])
        self._domain_h = p.h[~box].copy()
        self._lower = np.full(k, -1.0 + tol)  # the box shrunk by tol: "a ball of radius tol"
        self._upper = np.full(k, 1.0 - tol)
        self._grown = (np.full(k, -1.0 - tol), np.full(k, 1.0 + tol))  # "no ball of radius -tol"
        self._shrunk_of: tuple = (None, None)
        self._open = np.zeros(0, dtype=bool)  # the layer's neurons not yet decided on the cell
        self._balls = RegionBalls(problem)
        self._pool = PointPool(k)
        self._maps = LayerMaps(problem)

    def warm_up(self) -> None:
        """Find the BLAS libraries and load the compiled simplex and dual bound, untimed."""
        find_blas()
        load_compiled()

    # ------------------------------------------------------------------ tree
    def roots(self, ctx: Context) -> list[Cell]:
        problem = self.problem
        if problem.config.first_layer == "exhaustive":
            cells = [self._from_exhaustive(c) for c in exhaustive_first_layer(problem, ctx)]
            for cell in cells:
                detach(cell, LayerTodo)
            return cells
        p = problem.param
        k = p.dim
        if self._domain_G.shape[0]:
            center, radius = ctx.solver.chebyshev(p.G, p.h, np.ones(len(p.h)))
            ctx.stats.lps += 1
        else:
            center, radius = np.zeros(k), 1.0
        bits = np.zeros(problem.network.n_hidden, dtype=bool)
        width = problem.network.hidden_widths[0] if problem.n_layers else 0
        ball = side_ball(problem, ctx, center, radius, bits, 0, np.zeros(width, dtype=bool))
        if ball is None:
            return []
        center, radius = ball
        root = Cell(G=self._domain_G.copy(), h=self._domain_h.copy(), center=center,
                    radius=float(radius), layer=0, neuron=0, M=None, m=None, scale=None, bits=bits)
        detach(root, LayerTodo)
        return [root]

    @staticmethod
    def _from_exhaustive(cell: Cell) -> Cell:
        """A first-layer cell of ParLayerWise1-NNCE (§5) in this engine's form: box rows dropped."""
        keep = ~box_rows(cell.G, cell.h)
        cell.G, cell.h = cell.G[keep], cell.h[keep]
        cell.neuron = 0
        cell.payload = LayerTodo(neurons=np.zeros(0, dtype=np.int64), maps=())
        return cell

    def expand(self, cell: Cell, ctx: Context, *, budget: int,
               count_only: bool) -> tuple[list[Cell], Block]:
        """Walk the subtree below ``cell`` depth first until ``budget`` regions are finished."""
        ctx.stats.expansions += 1
        stack = [cell]
        regions: list[RegionBlock] = []
        with one_blas_thread():  # small products: a second BLAS thread only spins (blas.py)
            while stack and len(regions) < budget:
                done = self._advance(stack.pop(), ctx, stack)
                if done is not None:
                    regions.append(done)
        for left in stack:  # open cells leave without their layer maps (highd_maps.py)
            detach(left, LayerTodo)
        return stack, (RegionCount(len(regions)) if count_only else RegionBlock.concat(regions))

    def _advance(self, cell: Cell, ctx: Context, stack: list[Cell]) -> RegionBlock | None:
        """Insert ``cell``'s neurons until one splits it (children pushed) or the network ends."""
        problem = self.problem
        offsets = layer_offsets(problem)
        cell.bits = cell.bits.copy()  # the cell's own (it may arrive as a read-only buffer view)
        if cell.M is None:
            state = cell.payload
            cell.payload = LayerTodo(neurons=state.neurons, maps=self._maps.attach(cell),
                                     points=state.points)
        while True:
            if cell.payload is None or cell.payload.neurons is None:
                self._start_layer(cell)
            todo = cell.payload.neurons
            base = offsets[cell.layer]
            crossing: list[tuple[int, tuple, int]] = []
            known = cell.payload.points
            wide = cell.radius >= self.problem.config.band
            # a new pool per pass: the worker threads' shallow copies of the engine must not share one
            self._pool = PointPool(cell.center.size, ([cell.center] if wide else [])
                                   + (list(known) if known is not None else []))
            self._open = np.zeros(cell.M.shape[0], dtype=bool)
            self._open[todo[cell.neuron:]] = True
            while cell.neuron < todo.size:
                j = int(todo[cell.neuron])
                cut = self._test(cell, j, base + j, ctx)
                if cut is not None:
                    crossing.append((j, cut, cell.G.shape[0]))
                    for q, r in ((cut[2], cut[3]), (cut[6], cut[7])):
                        if r >= self.problem.config.band:
                            self._pool.add(q)
                else:
                    self._open[j] = False
                cell.neuron += 1
            children = self._split_first(cell, crossing, base, ctx)
            if children:
                stack.extend(children)
                return None
            nxt = self._finish(cell, ctx)
            if isinstance(nxt, RegionBlock):
                return nxt
            cell = nxt

    def _start_layer(self, cell: Cell) -> None:
        """Fix the bits of the neurons constant on the cell, then screen the others."""
        problem = self.problem
        base = layer_offsets(problem)[cell.layer]
        norms = np.linalg.norm(cell.M, axis=1)
        const, const_bits = constant_neurons(problem, cell, norms)
        idx = np.flatnonzero(const)
        cell.bits[base + idx] = const_bits[idx]
        self._screen(cell, np.flatnonzero(~const))

    def _screen(self, cell: Cell, todo: np.ndarray) -> None:
        """Fix the bits of the neurons ``todo`` whose hyperplanes provably miss the cell; keep the rest.

        Interval bounds over the box first (exact over the box: the pre-activation is affine on
        the cell), then, for those still open when the cell has cuts, Lagrangian bounds over the
        cell grown by tol (:func:`~reluregions.geometry.dualbound.lagrangian_lower_bounds`) of
        each neuron's unit pre-activation signed by its witness side: above tol means the far
        side's Chebyshev radius is below -tol, so it has no interior (DESIGN.md §1). No LP.
        Sets ``cell.payload`` to the neurons left to insert and ``cell.neuron`` to 0.
        """
        tol = self.problem.config.band
        M, m = cell.M[todo], cell.m[todo]
        z = M @ cell.center + m
        s = np.where(z >= 0, 1.0, -1.0)
        spread = np.abs(M).sum(axis=1)
        norms = np.linalg.norm(M, axis=1)
        proven = s * m - (1.0 + tol) * spread > tol * norms
        rest = np.flatnonzero(~proven)
        if cell.G.shape[0] and rest.size:
            scale = s[rest] / norms[rest]
            low = lagrangian_lower_bounds(M[rest] * scale[:, None], cell.G, cell.h + tol, 1.0 + tol)
            proven[rest[low + m[rest] * scale > tol]] = True
        base = layer_offsets(self.problem)[cell.layer]
        cell.bits[base + todo[proven]] = s[proven] > 0
        cell.payload = LayerTodo(neurons=todo[~proven],
                                 maps=cell.payload.maps if cell.payload is not None else ())
        cell.neuron = 0

    def _finish(self, cell: Cell, ctx: Context) -> Cell | RegionBlock:
        """Close the layer; the region (last layer) gets its certified ball and full rows if asked."""
        problem = self.problem
        last = cell.layer + 1 == problem.n_layers
        maps = cell.payload.maps + ((cell.M, cell.m),)
        if last:
            cfg = problem.config
            cell.center, cell.radius = self._balls.region_ball(cell, maps, ctx)
            if cfg.chebyshev or cfg.keep_hrep:
                p = problem.param
                box = box_rows(p.G, p.h)
                cell.G = np.vstack([p.G[box], cell.G])
                cell.h = np.concatenate([p.h[box], cell.h])
        nxt = finish_layer(problem, cell, ctx)
        if not last:
            nxt.payload = LayerTodo(neurons=None, maps=maps)
            self._maps.remember(nxt, maps)
        return nxt

    # ------------------------------------------------------------------ one hyperplane
    def _split_first(self, cell: Cell, crossing: list, base: int, ctx: Context) -> list[Cell]:
        """Split ``cell`` by the first neuron that crosses it; the other crossing ones go on.

        A whole pass over the layer's open neurons comes first (:meth:`_advance`), so a neuron
        whose hyperplane misses the cell is decided once here, for the whole subtree, instead of
        once in every descendant. The children re-test only the neurons that crossed this cell.
        A test made before a sliver was cut off the cell (its rows changed) is made again.
        """
        for pos, (j, cut, rows) in enumerate(crossing):
            if rows != cell.G.shape[0]:
                cut = self._test(cell, j, base + j, ctx)
            if cut is None:
                self._open[j] = False
                continue
            rest = np.array([c[0] for c in crossing[pos + 1:]], dtype=np.int64)
            children = self._children(cell, cut)
            pool = self._pool.points[-MAX_POINTS:] if rest.size and self._pool.size else None
            for child in children:
                inside = None
                if pool is not None:
                    inside = pool[np.all(pool @ child.G.T <= child.h - self.problem.config.band,
                                         axis=1)]
                child.payload = LayerTodo(neurons=rest, maps=cell.payload.maps, points=inside)
                child.neuron = 0
            return children
        return []

    def _children(self, cell: Cell, cut: tuple) -> list[Cell]:
        """The two sides of a crossing hyperplane found by :meth:`_test`, far side first."""
        near_row, near_rhs, near_w, near_r, far_row, far_rhs, far_w, far_r, bit_index, s = cut
        near = cell.split(near_row, near_rhs, near_w, near_r, bit_index, s > 0)
        far = cell.split(far_row, far_rhs, far_w, far_r, bit_index, s < 0)
        return [far, near]

    def _test(self, cell: Cell, j: int, bit_index: int, ctx: Context) -> tuple | None:
        """Test neuron ``j`` on the cell: its cut and both sides' witnesses (and their certified
        radii) if both sides have an interior, else ``None`` with its bit fixed (DESIGN.md §1:
        float decides beyond ``±tol``, :meth:`_settle` in between)."""
        tol = self.problem.config.band
        a = cell.M[j]
        norm = float(np.linalg.norm(a))
        a = a / norm
        off = float(cell.m[j]) / norm
        w = cell.center
        wide = cell.radius >= tol  # the witness's ball of radius tol lies in the cell
        z = float(a @ w) + off
        s = 1.0 if z >= 0 else -1.0
        far_row, far_rhs = s * a, -s * off      # far side:  s (a t + off) <= 0
        near_row, near_rhs = -far_row, -far_rhs  # near side: s (a t + off) >= 0
        far_w, far_r = None, tol
        if wide:
            far_w = self._known_point(far_row, far_rhs - tol)
            if far_w is not None:  # the middle of its stretch beyond the hyperplane: away from faces
                far_w = towards(w, far_w, far_row, (far_rhs - tol + float(far_row @ far_w)) / 2)
            else:
                far_w = self._shoot(cell, w, far_row, abs(z) + tol)
        if far_w is None:
            verdict, far_w, value = self._lp_side(cell, far_row, far_rhs, ctx)
            if verdict != "in":
                side = None if verdict == "none" else self._settle(cell, bit_index, s < 0, ctx)
                if side is None:  # the far side has no interior
                    cell.bits[bit_index] = s > 0
                    if value < far_rhs:  # the float hyperplane still cuts the cell: keep the cut
                        self._keep_near(cell, near_row, near_rhs, ctx)
                    return None
                far_w, far_r = side.point, side.radius
        near_w, near_r = w, tol
        if wide and abs(z) >= tol:  # move away from the new cut, halfway to where the cell ends
            back = exit_step(cell.G, cell.h, w, far_row, tol)
            if np.isfinite(back) and back > 2 * abs(z):
                near_w = w + (back / 2) * far_row
        else:
            near_w = self._shoot(cell, w, near_row, tol - abs(z)) if wide else None
            if near_w is None and wide:
                near_w = self._lp_witness(cell, near_row, near_rhs, w, ctx)
            if near_w is None:
                side = self._settle(cell, bit_index, s > 0, ctx)
                if side is None:  # the near side has no interior: the cell is the far side
                    cell.bits[bit_index] = s < 0
                    self._cut(cell, far_row, far_rhs, far_w, far_r)
                    return None
                near_w, near_r = side.point, side.radius
        return near_row, near_rhs, near_w, near_r, far_row, far_rhs, far_w, far_r, bit_index, s

    def _settle(self, cell: Cell, bit_index: int, bit: bool, ctx: Context):
        """:meth:`Context.settle` of one side of neuron ``bit_index`` on ``cell`` (DESIGN.md §1):
        the decided neurons of the layer are those the pass has fixed or split, and the candidate."""
        bits = cell.bits.copy()
        bits[bit_index] = bit
        decided = ~self._open
        decided[bit_index - layer_offsets(self.problem)[cell.layer]] = True
        return ctx.settle(self.problem, bits, cell.layer, decided)

    def _lp_side(self, cell: Cell, row: np.ndarray, rhs: float,
                 ctx: Context) -> tuple[str, np.ndarray | None, float]:
        """One LP on the side ``row t <= rhs`` of the cell: ``("in", witness, value)`` when its
        Chebyshev radius exceeds tol (the witness holds a ball of radius tol), ``("none", None,
        value)`` when it is below -tol, else ``("band", None, value)``. ``value`` is the minimum
        of ``row`` over the cell shrunk by tol (``nan`` for a thin cell: the LP is then over the
        cell grown by tol, which only proves "none")."""
        tol = self.problem.config.band
        grown = cell.h + tol
        bound = (grown, *self._grown, rhs + tol)
        if cell.radius >= tol:
            status, x, value, low, _ = cell_minimum(ctx.solver, row, cell.G, self._shrunk(cell),
                                                    self._lower, self._upper, rhs - tol, bound)
        else:
            status, x, value, low, _ = cell_minimum(ctx.solver, row, cell.G, grown, *self._grown,
                                                    -np.inf, bound)
            value = np.nan
        ctx.stats.lps += 1
        if status != "optimal":
            value = np.nan
        if status == "optimal" and value < rhs - tol:
            self._extreme(cell, cell.center, x)
            return "in", towards(cell.center, x, row, (rhs - tol + value) / 2), value
        if not np.isnan(value):
            self._extreme(cell, cell.center, x)
        return ("none" if low > rhs + tol else "band"), None, value

    def _extreme(self, cell: Cell, w: np.ndarray, x: np.ndarray) -> None:
        """Add to the pass's known points one near the LP's optimum ``x`` (a vertex of the cell
        shrunk by tol), on the segment from the witness, checked inside: a point far out in one
        direction, which later tests here and in the children often find on the far side."""
        tol = self.problem.config.band
        q = w + EXTREME * (np.clip(x, self._lower, self._upper) - w)
        if not cell.G.shape[0] or np.all(cell.G @ q <= cell.h - tol):
            self._pool.add(q)

    def _known_point(self, row: np.ndarray, rhs: float) -> np.ndarray | None:
        """A point of the pass's pool (all inside the shrunk cell) with ``row @ t < rhs``, or None."""
        if self._pool.size < 2:
            return None
        pool = self._pool.points
        values = pool @ row
        best = int(np.argmin(values))
        return pool[best].copy() if values[best] < rhs else None

    def _shoot(self, cell: Cell, w: np.ndarray, row: np.ndarray, need: float) -> np.ndarray | None:
        """:func:`~.highd_lp.shoot` from the witness ``w`` in ``cell`` shrunk by tol."""
        return shoot(cell.G, cell.h, w, row, need, self._lower, self._upper, self.problem.config.band)

    def _shrunk(self, cell: Cell) -> np.ndarray:
        """``cell.h - tol``, one array per cell, so that LPs over one cell reuse the solver's model."""
        if self._shrunk_of[0] is not cell.h:
            self._shrunk_of = (cell.h, cell.h - self.problem.config.band)
        return self._shrunk_of[1]

    def _lp_witness(self, cell: Cell, row: np.ndarray, rhs: float, w: np.ndarray,
                    ctx: Context) -> np.ndarray | None:
        """A witness of ``cell ∩ {row t <= rhs}`` shrunk by tol, by one LP, or ``None`` if thinner."""
        tol = self.problem.config.band
        status, x, value, _, _ = cell_minimum(ctx.solver, row, cell.G, self._shrunk(cell),
                                              self._lower, self._upper, rhs - tol)
        ctx.stats.lps += 1
        if status != "optimal" or value >= rhs - tol:
            return None
        return towards(w, x, row, (rhs - tol + value) / 2)

    def _keep_near(self, cell: Cell, row: np.ndarray, rhs: float, ctx: Context) -> None:
        """Add the cut ``row t <= rhs`` (the far side has no interior) to a cell whose witness
        holds a ball of radius tol, moving the witness inside it if needed: later float tests
        then measure the near side alone. Only geometry: the bit is already decided."""
        tol = self.problem.config.band
        w = cell.center
        if cell.radius < tol:
            return
        gap = rhs - tol - float(row @ w)
        if gap < 0:
            moved = self._shoot(cell, w, row, -gap)
            if moved is None:
                moved = self._lp_witness(cell, row, rhs, w, ctx)
            if moved is None:
                return  # the near side is thin too: leave the cell as it is
            w = moved
        self._cut(cell, row, rhs, w, cell.radius)

    def _cut(self, cell: Cell, row: np.ndarray, rhs: float, w: np.ndarray, radius: float) -> None:
        """Add the cut ``row t <= rhs`` to ``cell`` with the witness ``w`` (certified ``radius``)."""
        tol = self.problem.config.band
        cell.center, cell.radius = w, radius
        cell.G = np.vstack([cell.G, row])
        cell.h = np.append(cell.h, rhs)
        # the pass's known points must stay inside the cell shrunk by tol: drop any the cut left
        self._pool.keep(self._pool.points @ row <= rhs - tol)
