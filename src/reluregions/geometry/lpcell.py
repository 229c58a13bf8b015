"""Compiled pieces of one cell of the LP traversal (:mod:`reluregions.geometry.lpdfs`, issue 14).

A cell is a list of cuts ``G[:r] t <= h[:r]`` (unit normals) inside the box ``[-1, 1]^k``, with a
witness point ``w`` inside the cell shrunk by ``tol`` (the rows' right-hand sides and the box
lowered by ``tol``), so the ball of radius ``tol`` around ``w`` lies in the cell. Here are the
compiled twins of :mod:`reluregions.geometry.rays` (rays and margins without an LP), the checks that
turn a point into a certificate, the certified inscribed ball of a finished region, and the test of
one hyperplane on a cell (:func:`probe`: a known point, a ray, else one LP whose answer
:func:`decide` certifies or hands to HiGHS), the step of the high-dimensional engine
(:meth:`reluregions.enumeration.highd.HighDimAlgorithm._test`) in compiled form.
"""
from __future__ import annotations

import numpy as np

from .kernels import _least_slack, njit
from .simplex import OPTIMAL, box_lp, lp_lower_bound

__all__ = ["exit_step", "violation", "shoot", "towards", "region_ball", "decide", "probe", "MISS",
           "CROSS", "PENDING"]

_EPS = 2.0 ** -52
#: Outcomes of :func:`probe`.
MISS, CROSS, PENDING = 0, 1, 2
_INSIDE = 1e-12  # a point this close to the shrunk cell counts as inside it (band is far larger)


@njit(cache=True, nogil=True)
def exit_step(G, h, r, w, d, shrink):
    """Largest ``λ >= 0`` with ``w + λ d`` in the cell shrunk by ``shrink`` (rows ``:r`` and box)."""
    k = w.shape[0]
    ex = np.inf
    for c in range(k):
        if d[c] > 0.0:
            ex = min(ex, (1.0 - shrink - w[c]) / d[c])
        elif d[c] < 0.0:
            ex = min(ex, (-1.0 + shrink - w[c]) / d[c])
    for i in range(r):
        gd = 0.0
        gw = 0.0
        for c in range(k):
            gd += G[i, c] * d[c]
            gw += G[i, c] * w[c]
        if gd > 0.0:
            ex = min(ex, (h[i] - shrink - gw) / gd)
    return max(ex, 0.0)


@njit(cache=True, nogil=True)
def violation(G, h, r, p, shrink):
    """How far ``p`` lies outside the cell shrunk by ``shrink`` (``<= 0``: inside), rounding
    included: each row's excess is raised by a bound on the error of its evaluation."""
    k = p.shape[0]
    worst = -np.inf
    for c in range(k):
        worst = max(worst, abs(p[c]) - (1.0 - shrink))
    for i in range(r):
        s = -h[i] + shrink
        mag = abs(h[i]) + shrink
        for c in range(k):
            x = G[i, c] * p[c]
            s += x
            mag += abs(x)
        worst = max(worst, s + (k + 2) * _EPS * mag)
    return worst


@njit(cache=True, nogil=True)
def towards(w, x, row, target, out):
    """Into ``out``: the point of the segment from ``w`` to ``x`` where ``row @ t`` equals ``target``
    (which lies between the two ends' values)."""
    k = w.shape[0]
    rw = 0.0
    rx = 0.0
    for c in range(k):
        rw += row[c] * w[c]
        rx += row[c] * x[c]
    mu = (rw - target) / (rw - rx)
    for c in range(k):
        out[c] = w[c] + mu * (x[c] - w[c])


@njit(cache=True, nogil=True)
def shoot(G, h, r, w, row, need, tol, d, out):
    """A point (into ``out``) inside the cell shrunk by ``tol`` with ``row @ t <= row @ w - need``:
    True when found, without an LP.

    Two rays from ``w``: towards the corner of the shrunk box that minimises ``row @ t``, then
    along ``-row``; the point is halfway between where the ray reaches the level and where it
    leaves the shrunk cell (``d`` is scratch).
    """
    k = w.shape[0]
    for attempt in range(2):
        drop = 0.0
        for c in range(k):
            if attempt == 0:
                corner = -1.0 + tol if row[c] > 0.0 else 1.0 - tol
                d[c] = corner - w[c]
            else:
                d[c] = -row[c]
            drop -= row[c] * d[c]
        if not drop > 0.0:
            continue
        ex = exit_step(G, h, r, w, d, tol)
        step = need / drop
        if ex > step * (1.0 + 1e-9) + 1e-15:
            lam = (step + ex) / 2.0
            for c in range(k):
                out[c] = w[c] + lam * d[c]
            return True
    return False


@njit(cache=True, nogil=True)
def region_ball(G, h, r, w, rM, rm, rsc, nrows, bits, zero_tol, gamma):
    """Radius of a ball around ``w`` inside the region: no row of the cell, no box face and no
    hidden neuron's hyperplane (rows ``:nrows`` of the pulled-back maps ``rM``/``rm``, on the side
    its bit says; constant neurons, whose row is below ``zero_tol`` times their scale, have none)
    crosses it. Every distance is lowered by a bound on its rounding (``gamma``
    times the neuron's magnitude sum ``rsc`` over its norm, as the vertex traversal bounds it), so
    the ball provably lies in the region; a negative value means ``w`` is not shown inside."""
    k = w.shape[0]
    rad = np.inf
    for c in range(k):
        rad = min(rad, 1.0 - abs(w[c]) - _EPS)
    rad = min(rad, _least_slack(G, h, 0, r, w, k))
    for j in range(nrows):
        z = rm[j]
        mag = abs(rm[j])
        s2 = 0.0
        a1 = 0.0
        for c in range(k):
            x = rM[j, c] * w[c]
            z += x
            mag += abs(x)
            s2 += rM[j, c] * rM[j, c]
            a1 += abs(rM[j, c])
        if not a1 > zero_tol * max(rsc[j], 1e-300):
            continue  # constant on the region (DESIGN.md §1): no hyperplane
        nrm = np.sqrt(s2)
        dist = (z if bits[j] else -z) / nrm
        rad = min(rad, dist - (gamma * rsc[j] + (k + 2) * _EPS * mag) / nrm)
    return rad


@njit(cache=True, nogil=True)
def decide(G, h, r, obj, thr, tol, band, lower, upper, hs, max_iter, key, ftab, fx, nf, x, lps):
    """Whether ``min obj @ t`` over the cell shrunk by ``tol`` lies below ``thr``: ``(code, value)``
    with code 1 (yes, ``x`` a point of the shrunk cell where ``obj @ x = value < thr``), 0 (no) or 2
    (not certified: the caller asks HiGHS). A force-table entry for ``key = (neuron, sign, r)``
    (HiGHS's status, value and point) answers instead, by the high-dimensional engine's rule."""
    k = obj.shape[0]
    for f in range(nf):
        if ftab[f, 0] == key[0] and ftab[f, 1] == key[1] and ftab[f, 2] == key[2]:
            value = ftab[f, 4]
            if ftab[f, 3] == OPTIMAL and value < thr:
                x[:] = fx[f]
                return 1, value
            return 0, value if ftab[f, 3] == OPTIMAL else np.inf
    for i in range(r):
        hs[i] = h[i] - tol
    lps[0] += 1
    status, t, y, _ = box_lp(obj, G, hs, r, lower, upper, max_iter)
    if status != OPTIMAL:
        return 2, np.nan
    value = 0.0
    for c in range(k):
        value += obj[c] * t[c]
    if value <= thr - band and violation(G, h, r, t, tol) <= _INSIDE:
        x[:] = t
        return 1, value
    if lp_lower_bound(obj, G, hs, r, lower, upper, y) >= thr + band:
        return 0, value
    return 2, value


@njit(cache=True, nogil=True)
def probe(G, h, r, w, a, off, tol, band, lower, upper, P, npool, j, ftab, fx, nf, max_iter, hs,
          frow, nrow, d, x, tmp, far_w, near_w, lps):
    """Test one hyperplane ``a t + off = 0`` (unit ``a``) on the cell: ``(code, s, r, sign)``.

    ``s`` is the witness's side. ``CROSS``: both sides hold a ball of radius ``tol``, witnesses in
    ``far_w``/``near_w``. ``MISS``: the bit is ``s > 0``; the cut may have joined the rows (``r``
    returned) with ``w`` moved inside it. ``PENDING``: an LP needs HiGHS: minimise ``sign * a``
    over the cell of ``r`` rows shrunk by ``tol`` (the force-table key ``(j, sign, r)``)."""
    k = w.shape[0]
    z = off
    for c in range(k):
        z += a[c] * w[c]
    s = 1.0 if z >= 0.0 else -1.0
    az = abs(z)
    far_rhs = -s * off
    thr = far_rhs - tol
    for c in range(k):
        frow[c] = s * a[c]
        nrow[c] = -s * a[c]
    found = False
    best = np.inf
    bi = -1
    for i in range(npool):  # 1. a known point of the cell beyond the hyperplane
        v = 0.0
        for c in range(k):
            v += frow[c] * P[i, c]
        if v < best:
            best, bi = v, i
    if bi >= 0 and best <= thr - band and violation(G, h, r, P[bi], tol) <= _INSIDE:
        far_w[:] = P[bi]
        found = True
    if not found and shoot(G, h, r, w, frow, az + tol, tol, d, far_w):  # 2. a ray
        v = 0.0
        for c in range(k):
            v += frow[c] * far_w[c]
        found = v <= thr - band and violation(G, h, r, far_w, tol) <= _INSIDE
    if not found:  # 3. an LP
        code, value = decide(G, h, r, frow, thr, tol, band, lower, upper, hs, max_iter,
                              (j, int(s), r), ftab, fx, nf, x, lps)
        if code == 2:
            return PENDING, s, r, int(s)
        if code == 1:
            towards(w, x, frow, (thr + value) / 2.0, far_w)
        else:
            if value < far_rhs:  # the far side is a sliver: keep the near side's cut
                gap = -far_rhs - tol
                for c in range(k):
                    gap -= nrow[c] * w[c]
                if gap < 0.0:  # the witness's ball crosses the cut: move it
                    if shoot(G, h, r, w, nrow, -gap, tol, d, tmp):
                        w[:] = tmp
                    else:
                        code, value = decide(G, h, r, nrow, -far_rhs - tol, tol, band, lower, upper,
                                              hs, max_iter, (j, -int(s), r), ftab, fx, nf, x, lps)
                        if code == 2:
                            return PENDING, s, r, -int(s)
                        if code == 0:
                            return MISS, s, r, 0  # the near side is thin too: no cut
                        towards(w, x, nrow, (-far_rhs - tol + value) / 2.0, tmp)
                        w[:] = tmp
                G[r] = nrow
                h[r] = -far_rhs
                r += 1
            return MISS, s, r, 0
    if az >= tol:  # the near side: the witness, moved away from the cut when there is room
        back = exit_step(G, h, r, w, frow, tol)
        lam = back / 2.0 if back > 2.0 * az else 0.0
        for c in range(k):
            near_w[c] = w[c] + lam * frow[c]
    elif not shoot(G, h, r, w, nrow, tol - az, tol, d, near_w):
        code, value = decide(G, h, r, nrow, -far_rhs - tol, tol, band, lower, upper, hs, max_iter,
                              (j, -int(s), r), ftab, fx, nf, x, lps)
        if code == 2:
            return PENDING, s, r, -int(s)
        if code == 0:
            return MISS, s, r, 0  # both sides thinner than tol: the near one stays
        towards(w, x, nrow, (-far_rhs - tol + value) / 2.0, near_w)
    return CROSS, s, r, 0
