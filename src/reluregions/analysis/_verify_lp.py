"""The LPs of ``verify`` (its ``regions`` and ``disjoint`` checks), per worker process.

Every region is rebuilt from its pattern alone (:mod:`.pullback`, with the layer maps shared by
patterns with a common prefix, :class:`~.pullback.PullbackCache`); nothing comes from the
enumerator. Two paths decide "this pattern's polytope holds a ball of radius above the band"
(DESIGN.md §1):

``"auto"`` (the default)
    On a bounded domain, the Chebyshev LP by the compiled dual simplex with the box as column
    bounds (:func:`reluregions.geometry.inball.box_chebyshev`): up to :data:`MAX_VOLUME_DIM`
    coordinates the full LP (its centre serves the volume check), above that the form with the box
    shrunk by :data:`SHRINK` and only the rows that can reach it. A pattern passes when the
    distance from the LP's point to every row and facet, bounded rigorously
    (:func:`~reluregions.geometry.inball.certified_radius`), clears the band; anything else goes
    to HiGHS as on the ``"highs"`` path, and from there inside the band to the exact decision.
    For two rows whose patterns differ in one bit, the neuron of that bit cuts both with the same
    row and opposite signs when it is not constant on them (the bits before its layer are the
    same): the two closed regions lie on opposite sides of one hyperplane, so their intersection
    has no interior (the two rows add up to ``2 |g| r <= 0``: a dual certificate of radius 0).
    Pairs whose neuron is constant get the LP.
``"highs"``
    One HiGHS Chebyshev LP over the domain's rows and the pattern's (the ``2k`` facets of a box
    included), per region and per pair: the reference the tests compare the default with.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..config import EnumerationConfig
from ..geometry.inball import box_chebyshev, certified_radius
from ..geometry.polytope import volume_t
from .geometry import GeometryWorker, volume_scale

__all__ = ["VerifyWorker", "LP_PATHS", "MAX_VOLUME_DIM", "SHRINK"]

LP_PATHS = ("auto", "highs")
MAX_VOLUME_DIM = 6
#: How far the shrunk box of the high-dimensional LP stays inside the domain (normalised
#: coordinates): a thousand times the default band, so a certified radius clears it easily.
SHRINK = 1e-5
_EPS = 2.0 ** -52


class VerifyWorker(GeometryWorker):
    """Per-process verification work: solidity, constant-neuron consistency, volume, overlaps."""

    def __init__(self, network: Any, param: Any, n_hidden: int, zero_tol: float,
                 radius_tol: float, lp: str = "auto") -> None:
        super().__init__(network, param, n_hidden, zero_tol, radius_tol)
        self.lp = lp
        self.band = EnumerationConfig(radius_tol=radius_tol).band
        k = param.dim
        self.is_box = bool(param.bounded and param.G.shape == (2 * k, k)
                           and np.array_equal(param.G, np.vstack([np.eye(k), -np.eye(k)]))
                           and np.array_equal(param.h, np.ones(2 * k)))
        self.compiled = lp == "auto" and param.bounded and k > 0
        self.full = k <= MAX_VOLUME_DIM
        if self.compiled:  # load the compiled simplex now, not in the first chunk's time
            box_chebyshev(np.ones((1, 1)), np.ones(1), -np.ones(1), np.ones(1), 0.0, 1.0)
        self.lp_rows = 0  # rows of the compiled LPs solved, and how many
        self.lp_count = 0
        self.fallbacks = 0

    # ------------------------------------------------------------------ one region
    def _bad_bit(self, bits: np.ndarray) -> int:
        off = self.offsets
        for layer in range(len(off) - 1):
            maps = self.cache.maps(layer, bits)
            lb = bits[off[layer]:off[layer + 1]]
            wrong = np.flatnonzero(maps.const & (lb != (maps.m > maps.tol)))
            if wrong.size:
                return int(off[layer] + wrong[0])
        return -1

    def _compiled(self, bits: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The compiled LP's point and its certified radius (None when the LP failed)."""
        k, off = self.param.dim, self.offsets
        shrink, cap = (0.0, 1.0) if self.full else (SHRINK, SHRINK)
        reach_scale = 1.0 - shrink
        parts = []  # (unit rows, signs, rhs, l1, norms) per layer
        for layer in range(len(off) - 1):
            maps = self.cache.maps(layer, bits)
            sign = np.where(bits[off[layer]:off[layer + 1]][maps.live], -1.0, 1.0)
            parts.append((maps.unit, sign, -sign * maps.unit_m, maps.unit_l1, maps.unit_norm))
        dom = () if (self.is_box and not self.full) else ((self.param.G, None, self.param.h,
                                                          None, None),)
        keep_rows, keep_h, keep_n, keep_reach = [], [], [], []
        for G, sign, h, l1, nrm in (*dom, *parts):
            l1 = np.abs(G).sum(axis=1) if l1 is None else l1
            nrm = np.linalg.norm(G, axis=1) if nrm is None else nrm
            reach = reach_scale * l1
            sel = np.flatnonzero(reach + nrm * cap > h)
            keep_rows.append(G[sel] if sign is None else sign[sel, None] * G[sel])
            keep_h.append(h[sel])
            keep_n.append(nrm[sel])
            keep_reach.append(reach[sel])
        rows = np.vstack(keep_rows)
        self.lp_rows += rows.shape[0]
        self.lp_count += 1
        one = np.ones(k)
        got = box_chebyshev(rows, np.concatenate(keep_h), -one, one, shrink, cap,
                            norms=np.concatenate(keep_n), reach=np.concatenate(keep_reach))
        if got is None:
            return None
        t = got[0]
        radius = min(certified_radius(G, h, t, l1, nrm, sign) for G, sign, h, l1, nrm in parts
                     if len(h)) if any(len(p[2]) for p in parts) else np.inf
        if self.is_box:
            radius = min(radius, float(np.min(1.0 - np.abs(t))) * (1 - 4 * _EPS))
        else:
            radius = min(radius, certified_radius(self.param.G, self.param.h, t))
        return radius, t

    def solid(self, bits: np.ndarray) -> tuple[float, int, np.ndarray | None]:
        """``(radius, bad bit or -1, centre)``: a Chebyshev radius (certified when above the band
        on the compiled path; -inf when a constant neuron contradicts its bit)."""
        bad = self._bad_bit(bits)
        if bad >= 0:
            return -np.inf, bad, None
        if self.compiled:
            got = self._compiled(bits)
            if got is not None and got[0] > self.band:
                return got[0], -1, got[1]
        self.fallbacks += 1
        g = self.geometry(bits)
        center, radius = self.solver.chebyshev(g.G, g.h)
        return radius, -1, center

    def rows(self, chunk: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """Per row: Chebyshev radius (-inf if inconsistent), first bad bit (-1), volume (NaN if
        k > 6); and the LP statistics of the chunk."""
        rows, packed, _ = chunk
        bits = self._bits(packed)
        k, scale = self.param.dim, volume_scale(self.param)
        radii = np.empty(len(rows))
        bad = np.full(len(rows), -1, dtype=np.int64)
        vols = np.full(len(rows), np.nan)
        before = (self.lp_rows, self.lp_count, self.fallbacks, time.perf_counter())
        for i in range(len(rows)):
            radii[i], bad[i], center = self.solid(bits[i])
            if bad[i] < 0 and k <= MAX_VOLUME_DIM and self.param.bounded:
                g = self.geometry(bits[i])
                vols[i] = volume_t(g.G, g.h, center) * scale if radii[i] > 0 else 0.0
        stats = {"lp_rows": self.lp_rows - before[0], "lps": self.lp_count - before[1],
                 "highs": self.fallbacks - before[2], "seconds": time.perf_counter() - before[3]}
        return radii, bad, vols, stats

    # ------------------------------------------------------------------ pairs
    def _opposite(self, ba: np.ndarray, bb: np.ndarray, bit: int) -> bool:
        """Whether neuron ``bit`` cuts both patterns with one row, opposite signs (see notes)."""
        layer = int(self.layer_of[bit])
        start = int(self.offsets[layer])
        if ba[bit] == bb[bit] or not np.array_equal(ba[:start], bb[:start]):
            return False
        return not bool(self.cache.maps(layer, ba).const[bit - start])

    def overlap(self, chunk: tuple) -> tuple[np.ndarray, dict]:
        """For pairs: Chebyshev radius of the intersection of both closed regions (0 where the
        opposite rows prove it is at most 0); and how many needed an LP."""
        pairs, packed_a, packed_b = chunk
        ba, bb = self._bits(packed_a), self._bits(packed_b)
        out = np.empty(len(pairs))
        lps, start = 0, time.perf_counter()
        for i in range(len(pairs)):
            if self.lp == "auto" and self._opposite(ba[i], bb[i], int(pairs[i][2])):
                out[i] = 0.0
                continue
            ga, gb = self.geometry(ba[i]), self.geometry(bb[i])
            out[i] = self.solver.chebyshev(np.vstack([ga.G, gb.G]), np.concatenate([ga.h, gb.h]))[1]
            lps += 1
        return out, {"lps": lps, "seconds": time.perf_counter() - start}
