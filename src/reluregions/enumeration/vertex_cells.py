"""The vertex algorithm's open cells: their payload, and the frontier the compiled traversal hands
back (:func:`reluregions.geometry.dfs.dfs_packed`), as work items.

A traversal stopped by its budget leaves a stack of open cells, packed flat (a
:class:`~reluregions.geometry.dfs.Frontier`). :func:`frontier_items` makes it *one* work item:
its top cell, whose payload carries the rest of the stack (:attr:`VertexState.below`), so the
next expansion resumes the whole traversal in one compiled call, however many cells were open
(LayerWise-NNCE of Drammis et al. 2024, §3, Alg. 1, is a depth-first traversal; the stack is only
cut where the budget stopped it). :func:`open_cells` turns such an item into one item per cell,
for schedulers that move work between workers (dynamic splitting at any depth, DESIGN.md §3).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..geometry.dfs import Frontier
from ..tree import Cell

__all__ = ["VertexState", "VertexWalk", "frontier_items", "open_cells", "empty_frontier"]


class VertexWalk(NamedTuple):
    """Where a cell stands inside its layer, as the compiled traversal hands it back
    (:func:`~reluregions.geometry.dfs.dfs_packed`'s ``S, cut, acut, ocut, q, force``).

    Attributes
    ----------
    distances : ndarray
        Signed distances of the cell's vertices to the crossing hyperplanes ``cut[next_cut:]``,
        flat, one vertex count per hyperplane.
    cut, cut_normals, cut_offsets : ndarray
        The layer's crossing neurons, their unit normals and offsets.
    next_cut : int
        The crossing hyperplane to insert next (``-1``: the layer is not started).
    force : int
        A decision made outside the kernel for ``cut[next_cut]``: 0 none, 1 split, 2 no split
        with bit 1, 3 no split with bit 0.
    """

    distances: np.ndarray
    cut: np.ndarray
    cut_normals: np.ndarray
    cut_offsets: np.ndarray
    next_cut: int
    force: int

    @classmethod
    def unstarted(cls, k: int) -> "VertexWalk":
        """The position of a cell whose layer has not started (dimension ``k``)."""
        return cls(distances=np.empty(0), cut=np.empty(0, np.int64), cut_normals=np.empty((0, k)),
                   cut_offsets=np.empty(0), next_cut=-1, force=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class VertexState:
    """The vertex algorithm's state of a cell (:attr:`~reluregions.tree.Cell.payload`).

    Attributes
    ----------
    V, inc : ndarray
        The cell's vertices and their tight-constraint bit sets (words of 64 bits).
    walk : VertexWalk or None
        Its position inside the layer (``None``: at the layer's start, as the root).
    below : Frontier or None
        The stack under this cell, when the item stands for a whole stopped traversal: the
        frontier it came from, whose cells ``1..`` (top first; cell 0 is this cell) are expanded
        after it, in the same compiled call. ``None``: the item is this cell alone.
    """

    V: np.ndarray
    inc: np.ndarray
    walk: VertexWalk | None = None
    below: Frontier | None = None

    def forced(self, force: int) -> "VertexState":
        """This state with the decision ``force`` for the walk's next cut."""
        return VertexState(V=self.V, inc=self.inc, walk=self.walk._replace(force=force),
                           below=self.below)


def empty_frontier(k: int, n_words: int, n_hidden: int, n_layers: int) -> Frontier:
    """A frontier of no cells, with the array types of a real one (the kernel's ``below`` for a
    cell that stands alone)."""
    f = np.empty((0, k))
    return Frontier(np.empty((0, 6), np.int64), f, np.empty((0, n_words), np.uint64), f,
                    np.empty(0), np.empty((0, n_hidden), np.bool_), f, np.empty(0), np.empty(0),
                    np.empty(0), np.empty(0, np.int64), f, np.empty(0),
                    np.empty((0, n_layers), np.int64))


def frontier_items(packed: Frontier) -> list[Cell]:
    """The frontier of a stopped traversal as one work item (none when it is empty): its top
    cell, carrying the cells under it (:attr:`VertexState.below`) when there are any."""
    n = len(packed.meta)
    if n == 0:
        return []
    return [_cells(packed, 0, 1, packed if n > 1 else None)[0]]


def open_cells(items: list[Cell], pieces: int | None = None) -> list[Cell]:
    """``items`` (in depth-first order, the next to expand first) with the items that stand for a
    stack split: into one item per cell (``pieces=None``), or, when there are fewer than
    ``pieces`` items, each into about ``pieces / len(items)`` items: its bottom cells one by one
    (the shallowest: each holds about as much work as the cells above it together) and the rest
    of its stack as one item, in the same order."""
    if pieces is not None and len(items) >= pieces:
        return items
    out: list[Cell] = []
    for cell in items:
        state = cell.payload
        if not isinstance(state, VertexState) or state.below is None:
            out.append(cell)
            continue
        n = len(state.below.meta)
        groups = n if pieces is None else min(n, -(-pieces // len(items)))
        # the bottom cells alone (each holds about as much work as all above it), the top
        # ones together
        ends = list(range(n - groups + 1, n + 1))
        for g, (a, b) in enumerate(zip([0] + ends[:-1], ends)):
            below = _slice(state.below, a, b) if b - a > 1 else None
            if g == 0:  # the item's own cell, as it stands (a decision made on it included)
                out.append(dataclasses.replace(cell, payload=dataclasses.replace(state,
                                                                                 below=below)))
            else:
                out += _cells(state.below, a, a + 1, below)
    return out


def _slice(packed: Frontier, a: int, b: int) -> Frontier:
    """Cells ``a..b - 1`` of a packed frontier, as a frontier (views)."""
    meta = packed.meta
    sizes = np.zeros((len(meta) + 1, 5), np.int64)
    sizes[1:, :4] = meta[:, :4]
    sizes[1:, 4] = np.where(meta[:, 5] >= 0, meta[:, 0] * (meta[:, 3] - meta[:, 5]), 0)
    (pa, ra, la, ca, sa), (pb, rb, lb, cb, sb) = np.cumsum(sizes, axis=0)[[a, b]].tolist()
    return Frontier(meta[a:b], packed.V[pa:pb], packed.inc[pa:pb], packed.G[ra:rb],
                    packed.h[ra:rb], packed.bits[a:b], packed.M[la:lb], packed.m[la:lb],
                    packed.scale[la:lb], packed.S[sa:sb], packed.cut[ca:cb], packed.acut[ca:cb],
                    packed.ocut[ca:cb], packed.ranks[a:b])


def _cells(packed: Frontier, start: int, stop: int, below: Frontier | None) -> list[Cell]:
    """Cells ``start..stop - 1`` of a packed frontier (top of the stack first), the first of
    them carrying ``below``."""
    meta, fV, fI, fG, fh, fB, fM, fm, fSc, fS, fCut, fAc, fOc, fR = packed
    cells = []
    ip = ir = il = ic = i_s = 0
    for i, (p, r, nl, nc, layer, q) in enumerate(meta[:stop].tolist()):
        ns = p * (nc - q) if q >= 0 else 0
        if i >= start:
            walk = VertexWalk(distances=fS[i_s:i_s + ns], cut=fCut[ic:ic + nc],
                              cut_normals=fAc[ic:ic + nc], cut_offsets=fOc[ic:ic + nc],
                              next_cut=q, force=0)
            V = fV[ip:ip + p]
            # its own centre: the mean of its vertices lies inside it; no ball is certified (0)
            cells.append(Cell(G=fG[ir:ir + r], h=fh[ir:ir + r], center=V.mean(axis=0),
                              radius=0.0, layer=layer, neuron=0, M=fM[il:il + nl],
                              m=fm[il:il + nl], scale=fSc[il:il + nl], bits=fB[i],
                              ranks=tuple(fR[i, :layer].tolist()),
                              payload=VertexState(V=V, inc=fI[ip:ip + p], walk=walk,
                                                  below=below if i == start else None)))
        ip, ir, il, ic, i_s = ip + p, ir + r, il + nl, ic + nc, i_s + ns
    return cells
