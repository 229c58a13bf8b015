"""Pictures: one polygon per region, exact decision boundaries, charts, formats and errors."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.helpers import line_arrangement, random_net, write_region_file
from reluregions import AffineSlice, Box, EnumerationConfig, count_regions
from reluregions.analysis import compute_stats
from reluregions.cli.main import main
from reluregions.errors import InputError, MissingDependencyError, OptionError
from reluregions.io.parquet import read_regions
from reluregions.plotting import (plot_histograms, plot_partition, plot_rank_study, plot_slice)

WITNESS = EnumerationConfig(algorithm="witness")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random 2-10-10-3 classifier; all three classes win somewhere in [-1, 1]^2."""
    net = random_net(2, (10, 10), seed=13, n_out=3)
    x = np.random.default_rng(0).uniform(-1, 1, (4000, 2))
    assert len(np.unique(net.forward(x).argmax(axis=1))) == 3
    return write_region_file(tmp_path_factory.mktemp("clf") / "clf.parquet", net)


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_region_file(tmp_path_factory.mktemp("lines") / "lines.parquet",
                             line_arrangement(5, seed=1), Box([-4, -4], [4, 4]))


def _load(npz: Path):
    from reluregions.network import load_network

    return load_network(npz)[0]


@pytest.mark.parametrize("color", ["pattern", "map", "rank"])
def test_one_polygon_per_region(classifier, tmp_path, color: str) -> None:
    path, npz = classifier
    n = len(read_regions(path))
    out = tmp_path / f"p_{color}.png"
    result = plot_partition(path, _load(npz), out, color=color, boundary=True)
    assert result.regions == result.polygons == n
    assert out.stat().st_size > 10_000
    if color == "map":
        assert 1 <= result.groups <= n


def test_multiclass_boundary_is_exact(classifier) -> None:
    path, npz = classifier
    net = _load(npz)
    result = plot_partition(path, net, None, boundary=True)
    lines = result.figure.axes[0].collections[1].get_segments()
    assert result.boundary_segments == len(lines) > 0
    mids = np.array([seg.mean(axis=0) for seg in lines])
    logits = np.sort(net.forward(mids), axis=1)
    assert np.allclose(logits[:, -1], logits[:, -2], atol=1e-9)  # the two best classes tie


def test_single_output_boundary_is_zero_level(lines) -> None:
    path, npz = lines
    net = _load(npz)
    result = plot_partition(path, net, None, boundary=True)
    segs = result.figure.axes[0].collections[1].get_segments()
    pts = np.concatenate([np.linspace(s[0], s[1], 5) for s in segs])
    assert len(segs) > 0 and np.abs(net.forward(pts)).max() < 1e-9
    assert result.polygons == 1 + 5 + 10


def test_slice_through_three_points(tmp_path) -> None:
    net = random_net(4, (8, 8), seed=3, n_out=3)
    pts = [np.zeros(4), np.array([1.0, 0.5, 0, 0]), np.array([0, 0.2, 1.0, -0.5])]
    out = tmp_path / "slice.svg"
    result = plot_slice(net, pts, out, boundary=True, config=WITNESS)
    expected = count_regions(net, AffineSlice.through_points(*pts), WITNESS).regions
    assert result.regions == result.polygons == expected
    assert out.read_text().lstrip().startswith("<?xml")


def test_charts(classifier, tmp_path, capsys) -> None:
    path, npz = classifier
    stats = compute_stats(path)
    plot_histograms(stats, tmp_path / "hist.pdf")
    fig = plot_rank_study(stats, tmp_path / "rank.png")
    assert (tmp_path / "hist.pdf").read_bytes()[:4] == b"%PDF"
    assert len(fig.axes[0].patches) == 2 * len(stats.rank_study)
    assert main(["plot", str(path), "--kind", "hist", "--out", str(tmp_path / "h.png")]) == 0
    assert main(["plot", str(path), str(npz), "--out", str(tmp_path / "c.png"), "--color", "map",
                 "--boundary"]) == 0
    out = capsys.readouterr().out
    n = len(read_regions(path))
    assert f"{n:,} polygons for {n:,} regions" in out


def test_plot_command_through_points(tmp_path, capsys) -> None:
    from reluregions.network import save_npz

    net = random_net(3, (6,), seed=4)
    save_npz(tmp_path / "n.npz", net)
    np.save(tmp_path / "pts.npy", np.array([[0, 0, 0], [1.0, 0, 0], [0, 1.0, 0.5]]))
    code = main(["plot", str(tmp_path / "n.npz"), "--through", str(tmp_path / "pts.npy"),
                 "--out", str(tmp_path / "s.png"), "--algorithm", "witness"])
    assert code == 0 and "polygons for" in capsys.readouterr().out
    np.save(tmp_path / "two.npy", np.zeros((2, 3)))
    code = main(["plot", str(tmp_path / "n.npz"), "--through", str(tmp_path / "two.npy"),
                 "--out", str(tmp_path / "s.png")])
    assert code == 2 and "expected 3 rows" in capsys.readouterr().err


def test_plot_errors(classifier, tmp_path, capsys) -> None:
    path, npz = classifier
    net = _load(npz)
    with pytest.raises(OptionError, match=".png, .svg, .pdf"):
        plot_partition(path, net, tmp_path / "x.jpg")
    with pytest.raises(OptionError, match="pattern, map, rank"):
        plot_partition(path, net, None, color="rainbow")
    deep = random_net(3, (4,), seed=1)
    p3, _ = write_region_file(tmp_path / "d3.parquet", deep)
    with pytest.raises(InputError, match="only 2-D"):
        plot_partition(p3, deep)
    assert main(["plot", str(path), "--out", str(tmp_path / "x.png")]) == 2
    assert "FILE NET" in capsys.readouterr().err
    assert main(["plot", str(path), str(npz), "--kind", "pie", "--out", "x.png"]) == 2
    assert "choose one of: partition, hist, rank-study" in capsys.readouterr().err


def test_missing_matplotlib_names_the_install(classifier, monkeypatch) -> None:
    stats = compute_stats(classifier[0])
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'reluregions\[plot\]'"):
        plot_histograms(stats)
