"""Building blocks of LP-free cell splitting in low dimension (double-description step).

The step itself is compiled in :mod:`reluregions.geometry.ddstep` (``_edges`` finds the crossed
edges, ``_children`` writes both children) and run by the traversal in
:mod:`reluregions.geometry.dfs`; this module holds the method and the helpers that the compiled
traversals share (arena growth, the pull-back of a layer through a cell's map, the rank):

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

__all__ = ["HAVE_NUMBA", "box_vertices", "njit_borrowed", "numba_cached"]


def njit_borrowed(**options):
    """``njit(cache=True, nogil=True)`` without numba's reference counting (its ``_nrt=False``),
    for small compiled helpers called many times per item from other compiled code.

    Numba counts references to every array a compiled function binds (an argument, a field of a
    tuple, a view) with atomic increments and decrements; in the certificate's per-LP helpers
    those were a quarter of the kernel's time (issue 15). A helper compiled with this decorator
    must allocate nothing and return no array: it only *borrows* the arrays of an NRT-enabled
    caller, which holds them for the duration of the call. Inlined helpers (``inline="always"``)
    take the flags of the function they are inlined into.
    """
    return njit(cache=True, nogil=True, _nrt=False, **options)


def numba_cached(kernel) -> bool:
    """Whether numba's on-disk cache holds a compiled version of ``kernel`` (a ``cache=True``
    dispatcher); False means its first call compiles it. Reads one small index file; True when
    that cannot be told (numba's private layout changed)."""
    try:
        return bool(kernel._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - a private API: say nothing rather than fail
        return True


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


@njit(cache=True)
def _grow2(a, n):
    b = np.empty((max(2 * a.shape[0], n), a.shape[1]), a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _grow1(a, n):
    b = np.empty(max(2 * a.shape[0], n), a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _rank(AT, k, nl, gram, linv):
    """Rank of ``AT[:, :nl]`` (``k`` rows), as :func:`numpy.linalg.matrix_rank` gives it.

    Fast path for the usual full rank: the Cholesky factor ``L`` of the Gram matrix bounds the
    smallest squared singular value from below by ``1 / ||L^-1||_F^2``; when that clears ``1e-8``
    times the largest possible one (the trace), far above both the Gram matrix's rounding and
    ``matrix_rank``'s threshold, the rank is ``k``. Anything else goes to the SVD.
    """
    if nl >= k:
        tr = 0.0
        for a in range(k):
            for b in range(a + 1):
                x = 0.0
                for j in range(nl):
                    x += AT[a, j] * AT[b, j]
                gram[a, b] = x
            tr += gram[a, a]
        ok = tr > 0.0
        # Cholesky in place (lower triangle), then its inverse's squared Frobenius norm
        for a in range(k):
            if not ok:
                break
            for b in range(a + 1):
                x = gram[a, b]
                for c in range(b):
                    x -= gram[a, c] * gram[b, c]
                if a == b:
                    if x <= 1e-8 * tr:
                        ok = False
                        break
                    gram[a, a] = np.sqrt(x)
                else:
                    gram[a, b] = x / gram[b, b]
        if ok:
            inv2 = 0.0
            for b in range(k):  # column b of L^-1 by forward substitution, into linv
                for a in range(b, k):
                    x = 1.0 if a == b else 0.0
                    for c in range(b, a):
                        x -= gram[a, c] * linv[c, b]
                    linv[a, b] = x / gram[a, a]
                    inv2 += linv[a, b] * linv[a, b]
            if inv2 * tr < 1e8:
                return k
    return np.linalg.matrix_rank(AT[:, :nl].copy())


@njit(cache=True)
def _pullback(WT, aWT, b, AT, cv, absA, nl, k, rM, rm, rsc, m0, acc):
    """The next layer's pre-activation map on a cell, ``W @ [A | c] + b``, into rows from ``m0``
    of ``rM``/``rm``, and each neuron's sum of magnitudes (``|W| @ |[A | c]| + |b|``) into ``rsc``.

    Takes ``W`` transposed (``WT``, ``aWT = |WT|``) so the inner loops run over contiguous
    outputs; neurons whose row of ``[A | c]`` is zero (inactive ReLUs) are skipped. Each output
    sums its terms in the order of ``j``, as the plain dot product would.
    """
    nl2 = WT.shape[1]
    for i in range(nl2):
        for c in range(k):
            acc[c, i] = 0.0
        acc[k, i] = b[i]
        acc[k + 1, i] = abs(b[i])
    for j in range(nl):
        if absA[j] == 0.0:
            continue
        for c in range(k):
            a = AT[c, j]
            for i in range(nl2):
                acc[c, i] += WT[j, i] * a
        x = cv[j]
        y = absA[j]
        for i in range(nl2):
            acc[k, i] += WT[j, i] * x
            acc[k + 1, i] += aWT[j, i] * y
    for i in range(nl2):
        for c in range(k):
            rM[m0 + i, c] = acc[c, i]
        rm[m0 + i] = acc[k, i]
        rsc[m0 + i] = acc[k + 1, i]


@njit(cache=True, nogil=True, inline="always")
def _least_slack(G, h, g0, r, x, k):
    """The least slack ``h_i - G_i x`` over rows ``g0:g0 + r`` of ``G t <= h`` (unit rows), each
    lowered by a bound on its rounding (``(k + 2)`` units of the last place of its magnitude sum),
    so a ball of that radius around ``x`` provably satisfies every row; ``inf`` with no rows."""
    rad = np.inf
    ulp = 2.0 ** -52 * (k + 2)
    for i in range(g0, g0 + r):
        sl = h[i]
        mag = abs(h[i])
        for c in range(k):
            y = G[i, c] * x[c]
            sl -= y
            mag += abs(y)
        sl -= ulp * mag
        if sl < rad:
            rad = sl
    return rad
