"""The compiled dense LP solver (geometry/simplex.py) against HiGHS on thousands of small LPs.

Random LPs ``min c t  s.t.  A t <= b,  -1 <= t <= 1`` of up to 12 columns and 24 rows, with the
degenerate shapes the enumeration meets: duplicated and opposite rows, zero rows, right-hand sides
of zero (many constraints through one vertex), infeasible systems, fixed columns. HiGHS (through
the package's own wrapper) is the reference for status and optimum; the dual bound must never
exceed the optimum and must be tight at it.
"""
from __future__ import annotations

import numpy as np
import pytest

from reluregions.geometry.lp import LPSolver
from reluregions.geometry.simplex import (ABOVE, INFEASIBLE, LIMIT, OPTIMAL, box_lp, box_lp_until,
                                         lp_lower_bound)


def _random_lp(rng: np.random.Generator, shape: int) -> tuple:
    k = int(rng.integers(1, 13))
    r = int(rng.integers(0, 25))
    A = rng.normal(size=(r, k))
    b = rng.normal(size=r)
    lo, hi = -np.ones(k), np.ones(k)
    if shape == 1 and r >= 3:            # duplicated, opposite and zero rows
        A[1], b[1] = A[0], b[0]
        A[2], b[2] = -2.0 * A[0], -2.0 * b[0] + 0.5
        A[r - 1], b[r - 1] = 0.0, abs(b[r - 1])
    elif shape == 2:                     # every row through the origin: a degenerate vertex
        b[:] = 0.0
    elif shape == 3:                     # barely feasible: right-hand sides near zero
        b = 1e-3 * np.abs(b)
    elif shape == 4 and r:               # infeasible: a row and its negation pushed apart
        A[0] = A[-1] = rng.normal(size=k)
        A[-1] *= -1.0
        b[0], b[-1] = -1.0, -1.0
    elif shape == 5:                     # a fixed column
        lo[0] = hi[0] = 0.25
    return rng.normal(size=k), A, b, lo, hi


@pytest.mark.parametrize("shape", range(6))
def test_matches_highs_on_random_lps(shape: int) -> None:
    rng = np.random.default_rng(1000 + shape)
    solver = LPSolver()
    seen = {OPTIMAL: 0, INFEASIBLE: 0}
    for _ in range(600):
        c, A, b, lo, hi = _random_lp(rng, shape)
        r = A.shape[0]
        status, t, y, _ = box_lp(c, A, b, r, lo, hi, 500)
        assert status != LIMIT
        ref, _, value = solver.minimize_in_box(c, A, b, lo, hi)
        seen[status] += 1
        if status == INFEASIBLE:
            assert ref == "infeasible"
            continue
        assert ref == "optimal"
        assert c @ t == pytest.approx(value, abs=1e-7)
        if r:
            assert (A @ t - b).max() <= 1e-9
        assert np.all(t >= lo - 1e-12) and np.all(t <= hi + 1e-12)
        assert np.all(y >= 0)
        bound = lp_lower_bound(c, A, b, r, lo, hi, y)
        assert bound <= value + 1e-9
        assert bound == pytest.approx(value, abs=1e-7)
    assert seen[OPTIMAL] > 0
    if shape == 4:
        assert seen[INFEASIBLE] > 0


@pytest.mark.parametrize("seed", range(8))
def test_many_columns_few_rows_with_bound_flips(seed: int) -> None:
    """The high-dimensional engine's shape: hundreds of boxed columns, a few dozen rows. The ratio
    test's bound flips keep the pivots near the number of rows (without them a leaving row needs
    one pivot per column it moves: hundreds), and an objective in the span of two rows (every
    reduced cost zero at the optimum, which made the unperturbed dual simplex cycle) still ends."""
    rng = np.random.default_rng(2000 + seed)
    solver = LPSolver()
    k, r = int(rng.integers(200, 800)), int(rng.integers(2, 30))
    A = rng.normal(size=(r, k))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    inside = rng.uniform(-0.9, 0.9, size=k)
    b = A @ inside + rng.uniform(0.0, 0.3, size=r)
    lo, hi = -np.ones(k), np.ones(k)
    objectives = [rng.normal(size=k), -(0.7 * A[0] + 0.4 * A[r - 1])]
    for c in objectives:
        status, t, y, pivots = box_lp(c, A, b, r, lo, hi, 20 * (r + k))
        ref, _, value = solver.minimize_in_box(c, A, b, lo, hi)
        assert status == OPTIMAL and ref == "optimal"
        assert c @ t == pytest.approx(value, abs=1e-7)
        assert (A @ t - b).max() <= 1e-9
        assert pivots <= 10 * (r + 1)
        bound = lp_lower_bound(c, A, b, r, lo, hi, y)
        assert bound <= value + 1e-9
        assert bound == pytest.approx(value, abs=1e-5)


@pytest.mark.parametrize("seed", range(10))
def test_early_stop_above_a_threshold_is_a_valid_bound(seed: int) -> None:
    """``box_lp_until`` stops once its dual objective passes ``stop``; its multipliers then bound
    the minimum rigorously past ``stop`` (up to the perturbation), and a ``stop`` above the optimum
    never stops early."""
    rng = np.random.default_rng(3000 + seed)
    k, r = int(rng.integers(50, 400)), int(rng.integers(2, 25))
    A = rng.normal(size=(r, k))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = A @ rng.uniform(-0.9, 0.9, size=k) + rng.uniform(0.0, 0.3, size=r)
    lo, hi, c = -np.ones(k), np.ones(k), rng.normal(size=k)
    _, _, value = LPSolver().minimize_in_box(c, A, b, lo, hi)
    free = lp_lower_bound(c, A, b, r, lo, hi, np.zeros(r))  # the box alone
    stop = free + 0.5 * (value - free)
    status, _, y, _ = box_lp_until(c, A, b, r, lo, hi, 20 * (r + k), stop)
    assert status in (ABOVE, OPTIMAL)
    assert stop - 1e-6 <= lp_lower_bound(c, A, b, r, lo, hi, y) <= value + 1e-9
    status, t, _, _ = box_lp_until(c, A, b, r, lo, hi, 20 * (r + k), value + 1e-3)
    assert status == OPTIMAL and c @ t == pytest.approx(value, abs=1e-7)


def test_iteration_limit_is_reported() -> None:
    rng = np.random.default_rng(7)
    A = rng.normal(size=(20, 10))
    b = np.abs(rng.normal(size=20)) * 0.01
    c = rng.normal(size=10)
    status, *_ = box_lp(c, A, b, 20, -np.ones(10), np.ones(10), 0)
    assert status == LIMIT


def test_lower_bound_holds_for_any_multipliers() -> None:
    """Weak duality: any y >= 0 gives a bound no higher than the optimum (not only the solver's)."""
    rng = np.random.default_rng(11)
    solver = LPSolver()
    for _ in range(200):
        c, A, b, lo, hi = _random_lp(rng, 0)
        status, _, value = solver.minimize_in_box(c, A, b, lo, hi)
        if status != "optimal":
            continue
        y = np.abs(rng.normal(size=A.shape[0]))
        assert lp_lower_bound(c, A, b, A.shape[0], lo, hi, y) <= value + 1e-12


def test_only_the_first_rows_are_read() -> None:
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = np.array([0.5, 0.5, -5.0])      # the third row alone would make it infeasible
    c = np.array([-1.0, -1.0])
    status, t, y, _ = box_lp(c, A, b, 2, -np.ones(2), np.ones(2), 100)
    assert status == OPTIMAL
    np.testing.assert_allclose(t, [0.5, 0.5])
    np.testing.assert_allclose(y, [1.0, 1.0])
