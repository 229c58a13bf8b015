"""LP-free LayerWise-NNCE for low-dimensional domains: cells split by their vertices.

The framework of Drammis et al. 2024, §3 (Alg. 1), with the cell enumerator replaced by a
double-description step (DESIGN.md §2, "LP-free splitting in low dimension"): each cell carries
its vertices; a neuron whose hyperplane leaves every vertex on one side (up to ``radius_tol``)
does not cut the cell, and one that crosses it is split exactly by
:func:`reluregions.geometry.kernels._split`. The whole subtree below a cell is traversed in
compiled code (:func:`reluregions.geometry.dfs.dfs_packed`), a budget of regions at a time, so
schedulers can split the work at any depth.

Full-dimensionality is the same test as in the LP algorithms (Chebyshev radius above
``radius_tol``): a side whose vertices all lie within ``radius_tol`` of the hyperplane is flat; a
side with a ball of radius above ``radius_tol`` around its vertex centroid is full-dimensional; in
the rare band between the two, one Chebyshev LP per side decides. Vertices within ``1e-11`` of a
hyperplane are taken to lie on it.

Each region's ``center``/``radius`` is a certified inscribed ball (unless ``config.chebyshev``
asks for the exact Chebyshev ball, one LP each): the vertex centroid and the least slack of its
constraints, where the constraints are every hyperplane that cuts the cell or comes within
``radius_tol`` of it (a neuron that keeps one sign but grazes the cell bounds the region too), each
offset tightened by a bound on the rounding of its pulled-back row, and each slack by the rounding
of its evaluation. So the ball lies inside the region of the pattern, and its radius is at most the
Chebyshev radius. Should the centroid's ball not clear ``radius_tol`` (a region settled by an LP
can be thin there), one Chebyshev LP on the pattern's constraints gives the ball, certified the
same way.

The domain must be a box (or an affine slice of one) of dimension 1 to 10; the default algorithm
uses the witness algorithm otherwise.
"""
from __future__ import annotations

import numpy as np

from ..errors import OptionError
from ..geometry.dfs import Frontier, PackedNet, Settings, Traversal, VertexCell, dfs_packed
from ..geometry.kernels import HAVE_NUMBA, box_vertices, numba_cached
from .base import Algorithm, Cell, Context, Problem, Region, RegionBlock
from .layers import make_region, root_cell

__all__ = ["VertexAlgorithm", "VERTEX_EPS", "vertex_applicable", "kernels_cached"]

VERTEX_EPS = 1e-11
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
        self.budget = 4096  # regions per compiled call: keeps checkpoints and work splitting fine-grained

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
            tiny.budget = 1  # hand back a frontier too
            ctx = Context.create(tiny.problem.config, 1)
            stack = tiny.roots(ctx)
            while stack:
                children, _ = tiny.expand(stack.pop(), ctx)
                stack.extend(children)
        _WARM = True

    def roots(self, ctx: Context) -> list[Cell]:
        cell = root_cell(self.problem, ctx)
        cell.V, cell.inc = box_vertices(self.problem.param.dim, self._n_words)
        return [cell]

    def expand(self, cell: Cell, ctx: Context) -> tuple[list[Cell], list[Region]]:
        """Traverse the subtree below ``cell`` for up to ``budget`` regions; return the frontier."""
        problem = self.problem
        k = problem.param.dim
        L = problem.n_layers
        ctx.stats.expansions += 1
        if L == 0:
            return [], [make_region(problem, cell.G, cell.h, cell.bits, cell.center, cell.radius,
                                    (), None, None, ctx)]
        ranks = np.full(L, -1, dtype=np.int64)
        ranks[:len(cell.ranks)] = cell.ranks
        if cell.state is None:
            state = (np.empty(0), np.empty(0, np.int64), np.empty((0, k)), np.empty(0), -1, 0)
        else:
            state = cell.state
        out = self._call(cell, state, ranks)
        for i, c in enumerate(out.layer_cells):
            ctx.stats.layer_cells[i] += int(c)
        regions = self._regions(out.n, out.bits, out.centres, out.radii, out.ranks, out.rows,
                                out.roffs, ctx)
        frontier = self._unpack_frontier(cell, out.frontier)
        if out.pending:
            self._decide(frontier[0], ctx)
        return frontier, regions

    def _call(self, cell: Cell, state: tuple, ranks: np.ndarray) -> Traversal:
        problem = self.problem
        cfg = problem.config
        S, cut, acut, ocut, q, force = state
        start = VertexCell(cell.V, cell.inc, cell.G, cell.h, cell.bits.copy(), int(cell.layer),
                           cell.M, cell.m, cell.scale, S, cut, acut, ocut, int(q), ranks, int(force))
        settings = Settings(float(cfg.zero_tol), float(cfg.radius_tol), VERTEX_EPS,
                            int(problem.param.dim), bool(cfg.ranks), bool(self._rows),
                            int(self.budget))
        return dfs_packed(start, self._weights(), settings)

    def _regions(self, n: int, bits: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                 rk: np.ndarray, rows: np.ndarray, roffs: np.ndarray,
                 ctx: Context) -> "list[Region] | RegionBlock":
        problem = self.problem
        cfg = problem.config
        k = problem.param.dim
        if self.count_only:
            return [None] * n  # type: ignore[list-item]
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
            return out
        ranks = rk if cfg.ranks else np.zeros((n, 0), np.int64)
        return RegionBlock(bits, problem.param.to_input(centres), centres, radii, ranks)

    def _lp_ball(self, bits: np.ndarray, ctx: Context) -> tuple[np.ndarray, float]:
        """The Chebyshev centre of the pattern's region (one LP) and the certified radius there:
        the least slack of its constraints, each lowered by a bound on its rounding."""
        problem = self.problem
        p, net = problem.param, problem.network
        k = p.dim
        gamma = 2.0 ** -51 * (net.n_hidden + k + 8)
        A, c = p.U, p.x0
        absA = np.abs(A).sum(axis=1) + np.abs(c)
        rows, rhs = [p.G], [p.h]
        off = problem.offsets
        for layer in range(problem.n_layers):
            W, b = net.weights[layer], net.biases[layer]
            M, m = W @ A, W @ c + b
            scale = np.abs(W) @ absA + np.abs(b)
            norms = np.linalg.norm(M, axis=1)
            live = norms > problem.config.zero_tol * np.maximum(scale, 1e-300)
            on = bits[off[layer]:off[layer + 1]]
            sign = np.where(on, -1.0, 1.0)[live]
            rows.append(sign[:, None] * M[live] / norms[live, None])
            rhs.append(-sign * m[live] / norms[live] - gamma * scale[live] / norms[live])
            d = np.where(on, 1.0, net.negative_slope)
            A, c = d[:, None] * M, d * m
            absA = np.abs(A).sum(axis=1) + np.abs(c)
        G, h = np.vstack(rows), np.concatenate(rhs)
        centre, _ = ctx.solver.chebyshev(G, h, np.ones(len(h)))
        ctx.stats.lps += 1
        slack = h - G @ centre - 2.0 ** -52 * (k + 2) * (np.abs(h) + np.abs(G) @ np.abs(centre))
        return centre, float(slack.min())

    def _decide(self, cell: Cell, ctx: Context) -> None:
        """Settle a cut the kernel could not certify: one Chebyshev LP per side."""
        S, cut, acut, ocut, q, _ = cell.state
        tol = self.problem.config.radius_tol
        radii = []
        for row, rhs in ((-acut[q], ocut[q]), (acut[q], -ocut[q])):  # bit 1 side, bit 0 side
            G = np.vstack([cell.G, row])
            h = np.append(cell.h, rhs)
            radii.append(ctx.solver.chebyshev(G, h, np.ones(len(h)))[1])
            ctx.stats.lps += 1
        if min(radii) > tol:
            force = 1
        else:
            force = 2 if radii[0] >= radii[1] else 3
        cell.state = (S, cut, acut, ocut, q, force)

    @staticmethod
    def _unpack_frontier(cell: Cell, packed: Frontier) -> list[Cell]:
        """Cells from the flat frontier arrays of :func:`dfs_packed` (top of the stack first)."""
        meta, fV, fI, fG, fh, fB, fM, fm, fSc, fS, fCut, fAc, fOc, fR = packed
        frontier = []
        ip = ir = il = ic = i_s = 0
        for i, (p, r, nl, nc, layer, q) in enumerate(meta.tolist()):
            ns = p * (nc - q) if q >= 0 else 0
            S = fS[i_s:i_s + ns]
            frontier.append(Cell(fG[ir:ir + r], fh[ir:ir + r], cell.center, cell.radius, layer, 0,
                                 fM[il:il + nl], fm[il:il + nl], fB[i],
                                 tuple(fR[i, :layer].tolist()), None, None, fSc[il:il + nl],
                                 fV[ip:ip + p], fI[ip:ip + p],
                                 (S, fCut[ic:ic + nc], fAc[ic:ic + nc], fOc[ic:ic + nc], q, 0)))
            ip, ir, il, ic, i_s = ip + p, ir + r, il + nl, ic + nc, i_s + ns
        return frontier
