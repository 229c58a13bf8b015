"""Bound-IncEnum (Drammis et al. 2024, Appendix A): insert one hyperplane into one cell.

Faithful to the paper: both sides of the hyperplane are tested with an LP (here the Chebyshev-ball
LP), and every inserted hyperplane becomes a constraint of the child cells, whether it split the
cell or not. A side is kept when it has an interior (DESIGN.md §1): its float radius decides
outside the band of float decisions (``config.band``, from ``radius_tol``), and a side inside
the band is settled exactly (:func:`~reluregions.enumeration.layers.side_ball`), so the paper's
two LPs per insertion are unchanged wherever floating point can decide.
"""
from __future__ import annotations

import numpy as np

from ...errors import SolverError
from ..base import Cell, Context, Problem
from ..layers import chebyshev_side

__all__ = ["incremental_step"]


def incremental_step(problem: Problem, cell: Cell, a: np.ndarray, off: float, bit_index: int,
                     decided: np.ndarray, ctx: Context) -> list[Cell]:
    """Children of ``cell`` cut by the unit-normal hyperplane ``a t + off = 0``.

    Each side, ``a t + off >= 0`` (bit 1) and ``<= 0`` (bit 0), is kept when it has an interior.

    Parameters
    ----------
    problem : Problem
        The enumeration problem (for the band and the exact settlement).
    cell : Cell
        The cell being split; its bits of layers before ``cell.layer`` are complete.
    a, off : ndarray, float
        The neuron's pulled-back hyperplane, normalised to a unit row.
    bit_index : int
        The neuron's bit in the pattern.
    decided : ndarray of bool
        The neurons of ``cell.layer`` that define the children (those inserted or fixed so far and
        this one).
    ctx : Context
        The worker's solver and counters.

    Raises
    ------
    SolverError
        When neither side has an interior: a full-dimensional cell always keeps one, so the
        cell's own decision and this one contradict each other.
    """
    kept = []
    for bit, row, rhs in ((True, -a, off), (False, a, -off)):
        G = np.vstack([cell.G, row])
        h = np.append(cell.h, rhs)
        bits = cell.bits.copy()
        bits[bit_index] = bit
        ball = chebyshev_side(problem, ctx, G, h, bits, cell.layer, decided)
        if ball is not None:
            kept.append(cell.split(row, rhs, ball[0], ball[1], bit_index, bit))
    if not kept:
        raise SolverError(f"neither side of neuron {bit_index} (pattern bit) has an interior in a "
                          f"cell of layer {cell.layer} that was itself found full-dimensional; the "
                          "float and exact side decisions are inconsistent, please report it")
    return kept
