"""The compiled LP traversal (enumeration/lpdfs.py) against the HiGHS-based algorithms.

The invariant suite runs ``lpdfs`` on every small case and scheduler; these cases are its regime
(inputs of 6 to 16 dimensions, thousands of LPs): identical region sets and ranks, certified
balls, decisions handed back to HiGHS, work handed out mid-traversal, non-box domains.
"""
from __future__ import annotations

import numpy as np
import pytest

from invariants import check_dense_samples, check_interior_points, random_net
from reluregions import Box, EnumerationConfig, HPolytope, Network, enumerate_regions
from reluregions.enumeration import lpdfs as lpdfs_module
from reluregions.enumeration.api import make_problem
from reluregions.enumeration.base import Context, pack_cells, unpack_cells
from reluregions.enumeration.lpdfs import LPTraversalAlgorithm
from reluregions.geometry.lp import LPSolver
from reluregions.testing import assert_regionsets_equal

TOL = EnumerationConfig().radius_tol


def _same(net, domain, other: str = "witness", **options):
    ours = enumerate_regions(net, domain, EnumerationConfig(algorithm="lpdfs", **options))
    ref = enumerate_regions(net, domain, EnumerationConfig(algorithm=other, **options))
    assert_regionsets_equal(ours, ref)
    return ours, ref


@pytest.mark.parametrize("d,widths,seed", [(6, (8, 7), 0), (9, (7, 6, 5), 1), (12, (8, 6), 2),
                                            (16, (6, 6), 3)])
def test_matches_witness_with_certified_balls(d: int, widths: tuple, seed: int) -> None:
    net = random_net(d, widths, seed)
    box = Box(-np.full(d, 1.5), np.linspace(1.0, 2.0, d))
    ours, _ = _same(net, box)
    assert len(ours) > 20
    check_interior_points(net, ours)
    check_dense_samples(net, box, ours, n=20_000, seed=seed)
    assert np.all(ours.radii > TOL)


def test_leaky_and_duplicated_neurons() -> None:
    base = random_net(10, (7, 6), 4, negative_slope=0.1)
    Ws, bs = [w.copy() for w in base.weights], [b.copy() for b in base.biases]
    Ws[0][1], bs[0][1] = Ws[0][0], bs[0][0]                 # the same hyperplane, same side
    Ws[0][2], bs[0][2] = -3.0 * Ws[0][0], -3.0 * bs[0][0]   # the same hyperplane, other side
    Ws[1][4], bs[1][4] = Ws[1][3], bs[1][3]                 # a duplicated second-layer neuron
    Ws[1][5], bs[1][5] = 0.0, 0.0                           # identically zero
    # the reference decides exactly too: -3.0 * W rounds, so the "same hyperplane, other side"
    # neuron leaves slivers about 5e-17 wide in exact arithmetic, where only the exact rule gets
    # the patterns right (319 regions; the witness algorithm kept a 320th, which the exact oracle
    # proves has no interior, while it trusted a float witness that no sliver that thin holds)
    net, box = Network(Ws, bs, 0.1), Box.symmetric(10)
    ours, _ = _same(net, box, other="highd")
    assert len(ours) == 319
    assert_regionsets_equal(enumerate_regions(net, box, EnumerationConfig(algorithm="witness")), ours)


def test_uncertain_decisions_go_to_highs(monkeypatch) -> None:
    """A band wider than most margins hands most LPs to HiGHS: the regions stay the same."""
    calls = []
    real = LPSolver.minimize_in_box

    def counted(self, *args):
        calls.append(1)
        return real(self, *args)

    monkeypatch.setattr(LPSolver, "minimize_in_box", counted)
    monkeypatch.setattr(lpdfs_module, "BAND", 0.05)
    net = random_net(7, (6, 5), 5)
    _same(net, Box.symmetric(7))
    assert len(calls) > 10


def test_fixed_coordinate_and_polytope_domains() -> None:
    net = random_net(8, (6, 5), 7)
    lo, hi = -np.ones(8), np.ones(8)
    lo[2] = hi[2] = 0.3                                   # a fixed coordinate: a 7-d slice
    _same(net, Box(lo, hi))
    G = np.vstack([np.eye(8), -np.eye(8), np.ones((1, 8))])
    h = np.concatenate([np.ones(16), [2.0]])              # a cube with one corner cut off
    _same(net, HPolytope(G, h))


def test_exhaustive_first_layer() -> None:
    net = random_net(9, (6, 6), 8)
    a = enumerate_regions(net, Box.symmetric(9), EnumerationConfig(algorithm="lpdfs"))
    b = enumerate_regions(net, Box.symmetric(9), EnumerationConfig(algorithm="lpdfs",
                                                                   first_layer="exhaustive"))
    assert_regionsets_equal(a, b)


def test_budget_of_one_region_and_packed_frontiers() -> None:
    """Expanding one region at a time, with every frontier packed and unpacked as the process
    scheduler sends it, gives the regions of one uninterrupted traversal."""
    net = random_net(8, (6, 6), 9)
    problem = make_problem(net, Box.symmetric(8), EnumerationConfig(algorithm="lpdfs"))
    algorithm = LPTraversalAlgorithm(problem)
    ctx = Context.create(problem.config, len(net.hidden_widths))
    stack, found, expansions = algorithm.roots(ctx), [], 0
    while stack:
        children, regions = algorithm.expand(stack.pop(), ctx, budget=1, count_only=False)
        expansions += 1
        found += [tuple(b) for b in regions.bits]
        stack += unpack_cells(pack_cells(children), copy=True)
    whole = enumerate_regions(net, Box.symmetric(8), EnumerationConfig(algorithm="lpdfs"))
    assert len(found) == len(set(found)) == len(whole)
    assert set(found) == {tuple(b) for b in whole.bits}
    assert expansions >= len(whole)


def test_chebyshev_balls_and_maps_match_witness() -> None:
    net = random_net(6, (5, 5), 10)
    ours, ref = _same(net, Box.symmetric(6), chebyshev=True, keep_maps=True)
    a, b = ours.sorted(), ref.sorted()
    np.testing.assert_allclose(a.radii, b.radii, rtol=1e-6, atol=1e-9)
    for (A1, c1), (A2, c2) in zip(a.maps, b.maps):
        np.testing.assert_allclose(A1, A2, atol=1e-9)
        np.testing.assert_allclose(c1, c2, atol=1e-9)


def test_default_picks_lpdfs_between_vertex_and_highd_and_says_why() -> None:
    from reluregions.enumeration.api import HIGHD_MIN_DIM, LPDFS_DIMS, choose_algorithm

    low, high = LPDFS_DIMS
    pick = (lambda d: choose_algorithm(make_problem(random_net(d, (3,), 0), Box.symmetric(d))))
    assert pick(low - 1)[0] == "vertex"
    for d in (low, 12, high):
        name, why = pick(d)
        assert name == "lpdfs" and f"dimension {d}" in why
    assert pick(HIGHD_MIN_DIM)[0] == "highd"
