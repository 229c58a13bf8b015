"""The one region type: columns, ragged A/c/G/h, slicing, concatenation, Arrow and pickling."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from reluregions import RegionSet
from reluregions.analysis import RegionBatch
from reluregions.io.parquet import ParquetRegionWriter, read_regions, region_schema
from reluregions.regionblock import Region, RegionBlock
from reluregions.tree import RegionChunk

N_HIDDEN, D, L = 11, 2, 2


def _regions(n: int, seed: int, bounded: bool = False) -> list[Region]:
    """Regions of varied H-representation sizes (row i has i % 3 + 2 facets)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = i % 3 + 2
        out.append(Region(rng.random(N_HIDDEN) < 0.5, rng.normal(size=D), rng.normal(size=D),
                          float(rng.random()), (2, i % 3), A=rng.normal(size=(1, D)),
                          c=rng.normal(size=1), G=rng.normal(size=(m, D)), h=rng.normal(size=m),
                          bounded=bounded or i % 4 != 1))
    return out


def _same_region(a: Region, b: Region) -> None:
    assert np.array_equal(a.bits, b.bits) and np.array_equal(a.point, b.point)
    assert a.radius == b.radius and tuple(a.ranks) == tuple(b.ranks) and a.bounded == b.bounded
    for name in ("A", "c", "G", "h"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_public_names_are_one_type() -> None:
    assert RegionSet is RegionBlock and RegionChunk is RegionBlock and RegionBatch is RegionBlock


def test_from_regions_keeps_every_column() -> None:
    regions = _regions(7, 0)
    block = RegionSet.from_regions(regions, D, L)
    assert block.bits.shape == (7, N_HIDDEN) and block.ranks.shape == (7, L)
    assert block.bounded is not None and not block.bounded[1] and block.bounded[0]
    for i, region in enumerate(regions):
        _same_region(block[i], region)
    assert block.column("G", 4).shape == (3, D)
    assert [A.shape for A, _ in block.maps] == [(1, D)] * 7


def test_take_slice_and_concat_keep_ragged_rows() -> None:
    regions = _regions(9, 1)
    block = RegionBlock.from_regions(regions)
    part = block[np.array([7, 2, 5])]
    for got, i in zip(part, (7, 2, 5)):
        _same_region(got, regions[i])
    tail = block[4:]
    assert tail.start == 4 and tail.rows.tolist() == list(range(4, 9))
    joined = RegionBlock.concat([block[:3], regions[3:6], block[6:]])
    for got, want in zip(joined, regions):
        _same_region(got, want)
    assert len(RegionBlock.concat([])) == 0


def test_packed_blocks_join_without_unpacking() -> None:
    block = RegionBlock.from_regions(_regions(5, 2))
    a = RegionBlock.from_packed(block.packed[:2], N_HIDDEN, block.points[:2], block.radii[:2],
                                block.ranks[:2])
    b = RegionBlock.from_packed(block.packed[2:], N_HIDDEN, block.points[2:], block.radii[2:],
                                block.ranks[2:])
    joined = RegionBlock.concat([a, b])
    assert joined._bits is None and np.array_equal(joined.bits, block.bits)


def test_sorted_orders_by_packed_pattern() -> None:
    block = RegionBlock.from_regions(_regions(8, 3))
    keys = block.sorted().pattern_keys()
    assert keys == sorted(block.pattern_keys())


def test_pickle_round_trip_packs_bits() -> None:
    block = RegionBlock.from_regions(_regions(6, 4))
    back = pickle.loads(pickle.dumps(block))
    for got, want in zip(back, block):
        _same_region(got, want)


@pytest.mark.parametrize("whole_space", [False, True])
def test_arrow_round_trip_follows_the_file_schema(whole_space: bool) -> None:
    regions = _regions(6, 5, bounded=not whole_space)
    block = RegionBlock.from_regions(regions)
    meta = {"domain": {"type": "whole_space", "dim": D} if whole_space else {"type": "box"}}
    schema = region_schema(N_HIDDEN, ("A", "c", "G", "h"), meta)
    table = block.to_arrow(schema)
    assert table.schema.equals(schema) and table.num_rows == 6
    back = RegionBlock.from_arrow(table.slice(1), N_HIDDEN, D, L, start=1)
    assert back.start == 1 and ("bounded" in schema.names) == whole_space
    for got, want in zip(back, regions[1:]):
        _same_region(got, want)


def test_arrow_needs_the_columns_the_schema_names() -> None:
    block = RegionBlock.from_regions([Region(np.ones(3, bool), np.zeros(2), None, 1.0, (1,))])
    with pytest.raises(ValueError, match="'G'"):
        block.to_arrow(region_schema(3, ("G",), {}))


def test_writer_and_reader_keep_the_h_representation(tmp_path) -> None:
    regions = _regions(10, 6)
    path = tmp_path / "r.parquet"
    meta = {"n_hidden": N_HIDDEN, "input_dim": D, "hidden_widths": [6, 5]}
    with ParquetRegionWriter(path, N_HIDDEN, meta, batch_size=4, extras=("A", "c", "G", "h")) as w:
        w.write_all(regions[:3])
        w.write_chunk(RegionBlock.from_regions(regions[3:]))
    back = read_regions(path)
    assert back.extra["metadata"]["input_dim"] == D and back.bounded is None
    for got, want in zip(back, regions):
        want.bounded = True  # a bounded domain's file has no bounded column
        _same_region(got, want)


@pytest.mark.parametrize("algorithm", ["witness", "vertex"])
def test_enumerate_regions_keeps_maps_and_h_representations(algorithm: str) -> None:
    from invariants import random_net

    from reluregions import Box, EnumerationConfig, enumerate_regions

    net = random_net(2, (5, 4), 3)
    box = Box([-1, -1], [1, 1])
    config = EnumerationConfig(algorithm=algorithm, keep_maps=True, keep_hrep=True)
    regions = enumerate_regions(net, box, config)
    assert len(regions) > 4 and set(regions.lists) == {"A", "c", "G", "h"}
    for region in regions:
        assert (region.G @ region.center < region.h).all()  # its point is inside its facets
        np.testing.assert_allclose(region.A @ region.point + region.c, net.forward(region.point),
                                   rtol=1e-9, atol=1e-9)
