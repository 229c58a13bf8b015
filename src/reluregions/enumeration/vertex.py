"""LP-free LayerWise-NNCE for low-dimensional domains: cells split by their vertices.

The framework of Drammis et al. 2024, §3 (Alg. 1), with the cell enumerator replaced by a
double-description step (DESIGN.md §2, "LP-free splitting in low dimension"): each cell carries
its vertices; a neuron whose hyperplane leaves every vertex on one side (up to ``radius_tol``)
does not cut the cell, and one that does is split exactly by the compiled kernel
:func:`reluregions.geometry.kernels.split_layer`, which enumerates the whole arrangement of a
layer's crossing hyperplanes inside the cell in one call. No LP is solved.

Full-dimensionality: a side of a cut counts when one of its vertices lies farther than
``radius_tol`` from the hyperplane; a side whose vertices all lie within ``radius_tol`` has
inradius below ``radius_tol`` and is dropped, as with the LP test. (A side that is long but
thinner than ``radius_tol`` everywhere would be kept here and dropped by the LP test; no such
sliver appears on the reference nets, where the agreed counts are reproduced.) Vertices within
``1e-11`` of a hyperplane are taken to lie on it.

The domain must be a box (or an affine slice of one); other domains use the witness algorithm.
"""
from __future__ import annotations

import numpy as np

from ..errors import OptionError
from ..geometry.kernels import HAVE_NUMBA, box_vertices, split_layer
from ..geometry.dfs import dfs_packed
from .base import Algorithm, Cell, Context, Problem, Region
from .layers import constant_neurons, finish_layer, layer_offsets, root_cell

__all__ = ["VertexAlgorithm", "VERTEX_EPS", "vertex_applicable"]

VERTEX_EPS = 1e-11
_WARM = False  # compiled kernels loaded in this process
MAX_VERTEX_DIM = 10


def vertex_applicable(problem: Problem) -> bool:
    """Whether the vertex algorithm can run: a box-shaped parameter domain of dimension 1..10."""
    p = problem.param
    k = p.dim
    if not HAVE_NUMBA or k == 0 or k > MAX_VERTEX_DIM or p.G.shape != (2 * k, k):
        return False
    return bool(np.allclose(p.G, np.vstack([np.eye(k), -np.eye(k)])) and np.allclose(p.h, 1.0))


class VertexAlgorithm(Algorithm):
    """Vertex-based (LP-free) LayerWise-NNCE; one work item per cell and layer."""

    name = "vertex"

    def __init__(self, problem: Problem) -> None:
        if not vertex_applicable(problem):
            raise OptionError("the vertex algorithm needs numba and a box domain of dimension 1 to "
                              f"{MAX_VERTEX_DIM}; use --algorithm default")
        super().__init__(problem)
        k = problem.param.dim
        self._n_words = (2 * k + problem.network.n_hidden + 63) // 64
        self._offsets = layer_offsets(problem)
        cfg = problem.config
        # Last-layer regions need no Cell when nothing beyond pattern, point and radius is kept.
        self._light = not (cfg.chebyshev or cfg.ranks or cfg.keep_maps or cfg.keep_hrep)
        # Without LPs (exact Chebyshev balls, H-representations) the whole subtree runs compiled.
        self._compiled = not (cfg.chebyshev or cfg.keep_maps or cfg.keep_hrep)
        self._typed: tuple | None = None
        self.budget = 4096  # regions per compiled call: keeps checkpoints and work splitting fine-grained

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_typed"] = None  # numba typed lists are rebuilt in each process
        return state

    def _weights(self) -> tuple:
        """Hidden-layer weights and biases packed flat, as the compiled traversal takes them."""
        if self._typed is None:
            net = self.problem.network
            Ws, bs = net.weights[:-1], net.biases[:-1]
            Woffs = np.concatenate([[0], np.cumsum([W.size for W in Ws])]).astype(np.int64)
            Wshapes = np.array([W.shape for W in Ws], dtype=np.int64).reshape(len(Ws), 2)
            boffs = np.concatenate([[0], np.cumsum([b.size for b in bs])]).astype(np.int64)
            Wflat = np.concatenate([W.ravel() for W in Ws]) if Ws else np.empty(0)
            bflat = np.concatenate(list(bs)) if bs else np.empty(0)
            self._typed = (Wflat, Woffs, Wshapes, bflat, boffs,
                           np.asarray(self.problem.offsets, dtype=np.int64))
        return self._typed

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
            tiny.budget = 1  # hand back a frontier, so the typed-list accessors get loaded too
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
        if self._compiled and self.problem.n_layers > 0:
            return self._expand_compiled(cell, ctx)
        return self._expand_layer(cell, ctx)

    def _expand_compiled(self, cell: Cell, ctx: Context) -> tuple[list[Cell], list[Region]]:
        """Run the compiled traversal below ``cell`` for up to ``budget`` regions."""
        problem = self.problem
        cfg = problem.config
        k = problem.param.dim
        L = problem.n_layers
        ctx.stats.expansions += 1
        ranks = np.full(L, -1, dtype=np.int64)
        ranks[:len(cell.ranks)] = cell.ranks
        if cell.state is None:
            S, cut, acut, ocut, q = (np.empty((len(cell.V), 0)), np.empty(0, np.int64),
                                     np.empty((0, k)), np.empty(0), -1)
        else:
            S, cut, acut, ocut, q = cell.state
        out = dfs_packed(cell.V, cell.inc, cell.G, cell.h, cell.bits.copy(), cell.layer, cell.M,
                         cell.m, cell.scale, S, cut, acut, ocut, q, ranks, *self._weights(),
                         problem.network.negative_slope, cfg.zero_tol, cfg.radius_tol, VERTEX_EPS,
                         k, cfg.ranks, self.budget)
        n, bits, centres, radii, rk, layer_cells, meta = out[:7]
        for i, c in enumerate(layer_cells):
            ctx.stats.layer_cells[i] += int(c)
        points = problem.param.to_input(centres)
        if cfg.ranks:
            regions = [Region(bits[i], points[i], centres[i], float(radii[i]), tuple(rk[i].tolist()))
                       for i in range(n)]
        else:
            regions = [Region(bits[i], points[i], centres[i], float(radii[i]), ()) for i in range(n)]
        return self._unpack_frontier(cell, meta, out[7:]), regions

    @staticmethod
    def _unpack_frontier(cell: Cell, meta: np.ndarray, parts: tuple) -> list[Cell]:
        """Cells from the flat frontier arrays of :func:`dfs_packed` (top of the stack first)."""
        fV, fI, fG, fh, fB, fM, fm, fSc, fS, fCut, fAc, fOc, fR = parts
        frontier = []
        ip = ir = il = ic = i_s = 0
        for i, (p, r, nl, nc, layer, q) in enumerate(meta.tolist()):
            S = fS[i_s:i_s + p * nc].reshape(p, nc)
            frontier.append(Cell(fG[ir:ir + r], fh[ir:ir + r], cell.center, cell.radius, layer, 0,
                                 fM[il:il + nl], fm[il:il + nl], fB[i],
                                 tuple(fR[i, :layer].tolist()), None, None, fSc[il:il + nl],
                                 fV[ip:ip + p], fI[ip:ip + p],
                                 (S, fCut[ic:ic + nc], fAc[ic:ic + nc], fOc[ic:ic + nc], q)))
            ip, ir, il, ic, i_s = ip + p, ir + r, il + nl, ic + nc, i_s + p * nc
        return frontier

    def _expand_layer(self, cell: Cell, ctx: Context) -> tuple[list[Cell], list[Region]]:
        """One layer of one cell per call, in Python around the compiled layer kernel."""
        problem = self.problem
        tol = problem.config.radius_tol
        k = problem.param.dim
        ctx.stats.expansions += 1
        cell.bits = cell.bits.copy()
        while True:
            base = int(self._offsets[cell.layer])
            norms = np.linalg.norm(cell.M, axis=1)
            const, const_bits = constant_neurons(problem, cell, norms)
            live = np.flatnonzero(~const)
            cell.bits[base + np.flatnonzero(const)] = const_bits[const]
            S = (cell.V @ cell.M[live].T + cell.m[live]) / norms[live]
            smin, smax = S.min(axis=0), S.max(axis=0)
            up, down = smin >= -tol, smax <= tol
            cell.bits[base + live[up]] = True
            cell.bits[base + live[down & ~up]] = False
            cut = live[~(up | down)]
            if cut.size == 0:
                nxt = finish_layer(problem, cell, ctx)
                if isinstance(nxt, Region):
                    return [], [self._finish_region(nxt, cell)]
                cell = nxt
                continue
            cols = ~(up | down)
            cids = (2 * k + base + cut).astype(np.int64)
            last = cell.layer == problem.n_layers - 1
            light = self._light and last
            centres, Bs, Cs, Vs, Is = split_layer(cell.V, cell.inc, np.ascontiguousarray(S[:, cols]),
                                                  cids, VERTEX_EPS, tol, k, not light)
            a = cell.M[cut] / norms[cut, None]
            off = cell.m[cut] / norms[cut]
            if light:
                return [], self._light_regions(cell, base, cut, a, off, centres, Bs, Cs, ctx)
            children: list[Cell] = []
            regions: list[Region] = []
            for V, inc, B, C in zip(Vs, Is, Bs, Cs):
                bits = cell.bits.copy()
                bits[base + cut] = B
                sign = np.where(B[C], -1.0, 1.0)  # bit 1: -a t <= off; bit 0: a t <= -off
                G = np.vstack([cell.G, sign[:, None] * a[C]])
                h = np.concatenate([cell.h, -sign * off[C]])
                child = Cell(G, h, cell.center, cell.radius, cell.layer, cell.M.shape[0], cell.M,
                             cell.m, bits, cell.ranks, None, None, cell.scale, V, inc)
                nxt = finish_layer(problem, child, ctx)
                if isinstance(nxt, Region):
                    regions.append(self._finish_region(nxt, child))
                else:
                    children.append(nxt)
            return children, regions

    def _light_regions(self, cell: Cell, base: int, cut: np.ndarray, a: np.ndarray, off: np.ndarray,
                       centres: np.ndarray, B: np.ndarray, C: np.ndarray,
                       ctx: Context) -> list[Region]:
        """Regions of the last hidden layer straight from the kernel's output (no per-child Cell)."""
        n = len(centres)
        ctx.stats.layer_cells[cell.layer] += n
        points = self.problem.param.to_input(centres)
        slack = cell.h[None, :] - centres @ cell.G.T
        radius = slack.min(axis=1) if slack.shape[1] else np.full(n, np.inf)
        dist = centres @ a.T + off  # signed distance to each cut hyperplane
        own = np.where(C, np.where(B, dist, -dist), np.inf)
        radius = np.minimum(radius, own.min(axis=1))
        bits = np.repeat(cell.bits[None, :], n, axis=0)
        bits[:, base + cut] = B
        return [Region(bits[i], points[i], centres[i], float(radius[i]), ()) for i in range(n)]

    def _finish_region(self, region: Region, cell: Cell) -> Region:
        """Give the region its vertex centroid as interior point and a certified inner radius."""
        if self.problem.config.chebyshev:
            return region
        center = cell.V.mean(axis=0)
        region.center = center
        region.point = self.problem.param.to_input(center)
        region.radius = float(np.min(cell.h - cell.G @ center)) if len(cell.h) else 0.0
        return region
