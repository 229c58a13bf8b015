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
        status, t, value, by_highs = cell_minimum(LPSolver(), c, G, h, lower, upper, (theta,))
        assert status == "optimal"
        assert (value < theta) == (exact < theta)
        assert np.all(G @ t <= h + 1e-9) and np.all(np.abs(t) <= 1 + 1e-12)
        if abs(exact - theta) < BAND:  # inside the band: only HiGHS may answer
            assert by_highs


def test_many_dimensions_go_to_highs() -> None:
    rng = np.random.default_rng(1)
    c, G, h = _cell(rng, 100, 5)
    *_, by_highs = cell_minimum(LPSolver(), c, G, h, -np.ones(100), np.ones(100), (0.0,))
    assert by_highs
