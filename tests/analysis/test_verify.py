"""``verify``: passes on correct files, fails (exit 1, naming rows) on corrupted ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from reluregions import Box
from reluregions.analysis import verify_file
from reluregions.cli.main import main
from reluregions.errors import InputError
from reluregions.io.parquet import read_regions
from reluregions.network import load_network

from .helpers import rewrite_table, write_region_file

DATA = Path(__file__).resolve().parents[1] / "data"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _failed(report) -> dict[str, list[int]]:
    return {c.name: c.rows for c in report.checks if not c.passed}


def test_correct_file_passes(random2_file, capsys) -> None:
    path, npz = random2_file
    code, out, err = _run(capsys, "verify", path, npz, "--samples", "3000", "--workers", "2")
    assert code == 0, out
    assert "PASSED" in out and err == ""
    for name in ("points", "distinct", "regions", "disjoint", "coverage", "volume"):
        assert f"ok    {name}" in out


@pytest.mark.parametrize("name", ["degenerate_d2.npz", "tiny_d3_6x6x6.npz"])
def test_reference_nets_pass(name: str, tmp_path) -> None:
    net, box = load_network(DATA / "checks" / name)
    dom = Box(*box) if box is not None else Box.symmetric(net.input_dim)
    path, _ = write_region_file(tmp_path / "r.parquet", net, dom)
    report = verify_file(path, net, samples=2000, workers=1)
    assert report.ok, report.lines()


def test_two_level_lattice_net_passes(tmp_path) -> None:
    """Identically-zero neurons (DESIGN.md §1) must not make verify fail."""
    net, box = load_network(DATA / "networks" / "tll_N8_prop0.npz")
    path, _ = write_region_file(tmp_path / "tll.parquet", net, Box(*box))
    report = verify_file(path, net, samples=2000, workers=1)
    assert report.ok, report.lines()
    assert report.regions == 433


def _sure_bit(net, point: np.ndarray) -> int:
    z = np.concatenate([v[0] for v in net.preactivations(point[None])])
    return int(np.argmax(np.abs(z)))


def test_flipped_bit_fails_naming_the_row(random2_file, tmp_path, capsys) -> None:
    path, npz = random2_file
    net, _ = load_network(npz)
    rs = read_regions(path)
    row = 5
    bit = _sure_bit(net, rs.points[row])

    def flip(table: pa.Table) -> pa.Table:
        patterns = table.column("pattern").to_pylist()
        raw = bytearray(patterns[row])
        raw[bit // 8] ^= 1 << (bit % 8)
        patterns[row] = bytes(raw)
        col = pa.array(patterns, type=table.schema.field("pattern").type)
        return table.set_column(0, "pattern", col)

    bad = tmp_path / "flipped.parquet"
    rewrite_table(path, bad, flip)
    code, out, _ = _run(capsys, "verify", bad, npz, "--samples", "2000", "--workers", "1")
    assert code == 1
    assert "FAIL  points" in out and f"row {row}:" in out and "FAILED" in out
    report = verify_file(bad, net, samples=2000, workers=1)
    assert _failed(report)["points"] == [row]


def test_duplicated_row_fails(random2_file, tmp_path, capsys) -> None:
    path, npz = random2_file
    n = len(read_regions(path))
    bad = tmp_path / "dup.parquet"
    rewrite_table(path, bad, lambda t: pa.concat_tables([t, t.slice(3, 1)]))
    code, out, _ = _run(capsys, "verify", bad, npz, "--samples", "500", "--workers", "1")
    assert code == 1
    assert f"rows 3, {n} hold the same pattern" in out
    assert "FAIL  volume" in out and "overlap" in out


def test_dropped_row_fails(random2_file, tmp_path, capsys) -> None:
    path, npz = random2_file
    rs = read_regions(path)
    drop = int(np.argmax(rs.radii))  # the roundest region: samples surely land in it
    bad = tmp_path / "drop.parquet"
    rewrite_table(path, bad, lambda t: pa.concat_tables([t.slice(0, drop), t.slice(drop + 1)]))
    code, out, _ = _run(capsys, "verify", bad, npz, "--samples", "3000", "--workers", "1")
    assert code == 1
    assert "FAIL  coverage" in out and "lies in no listed region" in out
    assert "FAIL  volume" in out and "gap" in out


def test_verify_input_errors(random2_file, lines_file, tmp_path, capsys) -> None:
    path, npz = random2_file
    _, other = lines_file
    code, out, err = _run(capsys, "verify", path, other)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "hashes to" in err
    code, _, err = _run(capsys, "verify", tmp_path / "missing.parquet", npz)
    assert code == 2 and "no such file" in err
    code, _, err = _run(capsys, "verify", npz, npz)
    assert code == 2 and "not a readable Parquet file" in err
    code, _, err = _run(capsys, "verify", path, npz, "--samples", "-1")
    assert code == 2 and "--samples" in err
    with pytest.raises(InputError):
        verify_file(path, load_network(other)[0])
