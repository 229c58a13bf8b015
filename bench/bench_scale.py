"""Paper-scale benchmark (issue "Speed", item 3): a two-hidden-layer network trained on an offline
dataset (scikit-learn's digits, PCA-reduced; the paper trains on EMNIST), sized for >= 10^8 regions,
enumerated to Parquet with bounded memory.

Steps:

1. train ``MLPClassifier(hidden_layer_sizes=(H, H), activation="relu")`` on digits reduced to
   ``--dim`` PCA components (inputs scaled to [-1, 1]); the box is ``[-1, 1]^dim``;
2. estimate the region count by enumerating ``--samples`` random sub-boxes of a ``G^dim`` grid
   (each exactly) and scaling by the number of grid boxes. Regions that cross a sub-box boundary
   are counted in every sub-box they meet, so this over-estimates by the boundary share, which the
   script reports (regions touching a sub-box face / regions in it);
3. with ``--run SECONDS``: enumerate the whole box to Parquet with the chosen backend for at most
   that long (the enumeration is depth first, so a capped run covers a prefix of the tree); report
   regions, regions/s, peak resident memory of the parent and of all workers, and the time the full
   run would take at that rate (marked as extrapolated unless it finished).

Usage::

    python bench/bench_scale.py --hidden 300 --dim 3 --samples 8 --run 600 --workers 2 \
        [--backend threads]
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np


def train(hidden: int, dim: int, seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier

    import reluregions as rr

    X, y = load_digits(return_X_y=True)
    Z = PCA(n_components=dim, random_state=seed).fit_transform(X)
    Z = 2 * (Z - Z.min(axis=0)) / (Z.max(axis=0) - Z.min(axis=0)) - 1
    clf = MLPClassifier(hidden_layer_sizes=(hidden, hidden), activation="relu", max_iter=300,
                        random_state=seed).fit(Z, y)
    net = rr.Network([W.T for W in clf.coefs_], clf.intercepts_)
    return net, float(clf.score(Z, y))


def estimate(net, dim: int, grid: int, samples: int, seed: int = 0) -> dict:
    import reluregions as rr

    rng = np.random.default_rng(seed)
    width = 2.0 / grid
    counts, seconds = [], 0.0
    for _ in range(samples):
        idx = rng.integers(0, grid, size=dim)
        lo = -1 + idx * width
        result = rr.count_regions(net, rr.Box(lo, lo + width))
        counts.append(result.regions)
        seconds += result.seconds
    mean = float(np.mean(counts))
    return {"grid": grid, "samples": samples, "regions_per_subbox": counts,
            "estimated_regions": mean * grid ** dim,
            "relative_std_error": float(np.std(counts) / np.sqrt(len(counts)) / max(mean, 1)),
            "sample_regions_per_second": float(np.sum(counts) / max(seconds, 1e-9))}


class PeakRSS:
    """Samples the resident memory of this process and its children (psutil) in a thread."""

    def __init__(self, every: float = 0.5) -> None:
        import psutil

        self.proc = psutil.Process()
        self.every = every
        self.parent = 0
        self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                parent = self.proc.memory_info().rss
                kids = sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except Exception:  # noqa: BLE001 - a child may exit between the two calls
                continue
            self.parent = max(self.parent, parent)
            self.total = max(self.total, parent + kids)
            self._stop.wait(self.every)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(net, dim: int, seconds: float, workers: int, out: Path, backend: str = "processes") -> dict:
    import reluregions as rr
    from reluregions.io.parquet import ParquetRegionWriter
    from reluregions.schedulers import make_scheduler

    sched = make_scheduler("serial") if workers == 1 else make_scheduler(backend, workers=workers)
    cfg = rr.EnumerationConfig(ranks=True)
    stream = rr.iter_regions(net, rr.Box.symmetric(dim), cfg, sched)
    meta = {"n_hidden": net.n_hidden, "input_dim": dim, "hidden_widths": list(net.hidden_widths),
            "network_sha256": net.sha256, "config": cfg.to_dict()}
    finished = True
    with PeakRSS() as mem:
        start = time.perf_counter()  # includes worker start-up (about 1.5 s)
        with ParquetRegionWriter(out, net.n_hidden, meta) as writer:
            for chunk in stream.chunks():
                writer.write_chunk(chunk)
                if stream.seconds > seconds:
                    finished = False
                    break
        written = writer.count
        elapsed = time.perf_counter() - start
    return {"regions_written": written, "seconds": elapsed, "finished": finished,
            "regions_per_second": written / elapsed, "peak_rss_parent_mb": mem.parent / 2**20,
            "peak_rss_total_mb": mem.total / 2**20, "parquet_mb": out.stat().st_size / 2**20,
            "workers": workers, "backend": backend if workers > 1 else "serial"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--dim", type=int, default=4)
    ap.add_argument("--grid", type=int, default=8)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--run", type=float, default=0.0, help="seconds of full enumeration (0: none)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--backend", default="processes", help="threads | processes (with --workers > 1)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    net, acc = train(args.hidden, args.dim)
    report: dict = {"hidden": [args.hidden, args.hidden], "dim": args.dim, "train_accuracy": acc}
    report["estimate"] = estimate(net, args.dim, args.grid, args.samples)
    print(json.dumps(report), flush=True)
    if args.run > 0:
        res = run(net, args.dim, args.run, args.workers, Path(args.out) / "scale.parquet",
                  args.backend)
        total = report["estimate"]["estimated_regions"]
        res["extrapolated_full_seconds"] = total / res["regions_per_second"]
        report["run"] = res
        print(json.dumps(res), flush=True)
    Path(args.out, "scale.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
