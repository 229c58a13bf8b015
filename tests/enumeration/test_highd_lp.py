"""highd_lp.cell_minimum: the compiled simplex's answers decide every threshold as HiGHS does."""
from __future__ import annotations

import numpy as np
import pytest

from reluregions.enumeration.highd_lp import BAND, cell_minimum
from reluregions.geometry.lp import LPSolver


def _cell(rng: np.random.Generator, k: int, r: int) -> tuple:
    G = rng.normal(size=(r, k))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    inside = rng.uniform(-0.5, 0.5, size=k)
    h = G @ inside + rng.uniform(0.01, 0.5, size=r)
    c = rng.normal(size=k)
    return c / np.linalg.norm(c), G, h


@pytest.mark.parametrize("seed", range(20))
def test_same_side_of_every_threshold_as_highs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, r = int(rng.integers(2, 20)), int(rng.integers(1, 12))
    c, G, h = _cell(rng, k, r)
    lower, upper = -np.ones(k), np.ones(k)
    status, _, exact = LPSolver().minimize_in_box(c, G, h, lower, upper)
    assert status == "optimal"
    for theta in (exact - 0.1, exact + 0.1, exact + 0.5 * BAND, exact - 0.5 * BAND):
        status, t, value, _, by_highs = cell_minimum(LPSolver(), c, G, h, lower, upper, theta)
        assert status == "optimal"
        assert (value < theta) == (exact < theta)
        assert np.all(G @ t <= h + 1e-9) and np.all(np.abs(t) <= 1 + 1e-12)
        if abs(exact - theta) < BAND:  # inside the band: only HiGHS may answer
            assert by_highs


@pytest.mark.parametrize("seed", range(6))
def test_many_dimensions_are_decided_by_the_compiled_simplex(seed: int) -> None:
    """At hundreds of inputs (the MNIST regime) a threshold clear of the band is decided without
    HiGHS, on the same side as HiGHS's optimum; one inside the band still goes to HiGHS."""
    rng = np.random.default_rng(seed)
    k, r = 300 + 100 * seed, int(rng.integers(3, 30))
    c, G, h = _cell(rng, k, r)
    lower, upper = -np.ones(k), np.ones(k)
    _, _, exact = LPSolver().minimize_in_box(c, G, h, lower, upper)
    for theta, clear in ((exact - 0.1, True), (exact + 0.1, True), (exact + 0.5 * BAND, False)):
        status, t, value, _, by_highs = cell_minimum(LPSolver(), c, G, h, lower, upper, theta)
        assert status == "optimal"
        assert (value < theta) == (exact < theta)
        assert np.all(G @ t <= h + 1e-9)
        assert by_highs != clear


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [5, 80, 400])
def test_the_grown_bound_is_a_lower_bound_and_decides_only_clear_of_the_band(seed: int, k: int) -> None:
    """``low`` bounds the minimum over the cell grown by tol from below (compiled simplex for
    few inputs, HiGHS's multipliers for many); a compiled answer that proves nothing below
    ``below`` is kept only when ``low`` clears ``above`` by the band."""
    tol = 1e-8
    rng = np.random.default_rng(seed)
    c, G, h = _cell(rng, k, int(rng.integers(1, 12)))
    shrunk = (h - tol, -np.ones(k) + tol, np.ones(k) - tol)
    grown = (h + tol, -np.ones(k) - tol, np.ones(k) + tol)
    _, _, true_grown = LPSolver().minimize_in_box(c, G, *grown)
    for above in (true_grown - 0.1, true_grown - 0.5 * BAND, true_grown + 0.5 * BAND):
        status, _, value, low, by_highs = cell_minimum(LPSolver(), c, G, *shrunk, -np.inf,
                                                       (*grown, above))
        assert status == "optimal" or (status == "above" and not by_highs and np.isnan(value))
        assert low <= true_grown + 1e-12
        if not by_highs:
            assert low >= above + BAND
    assert cell_minimum(LPSolver(), c, G, *shrunk, -np.inf, (*grown, true_grown - 0.1))[3] > \
        true_grown - 0.1


@pytest.mark.parametrize("seed", range(6))
def test_an_empty_side_far_from_the_band_stops_early(seed: int) -> None:
    """Far above ``above`` the compiled simplex stops as soon as its bound proves it: status
    ``"above"``, no value, a rigorous ``low`` clear of ``above`` by the band, no HiGHS."""
    tol = 1e-8
    rng = np.random.default_rng(seed)
    k = 200
    c, G, h = _cell(rng, k, int(rng.integers(2, 12)))
    shrunk = (h - tol, -np.ones(k) + tol, np.ones(k) - tol)
    grown = (h + tol, -np.ones(k) - tol, np.ones(k) + tol)
    _, _, true_grown = LPSolver().minimize_in_box(c, G, *grown)
    above = true_grown - 1.0
    status, _, value, low, by_highs = cell_minimum(LPSolver(), c, G, *shrunk, above - 2 * tol,
                                                   (*grown, above))
    assert not by_highs
    assert status in ("above", "optimal")
    assert above + BAND <= low <= true_grown + 1e-12
    if status == "above":
        assert np.isnan(value)
