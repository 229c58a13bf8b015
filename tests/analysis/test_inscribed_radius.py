"""The default ``radius``: a certified inscribed ball, checked against the independent pull-back.

For every region of random nets (several seeds, dimensions 2 to 5) the vertex algorithm's default
ball must lie inside the region of its pattern: its radius is at most the least slack of the
pattern's constraints at its centre (rebuilt by :mod:`reluregions.analysis.pullback`, which shares
no code with the enumerator), every point sampled on its boundary reproduces the pattern, and the
radius is at most the exact Chebyshev radius (one LP). The kernel's ranks equal the SVD ranks.
"""
from __future__ import annotations

import numpy as np
import pytest

from reluregions import Box, EnumerationConfig, Network, iter_regions
from reluregions.analysis.pullback import pattern_geometry, point_patterns
from reluregions.enumeration.api import make_problem
from reluregions.geometry.lp import LPSolver

from .helpers import random_net

CASES = [(2, (8, 8), 0), (3, (7, 6, 5), 1), (4, (6, 6), 2), (5, (8, 5, 4), 3), (2, (1, 6), 4),
         (3, (9, 2, 7), 5)]


def _check_balls(net: Network, domain: Box, n_dirs: int = 6, seed: int = 0) -> int:
    regions = list(iter_regions(net, domain, EnumerationConfig(algorithm="vertex")))
    param = make_problem(net, domain).param
    solver = LPSolver()
    rng = np.random.default_rng(seed)
    k = param.dim
    for region in regions:
        g = pattern_geometry(net, param, region.bits)
        assert g.consistent
        t = np.asarray(region.center)
        r = region.radius
        assert r > 1e-8  # above radius_tol, as every region
        assert r <= (g.h - g.G @ t).min() + 1e-15  # inside every half-space of the pattern
        _, cheb = solver.chebyshev(g.G, g.h, np.ones(len(g.h)))
        assert r <= cheb + 1e-9  # HiGHS's feasibility tolerance
        assert tuple(region.ranks) == g.ranks
        dirs = rng.standard_normal((n_dirs, k))
        boundary = t + r * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        bits, sure = point_patterns(net, param, np.vstack([t, boundary]))
        assert np.all((bits == region.bits) | ~sure)
    return len(regions)


@pytest.mark.parametrize("d, widths, seed", CASES)
def test_default_radius_is_a_certified_inscribed_ball(d: int, widths: tuple, seed: int) -> None:
    net = random_net(d, widths, seed, n_out=2)
    assert _check_balls(net, Box.symmetric(d), seed=seed) > 1


def test_certified_ball_in_a_scaled_box_and_a_slice() -> None:
    net = random_net(3, (8, 6), seed=11)
    _check_balls(net, Box([-20.0, 0.0, 5.0], [30.0, 1e-3, 9.0]))
    _check_balls(net, Box([-1.0, 0.3, -1.0], [1.0, 0.3, 1.0]))  # a fixed coordinate: a 2-D slice


def test_rank_deficient_maps_match_the_svd() -> None:
    # duplicated and scaled rows make layer maps of rank below the dimension
    rng = np.random.default_rng(7)
    W1 = rng.standard_normal((3, 4))
    W1 = np.vstack([W1, 2 * W1[:1], -W1[1:2]])
    W2 = rng.standard_normal((5, 5))
    net = Network([W1, W2, rng.standard_normal((1, 5))],
                  [rng.standard_normal(5) * 0.3, rng.standard_normal(5) * 0.3, np.zeros(1)])
    assert _check_balls(net, Box.symmetric(4)) > 1


def test_lp_fallback_ball_is_certified() -> None:
    # the path taken when a centroid's ball is empty: one Chebyshev LP, then the certified slack
    from reluregions.enumeration.base import Context
    from reluregions.enumeration.vertex import VertexAlgorithm

    net = random_net(3, (6, 5), seed=21)
    domain = Box.symmetric(3)
    problem = make_problem(net, domain, EnumerationConfig(algorithm="vertex"))
    algorithm = VertexAlgorithm(problem)
    ctx = Context.create(problem.config, 1)
    for region in list(iter_regions(net, domain, EnumerationConfig(algorithm="vertex")))[:20]:
        centre, radius = algorithm._lp_ball(region.bits, ctx)
        g = pattern_geometry(net, problem.param, region.bits)
        _, cheb = LPSolver().chebyshev(g.G, g.h, np.ones(len(g.h)))
        assert 0 < radius <= (g.h - g.G @ centre).min() + 1e-15
        assert radius <= cheb + 1e-9
        assert radius >= region.radius - 1e-9  # the Chebyshev centre's ball is the largest
