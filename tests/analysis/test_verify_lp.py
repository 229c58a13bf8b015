"""``verify``'s LP path (issue 17 item 6, issue 14): the compiled simplex with a certified radius and
the opposite-row certificate decide exactly what HiGHS decides; the prefix cache changes no value;
row ranges and check selection."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from reluregions import Box
from reluregions.analysis import verify_file
from reluregions.analysis.pullback import PullbackCache, pattern_geometry, point_patterns
from reluregions.errors import OptionError
from reluregions.geometry.inball import box_chebyshev, certified_radius
from reluregions.geometry.lp import LPSolver
from reluregions.io.parquet import read_regions
from reluregions.network import Network, load_network

from .helpers import random_net, rewrite_table, write_region_file

LP_CHECKS = ("regions", "disjoint", "volume")


def _outcome(report) -> dict:
    return {c.name: (c.passed, c.checked, c.failures, c.rows, c.skipped) for c in report.checks}


@pytest.mark.parametrize("seed", range(8))
def test_compiled_and_highs_paths_give_the_same_results(seed: int, tmp_path) -> None:
    d = (2, 3, 4, 8)[seed % 4]  # volumes up to 6 inputs, the shrunk-box form above
    net = random_net(d, (6, 5), seed=seed, n_out=2)
    path, _ = write_region_file(tmp_path / "r.parquet", net, Box.symmetric(d))
    auto = verify_file(path, net, samples=0, workers=1, checks=LP_CHECKS)
    highs = verify_file(path, net, samples=0, workers=1, checks=LP_CHECKS, lp="highs")
    assert auto.ok and _outcome(auto) == _outcome(highs)
    regions = next(c for c in auto.checks if c.name == "regions")
    assert "compiled LPs" in regions.note and regions.checked == len(read_regions(path))


def _constant_neuron_net() -> Network:
    """Layer 1: x1 > 0. Layer 2: x1 > 0.5 (a relu of neuron 1) and a neuron constant 1."""
    return Network([np.array([[1.0, 0.0]]), np.array([[1.0], [0.0]]), np.ones((1, 2))],
                   [np.zeros(1), np.array([-0.5, 1.0]), np.zeros(1)])


@pytest.mark.parametrize("lp", ["auto", "highs"])
def test_an_inconsistent_row_fails_regions_and_disjoint(lp: str, tmp_path) -> None:
    """A row whose constant neuron carries the wrong bit overlaps its twin: both the regions check
    (constant neuron) and the disjoint check (the pair's neuron is constant, so the LP runs and
    finds the overlap) fail, on either LP path."""
    net = _constant_neuron_net()
    path, _ = write_region_file(tmp_path / "r.parquet", net, Box.symmetric(2))
    rs = read_regions(path)
    assert len(rs) == 3 and rs.bits[:, 2].all()
    src = int(np.flatnonzero(rs.bits[:, 0] & rs.bits[:, 1])[0])
    twin = rs.bits[src].copy()
    twin[2] = False

    def add(table: pa.Table) -> pa.Table:
        extra = table.slice(src, 1)
        col = pa.array([np.packbits(twin, bitorder="little").tobytes()],
                       type=table.schema.field("pattern").type)
        extra = extra.set_column(table.schema.get_field_index("pattern"), "pattern", col)
        return pa.concat_tables([table, extra])

    bad = tmp_path / "bad.parquet"
    rewrite_table(path, bad, add)
    report = verify_file(bad, net, samples=0, workers=1, lp=lp)
    failed = {c.name: c for c in report.checks if not c.passed}
    assert failed["regions"].rows == [3] and "constant on the region" in failed["regions"].messages[0]
    assert sorted(failed["disjoint"].rows) == sorted([src, 3])
    assert "overlap" in failed["disjoint"].messages[0]


@pytest.mark.parametrize("seed", range(4))
def test_prefix_cache_gives_the_same_arrays(seed: int) -> None:
    net = random_net(3, (7, 6, 5), seed=seed)
    param = Box.symmetric(3).parametrize()
    t = np.random.default_rng(seed).uniform(-1, 1, (400, 3))
    cache = PullbackCache(net, param, max_bytes=2_000)  # tiny: entries are evicted and rebuilt
    plain = point_patterns(net, param, t)
    cached = point_patterns(net, param, t, cache=cache)
    assert all(np.array_equal(a, b) for a, b in zip(plain, cached))
    for bits in plain[0][:60]:
        a, b = pattern_geometry(net, param, bits), pattern_geometry(net, param, bits, cache=cache)
        for name in ("G", "h", "neuron", "bad_bits", "A", "c"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert a.ranks == b.ranks and a.consistent == b.consistent


@pytest.mark.parametrize("seed", range(6))
def test_certified_radius_bounds_the_chebyshev_radius(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 3 + seed
    G = rng.standard_normal((12, k))
    G /= np.linalg.norm(G, axis=1)[:, None]
    h = rng.uniform(0.05, 0.8, 12)
    box = np.vstack([np.eye(k), -np.eye(k)])
    centre, radius = LPSolver().chebyshev(np.vstack([G, box]), np.concatenate([h, np.ones(2 * k)]))
    one = np.ones(k)
    t, r = box_chebyshev(np.vstack([G, box]), np.concatenate([h, np.ones(2 * k)]), -one, one, 0.0,
                         1.0)
    assert abs(r - radius) <= 1e-9
    cert = min(certified_radius(G, h, t), float(np.min(1 - np.abs(t))))
    assert radius - 1e-9 <= cert <= radius  # rigorous, and no looser than rounding
    # the shrunk-box form: the box's facets as column bounds only, its optimum min(R, cap)
    t2, r2 = box_chebyshev(G, h, -one, one, 1e-3, 1e-3)
    assert abs(r2 - min(radius, 1e-3)) <= 1e-9 and certified_radius(G, h, t2) >= r2 - 1e-12
    assert certified_radius(G, h, centre + 10.0) < 0  # a point outside: negative


def test_row_range_checks_those_rows_and_names_file_rows(random2_file, tmp_path) -> None:
    path, npz = random2_file
    rs = read_regions(path)
    net, _ = load_network(npz)
    report = verify_file(path, net, samples=100, workers=1, rows=(5, 20))
    assert report.ok and report.regions == 15
    checks = {c.name: c for c in report.checks}
    assert checks["points"].checked == 15 and checks["regions"].checked == 15
    assert checks["coverage"].skipped and checks["volume"].skipped
    # a corrupted row inside the range is named by its row in the file
    row = 12
    z = np.concatenate([v[0] for v in net.preactivations(rs.points[row][None])])
    bit = int(np.argmax(np.abs(z)))

    def flip(table: pa.Table) -> pa.Table:
        patterns = table.column("pattern").to_pylist()
        raw = bytearray(patterns[row])
        raw[bit // 8] ^= 1 << (bit % 8)
        patterns[row] = bytes(raw)
        return table.set_column(0, "pattern", pa.array(patterns, type=table.schema.field("pattern").type))

    bad = tmp_path / "flip.parquet"
    rewrite_table(path, bad, flip)
    report = verify_file(bad, net, samples=0, workers=1, rows=(5, 20))
    assert next(c for c in report.checks if c.name == "points").rows == [row]
    assert verify_file(bad, net, samples=0, workers=1, rows=(13, 20)).ok  # outside the range
    only = verify_file(path, net, samples=0, workers=1, checks=["regions"], skip=["regions"])
    assert all(c.skipped for c in only.checks)
    with pytest.raises(OptionError, match="choose one of"):
        verify_file(path, net, checks=["bogus"])
    with pytest.raises(OptionError, match="row range"):
        verify_file(path, net, rows=(10**6, 10**6 + 5))


CLI = [sys.executable, "-c", "from reluregions.cli.main import main; raise SystemExit(main())"]


def _env() -> dict[str, str]:
    env = dict(os.environ)  # this checkout's sources first, as the tests import them
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src") + os.pathsep + env.get(
        "PYTHONPATH", "")
    return env


def test_cli_names_every_phase_and_warns_how_to_skip_a_long_one(random2_file) -> None:
    """A real subprocess: with --progress every phase's stage is on stderr, and a phase whose
    extrapolated time passes --warn-after gets one warning naming its --skip option."""
    from reluregions.analysis.verify import STAGES

    path, npz = random2_file
    run = subprocess.run(CLI + ["verify", str(path), str(npz), "--workers", "1", "--progress",
                                "--samples", "3000000", "--warn-after", "0.01"],
                         capture_output=True, text=True, timeout=300, env=_env())
    assert run.returncode == 0, run.stderr
    for name in ("points", "distinct", "regions", "disjoint", "coverage"):
        assert f"{STAGES[name]}:" in run.stderr, (name, run.stderr)
    warnings = [line for line in run.stderr.splitlines() if "warning:" in line]
    assert any("coverage" in w and "--skip coverage" in w for w in warnings), run.stderr
    assert len({w.split(" will take")[0] for w in warnings}) == len(warnings)  # once per phase
    skipped = subprocess.run(CLI + ["verify", str(path), str(npz), "--workers", "1",
                                    "--skip", "coverage,disjoint", "--rows", "0:10"],
                             capture_output=True, text=True, timeout=300, env=_env())
    assert skipped.returncode == 0, skipped.stderr
    assert "skip  coverage" in skipped.stdout and "skip  disjoint" in skipped.stdout
    assert "PASSED: 10 regions" in skipped.stdout
    bad = subprocess.run(CLI + ["verify", str(path), str(npz), "--checks", "nope"],
                         capture_output=True, text=True, timeout=300, env=_env())
    assert bad.returncode == 2 and "choose one of" in bad.stderr
