"""Compiled pieces of one cell of the LP traversal (:mod:`reluregions.geometry.lpdfs`, issue 14).

A cell is a list of cuts ``G[:r] t <= h[:r]`` (unit normals) inside the box ``[-1, 1]^k`` and a
witness point ``w`` strictly inside it. A *wide* cell's witness lies inside the cell shrunk by
``tol`` (the rows' right-hand sides and the box lowered by ``tol``, the band of float decisions,
DESIGN.md §1), so the ball of radius ``tol`` around it lies in the cell; a *thin* cell's witness is
a point the exact oracle checked strictly inside (:mod:`reluregions.geometry.exactside`). Here are
the compiled twins of :mod:`reluregions.geometry.rays` (rays and margins without an LP), the checks
that turn a point into a certificate, the start of a layer on a cell (:func:`screen`), the point
pools handed to children, and the certified inscribed ball of a finished region. The test of one
hyperplane on a cell is :mod:`reluregions.geometry.lpside`.
"""
from __future__ import annotations

import numpy as np

from .kernels import _least_slack, njit

__all__ = ["exit_step", "violation", "shoot", "towards", "region_ball", "unit_row", "screen",
           "child_pool", "certain_sign", "MAX_POOL", "INSIDE"]

_EPS = 2.0 ** -52
#: Points a cell hands to its children.
MAX_POOL = 32
INSIDE = 1e-12  # a point this close to the shrunk cell counts as inside it (band is far larger)


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
def _neuron_at(rM, rm, j, w):
    """Neuron ``j``'s pre-activation at ``w`` and, for bounds on its rounding and its distance,
    the magnitude sum of its terms, its row's squared norm and the row's 1-norm."""
    z = rm[j]
    mag = abs(rm[j])
    s2 = 0.0
    a1 = 0.0
    for c in range(w.shape[0]):
        x = rM[j, c] * w[c]
        z += x
        mag += abs(x)
        s2 += rM[j, c] * rM[j, c]
        a1 += abs(rM[j, c])
    return z, mag, s2, a1


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
        z, mag, s2, a1 = _neuron_at(rM, rm, j, w)
        if not a1 > zero_tol * max(rsc[j], 1e-300):
            continue  # constant on the region (DESIGN.md §1): no hyperplane
        nrm = np.sqrt(s2)
        dist = (z if bits[j] else -z) / nrm
        rad = min(rad, dist - (gamma * rsc[j] + (k + 2) * _EPS * mag) / nrm)
    return rad


@njit(cache=True, nogil=True)
def unit_row(rM, rm, i, out):
    """Neuron ``i``'s hyperplane with a unit normal: the normal into ``out``, the offset returned."""
    k = out.shape[0]
    s2 = 0.0
    for c in range(k):
        s2 += rM[i, c] * rM[i, c]
    nrm = np.sqrt(s2)
    for c in range(k):
        out[c] = rM[i, c] / nrm
    return rm[i] / nrm


@njit(cache=True, nogil=True)
def screen(rM, rm, rsc, base, nl, w, zero_tol, tol, cb, todo):
    """Start a layer on a cell: fix the bits of its constant neurons (DESIGN.md §1) and of those
    whose side away from ``w`` has no point of the box grown by ``tol`` within ``tol`` of it (a
    Chebyshev radius below ``-tol``: no interior, by the interval bound over the box, with the
    row's 1-norm for its 2-norm); the others go to ``todo`` (returned: how many)."""
    k = w.shape[0]
    n = 0
    for j in range(nl):
        i = base + j
        a1 = 0.0
        z = rm[i]
        for c in range(k):
            a1 += abs(rM[i, c])
            z += rM[i, c] * w[c]
        zt = zero_tol * max(rsc[i], 1e-300)
        s = 1.0 if z >= 0.0 else -1.0
        if not a1 > zt:
            cb[i] = rm[i] > zt
        elif s * rm[i] > (1.0 + 2.0 * tol) * a1:
            cb[i] = s > 0.0
        else:
            todo[n] = j
            n += 1
    return n


@njit(cache=True, nogil=True)
def child_pool(P, row, rhs, tol, Q, nq):
    """Into ``P``: the points of ``Q[:nq]`` on the inner side of ``row t <= rhs - tol`` (last
    ``MAX_POOL``); returns how many."""
    k = row.shape[0]
    n = 0
    for i in range(nq - 1, -1, -1):
        if n == MAX_POOL:
            break
        v = 0.0
        for c in range(k):
            v += row[c] * Q[i, c]
        if v < rhs - tol:
            P[n] = Q[i]
            n += 1
    return n


@njit(cache=True, nogil=True)
def certain_sign(rM, rm, rsc, i, w, gamma):
    """The side of neuron ``i``'s hyperplane that ``w`` lies on for the network as written: ``(sign,
    margin)``, the sign of the pre-activation (``0.0`` when its float value does not clear the bound
    on its rounding: ``gamma`` times the neuron's magnitude sum ``rsc`` for the pulled-back row, as
    :func:`region_ball`) and a lower bound on ``w``'s distance to the hyperplane (``0.0`` then)."""
    k = w.shape[0]
    z, mag, s2, _ = _neuron_at(rM, rm, i, w)
    err = gamma * rsc[i] + (k + 2) * _EPS * mag
    if not abs(z) > err:
        return 0.0, 0.0
    return (1.0 if z > 0.0 else -1.0), (abs(z) - err) / np.sqrt(s2) * (1.0 - 4.0 * (k + 2) * _EPS)
