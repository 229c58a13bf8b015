"""The high-dimensional engine (enumeration/highd.py) against the witness and paper algorithms.

The invariant suite already runs ``highd`` on every small case and scheduler; these cases are the
engine's own regime: many input coordinates, small boxes around a point (as the MNIST boxes of
VNN-COMP are), a fixed coordinate, a non-box domain, and the default's choice of engine.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from invariants import check_dense_samples, check_interior_points, pattern_set, random_net
from reluregions import (Box, EnumerationConfig, HPolytope, Network, count_regions,
                         enumerate_regions)
from reluregions.enumeration.api import HIGHD_MIN_DIM, choose_algorithm, make_problem


def _image_box(d: int, seed: int, eps: float) -> Box:
    """``x0 ± eps`` clipped to ``[0, 1]`` around a random 'image' ``x0`` (some pixels at 0)."""
    rng = np.random.default_rng(seed)
    x0 = np.clip(rng.uniform(-0.3, 1.0, d), 0.0, 1.0)
    return Box(np.clip(x0 - eps, 0, 1), np.clip(x0 + eps, 0, 1))


def _same_regions(net, box, *algorithms: str) -> list:
    sets = [enumerate_regions(net, box, EnumerationConfig(algorithm=a)) for a in algorithms]
    first = pattern_set(sets[0].bits)
    for other in sets[1:]:
        assert pattern_set(other.bits) == first
    return sets


@pytest.mark.parametrize("seed", range(6))
def test_image_boxes_match_witness_and_paper(seed: int) -> None:
    d = 40 + 8 * seed
    net = random_net(d, (8, 7), seed, bias_scale=0.1)
    box = _image_box(d, seed, eps=0.15)
    others = ("witness", "paper") if seed < 2 else ("witness",)   # the paper algorithm is slow
    highd, *_ = _same_regions(net, box, "highd", *others)
    assert len(highd) > 1
    check_interior_points(net, highd)
    check_dense_samples(net, box, highd, n=20_000, seed=seed)
    # every row carries a certified ball: its radius is at least the region tolerance
    assert np.all(highd.radii >= EnumerationConfig().radius_tol * (1 - 1e-6))


@pytest.mark.parametrize("seed", range(4))
def test_whole_cube_many_regions(seed: int) -> None:
    net = random_net(12, (7, 6), 100 + seed)
    box = Box.symmetric(12)
    highd, _ = _same_regions(net, box, "highd", "witness")
    check_interior_points(net, highd)


def test_fixed_coordinates_and_polytope_domains() -> None:
    net = random_net(6, (6, 5), 7)
    lo, hi = -np.ones(6), np.ones(6)
    lo[2] = hi[2] = 0.3                                # a fixed coordinate: a 5-d slice
    _same_regions(net, Box(lo, hi), "highd", "witness")
    G = np.vstack([np.eye(6), -np.eye(6), np.ones((1, 6))])
    h = np.concatenate([np.ones(12), [2.0]])           # a cube with one corner cut off
    _same_regions(net, HPolytope(G, h), "highd", "witness", "paper")


def test_duplicate_and_opposite_neurons_do_not_split() -> None:
    base = random_net(20, (6, 6), 3)
    Ws, bs = [w.copy() for w in base.weights], [b.copy() for b in base.biases]
    Ws[0][1], bs[0][1] = Ws[0][0], bs[0][0]                 # the same hyperplane, same side
    Ws[0][2], bs[0][2] = -3.0 * Ws[0][0], -3.0 * bs[0][0]   # the same hyperplane, other side
    Ws[1][4], bs[1][4] = Ws[1][3], bs[1][3]                 # a duplicated second-layer neuron
    _same_regions(Network(Ws, bs), Box.symmetric(20), "highd", "witness")


def test_first_layer_exhaustive_gives_the_same_regions() -> None:
    net = random_net(30, (8, 6), 5)
    box = _image_box(30, 5, 0.2)
    a = enumerate_regions(net, box, EnumerationConfig(algorithm="highd"))
    b = enumerate_regions(net, box, EnumerationConfig(algorithm="highd", first_layer="exhaustive"))
    assert pattern_set(a.bits) == pattern_set(b.bits)


def test_fewer_lps_than_witness_on_an_image_box() -> None:
    net = random_net(100, (12, 10), 11, bias_scale=0.1)
    box = _image_box(100, 11, eps=0.05)
    hd = count_regions(net, box, EnumerationConfig(algorithm="highd", ranks=False))
    wt = count_regions(net, box, EnumerationConfig(algorithm="witness", ranks=False))
    assert hd.regions == wt.regions
    assert hd.lps < wt.lps


def test_default_picks_the_engine_by_dimension_and_says_why() -> None:
    small = make_problem(random_net(4, (4,), 0), Box.symmetric(4))
    big = make_problem(random_net(HIGHD_MIN_DIM, (4,), 0), Box.symmetric(HIGHD_MIN_DIM))
    assert choose_algorithm(small)[0] == "vertex"
    name, why = choose_algorithm(big)
    assert name == "highd" and str(HIGHD_MIN_DIM) in why


def test_count_json_reports_the_engine(tmp_path) -> None:
    d = HIGHD_MIN_DIM + 7
    net = random_net(d, (6, 6), 2)
    arrays = {}
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    path = tmp_path / "net.npz"
    np.savez(path, **arrays)
    out = subprocess.run([sys.executable, "-m", "reluregions", "count", str(path), "--json",
                          "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["algorithm"] == "highd" and f"dimension {d}" in got["algorithm_reason"]
    assert got["regions"] == count_regions(net, None, EnumerationConfig(algorithm="witness",
                                                                          ranks=False)).regions


def test_open_cells_travel_without_maps_and_get_them_back_bit_for_bit() -> None:
    import pickle

    from reluregions.enumeration.highd import HighDimAlgorithm
    from reluregions.tree import Context

    net = random_net(60, (9, 8, 7), 4, bias_scale=0.1)
    problem = make_problem(net, _image_box(60, 4, eps=0.2), EnumerationConfig(algorithm="highd"))
    algorithm = HighDimAlgorithm(problem)
    ctx = Context.create(problem.config, problem.n_layers)
    stack, seen = algorithm.roots(ctx), 0
    while stack:
        cell = stack.pop()
        assert cell.M is None and cell.payload.maps is None  # detached: O(depth * k) per cell
        if cell.layer:  # the map a fresh process rebuilds from the bits is the parent's exactly
            fresh = pickle.loads(pickle.dumps(algorithm))._maps
            maps, M, m, _ = fresh.entry(cell.bits, cell.layer)
            kept = algorithm._maps.entry(cell.bits, cell.layer)
            assert np.array_equal(M, kept[1]) and np.array_equal(m, kept[2])
            assert all(np.array_equal(a[0], b[0]) for a, b in zip(maps, kept[0]))
            seen += 1
        children, _ = algorithm.expand(cell, ctx, budget=1, count_only=False)
        stack.extend(children)
    assert seen > 0
