"""The vertex traversal's stack of open cells (:mod:`reluregions.geometry.dfs`).

An *entry* (a row of the table ``E``) is an open cell: where its vertices, distances and
constraints start in the arenas and how many there are, its layer, the next crossing hyperplane
``q`` (``-1``: layer not started), a force code, its layer record, and the arena tops just after
its own data (popping it resets every arena to those tops). :func:`_pack_frontier` copies the
cells still open when a traversal stops into flat arrays, a :class:`Frontier`, so the caller can
hand them to other workers; :func:`_push_frontier` puts such cells back on an empty stack, so one
call continues a whole frontier where it stopped.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .kernels import njit

__all__ = ["Frontier"]

#: The open cells packed flat, top of the stack first: ``meta[i] = (p, r, nl, nc, layer, q)``
#: sizes cell ``i``; vertices ``V``/incidences ``inc``, constraints ``G``/``h``, ``bits``, the
#: pulled-back layer ``M``/``m``/``scale``, the remaining distances ``S``, the crossing neurons
#: ``cut``/``acut``/``ocut`` and ``ranks`` follow one cell after the other.
Frontier = namedtuple("Frontier", ["meta", "V", "inc", "G", "h", "bits", "M", "m", "scale", "S",
                                   "cut", "acut", "ocut", "ranks"])

# columns of the entry table E
_V0, _P, _S0, _G0, _R, _LAYER, _Q, _FORCE, _REC, _VT, _ST, _GT, _RT, _MT, _CT, _QB = range(16)
_NE = 16


@njit(cache=True, inline="always")
def _entry(E, e, v0, p, s0, g0, r, layer, q, force, rec, vt, st, gt, rt, mt, ct, qb):
    """Fill row ``e`` of the entry table (columns as named at the top of the module)."""
    E[e, _V0] = v0
    E[e, _P] = p
    E[e, _S0] = s0
    E[e, _G0] = g0
    E[e, _R] = r
    E[e, _LAYER] = layer
    E[e, _Q] = q
    E[e, _FORCE] = force
    E[e, _REC] = rec
    E[e, _VT] = vt
    E[e, _ST] = st
    E[e, _GT] = gt
    E[e, _RT] = rt
    E[e, _MT] = mt
    E[e, _CT] = ct
    E[e, _QB] = qb


@njit(cache=True)
def _pack_frontier(E, top, Rc, aV, aI, aS, aG, aH, aB, aR, rM, rm, rsc, rCut, rAc, rOc, k, nw, nh, L):
    """The open cells ``E[:top]`` packed flat, top of the stack first, as a :class:`Frontier`:
    ``meta[i] = (p, r, nl, nc, layer, q)`` sizes cell ``i`` and the other arrays hold the cells'
    parts one after the other."""
    nf = top
    meta = np.empty((nf, 6), np.int64)
    tp = tr = tl = tc = ts = 0
    for i in range(nf):
        e = nf - 1 - i
        rec = E[e, _REC]
        meta[i, 0] = E[e, _P]
        meta[i, 1] = E[e, _R]
        meta[i, 2] = Rc[rec, 1]
        meta[i, 3] = Rc[rec, 3]
        meta[i, 4] = E[e, _LAYER]
        meta[i, 5] = E[e, _Q]
        tp += meta[i, 0]
        tr += meta[i, 1]
        tl += meta[i, 2]
        tc += meta[i, 3]
        if meta[i, 5] >= 0:
            ts += meta[i, 0] * (meta[i, 3] - meta[i, 5])
    fV = np.empty((tp, k))
    fI = np.empty((tp, nw), np.uint64)
    fG = np.empty((tr, k))
    fh = np.empty(tr)
    fB = np.empty((nf, nh), np.bool_)
    fM = np.empty((tl, k))
    fm = np.empty(tl)
    fSc = np.empty(tl)
    fS = np.empty(ts)
    fCut = np.empty(tc, np.int64)
    fAc = np.empty((tc, k))
    fOc = np.empty(tc)
    fR = np.empty((nf, L), np.int64)
    ip = ir = il = ic = iS = 0
    for i in range(nf):
        e = nf - 1 - i
        p, r, nl, nc = meta[i, 0], meta[i, 1], meta[i, 2], meta[i, 3]
        v0, g0, s0, rec = E[e, _V0], E[e, _G0], E[e, _S0], E[e, _REC]
        q, qb = meta[i, 5], E[e, _QB]
        ns = p * (nc - q) if q >= 0 else 0
        s0 += (q - qb) * p if q >= 0 else 0
        m0, c0 = Rc[rec, 0], Rc[rec, 2]
        fV[ip:ip + p] = aV[v0:v0 + p]
        nwu = (r + 63) >> 6  # words in use; the rest may hold stale arena data
        fI[ip:ip + p, :nwu] = aI[v0:v0 + p, :nwu]
        fI[ip:ip + p, nwu:] = 0
        fG[ir:ir + r] = aG[g0:g0 + r]
        fh[ir:ir + r] = aH[g0:g0 + r]
        fB[i] = aB[e]
        fM[il:il + nl] = rM[m0:m0 + nl]
        fm[il:il + nl] = rm[m0:m0 + nl]
        fSc[il:il + nl] = rsc[m0:m0 + nl]
        fS[iS:iS + ns] = aS[s0:s0 + ns]
        fCut[ic:ic + nc] = rCut[c0:c0 + nc]
        fAc[ic:ic + nc] = rAc[c0:c0 + nc]
        fOc[ic:ic + nc] = rOc[c0:c0 + nc]
        fR[i] = aR[e]
        ip += p
        ir += r
        il += nl
        ic += nc
        iS += ns
    return Frontier(meta, fV, fI, fG, fh, fB, fM, fm, fSc, fS, fCut, fAc, fOc, fR)


@njit(cache=True, nogil=True)
def _frontier_size(below, first):
    """Rows the cells ``first..`` of the frontier ``below`` take in the arenas: vertices,
    distances, constraints, layer rows, crossing neurons (as :func:`_push_frontier` lays them)."""
    meta = below.meta
    tp = ts = tr = tl = tc = 0
    for i in range(first, meta.shape[0]):
        p, r, nl, nc, q = meta[i, 0], meta[i, 1], meta[i, 2], meta[i, 3], meta[i, 5]
        tp += p
        tr += r
        tl += nl
        tc += nc
        if q >= 0:
            ts += p * (nc - q)
    return tp, ts, tr, tl, tc


@njit(cache=True, nogil=True)
def _push_frontier(below, first, E, Rc, aV, aI, aS, aG, aH, aB, aR, rM, rm, rsc, rCut, rAc, rOc):
    """Push the cells ``first..`` of the frontier ``below`` (top of the stack first, as
    :func:`_pack_frontier` packs them) onto an empty stack, the last one at the bottom: each with
    its own layer record, force code 0. The arrays must have room (:func:`_frontier_size`).
    Returns the tops: entries, then the vertex, distance, constraint, record, layer-row and
    crossing-neuron arenas."""
    meta, fV, fI, fG, fh, fB, fM, fm, fSc, fS, fCut, fAc, fOc, fR = below
    nf = meta.shape[0]
    nw = fI.shape[1]
    nh = fB.shape[1]
    L = fR.shape[1]
    k = fV.shape[1]
    # where cell i starts in the flat arrays
    offs = np.zeros((nf + 1, 5), np.int64)
    for i in range(nf):
        p, r, nl, nc, q = meta[i, 0], meta[i, 1], meta[i, 2], meta[i, 3], meta[i, 5]
        offs[i + 1, 0] = offs[i, 0] + p
        offs[i + 1, 1] = offs[i, 1] + r
        offs[i + 1, 2] = offs[i, 2] + nl
        offs[i + 1, 3] = offs[i, 3] + nc
        offs[i + 1, 4] = offs[i, 4] + (p * (nc - q) if q >= 0 else 0)
    e = vt = st = gt = rt = mt = ct = 0
    for i in range(nf - 1, first - 1, -1):
        p, r, nl, nc, layer, q = meta[i, 0], meta[i, 1], meta[i, 2], meta[i, 3], meta[i, 4], meta[i, 5]
        ip, ir, il, ic, i_s = offs[i, 0], offs[i, 1], offs[i, 2], offs[i, 3], offs[i, 4]
        ns = offs[i + 1, 4] - i_s
        for u in range(p):
            for c in range(k):
                aV[vt + u, c] = fV[ip + u, c]
            for c in range(nw):
                aI[vt + u, c] = fI[ip + u, c]
        for u in range(ns):
            aS[st + u] = fS[i_s + u]
        for u in range(r):
            for c in range(k):
                aG[gt + u, c] = fG[ir + u, c]
            aH[gt + u] = fh[ir + u]
        for u in range(nl):
            for c in range(k):
                rM[mt + u, c] = fM[il + u, c]
            rm[mt + u] = fm[il + u]
            rsc[mt + u] = fSc[il + u]
        for u in range(nc):
            rCut[ct + u] = fCut[ic + u]
            for c in range(k):
                rAc[ct + u, c] = fAc[ic + u, c]
            rOc[ct + u] = fOc[ic + u]
        Rc[rt, 0] = mt
        Rc[rt, 1] = nl
        Rc[rt, 2] = ct
        Rc[rt, 3] = nc
        _entry(E, e, vt, p, st, gt, r, layer, q, 0, rt, vt + p, st + ns, gt + r, rt + 1, mt + nl,
               ct + nc, q)
        for x in range(nh):
            aB[e, x] = fB[i, x]
        for x in range(L):
            aR[e, x] = fR[i, x]
        e += 1
        vt += p
        st += ns
        gt += r
        rt += 1
        mt += nl
        ct += nc
    return e, vt, st, gt, rt, mt, ct
