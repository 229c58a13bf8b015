"""Lagrangian lower bounds (geometry/dualbound.py) never exceed the LP optimum, and tighten it."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from reluregions.geometry.dualbound import lagrangian_lower_bounds


def _lp_min(f: np.ndarray, G: np.ndarray, h: np.ndarray, b: float) -> float:
    res = linprog(f, A_ub=G, b_ub=h, bounds=[(-b, b)] * f.size, method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("seed", range(25))
def test_bounds_are_valid_and_no_weaker_than_the_box(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, r, q = int(rng.integers(2, 60)), int(rng.integers(0, 8)), 6
    G = rng.normal(size=(r, k))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    inside = rng.uniform(-0.5, 0.5, size=k)          # the polytope holds this point
    h = G @ inside + rng.uniform(0.0, 1.0, size=r)
    F = rng.normal(size=(q, k))
    low = lagrangian_lower_bounds(F, G, h, 1.0)
    box_only = -np.abs(F).sum(axis=1)
    exact = np.array([_lp_min(f, G, h, 1.0) for f in F])
    assert np.all(low <= exact + 1e-9 * (1 + np.abs(exact)))
    assert np.all(low >= box_only - 1e-12)


def test_a_single_cut_is_solved_exactly() -> None:
    # min t0 over [-1, 1]^2 with t0 >= 0.25 (-t0 <= -0.25): the bound must reach 0.25
    F = np.array([[1.0, 0.0]])
    G = np.array([[-1.0, 0.0]])
    low = lagrangian_lower_bounds(F, G, np.array([-0.25]), 1.0)
    assert low[0] == pytest.approx(0.25)


def test_without_rows_it_is_interval_arithmetic() -> None:
    F = np.array([[1.0, -2.0, 0.5]])
    low = lagrangian_lower_bounds(F, np.zeros((0, 3)), np.zeros(0), 0.5)
    assert low[0] == pytest.approx(-1.75)
