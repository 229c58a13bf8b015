"""Rigorous float bounds of the certificate's compiled path (issue 15; :mod:`._certify_fast`).

Upper bounds of a linear objective over a region given by some of its rows ``C_i [s; 1] <= 0`` and
an axis box, made rigorous by weak duality with the data error ``E`` and a bound on the rounding of
their evaluation (:func:`_bound_of`), from multipliers of one row (:func:`_slack_by_one_row`) or of
a compiled LP (:func:`_max_over`, :func:`reluregions.geometry.simplex.tableau_lp_into`). These are
the LP relaxations of Drammis et al. 2024, Appendix A, over a region's rows; nothing a float LP
returns is trusted beyond its multipliers, which any ``y >= 0`` makes a valid bound.

The LPs of one region share their rows: :class:`Scratch` holds the rows ``A t <= b`` of the region's
support, loaded once per region (:func:`_load_rows`), and the tableau's arrays, so that no LP and
no region allocates. The region's first LP is solved by the dual simplex from the slack basis; every
later one (the other coordinates of the box, then the constraints to disprove) starts from the
basis the one before ended in, by the primal simplex
(:func:`reluregions.geometry.simplex_primal.tableau_primal_into`): about 2.5 pivots instead of 5.4.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..geometry.kernels import njit, njit_borrowed
from ..geometry.simplex import LIMIT, OPTIMAL, box_lp, tableau_dual_into
from ..geometry.simplex_primal import tableau_primal_into

_U = 2.0 ** -53
_TINY = 2.0 ** -1000


class Scratch(NamedTuple):
    """Per-thread work arrays for ``N`` constraints in ``k`` coordinates (:func:`scratch`)."""

    A: np.ndarray       # (N, k) the support's rows
    b: np.ndarray       # (N,)
    c: np.ndarray       # (k,) an LP's costs
    obj: np.ndarray     # (k + 1,) a coordinate objective
    eobj: np.ndarray    # (k + 1,) its error (zero)
    T: np.ndarray       # (N, k) the tableau
    d: np.ndarray       # (k,)
    col: np.ndarray     # (k,) int64
    head: np.ndarray    # (N,) int64
    val: np.ndarray     # (N + k,)
    upper: np.ndarray   # (N + k,) bool
    y: np.ndarray       # (N,)
    one: np.ndarray     # (1,) int64
    y1: np.ndarray      # (1,)
    warm: np.ndarray    # (1,) bool: the tableau holds an optimal basis of the region's rows
    done: np.ndarray    # (2k,) bool: box sides known (upper sides, then lower)


@njit(cache=True, nogil=True)
def scratch(N, k):
    """The :class:`Scratch` arrays for regions of ``N`` constraints in ``k`` coordinates."""
    return Scratch(np.empty((N, k)), np.empty(N), np.empty(k), np.zeros(k + 1), np.zeros(k + 1),
                   np.empty((N, k)), np.empty(k), np.empty(k, np.int64), np.empty(N, np.int64),
                   np.empty(N + k), np.empty(N + k, np.bool_), np.empty(N), np.empty(1, np.int64),
                   np.empty(1), np.zeros(1, np.bool_), np.zeros(2 * k, np.bool_))


@njit_borrowed()
def _gamma(n):
    n = n + 2
    return 2.0 * n * _U / (1.0 - n * _U)


@njit_borrowed()
def _bound_of(obj, eobj, C, E, rows, y, lo, hi):
    """Rigorous upper bound of ``max obj^exact [s; 1]`` over ``{s in [lo, hi]: C_i^exact [s; 1]
    <= 0 for i in rows}`` from multipliers ``y >= 0`` of the rows (weak duality), with the data
    errors ``eobj``, ``E`` and the rounding of the evaluation bounded."""
    k = lo.size
    val = 0.0
    mag = 0.0
    err = 0.0
    for a in range(k + 1):
        r = obj[a]
        rm = abs(obj[a])
        ed = eobj[a]
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


@njit_borrowed()
def _upper_bound(C, E, j, rows, y, lo, hi):
    """:func:`_bound_of` for the objective ``C_j [s; 1]`` (error ``E_j``)."""
    return _bound_of(C[j], E[j], C, E, rows, y, lo, hi)


@njit_borrowed()
def _load_rows(C, rows, w):
    """``w.A t <= w.b`` for the rows ``C_i [t; 1] <= 0``, ``i`` in ``rows`` (once per region; the
    tableau no longer holds a basis of them)."""
    A, b = w.A, w.b
    k = A.shape[1]
    for t in range(rows.size):
        for a in range(k):
            A[t, a] = C[rows[t], a]
        b[t] = -C[rows[t], k]
    w.warm[0] = False


@njit_borrowed()
def _lp_tableau(c, r, lo, hi, limit, w):
    """``min c @ t`` over the region's rows (loaded in ``w``) and the box, on the condensed
    tableau: from the previous LP's optimal basis by the primal simplex when ``w.warm`` (a vertex:
    primal feasible for any costs), else (or when that fails) by the dual simplex from the slack
    basis. The multipliers land in ``w.y``."""
    status = LIMIT
    if w.warm[0]:
        status, _ = tableau_primal_into(c, r, lo, hi, limit, w.T, w.d, w.col, w.head, w.val,
                                        w.upper, w.y)
    if status != OPTIMAL:
        status, _ = tableau_dual_into(c, w.A, w.b, r, lo, hi, limit, np.inf, w.T, w.d, w.col,
                                      w.head, w.val, w.upper, w.y)
    w.warm[0] = status == OPTIMAL


@njit(inline="always")
def _max_over(obj, eobj, C, E, rows, lo, hi, w):
    """Rigorous upper bound of ``max obj [s; 1]`` over the ``rows`` (loaded into ``w.A``, ``w.b``
    by :func:`_load_rows`) and the box, with the multipliers of one compiled LP
    (:func:`_bound_of`).

    Inlined: with fewer than ``k / 2`` rows it solves the LP in the revised form, which
    allocates, so only callers with reference counting (not :func:`~.kernels.njit_borrowed`) may
    meet such a region (:func:`reluregions.enumeration._certify_fast._block_kernel` routes them).
    """
    k = lo.size
    r = rows.size
    c = w.c
    for a in range(k):
        c[a] = -obj[a]
    limit = 50 * (r + k) + 100
    if k > 2 * r:  # the revised form (it allocates; few rows)
        _, _, y, _ = box_lp(c, w.A, w.b, r, lo, hi, limit)
    else:
        _lp_tableau(c, r, lo, hi, limit, w)
        y = w.y
    for t in range(r):
        if not (y[t] >= 0.0):
            y[t] = 0.0
    return _bound_of(obj, eobj, C, E, rows, y, lo, hi)


@njit_borrowed()
def _slack_by_one_row(C, E, j, support, lo, hi, w):
    """Whether ``C_j [s; 1] < 0`` on the region is proven by one multiplier: ``max`` over the box of
    ``C_j - lam C_m`` for a row ``m`` of ``support``, ``lam`` at the breakpoints where a coordinate
    of it changes sign (the bound is convex and piecewise linear in ``lam``), made rigorous by
    :func:`_bound_of`."""
    k = lo.size
    one = w.one
    y = w.y1
    for m in support:
        one[0] = m
        for a in range(k):
            if C[m, a] == 0.0:
                continue
            lam = C[j, a] / C[m, a]
            if lam <= 0.0:
                continue
            if not (_value_one(C, j, m, lam, lo, hi) < 0.0):
                continue  # the rigorous bound is at least the value: nothing to prove
            y[0] = lam
            if _bound_of(C[j], E[j], C, E, one, y, lo, hi) < 0.0:
                return True
    return False


@njit(inline="always")
def _value_one(C, j, m, lam, lo, hi):
    """The float value of ``max (C_j - lam C_m) [s; 1]`` over the box, as :func:`_bound_of`
    rounds it (``val`` there, for one row ``m`` with multiplier ``lam > 0``); the rigorous bound
    adds nonnegative terms to it, so it is ``< 0`` only when this is."""
    k = lo.size
    val = 0.0
    for a in range(k):
        r = C[j, a] - lam * C[m, a]
        val += max(r * lo[a], r * hi[a])
    return val + (C[j, k] - lam * C[m, k])


@njit(inline="always")
def _slack_on_box(C, E, i, sgn, lo, hi):
    """Whether ``sgn C_i [s; 1] < 0`` on the whole box ``[lo, hi]``, rigorously with the error
    ``E_i`` (``sgn`` is +1 or -1: the flip is exact, so either sign gives the floats of the row
    as written with that sign)."""
    k = lo.size
    top = sgn * C[i, k]
    mag = abs(C[i, k])
    err = E[i, k]
    for a in range(k):
        c = sgn * C[i, a]
        sm = max(abs(lo[a]), abs(hi[a]))
        top += max(c * lo[a], c * hi[a])
        mag += abs(c) * sm
        err += E[i, a] * sm
    return top + err + _gamma(k + 2) * (mag + err) + _TINY < 0.0


@njit_borrowed()
def _not_far(C, E, idx, n, lo, hi, out):
    """The constraints ``idx[:n]`` not proven to hold strictly on the whole box ``[lo, hi]``
    (rigorously, :func:`_slack_on_box`; the others are no facet), in order, into ``out``; returns
    how many."""
    m = 0
    for t in range(n):
        i = idx[t]
        if not _slack_on_box(C, E, i, 1.0, lo, hi):
            out[m] = i
            m += 1
    return m


@njit(inline="always")
def _region_box(C, E, rows, lo0, hi0, lo, hi, w):
    """A rigorous box ``[lo, hi]`` around the region (written in place): up to ``2k`` compiled LPs
    over ``rows`` (loaded by :func:`_load_rows`; any subset of the region's rows encloses it), made
    safe by weak duality, the objectives the coordinates, every upper side then every lower (fewer
    warm pivots), starting from the box ``[lo0, hi0]`` (the domain's, or the region's cell's). A
    side is skipped once an LP's optimal vertex, a point of the LPs' feasible set, reaches that
    starting bound there (its own LP could not tighten it; keeping the starting bound, which
    encloses the region, is always rigorous)."""
    k = lo0.size
    obj = w.obj
    done = w.done
    for a in range(k):
        lo[a] = lo0[a]
        hi[a] = hi0[a]
        done[a] = False
        done[k + a] = False
    tableau = k <= 2 * rows.size  # else the revised form: no vertex kept (_max_over)
    for side in range(2 * k):
        if done[side]:
            continue
        a = side if side < k else side - k
        sgn = 1.0 if side < k else -1.0
        obj[a] = sgn
        ub = _max_over(obj, w.eobj, C, E, rows, lo, hi, w)
        obj[a] = 0.0
        if sgn > 0:
            hi[a] = min(hi[a], ub)
        else:
            lo[a] = max(lo[a], -ub)
        if tableau and w.warm[0]:
            for b in range(k):
                if w.val[b] >= hi0[b]:
                    done[b] = True
                if w.val[b] <= lo0[b]:
                    done[k + b] = True


@njit_borrowed()
def _row_norms(C, E, live, cn, en):
    """``|C_i|`` and ``|E_i|`` (2-norms) of the rows ``live``, into ``cn``, ``en``."""
    for i in live:
        sc = 0.0
        se = 0.0
        for a in range(C.shape[1]):
            sc += C[i, a] * C[i, a]
            se += E[i, a] * E[i, a]
        cn[i] = np.sqrt(sc)
        en[i] = np.sqrt(se)


@njit_borrowed()
def _parallel_to_other(C, j, live, cn, en):
    """Whether a row of ``live`` other than ``j`` may be parallel to row ``j`` (then a neuron
    other than ``j`` may vanish on its facet); the test of ``_certify_facets``, with the rows'
    norms from :func:`_row_norms`."""
    k1 = C.shape[1]
    nj = cn[j]
    rj = en[j] / nj
    tol0 = 8.0 * _gamma(k1)
    for i in live:
        if i == j:
            continue
        ni = cn[i]
        dot = 0.0
        for a in range(k1):
            dot += C[i, a] * C[j, a]
        if 1.0 - abs(dot / (ni * nj)) <= 4.0 * (en[i] / ni + rj) + tol0:
            return True
    return False
