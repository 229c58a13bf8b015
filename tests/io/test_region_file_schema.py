"""The region file ``enumerate`` writes (DESIGN.md §4), read back with pyarrow alone: its columns,
their types, the pattern's bit layout and the ``reluregions`` metadata keys."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import reluregions
from reluregions import Box, EnumerationConfig, count_regions
from reluregions.network import load_network

from cli.helpers import cli, write_net

WIDTHS = (8, 6)  # 14 hidden neurons: a 2-byte pattern whose last byte is half used


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("schema")
    net = write_net(folder / "net.npz", d=2, widths=WIDTHS, seed=3)
    out = folder / "r.parquet"
    proc = cli("enumerate", net, "--out", out, "--box", "-2", "2", "--algorithm", "witness",
               "--workers", "1", "--maps")
    assert proc.returncode == 0, proc.stderr
    return net, out


def test_columns_and_types(written) -> None:
    _, out = written
    schema = pq.read_schema(out)
    assert schema.names == ["pattern", "point", "radius", "rank", "A", "c"]
    assert schema.field("pattern").type == pa.binary(2)
    assert schema.field("point").type == pa.list_(pa.float64())
    assert schema.field("radius").type == pa.float64()
    assert schema.field("rank").type == pa.list_(pa.int32())
    assert schema.field("A").type == schema.field("c").type == pa.list_(pa.float64())


def test_metadata_keys_and_values(written) -> None:
    net_path, out = written
    net, _ = load_network(net_path)
    meta = json.loads(pq.read_schema(out).metadata[b"reluregions"])
    assert set(meta) == {"network_sha256", "network_file", "input_dim", "hidden_widths", "n_hidden",
                         "domain", "config", "version"}
    assert meta["network_sha256"] == net.sha256 and meta["network_file"] == "net.npz"
    assert (meta["input_dim"], meta["hidden_widths"], meta["n_hidden"]) == (2, list(WIDTHS), 14)
    assert meta["domain"] == Box([-2, -2], [2, 2]).to_dict()
    assert meta["config"] == EnumerationConfig(algorithm="witness", keep_maps=True).to_dict()
    assert meta["version"] == reluregions.__version__


def test_rows_hold_one_region_each_in_the_documented_layout(written) -> None:
    net_path, out = written
    net, _ = load_network(net_path)
    table = pq.read_table(out)
    n = table.num_rows
    assert n == count_regions(net, Box([-2, -2], [2, 2]),
                              EnumerationConfig(algorithm="witness")).regions
    packed = np.frombuffer(b"".join(table.column("pattern").to_pylist()), np.uint8).reshape(n, 2)
    bits = np.unpackbits(packed, axis=1, bitorder="little")
    assert not bits[:, 14:].any()  # padding bits after the last neuron are zero
    assert len({row.tobytes() for row in packed}) == n
    points = np.array(table.column("point").to_pylist())
    assert points.shape == (n, 2) and np.all(np.abs(points) < 2)
    z = np.concatenate(net.preactivations(points), axis=1)
    sure = np.abs(z) > 1e-9
    assert sure.mean() > 0.99 and np.array_equal(bits[:, :14].astype(bool)[sure], (z > 0)[sure])
    assert np.all(table.column("radius").to_numpy() > 0)
    ranks = np.array(table.column("rank").to_pylist())
    assert ranks.shape == (n, 2) and ranks.min() >= 0 and ranks.max() <= 2
    A = np.array(table.column("A").to_pylist())
    c = np.array(table.column("c").to_pylist())
    assert A.shape == (n, 2) and c.shape == (n, 1)  # one output: A row-major (1, 2)
    np.testing.assert_allclose(np.einsum("nj,nj->n", A, points) + c[:, 0],
                               net.forward(points)[:, 0], rtol=1e-9, atol=1e-9)
