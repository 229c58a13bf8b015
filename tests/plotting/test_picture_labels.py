"""Pictures say what they show: readable rank-study ticks with the legend off the bars, a legend
entry for the decision boundary (or why there is none), the fixed coordinates of a slice, and the
plane and points of a ``--through`` slice."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from reluregions import Box, EnumerationConfig, Network
from reluregions.analysis import compute_stats
from reluregions.enumeration import enumerate_regions
from reluregions.plotting import plot_rank_study, plot_regionset, plot_slice

from analysis.helpers import random_net, write_region_file

CLI = [sys.executable, "-c", "from reluregions.cli.main import main; raise SystemExit(main())"]


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_rank_study_ticks_are_plain_and_the_legend_is_off_the_axes(tmp_path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path, _ = write_region_file(tmp_path / "r.parquet", random_net(2, (8, 8), seed=1))
    fig = plot_rank_study(compute_stats(path))
    ax = fig.axes[0]

    FigureCanvasAgg(fig).draw()
    assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e7" offset
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("0.000" not in s for s in labels)
    assert ax.get_legend() is None and any("bound" in s for s in _legend_texts(fig))


def _regions(net: Network, box: Box):
    return enumerate_regions(net, box, EnumerationConfig(algorithm="witness"))


def test_boundary_has_a_legend_entry_and_a_fixed_coordinate_is_named() -> None:
    net = random_net(3, (6, 6), seed=2, n_out=3)  # three classes win on the slice
    box = Box([-1.0, -1.0, 0.25], [1.0, 1.0, 0.25])
    regions = _regions(net, box)
    result = plot_regionset(net, box, regions.bits, regions.points, boundary=True)
    assert result.boundary_segments > 0 and result.boundary_note is None
    assert "decision boundary (argmax changes)" in _legend_texts(result.figure)
    assert "fixed: x3 = 0.25" in result.figure.axes[0].get_title()


def test_constant_class_says_why_there_is_no_boundary(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    net = Network([rng.standard_normal((5, 2)), np.array([[0.1] * 5, [0.0] * 5])],
                  [rng.standard_normal(5) * 0.3, np.array([100.0, 0.0])])  # class 0 always wins
    path, npz = write_region_file(tmp_path / "const.parquet", net)
    run = subprocess.run(CLI + ["plot", str(path), str(npz), "--boundary", "--out",
                                str(tmp_path / "p.png")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "0 boundary segments (class 0 wins everywhere here)" in run.stdout
    regions = _regions(net, Box.symmetric(2))
    result = plot_regionset(net, Box.symmetric(2), regions.bits, regions.points, boundary=True)
    assert "no decision boundary: class 0 wins everywhere here" in _legend_texts(result.figure)


def test_through_slice_names_its_axes_and_marks_its_points() -> None:
    net = random_net(4, (6,), seed=2, n_out=2)
    points = [np.zeros(4), np.array([0.5, 0, 0, 0]), np.array([0, 0.5, 0.2, 0])]
    result = plot_slice(net, points, boundary=True)
    ax = result.figure.axes[0]
    assert "b \u2212 a" in ax.get_xlabel() and "c \u2212 a" in ax.get_ylabel()
    assert "x = a + s1 (b \u2212 a) + s2 (c \u2212 a)" in ax.get_title()
    assert {t.get_text() for t in ax.texts} >= {"a", "b", "c"}
