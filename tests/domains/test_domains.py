"""Input domains: parametrisation, validation errors, and region counts on each kind of domain."""
from __future__ import annotations

import json

import numpy as np
import pytest

from invariants import check_interior_points, check_regionset_wellformed, pattern_set, random_net
from reluregions import (AffineSlice, Box, Domain, DomainError, EmptyDomainError, EnumerationConfig,
                         HPolytope, InputError, Network, ShapeMismatchError, UnboundedDomainError,
                         count_regions, enumerate_regions)
from reluregions.testing import assert_regionsets_equal

SQUARE_G = [[1, 0], [-1, 0], [0, 1], [0, -1]]


def _triangle() -> HPolytope:
    # x >= -1, y >= -0.5, x + y <= 1.5
    return HPolytope([[-1, 0], [0, -1], [1, 1]], [1, 0.5, 1.5])


def _check_param_maps_into(domain: Domain, seed: int = 0) -> None:
    """Feasible parameter points map into the domain; the parameter polytope fits [-1, 1]^k."""
    p = domain.parametrize()
    k = p.dim
    assert p.U.shape == (domain.input_dim, k) and p.x0.shape == (domain.input_dim,)
    np.testing.assert_allclose(np.linalg.norm(p.G, axis=1), 1.0)
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1.2, 1.2, (4000, k))
    feasible = (t @ p.G.T <= p.h).all(axis=1)
    assert feasible.mean() > 0.05
    assert np.abs(t[feasible]).max() <= 1 + 1e-9
    assert domain.contains(p.to_input(t[feasible])).all()
    assert not domain.contains(p.to_input(t[~feasible])).any()


# ---------------------------------------------------------------------------------------- Box
def test_box_parametrisation_maps_corners() -> None:
    box = Box([-1.0, 2.0, 0.0], [3.0, 4.0, 0.5])
    p = box.parametrize()
    assert p.dim == 3
    np.testing.assert_allclose(p.x0, [1.0, 3.0, 0.25])
    np.testing.assert_allclose(p.to_input(np.ones(3)), box.hi)
    np.testing.assert_allclose(p.to_input(-np.ones(3)), box.lo)
    _check_param_maps_into(box)


def test_box_fixed_coordinate_lowers_dimension() -> None:
    box = Box([-1.0, 0.7, -2.0], [1.0, 0.7, 2.0])
    p = box.parametrize()
    assert p.dim == 2 and box.input_dim == 3
    x = p.to_input(np.random.default_rng(1).uniform(-1, 1, (50, 2)))
    np.testing.assert_allclose(x[:, 1], 0.7)
    assert box.contains(x).all()
    assert not box.contains([[0.0, 0.71, 0.0]]).any()
    _check_param_maps_into(box)


def test_fully_fixed_box_is_a_point() -> None:
    box = Box([0.5, -0.5], [0.5, -0.5])
    assert box.parametrize().dim == 0
    assert box.contains([[0.5, -0.5]]).all()
    assert not box.contains([[0.5, -0.4]]).any()


def test_box_symmetric_and_to_dict() -> None:
    box = Box.symmetric(3, 2.0)
    np.testing.assert_array_equal(box.lo, [-2, -2, -2])
    np.testing.assert_array_equal(box.hi, [2, 2, 2])
    assert json.loads(json.dumps(box.to_dict())) == {"type": "box", "lo": [-2.0] * 3, "hi": [2.0] * 3}


def test_box_bounds_are_copied_and_read_only() -> None:
    lo, hi = np.array([0.0, 0.0]), np.array([1.0, 1.0])
    box = Box(lo, hi)
    lo[0] = 5.0
    assert box.lo[0] == 0.0
    with pytest.raises(ValueError):
        box.lo[0] = 1.0


@pytest.mark.parametrize("lo,hi,error", [
    ([1.0, 0.0], [0.0, 1.0], EmptyDomainError),          # inverted
    ([np.nan, 0.0], [1.0, 1.0], DomainError),            # NaN
    ([0.0, 0.0], [np.inf, 1.0], UnboundedDomainError),   # infinite
    ([0.0, 0.0], [1.0], ShapeMismatchError),             # wrong length
    ([], [], DomainError),                               # no coordinates
], ids=["inverted", "nan", "inf", "wrong-length", "empty"])
def test_box_errors(lo, hi, error) -> None:
    with pytest.raises(error):
        Box(lo, hi)
    assert issubclass(error, InputError) and issubclass(error, ValueError)


# ---------------------------------------------------------------------------------- HPolytope
def test_hpolytope_parametrisation() -> None:
    tri = _triangle()
    assert tri.input_dim == 2
    assert tri.parametrize().dim == 2
    _check_param_maps_into(tri)
    assert json.loads(json.dumps(tri.to_dict()))["type"] == "hpolytope"


def test_hpolytope_box_has_box_parametrisation() -> None:
    lo, hi = np.array([-1.0, 2.0]), np.array([3.0, 5.0])
    poly = HPolytope(SQUARE_G, [hi[0], -lo[0], hi[1], -lo[1]])
    pb, pp = Box(lo, hi).parametrize(), poly.parametrize()
    np.testing.assert_allclose(pp.x0, pb.x0, atol=1e-9)
    np.testing.assert_allclose(pp.U, pb.U, atol=1e-9)
    rows_b = {tuple(np.round(np.append(g, h), 9)) for g, h in zip(pb.G, pb.h)}
    rows_p = {tuple(np.round(np.append(g, h), 9)) for g, h in zip(pp.G, pp.h)}
    assert rows_b == rows_p


@pytest.mark.parametrize("G,h,error", [
    ([[1, 0], [-1, 0], [0, 1]], [1, 1, 1], UnboundedDomainError),          # unbounded
    (SQUARE_G, [1, -2, 1, 1], EmptyDomainError),                           # empty
    (SQUARE_G, [1, -1, 1, 1], DomainError),                                # flat: x == 1
    (SQUARE_G, [1, np.nan, 1, 1], DomainError),                            # NaN
    ([[1, 0], [-1, 0]], [1, 1, 1], ShapeMismatchError),                    # wrong length
    ([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]], [-1, 1, 1, 1, 1], EmptyDomainError),  # 0 <= -1
], ids=["unbounded", "empty", "flat", "nan", "wrong-length", "zero-row-negative"])
def test_hpolytope_errors(G, h, error) -> None:
    with pytest.raises(error):
        HPolytope(G, h)


def test_hpolytope_redundant_and_zero_rows_are_harmless() -> None:
    G = SQUARE_G + [[0, 0], [1, 1], [2, 0]]
    h = [1, 1, 1, 1, 0.5, 5, 2]  # 0 <= 0.5 trivial, x + y <= 5 and 2x <= 2 redundant
    poly = HPolytope(G, h)
    net = random_net(2, (4, 4), 5)
    a = enumerate_regions(net, poly)
    b = enumerate_regions(net, Box([-1, -1], [1, 1]))
    assert_regionsets_equal(a, b)


@pytest.mark.parametrize("algorithm", ["default", "witness", "paper"])
def test_hpolytope_equal_to_box_gives_same_regions(algorithm: str) -> None:
    net = random_net(2, (5, 4), 6)
    lo, hi = np.array([-2.0, -1.0]), np.array([1.0, 2.5])
    poly = HPolytope(SQUARE_G, [hi[0], -lo[0], hi[1], -lo[1]])
    cfg = EnumerationConfig(algorithm=algorithm)
    assert_regionsets_equal(enumerate_regions(net, poly, cfg),
                            enumerate_regions(net, Box(lo, hi), EnumerationConfig(algorithm="paper")))


def test_hpolytope_triangle_regions_cover_samples() -> None:
    net = random_net(2, (6, 5), 7)
    tri = _triangle()
    regions = enumerate_regions(net, tri)
    check_regionset_wellformed(net, tri, regions)
    check_interior_points(net, regions)
    rng = np.random.default_rng(3)
    x = rng.uniform([-1, -0.5], [2, 2], (50_000, 2))
    x = x[tri.contains(x, tol=0.0)]
    bits, sure = net.pattern_margin(x)
    seen = pattern_set(bits[sure.all(axis=1)])
    assert seen <= pattern_set(regions.bits)
    # and the triangle has fewer regions than its bounding box
    assert len(regions) <= count_regions(net, Box([-1, -0.5], [2, 2])).regions


# -------------------------------------------------------------------------------- AffineSlice
def test_affine_slice_parametrisation() -> None:
    x0 = np.array([1.0, 0.0, -1.0])
    U = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    sl = AffineSlice(x0, U, Box([0, 0], [1, 1]))
    p = sl.parametrize()
    assert sl.input_dim == 3 and p.dim == 2
    np.testing.assert_allclose(p.to_input(np.array([-1.0, -1.0])), x0)
    np.testing.assert_allclose(p.to_input(np.array([1.0, 1.0])), x0 + U @ [1, 1])
    _check_param_maps_into(sl)
    assert not sl.contains([[0.0, 0.0, 0.0]]).any()  # off the plane
    assert json.loads(json.dumps(sl.to_dict()))["inner"]["type"] == "box"


def test_affine_slice_through_points() -> None:
    a, b, c = np.array([0.0, 1, 2, 3]), np.array([1.0, 1, 2, 3]), np.array([0.0, 2, 2, 4])
    sl = AffineSlice.through_points(a, b, c, margin=0.1)
    assert sl.input_dim == 4 and sl.parametrize().dim == 2
    assert sl.contains(np.stack([a, b, c])).all()


@pytest.mark.parametrize("make,error", [
    (lambda: AffineSlice([0, 0, 0], [[1, 2], [2, 4], [3, 6]], Box([0, 0], [1, 1])), DomainError),
    (lambda: AffineSlice([0, 0, 0], [[1, 0], [0, 1]], Box([0, 0], [1, 1])), ShapeMismatchError),
    (lambda: AffineSlice([0, 0, 0], [[1, 0], [0, 1], [0, 0]], Box([0], [1])), ShapeMismatchError),
    (lambda: AffineSlice([0, np.nan, 0], [[1, 0], [0, 1], [0, 0]], Box([0, 0], [1, 1])),
     DomainError),
], ids=["dependent", "wrong-rows", "inner-dim", "nan"])
def test_affine_slice_errors(make, error) -> None:
    with pytest.raises(error):
        make()


def test_affine_slice_regions_equal_folded_net() -> None:
    """Regions on a slice x = x0 + U s equal those of the net with U, x0 folded into layer 1."""
    net = random_net(4, (6, 5), 8)
    rng = np.random.default_rng(9)
    x0, U = rng.standard_normal(4), rng.standard_normal((4, 2))
    inner = Box([-1.5, -1.0], [1.0, 2.0])
    folded = Network([net.weights[0] @ U, *net.weights[1:]],
                     [net.weights[0] @ x0 + net.biases[0], *net.biases[1:]])
    sl = AffineSlice(x0, U, inner)
    a = enumerate_regions(net, sl)
    b = enumerate_regions(folded, inner)
    assert_regionsets_equal(a, b)
    check_regionset_wellformed(net, sl, a)
    check_interior_points(net, a)


def test_domain_network_dimension_mismatch() -> None:
    net = random_net(3, (4,), 10)
    with pytest.raises(ShapeMismatchError):
        count_regions(net, Box([0, 0], [1, 1]))
    with pytest.raises(ShapeMismatchError):
        enumerate_regions(net, HPolytope(SQUARE_G, [1, 1, 1, 1]))
