"""highd_pool.PointPool: the pass's known points as rows of one matrix."""
from __future__ import annotations

import numpy as np

from reluregions.enumeration.highd_pool import PointPool


def test_add_grow_keep_and_views() -> None:
    rng = np.random.default_rng(0)
    pts = [rng.normal(size=5) for _ in range(3)]
    pool = PointPool(5, pts)
    assert pool.size == 3 and np.array_equal(pool.points, np.array(pts))
    more = [rng.normal(size=5) for _ in range(20)]  # past the initial capacity
    for q in more:
        pool.add(q)
    everything = np.array(pts + more)
    assert np.array_equal(pool.points, everything)
    mask = everything[:, 0] > 0
    pool.keep(mask)
    assert np.array_equal(pool.points, everything[mask])
    pool.keep(np.zeros(pool.size, dtype=bool))
    assert pool.size == 0 and pool.points.shape == (0, 5)
    pool.add(pts[0])
    assert np.array_equal(pool.points, pts[0][None])
