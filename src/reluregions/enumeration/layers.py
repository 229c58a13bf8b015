"""Steps every algorithm shares: the root cell, the start and the end of a layer.

Implements the pull-back of Drammis et al. 2024, §3 (Alg. 1, lines 4-6): once the bits of layer
``l`` are fixed on a cell, the next layer's pre-activations are affine on it,
``M_{l+1} = W_{l+1} D_l M_l`` and ``m_{l+1} = W_{l+1} D_l m_l + b_{l+1}``, with
``D_l = diag(bits, or the leaky slope for inactive neurons)``.

It also decides the neurons that are constant on a cell (DESIGN.md §1): a neuron whose pulled-back
row is at most ``zero_tol`` times its scale never changes sign there; if its offset is also that
small it is identically zero, and its bit is 0 — never the sign of rounding noise.

And it holds the one rule by which the LP-based algorithms decide whether a side of a split has an
interior (DESIGN.md §1, :func:`side_ball`): its float Chebyshev radius decides outside the band of
float decisions (``config.band``, from ``radius_tol``), :meth:`Context.settle` exactly inside it.

In the whole input space (:class:`~reluregions.domains.WholeSpace`, issue 15) the root cell has no
rows and an infinite outer box, and :func:`make_region` marks each region bounded or not with an
exact certificate (:mod:`reluregions.geometry.recession`).
"""
from __future__ import annotations

import numpy as np

from .base import Cell, Context, Problem, RegionBlock

__all__ = ["root_cell", "constant_neurons", "finish_layer", "make_region", "layer_offsets",
           "hidden_map", "side_ball", "chebyshev_side"]


def layer_offsets(problem: Problem) -> tuple[int, ...]:
    """Index of each hidden layer's first bit in the pattern (and the total at the end)."""
    return problem.offsets


def _layer_map(problem: Problem, layer: int, A: np.ndarray, c: np.ndarray,
               absA: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-activation map and scale of ``layer`` given its input map ``h = A t + c``.

    Rows of ``A`` that are zero (inactive ReLUs) are skipped in the product: in the paper's regime
    (hundreds of inputs, a layer half inactive) this halves the largest product of a layer.
    """
    W = problem.network.weights[layer]
    b = problem.network.biases[layer]
    live = np.flatnonzero(absA)
    if live.size < 0.8 * absA.size:
        M = W[:, live] @ A[live]
    else:
        M = W @ A
    m = W @ c + b
    scale = np.abs(W) @ absA + np.abs(b)
    return M, m, scale


def root_cell(problem: Problem, ctx: Context, payload: object = None) -> Cell:
    """The whole domain as one cell at layer 0, neuron 0, with its Chebyshev ball as witness.

    In the whole space the Chebyshev LP has no rows and returns the radius cap. ``payload`` is
    the algorithm's state of the root (:attr:`Cell.payload`).
    """
    p = problem.param
    center, radius = ctx.solver.chebyshev(p.G, p.h, np.ones(len(p.h)))
    ctx.stats.lps += 1
    M, m, scale = _layer_map(problem, 0, p.U, p.x0,
                             np.abs(p.U).sum(axis=1) + np.abs(p.x0))
    bits = np.zeros(problem.network.n_hidden, dtype=bool)
    return Cell(G=p.G.copy(), h=p.h.copy(), center=center, radius=radius, layer=0, neuron=0, M=M,
                m=m, scale=scale, bits=bits, payload=payload)


def constant_neurons(problem: Problem, cell: Cell, norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mask of the neurons of ``cell.layer`` that are constant on the cell, and their bits."""
    tol = problem.config.zero_tol * np.maximum(cell.scale, 1e-300)
    const = norms <= tol
    return const, const & (cell.m > tol)


def side_ball(problem: Problem, ctx: Context, center: np.ndarray, radius: float, bits: np.ndarray,
              layer: int, decided: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Whether a side of a split has an interior, from its float Chebyshev ball (DESIGN.md §1).

    A radius above the band of float decisions (``config.band``: ``radius_tol``, at least ten
    times the LP's feasibility tolerance) proves an interior (the ball is returned as the side's
    witness), one below minus the band proves there is none (the LP's radius is free below); in
    between
    the side is settled exactly (:meth:`Context.settle`, the side given by the pattern ``bits``,
    its candidate bit included, and the mask ``decided`` of ``layer``'s neurons that define it).

    Returns
    -------
    tuple of (ndarray, float) or None
        A ball inside the side (an exactly settled side gives its checked point and certified
        radius, which may be 0), or ``None`` when the side has no interior.
    """
    tol = problem.config.band
    if radius > tol:
        return center, float(radius)
    if radius < -tol:
        return None
    found = ctx.settle(problem, bits, layer, decided)
    return None if found is None else (found.point, float(found.radius))


def chebyshev_side(problem: Problem, ctx: Context, G: np.ndarray, h: np.ndarray, bits: np.ndarray,
                   layer: int, decided: np.ndarray) -> tuple[np.ndarray, float] | None:
    """:func:`side_ball` of the side ``G t <= h`` (unit rows) after its Chebyshev LP (one LP)."""
    center, radius = ctx.solver.chebyshev(G, h, np.ones(len(h)))
    ctx.stats.lps += 1
    return side_ball(problem, ctx, center, radius, bits, layer, decided)


def finish_layer(problem: Problem, cell: Cell, ctx: Context) -> Cell | RegionBlock:
    """Close ``cell.layer``: record its rank and count, then pull the next layer back.

    Returns the cell at the next layer's first neuron (with the cell's payload), or the finished
    region after the last hidden layer.
    """
    net = problem.network
    layer = cell.layer
    off = problem.offsets
    bits = cell.bits[off[layer]:off[layer + 1]]
    slope = net.negative_slope
    d = np.where(bits, 1.0, slope)
    ctx.stats.layer_cells[layer] += 1
    last = layer + 1 == problem.n_layers
    ranks = cell.ranks
    if last and not (problem.config.ranks or problem.config.keep_maps):
        # nothing below needs the layer's map (at 784 inputs forming it was a tenth of a region)
        return make_region(problem, cell.G, cell.h, cell.bits, cell.center, cell.radius, ranks,
                           None, None, ctx)
    A = d[:, None] * cell.M
    c = d * cell.m
    if problem.config.ranks:
        ranks = ranks + (_map_rank(problem, cell, d, A),)
    if last:
        return make_region(problem, cell.G, cell.h, cell.bits, cell.center, cell.radius, ranks,
                           A, c, ctx)
    absA = np.abs(A).sum(axis=1) + np.abs(c)
    M, m, scale = _layer_map(problem, layer + 1, A, c, absA)
    return Cell(G=cell.G, h=cell.h, center=cell.center, radius=cell.radius, layer=layer + 1,
                neuron=0, M=M, m=m, scale=scale, bits=cell.bits, ranks=ranks, payload=cell.payload)


def _map_rank(problem: Problem, cell: Cell, d: np.ndarray, A: np.ndarray) -> int:
    """Rank of the map ``A = D_l M_l`` of ``cell``'s layer (Drammis et al. 2024, §4), as
    :func:`numpy.linalg.matrix_rank` gives it.

    ``M_l = W_l D_{l-1} M_{l-1}``: when the live rows of ``D_{l-1} M_{l-1}`` (the neurons of layer
    ``l - 1`` with a nonzero activation) are as many as its rank, they are independent, and the
    rank of ``A`` is that of ``D_l W_l`` on those columns: an SVD of ``n_l`` rows by that rank
    rather than of ``n_l`` rows by the input dimension (on MNIST boxes, 256 x 2 instead of
    256 x 784, six sevenths of the high-dimensional engine's time with ranks on).
    """
    layer = cell.layer
    if layer and len(cell.ranks) == layer:
        off = problem.offsets
        net = problem.network
        prev = np.where(cell.bits[off[layer - 1]:off[layer]], 1.0, net.negative_slope)
        live = np.flatnonzero(prev)
        if live.size == cell.ranks[-1] and live.size < A.shape[1]:
            X = d[:, None] * net.weights[layer][:, live] * prev[live]
            return int(np.linalg.matrix_rank(X)) if X.size else 0
    return int(np.linalg.matrix_rank(A)) if A.size else 0


def hidden_map(problem: Problem, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The map ``t -> h_L(t) = A t + c`` of the last hidden layer on the region with pattern ``bits``.

    Pulls the domain back layer by layer with ``D_l = diag(bits_l, or the leaky slope)``; neurons
    that are identically zero contribute (numerically) zero rows whatever their bit.
    """
    p = problem.param
    A, c = p.U, p.x0
    net = problem.network
    off = problem.offsets
    for layer in range(problem.n_layers):
        d = np.where(bits[off[layer]:off[layer + 1]], 1.0, net.negative_slope)
        A = d[:, None] * (net.weights[layer] @ A)
        c = d * (net.weights[layer] @ c + net.biases[layer])
    return A, c


def make_region(problem: Problem, G: np.ndarray, h: np.ndarray, bits: np.ndarray,
                center: np.ndarray, radius: float, ranks: tuple[int, ...], A: np.ndarray | None,
                c: np.ndarray | None, ctx: Context) -> RegionBlock:
    """The finished cell ``G t <= h``, with its last hidden map ``A t + c``, as a block of one row.

    Adds what the config asks for: the exact Chebyshev ball (one LP), the output map in input
    coordinates, the irredundant H-representation (one LP per constraint). In an unbounded domain
    the region is marked bounded or not (one or two LPs, confirmed exactly) and counted in
    ``ctx.stats.unbounded``; the Chebyshev radius of an unbounded region is the LP's cap.
    """
    cfg = problem.config
    p = problem.param
    if cfg.chebyshev:
        center, radius = ctx.solver.chebyshev(G, h, np.ones(len(h)))
        ctx.stats.lps += 1
    center = np.asarray(center, dtype=float)[None, :]
    # a bounded region leaves the flag out: a block's ``bounded`` is None when all its rows are
    bounded = None if p.bounded or _bounded(problem, bits, ctx) else np.zeros(1, dtype=bool)
    lists: dict[str, list[np.ndarray]] = {}
    if cfg.keep_maps:
        if A is None:
            A, c = hidden_map(problem, bits)
        W, b = problem.network.weights[-1], problem.network.biases[-1]
        At, ct = W @ A, W @ c + b
        A_in = At @ np.linalg.pinv(p.U)
        lists.update(A=[A_in], c=[ct - A_in @ p.x0])
    if cfg.keep_hrep:
        from ..geometry.redundancy import irredundant

        G_irr, h_irr = irredundant(G, h, ctx.solver, ctx.stats)
        lists.update(G=[G_irr], h=[h_irr])
    return RegionBlock.build(np.array(bits, dtype=bool)[None, :], p.to_input(center), center,
                             np.array([float(radius)]),
                             np.array(ranks, dtype=np.int64).reshape(1, len(ranks)),
                             bounded=bounded, **lists)


def _bounded(problem: Problem, bits: np.ndarray, ctx: Context) -> bool:
    """Whether the region ``bits`` of an unbounded domain is bounded (exact certificate)."""
    from ..domains import AffineSlice, WholeSpace
    from ..geometry.recession import region_bounded

    p = problem.param

    def domain():
        return AffineSlice(p.x0, p.U, WholeSpace(p.dim))

    bounded, lps, _ = region_bounded(problem.network, domain, bits, ctx.solver, key=problem)
    ctx.stats.lps += lps
    ctx.stats.unbounded += not bounded
    return bounded
