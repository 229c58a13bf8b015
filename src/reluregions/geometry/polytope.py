"""Kernels on one bounded polytope ``G t <= h``: an interior point, its vertices, its facets, its volume.

These are the geometry steps of the region details (DESIGN.md §1: a region is the polytope its
pattern's pulled-back constraints cut out, Drammis et al. 2024, §3), on the polytope's
constraints alone; rebuilding the constraints of a pattern is :mod:`reluregions.analysis.pullback`'s
job. Vertices and facets come from Qhull (``scipy.spatial.HalfspaceIntersection``) up to
:data:`MAX_QHULL_DIM` dimensions, facets from one LP per constraint above that
(:func:`reluregions.geometry.redundancy.irredundant`); volumes from the same intersection's
vertex-row incidence, by a cone decomposition over the face lattice (:func:`volume_t`).
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


def _halfspace_hull(G: np.ndarray, h: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, list]:
    """Qhull's halfspace intersection: the vertices and, for each, the rows through it."""
    from scipy import spatial  # a core dependency
    halfspaces = np.column_stack([G, -h])
    try:
        hs = spatial.HalfspaceIntersection(halfspaces, center)
    except spatial.QhullError:
        hs = spatial.HalfspaceIntersection(halfspaces, center, qhull_options="QJ")
    finite = np.all(np.isfinite(hs.intersections), axis=1)
    return hs.intersections[finite], [f for f, ok in zip(hs.dual_facets, finite) if ok]


def vertices_t(G: np.ndarray, h: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Vertices of the bounded polytope ``G t <= h``, shape (n_vertices, k).

    ``center`` must lie strictly inside (Qhull's interior point); repeated vertices (equal to 11
    decimals) are reported once.
    """
    k = G.shape[1]
    if k == 1:
        lo, hi, _, _ = _interval(G, h)
        return np.array([[lo], [hi]])
    V = _halfspace_hull(G, h, center)[0]
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


def volume_t(G: np.ndarray, h: np.ndarray, center: np.ndarray) -> float:
    """Volume of the bounded, full-dimensional polytope ``G t <= h`` (``k``-volume in ``t``).

    Parameters
    ----------
    G, h : ndarray
        The constraints, shapes (m, k) and (m,); redundant rows are allowed.
    center : ndarray
        A point strictly inside (Qhull's interior point; the Chebyshev centre conditions it best).

    Returns
    -------
    float
        The volume, positive (1 when ``k == 0``).

    Notes
    -----
    The vertices, and which rows pass through each, come from the halfspace intersection (Qhull's
    hull of the dual points, well conditioned around a central point). That incidence alone gives
    the face lattice: the facets of a face ``F`` are the largest proper non-empty sets
    ``F ∩ S_j``, ``S_j`` the vertices on row ``j`` (in a simple polytope, every such set). The
    volume is the cone decomposition ``vol_d(F) = (1/d) sum_G height(p_F, G) vol_{d-1}(G)`` over
    the facets ``G`` of each face, down to the edges' lengths; ``p_F`` is the centroid of ``F``'s
    vertices, inside it, so every term is positive, and the height is
    ``(h_j - G_j p_F) / |G_j|`` measured inside ``F`` (an orthonormal frame of each face, one
    Householder step a level). No tolerance decides anything, and thin or degenerate polytopes
    (several rows through a vertex) lose no accuracy. A convex hull of the vertices instead
    (``scipy.spatial.ConvexHull``) must rediscover the facets from nearly coplanar points in
    floating point; on thin 5-D regions it failed now and then, for one rounding of the
    vertices and not another, and a failure read as volume 0.
    """
    k = G.shape[1]
    if k == 0:
        return 1.0
    if k == 1:
        lo, hi, _, _ = _interval(G, h)
        return float(hi - lo)
    V, facets = _halfspace_hull(G, h, center)
    inc = np.zeros((len(V), len(h)), dtype=bool)
    for i, f in enumerate(facets):
        inc[i, f] = True
    rows = np.flatnonzero(inc.any(axis=0))
    return _lattice_volume(V, inc[:, rows], G[rows], h[rows])


def _lattice_volume(V: np.ndarray, inc: np.ndarray, A: np.ndarray, b: np.ndarray) -> float:
    """The cone decomposition of :func:`volume_t`: vertices ``V`` (n, k), incidence ``inc`` (n, m)
    with the facet rows ``A t <= b``."""
    n, k = V.shape
    # simple (k rows through every vertex): each row through some but not all vertices of a face
    # cuts one facet of it, and distinct rows distinct facets
    simple = bool(np.all(inc.sum(axis=1) == k))
    masks = np.ones((1, n), dtype=bool)  # the d-faces as vertex sets, d = k, k - 1, ..., 1
    basis = np.eye(k)[None]  # (faces, k, d): orthonormal directions of each d-face
    levels = []  # per d: (parent, child, height, faces) of each (d-face, its facet) link
    for d in range(k, 1, -1):
        cand = masks[:, None, :] & inc.T[None, :, :]  # (faces, rows, vertices)
        size = cand.sum(axis=2)
        keep = (size > 0) & (size < masks.sum(axis=1)[:, None])
        if not simple:
            keep &= ~_contained(cand, size, keep)  # the largest proper sets, one of each
        parent, row = np.nonzero(keep)
        child, first = _unique_rows(cand[parent, row])
        p = (masks @ V) / masks.sum(axis=1)[:, None]  # each face's centroid: inside it
        u = np.einsum("fkd,fk->fd", basis[parent], A[row])  # the row inside its face
        height = (b[row] - np.einsum("fk,fk->f", A[row], p[parent])) / np.linalg.norm(u, axis=1)
        levels.append((parent, child, height, len(masks)))
        masks = cand[parent[first], row[first]]
        basis = np.einsum("fkd,fde->fke", basis[parent[first]], _complement(u[first]))
    s = V @ basis[:, :, 0].T  # (vertices, edges): positions along each edge
    vol = np.where(masks.T, s, -np.inf).max(axis=0) - np.where(masks.T, s, np.inf).min(axis=0)
    for d, (parent, child, height, faces) in zip(range(2, k + 1), reversed(levels)):
        vol = np.bincount(parent, weights=height * vol[child], minlength=faces) / d
    return float(vol[0])


def _contained(cand: np.ndarray, size: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per face and row: its valid set lies in a larger valid set of the face, or repeats one of
    an earlier row."""
    c = cand.astype(float)
    common = c @ c.transpose(0, 2, 1)  # shared vertices of two sets of one face (exact)
    si, sj = size[:, :, None], size[:, None, :]
    earlier = np.arange(size.shape[1])[None, :] < np.arange(size.shape[1])[:, None]
    return ((common == si) & valid[:, None, :] & ((sj > si) | earlier[None])).any(axis=2)


def _unique_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For boolean rows: the index of each among the distinct ones, and one row of each."""
    packed = np.packbits(masks, axis=1, bitorder="little")
    words = np.zeros((len(masks), -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    words[:, :packed.shape[1]] = packed
    words = words.view(np.uint64)  # exact: 64 vertices a word
    if words.shape[1] == 1:
        _, first, inverse = np.unique(words[:, 0], return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(words, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def _complement(u: np.ndarray) -> np.ndarray:
    """(f, d, d - 1): orthonormal columns orthogonal to each row of ``u`` (a Householder map)."""
    v = u / np.linalg.norm(u, axis=1)[:, None]
    w = v.copy()
    w[:, 0] += np.where(v[:, 0] < 0, -1.0, 1.0)
    w /= np.linalg.norm(w, axis=1)[:, None]
    H = np.eye(u.shape[1])[None] - 2.0 * w[:, :, None] * w[:, None, :]
    return H[:, :, 1:]
