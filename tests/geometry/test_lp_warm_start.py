"""``LPSolver.minimize_in_box`` keeps HiGHS's model between calls (rows replaced, costs changed);
a warm start HiGHS refuses ("Not Set", no iteration) is solved again from scratch, not reported as
a solver failure (found by the 64-pixel digits benchmark; the LPs are in tests/data/lp)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from reluregions.geometry.lp import LPSolver

DATA = Path(__file__).resolve().parents[1] / "data" / "lp" / "warm_start_not_set.npz"


def test_refused_warm_start_is_solved_from_scratch() -> None:
    lps = np.load(DATA)
    warm = LPSolver()
    results = []
    for i in range(3):
        args = [lps[f"{name}{i}"] for name in ("c", "G", "h", "lower", "upper")]
        results.append(warm.minimize_in_box(*args))
        cold = LPSolver().minimize_in_box(*args)  # a fresh model: no warm start
        assert results[-1][0] == cold[0] == "optimal"
        assert abs(results[-1][2] - cold[2]) <= 1e-9 * (1 + abs(cold[2]))
