"""A compiled depth-first traversal of the whole enumeration tree below one cell (vertex algorithm).

Runs LayerWise-NNCE (Drammis et al. 2024, §3, Alg. 1) entirely in compiled code: at each layer
it pulls the neurons back through the cell's affine map, decides constant and stable neurons from
the vertices, and splits the cell by each crossing hyperplane with the double-description step
described in :mod:`reluregions.geometry.kernels`; after the last hidden layer it records the
region. It stops after a budget of regions and returns the open frontier, so schedulers can hand
the rest of the subtree to other workers (dynamic splitting at any depth).

Memory is a set of arenas used as stacks (struct of arrays), so a split allocates nothing:

* an *entry* (a row of ``E``) is an open cell: its vertices ``V``/incidences ``inc`` (rows of
  ``aV``/``aI``), the signed distances ``S`` of its vertices to the layer's crossing hyperplanes
  not yet inserted (column-major from hyperplane ``qb``: ``p`` distances per hyperplane, flat in
  ``aS``, so a scan reads contiguous memory and a child copies only what is left), its
  constraints ``G t <= h`` (rows of ``aG``/``aH``), its
  activation bits and ranks (row ``e`` of ``aB``/``aR``), its layer, the next crossing
  hyperplane ``q`` to insert (``-1``: layer not started), a force code and its layer record;
* a *layer record* (a row of ``Rc``) is the pulled-back layer shared by every cell below the cell
  that started the layer: ``M``, ``m``, ``scale`` (rows of ``rM``/``rm``/``rsc``) and the crossing
  neurons ``cut`` with unit normals ``acut``/offsets ``ocut``.

Each entry remembers the arena tops just after its own data; popping it resets every arena to those
tops, which frees whatever finished subtrees left above, while cells lower in the stack (pushed
earlier, stored lower) stay intact. A split writes the negative child and then the positive child
above the parent and pushes them in that order, so the positive child is expanded first.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .ddstep import _add_row, _ball, _children, _distances, _edges, _row_error, _sides
from .arenas import (_CT, _FORCE, _G0, _GT, _LAYER, _MT, _NE, _P, _Q, _QB, _R, _REC, _RT, _S0, _ST,
                     _V0, _VT, Frontier, _entry, _pack_frontier)
from .kernels import _grow1, _grow2, _pullback, _rank, njit

__all__ = ["dfs_packed", "Traversal", "Frontier", "VertexCell", "PackedNet", "Settings"]

#: What :func:`dfs_packed` returns: ``n`` regions (their ``bits``, certified ball ``centres`` and
#: ``radii``, ``ranks`` and, when asked, constraint ``rows`` with offsets ``roffs``), the cells
#: finished per layer, ``pending`` (1: the frontier's top cell waits for a decision; 2: a split
#: proved exactly that float vertices cannot represent) and the open ``frontier``.
Traversal = namedtuple("Traversal", ["n", "bits", "centres", "radii", "ranks", "layer_cells",
                                     "rows", "roffs", "pending", "frontier"])


#: One open cell, as :func:`dfs_packed` takes it (see its docstring).
VertexCell = namedtuple("VertexCell", ["V", "inc", "G", "h", "bits", "layer", "M", "m", "scale",
                                       "S", "cut", "acut", "ocut", "q", "ranks", "force"])
#: The hidden layers packed flat, once per network (see :func:`dfs_packed`).
PackedNet = namedtuple("PackedNet", ["WTflat", "aWTflat", "Woffs", "Wshapes", "bflat", "boffs",
                                     "offsets", "slope"])
#: Per-run settings: the constant-neuron tolerance ``zero_tol``, the half-width ``tol`` of the band
#: of float radius decisions, the on-plane distance ``eps``, the dimension ``k``, what to return
#: and the budget.
Settings = namedtuple("Settings", ["zero_tol", "tol", "eps", "k", "want_ranks", "want_rows",
                                   "budget"])


@njit(cache=True, nogil=True)
def dfs_packed(cell, net, settings):
    """Traverse the subtree below one cell until done or ``budget`` regions are recorded.

    The cell (a :class:`VertexCell`) is given as plain arrays: vertices ``V`` with incidences
    ``inc``, constraints ``G t <= h``, ``bits``, the pulled-back ``layer`` (``M``, ``m``,
    ``scale``), its position in the layer (``cut``, ``acut``, ``ocut``, ``q``; ``q = -1``: not
    started; ``S`` flat, the distances of the vertices to hyperplanes ``q, q + 1, ...`` of
    ``cut``, ``p`` per hyperplane), ``ranks`` and a ``force`` code. Hidden weights come transposed and flat (layer ``l``'s ``W.T`` and
    ``|W|.T`` at ``WTflat[Woffs[l]:Woffs[l + 1]]``/``aWTflat[...]``, ``W`` of shape
    ``Wshapes[l]``; biases at ``bflat[boffs[l]:boffs[l + 1]]``).

    Float decides a neuron only outside its uncertain band (DESIGN.md §1): it keeps one bit when
    every vertex lies beyond ``eps`` plus the rounding bound of its row on one side, and it splits
    the cell when it crosses and both children hold a certified ball (rounding included, so any
    positive radius is a proof) around their vertex centroids. Anything else (a side whose
    vertices all lie within that margin, a child's certified ball not positive) stops the traversal with the cell on top of the
    frontier and ``pending = 1``: the caller settles it (exactly where float cannot) and sets the
    cell's force code (1: split; 2: no split, bit 1; 3: no split, bit 0). A forced split whose
    thin side has no vertex beyond ``eps`` splits at the float signs; ``pending = 2`` when even
    those leave a side empty (thinner than float vertices resolve).

    Returns a :class:`Traversal`: the ``n`` regions (``rows`` holds each one's constraints
    ``[G | h]`` when ``want_rows``, region ``i`` at ``roffs[i]:roffs[i + 1]``), the cells finished
    per layer, and the open frontier packed flat (a :class:`Frontier`).
    """
    V, inc, G, h, bits, layer, M, m, scale, S, cut, acut, ocut, q, ranks, force = cell
    WTflat, aWTflat, Woffs, Wshapes, bflat, boffs, offsets, slope = net
    zero_tol, tol, eps, k, want_ranks, want_rows, budget = settings
    L = len(offsets) - 1
    nh = offsets[L]
    nw = inc.shape[1]
    nmax = 1
    for i in range(L):
        nmax = max(nmax, offsets[i + 1] - offsets[i])
    # arenas
    p = V.shape[0]
    r = G.shape[0]
    nl = M.shape[0]
    nc = cut.shape[0]
    aV = np.empty((max(256, 8 * p), k))
    aI = np.empty((aV.shape[0], nw), np.uint64)
    aS = np.empty(max(4096, 8 * p * nmax, 2 * S.shape[0]))
    aG = np.empty((max(256, 4 * r), k))
    aH = np.empty(aG.shape[0])
    rM = np.empty((max(64, 4 * nmax), k))
    rm = np.empty(rM.shape[0])
    rsc = np.empty(rM.shape[0])
    rCut = np.empty(rM.shape[0], np.int64)
    rAc = np.empty((rM.shape[0], k))
    rOc = np.empty(rM.shape[0])
    Rc = np.empty((16, 4), np.int64)
    E = np.empty((64, _NE), np.int64)
    aB = np.empty((64, nh), np.bool_)
    aR = np.empty((64, L), np.int64)
    # scratch
    cb = np.empty(nh, np.bool_)
    crk = np.empty(L, np.int64)
    norms = np.empty(nmax)
    live = np.empty(nmax, np.bool_)
    iscut = np.empty(nmax, np.bool_)
    near = np.empty(nmax, np.bool_)
    arow = np.empty(k)
    gram = np.empty((k, k))
    linv = np.empty((k, k))
    gamma = 2.0 ** -51 * (nh + k + 8)  # rounding of a pulled-back row: at most nh + k terms deep
    Sall = np.empty(64 * nmax)
    AT = np.empty((k, nmax))
    VT = np.empty((k, 64))
    acc = np.empty((k + 2, nmax))
    cv = np.empty(nmax)
    absA = np.empty(nmax)
    deg = np.empty(64, np.int64)
    common = np.empty(nw, np.uint64)
    eu = np.empty(256, np.int64)
    ev = np.empty(256, np.int64)
    lam = np.empty(256)
    centre = np.empty(k)
    # outputs
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
    # the given cell: entry 0 and layer record 0
    aV[:p] = V
    aI[:p] = inc
    ns = S.shape[0]
    aS[:ns] = S
    aG[:r] = G
    aH[:r] = h
    rM[:nl] = M
    rm[:nl] = m
    rsc[:nl] = scale
    rCut[:nc] = cut
    rAc[:nc] = acut
    rOc[:nc] = ocut
    Rc[0, 0] = 0
    Rc[0, 1] = nl
    Rc[0, 2] = 0
    Rc[0, 3] = nc
    _entry(E, 0, 0, p, 0, 0, r, layer, q, force, 0, p, ns, r, 1, nl, nc, q)
    aB[0] = bits
    aR[0] = ranks
    top = 1
    while top > 0 and n < budget and pending == 0:
        top -= 1
        e = top
        v0 = E[e, _V0]
        p = E[e, _P]
        s0 = E[e, _S0]
        g0 = E[e, _G0]
        r = E[e, _R]
        layer = E[e, _LAYER]
        q = E[e, _Q]
        force = E[e, _FORCE]
        rec = E[e, _REC]
        vtop = E[e, _VT]
        stop = E[e, _ST]
        gtop = E[e, _GT]
        rtop = E[e, _RT]
        mtop = E[e, _MT]
        ctop = E[e, _CT]
        qb = E[e, _QB]
        cb[:] = aB[e]
        crk[:] = aR[e]
        while True:
            base = offsets[layer]
            m0 = Rc[rec, 0]
            nl = Rc[rec, 1]
            if q < 0:
                # start the layer (its record is the newest): constant and stable neurons, then
                # the crossing ones, whose distances are stored for this cell
                for j in range(nl):
                    s2 = 0.0
                    a1 = 0.0
                    for c in range(k):
                        x = rM[m0 + j, c]
                        s2 += x * x
                        a1 += abs(x)
                    norms[j] = np.sqrt(s2)
                    zt = zero_tol * max(rsc[m0 + j], 1e-300)
                    live[j] = a1 > zt
                    if not live[j]:
                        cb[base + j] = rm[m0 + j] > zt
                if Sall.shape[0] < p * nl:
                    Sall = np.empty(2 * p * nl)
                if VT.shape[1] < p:
                    VT = np.empty((k, 2 * p))
                ncut = _distances(rM, rm, rsc, m0, nl, aV, v0, p, k, tol, eps, gamma, norms, live,
                                  VT, Sall, iscut, cb, base, near)
                # neurons that keep one sign but graze the cell bound the region: their rows
                if gtop + nl > aG.shape[0]:
                    aG = _grow2(aG, gtop + nl)
                    aH = _grow1(aH, gtop + nl)
                for j in range(nl):
                    if near[j]:
                        for c in range(k):
                            arow[c] = rM[m0 + j, c] / norms[j]
                        _add_row(aG, aH, gtop, arow, rm[m0 + j] / norms[j],
                                 _row_error(rM, rsc, m0 + j, k, gamma), k, cb[base + j])
                        gtop += 1
                        r += 1
                if ctop + ncut > rCut.shape[0]:
                    rCut = _grow1(rCut, ctop + ncut)
                    rAc = _grow2(rAc, ctop + ncut)
                    rOc = _grow1(rOc, ctop + ncut)
                if stop + p * ncut > aS.shape[0]:
                    aS = _grow1(aS, stop + p * ncut)
                i = 0
                for j in range(nl):
                    if iscut[j]:
                        rCut[ctop + i] = j
                        for c in range(k):
                            rAc[ctop + i, c] = rM[m0 + j, c] / norms[j]
                        rOc[ctop + i] = rm[m0 + j] / norms[j]
                        for u in range(p):
                            aS[stop + i * p + u] = Sall[j * p + u]
                        i += 1
                Rc[rec, 2] = ctop
                Rc[rec, 3] = ncut
                ctop += ncut
                s0 = stop
                stop += p * ncut
                q = 0
                qb = 0
            c0 = Rc[rec, 2]
            nc = Rc[rec, 3]
            split = False
            hold = 0
            while q < nc:
                col = s0 + (q - qb) * p
                smin = np.inf
                smax = -np.inf
                for u in range(col, col + p):
                    x = aS[u]
                    if x < smin:
                        smin = x
                    if x > smax:
                        smax = x
                j = rCut[c0 + q]
                keep = -1  # the bit of a hyperplane that does not split the cell
                esplit = eps  # vertices within it of the hyperplane lie on it
                if force == 2 or force == 3:
                    keep = 1 if force == 2 else 0
                    force = 0
                elif force == 0:
                    mg = eps + _row_error(rM, rsc, m0 + j, k, gamma)
                    if smin > mg:
                        keep = 1
                    elif smax < -mg:
                        keep = 0
                    elif smin >= -mg or smax <= mg:
                        # one side's vertices all lie within the margin (a hyperplane through a
                        # vertex, or a sliver): hand the cell back for an exact decision
                        hold = 1
                        break
                if keep >= 0:
                    cb[base + j] = keep == 1
                    if (smin < tol and keep == 1) or (smax > -tol and keep == 0):
                        # it grazes (or, decided exactly, touches) the cell
                        if gtop + 1 > aG.shape[0]:
                            aG = _grow2(aG, gtop + 1)
                            aH = _grow1(aH, gtop + 1)
                        _add_row(aG, aH, gtop, rAc[c0 + q], rOc[c0 + q],
                                 _row_error(rM, rsc, m0 + j, k, gamma), k, keep == 1)
                        gtop += 1
                        r += 1
                    q += 1
                    continue
                # split: the edges crossed, then the two children above the arena tops
                n_pos, n_neg = _sides(aS, col, p, eps)
                if force == 1 and (n_pos == 0 or n_neg == 0):
                    # both sides proved full-dimensional, one thinner than eps: split at the
                    # float signs, or report that float vertices cannot resolve it
                    esplit = 0.0
                    n_pos, n_neg = _sides(aS, col, p, esplit)
                    if n_pos == 0 or n_neg == 0:
                        hold = 2
                        break
                if deg.shape[0] < p:
                    deg = np.empty(2 * p, np.int64)
                if eu.shape[0] < n_pos * n_neg:
                    eu = np.empty(2 * n_pos * n_neg, np.int64)
                    ev = np.empty(2 * n_pos * n_neg, np.int64)
                    lam = np.empty(2 * n_pos * n_neg)
                n_new = _edges(aI, aS, v0, p, col, esplit, k, deg, common, eu, ev, (r + 63) >> 6)
                n_zero = p - n_pos - n_neg
                pa = n_pos + n_zero + n_new
                na = n_neg + n_zero + n_new
                ncol = nc - q - 1
                if vtop + pa + na > aV.shape[0]:
                    aV = _grow2(aV, vtop + pa + na)
                    aI = _grow2(aI, vtop + pa + na)
                if stop + (pa + na) * ncol > aS.shape[0]:
                    aS = _grow1(aS, stop + (pa + na) * ncol)
                if gtop + 2 * (r + 1) > aG.shape[0]:
                    aG = _grow2(aG, gtop + 2 * (r + 1))
                    aH = _grow1(aH, gtop + 2 * (r + 1))
                cid = r  # incidence bits are constraint rows
                vn0 = vtop
                vp0 = vn0 + na
                sn0 = stop
                sp0 = sn0 + na * ncol
                _children(aV, aI, aS, v0, p, col, ncol, esplit, k, cid, eu, ev, lam, n_new, vn0, vp0,
                          sn0, sp0, na, pa)
                gn0 = gtop
                gp0 = gtop + r + 1
                for i in range(r):
                    for c in range(k):
                        aG[gn0 + i, c] = aG[g0 + i, c]
                        aG[gp0 + i, c] = aG[g0 + i, c]
                    aH[gn0 + i] = aH[g0 + i]
                    aH[gp0 + i] = aH[g0 + i]
                err = _row_error(rM, rsc, m0 + j, k, gamma)
                _add_row(aG, aH, gn0 + r, rAc[c0 + q], rOc[c0 + q], err, k, False)
                _add_row(aG, aH, gp0 + r, rAc[c0 + q], rOc[c0 + q], err, k, True)
                if top + 2 > E.shape[0]:
                    E = _grow2(E, top + 2)
                    aB = _grow2(aB, top + 2)
                    aR = _grow2(aR, top + 2)
                # a certified ball (rounding included) of any positive radius proves a side
                if force == 0 and (_ball(aV, vp0, pa, aG, aH, gp0, r + 1, k, centre) <= 0.0
                                   or _ball(aV, vn0, na, aG, aH, gn0, r + 1, k, centre) <= 0.0):
                    # uncertain: hand the cell back for a decision (children discarded)
                    hold = 1
                    break
                # negative child below, positive child on top
                for side in range(2):
                    if side == 0:
                        _entry(E, top, vn0, na, sn0, gn0, r + 1, layer, q + 1, 0, rec, vp0, sp0, gp0,
                               rtop, mtop, ctop, q + 1)
                    else:
                        _entry(E, top, vp0, pa, sp0, gp0, r + 1, layer, q + 1, 0, rec, vp0 + pa,
                               sp0 + pa * ncol, gp0 + r + 1, rtop, mtop, ctop, q + 1)
                    aB[top] = cb
                    aB[top, base + j] = side == 1
                    aR[top] = crk
                    top += 1
                split = True
                break
            if hold > 0:  # the cell goes back on top of the frontier, to be decided
                _entry(E, top, v0, p, s0, g0, r, layer, q, 0, rec, vtop, stop, gtop, rtop, mtop,
                       ctop, qb)
                aB[top] = cb
                aR[top] = crk
                top += 1
                pending = hold
                break
            if split:
                break
            # the layer is finished on this cell
            layer_cells[layer] += 1
            for j in range(nl):  # the layer's map on this cell, transposed: AT (k x nl), cv
                f = 1.0 if cb[base + j] else slope
                for c in range(k):
                    AT[c, j] = rM[m0 + j, c] * f
                cv[j] = rm[m0 + j] * f
            if want_ranks:
                crk[layer] = _rank(AT, k, nl, gram, linv) if nl > 0 and k > 0 else 0
            if layer == L - 1:
                if n == out_bits.shape[0]:
                    out_bits = _grow2(out_bits, n + 1)
                    out_c = _grow2(out_c, n + 1)
                    out_r = _grow1(out_r, n + 1)
                    out_rank = _grow2(out_rank, n + 1)
                out_r[n] = _ball(aV, v0, p, aG, aH, g0, r, k, centre)
                out_c[n] = centre
                out_bits[n] = cb
                out_rank[n] = crk
                if want_rows:
                    if roffs.shape[0] < n + 2:
                        roffs = _grow1(roffs, n + 2)
                    need = nrows + r
                    if need > rows.shape[0]:
                        rows = _grow2(rows, need)
                    rows[nrows:need, :k] = aG[g0:g0 + r]
                    rows[nrows:need, k] = aH[g0:g0 + r]
                    nrows = need
                    roffs[n + 1] = nrows
                n += 1
                break
            # pull the next layer back through this cell's map: a new layer record
            nl2 = Wshapes[layer + 1, 0]
            wo = Woffs[layer + 1]
            WT = WTflat[wo:wo + nl2 * nl].reshape((nl, nl2))
            aWT = aWTflat[wo:wo + nl2 * nl].reshape((nl, nl2))
            b = bflat[boffs[layer + 1]:boffs[layer + 1] + nl2]
            for j in range(nl):
                absA[j] = abs(cv[j])
            for c in range(k):
                for j in range(nl):
                    absA[j] += abs(AT[c, j])
            if mtop + nl2 > rM.shape[0]:
                rM = _grow2(rM, mtop + nl2)
                rm = _grow1(rm, mtop + nl2)
                rsc = _grow1(rsc, mtop + nl2)
            if rtop + 1 > Rc.shape[0]:
                Rc = _grow2(Rc, rtop + 1)
            _pullback(WT, aWT, b, AT, cv, absA, nl, k, rM, rm, rsc, mtop, acc)
            Rc[rtop, 0] = mtop
            Rc[rtop, 1] = nl2
            Rc[rtop, 2] = ctop
            Rc[rtop, 3] = 0
            rec = rtop
            rtop += 1
            mtop += nl2
            layer += 1
            q = -1
    frontier = _pack_frontier(E, top, Rc, aV, aI, aS, aG, aH, aB, aR, rM, rm, rsc, rCut, rAc, rOc,
                              k, nw, nh, L)
    return Traversal(n, out_bits[:n], out_c[:n], out_r[:n], out_rank[:n], layer_cells, rows[:nrows],
                     roffs[:n + 1], pending, frontier)
