"""``--whole-space`` on the command line (issue 15): count, enumerate, stats, verify and plot.

The counts are checked against ``tests/enumeration/test_whole_space.py``'s independent references
there; here the commands must agree with each other and with the API, and refuse what has no
meaning (a box with the whole space, volumes, a plot without a view) in one line, exit 2.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reluregions import WholeSpace, count_regions
from reluregions.io.parquet import read_metadata, read_regions
from reluregions.network import load_npz

from .helpers import cli, one_line_error

NET = Path(__file__).resolve().parents[1] / "data" / "whole_space" / "trained_d2_6x4.npz"


@pytest.fixture(scope="module")
def region_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "ws.parquet"
    proc = cli("enumerate", NET, "--whole-space", "--out", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    return out


def test_count_json_has_the_unbounded_regions() -> None:
    net, _ = load_npz(NET)
    want = count_regions(net, WholeSpace(2))
    proc = cli("count", NET, "--whole-space", "--json", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert (got["regions"], got["unbounded"]) == (want.regions, want.extra["unbounded"])
    assert 0 < got["unbounded"] < got["regions"] and got["algorithm"] == "witness"
    text = cli("count", NET, "--whole-space", "--workers", "1").stdout
    assert f"{got['unbounded']:,} unbounded regions" in text


def test_file_marks_unbounded_regions_and_records_the_domain(region_file: Path) -> None:
    meta = read_metadata(region_file)
    assert meta["domain"] == {"type": "whole_space", "dim": 2}
    regions = read_regions(region_file)
    net, _ = load_npz(NET)
    want = count_regions(net, WholeSpace(2))
    assert len(regions) == want.regions
    assert regions.bounded is not None and int((~regions.bounded).sum()) == want.extra["unbounded"]


def test_stats_and_verify_read_the_whole_space(region_file: Path) -> None:
    stats = cli("stats", region_file, "--json")
    assert stats.returncode == 0, stats.stderr
    summary = json.loads(stats.stdout)["summary"]
    assert summary["unbounded"] == int((~read_regions(region_file).bounded).sum())
    verify = cli("verify", region_file, NET, "--workers", "1", "--samples", "2000", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    checks = {c["name"]: c for c in json.loads(verify.stdout)["checks"]}
    assert checks["coverage"]["checked"] == 2000 and checks["coverage"]["failures"] == 0
    assert checks["volume"]["skipped"]


def test_plot_needs_a_view(region_file: Path, tmp_path: Path) -> None:
    pic = tmp_path / "p.png"
    assert "--view" in one_line_error(cli("plot", region_file, NET, "--out", pic))
    proc = cli("plot", region_file, NET, "--out", pic, "--view", "-4", "4")
    assert proc.returncode == 0, proc.stderr
    assert pic.stat().st_size > 0 and "regions" in proc.stdout
    assert "--view" in one_line_error(cli("plot", NET, "--whole-space", "--out", pic))
    direct = tmp_path / "direct.png"
    proc = cli("plot", NET, "--whole-space", "--view", "-4", "4", "--out", direct)
    assert proc.returncode == 0, proc.stderr
    assert direct.stat().st_size > 0


@pytest.mark.parametrize("args,needle", [
    (("count", NET, "--whole-space", "--box", "-1", "1"), "--box"),
    (("count", NET, "--whole-space", "--algorithm", "vertex"), "witness, paper"),
    (("count", NET, "--whole-space", "--algorithm", "highd"), "witness, paper"),
])
def test_whole_space_refusals_are_one_line(args, needle: str) -> None:
    assert needle in one_line_error(cli(*args))


def test_stats_volumes_refused(region_file: Path) -> None:
    assert "volume" in one_line_error(cli("stats", region_file, "--volumes", "--net", NET))


def test_api_region_set_marks_unbounded() -> None:
    from reluregions import enumerate_regions

    net, _ = load_npz(NET)
    regions = enumerate_regions(net, WholeSpace(2))
    assert regions.bounded is not None
    sorted_set = regions.sorted()
    assert np.array_equal(np.sort(sorted_set.bounded), np.sort(regions.bounded))


def test_certify_of_the_whole_space(tmp_path) -> None:
    """The completeness certificate covers R^d too (no domain boundary: every facet of every
    region, bounded or not, must be matched by a listed neighbour); ``count --whole-space
    --certify --json`` says so, and the API's certificate fails, naming the region, when one
    region is missing."""
    from reluregions import enumerate_regions
    from reluregions.enumeration.certify import certify_regions

    proc = cli("count", NET, "--whole-space", "--certify", "--json", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["certified"] is True and out["regions"] == 62 and out["unbounded"] > 0
    assert out["certificate"]["facets_matched"] > 0
    net, _ = load_npz(NET)
    regions = enumerate_regions(net, WholeSpace(2))
    keep = np.arange(len(regions)) != int(np.flatnonzero(~regions.bounded)[0])
    cert = certify_regions(net, WholeSpace(2), regions.bits[keep], regions.points[keep])
    assert not cert.certified and "no region on its other side" in cert.failure
