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
   matrix product per layer for the whole block (regions sharing a prefix of layers share it,
   grouped by :func:`_distinct_rows`);
2. compiled, per region (:func:`_block_kernel`: :func:`_front`, then :func:`_settle`):

   - once per first-layer cell of the block (the regions' pattern on the first layer; those of
     at least :data:`._certify_cells.CELL_REGIONS` regions) a rigorous box of the cell, from
     ``2k`` compiled LPs over the first layer's constraints (:func:`._certify_cells._cells`; the
     domain's box for the other cells);
   - once per row of the block's maps (:func:`._certify_cells._cell_flags`, shared by every
     region with that prefix, so by one cell; the first layer's rows once per cell): whether it
     may be zero (a region with such a neuron goes to the exact check) and whether its
     constraint, for either sign, is strictly slack on the cell's box (then it is no facet of any
     region in the cell, and holds strictly at any point of the box): on robot this halves the
     constraints each region handles (159 to 79 of 192);
   - the point: strictly inside the cell's box and every other constraint's value at it below
     minus its error bound (else the exact point check of
     :func:`reluregions.geometry.exact.check_point` decides); only those constraints' rows are
     gathered;
   - for the constraints not slack on the cell's box the pattern with
     its bit flipped is looked up (:mod:`._certify_index`: a Zobrist hash, through a Bloom filter
     that fits in L2, confirmed byte for byte; the first slots of the filter's positives are read
     first, :func:`_touch`);
   - a rigorous bounding box of the region from up to ``2k`` compiled LPs over the matched rows
     and the cell's box (a side is skipped once an LP's vertex reaches the cell's bound; any
     subset of the rows encloses the region; when the output is complete the matched rows hold
     every facet; their rows loaded once per region, no allocation per LP; the first LP by the
     dual simplex, every later one of the region warm-started from the previous optimal basis by
     the primal simplex, :mod:`reluregions.geometry.simplex_primal`), made safe by weak duality
     with the data error ``E`` (:func:`._certify_bounds._bound_of`); a constraint strictly slack
     on it is no facet;
   - every other constraint ``j`` is *matched* when its flipped pattern is in the output and no
     other row is parallel to ``j``'s within its error bound (then no other neuron vanishes on
     the facet, so the flip is the region across it); otherwise it is *no facet* when multipliers
     prove ``max C_j [s; 1] < 0`` over the matched rows and the box, rigorously as above: one
     row's multiplier at the breakpoints first (:func:`._certify_bounds._slack_by_one_row`),
     else a compiled LP's.

   Anything else (a constraint touching the region unmatched: through a vertex, on the domain's
   boundary, or a missing neighbour) sends the region to the exact check.

Float bounds follow :func:`reluregions.geometry.exact.gamma` (Higham's ``gamma_n``, doubled to
cover the rounding of the bound itself), as the exact module's own float decisions do.

The per-region and per-LP helpers are compiled without numba's reference counting
(:func:`reluregions.geometry.kernels.njit_borrowed`: they allocate nothing and borrow the
kernel's scratch arrays); a region with fewer than ``k / 2`` matched rows, whose LPs the revised
form solves (it allocates), takes the same steps with reference counting (:func:`_settle_counted`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..geometry import exact as ex
from ..geometry.kernels import njit, njit_borrowed
from ._certify_bounds import (_TINY, _gamma, _load_rows, _max_over, _not_far,
                              _parallel_to_other, _region_box, _row_norms, _slack_by_one_row,
                              scratch)
from ._certify_cells import _FAR_IF_ACTIVE, _FAR_IF_INACTIVE, _MAYBE_ZERO, _cell_flags, _cells
from ._certify_index import PatternIndex, _lookup, _may_hold

__all__ = ["BlockMaps", "block_maps", "certify_block"]

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
        first, new_inverse = _distinct_rows(np.packbits(bits[:, :start], axis=1))
        parent = inverse[first]
        inverse = new_inverse.reshape(-1)
        H = np.where(bits[first, start - w:start], 1.0, a)[:, :, None] * Vp[parent]
        EH = Ep[parent] * grow + ex._U * np.abs(H)
    widths = np.array([W.shape[0] for W in net.float_weights], dtype=np.int64)
    return BlockMaps(np.ascontiguousarray(np.vstack(rows)), np.ascontiguousarray(np.vstack(errors)),
                     offsets, widths)


def _distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_index=True, return_inverse=True)[1:]`` for a (B, nbytes)
    uint8 array, the same groups in the same (bytewise) order, by a stable ``lexsort`` of the rows
    as big-endian 64-bit words (far cheaper than ``unique``'s sort of opaque byte records)."""
    B, nbytes = keys.shape
    pad = -nbytes % 8
    if pad:
        keys = np.concatenate([keys, np.zeros((B, pad), np.uint8)], axis=1)
    words = np.ascontiguousarray(keys).view(">u8").astype(np.uint64)
    order = np.lexsort(words.T[::-1])
    ordered = words[order]
    new = np.ones(B, dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(B, dtype=np.int64)
    inverse[order] = group
    return order[new], inverse


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
        index.filter, index.packed, np.ascontiguousarray(packed_block))
    return {"exact": slow, "point_unsure": unsure, "far": int(far), "matched": int(matched),
            "proven": int(proven)}


@njit_borrowed()
def _strictly_inside(C, E, cand, nc, s, lo, hi):
    """Whether float proves the point ``s`` strictly inside the region: strictly inside the box
    (exact comparisons) and the value of every constraint ``cand[:nc]`` below minus its rigorous
    error bound (the others are proven strictly slack on the whole box,
    :func:`._certify_cells._row_flags`)."""
    k = s.size
    for a in range(k):
        if not (lo[a] < s[a] < hi[a]):
            return False
    for t in range(nc):
        i = cand[t]
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


@njit_borrowed()
def _gather(rows, errors, bits, cand, nc, where, C, E):
    """The constraints ``C [s; 1] <= 0`` (sign by the pattern) of the neurons ``cand[:nc]`` (row
    ``where[i]`` of the block's maps), and their error bounds; the other rows are never read."""
    k1 = rows.shape[1]
    for t in range(nc):
        i = cand[t]
        r = where[i]
        sgn = -1.0 if bits[i] else 1.0
        for a in range(k1):
            C[i, a] = sgn * rows[r, a]
            E[i, a] = errors[r, a]


@njit_borrowed()
def _touch(h, zobrist, slots, cand, nc):
    """Read the first hash-table slot of the flipped pattern of every ``cand[:nc]`` before any
    look-up: independent loads the processor overlaps, so the look-ups then mostly hit the cache
    (the table is far larger than the cache; one dependent miss per look-up otherwise)."""
    mask = np.uint64(slots.shape[0] - 1)
    acc = 0
    for t in range(nc):
        acc ^= slots[np.int64((h ^ zobrist[cand[t]]) & mask), 0]
    return acc


@njit_borrowed()
def _front(rows, errors, offsets, widths, flags0, flags, bits, s, lo0, hi0, h, zobrist, slots,
           filt, packed, row, C, E, cand, where, hit, support, touch, counts):
    """The region's constraints not strictly slack on its cell's box ``[lo0, hi0]`` (``cand``, by
    the flags of :func:`._certify_cells._cell_flags`: ``flags0`` the first layer's, ``flags``
    the deeper rows'; only their rows are gathered into ``C``, ``E``), its point check (strictly
    inside that box, the other constraints below minus their error bound), and their flipped
    patterns looked up (``hit``; the hits, in order, into ``support``): the Bloom filter first,
    the table for its positives. ``counts`` receives ``nc``, ``nm`` and whether the point is
    proven inside; returns False when a row may be zero (the exact check decides the region and
    its point)."""
    nc = 0
    i = 0
    for layer in range(widths.size):  # the rows' flags, shared in the block
        o = offsets[layer]
        for q in range(widths[layer]):
            f = flags0[q] if layer == 0 else flags[o + q]
            if f & _MAYBE_ZERO:
                counts[2] = 0  # the point too is left to the exact check
                return False
            if not (f & (_FAR_IF_ACTIVE if bits[i] else _FAR_IF_INACTIVE)):
                cand[nc] = i
                where[i] = o + q
                nc += 1
            i += 1
    _gather(rows, errors, bits, cand, nc, where, C, E)
    counts[2] = 1 if _strictly_inside(C, E, cand, nc, s, lo0, hi0) else 0
    nf = 0
    for t in range(nc):  # the filter's positives, in order, into ``support``
        if _may_hold(filt, h ^ zobrist[cand[t]]):
            support[nf] = cand[t]
            nf += 1
    touch[0] = _touch(h, zobrist, slots, support, nf)
    nm = 0
    for t in range(nf):  # confirmed in place (nm <= t)
        i = support[t]
        hit[i] = _lookup(h ^ zobrist[i], packed, slots, row, i)
        if hit[i]:
            support[nm] = i
            nm += 1
    counts[0] = nc
    counts[1] = nm
    return True


@njit(inline="always")
def _settle(C, E, cand, nc, hit, support, lo0, hi0, lo, hi, live_all, cn, en, w, tally):
    """The rest of a region's facets, after :func:`_front` (see the module's docstring): the box
    from the matched rows ``support``, then every constraint not slack on it matched or proven no
    facet. Adds far, matched and proven to ``tally`` and returns True when all are settled;
    clears ``hit``. Inlined into :func:`_settle_borrowed` and :func:`_settle_counted`."""
    N = C.shape[0]
    _load_rows(C, support, w)  # the rows of every LP of this region
    # a box around the region from the matched rows alone (they hold every facet when the
    # output is complete; any subset of the rows gives a valid enclosure)
    _region_box(C, E, support, lo0, hi0, lo, hi, w)
    ok = True
    for a in range(lo.size):
        if not (lo[a] <= hi[a]):
            ok = False
    nl = _not_far(C, E, cand, nc, lo, hi, live_all) if ok else 0
    live = live_all[:nl]
    _row_norms(C, E, live, cn, en)
    matched = 0
    proven = 0
    for j in live:
        if hit[j]:
            if _parallel_to_other(C, j, live, cn, en):
                ok = False
                break
            matched += 1
        elif _slack_by_one_row(C, E, j, support, lo, hi, w):
            proven += 1
        elif _max_over(C[j], E[j], C, E, support, lo, hi, w) < 0.0:
            proven += 1
        else:
            ok = False
            break
    for t in range(nc):
        hit[cand[t]] = False
    if ok:
        tally[0] += N - nl
        tally[1] += matched
        tally[2] += proven
    return ok


@njit_borrowed()
def _settle_borrowed(C, E, cand, nc, hit, support, lo0, hi0, lo, hi, live_all, cn, en, w, tally):
    """:func:`_settle` without reference counting: for regions of at least ``k / 2`` matched
    rows (every LP on the condensed tableau, nothing allocated)."""
    return _settle(C, E, cand, nc, hit, support, lo0, hi0, lo, hi, live_all, cn, en, w, tally)


@njit(cache=True, nogil=True)
def _settle_counted(C, E, cand, nc, hit, support, lo0, hi0, lo, hi, live_all, cn, en, w, tally):
    """:func:`_settle` with reference counting: for regions of fewer than ``k / 2`` matched rows,
    whose LPs the revised form solves (it allocates)."""
    return _settle(C, E, cand, nc, hit, support, lo0, hi0, lo, hi, live_all, cn, en, w, tally)


@njit(cache=True, nogil=True)
def _block_kernel(rows, errors, offsets, widths, bits, S, lo0, hi0, hashes, zobrist, slots, filt,
                  packed, packed_block):
    B = bits.shape[0]
    N = bits.shape[1]
    k1 = rows.shape[1]
    slow = np.zeros(B, np.bool_)
    unsure = np.zeros(B, np.bool_)
    tally = np.zeros(3, np.int64)  # far, matched, proven
    C = np.empty((N, k1))
    E = np.empty((N, k1))
    cand = np.empty(N, np.int64)
    where = np.empty(N, np.int64)
    hit = np.zeros(N, np.bool_)
    support_all = np.empty(N, np.int64)
    live_all = np.empty(N, np.int64)
    lo = np.empty(k1 - 1)
    hi = np.empty(k1 - 1)
    cn = np.empty(N)
    en = np.empty(N)
    w = scratch(N, k1 - 1)
    touch = np.zeros(1, np.int64)
    counts = np.zeros(3, np.int64)
    cell, clo, chi = _cells(rows, errors, offsets, widths, bits, lo0, hi0, w, C, E, cand)
    flags0, flags = _cell_flags(rows, errors, offsets, widths, cell, clo, chi)
    for reg in range(B):
        c = cell[reg]
        blo, bhi = clo[c], chi[c]
        ok = _front(rows, errors, offsets[reg], widths, flags0[c], flags, bits[reg], S[reg], blo,
                    bhi, hashes[reg], zobrist, slots, filt, packed, packed_block[reg], C, E, cand,
                    where, hit, support_all, touch, counts)
        unsure[reg] = counts[2] == 0
        if not ok:
            slow[reg] = True
            continue
        nc, nm = counts[0], counts[1]
        support = support_all[:nm]
        if k1 - 1 > 2 * nm:
            ok = _settle_counted(C, E, cand, nc, hit, support, blo, bhi, lo, hi, live_all, cn, en,
                                 w, tally)
        else:
            ok = _settle_borrowed(C, E, cand, nc, hit, support, blo, bhi, lo, hi, live_all, cn,
                                  en, w, tally)
        slow[reg] = not ok
    return slow, unsure, tally[0], tally[1], tally[2]
