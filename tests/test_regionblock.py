"""The one region type: columns, ragged A/c/G/h, slicing, concatenation, Arrow and pickling."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from reluregions import RegionSet
from reluregions.analysis import RegionBatch
from reluregions.io.parquet import ParquetRegionWriter, read_regions, region_schema
from reluregions.regionblock import RegionBlock, RegionCount, RegionRow
from reluregions.regionblock_arrow import from_arrow, to_arrow

N_HIDDEN, D, L = 11, 2, 2


def _block(n: int, seed: int, bounded: bool = False) -> RegionBlock:
    """Regions of varied H-representation sizes (row i has i % 3 + 2 facets); unless
    ``bounded``, every fourth region (i % 4 == 1) is unbounded."""
    rng = np.random.default_rng(seed)
    facets = [i % 3 + 2 for i in range(n)]
    flags = np.array([bounded or i % 4 != 1 for i in range(n)])
    return RegionBlock.build(rng.random((n, N_HIDDEN)) < 0.5, rng.normal(size=(n, D)),
                             rng.normal(size=(n, D)), rng.random(n),
                             np.array([(2, i % 3) for i in range(n)], np.int64).reshape(n, L),
                             bounded=None if flags.all() else flags,
                             A=[rng.normal(size=(1, D)) for _ in range(n)],
                             c=[rng.normal(size=1) for _ in range(n)],
                             G=[rng.normal(size=(m, D)) for m in facets],
                             h=[rng.normal(size=m) for m in facets])


def _same_region(a: RegionRow, b: RegionRow) -> None:
    assert np.array_equal(a.bits, b.bits) and np.array_equal(a.point, b.point)
    assert a.radius == b.radius and tuple(a.ranks) == tuple(b.ranks) and a.bounded == b.bounded
    for name in ("A", "c", "G", "h"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_public_names_are_one_type() -> None:
    import reluregions
    import reluregions.tree

    assert RegionSet is RegionBlock and RegionBatch is RegionBlock
    assert not hasattr(reluregions, "Region") and not hasattr(reluregions.tree, "RegionChunk")
    assert not hasattr(RegionBlock, "from_regions")


def test_build_keeps_every_column_and_rows_read_them() -> None:
    rng = np.random.default_rng(0)
    G = [rng.normal(size=(m, D)) for m in (2, 3, 4)]
    block = RegionBlock.build(np.eye(3, N_HIDDEN, dtype=bool), np.arange(6.0).reshape(3, D), None,
                              np.array([0.5, 0.25, 0.125]), np.zeros((3, L), np.int64),
                              bounded=np.array([True, False, True]), G=G, h=None)
    assert set(block.lists) == {"G"} and block.centers is None
    row = block[1]
    assert isinstance(row, RegionRow) and row.bits[1] and not row.bits[0]
    assert np.array_equal(row.point, [2.0, 3.0]) and row.radius == 0.25 and not row.bounded
    assert row.center is None and row.A is None and np.array_equal(row.G, G[1].ravel())
    assert block.column("G", 2).shape == (8,)  # no h: rows of G cannot be told apart
    with pytest.raises(ValueError, match="'Q'"):
        RegionBlock.build(block.bits, block.points, None, block.radii, None, Q=[])
    full = _block(7, 0)
    assert full.bounded is not None and not full.bounded[1] and full.bounded[0]
    assert full.column("G", 4).shape == (3, D)
    assert [A.shape for A, _ in full.maps] == [(1, D)] * 7


def test_a_count_holds_only_its_length() -> None:
    count = RegionCount(5)
    assert len(count) == 5 and repr(count) == "RegionCount(5)"
    assert not isinstance(count, RegionBlock) and not hasattr(count, "bits")


def test_take_slice_and_concat_keep_ragged_rows() -> None:
    block = _block(9, 1)
    rows = list(block)
    part = block[np.array([7, 2, 5])]
    for got, i in zip(part, (7, 2, 5)):
        _same_region(got, rows[i])
    tail = block[4:]
    assert tail.start == 4 and tail.rows.tolist() == list(range(4, 9))
    joined = RegionBlock.concat([block[:3], RegionBlock.empty(), block[3:6], block[6:]])
    for got, want in zip(joined, rows):
        _same_region(got, want)
    assert len(joined) == 9 and len(RegionBlock.concat([])) == 0
    with pytest.raises(ValueError, match="without column 'A'"):
        RegionBlock.concat([block[:2], RegionBlock(block.bits[2:], block.points[2:], None,
                                                   block.radii[2:], block.ranks[2:])])


def test_packed_blocks_join_without_unpacking() -> None:
    block = _block(5, 2)
    a = RegionBlock.from_packed(block.packed[:2], N_HIDDEN, block.points[:2], block.radii[:2],
                                block.ranks[:2])
    b = RegionBlock.from_packed(block.packed[2:], N_HIDDEN, block.points[2:], block.radii[2:],
                                block.ranks[2:])
    joined = RegionBlock.concat([a, b])
    assert joined._bits is None and np.array_equal(joined.bits, block.bits)


def test_sorted_orders_by_packed_pattern() -> None:
    block = _block(8, 3)
    keys = block.sorted().pattern_keys()
    assert keys == sorted(block.pattern_keys())


def test_pickle_round_trip_packs_bits() -> None:
    block = _block(6, 4)
    back = pickle.loads(pickle.dumps(block))
    assert back._bits is None  # patterns travelled packed
    for got, want in zip(back, block):
        _same_region(got, want)


@pytest.mark.parametrize("whole_space", [False, True])
def test_arrow_round_trip_follows_the_file_schema(whole_space: bool) -> None:
    block = _block(6, 5, bounded=not whole_space)
    meta = {"domain": {"type": "whole_space", "dim": D} if whole_space else {"type": "box"}}
    schema = region_schema(N_HIDDEN, ("A", "c", "G", "h"), meta)
    table = to_arrow(block, schema)
    assert table.schema.equals(schema) and table.num_rows == 6
    back = from_arrow(table.slice(1), N_HIDDEN, D, L, start=1)
    assert back.start == 1 and ("bounded" in schema.names) == whole_space
    for got, want in zip(back, list(block)[1:]):
        _same_region(got, want)


def test_arrow_needs_the_columns_the_schema_names() -> None:
    block = RegionBlock(np.ones((1, 3), bool), np.zeros((1, 2)), None, np.ones(1),
                        np.ones((1, 1), np.int64))
    with pytest.raises(ValueError, match="'G'"):
        to_arrow(block, region_schema(3, ("G",), {}))


def test_writer_and_reader_keep_the_h_representation(tmp_path) -> None:
    block = _block(10, 6)
    path = tmp_path / "r.parquet"
    meta = {"n_hidden": N_HIDDEN, "input_dim": D, "hidden_widths": [6, 5]}
    with ParquetRegionWriter(path, N_HIDDEN, meta, batch_size=4, extras=("A", "c", "G", "h")) as w:
        w.write_all([block[:3], block[3:5]])
        w.write_chunk(block[5:])
    back = read_regions(path)
    assert back.extra["metadata"]["input_dim"] == D and back.bounded is None
    for got, want in zip(back, block):
        _same_region(got, want._replace(bounded=True))  # a bounded domain's file has no flags


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
