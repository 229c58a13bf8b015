"""Regions of a small digits classifier: train, enumerate, count, verify and draw.

Trains a ReLU MLP (scikit-learn's MLPClassifier) on the 8x8 digits reduced to 2 PCA inputs, turns
it into a :class:`reluregions.Network`, enumerates its activation regions on the data's bounding
box into a Parquet file, prints the per-layer counts and the rank study, checks the file with
``verify_file`` and saves pictures:

* ``digits_partition.png`` — the regions coloured by pattern, the decision boundary and the data;
* ``digits_maps.png`` — the same regions coloured by output map (the linear pieces);
* ``digits_rank_study.png`` — children per parent by rank, next to the bound;
* ``digits_histograms.png`` — inradius and active-neuron histograms;
* ``digits_slice.png`` — a 4-input model drawn on the plane through three digit images.

With ``--runtime`` it also runs the quick runtime-versus-regions study. Run::

    python examples/digits_example.py --out digits_out [--runtime]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from reluregions import EnumerationConfig, iter_regions
from reluregions.analysis import compute_stats, verify_file
from reluregions.analysis.digits import train_digits_network
from reluregions.cli.common import run_metadata
from reluregions.io.parquet import ParquetRegionWriter
from reluregions.network import save_npz
from reluregions.plotting import (plot_histograms, plot_partition, plot_rank_study, plot_runtime,
                                  plot_slice)
from reluregions.plotting._mpl import save_figure


def enumerate_to_file(network, domain, npz: Path, out: Path) -> tuple[int, float]:
    """Enumerate every region into ``out`` (Parquet); returns (regions, seconds)."""
    config = EnumerationConfig(chebyshev=True)
    stream = iter_regions(network, domain, config)
    with ParquetRegionWriter(out, network.n_hidden, run_metadata(network, domain, config, npz)) as w:
        w.write_all(stream.chunks())
    return w.count, stream.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="digits_out", help="output folder")
    parser.add_argument("--hidden", default="16,16", help="hidden widths, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runtime", action="store_true", help="also run the quick runtime study")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hidden = tuple(int(w) for w in args.hidden.split(","))

    start = time.perf_counter()
    model = train_digits_network(dims=2, hidden=hidden, seed=args.seed)
    net, domain = model.network, model.domain
    print(f"trained {net!r} on digits (2 PCA inputs) in {time.perf_counter() - start:.1f} s; "
          f"test accuracy {model.accuracy:.3f}")
    npz, regions_file = out / "digits_mlp.npz", out / "digits_regions.parquet"
    save_npz(npz, net, (domain.lo, domain.hi))
    n, seconds = enumerate_to_file(net, domain, npz, regions_file)
    print(f"{n:,} regions in {seconds:.3f} s on {domain}")

    stats = compute_stats(regions_file, net, volumes=True, maps=True)
    s = stats.summary
    print("\ncells after each hidden layer:\n" + stats.per_layer.to_string(index=False))
    print("\nrank study:\n" + stats.rank_study.to_string(index=False))
    print(f"\n{s['distinct_maps']:,} distinct output maps for {s['regions']:,} regions; "
          f"volumes add up to {s['volume_total']:.6g} (domain {s['domain_volume']:.6g})")

    report = verify_file(regions_file, net, samples=20_000)
    print("\n" + "\n".join(report.lines()))

    part = plot_partition(regions_file, net, None, boundary=True)
    ax = part.figure.axes[0]
    dots = ax.scatter(model.X[:, 0], model.X[:, 1], c=model.y, cmap="tab10", s=4, linewidths=0,
                      alpha=0.8)
    ax.legend(*dots.legend_elements(), title="digit", fontsize=7, title_fontsize=7,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    save_figure(part.figure, out / "digits_partition.png")
    maps = plot_partition(regions_file, net, out / "digits_maps.png", color="map", boundary=True)
    print(f"\ndrew {part.polygons} polygons ({part.regions} regions), "
          f"{part.boundary_segments} boundary segments; {maps.groups} distinct maps")
    plot_rank_study(stats, out / "digits_rank_study.png")
    plot_histograms(stats, out / "digits_histograms.png")

    wide = train_digits_network(dims=4, hidden=(16,), seed=args.seed)
    picks = [int(np.flatnonzero(wide.y == digit)[0]) for digit in (0, 1, 7)]
    sl = plot_slice(wide.network, [wide.X[i] for i in picks], out / "digits_slice.png",
                    boundary=True, title="4-input model on the plane through a 0, a 1 and a 7")
    print(f"slice through three digits: {sl.regions} regions")

    if args.runtime:
        from reluregions.analysis import run_runtime_study, save_runtime_study

        study = run_runtime_study(quick=True, seed=args.seed)
        save_runtime_study(study, out / "runtime")
        plot_runtime(study.runs, study.fits, out / "runtime" / "runtime.png")
        for alg, fit in study.fits.items():
            print(f"runtime fit ({alg}): seconds = {fit['a']:.3g} * regions + {fit['b']:.3g}, "
                  f"R^2 = {fit['r2']:.3f} over {fit['n']} runs")
    print(f"\npictures and files written to {out}/")


if __name__ == "__main__":
    main()
