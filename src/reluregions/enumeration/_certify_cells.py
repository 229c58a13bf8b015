"""First-layer cells of the certificate's compiled path, and the flags of every row (issue 15).

A region lies in its *first-layer cell* (the polytope of its pattern on the first hidden layer,
shared by every region with that pattern: Drammis et al. 2024, §3, the first layer's cells that
the deeper layers subdivide). A rigorous box of the cell, from ``2k`` compiled LPs over the first
layer's constraints (:func:`._certify_bounds._region_box`), bounds every region in it: a constraint
strictly slack on that box (:func:`._certify_bounds._slack_on_box`) is no facet of any region of
the cell, and holds strictly at any point of the box. :mod:`._certify_fast` reads these flags, one
per row of a block's maps, instead of testing every constraint of every region.
"""
from __future__ import annotations

import numpy as np

from ..geometry.kernels import njit
from ._certify_bounds import _load_rows, _region_box, _slack_on_box

__all__ = ["CELL_REGIONS"]

#: Bits of :func:`_row_flags`.
_MAYBE_ZERO = 1
_FAR_IF_INACTIVE = 2
_FAR_IF_ACTIVE = 4


@njit(cache=True, nogil=True)
def _row_flags(rows, errors, start, stop, lo, hi, flags):
    """Flags of the rows ``start:stop`` of the block's maps (each shared by every region with its
    prefix) on the box ``[lo, hi]``, into ``flags[start:stop]``: whether the row may be zero (no
    entry exceeds its error bound; the exact check decides the region), and whether its constraint
    is strictly slack on the box for an inactive (``row <= 0``) and for an active (``-row <= 0``)
    neuron (:func:`._certify_bounds._slack_on_box`: the floats of the per-region test, once per row
    instead of once per region)."""
    k1 = rows.shape[1]
    for r in range(start, stop):
        zero = True
        for a in range(k1):
            if abs(rows[r, a]) > errors[r, a]:
                zero = False
                break
        f = _MAYBE_ZERO if zero else 0
        if _slack_on_box(rows, errors, r, 1.0, lo, hi):
            f |= _FAR_IF_INACTIVE
        if _slack_on_box(rows, errors, r, -1.0, lo, hi):
            f |= _FAR_IF_ACTIVE
        flags[r] = f


#: A first-layer cell gets a box of its own when at least this many regions of the block lie in it
#: (its ``2k`` LPs over the first layer's rows are shared by them; a cost choice only, not tuned:
#: the domain's box serves the other cells, and either box is rigorous).
CELL_REGIONS = 4


@njit(cache=True, nogil=True)
def _cells(rows, errors, offsets, widths, bits, lo0, hi0, w, C, E, sub):
    """Each region's first-layer cell (its pattern on the first layer) and a rigorous box of every
    cell: ``2k`` compiled LPs over the first layer's constraints (:func:`._certify_bounds.
    _region_box`; those strictly slack on the domain's box left out), or the domain's box for a
    cell of fewer than :data:`CELL_REGIONS` regions of the block, or of one hidden layer (the cell
    is then the region). A region lies in its cell, so a constraint strictly slack on the cell's
    box is no facet of it, and holds strictly at its point once that is strictly inside the box."""
    B = bits.shape[0]
    k = lo0.size
    w0 = widths[0]
    cell = np.zeros(B, np.int64)
    P = 1
    if widths.size > 1:
        for reg in range(B):
            cell[reg] = (offsets[reg, 1] - w0) // widths[1]
            P = max(P, cell[reg] + 1)
    count = np.zeros(P, np.int64)
    first = np.full(P, -1, np.int64)
    for reg in range(B):
        count[cell[reg]] += 1
        if first[cell[reg]] < 0:
            first[cell[reg]] = reg
    domain = np.zeros(w0, np.int8)
    _row_flags(rows, errors, 0, w0, lo0, hi0, domain)
    clo = np.empty((P, k))
    chi = np.empty((P, k))
    for c in range(P):
        clo[c] = lo0
        chi[c] = hi0
        if widths.size == 1 or count[c] < CELL_REGIONS:
            continue
        r0 = first[c]
        m = 0
        for q in range(w0):
            f = domain[q]
            if f & (_MAYBE_ZERO | (_FAR_IF_ACTIVE if bits[r0, q] else _FAR_IF_INACTIVE)):
                continue  # any subset of the cell's constraints encloses it
            sgn = -1.0 if bits[r0, q] else 1.0
            for a in range(k + 1):
                C[m, a] = sgn * rows[q, a]
                E[m, a] = errors[q, a]
            sub[m] = m
            m += 1
        if m == 0:
            continue
        _load_rows(C, sub[:m], w)
        _region_box(C, E, sub[:m], lo0, hi0, clo[c], chi[c], w)
        for a in range(k):
            if not (clo[c, a] <= chi[c, a]):  # empty to rounding: the domain's box serves
                clo[c] = lo0
                chi[c] = hi0
                break
    return cell, clo, chi


@njit(cache=True, nogil=True)
def _cell_flags(rows, errors, offsets, widths, cell, clo, chi):
    """:func:`_row_flags` of every row on the box of its first-layer cell (:func:`_cells`): the
    first layer's rows once per cell (``(P, w0)``: all cells share them), every deeper row once (its
    prefix holds its cell)."""
    B = offsets.shape[0]
    w0 = widths[0]
    P = clo.shape[0]
    first = np.zeros((P, w0), np.int8)
    for c in range(P):
        _row_flags(rows[:w0], errors[:w0], 0, w0, clo[c], chi[c], first[c])
    flags = np.zeros(rows.shape[0], np.int8)
    done = np.zeros(rows.shape[0], np.bool_)
    for reg in range(B):
        c = cell[reg]
        for layer in range(1, widths.size):
            o = offsets[reg, layer]
            if not done[o]:
                done[o] = True
                _row_flags(rows, errors, o, o + widths[layer], clo[c], chi[c], flags)
    return first, flags


