"""``python -m reluregions`` in a real subprocess: the keys of ``count --json`` (DESIGN.md §4) and
the exit statuses, 0 on success, 1 when a check finds the result wrong, 2 on bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reluregions import Box, EnumerationConfig, count_regions
from reluregions.network import load_network

from .helpers import cli, one_line_error, write_net


def test_count_json_keys_and_values(tmp_path: Path) -> None:
    net_path = write_net(tmp_path / "net.npz", d=2, widths=(8, 6), seed=1)
    proc = cli("count", net_path, "--json", "--algorithm", "witness", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"regions", "per_layer", "seconds", "lps", "workers", "lps_per_region",
            "regions_per_second", "setup_seconds", "algorithm", "algorithm_reason"} <= set(got)
    net, _ = load_network(net_path)
    expected = count_regions(net, Box.symmetric(2), EnumerationConfig(algorithm="witness"))
    assert got["regions"] == expected.regions and got["per_layer"] == expected.per_layer
    assert len(got["per_layer"]) == 2 and got["per_layer"][-1] == got["regions"]
    assert got["workers"] == 1 and got["algorithm"] == "witness"
    assert isinstance(got["lps"], int) and got["lps"] > 0
    assert isinstance(got["seconds"], float) and got["seconds"] >= 0
    assert got["lps_per_region"] == got["lps"] / got["regions"]


def test_exit_status_0_then_1_when_verify_finds_a_duplicated_region(tmp_path: Path) -> None:
    net_path = write_net(tmp_path / "net.npz", d=2, widths=(6,), seed=2)
    out = tmp_path / "r.parquet"
    proc = cli("enumerate", net_path, "--out", out, "--algorithm", "witness", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    proc = cli("verify", out, net_path, "--samples", "500", "--workers", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = pq.read_table(out)
    doubled = pa.concat_tables([table, table.slice(0, 1)])
    bad = tmp_path / "doubled.parquet"
    pq.write_table(doubled.replace_schema_metadata(table.schema.metadata), bad)
    proc = cli("verify", bad, net_path, "--samples", "500", "--workers", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout and "Traceback" not in proc.stderr


def test_exit_status_2_on_bad_input(tmp_path: Path) -> None:
    net_path = write_net(tmp_path / "net.npz")
    assert "no such file" in one_line_error(cli("count", tmp_path / "missing.npz"))
    line = one_line_error(cli("count", net_path, "--lo", "1,1", "--hi", "0,0"))
    assert "lo" in line or "hi" in line
    assert "choose one of" in one_line_error(cli("count", net_path, "--algorithm", "fastest"))
