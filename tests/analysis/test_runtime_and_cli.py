"""The runtime study (on a tiny sweep) and the analysis subcommands' outputs and error paths."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reluregions import Box
from reluregions.analysis import fit_linear, run_runtime_study, save_runtime_study
from reluregions.analysis import runtime as runtime_mod
from reluregions.cli.main import main

from .helpers import random_net


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_linear_recovers_a_line() -> None:
    x = np.array([10.0, 20.0, 40.0, 80.0])
    fit = fit_linear(x, 0.5 * x + 2.0)
    assert fit["a"] == pytest.approx(0.5) and fit["b"] == pytest.approx(2.0)
    assert fit["r2"] == pytest.approx(1.0) and fit["n"] == 4
    assert fit_linear([3.0], [1.0])["a"] is None


@pytest.fixture
def tiny_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    def cases(quick: bool = False, seed: int = 0):
        out = []
        for i, widths in enumerate([(4,), (6,), (4, 4), (8,)]):
            out.append(runtime_mod.RuntimeCase(f"tiny{i}", "random", random_net(2, widths, seed + i),
                                               Box.symmetric(2), {"d": 2, "widths": list(widths)}))
        return out

    monkeypatch.setattr(runtime_mod, "runtime_cases", cases)


def test_runtime_study_runs_both_algorithms(tiny_sweep, tmp_path) -> None:
    seen = []
    study = run_runtime_study(quick=True, paper_cap=5.0, progress=seen.append)
    runs = study.runs
    assert len(runs) == 8 and len(seen) == 8
    assert set(runs["algorithm"]) == {"default", "paper"}
    by = runs.pivot(index="case", columns="algorithm", values="regions")
    assert (by["default"] == by["paper"]).all()  # both algorithms find the same regions
    assert study.fits["paper"]["n"] == 4 and study.fits["paper"]["a"] > 0
    paths = save_runtime_study(study, tmp_path / "study")
    assert all(p.exists() for p in paths.values())
    assert json.loads(paths["fits"].read_text())["fits"]["default"]["n"] == 4


def test_study_command(tiny_sweep, tmp_path, capsys) -> None:
    code, out, _ = _run(capsys, "study", "runtime", "--quick", "--out", tmp_path / "s")
    assert code == 0 and "R^2" in out and (tmp_path / "s" / "runtime.png").exists()
    code, _, err = _run(capsys, "study", "memory", "--out", tmp_path / "s")
    assert code == 2 and "choose one of: runtime" in err
    code, _, err = _run(capsys, "study", "runtime", "--quick", "--out", tmp_path / "s",
                        "--paper-cap", "0")
    assert code == 2 and "positive" in err


def test_stats_command(slab_file, capsys) -> None:
    path, npz = slab_file
    code, out, _ = _run(capsys, "stats", path, "--json", "--net", npz, "--volumes", "--maps",
                        "--workers", "1")
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["regions"] == 6 and data["summary"]["distinct_maps"] == 5
    assert [r["cells"] for r in data["per_layer"]] == [2, 6]
    code, out, _ = _run(capsys, "stats", path)
    assert code == 0 and "rank study" in out and "6 regions" in out
    code, _, err = _run(capsys, "stats", path, "--volumes")
    assert code == 2 and "give NET" in err
    code, _, err = _run(capsys, "stats", npz)
    assert code == 2 and err.startswith("reluregions: error:") and err.count("\n") == 1


def test_rank_study_numbers_layers_as_the_per_layer_table(slab_file, capsys) -> None:
    """Issue 17, item 9: the rank study's ``layer`` is the parents' layer in the per-layer table's
    numbering (0: the domain, one parent), and the text says so."""
    path, _ = slab_file
    code, out, _ = _run(capsys, "stats", path, "--json")
    data = json.loads(out)
    cells = {0: 1} | {r["layer"]: r["cells"] for r in data["per_layer"]}
    parents: dict[int, int] = {}
    for row in data["rank_study"]:
        parents[row["layer"]] = parents.get(row["layer"], 0) + row["parents"]
    assert parents == {l: cells[l] for l in parents} and sorted(parents) == [0, 1]
    code, out, _ = _run(capsys, "stats", path)
    assert code == 0 and "cells after hidden layer `layer`, numbered as above (0: the domain)" in out


def test_details_command(slab_file, tmp_path, capsys) -> None:
    path, npz = slab_file
    code, out, _ = _run(capsys, "details", path, npz, "--what", "volume", "--out",
                        tmp_path / "v.parquet", "--workers", "1")
    assert code == 0 and "6 rows of volume" in out
    code, out, _ = _run(capsys, "details", path, npz, "--what", "adjacency", "--out",
                        tmp_path / "a.parquet", "--workers", "1")
    assert code == 0 and "5 edges" in out  # the six regions sit side by side: five shared facets
    code, _, err = _run(capsys, "details", path, npz, "--what", "area", "--out", tmp_path / "x.parquet")
    assert code == 2 and "choose one of: hrep, vertices, volume, adjacency" in err
    code, _, err = _run(capsys, "details", path, npz, "--what", "volume", "--out",
                        tmp_path / "x.parquet", "--workers", "0")
    assert code == 2 and "--workers" in err
    code, _, err = _run(capsys, "details", path, npz, "--what", "volume", "--out",
                        tmp_path / "no" / "dir" / "x.parquet", "--workers", "1")
    assert code == 2 and "cannot write" in err
