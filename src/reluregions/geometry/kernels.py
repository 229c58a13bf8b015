"""Compiled kernels for LP-free cell splitting in low dimension (double-description step).

A cell is kept as its vertices ``V`` (p, k) and, for each vertex, the bit set of the constraints
tight at it (``inc``, p x W words of 64 bits). Splitting by a hyperplane uses the signed distances
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


@njit(cache=True)
def _no_superset(inc, common, u, v):
    """True when no vertex other than ``u`` and ``v`` is tight at every constraint in ``common``."""
    for x in range(inc.shape[0]):
        if x == u or x == v:
            continue
        sup = True
        for w in range(inc.shape[1]):
            if (inc[x, w] & common[w]) != common[w]:
                sup = False
                break
        if sup:
            return False
    return True


@njit(cache=True)
def _split(V, inc, S, j, cid, eps, k):
    """Split the cell (V, inc, S) by column ``j`` of S; returns the two children's arrays."""
    p = V.shape[0]
    nw = inc.shape[1]
    s = S[:, j]
    # candidate edges
    n_new = 0
    cap = 16
    eu = np.empty(cap, np.int64)
    ev = np.empty(cap, np.int64)
    common = np.empty(nw, np.uint64)
    deg = np.zeros(p, np.int64)
    for u in range(p):
        for w in range(nw):
            deg[u] += _popcount(inc[u, w])
    for u in range(p):
        if s[u] <= eps:
            continue
        for v in range(p):
            if s[v] >= -eps:
                continue
            cnt = 0
            for w in range(nw):
                common[w] = inc[u, w] & inc[v, w]
                cnt += _popcount(common[w])
            if cnt < k - 1:
                continue
            # A simple vertex (exactly k tight constraints) and a vertex sharing k - 1 of them lie
            # on one edge line, and no vertex can sit strictly between: adjacent, no further test.
            adjacent = deg[u] == k or deg[v] == k or _no_superset(inc, common, u, v)
            if adjacent:
                if n_new == cap:
                    cap *= 2
                    eu2 = np.empty(cap, np.int64)
                    ev2 = np.empty(cap, np.int64)
                    eu2[:n_new] = eu[:n_new]
                    ev2[:n_new] = ev[:n_new]
                    eu, ev = eu2, ev2
                eu[n_new] = u
                ev[n_new] = v
                n_new += 1
    n_pos = 0
    n_neg = 0
    n_zero = 0
    for u in range(p):
        if s[u] > eps:
            n_pos += 1
        elif s[u] < -eps:
            n_neg += 1
        else:
            n_zero += 1
    word = cid >> 6
    bit = np.uint64(1) << np.uint64(cid & 63)
    nS = S.shape[1]
    pa = n_pos + n_zero + n_new
    na = n_neg + n_zero + n_new
    Vp = np.empty((pa, k))
    Ip = np.empty((pa, nw), np.uint64)
    Sp = np.empty((pa, nS))
    Vn = np.empty((na, k))
    In = np.empty((na, nw), np.uint64)
    Sn = np.empty((na, nS))
    ip = 0
    ineg = 0
    for u in range(p):
        if s[u] > eps:
            Vp[ip] = V[u]
            Ip[ip] = inc[u]
            Sp[ip] = S[u]
            ip += 1
        elif s[u] < -eps:
            Vn[ineg] = V[u]
            In[ineg] = inc[u]
            Sn[ineg] = S[u]
            ineg += 1
        else:
            Vp[ip] = V[u]
            Ip[ip] = inc[u]
            Ip[ip, word] |= bit
            Sp[ip] = S[u]
            Sp[ip, j] = 0.0
            Vn[ineg] = Vp[ip]
            In[ineg] = Ip[ip]
            Sn[ineg] = Sp[ip]
            ip += 1
            ineg += 1
    for e in range(n_new):
        u = eu[e]
        v = ev[e]
        lam = s[u] / (s[u] - s[v])
        for c in range(k):
            Vp[ip, c] = V[u, c] + lam * (V[v, c] - V[u, c])
        for c in range(nS):
            Sp[ip, c] = S[u, c] + lam * (S[v, c] - S[u, c])
        Sp[ip, j] = 0.0
        for w in range(nw):
            Ip[ip, w] = inc[u, w] & inc[v, w]
        Ip[ip, word] |= bit
        Vn[ineg] = Vp[ip]
        In[ineg] = Ip[ip]
        Sn[ineg] = Sp[ip]
        ip += 1
        ineg += 1
    return Vp, Ip, Sp, Vn, In, Sn
