"""Region geometry rebuilt from patterns: H-representations, vertices, volumes, adjacency."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from reluregions import AffineSlice, Box, HPolytope
from reluregions.analysis import (domain_volume, region_details, region_hrep, region_vertices,
                                  region_volume)
from reluregions.analysis.pullback import pattern_geometry, point_patterns
from reluregions.errors import InputError, OptionError
from reluregions.io.parquet import read_regions
from reluregions.network import load_network

from .helpers import random_net, slab_net, write_region_file


def _slab_bits(x1: float) -> np.ndarray:
    net = slab_net()
    return net.pattern(np.array([[x1, 0.3]]))[0]


def test_slab_region_hrep_vertices_volume() -> None:
    net, dom = slab_net(), Box.symmetric(2)
    bits = _slab_bits(0.3)  # the slab 0.2 < x1 < 0.4
    G, h = region_hrep(net, dom, bits)
    assert len(h) == 4  # x1 >= 0.2, x1 <= 0.4 and the box's two x2 facets
    V = region_vertices(net, dom, bits)
    expected = {(0.2, -1.0), (0.2, 1.0), (0.4, -1.0), (0.4, 1.0)}
    assert {tuple(np.round(v, 9)) for v in V} == expected
    assert region_volume(net, dom, bits) == pytest.approx(0.4, rel=1e-12)
    assert region_volume(net, dom, _slab_bits(-0.5), point=[-0.5, 0.0]) == pytest.approx(2.0)


def test_volume_in_input_coordinates_of_a_stretched_box() -> None:
    net, dom = slab_net(), Box([-1.0, 0.0], [1.0, 4.0])  # 2 x 4 box: the slabs are 0.2 x 4
    assert region_volume(net, dom, _slab_bits(0.7)) == pytest.approx(0.8, rel=1e-12)
    assert domain_volume(dom) == pytest.approx(8.0)


def test_hpolytope_and_slice_domain_volumes() -> None:
    tri = HPolytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    assert domain_volume(tri) == pytest.approx(0.5)
    a, b, c = np.zeros(3), np.array([2.0, 0, 0]), np.array([0, 1.0, 1.0])
    plane = AffineSlice.through_points(a, b, c, margin=0.0)
    assert domain_volume(plane) == pytest.approx(2.0 * np.sqrt(2.0))


def test_slice_file_volumes_sum_to_the_slice(tmp_path) -> None:
    net = random_net(3, (6, 6), seed=5)
    plane = AffineSlice.through_points([-1, 0, 0.5], [1, 0.5, 0], [0, 1, -1], margin=0.1)
    path, _ = write_region_file(tmp_path / "slice.parquet", net, plane)
    n = region_details(path, net, "volume", tmp_path / "v.parquet", workers=1)
    vols = pq.read_table(tmp_path / "v.parquet").column("volume").to_numpy()
    assert n == len(read_regions(path)) and (vols > 0).all()
    assert vols.sum() == pytest.approx(domain_volume(plane), rel=1e-9)


def test_adjacency_of_a_line_arrangement(lines_file, tmp_path) -> None:
    path, npz = lines_file
    net, _ = load_network(npz)
    out = tmp_path / "adj.parquet"
    n_edges = region_details(path, net, "adjacency", out, workers=2)
    assert n_edges == 6 * 6  # each line is cut into 6 edges by the 5 others
    edges = pq.read_table(out).to_pandas()
    rs = read_regions(path)
    diff = rs.bits[edges["row_a"]] != rs.bits[edges["row_b"]]
    assert (diff.sum(axis=1) == 1).all()
    assert (np.flatnonzero(diff.any(axis=0)) == np.arange(6)).all()
    assert (edges["row_a"] < edges["row_b"]).all() and (edges["layer"] == 1).all()
    assert (edges["facet_radius"] > 1e-7).all()


def test_hrep_and_vertices_details(random2_file, tmp_path) -> None:
    path, npz = random2_file
    net, _ = load_network(npz)
    rs = read_regions(path)
    assert region_details(path, net, "hrep", tmp_path / "h.parquet", workers=1) == len(rs)
    assert region_details(path, net, "vertices", tmp_path / "v.parquet", workers=1) == len(rs)
    hrep = pq.read_table(tmp_path / "h.parquet").to_pandas()
    verts = pq.read_table(tmp_path / "v.parquet").to_pandas()
    dom = Box.symmetric(2)
    for i in (0, len(rs) // 2, len(rs) - 1):
        G = np.asarray(hrep["G"][i]).reshape(-1, 2)
        h = np.asarray(hrep["h"][i])
        V = np.asarray(verts["vertices"][i]).reshape(-1, 2)
        assert len(h) == hrep["n_facets"][i] == len(V)  # a polygon has as many edges as vertices
        assert (V @ G.T <= h + 1e-9).all()  # vertices satisfy every facet (box: t = x)
        same = region_vertices(net, dom, rs.bits[i], rs.points[i])
        assert {tuple(v) for v in np.round(V, 8)} == {tuple(v) for v in np.round(same, 8)}


def test_identically_zero_neurons_are_bit_zero() -> None:
    """On the two-level-lattice net some neurons are identically zero: decided from the maps."""
    net, _ = load_network(_tll())
    param = Box([-2, -2], [2, 2]).parametrize()
    t = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    bits, sure = point_patterns(net, param, t)
    _, margin_sure = net.pattern_margin(param.to_input(t))
    assert sure.all()
    assert (sure & ~margin_sure).any()  # bits the rounded forward pass cannot decide
    assert not bits[~margin_sure].any()  # ... are identically-zero neurons: bit 0
    assert all(pattern_geometry(net, param, b).consistent for b in bits[:10])


def _tll():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "data" / "networks" / "tll_N8_prop0.npz"


def test_geometry_errors() -> None:
    net, dom = slab_net(), Box.symmetric(2)
    with pytest.raises(InputError, match="5 hidden neurons"):
        region_hrep(net, dom, [True, False])
    bad = _slab_bits(-0.5)
    bad[3] = True  # a layer-2 neuron that is constant (negative) on x1 < 0
    with pytest.raises(InputError, match="inconsistent"):
        region_volume(net, dom, bad)
    with pytest.raises(OptionError, match="input, param"):
        region_vertices(net, dom, _slab_bits(0.5), coords="pixels")
    with pytest.raises(InputError, match="single point"):
        region_volume(net, Box([0.5, 0.5], [0.5, 0.5]), _slab_bits(0.5))
