"""The loop of the vertex traversal (:func:`reluregions.geometry.dfs.dfs_packed`), compiled.

LayerWise-NNCE below one cell (Drammis et al. 2024, §3, Alg. 1) with the double-description split
of :mod:`reluregions.geometry.ddstep`, on the arenas described in :mod:`reluregions.geometry.dfs`.

:func:`_walk` never replaces an array: where an arena (or a scratch array) is too small for the
next step, it puts the cell it works on back on top of the stack, exactly as it stands (the state
a held cell keeps, force code included), writes the sizes it needs into ``need`` and returns
``True``; the caller grows the arrays and calls it again, which resumes from that cell. The step
is repeated from its start, so nothing is done twice. A loop whose arrays may be replaced inside it
pays numba's reference counting (atomic increments and decrements on every array that is merged
at a join) on each iteration, about half of the traversal's time on vdp; a loop that only reads
and writes into them pays nothing.
"""
from __future__ import annotations

import numpy as np

from .arenas import (_CT, _FORCE, _G0, _GT, _LAYER, _MT, _P, _Q, _QB, _R, _REC, _RT, _S0, _ST,
                     _V0, _VT, _entry)
from .ddstep import _add_row, _ball, _children, _distances, _edges, _row_error, _sides
from .kernels import _pullback, _rank, njit

__all__: list[str] = []

# what ``need`` holds: rows (or entries) wanted of each group of arrays
(N_V, N_S, N_G, N_M, N_C, N_RC, N_E, N_SALL, N_VT, N_DEG, N_EU, N_OUT, N_ROWS,
 N_ROFFS) = range(14)
N_NEED = 14
# what ``st`` holds: the stack's top, regions recorded, result rows used, the pending code
S_TOP, S_N, S_NROWS, S_PENDING = range(4)


@njit(cache=True, nogil=True, inline="always")
def _conditioning(aV, aS, v0, col, eu, ev, n_new, k):
    """The largest ``|v - u| / (s_u - s_v)`` over the ``n_new`` crossed edges ``(u, v)``."""
    worst = 0.0
    for e in range(n_new):
        u = v0 + eu[e]
        v = v0 + ev[e]
        d2 = 0.0
        for c in range(k):
            d = aV[v, c] - aV[u, c]
            d2 += d * d
        kap = np.sqrt(d2) / (aS[col + eu[e]] - aS[col + ev[e]])
        if kap > worst:
            worst = kap
    return worst


@njit(cache=True, nogil=True, inline="always")
def _push_bits(B, R, i, cb, crk, nh, L):
    """Row ``i`` of ``B`` and ``R`` from the bits ``cb`` and ranks ``crk``, element by element."""
    for x in range(nh):
        B[i, x] = cb[x]
    for x in range(L):
        R[i, x] = crk[x]


@njit(cache=True, nogil=True)
def _walk(arenas, scratch, outs, fixed, net, settings, gamma, layer_cells, st, need, asked):
    """Run the traversal from the stack ``E[:st[S_TOP]]`` until it is empty, ``budget`` regions
    are recorded, ``asked[0]`` is raised while two cells or more are open (another worker waits
    for a share of them; one cell is expanded first, asked or not), a cell waits for a decision (``st[S_PENDING]``, see
    :func:`~reluregions.geometry.dfs.dfs_packed`) or an array is too small: then ``need`` says
    how large each must be, the cell is back on the stack, and the result is ``True``."""
    aV, aI, aS, aG, aH, rM, rm, rsc, rCut, rAc, rOc, Rc, E, aB, aR = arenas
    Sall, VT, deg, eu, ev, lam = scratch
    out_bits, out_c, out_r, out_rank, rows, roffs = outs
    cb, crk, norms, live, iscut, near, arow, gram, linv, AT, acc, cv, absA, common, centre = fixed
    WTflat, aWTflat, Woffs, Wshapes, bflat, boffs, offsets, slope = net
    zero_tol, tol, eps, k, want_ranks, want_rows, budget, want_balls, kappa = settings
    L = len(offsets) - 1
    nh = offsets[L]
    top = st[S_TOP]
    n = st[S_N]
    nrows = st[S_NROWS]
    pending = st[S_PENDING]
    grow = False
    popped = False  # a call expands one cell at least, asked or not
    while top > 0 and n < budget and pending == 0 and not grow and (
            top < 2 or not popped or asked[0] == 0):
        popped = True
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
        for x in range(nh):  # element by element: a row view would cost two atomic operations
            cb[x] = aB[e, x]
        for x in range(L):
            crk[x] = aR[e, x]
        while True:
            base = offsets[layer]
            m0 = Rc[rec, 0]
            nl = Rc[rec, 1]
            if q < 0:
                # start the layer (its record is the newest): constant and stable neurons, then
                # the crossing ones, whose distances are stored for this cell
                grow = (Sall.shape[0] < p * nl or VT.shape[1] < p or aG.shape[0] < gtop + nl
                        or rCut.shape[0] < ctop + nl or aS.shape[0] < stop + p * nl)
                if grow:
                    need[N_SALL] = p * nl
                    need[N_VT] = p
                    need[N_G] = gtop + nl
                    need[N_C] = ctop + nl
                    need[N_S] = stop + p * nl
            if q < 0 and not grow:
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
                ncut = _distances(rM, rm, rsc, m0, nl, aV, v0, p, k, tol, eps, gamma, norms, live,
                                  VT, Sall, iscut, cb, base, near)
                # neurons that keep one sign but graze the cell bound the region: their rows
                for j in range(nl):
                    if near[j]:
                        for c in range(k):
                            arow[0, c] = rM[m0 + j, c] / norms[j]
                        _add_row(aG, aH, gtop, arow, 0, rm[m0 + j] / norms[j],
                                 _row_error(rM, rsc, m0 + j, k, gamma), k, cb[base + j])
                        gtop += 1
                        r += 1
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
            while q < nc and not grow:
                if gtop + 1 > aG.shape[0]:  # room for the row of a grazing hyperplane
                    need[N_G] = gtop + 1
                    grow = True
                    break
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
                        _add_row(aG, aH, gtop, rAc, c0 + q, rOc[c0 + q],
                                 _row_error(rM, rsc, m0 + j, k, gamma), k, keep == 1)
                        gtop += 1
                        r += 1
                    q += 1
                    continue
                lazy = force == 1
                if lazy:
                    # both sides proved full-dimensional where float could not decide (a sliver
                    # thinner than the margin, a thin child, an ill-conditioned crossing): the
                    # float split's vertices may miss part of a side (intersections of nearly
                    # parallel hyperplanes are placed by rounding noise), so each child keeps
                    # every vertex of the cell, a superset of itself, with the new constraint
                    # row; every later decision on it is then conservative or certified
                    n_pos = p
                    n_neg = p
                    n_new = 0
                else:
                    # split: the edges crossed, then the two children above the arena tops
                    n_pos, n_neg = _sides(aS, col, p, eps)
                    if deg.shape[0] < p or eu.shape[0] < n_pos * n_neg:
                        need[N_DEG] = p
                        need[N_EU] = n_pos * n_neg
                        grow = True
                        break
                    n_new = _edges(aI, aS, v0, p, col, eps, k, deg, common, eu, ev, (r + 63) >> 6)
                    if _conditioning(aV, aS, v0, col, eu, ev, n_new, k) > kappa:
                        # a crossed edge nearly parallel to the hyperplane: the new vertex's
                        # place along it is not resolved by float; decided exactly
                        hold = 1
                        break
                n_zero = 0 if lazy else p - n_pos - n_neg
                pa = n_pos + n_zero + n_new
                na = n_neg + n_zero + n_new
                ncol = nc - q - 1
                if (vtop + pa + na > aV.shape[0] or stop + (pa + na) * ncol > aS.shape[0]
                        or gtop + 2 * (r + 1) > aG.shape[0] or top + 2 > E.shape[0]):
                    need[N_V] = vtop + pa + na
                    need[N_S] = stop + (pa + na) * ncol
                    need[N_G] = gtop + 2 * (r + 1)
                    need[N_E] = top + 2
                    grow = True
                    break
                cid = r  # incidence bits are constraint rows
                vn0 = vtop
                vp0 = vn0 + na
                sn0 = stop
                sp0 = sn0 + na * ncol
                _children(aV, aI, aS, v0, p, col, ncol, eps, k, cid, eu, ev, lam, n_new, vn0, vp0,
                          sn0, sp0, na, pa, lazy)
                gn0 = gtop
                gp0 = gtop + r + 1
                for i in range(r):
                    for c in range(k):
                        aG[gn0 + i, c] = aG[g0 + i, c]
                        aG[gp0 + i, c] = aG[g0 + i, c]
                    aH[gn0 + i] = aH[g0 + i]
                    aH[gp0 + i] = aH[g0 + i]
                err = _row_error(rM, rsc, m0 + j, k, gamma)
                _add_row(aG, aH, gn0 + r, rAc, c0 + q, rOc[c0 + q], err, k, False)
                _add_row(aG, aH, gp0 + r, rAc, c0 + q, rOc[c0 + q], err, k, True)
                # a certified ball (rounding included) of any positive radius proves a side
                if not lazy and (_ball(aV, vp0, pa, aG, aH, gp0, r + 1, k, centre) <= 0.0
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
                    _push_bits(aB, aR, top, cb, crk, nh, L)
                    aB[top, base + j] = side == 1
                    top += 1
                split = True
                break
            if not grow and hold == 0 and not split:
                # the layer is finished on this cell: room for its region or the next layer?
                if layer == L - 1:
                    if out_bits.shape[0] < n + 1 or (want_rows and (
                            roffs.shape[0] < n + 2 or rows.shape[0] < nrows + r)):
                        need[N_OUT] = n + 1
                        need[N_ROFFS] = n + 2 if want_rows else 0
                        need[N_ROWS] = nrows + r if want_rows else 0
                        grow = True
                elif rM.shape[0] < mtop + Wshapes[layer + 1, 0] or Rc.shape[0] < rtop + 1:
                    need[N_M] = mtop + Wshapes[layer + 1, 0]
                    need[N_RC] = rtop + 1
                    grow = True
            if grow or hold > 0:
                # the cell goes back on top of the stack: to be decided, or resumed once the
                # arrays are grown (with its force code, which it has not used yet)
                _entry(E, top, v0, p, s0, g0, r, layer, q, 0 if hold > 0 else force, rec, vtop,
                       stop, gtop, rtop, mtop, ctop, qb)
                _push_bits(aB, aR, top, cb, crk, nh, L)
                top += 1
                pending = hold
                break
            if split:
                break
            layer_cells[layer] += 1
            for j in range(nl):  # the layer's map on this cell, transposed: AT (k x nl), cv
                f = 1.0 if cb[base + j] else slope
                for c in range(k):
                    AT[c, j] = rM[m0 + j, c] * f
                cv[j] = rm[m0 + j] * f
            if want_ranks:
                crk[layer] = _rank(AT, k, nl, gram, linv) if nl > 0 and k > 0 else 0
            if layer == L - 1:
                out_r[n] = -1.0  # a count: no ball wanted (-1: none computed)
                if want_balls:
                    out_r[n] = _ball(aV, v0, p, aG, aH, g0, r, k, centre)
                for c in range(k):
                    out_c[n, c] = centre[c] if want_balls else 0.0
                _push_bits(out_bits, out_rank, n, cb, crk, nh, L)
                if want_rows:
                    need_rows = nrows + r
                    rows[nrows:need_rows, :k] = aG[g0:g0 + r]
                    rows[nrows:need_rows, k] = aH[g0:g0 + r]
                    nrows = need_rows
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
    st[S_TOP] = top
    st[S_N] = n
    st[S_NROWS] = nrows
    st[S_PENDING] = pending
    return grow
