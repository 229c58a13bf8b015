"""Rays, segments and margins in a polytope cut from the box ``[-1, 1]^k``, without an LP.

The pieces of the high-dimensional engine (issue 14) that need only the rows of a cell and the
box: how far a ray goes before it leaves the cell shrunk by a margin, the point of a segment where
a linear function reaches a value, the largest ball around a point, and which rows of a domain
are faces of the box (those become the LPs' column bounds).
"""
from __future__ import annotations

import numpy as np

__all__ = ["exit_step", "towards", "box_margin", "box_rows"]


def exit_step(G: np.ndarray, h: np.ndarray, w: np.ndarray, d: np.ndarray, shrink: float) -> float:
    """Largest ``λ >= 0`` with ``w + λ d`` in ``{G t <= h - shrink, |t_i| <= 1 - shrink}``.

    ``G``'s rows have unit norm, so lowering every right-hand side by ``shrink`` is shrinking the
    cell by a ball of that radius. ``inf`` when the ray never leaves.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        up, down = 1.0 - shrink - w, -1.0 + shrink - w
        steps = np.where(d > 0, up / d, np.where(d < 0, down / d, np.inf))
        exit_ = float(steps.min()) if steps.size else np.inf
        if G.shape[0]:
            gd = G @ d
            slack = h - shrink - G @ w
            exit_ = min(exit_, float(np.where(gd > 0, slack / gd, np.inf).min()))
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
