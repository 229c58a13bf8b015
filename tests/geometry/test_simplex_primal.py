"""The warm-started primal simplex (issue 15): from the basis of one LP over some rows, the
optimum of another objective over the same rows, equal to a cold solve's, and multipliers whose
weak-duality bound is the optimum."""
import numpy as np
import pytest

from reluregions.geometry.simplex import OPTIMAL, lp_lower_bound, tableau_dual_into
from reluregions.geometry.simplex_primal import tableau_primal_into


def _scratch(r, k):
    return (np.empty((r, k)), np.empty(k), np.empty(k, np.int64), np.empty(r, np.int64),
            np.empty(k + r), np.empty(k + r, np.bool_), np.empty(r))


def _cold(c, A, b, lo, hi):
    T, d, col, head, val, upper, y = _scratch(*A.shape)
    status, _ = tableau_dual_into(c, A, b, A.shape[0], lo, hi, 1000, np.inf, T, d, col, head,
                                  val, upper, y)
    return status, c @ val[:c.size], y


@pytest.mark.parametrize("seed", range(12))
def test_warm_primal_reaches_the_cold_optimum_through_a_sequence_of_objectives(seed):
    rng = np.random.default_rng(seed)
    k, r = int(rng.integers(2, 6)), int(rng.integers(3, 12))
    A = rng.standard_normal((r, k))
    b = np.abs(rng.standard_normal(r)) + 0.1  # the origin strictly inside: feasible
    lo, hi = -np.ones(k) * 3, np.ones(k) * 3
    T, d, col, head, val, upper, y = _scratch(r, k)
    status, _ = tableau_dual_into(rng.standard_normal(k), A, b, r, lo, hi, 1000, np.inf, T, d,
                                  col, head, val, upper, y)
    assert status == OPTIMAL
    for step in range(8):
        c = rng.standard_normal(k)
        if step % 3 == 2:  # bounds shrink between solves, never past the current vertex
            lo = np.minimum(np.maximum(lo, -2.0), val[:k])
        status, pivots = tableau_primal_into(c, r, lo, hi, 1000, T, d, col, head, val, upper, y)
        assert status == OPTIMAL and pivots <= 1000
        x = val[:k].copy()
        assert np.all(A @ x <= b + 1e-9) and np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)
        cold_status, cold_value, _ = _cold(c, A, b, lo, hi)
        assert cold_status == OPTIMAL
        assert c @ x == pytest.approx(cold_value, abs=1e-9)
        # the multipliers certify the optimum (weak duality, rigorous lower bound)
        assert y[:r].min() >= 0.0
        bound = lp_lower_bound(c, A, b, r, lo, hi, y)
        assert bound <= c @ x + 1e-12 and bound == pytest.approx(c @ x, abs=1e-8)
