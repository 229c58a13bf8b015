"""Layer maps of the high-dimensional engine, rebuilt from the activation pattern (issue 14).

On a cell of layer ``l`` the pre-activation map ``z = M_l t + m_l`` is a function of the bits of
the layers before ``l`` alone (the pull-back of Drammis et al. 2024, §3, Alg. 1:
``M_{l+1} = W_{l+1} D_l M_l``). At 784 inputs one such map is 1.6 MB, against a few kilobytes for
the rest of an open cell (its cuts, witness and bits), so cells that leave an expansion travel
without their maps (:func:`detach`) and get them back in whichever process expands them next
(:meth:`LayerMaps.attach`): an open cell costs ``O(depth · k)`` memory, as DESIGN.md §2 asks.

Siblings share the bits of the earlier layers, so each process keeps the maps of the patterns it
met last in a small cache: a cell whose map is there gets it for the price of a dictionary look-up,
any other for one matrix product per layer.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .base import Cell, Problem
from .layers import _layer_map

__all__ = ["LayerMaps", "LayerTodo", "detach", "MAP_CACHE"]

#: Pattern prefixes whose layer maps a process keeps (at 784 inputs and 256 neurons: 1.6 MB each).
MAP_CACHE = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerTodo:
    """Where a cell stands in its layer, and the maps of the layers before it: the
    high-dimensional engine's state of a cell (:attr:`~reluregions.tree.Cell.payload`).

    Attributes
    ----------
    neurons : ndarray or None
        The neurons that bounds could not decide, in insertion order: ``neurons[cell.neuron:]``
        are still to insert, the bits of every other neuron of the layer are fixed. ``None`` until
        the layer has been screened.
    maps : tuple of (ndarray, ndarray) or None
        ``(M, m)`` of each earlier layer on this cell (shared with its siblings, never copied): the
        region's last step measures its ball against every hidden neuron's hyperplane. ``None``
        while the cell is detached (between expansions, :func:`~.highd_maps.detach`): its maps
        are rebuilt from its bits where it is expanded next.
    points : ndarray or None
        Points inside the cell shrunk by tol that the parent's tests found (witnesses of both
        sides of the hyperplanes that crossed it): a hyperplane with one of them on each side
        crosses this cell too, with no ray and no LP.
    """

    neurons: np.ndarray | None
    maps: tuple = ()
    points: np.ndarray | None = None


def detach(cell: Cell, state_type) -> None:
    """Drop ``cell``'s layer maps (rebuilt by :meth:`LayerMaps.attach`); keep its cuts and witness.

    ``state_type`` is the engine's per-cell state class; its ``maps`` field becomes ``None``.
    """
    cell.M = cell.m = cell.scale = None
    state = cell.payload
    if state is None:
        cell.payload = state_type(neurons=None, maps=None, points=None)
    else:
        cell.payload = state_type(neurons=state.neurons, maps=None, points=state.points)


class LayerMaps:
    """Per-process cache of the maps ``((M_0, m_0), …, (M_l, m_l))`` and scales, keyed by bits.

    Thread-safe: the worker threads of one process share it (their algorithm copies are shallow).
    """

    def __init__(self, problem: Problem, size: int = MAP_CACHE) -> None:
        self.problem = problem
        self.size = size
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple] = OrderedDict()
        p = problem.param
        M, m, scale = _layer_map(problem, 0, p.U, p.x0, np.abs(p.U).sum(axis=1) + np.abs(p.x0))
        self._root = ((), M, m, scale)

    def __getstate__(self) -> tuple:  # a worker process starts with an empty cache of its own
        return (self.problem, self.size)

    def __setstate__(self, state: tuple) -> None:
        self.__init__(*state)

    def root(self) -> tuple:
        """``(earlier maps, M, m, scale)`` of the first layer (the same for every cell)."""
        return self._root

    def _key(self, bits: np.ndarray, layer: int) -> bytes:
        return np.packbits(bits[:self.problem.offsets[layer]]).tobytes() + bytes([layer])

    def remember(self, cell: Cell, maps: tuple) -> None:
        """Keep the maps of a cell that has just entered its layer (``maps``: the earlier ones)."""
        if cell.layer:
            self._put(self._key(cell.bits, cell.layer), (maps, cell.M, cell.m, cell.scale))

    def attach(self, cell: Cell) -> tuple:
        """Give a detached ``cell`` its layer's map and scale back; returns the earlier maps."""
        maps, cell.M, cell.m, cell.scale = self.entry(cell.bits, cell.layer)
        return maps

    def entry(self, bits: np.ndarray, layer: int) -> tuple:
        """``(earlier maps, M, m, scale)`` of ``layer`` on cells with these earlier bits."""
        if layer == 0:
            return self._root
        key = self._key(bits, layer)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        self.misses += 1
        maps, M, m, _ = self.entry(bits, layer - 1)
        problem = self.problem
        off = problem.offsets
        # the same operations as finish_layer, so the map is the one the parent had, bit for bit
        d = np.where(bits[off[layer - 1]:off[layer]], 1.0, problem.network.negative_slope)
        A = d[:, None] * M
        c = d * m
        M2, m2, scale = _layer_map(problem, layer, A, c, np.abs(A).sum(axis=1) + np.abs(c))
        found = (maps + ((M, m),), M2, m2, scale)
        self._put(key, found)
        return found

    def _put(self, key: bytes, value: tuple) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
