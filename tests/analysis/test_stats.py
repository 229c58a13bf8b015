"""Per-layer counts, children per parent, the rank study and distributions, on known answers."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from reluregions.analysis import compute_stats, rank_bound
from reluregions.analysis.stats import regions_per_layer, shared_maps
from reluregions.errors import InputError
from reluregions.io.parquet import read_regions
from reluregions.network import load_network


def _children_by_brute_force(bits: np.ndarray, ranks: np.ndarray, widths, k: int) -> dict:
    """{(layer, parent_rank, children): parents} by grouping pattern prefixes in Python."""
    offsets = np.concatenate([[0], np.cumsum(widths)])
    out: dict = defaultdict(int)
    for layer in range(len(widths)):
        kids: dict = defaultdict(set)
        rank_of: dict = {}
        for b, r in zip(bits, ranks):
            parent = tuple(b[:offsets[layer]])
            kids[parent].add(tuple(b[:offsets[layer + 1]]))
            rank_of[parent] = k if layer == 0 else int(r[layer - 1])
        for parent, children in kids.items():
            out[(layer, rank_of[parent], len(children))] += 1
    return dict(out)


def test_slab_net_known_answers(slab_file) -> None:
    path, npz = slab_file
    net, _ = load_network(npz)
    st = compute_stats(path, net, volumes=True, maps=True, workers=1)
    assert st.summary["regions"] == 6
    assert st.per_layer["cells"].tolist() == [2, 6]
    study = st.rank_study.set_index(["layer", "parent_rank"])
    # The whole domain (rank 2) splits into 2 cells; a rank-0 cell cannot split, a rank-1 cell
    # splits into at most 1 + 4 = 5 slabs and here into exactly 5.
    assert study.loc[(0, 2), "max"] == 2 and study.loc[(0, 2), "bound"] == rank_bound(1, 2) == 2
    assert study.loc[(1, 0), "max"] == 1 and study.loc[(1, 0), "bound"] == 1
    assert study.loc[(1, 1), "max"] == 5 and study.loc[(1, 1), "bound"] == 5
    assert st.summary["rank_bound_ok"]
    ranks = {(r.layer, r.rank): (r.cells, r.regions) for r in st.ranks.itertuples()}
    assert ranks == {(1, 0): (1, 1), (1, 1): (1, 5), (2, 0): (2, 2), (2, 1): (4, 4)}
    assert st.summary["volume_total"] == pytest.approx(4.0, rel=1e-12)
    assert st.summary["volume_max"] == pytest.approx(2.0, rel=1e-12)
    assert st.summary["volume_min"] == pytest.approx(0.4, rel=1e-9)
    assert st.summary["distinct_maps"] == 5
    assert dict(zip(st.maps["regions_per_map"], st.maps["maps"])) == {1: 4, 2: 1}
    total = st.active[st.active["layer"] == 0]
    assert dict(zip(total["active"], total["regions"])) == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1}


def test_line_arrangement_meets_the_bound(lines_file) -> None:
    path, _ = lines_file
    st = compute_stats(path)
    n = 6
    assert st.summary["regions"] == 1 + n + math.comb(n, 2)
    row = st.rank_study.iloc[0]
    assert (row["layer"], row["parent_rank"], row["max"], row["bound"]) == (0, 2, 22, 22)
    assert row["max_over_bound"] == 1.0


@pytest.mark.parametrize("memory_rows", [4_000_000, 7])
def test_children_match_brute_force(random3_file, memory_rows: int) -> None:
    path, _ = random3_file
    rs = read_regions(path)
    st = compute_stats(path, memory_rows=memory_rows, batch_size=50)
    got = {(r.layer, r.parent_rank, r.children): r.parents for r in st.children.itertuples()}
    assert got == _children_by_brute_force(rs.bits, rs.ranks, (6, 6, 6), 3)
    offsets = np.cumsum([6, 6, 6])
    assert st.per_layer["cells"].tolist() == [len({tuple(b[:o]) for b in rs.bits}) for o in offsets]
    assert (st.rank_study["max"] <= st.rank_study["bound"]).all()


def test_maps_from_stored_columns_match_network(random3_file) -> None:
    path, npz = random3_file
    net, _ = load_network(npz)
    stored = shared_maps(path)
    rebuilt = shared_maps(path, net)
    assert stored.equals(rebuilt)
    assert int((stored["regions_per_map"] * stored["maps"]).sum()) == len(read_regions(path))


def test_volumes_sum_to_the_box(random3_file) -> None:
    path, npz = random3_file
    net, _ = load_network(npz)
    st = compute_stats(path, net, volumes=True, workers=1)
    assert st.summary["volume_total"] == pytest.approx(8.0, rel=1e-9)
    assert int(st.volume["regions"].sum()) == st.summary["regions"]


def test_inradius_histogram_counts_every_region(random2_file) -> None:
    path, _ = random2_file
    st = compute_stats(path)
    assert int(st.inradius["regions"].sum()) == st.summary["regions"]
    assert (st.inradius["lo"] <= st.summary["radius_min"]).any()
    d = st.to_dict()
    assert d["summary"]["regions"] == st.summary["regions"] and len(d["rank_study"]) == len(st.rank_study)


def test_stats_errors(slab_file, random2_file) -> None:
    path, _ = slab_file
    with pytest.raises(InputError, match="give NET"):
        compute_stats(path, volumes=True)
    with pytest.raises(InputError, match="stores no output maps"):
        compute_stats(path, maps=True)
    other, _ = load_network(random2_file[1])
    with pytest.raises(InputError, match="hashes to"):
        compute_stats(path, other)
    assert regions_per_layer(path)["cells"].tolist() == [2, 6]
