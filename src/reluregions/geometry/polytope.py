"""Kernels on one bounded polytope ``G t <= h``: an interior point, its vertices, its facets, its volume.

These are the geometry steps of the region details (DESIGN.md §1: a region is the polytope its
pattern's pulled-back constraints cut out, Drammis et al. 2024, §3), on the polytope's
constraints alone; rebuilding the constraints of a pattern is :mod:`reluregions.analysis.pullback`'s
job. Vertices and facets come from Qhull (``scipy.spatial.HalfspaceIntersection``) up to
:data:`MAX_QHULL_DIM` dimensions, facets from one LP per constraint above that
(:func:`reluregions.geometry.redundancy.irredundant`); volumes from ``scipy.spatial.ConvexHull``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MAX_QHULL_DIM", "interior_point", "vertices_t", "facets_t", "volume_t"]

#: Highest dimension in which vertices and facets come from Qhull (its cost grows fast with it).
MAX_QHULL_DIM = 8
_HINT_SLACK = 1e-6


def interior_point(G: np.ndarray, h: np.ndarray, hint: np.ndarray | None,
                   solver: Any) -> tuple[np.ndarray, float]:
    """A point well inside ``G t <= h`` and its slack.

    Parameters
    ----------
    G, h : ndarray
        The constraints, shapes (m, k) and (m,).
    hint : ndarray or None
        A candidate point (a stored interior point); taken when its slack exceeds 1e-6.
    solver : LPSolver
        Used otherwise, for the Chebyshev centre (one LP).

    Returns
    -------
    tuple of (ndarray, float)
        The point and its slack (the Chebyshev radius when the LP ran).
    """
    if hint is not None and len(h):
        slack = float(np.min(h - G @ hint))
        if slack > _HINT_SLACK:
            return np.asarray(hint, float), slack
    return solver.chebyshev(G, h)


def _interval(G: np.ndarray, h: np.ndarray) -> tuple[float, float, int, int]:
    g = G[:, 0]
    up, down = np.flatnonzero(g > 0), np.flatnonzero(g < 0)
    hi_i = up[np.argmin(h[up] / g[up])]
    lo_i = down[np.argmax(h[down] / g[down])]
    return float(h[lo_i] / g[lo_i]), float(h[hi_i] / g[hi_i]), int(lo_i), int(hi_i)


def vertices_t(G: np.ndarray, h: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Vertices of the bounded polytope ``G t <= h``, shape (n_vertices, k).

    ``center`` must lie strictly inside (Qhull's interior point); repeated vertices (equal to 11
    decimals) are reported once.
    """
    k = G.shape[1]
    if k == 1:
        lo, hi, _, _ = _interval(G, h)
        return np.array([[lo], [hi]])
    from scipy import spatial  # a core dependency
    halfspaces = np.column_stack([G, -h])
    try:
        hs = spatial.HalfspaceIntersection(halfspaces, center)
    except spatial.QhullError:
        hs = spatial.HalfspaceIntersection(halfspaces, center, qhull_options="QJ")
    V = hs.intersections[np.all(np.isfinite(hs.intersections), axis=1)]
    _, keep = np.unique(np.round(V, 11), axis=0, return_index=True)
    return V[np.sort(keep)]


def facets_t(G: np.ndarray, h: np.ndarray, center: np.ndarray, solver: Any) -> np.ndarray:
    """Indices of the rows of ``G t <= h`` that define facets (the irredundant ones), sorted.

    From the halfspace intersection's dual hull up to :data:`MAX_QHULL_DIM` dimensions (or when
    Qhull fails), by one LP per row with ``solver`` above.
    """
    k = G.shape[1]
    if k == 1:
        _, _, lo_i, hi_i = _interval(G, h)
        return np.array(sorted({lo_i, hi_i}))
    if k <= MAX_QHULL_DIM:
        from scipy import spatial  # a core dependency
        try:
            hs = spatial.HalfspaceIntersection(np.column_stack([G, -h]), center)
            return np.sort(np.asarray(hs.dual_vertices, dtype=np.int64))
        except spatial.QhullError:
            pass
    from .redundancy import irredundant

    Gi, hi = irredundant(G, h, solver)
    rows = np.column_stack([G, h])
    kept = np.column_stack([Gi, hi])
    return np.array([int(np.flatnonzero(np.all(rows == r, axis=1))[0]) for r in kept], dtype=np.int64)


def volume_t(V: np.ndarray, k: int) -> float:
    """Volume of the convex hull of the vertices ``V`` in ``k`` dimensions; 0 when it is flat."""
    if k == 0:
        return 1.0
    if len(V) <= k:
        return 0.0
    if k == 1:
        return float(V.max() - V.min())
    from scipy import spatial  # a core dependency
    try:
        return float(spatial.ConvexHull(V).volume)
    except spatial.QhullError:
        return 0.0
