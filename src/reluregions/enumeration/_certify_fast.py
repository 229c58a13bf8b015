"""The common path of the completeness certificate, vectorised over blocks of regions (issue 15).

Step 2 of :func:`reluregions.enumeration.certify.certify_regions` (every facet of every region is
matched by a region of the output on its other side, or proven no facet) decided in floating point
with rigorous error bounds, many regions at once, for a domain that is an axis box (a box, or an
affine slice of one). A region the float decisions cannot settle completely goes, whole, to the
exact per-region check (:func:`reluregions.enumeration._certify_facets.certify_region`), which
also names the region and facet of a failure: this path only ever *proves*, it never fails.

For a block of regions:

1. the float pulled-back constraints ``C [s; 1] <= 0`` of every neuron (DESIGN.md §1; Drammis et
   al. 2024, §3: ``M_{l+1} = W_{l+1} D_l M_l``), with a rigorous bound ``E`` on their error, as one
   matrix product per layer for the whole block (regions sharing a prefix of layers share it);
2. compiled, per region (:func:`_block_kernel`):

   - the point: strictly inside when every constraint's value at it is below minus its error
     bound (else the exact point check of :func:`reluregions.geometry.exact.check_point` decides);
   - a neuron whose row may be zero sends the region to the exact check;
   - a constraint strictly slack on the domain's box is no facet; for the others the pattern with
     its bit flipped is looked up (:mod:`._certify_index`: a Zobrist hash, confirmed byte for byte);
   - a rigorous bounding box of the region from ``2k`` compiled LPs over the matched rows (any
     subset of the rows encloses the region; when the output is complete the matched rows hold
     every facet), :func:`reluregions.geometry.simplex.box_lp`, made safe by weak duality with
     the data error ``E`` (:func:`_upper_bound`); a constraint strictly slack on it is no facet;
   - every other constraint ``j`` is *matched* when its flipped pattern is in the output and no
     other row is parallel to ``j``'s within its error bound (then no other neuron vanishes on
     the facet, so the flip is the region across it); otherwise it is *no facet* when multipliers
     prove ``max C_j [s; 1] < 0`` over the matched rows and the box, rigorously as above: one
     row's multiplier at the breakpoints first (:func:`_slack_by_one_row`), else a compiled LP's.

   Anything else (a constraint touching the region unmatched: through a vertex, on the domain's
   boundary, or a missing neighbour) sends the region to the exact check.

Float bounds follow :func:`reluregions.geometry.exact.gamma` (Higham's ``gamma_n``, doubled to
cover the rounding of the bound itself), as the exact module's own float decisions do.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..geometry import exact as ex
from ..geometry.kernels import njit
from ..geometry.simplex import box_lp
from ._certify_index import PatternIndex, _lookup

__all__ = ["BlockMaps", "block_maps", "certify_block"]

_U = 2.0 ** -53
_TINY = 2.0 ** -1000


class BlockMaps(NamedTuple):
    """Float pulled-back rows of a block of regions, each distinct prefix's layer stored once.

    Neuron ``q`` of layer ``l`` of region ``r`` has the row ``rows[offsets[r, l] + q]`` (``[M | m]``
    in the exact domain's coordinates) with the elementwise error bound ``errors[...]``.
    """

    rows: np.ndarray      # (R, k + 1)
    errors: np.ndarray    # (R, k + 1)
    offsets: np.ndarray   # (B, L) int64
    widths: np.ndarray    # (L,) int64

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``V, E`` of shape (B, n_hidden, k + 1) (for tests)."""
        idx = np.concatenate([self.offsets[:, [l]] + np.arange(w)
                              for l, w in enumerate(self.widths.tolist())], axis=1)
        return self.rows[idx], self.errors[idx]


def block_maps(net: ex.ExactNetwork, dom: ex.ExactDomain, bits: np.ndarray) -> BlockMaps:
    """Float pulled-back rows ``[M | m]`` of every neuron for a block of regions, and error bounds.

    Parameters
    ----------
    net, dom : ExactNetwork, ExactDomain
    bits : ndarray, shape (B, n_hidden)

    Returns
    -------
    BlockMaps
        ``|V - V_exact| <= E`` elementwise, the bound of
        :func:`reluregions.enumeration._certify_facets._float_maps` (layer by layer: the products'
        rounding by :func:`~reluregions.geometry.exact.gamma`, the carried error through ``|W|``).
        Regions with the same pattern on the layers before ``l`` share layer ``l``'s product.
    """
    B = bits.shape[0]
    k1 = dom.dim + 1
    a = net.float_slope
    grow = max(1.0, abs(a))
    L = len(net.float_weights)
    H = np.column_stack([dom.Pf, dom.P0f])[None]  # per distinct prefix: (p, n_in, k1)
    EH = dom.eP[None]
    inverse = np.zeros(B, dtype=np.int64)
    offsets = np.empty((B, L), dtype=np.int64)
    rows, errors = [], []
    base = start = 0
    for layer, (W, b) in enumerate(zip(net.float_weights, net.float_biases)):
        w, n_in = W.shape
        g = ex.gamma(n_in + 1)
        p = H.shape[0]
        Hm = H.transpose(1, 0, 2).reshape(n_in, p * k1)
        EHm = (EH + g * np.abs(H)).transpose(1, 0, 2).reshape(n_in, p * k1)
        Vp = (W @ Hm).reshape(w, p, k1).transpose(1, 0, 2)
        Ep = (np.abs(W) @ EHm).reshape(w, p, k1).transpose(1, 0, 2)
        Vp[:, :, -1] += b
        Ep[:, :, -1] += g * np.abs(b)
        Ep += ex._TINY
        rows.append(Vp.reshape(p * w, k1))
        errors.append(Ep.reshape(p * w, k1))
        offsets[:, layer] = base + inverse * w
        base += p * w
        start += w
        if layer + 1 == L:
            break
        keys = np.packbits(bits[:, :start], axis=1)
        _, first, new_inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        parent = inverse[first]
        inverse = new_inverse.reshape(-1)
        H = np.where(bits[first, start - w:start], 1.0, a)[:, :, None] * Vp[parent]
        EH = Ep[parent] * grow + ex._U * np.abs(H)
    widths = np.array([W.shape[0] for W in net.float_weights], dtype=np.int64)
    return BlockMaps(np.ascontiguousarray(np.vstack(rows)), np.ascontiguousarray(np.vstack(errors)),
                     offsets, widths)


def certify_block(maps: BlockMaps, bits: np.ndarray, packed_block: np.ndarray, S: np.ndarray,
                  index: PatternIndex, lo: np.ndarray, hi: np.ndarray) -> dict:
    """Settle the facets of a block of regions in float (see the module's docstring).

    Parameters
    ----------
    maps : BlockMaps
        From :func:`block_maps`.
    bits, packed_block : ndarray
        The block's patterns, as bools (B, n_hidden) and packed bytes (B, nbytes).
    S : ndarray (B, k)
        The regions' interior points (exact domain coordinates; they only steer the search).
    index : PatternIndex
        Every pattern of the output.
    lo, hi : ndarray (k,)
        The domain's box (exact: an axis box's bounds).

    Returns
    -------
    dict
        ``exact``: (B,) bool, the regions whose facets are left to the exact check;
        ``point_unsure``: (B,) bool, those whose point float could not prove strictly inside;
        ``far``, ``matched``, ``proven``: the constraints settled in the other regions, by kind.
    """
    h = index.hashes_of(packed_block)
    slow, unsure, far, matched, proven = _block_kernel(
        maps.rows, maps.errors, maps.offsets, maps.widths, np.ascontiguousarray(bits),
        np.ascontiguousarray(S, dtype=np.float64), lo, hi, h, index.zobrist, index.slots,
        index.packed, np.ascontiguousarray(packed_block))
    return {"exact": slow, "point_unsure": unsure, "far": int(far), "matched": int(matched),
            "proven": int(proven)}


@njit(cache=True, nogil=True)
def _gamma(n):
    n = n + 2
    return 2.0 * n * _U / (1.0 - n * _U)


@njit(cache=True, nogil=True)
def _upper_bound(C, E, j, rows, y, lo, hi):
    """Rigorous upper bound of ``max C_j^exact [s; 1]`` over ``{s in [lo, hi]: C_i^exact [s; 1]
    <= 0 for i in rows}`` from multipliers ``y >= 0`` of the rows (weak duality), with the data
    error ``E`` and the rounding of the evaluation bounded."""
    k = lo.size
    val = 0.0
    mag = 0.0
    err = 0.0
    for a in range(k + 1):
        r = C[j, a]
        rm = abs(C[j, a])
        ed = E[j, a]
        for t in range(rows.size):
            yt = y[t]
            if yt > 0.0:
                i = rows[t]
                r -= yt * C[i, a]
                rm += yt * abs(C[i, a])
                ed += yt * E[i, a]
        if a < k:
            sm = max(abs(lo[a]), abs(hi[a]))
            val += max(r * lo[a], r * hi[a])
            mag += rm * sm
            err += ed * sm
        else:
            val += r
            mag += rm
            err += ed
    bound = val + err + _gamma(rows.size + k + 3) * (mag + err) + _TINY
    return bound if np.isfinite(bound) else np.inf  # an overflow proves nothing


@njit(cache=True, nogil=True)
def _max_over(C, E, j, rows, lo, hi):
    """Rigorous upper bound of ``max C_j [s; 1]`` over the ``rows`` and the box, with the
    multipliers of one compiled LP (:func:`_upper_bound`)."""
    k = lo.size
    r = rows.size
    A = np.empty((r, k))
    b = np.empty(r)
    for t in range(r):
        for a in range(k):
            A[t, a] = C[rows[t], a]
        b[t] = -C[rows[t], k]
    c = np.empty(k)
    for a in range(k):
        c[a] = -C[j, a]
    status, _, y, _ = box_lp(c, A, b, r, lo, hi, 50 * (r + k) + 100)
    for t in range(r):
        if not (y[t] >= 0.0):
            y[t] = 0.0
    return _upper_bound(C, E, j, rows, y, lo, hi)


@njit(cache=True, nogil=True)
def _slack_by_one_row(C, E, j, support, lo, hi):
    """Whether ``C_j [s; 1] < 0`` on the region is proven by one multiplier: ``max`` over the box of
    ``C_j - lam C_m`` for a row ``m`` of ``support``, ``lam`` at the breakpoints where a coordinate
    of it changes sign (the bound is convex and piecewise linear in ``lam``), made rigorous by
    :func:`_upper_bound`."""
    k = lo.size
    one = np.empty(1, np.int64)
    y = np.empty(1)
    for m in support:
        one[0] = m
        for a in range(k):
            if C[m, a] == 0.0:
                continue
            lam = C[j, a] / C[m, a]
            if lam <= 0.0:
                continue
            y[0] = lam
            if _upper_bound(C, E, j, one, y, lo, hi) < 0.0:
                return True
    return False


@njit(cache=True, nogil=True)
def _far_on_box(C, E, i, lo, hi):
    """Whether constraint ``i`` holds strictly on the whole box (rigorously): then it is no facet."""
    k = lo.size
    top = C[i, k]
    mag = abs(C[i, k])
    err = E[i, k]
    for a in range(k):
        sm = max(abs(lo[a]), abs(hi[a]))
        top += max(C[i, a] * lo[a], C[i, a] * hi[a])
        mag += abs(C[i, a]) * sm
        err += E[i, a] * sm
    return top + err + _gamma(k + 2) * (mag + err) + _TINY < 0.0


@njit(cache=True, nogil=True)
def _region_box(C, E, rows, lo0, hi0):
    """A rigorous box around the region: ``2k`` compiled LPs over ``rows`` (any subset of the
    region's rows encloses it), made safe by weak duality."""
    N, k1 = C.shape
    k = k1 - 1
    lo = lo0.copy()
    hi = hi0.copy()
    Cx = np.zeros((N + 1, k1))  # row N: a coordinate objective
    Ex = np.zeros((N + 1, k1))
    Cx[:N] = C
    Ex[:N] = E
    for a in range(k):
        for sgn in (1.0, -1.0):
            for q in range(k1):
                Cx[N, q] = 0.0
            Cx[N, a] = sgn
            ub = _max_over(Cx, Ex, N, rows, lo, hi)
            if sgn > 0:
                hi[a] = min(hi[a], ub)
            else:
                lo[a] = max(lo[a], -ub)
    return lo, hi


@njit(cache=True, nogil=True)
def _strictly_inside(C, E, s, lo, hi):
    """Whether float proves the point ``s`` strictly inside the region: strictly inside the box
    (exact comparisons) and every constraint's value below minus its rigorous error bound."""
    k = s.size
    for a in range(k):
        if not (lo[a] < s[a] < hi[a]):
            return False
    for i in range(C.shape[0]):
        v = C[i, k]
        mag = abs(C[i, k])
        err = E[i, k]
        for a in range(k):
            v += C[i, a] * s[a]
            mag += abs(C[i, a] * s[a])
            err += E[i, a] * abs(s[a])
        if not (v + err + _gamma(k + 2) * (mag + err) + _TINY < 0.0):
            return False
    return True


@njit(cache=True, nogil=True)
def _gather(rows, errors, offsets, widths, bits, C, E):
    """The region's constraints ``C [s; 1] <= 0`` (sign by its pattern) and their error bounds."""
    k1 = rows.shape[1]
    n = 0
    for layer in range(widths.size):
        o = offsets[layer]
        for q in range(widths[layer]):
            sgn = -1.0 if bits[n] else 1.0
            for a in range(k1):
                C[n, a] = sgn * rows[o + q, a]
                E[n, a] = errors[o + q, a]
            n += 1


@njit(cache=True, nogil=True)
def _parallel_to_other(C, E, j, live):
    """Whether a row of ``live`` other than ``j`` may be parallel to row ``j`` (then a neuron
    other than ``j`` may vanish on its facet); the test of ``_certify_facets``."""
    k1 = C.shape[1]
    nj = np.sqrt(np.sum(C[j] ** 2))
    rj = np.sqrt(np.sum(E[j] ** 2)) / nj
    tol0 = 8.0 * _gamma(k1)
    for i in live:
        if i == j:
            continue
        ni = np.sqrt(np.sum(C[i] ** 2))
        dot = 0.0
        for a in range(k1):
            dot += C[i, a] * C[j, a]
        if 1.0 - abs(dot / (ni * nj)) <= 4.0 * (np.sqrt(np.sum(E[i] ** 2)) / ni + rj) + tol0:
            return True
    return False


@njit(cache=True, nogil=True)
def _block_kernel(rows, errors, offsets, widths, bits, S, lo0, hi0, hashes, zobrist, slots, packed,
                  packed_block):
    B = bits.shape[0]
    N = bits.shape[1]
    k1 = rows.shape[1]
    slow = np.zeros(B, np.bool_)
    unsure = np.zeros(B, np.bool_)
    far_total = 0
    matched_total = 0
    proven_total = 0
    C = np.empty((N, k1))
    E = np.empty((N, k1))
    cand = np.empty(N, np.int64)
    hit = np.zeros(N, np.bool_)
    for reg in range(B):
        _gather(rows, errors, offsets[reg], widths, bits[reg], C, E)
        unsure[reg] = not _strictly_inside(C, E, S[reg], lo0, hi0)
        bad = False
        for i in range(N):  # a row that may be zero: the exact check decides it
            zero = True
            for a in range(k1):
                if abs(C[i, a]) > E[i, a]:
                    zero = False
                    break
            if zero:
                bad = True
                break
        if bad:
            slow[reg] = True
            continue
        # constraints not strictly slack on the domain's box, and which of them have their
        # flipped pattern in the output
        nc = 0
        nm = 0
        for i in range(N):
            if not _far_on_box(C, E, i, lo0, hi0):
                cand[nc] = i
                nc += 1
                hit[i] = _lookup(hashes[reg] ^ zobrist[i], packed, slots,
                                 packed_block[reg], i)
                nm += hit[i]
        support = np.empty(nm, np.int64)
        m = 0
        for t in range(nc):
            if hit[cand[t]]:
                support[m] = cand[t]
                m += 1
        # a box around the region from the matched rows alone (they hold every facet when the
        # output is complete; any subset of the rows gives a valid enclosure)
        lo, hi = _region_box(C, E, support, lo0, hi0)
        if not np.all(lo <= hi):
            slow[reg] = True
            continue
        live = np.empty(nc, np.int64)
        nl = 0
        for t in range(nc):
            if not _far_on_box(C, E, cand[t], lo, hi):
                live[nl] = cand[t]
                nl += 1
        live = live[:nl]
        matched = 0
        proven = 0
        for j in live:
            if hit[j]:
                if _parallel_to_other(C, E, j, live):
                    bad = True
                    break
                matched += 1
            elif _slack_by_one_row(C, E, j, support, lo, hi):
                proven += 1
            elif _max_over(C, E, j, support, lo, hi) < 0.0:
                proven += 1
            else:
                bad = True
                break
        for t in range(nc):
            hit[cand[t]] = False
        if bad:
            slow[reg] = True
            continue
        far_total += N - nl
        matched_total += matched
        proven_total += proven
    return slow, unsure, far_total, matched_total, proven_total
