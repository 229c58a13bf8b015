"""The exhaustive first-layer enumerator of ParLayerWise1-NNCE (Drammis et al. 2024, §5, Alg. 6).

When ``n1 <= n0`` almost every one of the ``2^n1`` first-layer sign vectors is a cell, so the
paper's master lists them all and tests each with one LP; the feasible ones become the tasks handed
to workers. Neurons that are constant on the domain are fixed first and not enumerated. A sign
vector is a cell when it has an interior (DESIGN.md §1): its LP's float Chebyshev radius decides
outside the band of float decisions (``config.band``, from ``radius_tol``), and a radius inside
it is settled exactly (:func:`~reluregions.enumeration.layers.side_ball`).
"""
from __future__ import annotations

import itertools

import numpy as np

from ...errors import OptionError
from ..base import Cell, Context, Problem
from ..layers import chebyshev_side, constant_neurons, root_cell

__all__ = ["exhaustive_first_layer", "MAX_EXHAUSTIVE_NEURONS"]

MAX_EXHAUSTIVE_NEURONS = 20


def exhaustive_first_layer(problem: Problem, ctx: Context, payload: object = None) -> list[Cell]:
    """Every full-dimensional cell of layer 1 inside the domain, one LP per sign vector.

    The returned cells sit at layer 0 with all its neurons inserted (``neuron = n1``), ready for
    the layer to be closed by the algorithm's expansion; they share the ``payload`` (the
    algorithm's state of the root, :attr:`~reluregions.tree.Cell.payload`).
    """
    root = root_cell(problem, ctx, payload)
    n1 = root.M.shape[0]
    norms = np.linalg.norm(root.M, axis=1)
    const, const_bits = constant_neurons(problem, root, norms)
    free = np.flatnonzero(~const)
    if free.size > MAX_EXHAUSTIVE_NEURONS:
        raise OptionError(f"the exhaustive first-layer enumerator lists 2^{free.size} sign vectors; "
                          f"it allows at most {MAX_EXHAUSTIVE_NEURONS} first-layer neurons: use "
                          "--first-layer incremental")
    a = root.M[free] / norms[free, None]
    off = root.m[free] / norms[free]
    decided = np.ones(n1, dtype=bool)
    cells = []
    for signs in itertools.product((True, False), repeat=free.size):
        sgn = np.where(signs, 1.0, -1.0)
        # bit 1: a t + off >= 0  <=>  -a t <= off;  bit 0: a t <= -off.
        rows = -sgn[:, None] * a
        rhs = sgn * off
        G = np.vstack([root.G, rows])
        h = np.concatenate([root.h, rhs])
        bits = root.bits.copy()
        bits[:n1] = const_bits
        bits[free] = signs
        ball = chebyshev_side(problem, ctx, G, h, bits, 0, decided)
        if ball is None:
            continue
        center, radius = ball
        cells.append(Cell(G=G, h=h, center=center, radius=radius, layer=0, neuron=n1, M=root.M,
                          m=root.m, scale=root.scale, bits=bits, payload=root.payload))
    return cells
