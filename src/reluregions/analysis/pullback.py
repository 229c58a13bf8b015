"""A region's geometry re-derived from its pattern and the network, independently of the enumerator.

Implements the pull-back of Drammis et al. 2024, §3 (the maps of Alg. 1) from scratch for the
analysis tools: with ``h_0 = x0 + U t`` (the domain's parametrisation) and, layer by layer,
``z_l = W_l h_{l-1} + b_l = M_l t + m_l`` and ``h_l = D_l z_l`` (``D_l`` = the pattern's bits, or the
leaky slope for inactive neurons), the region of a pattern is

* the domain ``G t <= h``, and
* one half-space per neuron: ``-M_l[j] t <= m_l[j]`` for an active bit, ``M_l[j] t <= -m_l[j]`` for
  an inactive one.

A neuron whose row ``M_l[j]`` is at most ``zero_tol`` times its scale is constant on the region
(DESIGN.md §1) and gives no half-space; its bit must then equal ``m_l[j] > tol`` (a neuron
identically zero has bit 0). A pattern that breaks this describes no region ("inconsistent").

Everything here works in the parameter coordinates ``t`` (the domain mapped into ``[-1, 1]^k``),
where radii and the tolerances of :class:`~reluregions.config.EnumerationConfig` are measured.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..domains import Parametrization
from ..network import Network

__all__ = ["PatternGeometry", "pattern_geometry", "pattern_rows", "NeuronRows", "LayerMaps",
           "PullbackCache", "batch_maps", "point_patterns"]


def _apply(W: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``W @ A[i]`` for every ``i`` of a stack ``A`` (n, p, k), as one matrix product."""
    n, p, k = A.shape
    flat = np.ascontiguousarray(np.moveaxis(A, 0, 1)).reshape(p, n * k)
    return np.moveaxis((W @ flat).reshape(W.shape[0], n, k), 1, 0)


@dataclass
class PatternGeometry:
    """The half-spaces, maps and ranks of one pattern, in parameter coordinates.

    Attributes
    ----------
    G, h : ndarray
        All constraints ``G t <= h`` (rows of unit norm): the domain's first, then one per
        non-constant neuron, in pattern order.
    neuron : ndarray of int
        Pattern bit of each row of ``G`` (-1 for the domain's rows).
    consistent : bool
        False when a constant neuron's bit contradicts its constant sign.
    bad_bits : ndarray of int
        The bits that make the pattern inconsistent.
    ranks : tuple of int
        Rank of the map ``t -> h_l`` for every hidden layer.
    A, c : ndarray
        The output map ``f = A t + c`` on the region.
    """

    G: np.ndarray
    h: np.ndarray
    neuron: np.ndarray
    consistent: bool
    bad_bits: np.ndarray
    ranks: tuple[int, ...]
    A: np.ndarray
    c: np.ndarray


@dataclass(frozen=True)
class LayerMaps:
    """One hidden layer's pre-activation maps on a region, given the bits of the layers before it.

    ``M t + m`` are the pre-activations; ``const`` marks the neurons constant on the region (row
    at most ``tol``); ``unit``/``unit_m`` are the live rows and offsets divided by the row norms,
    ``unit_l1``/``unit_norm`` their 1- and 2-norms (independent of the pattern's signs).
    """

    M: np.ndarray
    m: np.ndarray
    tol: np.ndarray
    const: np.ndarray
    live: np.ndarray
    unit: np.ndarray
    unit_m: np.ndarray
    unit_l1: np.ndarray
    unit_norm: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held."""
        return int(self.M.nbytes + self.unit.nbytes + 8 * (5 * len(self.m)))


def _layer_maps(W: np.ndarray, b: np.ndarray, A: np.ndarray, c: np.ndarray, absA: np.ndarray,
                zero_tol: float) -> LayerMaps:
    M = W @ A
    m = W @ c + b
    scale = np.abs(W) @ absA + np.abs(b)
    tol = zero_tol * np.maximum(scale, 1e-300)
    norms = np.linalg.norm(M, axis=1) if M.size else np.zeros(len(m))
    const = norms <= tol
    live = np.flatnonzero(~const)
    unit = M[live] / norms[live, None]
    return LayerMaps(M, m, tol, const, live, unit, m[live] / norms[live],
                     np.abs(unit).sum(axis=1), np.linalg.norm(unit, axis=1))


def _next_state(maps: LayerMaps, layer_bits: np.ndarray,
                slope: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, c, absA)`` of the map to the layer's outputs (``h = D z``)."""
    d = np.where(layer_bits, 1.0, slope)
    A, c = d[:, None] * maps.M, d * maps.m
    return A, c, np.abs(A).sum(axis=1) + np.abs(c)


class PullbackCache:
    """The layer maps of :func:`pattern_geometry`, kept per prefix of the pattern (LRU).

    Layer ``l``'s maps depend only on the bits of the layers before it, so patterns that share a
    prefix share them: on a 784-input box the first layer's map alone is a 256 x 784 x 784 product,
    computed here once per worker. The values are the very arrays :func:`pattern_geometry`
    computes without a cache (bit for bit). Memory is bounded by ``max_bytes`` (the first layer's
    entry is always kept).
    """

    def __init__(self, network: Network, param: Parametrization, zero_tol: float = 1e-9,
                 max_bytes: int = 192 << 20) -> None:
        self.network, self.param, self.zero_tol = network, param, zero_tol
        self.offsets = np.concatenate([[0], np.cumsum(network.hidden_widths)]).astype(np.int64)
        self.max_bytes = int(max_bytes)
        self._store: OrderedDict[tuple[int, bytes], LayerMaps] = OrderedDict()
        self._bytes = 0
        self._first: LayerMaps | None = None

    def maps(self, layer: int, bits: np.ndarray) -> LayerMaps:
        """Layer ``layer``'s maps for a pattern whose earlier layers' bits are ``bits``'s."""
        W, b = self.network.weights[layer], self.network.biases[layer]
        if layer == 0:
            if self._first is None:
                p = self.param
                self._first = _layer_maps(W, b, p.U, p.x0, np.abs(p.U).sum(axis=1) + np.abs(p.x0),
                                          self.zero_tol)
            return self._first
        lo, hi = int(self.offsets[layer - 1]), int(self.offsets[layer])
        key = (layer, np.packbits(bits[:hi]).tobytes())
        hit = self._store.get(key)
        if hit is not None:
            self._store.move_to_end(key)
            return hit
        prev = self.maps(layer - 1, bits)
        entry = _layer_maps(W, b, *_next_state(prev, bits[lo:hi], self.network.negative_slope),
                            self.zero_tol)
        self._store[key] = entry
        self._bytes += entry.nbytes
        while self._bytes > self.max_bytes and len(self._store) > 1:
            self._bytes -= self._store.popitem(last=False)[1].nbytes
        return entry


def _walk(network: Network, param: Parametrization, bits: np.ndarray, zero_tol: float,
          cache: PullbackCache | None):
    """Yield ``(offset, layer_bits, maps)`` layer by layer (from ``cache`` when given)."""
    A, c = param.U, param.x0
    absA = np.abs(A).sum(axis=1) + np.abs(c)
    offset = 0
    for layer, (W, b) in enumerate(zip(network.weights[:-1], network.biases[:-1])):
        maps = cache.maps(layer, bits) if cache is not None else _layer_maps(W, b, A, c, absA,
                                                                             zero_tol)
        layer_bits = bits[offset:offset + len(maps.m)]
        yield offset, layer_bits, maps
        if cache is None:
            A, c, absA = _next_state(maps, layer_bits, network.negative_slope)
        offset += len(maps.m)


def pattern_geometry(network: Network, param: Parametrization, bits: np.ndarray,
                     zero_tol: float = 1e-9, ranks: bool = True,
                     cache: PullbackCache | None = None) -> PatternGeometry:
    """Pull a pattern back through the network (see the module notes).

    Parameters
    ----------
    network : Network
    param : Parametrization
        The domain's parametrisation ``x = x0 + U t``, ``G t <= h``.
    bits : ndarray of bool, shape (n_hidden,)
    zero_tol : float
        Relative tolerance below which a neuron's row counts as zero (the file's ``zero_tol``).
    ranks : bool
        Compute the rank of every layer's map (one SVD per layer); -1 when False.
    cache : PullbackCache, optional
        Layer maps shared between patterns with a common prefix (the same values).
    """
    bits = np.asarray(bits, dtype=bool).reshape(-1)
    rows = pattern_rows(network, param, bits, zero_tol, cache)
    slope = network.negative_slope
    rank_list: list[int] = []
    A, c = param.U, param.x0
    for _, layer_bits, maps in _walk(network, param, bits, zero_tol, cache):
        A, c, _ = _next_state(maps, layer_bits, slope)
        rank_list.append((int(np.linalg.matrix_rank(A)) if A.size else 0) if ranks else -1)
    Wo, bo = network.weights[-1], network.biases[-1]
    return PatternGeometry(np.vstack([param.G, rows.G]), np.concatenate([param.h, rows.h]),
                           np.concatenate([np.full(len(param.h), -1), rows.neuron]).astype(np.int64),
                           rows.consistent, rows.bad_bits, tuple(rank_list), Wo @ A, Wo @ c + bo)


@dataclass
class NeuronRows:
    """The half-spaces a pattern's non-constant neurons cut (unit rows ``G t <= h``, pattern
    order), without the domain's; ``consistent``/``bad_bits`` as in :class:`PatternGeometry`."""

    G: np.ndarray
    h: np.ndarray
    neuron: np.ndarray
    consistent: bool
    bad_bits: np.ndarray


def pattern_rows(network: Network, param: Parametrization, bits: np.ndarray,
                 zero_tol: float = 1e-9, cache: PullbackCache | None = None) -> NeuronRows:
    """The neurons' half-spaces of :func:`pattern_geometry` (the same arrays), without the domain's
    rows or the maps."""
    bits = np.asarray(bits, dtype=bool).reshape(-1)
    rows, rhs, owner, bad = [], [], [], []
    for offset, layer_bits, maps in _walk(network, param, bits, zero_tol, cache):
        wrong = maps.const & (layer_bits != (maps.m > maps.tol))
        bad.append(offset + np.flatnonzero(wrong))
        sign = np.where(layer_bits[maps.live], -1.0, 1.0)
        rows.append(sign[:, None] * maps.unit)
        rhs.append(-sign * maps.unit_m)
        owner.append(offset + maps.live)
    k = param.dim
    bad_bits = np.concatenate(bad).astype(np.int64) if bad else np.zeros(0, np.int64)
    return NeuronRows(np.vstack(rows) if rows else np.zeros((0, k)),
                      np.concatenate(rhs) if rhs else np.zeros(0),
                      np.concatenate(owner).astype(np.int64) if owner else np.zeros(0, np.int64),
                      bad_bits.size == 0, bad_bits)


def batch_maps(network: Network, param: Parametrization,
               bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output maps and per-layer ranks of many patterns at once.

    Returns
    -------
    A : ndarray, shape (n, n_out, k)
    c : ndarray, shape (n, n_out)
        The output map ``f = A t + c`` of each pattern (parameter coordinates).
    ranks : ndarray of int64, shape (n, L)
    """
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[0]
    A = np.broadcast_to(param.U, (n, *param.U.shape))
    c = np.broadcast_to(param.x0, (n, param.x0.size))
    ranks = np.zeros((n, len(network.hidden_widths)), dtype=np.int64)
    offset = 0
    slope = network.negative_slope
    for i, (W, b) in enumerate(zip(network.weights[:-1], network.biases[:-1])):
        w = W.shape[0]
        d = np.where(bits[:, offset:offset + w], 1.0, slope)
        A = d[:, :, None] * _apply(W, A)
        c = d * (c @ W.T + b)
        if A.shape[2]:
            ranks[:, i] = np.linalg.matrix_rank(A)
        offset += w
    Wo, bo = network.weights[-1], network.biases[-1]
    return _apply(Wo, A), c @ Wo.T + bo, ranks


def point_patterns(network: Network, param: Parametrization, t: np.ndarray,
                   zero_tol: float = 1e-9, margin: float = 1e-9,
                   cache: PullbackCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Patterns of parameter points ``t`` (n, k), and which of their bits are certain.

    A bit is certain when its pre-activation at the point clears ``margin`` times its scale
    (:meth:`Network.pattern_margin`'s band), or when the neuron is identically zero on the point's
    region (its pulled-back row and offset both below ``zero_tol`` times their scale): such a
    neuron's bit is 0 whatever the sign of the rounded pre-activation (DESIGN.md §1).

    With a ``cache`` the maps come from it, once per distinct prefix of the points' patterns,
    instead of one map per point (``n`` products of ``W`` with a ``d x k`` map: at 784 inputs a
    gigaflop per point).
    """
    if cache is not None:
        return _point_patterns_cached(network, param, t, margin, cache)
    t = np.atleast_2d(np.asarray(t, dtype=np.float64))
    n = t.shape[0]
    x = param.to_input(t)
    A = np.broadcast_to(param.U, (n, *param.U.shape))
    c = np.broadcast_to(param.x0, (n, param.x0.size))
    absA = np.abs(A).sum(axis=2) + np.abs(c)
    h = x
    slope = network.negative_slope
    out_bits, out_sure = [], []
    for W, b in zip(network.weights[:-1], network.biases[:-1]):
        z = h @ W.T + b
        point_scale = np.abs(h) @ np.abs(W).T + np.abs(b)
        M = _apply(W, A)
        m = c @ W.T + b
        map_scale = absA @ np.abs(W).T + np.abs(b)
        tol = zero_tol * np.maximum(map_scale, 1e-300)
        zero = (np.linalg.norm(M, axis=2) <= tol) & (np.abs(m) <= tol)
        bit = (z > 0) & ~zero
        sure = zero | (np.abs(z) > margin * np.maximum(point_scale, 1e-300))
        out_bits.append(bit)
        out_sure.append(sure)
        d = np.where(bit, 1.0, slope)
        A = d[:, :, None] * M
        c = d * m
        absA = np.abs(A).sum(axis=2) + np.abs(c)
        h = np.where(bit, z, slope * z)
    if not out_bits:
        return np.zeros((n, 0), bool), np.zeros((n, 0), bool)
    return np.concatenate(out_bits, axis=1), np.concatenate(out_sure, axis=1)


def _point_patterns_cached(network: Network, param: Parametrization, t: np.ndarray, margin: float,
                           cache: PullbackCache) -> tuple[np.ndarray, np.ndarray]:
    """:func:`point_patterns` with the identically-zero test read from the cached layer maps."""
    t = np.atleast_2d(np.asarray(t, dtype=np.float64))
    h = param.to_input(t)
    slope = network.negative_slope
    out_bits, out_sure = [], []
    for layer, (W, b) in enumerate(zip(network.weights[:-1], network.biases[:-1])):
        z = h @ W.T + b
        point_scale = np.abs(h) @ np.abs(W).T + np.abs(b)
        before = np.concatenate(out_bits, axis=1) if out_bits else np.zeros((len(t), 0), bool)
        zero = np.zeros(z.shape, bool)
        keys = np.packbits(before, axis=1) if before.shape[1] else np.zeros((len(t), 1), np.uint8)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        for u, i in enumerate(first):
            maps = cache.maps(layer, before[i])
            zero[inverse.reshape(-1) == u] = maps.const & (np.abs(maps.m) <= maps.tol)
        bit = (z > 0) & ~zero
        out_bits.append(bit)
        out_sure.append(zero | (np.abs(z) > margin * np.maximum(point_scale, 1e-300)))
        h = np.where(bit, z, slope * z)
    if not out_bits:
        return np.zeros((len(t), 0), bool), np.zeros((len(t), 0), bool)
    return np.concatenate(out_bits, axis=1), np.concatenate(out_sure, axis=1)
