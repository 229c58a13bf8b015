"""A compiled depth-first traversal of the whole enumeration tree below one cell (vertex algorithm).

Runs LayerWise-NNCE (Drammis et al. 2024, §3, Alg. 1) entirely in compiled code: at each layer
it pulls the neurons back through the cell's affine map, decides constant and stable neurons from
the vertices, and splits the cell by each crossing hyperplane with the double-description step
described in :mod:`reluregions.geometry.kernels`; after the last hidden layer it records the
region. It stops after a budget of regions and returns the open frontier, so schedulers can hand
the rest of the subtree to other workers (dynamic splitting at any depth), or give it back whole
to the next call, which resumes the traversal where it stopped.

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

from .arenas import _NE, Frontier, _entry, _frontier_size, _pack_frontier, _push_frontier
from .kernels import _grow1, _grow2, njit
from .walk import (N_C, N_DEG, N_E, N_EU, N_G, N_M, N_NEED, N_OUT, N_RC, N_ROFFS, N_ROWS, N_S,
                   N_SALL, N_V, N_VT, S_N, S_NROWS, S_PENDING, S_TOP, _walk)

__all__ = ["dfs_packed", "Traversal", "Frontier", "VertexCell", "PackedNet", "Settings"]

#: What :func:`dfs_packed` returns: ``n`` regions (their ``bits``, certified ball ``centres`` and
#: ``radii``, ``ranks`` and, when asked, constraint ``rows`` with offsets ``roffs``), the cells
#: finished per layer, ``pending`` (1: the frontier's top cell waits for a decision) and the
#: open ``frontier``.
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
#: (ranks, constraint rows, and certified balls: a count needs none, its radii are then -1), the
#: budget, and ``kappa``, the largest ``|v - u| / (s_u - s_v)`` of a crossed edge a float split
#: accepts (above it the split is decided exactly).
Settings = namedtuple("Settings", ["zero_tol", "tol", "eps", "k", "want_ranks", "want_rows",
                                   "budget", "want_balls", "kappa"])


@njit(cache=True, nogil=True)
def dfs_packed(cell, below, first, net, settings, asked):
    """Traverse the subtree below one cell, and below the cells under it on the stack, until done
    or ``budget`` regions are recorded.

    The cell (a :class:`VertexCell`) is given as plain arrays: vertices ``V`` with incidences
    ``inc``, constraints ``G t <= h``, ``bits``, the pulled-back ``layer`` (``M``, ``m``,
    ``scale``), its position in the layer (``cut``, ``acut``, ``ocut``, ``q``; ``q = -1``: not
    started; ``S`` flat, the distances of the vertices to hyperplanes ``q, q + 1, ...`` of
    ``cut``, ``p`` per hyperplane), ``ranks`` and a ``force`` code. The cells ``first..`` of the
    frontier ``below`` (a :class:`Frontier` as this function returns it, top first; force codes
    0) lie under it on the stack and are traversed next, in that order, in the same call: so a
    traversal stopped by its budget resumes in one call, however many cells it left open. It
    also stops, with two cells or more open and one cell expanded, once ``asked[0]`` is nonzero:
    another thread (a scheduler whose worker waits for work) may raise it at any time, and the
    open cells can then be shared.
    Hidden weights come transposed and flat (layer ``l``'s ``W.T`` and
    ``|W|.T`` at ``WTflat[Woffs[l]:Woffs[l + 1]]``/``aWTflat[...]``, ``W`` of shape
    ``Wshapes[l]``; biases at ``bflat[boffs[l]:boffs[l + 1]]``).

    Float decides a neuron only outside its uncertain band (DESIGN.md §1): it keeps one bit when
    every vertex lies beyond ``eps`` plus the rounding bound of its row on one side, and it splits
    the cell when it crosses and both children hold a certified ball (rounding included, so any
    positive radius is a proof) around their vertex centroids and no crossed edge is nearly
    parallel to it (``kappa``). Anything else (a side whose vertices all lie within that margin,
    a child's certified ball not positive, an ill-conditioned crossing) stops the traversal with
    the cell on top of the frontier and ``pending = 1``: the caller settles it (exactly where
    float cannot) and sets the cell's force code (1: both sides; 2: no split, bit 1; 3: no
    split, bit 0). Force code 1 splits lazily: each child keeps every vertex of the cell (a
    superset of itself, since float vertices need not represent a sliver faithfully) and gains
    the new constraint row.

    Returns a :class:`Traversal`: the ``n`` regions (``rows`` holds each one's constraints
    ``[G | h]`` when ``want_rows``, region ``i`` at ``roffs[i]:roffs[i + 1]``), the cells finished
    per layer, and the open frontier packed flat (a :class:`Frontier`).
    """
    V, inc, G, h, bits, layer, M, m, scale, S, cut, acut, ocut, q, ranks, force = cell
    WTflat, aWTflat, Woffs, Wshapes, bflat, boffs, offsets, slope = net
    k = settings.k
    want_rows = settings.want_rows
    L = len(offsets) - 1
    nh = offsets[L]
    nw = inc.shape[1]
    nmax = 1
    for i in range(L):
        nmax = max(nmax, offsets[i + 1] - offsets[i])
    # arenas: room for the cells below, and then as for the cell alone
    bp, bs, br, bl, bc = _frontier_size(below, first)
    nb = below.meta.shape[0] - first
    p = V.shape[0]
    r = G.shape[0]
    nl = M.shape[0]
    nc = cut.shape[0]
    aV = np.empty((bp + max(256, 8 * p), k))
    aI = np.empty((aV.shape[0], nw), np.uint64)
    aS = np.empty(bs + max(4096, 8 * p * nmax, 2 * S.shape[0]))
    aG = np.empty((br + max(256, 4 * r), k))
    aH = np.empty(aG.shape[0])
    rM = np.empty((bl + max(64, 4 * nmax), k))
    rm = np.empty(rM.shape[0])
    rsc = np.empty(rM.shape[0])
    rCut = np.empty(bc + rM.shape[0], np.int64)
    rAc = np.empty((rCut.shape[0], k))
    rOc = np.empty(rCut.shape[0])
    Rc = np.empty((nb + 16, 4), np.int64)
    E = np.empty((nb + 64, _NE), np.int64)
    aB = np.empty((E.shape[0], nh), np.bool_)
    aR = np.empty((E.shape[0], L), np.int64)
    # scratch
    cb = np.empty(nh, np.bool_)
    crk = np.empty(L, np.int64)
    norms = np.empty(nmax)
    live = np.empty(nmax, np.bool_)
    iscut = np.empty(nmax, np.bool_)
    near = np.empty(nmax, np.bool_)
    arow = np.empty((1, k))
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
    # the cells below, then the given cell on top (its own layer record, the newest)
    e, v0, s0, g0, rec, m0, c0 = _push_frontier(below, first, E, Rc, aV, aI, aS, aG, aH, aB, aR,
                                                rM, rm, rsc, rCut, rAc, rOc)
    ns = S.shape[0]
    aV[v0:v0 + p] = V
    aI[v0:v0 + p] = inc
    aS[s0:s0 + ns] = S
    aG[g0:g0 + r] = G
    aH[g0:g0 + r] = h
    rM[m0:m0 + nl] = M
    rm[m0:m0 + nl] = m
    rsc[m0:m0 + nl] = scale
    rCut[c0:c0 + nc] = cut
    rAc[c0:c0 + nc] = acut
    rOc[c0:c0 + nc] = ocut
    Rc[rec, 0] = m0
    Rc[rec, 1] = nl
    Rc[rec, 2] = c0
    Rc[rec, 3] = nc
    _entry(E, e, v0, p, s0, g0, r, layer, q, force, rec, v0 + p, s0 + ns, g0 + r, rec + 1,
           m0 + nl, c0 + nc, q)
    aB[e] = bits
    aR[e] = ranks
    st = np.zeros(4, np.int64)  # the stack's top, regions, result rows, pending (walk.py)
    st[S_TOP] = e + 1
    need = np.zeros(N_NEED, np.int64)
    fixed = (cb, crk, norms, live, iscut, near, arow, gram, linv, AT, acc, cv, absA, common, centre)
    while _walk((aV, aI, aS, aG, aH, rM, rm, rsc, rCut, rAc, rOc, Rc, E, aB, aR),
                (Sall, VT, deg, eu, ev, lam), (out_bits, out_c, out_r, out_rank, rows, roffs),
                fixed, net, settings, gamma, layer_cells, st, need, asked):
        # an array is too small for the next step: grow what is short, then resume
        aV, aI, aS = _fit2(aV, need[N_V]), _fit2(aI, need[N_V]), _fit1(aS, need[N_S])
        aG, aH = _fit2(aG, need[N_G]), _fit1(aH, need[N_G])
        rM, rm, rsc = _fit2(rM, need[N_M]), _fit1(rm, need[N_M]), _fit1(rsc, need[N_M])
        rCut, rAc, rOc = _fit1(rCut, need[N_C]), _fit2(rAc, need[N_C]), _fit1(rOc, need[N_C])
        Rc = _fit2(Rc, need[N_RC])
        E, aB, aR = _fit2(E, need[N_E]), _fit2(aB, need[N_E]), _fit2(aR, need[N_E])
        out_bits, out_c = _fit2(out_bits, need[N_OUT]), _fit2(out_c, need[N_OUT])
        out_r, out_rank = _fit1(out_r, need[N_OUT]), _fit2(out_rank, need[N_OUT])
        rows, roffs = _fit2(rows, need[N_ROWS]), _fit1(roffs, need[N_ROFFS])
        # scratch: contents not kept
        if need[N_SALL] > Sall.shape[0]:
            Sall = np.empty(2 * need[N_SALL])
        if need[N_VT] > VT.shape[1]:
            VT = np.empty((k, 2 * need[N_VT]))
        if need[N_DEG] > deg.shape[0]:
            deg = np.empty(2 * need[N_DEG], np.int64)
        if need[N_EU] > eu.shape[0]:
            eu = np.empty(2 * need[N_EU], np.int64)
            ev = np.empty(2 * need[N_EU], np.int64)
            lam = np.empty(2 * need[N_EU])
    top, n, nrows, pending = st[S_TOP], st[S_N], st[S_NROWS], st[S_PENDING]
    frontier = _pack_frontier(E, top, Rc, aV, aI, aS, aG, aH, aB, aR, rM, rm, rsc, rCut, rAc, rOc,
                              k, nw, nh, L)
    return Traversal(n, out_bits[:n], out_c[:n], out_r[:n], out_rank[:n], layer_cells, rows[:nrows],
                     roffs[:n + 1], pending, frontier)


@njit(cache=True)
def _fit1(a, n):
    """``a`` (1-d) with room for ``n`` entries: itself, or grown (contents kept)."""
    return a if n <= a.shape[0] else _grow1(a, n)


@njit(cache=True)
def _fit2(a, n):
    """``a`` (2-d) with room for ``n`` rows: itself, or grown (contents kept)."""
    return a if n <= a.shape[0] else _grow2(a, n)
