"""The known points of one pass of the high-dimensional engine over a layer (issue 14).

Points found inside a cell shrunk by ``tol`` (its witness, both sides' witnesses of every
hyperplane that crossed it, points near each LP's optimum) decide later hyperplanes of the pass
with no ray and no LP: one on each side is a crossing (:mod:`.highd`). The pool is asked once per
tested neuron, so it is kept as rows of one growing matrix rather than rebuilt from a list each time.
"""
from __future__ import annotations

import numpy as np

__all__ = ["PointPool"]


class PointPool:
    """Points of ``R^k`` as the rows of a matrix that grows by doubling."""

    def __init__(self, k: int, points=()) -> None:
        self._rows = np.empty((max(8, 2 * len(points)), k))
        self.size = 0
        for q in points:
            self.add(q)

    def add(self, q: np.ndarray) -> None:
        """Append one point."""
        if self.size == self._rows.shape[0]:
            self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
        self._rows[self.size] = q
        self.size += 1

    def keep(self, mask: np.ndarray) -> None:
        """Keep the points where ``mask`` (one entry per point) is true, in order."""
        kept = self._rows[:self.size][mask]
        self.size = kept.shape[0]
        self._rows[:self.size] = kept

    @property
    def points(self) -> np.ndarray:
        """The points, one per row (a view: valid until the pool changes)."""
        return self._rows[:self.size]
