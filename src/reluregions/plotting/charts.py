"""Charts of region statistics: radius and active-neuron histograms, the rank study, runtimes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._mpl import new_figure, save_figure

__all__ = ["plot_histograms", "plot_rank_study", "plot_runtime"]


def plot_histograms(stats: Any, out: str | Path | None = None) -> Any:
    """Histograms of the stored radii (log scale) and of the active neurons per region.

    The radius axis names what the file holds (``stats.summary["radius_label"]``): the certified
    inscribed radius by default, the Chebyshev radius for files enumerated with ``--chebyshev``,
    in the units of ``stats.summary["radius_units"]``.

    ``stats`` is a :class:`reluregions.analysis.RegionStats`. Returns the figure.
    """
    fig, (ax_r, ax_a) = new_figure(11.0, 4.2, ncols=2)
    rad = stats.inradius
    if len(rad):
        lo = rad["lo"].to_numpy().copy()
        hi = rad["hi"].to_numpy().copy()
        lo[lo <= 0] = hi[lo <= 0] / 10 ** 0.25
        hi[~np.isfinite(hi)] = lo[~np.isfinite(hi)] * 10 ** 0.25
        ax_r.bar(lo, rad["regions"], width=hi - lo, align="edge", color="#4c78a8",
                 edgecolor="white", linewidth=0.5)
        ax_r.set_xscale("log")
    label = stats.summary.get("radius_label") or "radius"
    units = stats.summary.get("radius_units") or "normalised coordinates"
    ax_r.set_xlabel(f"{label} ({units})")
    ax_r.set_ylabel("regions")
    ax_r.set_title(f"{label} of {stats.summary['regions']:,} regions")
    act = stats.active
    total = act[act["layer"] == 0]
    ax_a.bar(total["active"], total["regions"], width=0.85, color="#f58518")
    ax_a.set_xlabel("active neurons (all hidden layers)")
    ax_a.set_ylabel("regions")
    ax_a.set_title("active neurons per region")
    if out is not None:
        save_figure(fig, out)
    return fig


def plot_rank_study(stats: Any, out: str | Path | None = None) -> Any:
    """Mean and max children per parent, by layer and parent rank, with the bound as a line.

    Each group (cells after layer ``l`` whose map has rank ``r``) gets a bar for the mean and one
    for the max number of children (cells after layer ``l + 1``), and a black line at the bound
    ``sum_{i<=r} C(n_{l+1}, i)`` (DESIGN.md §1). The y axis is logarithmic because the bound grows
    fast with the width: its ticks read as plain numbers up to 10^4, then as powers of ten. The
    legend sits outside the axes, so it never covers a bar.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    table = stats.rank_study
    fig, ax = new_figure(max(6.0, 1.1 * len(table) + 2.5), 5.0)
    x = np.arange(len(table))
    labels = [f"layer {l}\u2192{l + 1}\nrank {r}" for l, r in zip(table["layer"], table["parent_rank"])]
    means = ax.bar(x - 0.2, table["mean"], width=0.4, label="mean children per parent",
                   color="#4c78a8")
    maxes = ax.bar(x + 0.2, table["max"], width=0.4, label="max children per parent",
                   color="#f58518")
    for bars, values in ((means, table["mean"]), (maxes, table["max"])):  # inside: clear of bounds
        ax.bar_label(bars, labels=[_count(v) for v in values], label_type="center", fontsize=7,
                     color="white", fontweight="bold")
    bounds = table["bound"].to_numpy(dtype=float)
    ax.hlines(bounds, x - 0.45, x + 0.45, colors="black", linewidths=2.0)
    for xi, b in zip(x, bounds):
        if np.isfinite(b):
            ax.annotate(_count(b), (xi, b), textcoords="offset points", xytext=(0, 3),
                        ha="center", va="bottom", fontsize=7)
    top = float(np.nanmax(np.concatenate([bounds, table["max"].to_numpy(float), [1.0]])))
    for xi, p in zip(x, table["parents"]):
        ax.annotate(f"{p:,} parent{'s' if p != 1 else ''}", (xi, 0.75), ha="center", va="bottom",
                    fontsize=7, color="#333333")
    ax.set_yscale("log")
    ax.set_ylim(0.6, top * 12)
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(FuncFormatter(_power_tick))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlim(-0.7, len(table) - 0.3)
    ax.set_ylabel("children (cells of the next layer)")
    ax.set_title("rank study: cells each cell splits into, by the rank of its map")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", linewidth=2.0,
                          label="bound: sum of C(n, i) over i \u2264 rank"))
    fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncol=2, frameon=False)
    if out is not None:
        save_figure(fig, out)
    return fig


def _power_tick(value: float, _pos: Any = None) -> str:
    """A log-axis tick: ``0.1``, ``1``, ``10``, ..., ``10,000``, then ``10^5``, ``10^6``, ..."""
    if value <= 0:
        return ""
    e = int(np.round(np.log10(value)))
    if -1 <= e <= 4:
        return f"{value:,.{max(-e, 0)}f}"
    return f"$10^{{{e}}}$"


def _count(value: float) -> str:
    """A child count or bound for a label: ``3.2``, ``1,234``, or ``8.3e+06`` past a million."""
    if not np.isfinite(value):
        return ""
    if value >= 1e6:
        return f"{value:.2g}"
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"


def plot_runtime(runs: Any, fits: dict[str, Any], out: str | Path | None = None) -> Any:
    """Enumeration time against regions, one panel per algorithm, with the fitted lines ``a n + b``.

    Runs stopped at the time cap are drawn as crosses and are not part of the fit.
    """
    algorithms = list(dict.fromkeys(runs["algorithm"]))
    fig, axes = new_figure(5.0 * max(len(algorithms), 1), 4.6, ncols=max(len(algorithms), 1))
    axes = np.atleast_1d(axes)
    colors = {"default": "#4c78a8", "paper": "#e45756"}
    for ax, alg in zip(axes, algorithms):
        grp = runs[runs["algorithm"] == alg]
        done, capped = grp[~grp["capped"]], grp[grp["capped"]]
        col = colors.get(alg, "#555555")
        for kind, marker in (("random", "o"), ("digits", "s")):
            sel = done[done["kind"] == kind]
            if len(sel):
                ax.scatter(sel["regions"], sel["seconds"], s=24, marker=marker, color=col,
                           label=f"{kind} nets")
        if len(capped):
            ax.scatter(capped["regions"], capped["seconds"], s=30, marker="x", color="black",
                       label="stopped at the time cap")
        fit = fits.get(alg) or {}
        if fit.get("a") is not None and len(done):
            xs = np.linspace(0, float(grp["regions"].max()) * 1.05, 50)
            ax.plot(xs, fit["a"] * xs + fit["b"], color=col, linewidth=1.2,
                    label=f"{fit['a'] * 1e3:.3g} ms/region + {fit['b']:.2g} s, R\u00b2 = {fit['r2']:.3f}")
        ax.set_xlabel("regions")
        ax.set_ylabel("enumeration time (s)")
        ax.set_title(f"algorithm '{alg}'")
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    if out is not None:
        save_figure(fig, out)
    return fig
