"""Certified inscribed balls of the high-dimensional engine's regions (issue 14).

A finished cell of :mod:`reluregions.enumeration.highd` carries only the cuts that split it and a
witness point inside it shrunk by the band of float decisions (``config.band``), or, for a thin
region, an exact settlement's point; hyperplanes that were proven to miss the cell (or settled
exactly) never became rows, yet one may pass close to the witness. The ball published with a region
(DESIGN.md §4: ``radius``, "a certified inscribed radius") is therefore measured against every
hidden neuron's hyperplane pulled back through the region's pattern, the cuts and the box: no
hyperplane crosses it, so every point in it has the region's pattern (the criterion of DESIGN.md
§1). A witness whose ball already clears the band comfortably is published as it is; others
are moved towards the analytic centre (:func:`~reluregions.geometry.centre.analytic_centre`),
the rare one still in the band gets one Chebyshev LP, and where that certifies no ball either the
exact oracle's point (strictly inside the region) is published.
"""
from __future__ import annotations

import numpy as np

from ..geometry.centre import analytic_centre
from ..geometry.rays import box_margin, box_rows
from .base import Cell, Context, Problem

__all__ = ["RegionBalls", "COMFORT", "NEAR"]

#: A witness whose certified ball is this many times the band is published as it is (the
#: ball is certified, possibly smaller than the region's Chebyshev ball); a smaller one is centred
#: first, and one still smaller after that gets a longer centring.
COMFORT = 100.0
#: How far (normalised coordinates) the centring looks for hyperplanes near the point.
NEAR = 1e-4
#: Layer maps whose row norms are kept.
NORMS_KEPT = 32


class RegionBalls:
    """The ball of each finished region, with the row norms of the layer maps it met last."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._norms_of: dict[int, tuple] = {}

    def __getstate__(self) -> Problem:  # the norms cache holds layer maps: never pickled
        return self.problem

    def __setstate__(self, problem: Problem) -> None:
        self.__init__(problem)

    def region_ball(self, cell: Cell, maps: tuple, ctx: Context) -> tuple[np.ndarray, float]:
        """A point well inside the region and the radius of a ball around it inside the region.

        The cell's rows hold only the cuts that split it; a hyperplane that was proven to miss the
        cell may still pass close to the witness. So the ball is measured against every
        hidden neuron's hyperplane pulled back through the region's pattern (``maps``), the
        domain's rows and the box: no hyperplane crosses it, so every point in it has the region's
        pattern. Hyperplanes near the witness join the rows while the point is moved towards the
        centre (:func:`~reluregions.geometry.centre.analytic_centre`).
        """
        tol = self.problem.config.band
        G, h, inner = cell.G, cell.h, 1.0 - tol
        if cell.radius < tol:  # a thin region's witness (an exact settlement's point): no centring
            return self._thin(cell, maps, (self.ball(G, h, maps, cell.center), cell.center), ctx)
        # Inside the shrunk cell the point is on the pattern's side of every hyperplane that is
        # not a row (each was proven to miss the cell), so moving it there is safe: a point
        # pulled away from the box's faces, or centred.
        comfort = COMFORT * tol
        best = (self.ball(G, h, maps, cell.center), cell.center)
        if best[0] >= comfort:  # the witness's ball already clears tol comfortably: no centring
            return best[1], best[0]
        w = cell.center
        for margin in (NEAR, 10 * comfort):  # a witness in a corner of the box: pull it out
            pulled = np.clip(w, margin - 1.0, 1.0 - margin)
            if G.shape[0] and np.any(G @ pulled > h - tol):
                continue  # left the shrunk cell: its ball would not be certified
            best = max(best, (self.ball(G, h, maps, pulled), pulled), key=lambda pair: pair[0])
            if best[0] >= comfort:
                return best[1], best[0]
        for limit, steps in ((max(4 * best[0], NEAR), 6), (100 * NEAR, 40)):
            rows, rhs = self.hyperplanes(maps, w, limit)
            w = analytic_centre(np.vstack([G, rows]), np.concatenate([h - tol, rhs]), w, inner,
                                steps=steps)
            best = max(best, (self.ball(G, h, maps, w), w), key=lambda pair: pair[0])
            if best[0] >= comfort:  # a second, longer centring only for a point still in a corner
                break
        return self._thin(cell, maps, best, ctx)

    def _thin(self, cell: Cell, maps: tuple, best: tuple, ctx: Context) -> tuple[np.ndarray, float]:
        """``best`` (radius, point) as the published ball, or, when its radius does not clear
        tol, the Chebyshev ball of the rows and the hyperplanes near it (one LP); when that is not
        certified above 0 either, the point of an exact settlement (DESIGN.md §1), so that every
        published point is strictly inside its region."""
        if best[0] > self.problem.config.band:
            return best[1], best[0]
        G, h = cell.G, cell.h
        rows, rhs = self.hyperplanes(maps, best[1], 100 * NEAR)
        p = self.problem.param
        box = box_rows(p.G, p.h)
        full_G = np.vstack([p.G[box], G, rows])
        full_h = np.concatenate([p.h[box], h, rhs])
        centre, _ = ctx.solver.chebyshev(full_G, full_h, np.linalg.norm(full_G, axis=1))
        ctx.stats.lps += 1
        best = max(best, (self.ball(G, h, maps, centre), centre), key=lambda pair: pair[0])
        if best[0] <= 0:
            widths = self.problem.network.hidden_widths
            found = ctx.settle(self.problem, cell.bits, cell.layer,
                               np.ones(widths[cell.layer], dtype=bool))
            if found is not None:
                best = (found.radius, found.point)
        return best[1], best[0]

    def ball(self, G: np.ndarray, h: np.ndarray, maps: tuple, w: np.ndarray) -> float:
        """Radius of the largest ball around ``w`` that no hyperplane of the region and no row or
        box face crosses."""
        margin = box_margin(G, h, w)
        for M, m in maps:
            norms = self.row_norms(M)
            live = norms > 0
            if live.any():
                margin = min(margin, float(np.min(np.abs(M @ w + m)[live] / norms[live])))
        return margin

    def hyperplanes(self, maps: tuple, w: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """The hidden neurons' hyperplanes nearer than ``limit`` to ``w``, as rows ``w`` satisfies."""
        rows, rhs = [], []
        for M, m in maps:
            norms = self.row_norms(M)
            z = M @ w + m
            with np.errstate(divide="ignore", invalid="ignore"):
                dist = np.abs(z) / norms
            near = np.flatnonzero((norms > 0) & (dist < limit))
            if near.size:
                sgn = np.where(z[near] >= 0, 1.0, -1.0)
                rows.append(-(sgn / norms[near])[:, None] * M[near])
                rhs.append(sgn * m[near] / norms[near])
        if not rows:
            return np.zeros((0, w.size)), np.zeros(0)
        return np.vstack(rows), np.concatenate(rhs)

    def row_norms(self, M: np.ndarray) -> np.ndarray:
        """Row norms of a layer map, kept for the map the cells of a subtree share."""
        cached = self._norms_of.get(id(M))  # the entry holds M, so its id is not reused
        if cached is None:
            if len(self._norms_of) >= NORMS_KEPT:
                self._norms_of.clear()
            cached = self._norms_of[id(M)] = (M, np.linalg.norm(M, axis=1))
        return cached[1]
