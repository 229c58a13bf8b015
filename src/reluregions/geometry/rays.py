"""Rays, segments and margins in a polytope cut from the box ``[-1, 1]^k``, without an LP.

The pieces of the high-dimensional engine (issue 14) that need only the rows of a cell and the
box: how far a ray goes before it leaves the cell shrunk by a margin, the point of a segment where
a linear function reaches a value, the largest ball around a point, and which rows of a domain
are faces of the box (those become the LPs' column bounds).
"""
from __future__ import annotations

import numpy as np

from .kernels import njit

__all__ = ["exit_step", "towards", "box_margin", "box_rows"]


def exit_step(G: np.ndarray, h: np.ndarray, w: np.ndarray, d: np.ndarray, shrink: float) -> float:
    """Largest ``λ >= 0`` with ``w + λ d`` in ``{G t <= h - shrink, |t_i| <= 1 - shrink}``.

    ``G``'s rows have unit norm, so lowering every right-hand side by ``shrink`` is shrinking the
    cell by a ball of that radius. ``inf`` when the ray never leaves. A ratio test in compiled
    code: the engine makes several per region, each over a few dozen rows of hundreds of
    coordinates, where numpy's per-call overhead was most of the cost.
    """
    return _exit_step(np.ascontiguousarray(G, dtype=np.float64), np.asarray(h, dtype=np.float64),
                      np.asarray(w, dtype=np.float64), np.asarray(d, dtype=np.float64),
                      float(shrink))


@njit(cache=True, nogil=True)
def _exit_step(G, h, w, d, shrink):
    exit_ = np.inf
    for i in range(w.shape[0]):
        if d[i] > 0.0:
            exit_ = min(exit_, (1.0 - shrink - w[i]) / d[i])
        elif d[i] < 0.0:
            exit_ = min(exit_, (-1.0 + shrink - w[i]) / d[i])
    for c in range(G.shape[0]):
        gd = 0.0
        gw = 0.0
        for i in range(w.shape[0]):
            gd += G[c, i] * d[i]
            gw += G[c, i] * w[i]
        if gd > 0.0:
            exit_ = min(exit_, (h[c] - shrink - gw) / gd)
    return max(exit_, 0.0)


def towards(w: np.ndarray, x: np.ndarray, row: np.ndarray, target: float) -> np.ndarray:
    """The point of the segment from ``w`` to ``x`` where ``row @ t`` equals ``target``.

    With ``w`` inside a convex set and ``x`` on its boundary, every point of the segment but ``x``
    is inside too; ``target`` must lie strictly between the two values of ``row``.
    """
    rw, rx = float(row @ w), float(row @ x)
    mu = (rw - target) / (rw - rx)
    return w + mu * (x - w)


def box_margin(G: np.ndarray, h: np.ndarray, w: np.ndarray) -> float:
    """Radius of the largest ball around ``w`` inside ``{G t <= h}`` and the box (unit rows)."""
    r = float(np.min(1.0 - np.abs(w))) if w.size else 1.0
    if G.shape[0]:
        r = min(r, float(np.min(h - G @ w)))
    return r


def box_rows(G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``G t <= h`` that are faces of ``[-1, 1]^k`` (``±e_i t <= 1``)."""
    if G.size == 0:
        return np.zeros(G.shape[0], dtype=bool)
    one_hot = (np.count_nonzero(G, axis=1) == 1) & (np.abs(np.abs(G).max(axis=1) - 1.0) == 0)
    return one_hot & (h == 1.0)
