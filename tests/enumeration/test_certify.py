"""The completeness certificate of ``--certify`` (issue 15) on random and degenerate nets."""
import json

import numpy as np
import pytest

from reluregions.cli.main import main
from reluregions.config import EnumerationConfig
from reluregions.domains import Box
from reluregions.enumeration import count_regions, enumerate_regions
from reluregions.enumeration.certify import certify_regions
from reluregions.network import Network


def _random(seed, widths):
    rng = np.random.default_rng(seed)
    return Network([rng.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])],
                   [rng.standard_normal(o) for o in widths[1:]])


def _certified(net, box, algorithm="default"):
    rs = enumerate_regions(net, box, EnumerationConfig(algorithm=algorithm))
    cert = certify_regions(net, box, rs.bits, rs.points)
    assert cert.certified, cert.failure
    return rs, cert


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("algorithm", ["default", "witness", "paper"])
def test_random_nets_certify_and_a_missing_region_is_named(seed, algorithm):
    net = _random(seed, (2, 6, 5, 1))
    box = Box([-2, -2], [2, 2])
    rs, cert = _certified(net, box, algorithm)
    assert cert.regions == len(rs) and cert.facets_matched > 0
    drop = seed % len(rs)
    keep = np.arange(len(rs)) != drop
    bad = certify_regions(net, box, rs.bits[keep], rs.points[keep])
    assert not bad.certified and "facet of neuron" in bad.failure and "region" in bad.failure


def test_a_point_outside_its_region_fails():
    net = _random(1, (2, 6, 1))
    box = Box([-1, -1], [1, 1])
    rs = enumerate_regions(net, box)
    points = rs.points.copy()
    points[[0, 1]] = points[[1, 0]]
    bad = certify_regions(net, box, rs.bits, points)
    assert not bad.certified and "not strictly inside" in bad.failure


def test_duplicate_opposite_and_zero_neurons():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((4, 2))
    b = rng.standard_normal(4)
    W1 = np.vstack([W, W[0], -W[1], 2 * W[2], np.zeros(2)])     # duplicate, opposite, scaled, zero row
    b1 = np.concatenate([b, [b[0], -b[1], 2 * b[2], 0.0]])
    net = Network([W1, rng.standard_normal((3, 8)), np.ones((1, 3))],
                  [b1, rng.standard_normal(3), np.zeros(1)])
    _, cert = _certified(net, Box([-3, -3], [3, 3]))
    assert cert.exact_decisions > 0


def test_deep_neuron_on_a_first_layer_hyperplane():
    # z2 = relu(x) vanishes with z1 = x on x = 0 and is identically zero for x < 0;
    # z2' = relu(x) - relu(x) is identically zero everywhere (cancellation)
    W1 = np.array([[1.0, 0.0], [1.0, 0.0], [0.3, 1.0]])
    W2 = np.array([[1.0, 0.0, 0.0], [1.0, -1.0, 0.0], [0.5, 0.0, 1.0]])
    net = Network([W1, W2, np.ones((1, 3))], [np.array([0.0, 0.0, 0.1]), np.zeros(3), np.zeros(1)])
    rs, cert = _certified(net, Box([-1, -1], [1, 1]))
    assert len(rs) == count_regions(net, Box([-1, -1], [1, 1])).regions


def test_hyperplanes_through_one_vertex_and_fixed_coordinate():
    # six lines through the origin: 12 sectors; a fixed third coordinate
    angles = np.arange(6) * np.pi / 6
    W = np.column_stack([np.cos(angles), np.sin(angles), np.ones(6)])
    net = Network([W, np.ones((1, 6))], [np.full(6, -0.5), np.zeros(1)])
    box = Box([-1, -1, 0.5], [1, 1, 0.5])
    rs, cert = _certified(net, box)
    assert len(rs) == 12


def test_count_certify_json_and_parquet_metadata(tmp_path, capsys):
    net = _random(2, (2, 5, 4, 1))
    path = tmp_path / "net.npz"
    np.savez(path, W0=net.weights[0], b0=net.biases[0], W1=net.weights[1], b1=net.biases[1],
             W2=net.weights[2], b2=net.biases[2])
    assert main(["count", str(path), "--certify", "--json", "--workers", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["certified"] is True and out["certificate"]["regions"] == out["regions"]
    target = tmp_path / "r.parquet"
    assert main(["enumerate", str(path), "--certify", "--out", str(target), "--workers", "1"]) == 0
    from reluregions.io.parquet import read_metadata

    meta = read_metadata(target)
    assert meta["certified"] is True and meta["certificate"]["regions"] == out["regions"]


# --- the vectorised float path (enumeration/_certify_fast.py) -------------------------------------

def _regions(net, box):
    rs = enumerate_regions(net, box)
    return rs.bits, rs.points


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_settles_generic_regions_and_a_dropped_region_reaches_the_exact_check(seed):
    net = _random(10 + seed, (3, 8, 6, 1))
    box = Box([-2, -1, -3], [2, 1, 3])
    bits, points = _regions(net, box)
    cert = certify_regions(net, box, bits, points)
    assert cert.certified and cert.regions_exact_path == 0
    assert cert.facets_matched > 0 and cert.non_facets_proven > 0
    drop = (7 * seed) % len(bits)
    keep = np.arange(len(bits)) != drop
    bad = certify_regions(net, box, bits[keep], points[keep])
    assert not bad.certified and bad.regions_exact_path > 0
    assert "facet of neuron" in bad.failure and bad.failed_region is not None


def test_block_maps_equal_the_per_region_maps():
    from reluregions.enumeration._certify_facets import CertifyContext, _float_maps
    from reluregions.enumeration._certify_fast import block_maps
    from reluregions.geometry import exact as ex

    net = _random(3, (3, 7, 6, 5, 1))
    box = Box([-1, -2, -1], [1, 2, 1])
    bits, _ = _regions(net, box)
    exn, dom = ex.ExactNetwork.of(net), ex.exact_domain(box)
    V, E = block_maps(exn, dom, bits).dense()
    ctx = CertifyContext(exn, dom, None, {}, None, exn.widths)
    for r in range(len(bits)):
        v, e = _float_maps(ctx, bits[r])
        assert np.array_equal(V[r], v)
        np.testing.assert_allclose(E[r], e, rtol=1e-12)


def test_hash_collisions_never_match_a_missing_pattern(monkeypatch):
    import reluregions.enumeration.certify as certify_module
    from reluregions.enumeration._certify_index import PatternIndex

    class Colliding(PatternIndex):  # every pattern hashes to 0: only the byte comparison decides
        def __init__(self, packed, n_hidden):
            super().__init__(packed, n_hidden, zobrist=np.zeros(n_hidden, np.uint64))
            assert not self.hashes.any()

    monkeypatch.setattr(certify_module, "PatternIndex", Colliding)
    net = _random(4, (2, 6, 5, 1))
    box = Box([-2, -2], [2, 2])
    bits, points = _regions(net, box)
    cert = certify_regions(net, box, bits, points)
    assert cert.certified and cert.regions_exact_path == 0
    keep = np.arange(len(bits)) != 3
    bad = certify_regions(net, box, bits[keep], points[keep])
    assert not bad.certified and "facet of neuron" in bad.failure
    twice = np.r_[0:len(bits), 1]  # a pattern listed twice, not next to itself
    bad = certify_regions(net, box, bits[twice], points[twice])
    assert not bad.certified and "share a pattern" in bad.failure


def test_a_constraint_through_a_vertex_is_never_proven_slack_in_float():
    # six lines through the origin: in every sector the four other lines touch the region at its
    # apex (their maximum over the region is exactly 0), which no float bound may call slack
    angles = np.arange(6) * np.pi / 6
    net = Network([np.column_stack([np.cos(angles), np.sin(angles)]), np.ones((1, 6))],
                  [np.zeros(6), np.zeros(1)])
    box = Box([-1, -1], [1, 1])
    bits, points = _regions(net, box)
    cert = certify_regions(net, box, bits, points)
    assert len(bits) == 12 and cert.certified and cert.regions_exact_path == 12


def test_the_weak_duality_bound_holds_for_any_multipliers():
    from fractions import Fraction
    from itertools import combinations

    from reluregions.enumeration._certify_bounds import _upper_bound

    rng = np.random.default_rng(7)
    for _ in range(40):
        C = np.column_stack([rng.integers(-5, 6, (7, 2)), rng.integers(-9, 1, 7)]).astype(float)
        E = np.zeros_like(C)
        lo, hi = np.array([-2.0, -3.0]), np.array([3.0, 1.0])
        rows = np.arange(1, 7)
        halfplanes = [(C[i, :2], -C[i, 2]) for i in rows]
        halfplanes += [(np.array([1.0, 0]), hi[0]), (np.array([-1.0, 0]), -lo[0]),
                       (np.array([0, 1.0]), hi[1]), (np.array([0, -1.0]), -lo[1])]
        best = None
        for (a1, b1), (a2, b2) in combinations(halfplanes, 2):
            det = Fraction(a1[0]) * Fraction(a2[1]) - Fraction(a1[1]) * Fraction(a2[0])
            if det == 0:
                continue
            x = (Fraction(b1) * Fraction(a2[1]) - Fraction(a1[1]) * Fraction(b2)) / det
            y = (Fraction(a1[0]) * Fraction(b2) - Fraction(b1) * Fraction(a2[0])) / det
            if all(Fraction(a[0]) * x + Fraction(a[1]) * y <= Fraction(b) for a, b in halfplanes):
                v = Fraction(C[0, 0]) * x + Fraction(C[0, 1]) * y + Fraction(C[0, 2])
                best = v if best is None else max(best, v)
        if best is None:
            continue
        for _ in range(5):
            y = rng.exponential(size=rows.size) * (rng.random(rows.size) < 0.6)
            assert _upper_bound(C, E, 0, rows, y, lo, hi) >= best


def test_two_threads_give_the_same_certificate(monkeypatch):
    import reluregions.enumeration.certify as certify_module

    monkeypatch.setattr(certify_module, "_BLOCK", 16)  # several blocks on a small net
    net = _random(21, (3, 8, 6, 1))
    box = Box([-2, -2, -2], [2, 2, 2])
    bits, points = _regions(net, box)
    one = certify_regions(net, box, bits, points, workers=1)
    two = certify_regions(net, box, bits, points, workers=2)
    assert one.certified and one.to_dict() == two.to_dict()
    keep = np.arange(len(bits)) != 5
    bad_one = certify_regions(net, box, bits[keep], points[keep], workers=1)
    bad_two = certify_regions(net, box, bits[keep], points[keep], workers=2)
    assert not bad_two.certified and bad_one.to_dict() == bad_two.to_dict()


def test_a_neuron_on_the_domains_boundary_goes_to_the_exact_check():
    # neuron 0 is zero exactly on the box's facet x0 = 1: its "facet" has no region beyond it, which
    # float cannot prove slack (it is tight), so the exact check settles it as a boundary facet
    rng = np.random.default_rng(3)
    W = np.vstack([[1.0, 0.0], rng.standard_normal((4, 2))])
    b = np.concatenate([[-1.0], rng.standard_normal(4) * 0.3])
    net = Network([W, np.ones((1, 5))], [b, np.zeros(1)])
    box = Box([-1, -1], [1, 1])
    bits, points = _regions(net, box)
    cert = certify_regions(net, box, bits, points)
    assert cert.certified and cert.boundary_facets > 0 and 0 < cert.regions_exact_path < len(bits)
