"""Compiled LP traversal: LayerWise-NNCE for mid dimensions, with its own small simplex (issue 14).

The high-dimensional engine's method (:mod:`reluregions.enumeration.highd`: cells as lists of
cuts, the box ``[-1, 1]^k`` as column bounds, witnesses and rays before any LP, a pass over a
layer's open neurons before each split) run below a cell entirely in compiled code
(:func:`reluregions.geometry.lpdfs.lp_dfs`) with a dense bounded dual simplex
(:mod:`reluregions.geometry.simplex`) in place of HiGHS, ``budget`` regions per call. Where the
per-region Python work of the other LP algorithms dominates (inputs of roughly 6 to 64
dimensions, LPs of a few dozen rows), that is what pays.

Same framework as the paper (Drammis et al. 2024, §3, Alg. 1) and the same region criterion as
every other algorithm (DESIGN.md §1, issue 15): a side of a split whose float Chebyshev radius in
normalised coordinates exceeds ``config.band`` has an interior, one below ``-band`` has none, and
anything in between is settled exactly (:meth:`~reluregions.tree.Context.settle`). A decision of
the compiled code is always certified ``BAND`` past its threshold
(:mod:`reluregions.geometry.lpside`); anything closer is handed back (``pending``) and settled
here (:meth:`LPTraversalAlgorithm._settle`): by HiGHS's LP where it clears the band, else by the
exact oracle, whose point becomes the side's witness (a *thin* cell: ``Cell.radius`` below the
band).

Each region's ``center``/``radius`` is a certified inscribed ball (as :mod:`.vertex` publishes
them): the witness and its least margin to the box, the cuts and every hidden neuron's
hyperplane, each lowered by a bound on its rounding. A radius not above ``radius_tol`` (a witness
near a hyperplane that no LP needed, or a thin region's) is replaced by the Chebyshev ball of the
pattern's constraints (one HiGHS LP), certified the same way, or the exact oracle's point.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import OptionError
from ..geometry.kernels import HAVE_NUMBA
from ..geometry.lpdfs import lp_dfs
from ..geometry.lpside import IN_EXACT, IN_LP, MOVE, NONE
from ..geometry.rays import box_rows
from ..geometry.simplex import lp_lower_bound
from .base import Algorithm, Block, Cell, Context, Problem, RegionBlock, RegionCount
from .cells import exhaustive_first_layer
from .layers import _layer_map, make_region, side_ball
from .witness import WitnessAlgorithm

__all__ = ["LPTraversalAlgorithm", "LPTraversalState", "BAND"]

#: How far past its threshold a compiled decision must be certified (normalised coordinates):
#: ten times HiGHS's feasibility tolerance; closer ones go to HiGHS and the exact oracle.
BAND = 1e-8
#: Pivots before the compiled simplex gives up (the LP then goes to HiGHS).
MAX_PIVOTS = 500
_WARM = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LPTraversalState:
    """The compiled LP traversal's state of a cell (:attr:`~reluregions.tree.Cell.payload`), as
    :func:`~reluregions.geometry.lpdfs.lp_dfs` takes and hands it back.

    Attributes
    ----------
    M, m, scale : ndarray
        The pulled-back maps of layers ``0..layer`` stacked (rows ``:offsets[layer + 1]``; the
        cell's own ``M``, ``m``, ``scale`` are the last layer's rows).
    todo : ndarray
        The neurons of the layer left to test (``todo[:ntodo]``).
    ntodo : int
        Their number (``-1``: the layer is not started).
    pool : ndarray
        Points strictly inside the cell that its ancestors found (one per row).
    force_table, force_points : ndarray
        Side decisions made outside the compiled code, rows ``(neuron, key, rows, verdict,
        value)``, and their points (:mod:`~reluregions.geometry.lpside`).
    """

    M: np.ndarray
    m: np.ndarray
    scale: np.ndarray
    todo: np.ndarray
    ntodo: int
    pool: np.ndarray
    force_table: np.ndarray
    force_points: np.ndarray


class LPTraversalAlgorithm(Algorithm):
    """Cut-list LayerWise-NNCE in compiled code, ``budget`` regions per expansion."""

    name = "lpdfs"
    #: Regions per compiled call: checkpoints and work splitting stay fine-grained.
    default_budget = 1024

    def __init__(self, problem: Problem) -> None:
        if not HAVE_NUMBA:
            raise OptionError("the lpdfs algorithm needs numba; use --algorithm default")
        super().__init__(problem)
        p = problem.param
        box = box_rows(p.G, p.h)
        # Rows of the domain other than the faces of [-1, 1]^k stay cuts; the box is bounds.
        self._domain_G = np.ascontiguousarray(p.G[~box])
        self._domain_h = p.h[~box].copy()
        tol = problem.config.band
        self._lower = np.full(p.dim, -1.0 + tol)  # the box shrunk by the band ...
        self._upper = np.full(p.dim, 1.0 - tol)
        self._grown = (np.full(p.dim, -1.0 - tol), np.full(p.dim, 1.0 + tol))  # ... and grown
        self._packed: tuple | None = None
        # A single point or a net without hidden layers has no cell to split: one region, which
        # the witness algorithm finds.
        self._trivial = WitnessAlgorithm(problem) if p.dim == 0 or problem.n_layers == 0 else None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_packed": None}  # rebuilt where it is unpickled

    def _weights(self) -> tuple:
        """The hidden layers as :func:`~reluregions.geometry.lpdfs.lp_dfs` takes them: every
        ``W.T`` and ``|W|.T`` flat with their offsets and shapes, the biases flat with theirs, and
        the neuron offsets of the layers."""
        if self._packed is None:
            net = self.problem.network
            Ws, bs = net.weights[:-1], net.biases[:-1]
            sizes = np.array([0] + [W.size for W in Ws], dtype=np.int64)
            WT = np.concatenate([W.T.ravel() for W in Ws])
            self._packed = (WT, np.abs(WT), np.cumsum(sizes),
                            np.array([W.shape for W in Ws], dtype=np.int64),
                            np.concatenate(bs), np.asarray(self.problem.offsets, dtype=np.int64),
                            np.asarray(self.problem.offsets, dtype=np.int64))
        return self._packed

    def warm_up(self) -> None:
        """Load the compiled traversal (from numba's cache, or compile it) on a tiny net."""
        global _WARM
        if _WARM:
            return
        from ..config import EnumerationConfig
        from ..domains import Box
        from ..network import Network
        from .api import make_problem

        rng = np.random.default_rng(0)
        net = Network([rng.normal(size=(3, 2)), rng.normal(size=(2, 3)), np.ones((1, 2))],
                      [rng.normal(size=3), rng.normal(size=2), np.zeros(1)])
        for ranks in (False, True):
            config = EnumerationConfig(algorithm="lpdfs", ranks=ranks)
            tiny = LPTraversalAlgorithm(make_problem(net, Box.symmetric(2), config))
            ctx = Context.create(config, 2)
            stack = tiny.roots(ctx)
            while stack:
                # budget 1: a frontier goes back after every region
                stack.extend(tiny.expand(stack.pop(), ctx, budget=1, count_only=False)[0])
        _WARM = True

    # ------------------------------------------------------------------ tree
    def roots(self, ctx: Context) -> list[Cell]:
        if self._trivial is not None:
            return self._trivial.roots(ctx)
        problem = self.problem
        p = problem.param
        k = p.dim
        if problem.config.first_layer == "exhaustive":
            return [self._from_exhaustive(c) for c in exhaustive_first_layer(problem, ctx)]
        if self._domain_G.shape[0]:
            center, radius = ctx.solver.chebyshev(p.G, p.h, np.ones(len(p.h)))
            ctx.stats.lps += 1
        else:
            center, radius = np.zeros(k), 1.0
        bits = np.zeros(problem.network.n_hidden, dtype=bool)
        width = problem.network.hidden_widths[0]
        ball = side_ball(problem, ctx, center, radius, bits, 0, np.zeros(width, dtype=bool))
        if ball is None:
            return []
        M, m, scale = _layer_map(problem, 0, p.U, p.x0, np.abs(p.U).sum(axis=1) + np.abs(p.x0))
        return [self._cell(self._domain_G.copy(), self._domain_h.copy(), ball[0], ball[1], bits, 0,
                           (), (M, m, scale), None, np.zeros((0, k)))]

    def _from_exhaustive(self, cell: Cell) -> Cell:
        """A first-layer cell of ParLayerWise1-NNCE (§5): box rows dropped, layer 1's bits final."""
        keep = ~box_rows(cell.G, cell.h)
        k = self.problem.param.dim
        norms = np.linalg.norm(cell.G[keep], axis=1)
        return self._cell(cell.G[keep] / norms[:, None], cell.h[keep] / norms, cell.center,
                          cell.radius, cell.bits, 0, (), (cell.M, cell.m, cell.scale),
                          np.zeros(0, np.int64), np.zeros((0, k)))

    def _cell(self, G: np.ndarray, h: np.ndarray, w: np.ndarray, radius: float, bits: np.ndarray,
              layer: int, ranks: tuple, maps: tuple, todo: np.ndarray | None, pool: np.ndarray,
              force: tuple | None = None) -> Cell:
        """A work item; ``radius`` that of a ball around the witness ``w`` inside the cell (below
        the band: a thin cell; not above 0: ``w`` is only the exact oracle's float guess, for a
        cell thinner than float spacing), ``maps`` the pulled-back rows of layers ``0..layer``
        (stacked), ``todo`` the neurons of the layer left to test (``None``: the layer is not
        started)."""
        off = self.problem.offsets
        M, m, scale = maps
        lo, hi = off[layer], off[layer + 1]
        k = self.problem.param.dim
        if force is None:
            force = (np.zeros((0, 5)), np.zeros((0, k)))
        state = LPTraversalState(M=M, m=m, scale=scale,
                                 todo=np.zeros(0, np.int64) if todo is None else todo,
                                 ntodo=-1 if todo is None else len(todo), pool=pool,
                                 force_table=force[0], force_points=force[1])
        return Cell(G=G, h=h, center=w, radius=float(radius), layer=layer, neuron=0, M=M[lo:hi],
                    m=m[lo:hi], scale=scale[lo:hi], bits=bits, ranks=tuple(ranks), payload=state)

    def expand(self, cell: Cell, ctx: Context, *, budget: int,
               count_only: bool) -> tuple[list[Cell], Block]:
        """Traverse the subtree below ``cell`` for up to ``budget`` regions; return the frontier."""
        problem = self.problem
        cfg = problem.config
        L = problem.n_layers
        if self._trivial is not None:
            return self._trivial.expand(cell, ctx, budget=budget, count_only=count_only)
        ctx.stats.expansions += 1
        st = cell.payload
        ranks = np.full(L, -1, dtype=np.int64)
        ranks[:len(cell.ranks)] = cell.ranks
        out = lp_dfs(np.ascontiguousarray(cell.G, dtype=np.float64), np.asarray(cell.h, np.float64),
                     np.asarray(cell.center, np.float64), float(cell.radius),
                     cell.bits.copy(), cell.layer, st.M, st.m, st.scale, st.todo, st.ntodo, st.pool,
                     ranks, st.force_table, st.force_points,
                     *self._weights(), problem.network.negative_slope, cfg.zero_tol, cfg.band,
                     BAND, cfg.ranks, budget, MAX_PIVOTS)
        n, bits, centres, radii, rk, layer_cells, lps, pending, pkey, ftab, fx = out[:11]
        ctx.stats.lps += int(lps)
        for i, c in enumerate(layer_cells):
            ctx.stats.layer_cells[i] += int(c)
        regions = self._regions(n, bits, centres, radii, rk, ctx, count_only)
        frontier = self._unpack_frontier(*out[11:])
        if pending:
            frontier[0] = self._settle(frontier[0], *(int(v) for v in pkey), ftab, fx, ctx)
        return frontier, regions

    def _settle(self, cell: Cell, j: int, sign: int, ask: int, ftab: np.ndarray, fx: np.ndarray,
                ctx: Context) -> Cell:
        """The side ``sign * z_j < 0`` of neuron ``j`` on ``cell`` that the compiled code could not
        certify (DESIGN.md §1, as :meth:`~.highd.HighDimAlgorithm._lp_side`): HiGHS minimises the
        side's unit normal over the cell shrunk by the band (a wide cell: a point past the band
        proves an interior), its multipliers bound it over the cell grown by the band (no
        interior); in between :meth:`Context.settle` decides, and its point is the side's witness.
        ``ask == MOVE`` wants the first LP alone. The verdict joins the cell's force table
        (:mod:`~reluregions.geometry.lpside`), which the traversal reads when it resumes."""
        tol = self.problem.config.band
        row = sign * cell.M[j] / np.sqrt(np.sum(cell.M[j] * cell.M[j]))
        rhs = -sign * cell.m[j] / np.sqrt(np.sum(cell.M[j] * cell.M[j]))
        G, h = cell.G, cell.h
        k = G.shape[1]
        wide = cell.radius >= tol
        verdict, value, point = NONE, np.inf, np.zeros(k)
        hs, lower, upper = (h - tol, self._lower, self._upper) if wide else (h + tol, *self._grown)
        status, x, lp_value = ctx.solver.minimize_in_box(row, G, hs, lower, upper)
        ctx.stats.lps += 1
        y = np.maximum(-ctx.solver.row_duals(), 0.0) if len(h) else np.zeros(0)
        if wide and status == "optimal":
            value = lp_value
            if value < rhs - tol:
                verdict, point = IN_LP, x
        if verdict == NONE and ask != MOVE and (status != "optimal" or lp_lower_bound(
                row, np.ascontiguousarray(G), h + tol, len(h), *self._grown, y) <= rhs + tol):
            found = self._settle_side(cell, j, sign < 0, ctx)
            if found is not None:
                verdict, point, value = IN_EXACT, found.point, found.radius
        entry = np.array([[j, sign * (1 + ask), len(h), verdict, value]])
        cell.payload = replace(cell.payload, force_table=np.vstack([ftab, entry]),
                               force_points=np.vstack([fx, point[None, :]]))
        return cell

    def _settle_side(self, cell: Cell, j: int, bit: bool, ctx: Context):
        """:meth:`Context.settle` of the side ``bit`` of neuron ``j`` (of ``cell.layer``) on
        ``cell``: the decided neurons of the layer are all but those the traversal still has to
        test (the cell's todo list, ``j`` among them), and ``j``."""
        problem = self.problem
        base = problem.offsets[cell.layer]
        bits = cell.bits.copy()
        bits[base + j] = bit
        decided = np.ones(problem.offsets[cell.layer + 1] - base, dtype=bool)
        decided[cell.payload.todo[:cell.payload.ntodo]] = False
        decided[j] = True
        return ctx.settle(problem, bits, cell.layer, decided)

    def _regions(self, n: int, bits: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                 rk: np.ndarray, ctx: Context, count_only: bool) -> Block:
        problem = self.problem
        cfg = problem.config
        if count_only:
            return RegionCount(n)
        if n and radii.min() <= cfg.radius_tol and not cfg.chebyshev:
            centres, radii = centres.copy(), radii.copy()
            for i in np.flatnonzero(radii <= cfg.radius_tol):
                centres[i], radii[i] = self._lp_ball(bits[i], ctx)
        if cfg.chebyshev or cfg.keep_maps or cfg.keep_hrep:
            p = problem.param
            box = box_rows(p.G, p.h)
            out = []
            for i in range(n):
                G, h, _ = self._pattern_cell(bits[i])
                ranks = tuple(rk[i].tolist()) if cfg.ranks else ()
                out.append(make_region(problem, np.vstack([p.G[box], G]),
                                       np.concatenate([p.h[box], h]), bits[i], centres[i],
                                       float(radii[i]), ranks, None, None, ctx))
            return RegionBlock.concat(out)
        ranks = rk if cfg.ranks else np.zeros((n, 0), np.int64)
        return RegionBlock(bits, problem.param.to_input(centres), centres, radii, ranks)

    def _lp_ball(self, bits: np.ndarray, ctx: Context) -> tuple[np.ndarray, float]:
        """The Chebyshev centre of the pattern's region (one LP) and the certified radius there:
        the least slack of its constraints, each lowered by a bound on its rounding. Where that
        certifies nothing (a region thinner than the rounding), the exact oracle's point, strictly
        inside the region (DESIGN.md §1)."""
        problem = self.problem
        p = problem.param
        G, h, err = self._pattern_cell(bits)
        box = box_rows(p.G, p.h)
        G, h = np.vstack([p.G[box], G]), np.concatenate([p.h[box], h - err])
        centre, _ = ctx.solver.chebyshev(G, h, np.ones(len(h)))
        ctx.stats.lps += 1
        k = p.dim
        slack = h - G @ centre - 2.0 ** -52 * (k + 2) * (np.abs(h) + np.abs(G) @ np.abs(centre))
        if slack.min(initial=np.inf) > 0:
            return centre, float(slack.min(initial=np.inf))
        last = problem.n_layers - 1
        found = ctx.settle(problem, bits, last, np.ones(problem.network.hidden_widths[last], bool))
        return (centre, 0.0) if found is None else (found.point, float(found.radius))

    def _pattern_cell(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every hidden neuron's half-space of the pattern ``bits`` and the domain's non-box rows
        (unit normals): the region's constraints inside the box, and a bound on each row's
        rounding in distance."""
        problem = self.problem
        p, net, off = problem.param, problem.network, problem.offsets
        gamma = 2.0 ** -51 * (net.n_hidden + p.dim + 8)
        rows, rhs, errs = [self._domain_G], [self._domain_h], [np.zeros(len(self._domain_h))]
        A, c = p.U, p.x0
        for layer in range(problem.n_layers):
            M, m, scale = _layer_map(problem, layer, A, c, np.abs(A).sum(axis=1) + np.abs(c))
            norms = np.linalg.norm(M, axis=1)
            live = norms > problem.config.zero_tol * np.maximum(scale, 1e-300)
            on = bits[off[layer]:off[layer + 1]]
            sign = np.where(on, -1.0, 1.0)[live]
            rows.append(sign[:, None] * M[live] / norms[live, None])
            rhs.append(-sign * m[live] / norms[live])
            errs.append(gamma * scale[live] / norms[live])
            d = np.where(on, 1.0, net.negative_slope)
            A, c = d[:, None] * M, d * m
        return np.vstack(rows), np.concatenate(rhs), np.concatenate(errs)

    def _unpack_frontier(self, meta: np.ndarray, fG: np.ndarray, fh: np.ndarray, fW: np.ndarray,
                         fWR: np.ndarray, fB: np.ndarray, fR: np.ndarray, fT: np.ndarray,
                         fP: np.ndarray, maps_M: np.ndarray, maps_m: np.ndarray,
                         maps_sc: np.ndarray) -> list[Cell]:
        """Cells from the flat frontier arrays of :func:`lp_dfs` (top of the stack first)."""
        off = self.problem.offsets
        frontier = []
        ir = it = ip = 0
        for i, (r, layer, nt, npool) in enumerate(meta.tolist()):
            hi = off[layer + 1]
            todo = fT[it:it + nt] if nt >= 0 else None
            frontier.append(self._cell(fG[ir:ir + r], fh[ir:ir + r], fW[i], fWR[i], fB[i], layer,
                                       tuple(fR[i, :layer].tolist()),
                                       (maps_M[:hi], maps_m[:hi], maps_sc[:hi]), todo,
                                       fP[ip:ip + npool]))
            ir, it, ip = ir + r, it + max(nt, 0), ip + npool
        return frontier
