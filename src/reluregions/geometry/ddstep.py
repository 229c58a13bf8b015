"""The double-description step of the vertex traversal, compiled (DESIGN.md §2, "LP-free splitting
in low dimension"; the method is described in :mod:`reluregions.geometry.kernels`).

Each function works on the traversal's arenas (see :mod:`reluregions.geometry.dfs`): signed
distances of a cell's vertices to a layer's hyperplanes (:func:`_distances`), the edges a
hyperplane crosses (:func:`_edges`), how many vertices lie off it on each side (:func:`_sides`),
both children of a split (:func:`_children`), a certified inscribed ball around a vertex centroid
(:func:`_ball`), and a neuron's half-space with its offset tightened by a bound on its rounding
(:func:`_row_error`, :func:`_add_row`).
"""
from __future__ import annotations

import numpy as np

from .kernels import _least_slack, _popcount, njit

__all__: list[str] = []


@njit(cache=True)
def _no_superset(aI, v0, p, common, u, v, nw):
    """True when no vertex of ``aI[v0:v0 + p]`` but ``u``, ``v`` is tight at all of ``common``
    (its first ``nw`` words)."""
    for x in range(v0, v0 + p):
        if x == u or x == v:
            continue
        sup = True
        for w in range(nw):
            if (aI[x, w] & common[w]) != common[w]:
                sup = False
                break
        if sup:
            return False
    return True


@njit(cache=True)
def _edges(aI, aS, v0, p, col, eps, k, deg, common, eu, ev, nw):
    """Edges of the cell crossed by the hyperplane whose vertex distances start at ``aS[col]``.

    Writes the vertex pairs into ``eu``/``ev`` (which must hold ``n_pos * n_neg`` entries) and
    returns their number. Two vertices span an edge when they share at least ``k - 1`` tight
    constraints and no third vertex is tight at all of them; a simple vertex and a vertex sharing
    ``k - 1`` of its constraints need no further test. Only the first ``nw`` words of the
    incidences are read (the cell's constraints).
    """
    for u in range(p):
        d = 0
        for w in range(nw):
            d += _popcount(aI[v0 + u, w])
        deg[u] = d
    n_new = 0
    for u in range(p):
        if aS[col + u] <= eps:
            continue
        for v in range(p):
            if aS[col + v] >= -eps:
                continue
            cnt = 0
            for w in range(nw):
                common[w] = aI[v0 + u, w] & aI[v0 + v, w]
                cnt += _popcount(common[w])
            if cnt < k - 1:
                continue
            if deg[u] == k or deg[v] == k or _no_superset(aI, v0, p, common, v0 + u, v0 + v, nw):
                eu[n_new] = u
                ev[n_new] = v
                n_new += 1
    return n_new


@njit(cache=True)
def _sides(aS, col, p, eps):
    """How many of the ``p`` vertex distances from ``aS[col]`` lie beyond ``eps`` on the positive
    side, and how many on the negative side (the rest lie on the hyperplane)."""
    n_pos = 0
    n_neg = 0
    for u in range(col, col + p):
        if aS[u] > eps:
            n_pos += 1
        elif aS[u] < -eps:
            n_neg += 1
    return n_pos, n_neg


@njit(cache=True, inline="always")
def _copy_vertex(aV, aI, src, dst, k, nwp, nw, word, bit, on_plane):
    """Copy vertex row ``src`` to ``dst`` (``nwp`` incidence words, zeroing up to ``nw``); a vertex
    on the splitting hyperplane gains its bit."""
    for c in range(k):
        aV[dst, c] = aV[src, c]
    for w in range(nwp):
        aI[dst, w] = aI[src, w]
    if nw > nwp:
        aI[dst, nwp] = 0
    if on_plane:
        aI[dst, word] |= bit


@njit(cache=True, inline="always")
def _children(aV, aI, aS, v0, p, col, ncol, eps, k, cid, eu, ev, lam, n_new, dn, dp, sn, sp,
              na, pa, lazy):
    """Write both children of a split: vertices from rows ``dn`` (negative side) and ``dp``
    (positive side), and their distances to the ``ncol`` hyperplanes after the splitting one
    (column-major from ``sn``/``sp``; the parent's follow its splitting column ``col``).

    Vertices within ``eps`` of the hyperplane go to both children and gain its bit ``cid`` (the
    new constraint's row: the parent's incidences use the words below ``(cid + 63) // 64`` only,
    the children's one more when ``cid`` starts a word); each crossed edge gives a new vertex of
    both, interpolated (exactly, for affine functions). A ``lazy`` split (``n_new = 0``) gives
    both children every vertex of the cell, none marked on the hyperplane.
    """
    nwp = (cid + 63) >> 6
    nw = (cid + 64) >> 6
    word = cid >> 6
    bit = np.uint64(1) << np.uint64(cid & 63)
    i_n = dn
    i_p = dp
    for u in range(p):
        s = aS[col + u]
        if lazy or s >= -eps:
            _copy_vertex(aV, aI, v0 + u, i_p, k, nwp, nw, word, bit, not lazy and s <= eps)
            i_p += 1
        if lazy or s <= eps:
            _copy_vertex(aV, aI, v0 + u, i_n, k, nwp, nw, word, bit, not lazy and s >= -eps)
            i_n += 1
    for e in range(n_new):
        u = v0 + eu[e]
        v = v0 + ev[e]
        su = aS[col + eu[e]]
        t = su / (su - aS[col + ev[e]])
        lam[e] = t
        for c in range(k):
            x = aV[u, c] + t * (aV[v, c] - aV[u, c])
            aV[i_p, c] = x
            aV[i_n, c] = x
        for w in range(nwp):
            y = aI[u, w] & aI[v, w]
            aI[i_p, w] = y
            aI[i_n, w] = y
        if nw > nwp:
            aI[i_p, nwp] = 0
            aI[i_n, nwp] = 0
        aI[i_p, word] |= bit
        aI[i_n, word] |= bit
        i_p += 1
        i_n += 1
    for cc in range(ncol):
        src = col + (cc + 1) * p
        on = sn + cc * na
        op = sp + cc * pa
        for u in range(p):
            s = aS[col + u]
            x = aS[src + u]
            if lazy or s >= -eps:
                aS[op] = x
                op += 1
            if lazy or s <= eps:
                aS[on] = x
                on += 1
        for e in range(n_new):
            x = aS[src + eu[e]]
            x = x + lam[e] * (aS[src + ev[e]] - x)
            aS[op] = x
            aS[on] = x
            op += 1
            on += 1


@njit(cache=True, inline="always")
def _ball(aV, v0, p, aG, aH, g0, r, k, centre):
    """Vertex centroid of rows ``v0:v0 + p`` (into ``centre``) and the radius of a ball around it
    inside ``G t <= h`` (rows ``g0:g0 + r``, unit norm): a lower bound on the Chebyshev radius.

    Each slack ``h_i - G_i centre`` is lowered by a bound on its rounding error, so the ball lies
    inside the polytope of the stored rows (whose offsets already carry their own error bound, see
    :func:`_row_error`)."""
    for c in range(k):
        centre[c] = 0.0
    for u in range(v0, v0 + p):
        for c in range(k):
            centre[c] += aV[u, c]
    for c in range(k):
        centre[c] /= p
    return _least_slack(aG, aH, g0, r, centre, k)


@njit(cache=True, inline="always")
def _row_error(rM, rsc, i, k, gamma):
    """A bound on the error, in distance, of the unit hyperplane of the pulled-back neuron in row
    ``i`` of ``rM`` anywhere in the normalised box: ``gamma`` times its magnitude sum over its
    norm (the rounding of every product and sum that formed the row and its offset)."""
    s2 = 0.0
    for c in range(k):
        s2 += rM[i, c] * rM[i, c]
    return gamma * rsc[i] / np.sqrt(s2)


@njit(cache=True, inline="always")
def _add_row(aG, aH, at, A, ia, o, err, k, active):
    """Write the half-space of a neuron with unit normal ``A[ia]`` and offset ``o`` at row ``at``:
    ``a t + o >= 0`` when ``active``, else ``<= 0``, its offset tightened by ``err``."""
    sg = -1.0 if active else 1.0
    for c in range(k):
        aG[at, c] = sg * A[ia, c]
    aH[at] = sg * -o - err


@njit(cache=True, inline="always")
def _distances(rM, rm, rsc, m0, nl, aV, v0, p, k, tol, eps, gamma, norms, live, VT, Sall, iscut,
               bits, base, near):
    """Signed distances of a cell's ``p`` vertices to the hyperplanes of the layer's live neurons
    (neuron ``j``'s at ``Sall[j * p:(j + 1) * p]``). A neuron with every vertex clearly on one
    side, beyond ``eps`` plus the bound :func:`_row_error` on the rounding of its row, gets its
    bit; the others are marked in ``iscut``: they cross the cell or touch it within that margin
    (a hyperplane through a vertex, a sliver), which the traversal splits or hands to an exact
    decision (DESIGN.md §1). Returns how many are marked.

    ``near[j]`` marks the neurons given a bit whose hyperplane comes within ``tol`` of a vertex:
    the region is the cell cut by their half-space, which the caller adds to its constraints (so
    the region's certified ball respects them)."""
    for c in range(k):
        for u in range(p):
            VT[c, u] = aV[v0 + u, c]
    ncut = 0
    for j in range(nl):
        iscut[j] = False
        near[j] = False
        if not live[j]:
            continue
        o = j * p
        x = rm[m0 + j]
        for u in range(p):
            Sall[o + u] = x
        for c in range(k):
            a = rM[m0 + j, c]
            for u in range(p):
                Sall[o + u] += a * VT[c, u]
        smin = np.inf
        smax = -np.inf
        nrm = norms[j]
        for u in range(p):
            x = Sall[o + u] / nrm
            Sall[o + u] = x
            smin = min(smin, x)
            smax = max(smax, x)
        mg = eps + _row_error(rM, rsc, m0 + j, k, gamma)
        if smin > mg:
            bits[base + j] = True
            near[j] = smin < tol
        elif smax < -mg:
            bits[base + j] = False
            near[j] = smax > -tol
        else:
            iscut[j] = True
            ncut += 1
    return ncut
