"""The test of one hyperplane on a cell of the compiled LP traversal (issue 15, DESIGN.md §1).

The step of the high-dimensional engine
(:meth:`reluregions.enumeration.highd.HighDimAlgorithm._test`) in compiled form, for a cell of
:mod:`reluregions.geometry.lpcell` (cuts inside the box, a witness).
Each side of a neuron's hyperplane is decided by the rule every algorithm follows: a side whose
float Chebyshev radius exceeds ``tol`` (the band, ``config.band``) has an interior, one whose
radius is below ``-tol`` has none, and anything in between is settled exactly for the network as
written. Floats decide here only with a certificate ``band`` past the threshold:

* "an interior": a point of the cell shrunk by ``tol``, checked against the rows with rounding,
  at least ``tol + band`` past the hyperplane (so a ball of radius ``tol`` lies in the side);
* "none": a rigorous lower bound (:func:`~reluregions.geometry.simplex.lp_lower_bound`, weak
  duality) of the hyperplane's normal over the cell *grown* by ``tol``, ``tol + band`` short of it.

Anything else is *handed back* (``PENDING``): the caller settles the side with HiGHS and, inside
the band, with the exact oracle (:meth:`reluregions.tree.Context.settle`), and writes the verdict
into the cell's force table (rows ``(neuron, key, rows, verdict, value)`` and their points), where
:func:`decide` reads it when the traversal resumes. A side the oracle settled carries the oracle's
point as its witness and is *thin*: its tests skip the witness shortcuts and go to the grown LP and
the oracle (:func:`probe_thin`). A thin witness is only known to lie strictly inside its cell when
the oracle certified a ball around it (a positive radius): a side thinner than float spacing may
hold no float point at all, and its witness is then only the oracle's best guess.
"""
from __future__ import annotations

import numpy as np

from .kernels import njit
from .lpcell import INSIDE, exit_step, shoot, towards, violation
from .simplex import OPTIMAL, box_lp, lp_lower_bound

__all__ = ["decide", "probe", "probe_thin", "MISS", "CROSS", "PENDING", "NONE", "IN_LP", "UNSURE",
           "IN_EXACT", "SIDE", "MOVE"]

#: Outcomes of a probe.
MISS, CROSS, PENDING = 0, 1, 2
#: Verdicts on a side (a force-table entry's ``verdict``, :func:`decide`'s code): no interior; a
#: point of the shrunk cell past the level (``value`` its objective); not certified; a point the
#: exact oracle checked strictly inside the side.
NONE, IN_LP, UNSURE, IN_EXACT = 0, 1, 2, 3
#: What a hand-back asks: whether a side has an interior (the rule above, the oracle in the band),
#: or only whether the shrunk cell reaches ``tol`` past a level (moving a witness: no bit depends
#: on it).
SIDE, MOVE = 0, 1


@njit(cache=True, nogil=True)
def decide(G, h, r, obj, rhs, tol, band, wide, ask, B, hs, max_iter, key0, key1, ftab, fx, nf, x,
           lps):
    """Whether the side ``obj @ t <= rhs`` (unit ``obj``) of the cell ``G[:r] t <= h[:r]`` has an
    interior: ``(verdict, value)``, ``x`` the side's point for ``IN_LP``/``IN_EXACT``.

    A wide cell: one LP over the cell shrunk by ``tol`` (``B[0]``/``B[1]``: the box shrunk);
    ``IN_LP`` when its optimum is checked ``tol + band`` past ``rhs``, ``NONE`` when the dual bound
    over the cell grown by ``tol`` (``B[2]``/``B[3]``) clears ``rhs + tol`` by ``band`` (with ``ask ==
    MOVE``: the dual bound over the shrunk cell clears ``rhs - tol``). A thin cell: the LP over the
    grown cell, which can only prove ``NONE``. ``value`` is the shrunk minimum (``inf`` unknown).
    A force-table entry for ``(key0, key1, r)`` answers instead (``key0`` the neuron, ``key1`` the
    side's sign times ``1 + ask``; ``value`` the oracle's certified radius for ``IN_EXACT``).
    """
    k = obj.shape[0]
    for f in range(nf):
        if ftab[f, 0] == key0 and ftab[f, 1] == key1 and ftab[f, 2] == r:
            verdict = int(ftab[f, 3])
            if verdict != NONE:
                x[:] = fx[f]
            return verdict, ftab[f, 4]
    lps[0] += 1
    if not wide:
        for i in range(r):
            hs[i] = h[i] + tol
        status, t, y, _ = box_lp(obj, G, hs, r, B[2], B[3], max_iter)
        if status == OPTIMAL and lp_lower_bound(obj, G, hs, r, B[2], B[3], y) >= rhs + tol + band:
            return NONE, np.inf
        return UNSURE, np.inf
    for i in range(r):
        hs[i] = h[i] - tol
    status, t, y, _ = box_lp(obj, G, hs, r, B[0], B[1], max_iter)
    if status != OPTIMAL:
        return UNSURE, np.inf
    value = 0.0
    for c in range(k):
        value += obj[c] * t[c]
    if value <= rhs - tol - band and violation(G, h, r, t, tol) <= INSIDE:
        x[:] = t
        return IN_LP, value
    if ask == MOVE:
        if lp_lower_bound(obj, G, hs, r, B[0], B[1], y) >= rhs - tol + band:
            return NONE, value
        return UNSURE, value
    for i in range(r):
        hs[i] = h[i] + tol
    if lp_lower_bound(obj, G, hs, r, B[2], B[3], y) >= rhs + tol + band:
        return NONE, value
    return UNSURE, value


@njit(cache=True, nogil=True, inline="always")  # on every test: no call
def _sides(a, off, w, frow, nrow):
    """The witness's side ``s`` of ``a t + off = 0`` and the far side ``frow t <= far_rhs`` (the
    near side's row ``nrow``): ``(s, |z|, far_rhs)``."""
    k = w.shape[0]
    z = off
    for c in range(k):
        z += a[c] * w[c]
    s = 1.0 if z >= 0.0 else -1.0
    for c in range(k):
        frow[c] = s * a[c]
        nrow[c] = -s * a[c]
    return s, abs(z), -s * off


@njit(cache=True, nogil=True)
def _thin(radius, tol):
    """The radius kept for a witness the oracle found (its certified ``radius``): below ``tol``, so
    that the side is thin (the oracle does not see the cuts the traversal keeps for geometry)."""
    return min(radius, 0.5 * tol)


@njit(cache=True, nogil=True)
def _to_far_side(G, h, r, w, frow, far_rhs, far_w):
    """The near side has no interior: the cell becomes its far side (the cut, the far witness)."""
    G[r] = frow
    h[r] = far_rhs
    w[:] = far_w
    return r + 1


@njit(cache=True, nogil=True)
def _near_side(G, h, r, w, wide, s, frow, nrow, far_rhs, j, tol, band, B, ftab, fx, nf, max_iter,
               hs, x, far_w, near_w, lps, res, rad):
    """The witness's side of a hyperplane whose far side has an interior (its witness in
    ``far_w``, radius ``rad[0]``), where the witness does not show it: ``(code, r)``, by
    :func:`decide` (as :func:`probe` reports). With no interior the cell becomes the far side."""
    code, value = decide(G, h, r, nrow, -far_rhs, tol, band, wide, SIDE, B, hs, max_iter, j, -s,
                         ftab, fx, nf, x, lps)
    if code == UNSURE:
        res[0], res[1] = -int(s), SIDE
        return PENDING, r
    if code == NONE:  # only the far side has an interior: the cell is that side
        res[2] = 1 if s < 0.0 else 0
        rad[2] = rad[0]
        return MISS, _to_far_side(G, h, r, w, frow, far_rhs, far_w)
    if code == IN_LP:
        towards(w, x, nrow, (-far_rhs - tol + value) / 2.0, near_w)
    else:
        near_w[:] = x
        rad[1] = _thin(value, tol)
    return CROSS, r


@njit(cache=True, nogil=True)
def probe(G, h, r, w, a, off, j, tol, band, B, P, npool, ftab, fx, nf, max_iter, hs, frow, nrow, d,
          x, tmp, far_w, near_w, lps, res, rad):
    """Test one hyperplane ``a t + off = 0`` (unit ``a``) on a wide cell: ``(code, s, r)``.

    ``s`` is the witness's side. ``CROSS``: both sides have an interior, witnesses in
    ``far_w``/``near_w``, a ball of radius ``rad[0]``/``rad[1]`` around each inside its side
    (``tol``: wide; less: the oracle's point, thin). ``MISS``: the bit is ``res[2]``; a cut may
    have joined the rows (``r`` returned) with ``w`` moved inside it (``rad[2]`` its radius).
    ``PENDING``: a side for the caller, ``res[0]`` its sign (the side ``res[0] (a t + off) < 0``)
    and ``res[1]`` what is asked (``SIDE``/``MOVE``). A known point, then a ray, then
    :func:`decide`, for the far side, then the near side.
    """
    k = w.shape[0]
    s, az, far_rhs = _sides(a, off, w, frow, nrow)
    thr = far_rhs - tol
    rad[0] = rad[1] = rad[2] = tol
    found = False
    best = np.inf
    bi = -1
    for i in range(npool):  # 1. a known point of the cell beyond the hyperplane
        v = 0.0
        for c in range(k):
            v += frow[c] * P[i, c]
        if v < best:
            best, bi = v, i
    if bi >= 0 and best <= thr - band and violation(G, h, r, P[bi], tol) <= INSIDE:
        far_w[:] = P[bi]
        found = True
    if not found and shoot(G, h, r, w, frow, az + tol, tol, d, far_w):  # 2. a ray
        v = 0.0
        for c in range(k):
            v += frow[c] * far_w[c]
        found = v <= thr - band and violation(G, h, r, far_w, tol) <= INSIDE
    if not found:  # 3. an LP, or the caller
        code, value = decide(G, h, r, frow, far_rhs, tol, band, True, SIDE, B, hs, max_iter, j, s,
                             ftab, fx, nf, x, lps)
        if code == UNSURE:
            res[0], res[1] = int(s), SIDE
            return PENDING, s, r
        if code == IN_LP:
            towards(w, x, frow, (thr + value) / 2.0, far_w)
        elif code == IN_EXACT:
            far_w[:] = x
            rad[0] = _thin(value, tol)
        else:  # no interior beyond: the bit is the witness's
            res[2] = 1 if s > 0.0 else 0
            if value < far_rhs:  # the float hyperplane still cuts the cell: keep the near cut
                gap = -far_rhs - tol
                for c in range(k):
                    gap -= nrow[c] * w[c]
                if gap < 0.0:  # the witness's ball crosses the cut: move it
                    if shoot(G, h, r, w, nrow, -gap, tol, d, tmp):
                        w[:] = tmp
                    else:
                        code, value = decide(G, h, r, nrow, -far_rhs, tol, band, True, MOVE, B,
                                             hs, max_iter, j, -2.0 * s, ftab, fx, nf, x, lps)
                        if code == UNSURE:
                            res[0], res[1] = -int(s), MOVE
                            return PENDING, s, r
                        if code == NONE:
                            return MISS, s, r  # the near side is thin too: no cut
                        towards(w, x, nrow, (-far_rhs - tol + value) / 2.0, tmp)
                        w[:] = tmp
                G[r] = nrow
                h[r] = -far_rhs
                r += 1
            return MISS, s, r
    if az >= tol:  # the near side: the witness, moved away from the cut when there is room
        back = exit_step(G, h, r, w, frow, tol)
        lam = back / 2.0 if back > 2.0 * az else 0.0
        for c in range(k):
            near_w[c] = w[c] + lam * frow[c]
    elif not shoot(G, h, r, w, nrow, tol - az, tol, d, near_w):
        code, r = _near_side(G, h, r, w, True, s, frow, nrow, far_rhs, j, tol, band, B, ftab, fx, nf,
                             max_iter, hs, x, far_w, near_w, lps, res, rad)
        return code, s, r
    return CROSS, s, r


@njit(cache=True, nogil=True)
def probe_thin(G, h, r, w, wr, a, off, wsign, wmargin, j, tol, band, B, ftab, fx, nf, max_iter, hs,
               frow, nrow, x, far_w, near_w, lps, res, rad):
    """:func:`probe` on a thin cell, whose witness ``w`` holds a ball of radius ``wr < tol`` in it
    (``wr <= 0``: ``w`` is only the oracle's guess), ``wsign`` the side of the hyperplane ``w`` lies
    on for the network as written (0: unknown) and ``wmargin`` a lower bound on its distance. No
    side holds a ball of radius ``tol``: each is ``NONE`` by the grown LP's bound or settled by the
    caller, except the witness's side when ``w`` is exactly inside the cell (``wr > 0``) and on
    it."""
    s, az, far_rhs = _sides(a, off, w, frow, nrow)
    rad[2] = wr
    code, value = decide(G, h, r, frow, far_rhs, tol, band, False, SIDE, B, hs, max_iter, j, s, ftab,
                         fx, nf, x, lps)
    if code == UNSURE:
        res[0], res[1] = int(s), SIDE
        return PENDING, s, r
    if code == NONE:
        res[2] = 1 if s > 0.0 else 0
        return MISS, s, r
    far_w[:] = x
    rad[0] = _thin(value, tol)
    if wr > 0.0 and wsign == s:
        near_w[:] = w
        rad[1] = min(wr, wmargin)
        return CROSS, s, r
    code, r = _near_side(G, h, r, w, False, s, frow, nrow, far_rhs, j, tol, band, B, ftab, fx, nf,
                         max_iter, hs, x, far_w, near_w, lps, res, rad)
    return code, s, r
