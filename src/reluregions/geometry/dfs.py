"""A compiled depth-first traversal of the whole enumeration tree below one cell (vertex algorithm).

Runs LayerWise-NNCE (Drammis et al. 2024, §3, Alg. 1) entirely in compiled code: at each layer
it pulls the neurons back through the cell's affine map, decides constant and stable neurons from
the vertices, and splits the cell by each crossing hyperplane with the double-description step of
:mod:`reluregions.geometry.kernels`; after the last hidden layer it records the region. It stops
after a budget of regions and returns the open frontier, so schedulers can hand the rest of the
subtree to other workers (dynamic splitting at any depth).

A stack entry is a cell plus its position inside a layer: ``q = -1`` means "layer not started";
otherwise ``S`` holds the signed distances of the vertices to the layer's crossing hyperplanes
``cut`` (rows ``acut``, offsets ``ocut``, unit normals) and ``q`` is the next one to insert.
"""
from __future__ import annotations

import numpy as np

from .kernels import HAVE_NUMBA, _split, njit

if HAVE_NUMBA:
    from numba.typed import List
else:  # pragma: no cover - the vertex algorithm is unavailable without numba
    List = list

__all__ = ["dfs_regions", "dfs_packed"]


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
def dfs_regions(sV, sI, sG, sH, sB, sL, sM, sm, sSc, sS, sCut, sAc, sOc, sQ, sR, sF,
                Ws, bs, offsets, slope, zero_tol, tol, eps, k, want_ranks, want_rows, budget):
    """Expand the cells on the stack (lists ``s*``, last = top) until done or ``budget`` regions.

    A cut whose sides are not both certified full-dimensional (a ball of radius above ``tol``
    around a side's vertex centroid) nor clearly flat (every vertex of a side within ``tol`` of
    the hyperplane) stops the traversal with that cell on top of the stack and ``pending = 1``: the
    caller decides it with an LP and sets the cell's force code ``sF`` (1: split; 2: no split, bit
    1; 3: no split, bit 0). So the full-dimensionality test is exactly the Chebyshev-radius test
    of the LP algorithms, with an LP only in the rare uncertain band.

    Returns ``(n, bits, centres, radii, ranks, layer_cells, rows, roffs, pending)``; ``rows``
    (``want_rows``) holds each region's constraints ``[G | h]`` one after the other, region ``i``
    at ``roffs[i]:roffs[i + 1]``. The stack lists keep the open frontier.
    """
    L = len(offsets) - 1
    nh = offsets[L]
    cap = 256
    out_bits = np.empty((cap, nh), np.bool_)
    out_c = np.empty((cap, k))
    out_r = np.empty(cap)
    out_rank = np.empty((cap, L), np.int64)
    layer_cells = np.zeros(L, np.int64)
    rows = np.empty((64 if want_rows else 0, k + 1))
    roffs = np.zeros(cap + 1, np.int64)
    nrows = 0
    pending = 0
    n = 0
    while len(sV) > 0 and n < budget and pending == 0:
        V = sV.pop()
        inc = sI.pop()
        G = sG.pop()
        h = sH.pop()
        bits = sB.pop()
        layer = sL.pop()
        M = sM.pop()
        m = sm.pop()
        scale = sSc.pop()
        S = sS.pop()
        cut = sCut.pop()
        acut = sAc.pop()
        ocut = sOc.pop()
        q = sQ.pop()
        ranks = sR.pop()
        force = sF.pop()
        while True:
            base = offsets[layer]
            nl = M.shape[0]
            if q < 0:
                # start the layer: constant and stable neurons, then the crossing ones
                p = V.shape[0]
                norms = np.empty(nl)
                live = np.zeros(nl, np.bool_)
                for j in range(nl):
                    s2 = 0.0
                    a1 = 0.0
                    for c in range(k):
                        s2 += M[j, c] * M[j, c]
                        a1 += abs(M[j, c])
                    norms[j] = np.sqrt(s2)
                    zt = zero_tol * max(scale[j], 1e-300)
                    if a1 <= zt:
                        bits[base + j] = m[j] > zt
                    else:
                        live[j] = True
                Sall = np.empty((p, nl))
                ncut = 0
                iscut = np.zeros(nl, np.bool_)
                for j in range(nl):
                    if not live[j]:
                        continue
                    smin = np.inf
                    smax = -np.inf
                    for u in range(p):
                        x = m[j]
                        for c in range(k):
                            x += M[j, c] * V[u, c]
                        x /= norms[j]
                        Sall[u, j] = x
                        if x < smin:
                            smin = x
                        if x > smax:
                            smax = x
                    if smin >= -tol:
                        bits[base + j] = True
                    elif smax <= tol:
                        bits[base + j] = False
                    else:
                        iscut[j] = True
                        ncut += 1
                cut = np.empty(ncut, np.int64)
                S = np.empty((p, ncut))
                acut = np.empty((ncut, k))
                ocut = np.empty(ncut)
                i = 0
                for j in range(nl):
                    if iscut[j]:
                        cut[i] = j
                        S[:, i] = Sall[:, j]
                        acut[i] = M[j] / norms[j]
                        ocut[i] = m[j] / norms[j]
                        i += 1
                q = 0
            split = False
            while q < cut.shape[0]:
                smin = np.inf
                smax = -np.inf
                for u in range(V.shape[0]):
                    x = S[u, q]
                    if x < smin:
                        smin = x
                    if x > smax:
                        smax = x
                j = cut[q]
                if force == 2 or force == 3:
                    bits[base + j] = force == 2
                    force = 0
                    q += 1
                    continue
                if force == 0 and smin >= -tol:
                    bits[base + j] = True
                    q += 1
                    continue
                if force == 0 and smax <= tol:
                    bits[base + j] = False
                    q += 1
                    continue
                cid = 2 * k + base + j
                Vp, Ip, Sp, Vn, In, Sn = _split(V, inc, S, q, cid, eps, k)
                r = G.shape[0]
                Gp = np.empty((r + 1, k))
                Gp[:r] = G
                Gp[r] = -acut[q]
                hp = np.empty(r + 1)
                hp[:r] = h
                hp[r] = ocut[q]
                Gn = Gp.copy()
                Gn[r] = acut[q]
                hn = hp.copy()
                hn[r] = -ocut[q]
                if force == 0 and (_centroid_ball(Vp, Gp, hp)[1] <= tol
                                   or _centroid_ball(Vn, Gn, hn)[1] <= tol):
                    # uncertain: hand the cell back for an LP decision
                    sV.append(V)
                    sI.append(inc)
                    sG.append(G)
                    sH.append(h)
                    sB.append(bits)
                    sL.append(layer)
                    sM.append(M)
                    sm.append(m)
                    sSc.append(scale)
                    sS.append(S)
                    sCut.append(cut)
                    sAc.append(acut)
                    sOc.append(ocut)
                    sQ.append(q)
                    sR.append(ranks)
                    sF.append(0)
                    pending = 1
                    split = True
                    break
                force = 0
                bp = bits.copy()
                bp[base + j] = True
                bn = bits
                bn[base + j] = False
                # negative child below, positive child on top
                for (cV, cI, cG, cH, cB, cS) in ((Vn, In, Gn, hn, bn, Sn), (Vp, Ip, Gp, hp, bp, Sp)):
                    sV.append(cV)
                    sI.append(cI)
                    sG.append(cG)
                    sH.append(cH)
                    sB.append(cB)
                    sL.append(layer)
                    sM.append(M)
                    sm.append(m)
                    sSc.append(scale)
                    sS.append(cS)
                    sCut.append(cut)
                    sAc.append(acut)
                    sOc.append(ocut)
                    sQ.append(q + 1)
                    sR.append(ranks)
                    sF.append(0)
                split = True
                break
            if split:
                break
            # the layer is finished on this cell
            layer_cells[layer] += 1
            A = M.copy()
            c = m.copy()
            for j in range(nl):
                if not bits[base + j]:
                    A[j] *= slope
                    c[j] *= slope
            if want_ranks:
                ranks = ranks.copy()
                ranks[layer] = np.linalg.matrix_rank(A) if nl > 0 and k > 0 else 0
            if layer == L - 1:
                if n == out_bits.shape[0]:
                    out_bits = _grow2(out_bits, n + 1)
                    out_c = _grow2(out_c, n + 1)
                    out_r = _grow1(out_r, n + 1)
                    out_rank = _grow2(out_rank, n + 1)
                centre, rad = _centroid_ball(V, G, h)
                out_bits[n] = bits
                out_c[n] = centre
                out_r[n] = rad
                out_rank[n] = ranks
                if want_rows:
                    if roffs.shape[0] < n + 2:
                        roffs = _grow1(roffs, n + 2)
                    need = nrows + G.shape[0]
                    if need > rows.shape[0]:
                        rows = _grow2(rows, need)
                    rows[nrows:need, :k] = G
                    rows[nrows:need, k] = h
                    nrows = need
                    roffs[n + 1] = nrows
                n += 1
                break
            W = Ws[layer + 1]
            b = bs[layer + 1]
            absA = np.empty(nl)
            for j in range(nl):
                t = abs(c[j])
                for cc in range(k):
                    t += abs(A[j, cc])
                absA[j] = t
            M = W @ A
            m = W @ c + b
            scale = np.abs(W) @ absA + np.abs(b)
            layer += 1
            q = -1
    return (n, out_bits[:n], out_c[:n], out_r[:n], out_rank[:n], layer_cells, rows[:nrows],
            roffs[:n + 1], pending)


@njit(cache=True)
def _centroid_ball(V, G, h):
    """The vertex centroid and the radius of a ball around it inside ``G t <= h``.

    The radius is a lower bound on the Chebyshev radius (rows of ``G`` have unit norm).
    """
    k = V.shape[1]
    centre = np.zeros(k)
    for u in range(V.shape[0]):
        centre += V[u]
    centre /= V.shape[0]
    rad = np.inf
    for i in range(G.shape[0]):
        sl = h[i]
        for c in range(k):
            sl -= G[i, c] * centre[c]
        if sl < rad:
            rad = sl
    return centre, rad


@njit(cache=True)
def _unflatten(flat, offs, shapes):
    out = List()
    for i in range(len(offs) - 1):
        out.append(flat[offs[i]:offs[i + 1]].reshape((shapes[i, 0], shapes[i, 1])))
    return out


@njit(cache=True)
def _unflatten1(flat, offs):
    out = List()
    for i in range(len(offs) - 1):
        out.append(flat[offs[i]:offs[i + 1]].copy())
    return out


@njit(cache=True)
def dfs_packed(V, inc, G, h, bits, layer, M, m, scale, S, cut, acut, ocut, q, ranks, force,
               Wflat, Woffs, Wshapes, bflat, boffs, offsets, slope, zero_tol, tol, eps, k,
               want_ranks, want_rows, budget):
    """:func:`dfs_regions` from one cell given as plain arrays, with the frontier packed into flat
    arrays (no typed lists cross the Python boundary, so nothing is compiled at run time).

    Returns ``(n, bits, centres, radii, ranks, layer_cells, rows, roffs, pending, meta, fV, fI,
    fG, fh, fB, fM, fm, fSc, fS, fCut, fAc, fOc, fR)``; ``meta[i] = (p, r, nl, nc, layer, q)``
    sizes frontier cell ``i`` (top of the stack first) and the ``f*`` arrays hold the cells' parts
    one after the other.
    """
    Ws = _unflatten(Wflat, Woffs, Wshapes)
    bs = _unflatten1(bflat, boffs)
    sV = List()
    sV.append(V)
    sI = List()
    sI.append(inc)
    sG = List()
    sG.append(G)
    sH = List()
    sH.append(h)
    sB = List()
    sB.append(bits)
    sL = List()
    sL.append(layer)
    sM = List()
    sM.append(M)
    sm = List()
    sm.append(m)
    sSc = List()
    sSc.append(scale)
    sS = List()
    sS.append(S)
    sCut = List()
    sCut.append(cut)
    sAc = List()
    sAc.append(acut)
    sOc = List()
    sOc.append(ocut)
    sQ = List()
    sQ.append(q)
    sR = List()
    sR.append(ranks)
    sF = List()
    sF.append(force)
    n, ob, oc, orad, ork, lc, rows, roffs, pending = dfs_regions(
        sV, sI, sG, sH, sB, sL, sM, sm, sSc, sS, sCut, sAc, sOc, sQ, sR, sF, Ws, bs, offsets,
        slope, zero_tol, tol, eps, k, want_ranks, want_rows, budget)
    nf = len(sV)
    meta = np.empty((nf, 6), np.int64)
    tp = tr = tl = tc = ts = 0
    for i in range(nf):
        j = nf - 1 - i
        p = sV[j].shape[0]
        r = sG[j].shape[0]
        nl = sM[j].shape[0]
        nc = sCut[j].shape[0]
        meta[i, 0] = p
        meta[i, 1] = r
        meta[i, 2] = nl
        meta[i, 3] = nc
        meta[i, 4] = sL[j]
        meta[i, 5] = sQ[j]
        tp += p
        tr += r
        tl += nl
        tc += nc
        ts += p * nc
    nw = inc.shape[1]
    nh = bits.shape[0]
    L = ranks.shape[0]
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
        j = nf - 1 - i
        p, r, nl, nc = meta[i, 0], meta[i, 1], meta[i, 2], meta[i, 3]
        fV[ip:ip + p] = sV[j]
        fI[ip:ip + p] = sI[j]
        fG[ir:ir + r] = sG[j]
        fh[ir:ir + r] = sH[j]
        fB[i] = sB[j]
        fM[il:il + nl] = sM[j]
        fm[il:il + nl] = sm[j]
        fSc[il:il + nl] = sSc[j]
        fS[iS:iS + p * nc] = sS[j].ravel()
        fCut[ic:ic + nc] = sCut[j]
        fAc[ic:ic + nc] = sAc[j]
        fOc[ic:ic + nc] = sOc[j]
        fR[i] = sR[j]
        ip += p
        ir += r
        il += nl
        ic += nc
        iS += p * nc
    return (n, ob, oc, orad, ork, lc, rows, roffs, pending, meta, fV, fI, fG, fh, fB, fM, fm, fSc,
            fS, fCut, fAc, fOc, fR)
