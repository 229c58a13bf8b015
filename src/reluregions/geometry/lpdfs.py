"""A compiled depth-first traversal with LPs: LayerWise-NNCE for mid dimensions (issues 14, 15).

Runs Drammis et al. 2024, §3, Alg. 1 below one cell entirely in compiled code, in the form of the
high-dimensional engine (:mod:`reluregions.enumeration.highd`, DESIGN.md §2): a cell is its cuts
(unit normals) inside the box ``[-1, 1]^k``, which is never a row but the LPs' column bounds, plus
a witness point strictly inside it (:mod:`reluregions.geometry.lpcell`). At each layer a neuron
whose interval bound over the box keeps one sign, ``tol`` clear, is decided at once; every other
one is tested on the cell (a *pass*, :mod:`reluregions.geometry.lpside`), by the rule of DESIGN.md
§1 (``tol`` is the band of float decisions):

* the side holding the witness needs nothing; the far side has an interior when the cell shrunk by
  ``tol`` reaches ``tol`` past the hyperplane, proved without an LP by a point of the cell's pool
  (witnesses its ancestors found) or by a ray from the witness, else by one LP of the compiled
  simplex; it has none when a dual bound over the cell grown by ``tol`` stays ``tol`` short of it;
* each compiled decision is certified ``band`` past its threshold. Anything else stops the
  traversal with ``pending = 1`` and the cell on top of the frontier: the caller settles that side
  (HiGHS, and the exact oracle inside the band) and hands the verdict back in the cell's *force
  table*. Tolerances never decide what a region is;
* a far side with no interior fixes the bit; where the hyperplane still crosses the shrunk cell its
  cut is kept (the witness moved inside it), as the high-dimensional engine does. A near side with
  none makes the cell its far side. A side the oracle settled is a *thin* cell, with the oracle's
  point as its witness.

After the pass the cell splits by the first crossing neuron; both children re-test only the other
crossing ones. A finished region gets a certified inscribed ball around its witness
(:func:`~reluregions.geometry.lpcell.region_ball`); a radius not above ``tol`` is left to the
caller. Open cells live in slots of a stack (a split writes its second child in the next slot):
at most ``n_hidden + 2`` cells of at most ``rows + n_hidden`` cuts, the slots and their rows grown
on demand. Layer maps are shared by every cell on the stack (cells below come from splits of this
path's ancestors), stored once per layer at the layer's neuron offset.
"""
from __future__ import annotations

import numpy as np

from .kernels import _grow1, _grow2, _pullback, _rank, njit
from .lpcell import MAX_POOL, certain_sign, child_pool, region_ball, screen, unit_row
from .lpside import CROSS, PENDING, probe, probe_thin

__all__ = ["lp_dfs", "MAX_POOL"]


@njit(cache=True, nogil=True)
def _grow3(a, n0, n1):
    """``a`` (3-d) with room for at least ``n0`` x ``n1`` on its first two axes, contents kept."""
    b = np.empty((max(n0, a.shape[0]), max(n1, a.shape[1]), a.shape[2]), a.dtype)
    b[:a.shape[0], :a.shape[1]] = a
    return b


@njit(cache=True, nogil=True)
def _grow2d(a, n0, n1):
    """``a`` (2-d) with room for at least ``n0`` x ``n1``, contents kept."""
    b = np.empty((max(n0, a.shape[0]), max(n1, a.shape[1])), a.dtype)
    b[:a.shape[0], :a.shape[1]] = a
    return b


@njit(cache=True, nogil=True)
def _layer_on_cell(rM, rm, base, nl, cb, slope, AT, cv):
    """The map to the layer's outputs on the cell, transposed (``AT``, ``k x nl``, and ``cv``):
    each neuron's row scaled by 1 or the leaky slope, as its bit says."""
    k = AT.shape[0]
    for j in range(nl):
        scale = 1.0 if cb[base + j] else slope
        for c in range(k):
            AT[c, j] = scale * rM[base + j, c]
        cv[j] = scale * rm[base + j]


@njit(cache=True, nogil=True)
def lp_dfs(G0, h0, w0, wr0, bits, layer0, maps_M, maps_m, maps_sc, todo0, ntodo0, pool0, ranks,
           ftab0, fx0, WTflat, aWTflat, Woffs, Wshapes, bflat, boffs, offsets, slope, zero_tol,
           tol, band, want_ranks, budget, max_iter):
    """Traverse the subtree below one cell until done, ``budget`` regions, or a side for the caller.

    The cell: cuts ``G0 t <= h0`` (unit normals), witness ``w0`` with a ball of radius ``wr0``
    inside the cell (``tol``: a wide cell; less: a thin one, :mod:`~.lpside`), ``bits``,
    ``layer0``, the maps of layers ``0..layer0`` on it (rows ``:offsets[layer0 + 1]`` of
    ``maps_M``/``maps_m``/``maps_sc``), the neurons of the layer still to test (``todo0``;
    ``ntodo0 = -1``: layer not started), its point pool, ``ranks`` of finished layers and its force
    table (``ftab0`` rows ``(neuron, key, rows, verdict, value)``, ``fx0`` the points;
    :mod:`~.lpside`). Weights as :func:`~reluregions.geometry.dfs.dfs_packed` takes them.

    Returns ``(n, bits, centres, radii, ranks, layer_cells, lps, pending, pkey, ftab, fx, meta, fG,
    fh, fW, fWR, fB, fR, fT, fP, maps_M, maps_m, maps_sc)``: the regions, cells finished per layer,
    LPs solved, whether the top frontier cell waits for the caller (``pkey``: neuron, the side's
    sign and what is asked, :mod:`~.lpside`; ``ftab``/``fx`` its force table), and the frontier,
    top first: ``meta[i] = (r, layer, ntodo, npool)``, the ``f*`` arrays the cells' parts one after
    the other (``fWR`` witness radii, ``fT`` todo lists, ``fP`` pools), and the maps every
    frontier cell shares (a cell at layer ``l`` reads rows ``:offsets[l + 1]``).
    """
    k = w0.shape[0]
    L = offsets.shape[0] - 1
    nh = offsets[L]
    nmax = 1
    for i in range(L):
        nmax = max(nmax, offsets[i + 1] - offsets[i])
    # slots and cuts per slot grow on demand (a path holds at most n_hidden + 2 cells of at most
    # rows + n_hidden cuts, but real paths are far shorter)
    S = min(nh + 2, 8)
    R = G0.shape[0] + min(nh + 1, 8)
    SG = np.empty((S, R, k))
    SH = np.empty((S, R))
    SW = np.empty((S, k))
    SB = np.empty((S, nh), np.bool_)
    SR = np.empty((S, L), np.int64)
    ST = np.empty((S, nmax), np.int64)
    SP = np.empty((S, MAX_POOL, k))
    NR = np.empty(S, np.int64)
    LY = np.empty(S, np.int64)
    NT = np.empty(S, np.int64)
    NP = np.empty(S, np.int64)
    WR = np.empty(S)  # the radius of a ball around the slot's witness inside its cell
    rM = np.empty((nh, k))
    rm = np.empty(nh)
    rsc = np.empty(nh)
    nm = maps_M.shape[0]
    rM[:nm] = maps_M
    rm[:nm] = maps_m
    rsc[:nm] = maps_sc
    # scratch
    B = np.empty((4, k))  # the box shrunk by tol (lower, upper), then grown by tol
    B[0] = -1.0 + tol
    B[1] = 1.0 - tol
    B[2] = -1.0 - tol
    B[3] = 1.0 + tol
    hs = np.empty(R)
    arow = np.empty(k)
    frow = np.empty(k)
    nrow = np.empty(k)
    d = np.empty(k)
    x = np.empty(k)
    tmp = np.empty(k)
    far_w = np.empty(k)
    near_w = np.empty(k)
    res = np.zeros(3, np.int64)
    rad = np.zeros(3)
    cb = np.empty(nh, np.bool_)
    crk = np.empty(L, np.int64)
    cj = np.empty(nmax, np.int64)
    cs = np.empty(nmax)
    cr = np.empty(nmax, np.int64)
    cw = np.empty((nmax, 2))
    CF = np.empty((nmax, k))
    CN = np.empty((nmax, k))
    Q = np.empty((MAX_POOL + 1 + 2 * nmax, k))
    gram = np.empty((k, k))
    linv = np.empty((k, k))
    AT = np.empty((k, nmax))
    cv = np.empty(nmax)
    absA = np.empty(nmax)
    acc = np.empty((k + 2, nmax))
    gamma = 2.0 ** -51 * (nh + k + 8)  # rounding of a pulled-back row (as the vertex traversal)
    ftab = ftab0
    fx = fx0
    nf = ftab.shape[0]  # the caller's verdicts, for the given cell as it stands
    lps = np.zeros(1, np.int64)
    # outputs
    out_bits = np.empty((64, nh), np.bool_)
    out_c = np.empty((64, k))
    out_r = np.empty(64)
    out_rank = np.empty((64, L), np.int64)
    layer_cells = np.zeros(L, np.int64)
    n = 0
    pending = 0
    pkey = np.zeros(3, np.int64)
    # the given cell in slot 0
    r = G0.shape[0]
    SG[0, :r] = G0
    SH[0, :r] = h0
    SW[0] = w0
    WR[0] = wr0
    SB[0] = bits
    SR[0] = ranks
    NR[0] = r
    LY[0] = layer0
    NT[0] = ntodo0
    if ntodo0 > 0:
        ST[0, :ntodo0] = todo0[:ntodo0]
    NP[0] = pool0.shape[0]
    SP[0, :pool0.shape[0]] = pool0
    top = 1
    while top > 0 and n < budget and pending == 0:
        top -= 1
        e = top
        G = SG[e]
        h = SH[e]
        w = SW[e]
        P = SP[e]
        todo = ST[e]
        r = NR[e]
        layer = LY[e]
        ntodo = NT[e]
        npool = NP[e]
        wr = WR[e]
        cb[:] = SB[e]
        crk[:] = SR[e]
        while True:
            base = offsets[layer]
            nl = offsets[layer + 1] - base
            if ntodo < 0:
                ntodo = screen(rM, rm, rsc, base, nl, w, zero_tol, tol, cb, todo)
            # the pass: every open neuron tested once on this cell; then the split by the first
            # neuron still crossing, tested again if a cut joined the rows after its test
            ncross = 0
            pos = 0
            ci = 0
            code = -1
            split = False
            while True:
                retest = pos >= ntodo
                if not retest:
                    j = todo[pos]
                elif ci == ncross:
                    break
                elif cr[ci] == r:
                    split = True
                    break
                else:
                    j = cj[ci]
                if r + 2 > SG.shape[1]:  # room for one more cut in every slot
                    SG, SH = _grow3(SG, 0, 2 * r + 2), _grow2d(SH, 0, 2 * r + 2)
                    hs = np.empty(SG.shape[1])
                    G, h = SG[e], SH[e]
                off = unit_row(rM, rm, base + j, arow)
                if wr >= tol:
                    code, s, r = probe(G, h, r, w, arow, off, j, tol, band, B, P, npool, ftab, fx,
                                       nf, max_iter, hs, frow, nrow, d, x, tmp, far_w, near_w, lps,
                                       res, rad)
                else:
                    wsign, wmargin = (certain_sign(rM, rm, rsc, base + j, w, gamma) if wr > 0.0
                                      else (0.0, 0.0))
                    code, s, r = probe_thin(G, h, r, w, wr, arow, off, wsign, wmargin, j, tol, band,
                                            B, ftab, fx, nf, max_iter, hs, frow, nrow, x, far_w,
                                            near_w, lps, res, rad)
                if code == PENDING:
                    break
                if code != CROSS:  # the bit is decided
                    cb[base + j] = res[2] != 0
                    wr = rad[2]
                    if retest:
                        ci += 1
                    else:
                        pos += 1
                    continue
                i = ci if retest else ncross
                cs[i] = s
                CF[i] = far_w
                CN[i] = near_w
                cw[i, 0] = rad[0]
                cw[i, 1] = rad[1]
                if retest:
                    split = True
                    break
                cj[ncross], cr[ncross] = j, r
                ncross += 1
                pos += 1
            if code == PENDING:
                pending = 1
                pkey[0], pkey[1], pkey[2] = j, res[0], res[1]
            if pending:
                # back on the stack as it stands: the crossing neurons found, then the untested
                nt = 0
                first = ci if ncross > 0 and ci < ncross and pos >= ntodo else 0
                for i in range(first, ncross):
                    cj[nt] = cj[i]
                    nt += 1
                for i in range(pos, ntodo):
                    cj[nt] = todo[i]
                    nt += 1
                todo[:nt] = cj[:nt]
                NR[e] = r
                LY[e] = layer
                NT[e] = nt
                NP[e] = npool
                WR[e] = wr
                SB[e] = cb
                SR[e] = crk
                top = e + 1
                break
            if split:
                nf = 0
                if e + 2 > SG.shape[0]:  # a slot for the second child
                    n0 = 2 * SG.shape[0]
                    SG, SH, SW = _grow3(SG, n0, 0), _grow2d(SH, n0, 0), _grow2d(SW, n0, 0)
                    SB, SR, ST = _grow2d(SB, n0, 0), _grow2d(SR, n0, 0), _grow2d(ST, n0, 0)
                    SP, NR, LY = _grow3(SP, n0, 0), _grow1(NR, n0), _grow1(LY, n0)
                    NT, NP, WR = _grow1(NT, n0), _grow1(NP, n0), _grow1(WR, n0)
                    G, h, w, P, todo = SG[e], SH[e], SW[e], SP[e], ST[e]
                j = cj[ci]
                s = cs[ci]
                # the children's pool: this cell's, its witness, the pass's witnesses
                nq = 0
                for i in range(npool):
                    Q[nq] = P[i]
                    nq += 1
                Q[nq] = w
                nq += 1
                for i in range(ncross):
                    Q[nq] = CF[i]
                    Q[nq + 1] = CN[i]
                    nq += 2
                nrest = ncross - ci - 1
                off = unit_row(rM, rm, base + j, frow)
                for c in range(k):
                    frow[c] *= s
                # near child in slot e + 1, far child in slot e (it extends the rows in place)
                f = e + 1
                SG[f, :r] = G[:r]
                SH[f, :r] = h[:r]
                for c in range(k):
                    SG[f, r, c] = -frow[c]
                SH[f, r] = s * off
                NR[f] = r + 1
                SW[f] = CN[ci]
                SB[f] = cb
                SB[f, base + j] = s > 0.0
                SR[f] = crk
                LY[f] = layer
                NT[f] = nrest
                ST[f, :nrest] = cj[ci + 1:ncross]
                WR[f] = cw[ci, 1]
                NP[f] = child_pool(SP[f], SG[f, r], SH[f, r], tol, Q, nq) if cw[ci, 1] >= tol else 0
                G[r] = frow
                h[r] = -s * off
                NR[e] = r + 1
                SW[e] = CF[ci]
                SB[e] = cb
                SB[e, base + j] = s < 0.0
                SR[e] = crk
                LY[e] = layer
                NT[e] = nrest
                todo[:nrest] = cj[ci + 1:ncross]
                WR[e] = cw[ci, 0]
                NP[e] = child_pool(P, G[r], h[r], tol, Q, nq) if cw[ci, 0] >= tol else 0
                top = e + 2
                break
            # the layer is finished on this cell
            layer_cells[layer] += 1
            nf = 0
            _layer_on_cell(rM, rm, base, nl, cb, slope, AT, cv)
            if want_ranks:
                crk[layer] = _rank(AT, k, nl, gram, linv) if nl > 0 and k > 0 else 0
            if layer == L - 1:
                if n == out_r.shape[0]:  # room for twice as many regions
                    out_bits, out_c = _grow2(out_bits, n + 1), _grow2(out_c, n + 1)
                    out_r, out_rank = _grow1(out_r, n + 1), _grow2(out_rank, n + 1)
                out_r[n] = region_ball(G, h, r, w, rM, rm, rsc, nh, cb, zero_tol, gamma)
                out_c[n] = w
                out_bits[n] = cb
                out_rank[n] = crk
                n += 1
                break
            for j in range(nl):  # each output's magnitude sum on the cell
                mag = abs(cv[j])
                for c in range(k):
                    mag += abs(AT[c, j])
                absA[j] = mag
            lo, n2, b0 = Woffs[layer + 1], Wshapes[layer + 1, 0], boffs[layer + 1]
            _pullback(WTflat[lo:lo + nl * n2].reshape((nl, n2)),
                      aWTflat[lo:lo + nl * n2].reshape((nl, n2)), bflat[b0:b0 + n2], AT, cv, absA,
                      nl, k, rM, rm, rsc, offsets[layer + 1], acc)
            layer += 1
            ntodo = -1
    # the open frontier, top of the stack first
    nf_out = nf if pending else 0
    meta = np.empty((top, 4), np.int64)
    tr = tt = tp = 0
    maxl = -1
    for i in range(top):
        e = top - 1 - i
        meta[i, 0] = NR[e]
        meta[i, 1] = LY[e]
        meta[i, 2] = NT[e]
        meta[i, 3] = NP[e]
        tr += NR[e]
        tt += max(NT[e], 0)
        tp += NP[e]
        maxl = max(maxl, LY[e])
    fG = np.empty((tr, k))
    fh = np.empty(tr)
    fW = np.empty((top, k))
    fWR = np.empty(top)
    fB = np.empty((top, nh), np.bool_)
    fR = np.empty((top, L), np.int64)
    fT = np.empty(tt, np.int64)
    fP = np.empty((tp, k))
    ir = it = ip = 0
    for i in range(top):
        e = top - 1 - i
        r, nt, npl = NR[e], max(NT[e], 0), NP[e]
        fG[ir:ir + r] = SG[e, :r]
        fh[ir:ir + r] = SH[e, :r]
        fW[i] = SW[e]
        fWR[i] = WR[e]
        fB[i] = SB[e]
        fR[i] = SR[e]
        fT[it:it + nt] = ST[e, :nt]
        fP[ip:ip + npl] = SP[e, :npl]
        ir += r
        it += nt
        ip += npl
    nmap = offsets[maxl + 1] if maxl >= 0 else 0
    return (n, out_bits[:n], out_c[:n], out_r[:n], out_rank[:n], layer_cells, lps[0], pending,
            pkey, ftab[:nf_out], fx[:nf_out], meta, fG, fh, fW, fWR, fB, fR, fT, fP,
            rM[:nmap].copy(), rm[:nmap].copy(), rsc[:nmap].copy())
