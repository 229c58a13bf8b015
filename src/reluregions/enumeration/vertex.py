"""LP-free LayerWise-NNCE for low-dimensional domains: cells split by their vertices.

The framework of Drammis et al. 2024, §3 (Alg. 1), with the cell enumerator replaced by a
double-description step (DESIGN.md §2, "LP-free splitting in low dimension"): each cell carries
its vertices; a neuron whose hyperplane leaves every vertex clearly on one side does not cut the
cell, and one that crosses it is split exactly by :func:`reluregions.geometry.ddstep._children`.
The whole subtree below a cell is traversed in compiled code
(:func:`reluregions.geometry.dfs.dfs_packed`), a budget of regions at a time, so schedulers can
split the work at any depth.

What a region is follows DESIGN.md §1: no tolerance decides it. Float decides only where its margin
is clear: a neuron keeps one bit without a split when every vertex lies beyond ``VERTEX_EPS`` plus
the rounding bound of its pulled-back row on one side; a crossing neuron splits the cell when both
children hold a certified ball of radius above ``radius_tol`` around their vertex centroids. Any
other cut (a hyperplane through a vertex or a face, a sliver thinner than the margin, a thin
child) goes back to Python (:meth:`VertexAlgorithm._decide`): a side whose vertices all lie within
``radius_tol`` of the hyperplane goes to :meth:`Context.settle` (exact); any other side to its
float Chebyshev LP, which decides outside the band ``config.band`` and hands the band to the
oracle. So a region of inradius 1e-12 counts, hyperplanes that coincide in rationals never split
a cell, and ``radius_tol`` only sets how often the oracle runs. Vertices within ``VERTEX_EPS``
(1e-13, above the rounding of the computed distances, below the slivers worth keeping in float) of
a hyperplane are taken to lie on it by the split.

A float split is trusted only where its new vertices are well placed: a crossed edge nearly
parallel to the hyperplane (``|v - u| / (s_u - s_v)`` above ``VERTEX_KAPPA``, where rounding of the
distances could move the new vertex along the edge by more than about 1e-10) is decided exactly
like any uncertain cut. When both sides of such a cut are proved full-dimensional, the
split is *lazy*: each child keeps every vertex of the cell, a superset of itself, with the new
constraint row. The intersections of nearly parallel hyperplanes (the tip of a sliver between
two near-copies of a neuron) are placed by rounding noise, so a float split there could drop part
of a side and miss the regions a later hyperplane cuts out of it; with a superset no decision is
lost: keeping a bit is conservative, a split below it still needs both children's certified
balls, and anything else is decided exactly.

Each region's ``center``/``radius`` is a certified inscribed ball (unless ``config.chebyshev``
asks for the exact Chebyshev ball, one LP each): the vertex centroid and the least slack of its
constraints, where the constraints are every hyperplane that cuts the cell or comes within
``radius_tol`` of it (a neuron that keeps one sign but grazes the cell bounds the region too), each
offset tightened by a bound on the rounding of its pulled-back row, and each slack by the rounding
of its evaluation. So the ball lies inside the region of the pattern, and its radius is at most the
Chebyshev radius. Should the centroid's ball not clear ``radius_tol`` (a thin region), one
Chebyshev LP on the pattern's constraints gives the ball, certified the same way; should that
certify nothing, the exact oracle's point (checked in rationals to lie strictly inside, where the
region holds a float point at all) is published.

The domain must be a box (or an affine slice of one) of dimension 1 to 10; the default algorithm
uses the witness algorithm otherwise.
"""
from __future__ import annotations

import numpy as np

from ..errors import OptionError, SolverError
from ..geometry.dfs import PackedNet, Settings, Traversal, VertexCell, dfs_packed
from ..geometry.kernels import HAVE_NUMBA, box_vertices, numba_cached
from .base import Algorithm, Block, Cell, Context, Problem, RegionBlock, RegionCount
from .layers import make_region, root_cell
from .vertex_cells import VertexState, VertexWalk, empty_frontier, frontier_items, open_cells

__all__ = ["VertexAlgorithm", "VertexState", "VertexWalk", "VERTEX_EPS", "VERTEX_KAPPA", "vertex_applicable",
           "kernels_cached"]

VERTEX_EPS = 1e-13
#: The largest ``|v - u| / (s_u - s_v)`` of a crossed edge that a float split accepts: the
#: rounding of the distances (a few units of 2^-52 on the normalised box) moves the new vertex
#: along the edge by up to this factor times that rounding, about 1e-10 here. Above it the cut
#: is decided exactly (measured: no shared network has such an edge; at 1e4, robot has 326).
VERTEX_KAPPA = 1e6
MAX_VERTEX_DIM = 10
_WARM = False  # compiled kernels loaded in this process


def kernels_cached() -> bool:
    """Whether numba's on-disk cache holds a current compiled traversal (False: loading the vertex
    algorithm compiles it first, about 20 s)."""
    return numba_cached(dfs_packed)


def vertex_applicable(problem: Problem) -> bool:
    """Whether the vertex algorithm can run: a box-shaped parameter domain of dimension 1..10."""
    p = problem.param
    k = p.dim
    if not HAVE_NUMBA or k == 0 or k > MAX_VERTEX_DIM or p.G.shape != (2 * k, k):
        return False
    return bool(np.allclose(p.G, np.vstack([np.eye(k), -np.eye(k)])) and np.allclose(p.h, 1.0))


class VertexAlgorithm(Algorithm):
    """Vertex-based (LP-free) LayerWise-NNCE, compiled, ``budget`` regions per expansion."""

    name = "vertex"
    stops_when_asked = True
    #: Regions per compiled call: keeps checkpoints and work splitting fine-grained.
    default_budget = 4096

    def __init__(self, problem: Problem) -> None:
        if not vertex_applicable(problem):
            raise OptionError("the vertex algorithm needs numba and a box domain of dimension 1 to "
                              f"{MAX_VERTEX_DIM}; use --algorithm default")
        super().__init__(problem)
        cfg = problem.config
        k = problem.param.dim
        self._n_words = (2 * k + problem.network.n_hidden + 63) // 64
        # Each region's constraints come back from the kernel only when an LP needs them.
        self._rows = cfg.chebyshev or cfg.keep_hrep
        self._packed: tuple | None = None
        self._empty = empty_frontier(k, self._n_words, problem.network.n_hidden,
                                     problem.n_layers)
        self._never = np.zeros(1, np.int64)  # the ``asked`` flag of a context without one

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_packed"] = None
        return state

    def _weights(self) -> PackedNet:
        """Hidden-layer weights (transposed, and their magnitudes) and biases packed flat, as the
        compiled traversal takes them."""
        if self._packed is None:
            net = self.problem.network
            Ws, bs = net.weights[:-1], net.biases[:-1]
            Woffs = np.concatenate([[0], np.cumsum([W.size for W in Ws])]).astype(np.int64)
            Wshapes = np.array([W.shape for W in Ws], dtype=np.int64).reshape(len(Ws), 2)
            boffs = np.concatenate([[0], np.cumsum([b.size for b in bs])]).astype(np.int64)
            WTflat = np.concatenate([W.T.ravel() for W in Ws]) if Ws else np.empty(0)
            bflat = np.concatenate(list(bs)) if bs else np.empty(0)
            self._packed = PackedNet(WTflat, np.abs(WTflat), Woffs, Wshapes, bflat, boffs,
                                     np.asarray(self.problem.offsets, dtype=np.int64),
                                     float(net.negative_slope))
        return self._packed

    def warm_up(self) -> None:
        """Load the compiled kernels (from numba's cache, or compile them) on a one-neuron net."""
        global _WARM
        if _WARM:
            return
        from ..config import EnumerationConfig
        from ..domains import Box
        from ..network import Network
        from .api import make_problem

        for ranks in (False, True):
            net = Network([np.ones((1, 1)), np.ones((1, 1))], [np.zeros(1), np.zeros(1)])
            tiny = VertexAlgorithm(make_problem(net, Box([-1.0], [1.0]),
                                                EnumerationConfig(algorithm="vertex", ranks=ranks)))
            ctx = Context.create(tiny.problem.config, 1)
            stack = tiny.roots(ctx)
            while stack:  # budget 1: a frontier is handed back too
                children, _ = tiny.expand(stack.pop(), ctx, budget=1, count_only=False)
                stack.extend(children)
        _WARM = True

    def roots(self, ctx: Context) -> list[Cell]:
        V, inc = box_vertices(self.problem.param.dim, self._n_words)
        return [root_cell(self.problem, ctx, VertexState(V=V, inc=inc))]

    def expand(self, cell: Cell, ctx: Context, *, budget: int,
               count_only: bool) -> tuple[list[Cell], Block]:
        """Traverse the subtree below ``cell`` for up to ``budget`` regions; return the frontier."""
        problem = self.problem
        k = problem.param.dim
        L = problem.n_layers
        ctx.stats.expansions += 1
        if L == 0:
            return [], make_region(problem, cell.G, cell.h, cell.bits, cell.center, cell.radius,
                                   (), None, None, ctx)
        ranks = np.full(L, -1, dtype=np.int64)
        ranks[:len(cell.ranks)] = cell.ranks
        walk = cell.payload.walk
        out = self._call(cell, VertexWalk.unstarted(k) if walk is None else walk, ranks, budget,
                         count_only, self._never if ctx.asked is None else ctx.asked)
        for i, c in enumerate(out.layer_cells):
            ctx.stats.layer_cells[i] += int(c)
        frontier = frontier_items(out.frontier)  # one item: the stack resumes in one call
        parts = (out.bits, out.centres, out.radii, out.ranks, out.rows, out.roffs)
        if out.pending:
            self._decide(frontier[0], ctx)
        return frontier, self._regions(len(parts[0]), *parts, ctx, count_only)

    def _call(self, cell: Cell, walk: VertexWalk, ranks: np.ndarray, budget: int,
              count_only: bool, asked: np.ndarray) -> Traversal:
        problem = self.problem
        cfg = problem.config
        state = cell.payload
        start = VertexCell(state.V, state.inc, cell.G, cell.h, cell.bits.copy(), int(cell.layer),
                           cell.M, cell.m, cell.scale, walk.distances, walk.cut, walk.cut_normals,
                           walk.cut_offsets, int(walk.next_cut), ranks, int(walk.force))
        settings = Settings(float(cfg.zero_tol), float(cfg.radius_tol), VERTEX_EPS,
                            int(problem.param.dim), bool(cfg.ranks), bool(self._rows),
                            int(budget), not count_only, VERTEX_KAPPA)
        below = state.below  # the rest of a stopped traversal's stack, or none
        return dfs_packed(start, self._empty if below is None else below, int(below is not None),
                          self._weights(), settings, asked)

    def unbatch(self, items: list[Cell], pieces: int | None = None) -> list[Cell]:
        """The items that stand for a stopped traversal's stack split (see
        :func:`reluregions.enumeration.vertex_cells.open_cells`)."""
        return open_cells(items, pieces)

    def _regions(self, n: int, bits: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                 rk: np.ndarray, rows: np.ndarray, roffs: np.ndarray,
                 ctx: Context, count_only: bool) -> Block:
        problem = self.problem
        cfg = problem.config
        k = problem.param.dim
        if count_only:
            return RegionCount(n)
        if n and not cfg.chebyshev and radii.min() <= cfg.radius_tol:
            centres, radii = centres.copy(), radii.copy()
            for i in np.flatnonzero(radii <= cfg.radius_tol):
                centres[i], radii[i] = self._lp_ball(bits[i], ctx)
        if cfg.chebyshev or cfg.keep_maps or cfg.keep_hrep:
            out = []
            for i in range(n):
                G = rows[roffs[i]:roffs[i + 1], :k] if self._rows else np.empty((0, k))
                h = rows[roffs[i]:roffs[i + 1], k] if self._rows else np.empty(0)
                ranks = tuple(rk[i].tolist()) if cfg.ranks else ()
                out.append(make_region(problem, G, h, bits[i], centres[i], float(radii[i]), ranks,
                                       None, None, ctx))
            return RegionBlock.concat(out)
        ranks = rk if cfg.ranks else np.zeros((n, 0), np.int64)
        return RegionBlock(bits, problem.param.to_input(centres), centres, radii, ranks)

    def _gamma(self) -> float:
        """The relative rounding bound of a pulled-back row (as the kernel's ``gamma``)."""
        return 2.0 ** -51 * (self.problem.network.n_hidden + self.problem.param.dim + 8)

    def _maps(self, bits: np.ndarray, layer: int):
        """Per layer ``0..layer`` on the pattern ``bits``: the pulled-back pre-activation map
        ``M``, ``m``, its ``scale`` (magnitude sums), row ``norms`` and the ``live`` (non-constant)
        neurons, as the kernel and the exact oracle pull them back (DESIGN.md §1)."""
        problem = self.problem
        p, net = problem.param, problem.network
        A, c = p.U, p.x0
        absA = np.abs(A).sum(axis=1) + np.abs(c)
        off = problem.offsets
        for lay in range(layer + 1):
            W, b = net.weights[lay], net.biases[lay]
            M, m = W @ A, W @ c + b
            scale = np.abs(W) @ absA + np.abs(b)
            norms = np.linalg.norm(M, axis=1)
            yield M, m, scale, norms, norms > problem.config.zero_tol * np.maximum(scale, 1e-300)
            d = np.where(bits[off[lay]:off[lay + 1]], 1.0, net.negative_slope)
            A, c = d[:, None] * M, d * m
            absA = np.abs(A).sum(axis=1) + np.abs(c)

    def _cell_rows(self, bits: np.ndarray, layer: int,
                   decided: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cell of ``bits`` at ``layer`` as ``G t <= h`` with unit rows: the domain's, every
        live neuron's of the layers before ``layer`` and those of ``layer`` marked ``decided``
        (the cell the exact oracle sees), and a bound ``err`` on each row's rounding in distance
        (so ``h - err`` describes a subset of the exact cell, ``h + err`` a superset)."""
        problem = self.problem
        p, off, gamma = problem.param, problem.offsets, self._gamma()
        rows, rhs, errs = [p.G], [p.h], [np.zeros(len(p.h))]
        for lay, (M, m, scale, norms, live) in enumerate(self._maps(bits, layer)):
            if lay == layer:
                live = live & decided
            sign = np.where(bits[off[lay]:off[lay + 1]], -1.0, 1.0)[live]
            rows.append(sign[:, None] * M[live] / norms[live, None])
            rhs.append(-sign * m[live] / norms[live])
            errs.append(gamma * scale[live] / norms[live])
        return np.vstack(rows), np.concatenate(rhs), np.concatenate(errs)

    def _has_interior(self, bits: np.ndarray, layer: int, decided: np.ndarray,
                      ctx: Context) -> bool:
        """Whether the side given by ``bits`` and the mask ``decided`` of ``layer`` (candidate
        included) has an interior: its float Chebyshev radius decides outside the band
        (``config.band``, widened by the rounding of the rows), the exact oracle inside it."""
        band = self.problem.config.band
        G, h, err = self._cell_rows(bits, layer, decided)
        r = ctx.solver.chebyshev(G, h - err, np.ones(len(h)))[1]  # inside the exact side
        ctx.stats.lps += 1
        if r > band:
            return True
        if r + 2.0 * float(err.max(initial=0.0)) < -band:  # the radius of h + err, a superset
            return False
        return ctx.settle(self.problem, bits, layer, decided) is not None

    def _lp_ball(self, bits: np.ndarray, ctx: Context) -> tuple[np.ndarray, float]:
        """The Chebyshev centre of the pattern's region (one LP) and the certified radius there:
        the least slack of its constraints, each lowered by a bound on its rounding. Where that
        certifies nothing (a region thinner than the rounding), the exact oracle's point, which
        lies strictly inside the region (DESIGN.md §1)."""
        problem = self.problem
        k = problem.param.dim
        last = problem.n_layers - 1
        width = problem.offsets[last + 1] - problem.offsets[last]
        G, h, err = self._cell_rows(bits, last, np.ones(width, dtype=bool))
        h = h - err
        centre, _ = ctx.solver.chebyshev(G, h, np.ones(len(h)))
        ctx.stats.lps += 1
        slack = h - G @ centre - 2.0 ** -52 * (k + 2) * (np.abs(h) + np.abs(G) @ np.abs(centre))
        if slack.min() > 0:
            return centre, float(slack.min())
        inside = ctx.settle(problem, bits, last, np.ones(width, dtype=bool))
        if inside is None:
            raise SolverError("the vertex algorithm found a region that has no interior "
                              "(an internal error; please report it)")
        return inside.point, float(inside.radius)

    def _decide(self, cell: Cell, ctx: Context) -> None:
        """Settle a cut the kernel could not: does each side of neuron ``cut[q]`` have an
        interior? The answer becomes the cell's force code.

        The thinner side (by its vertices' distances) is asked first, exactly when all its
        vertices lie within ``radius_tol`` of the hyperplane (a float LP could not decide it: a
        hyperplane through a vertex or a face, a sliver), else by :meth:`_has_interior`. When it
        has none, the other side holds the interior of the cell, which is full-dimensional (every
        cell is a side proved so), and needs no test."""
        layer, j, decided = self._candidate(cell)
        col = cell.payload.walk.distances[:len(cell.payload.V)]
        tol = self.problem.config.radius_tol
        has = {}
        for side in ((True, False) if col.max() < -col.min() else (False, True)):
            if has and not any(has.values()):  # never both empty
                has[side] = True
                break
            bits = cell.bits.copy()
            bits[self.problem.offsets[layer] + j] = side
            if (col.max() if side else -col.min()) < tol:
                has[side] = ctx.settle(self.problem, bits, layer, decided) is not None
            else:
                has[side] = self._has_interior(bits, layer, decided, ctx)
        cell.payload = cell.payload.forced(1 if all(has.values()) else (2 if has[True] else 3))

    def _candidate(self, cell: Cell) -> tuple[int, int, np.ndarray]:
        """A held cell's layer, the neuron ``cut[q]`` it waits on, and the mask of the layer's
        neurons that define its sides: all but the crossing ones not inserted yet."""
        cut, q = cell.payload.walk.cut, cell.payload.walk.next_cut
        layer = int(cell.layer)
        decided = np.ones(self.problem.offsets[layer + 1] - self.problem.offsets[layer], bool)
        decided[cut[q + 1:]] = False
        return layer, int(cut[q]), decided
