"""The paper's reference algorithm: LayerWise-NNCE with Bound-IncEnum (Drammis et al. 2024, §3, Alg. 1).

Kept faithful, as the baseline every faster variant is measured against: inside each cell, each
layer's neurons are inserted one at a time, with a feasibility LP on both sides of every current
cell (about ``2 n_l`` LPs per cell per layer). The only additions are those the region semantics
require (DESIGN.md §1): neurons that are constant on a cell are decided without a split, and a
side whose float Chebyshev radius falls in the band of float decisions (``config.band``, from
``radius_tol``) is settled exactly (:meth:`~reluregions.tree.Context.settle`), on top of its LP,
so that no tolerance decides what a region is.
"""
from __future__ import annotations

import numpy as np

from .base import Algorithm, Block, Cell, Context, RegionBlock
from .cells import exhaustive_first_layer, incremental_step
from .layers import constant_neurons, finish_layer, layer_offsets, root_cell

__all__ = ["PaperAlgorithm"]


class PaperAlgorithm(Algorithm):
    """LayerWise-NNCE + Bound-IncEnum, one hyperplane per expansion."""

    def roots(self, ctx: Context) -> list[Cell]:
        if self.problem.config.first_layer == "exhaustive":
            return exhaustive_first_layer(self.problem, ctx)
        return [root_cell(self.problem, ctx)]

    def expand(self, cell: Cell, ctx: Context, *, budget: int,
               count_only: bool) -> tuple[list[Cell], Block]:
        problem = self.problem
        ctx.stats.expansions += 1
        cell.bits = cell.bits.copy()
        while True:
            n = cell.M.shape[0]
            if cell.neuron >= n:
                nxt = finish_layer(problem, cell, ctx)
                if isinstance(nxt, RegionBlock):
                    return [], nxt
                cell = nxt
                continue
            j = cell.neuron
            norms = np.linalg.norm(cell.M, axis=1)
            const, const_bits = constant_neurons(problem, cell, norms)
            bit_index = int(layer_offsets(problem)[cell.layer]) + j
            if const[j]:
                cell.bits[bit_index] = const_bits[j]
                cell.neuron += 1
                continue
            # Neurons are inserted in order: those before j are decided (split or constant).
            decided = np.arange(n) <= j
            children = incremental_step(problem, cell, cell.M[j] / norms[j], cell.m[j] / norms[j],
                                        bit_index, decided, ctx)
            return children, RegionBlock.empty()
