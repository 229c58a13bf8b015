"""Building blocks of LP-free cell splitting in low dimension (double-description step).

The step itself runs inside the compiled traversal (:mod:`reluregions.geometry.dfs`: ``_edges``
finds the crossed edges, ``_children`` writes both children); this module holds the shared parts
and the method:

A cell is kept as its vertices ``V`` (p, k) and, for each vertex, the bit set of the constraints
tight at it (``inc``, p x W words of 64 bits; bit ``i`` is row ``i`` of the cell's constraints
``G t <= h``: the domain's facets first, then one row per cut, so a cell's bits fill only its
first words). Splitting by a hyperplane uses the signed distances
``s`` of the vertices to it:

* vertices with ``|s| <= eps`` lie on the hyperplane and go to both children (they gain the new
  constraint's bit);
* for every pair ``(u, v)`` with ``s_u > eps > -eps > s_v`` that is an *edge*, the crossing point
  ``u + (v - u) s_u / (s_u - s_v)`` is a new vertex of both children, tight at the constraints
  common to ``u`` and ``v`` plus the new one.

Two vertices span an edge exactly when their common tight constraints number at least ``k - 1``
and no third vertex is tight at all of them (the combinatorial adjacency test of the
double-description method, Fukuda & Prodon 1996), which holds for degenerate polytopes too, so
hyperplanes through vertices, coinciding hyperplanes and duplicated neurons need no special case.
Signed distances of every remaining hyperplane at a new vertex are interpolated along the edge
(exact for affine functions), so no hyperplane is evaluated twice.
"""
from __future__ import annotations

import numpy as np

try:
    from numba import njit
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; kept for clear errors
    HAVE_NUMBA = False

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

__all__ = ["HAVE_NUMBA", "box_vertices"]


def box_vertices(k: int, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of ``[-1, 1]^k`` and their incidence (constraint ``i``: ``t_i <= 1``; ``k + i``: ``-t_i <= 1``)."""
    p = 1 << k
    V = np.empty((p, k))
    inc = np.zeros((p, n_words), dtype=np.uint64)
    for idx in range(p):
        for i in range(k):
            if (idx >> i) & 1:
                V[idx, i] = 1.0
                c = i
            else:
                V[idx, i] = -1.0
                c = k + i
            inc[idx, c >> 6] |= np.uint64(1) << np.uint64(c & 63)
    return V, inc


@njit(cache=True)
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)
