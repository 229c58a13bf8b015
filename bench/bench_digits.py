"""The paper's scale at full image resolution (issue 14, last target): a two-hidden-layer MLP on
scikit-learn's 64-pixel digits (no PCA), enumerated with the default algorithm on 2 workers and
streamed to Parquet, capped, with the paper algorithm's rate measured in the same run.

Steps (each measurement in a fresh subprocess, so that its peak memory is its own):

1. train ``train_digits_network(None, hidden, seed)`` (seeded; the held-out accuracy is reported);
   the domain is the box around one class's images (per-pixel min/max widened by ``--margin``,
   clipped to [0, 16], pixels constant over the class fixed) or, with ``--whole``, ``[0, 16]^64``;
2. the main run: the default algorithm on ``--workers`` worker processes, every region streamed to
   a Parquet file, stopped after ``--time-cap`` seconds of enumeration or once ``--region-cap``
   regions are written (``--region-cap 1e7``: the target's run itself): regions, regions/s, the
   peak resident memory of parent plus workers (psutil, sampled every 0.5 s), the file's size, and
   the projected time to 10^7 regions at that rate;
3. the baselines, serial and capped at ``--baseline-cap`` seconds: the default algorithm and the
   paper's (Alg. 1, Bound-IncEnum), with their LPs per region (the parallel schedulers merge their
   workers' LP counters only when a run finishes, so a capped parallel run cannot report them) and
   the ratio of their regions/s;
4. the size of the box, to say whether it holds 10^7 regions at all: the first layer's cells are
   enumerated exactly (the first layer alone); in ``--size-samples`` of them drawn at random the
   regions are counted exactly (the second layer restricted to the cell is one affine layer on the
   polytope box ∩ cell), and their mean times the number of cells estimates the total, with its
   standard error (an unbiased estimate: every region lies in exactly one first-layer cell).

Usage::

    python bench/bench_digits.py [--hidden 16x16] [--digit 0] [--margin 2 | --whole]
        [--time-cap 300] [--region-cap N] [--baseline-cap 60] [--workers 2] [--seed 0]
        [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 10 ** 7


def _child(spec: dict) -> dict:
    """One measurement (runs in a fresh process)."""
    import reluregions as rr
    from reluregions.io.parquet import ParquetRegionWriter
    from reluregions.schedulers import make_scheduler
    from bench_scale import PeakRSS
    from cases import stream_capped

    net, box = pickle.loads(Path(spec["case"]).read_bytes())
    cfg = rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False)
    if spec["mode"] == "size":
        return _size(net, box, cfg, spec["samples"], spec["seed"])
    if spec["mode"] == "serial":
        n, capped, stream = stream_capped(net, box, cfg, make_scheduler("serial"), spec["cap"])
        return {"regions": n, "seconds": stream.seconds, "capped": capped, "lps": stream.stats.lps}
    sched = make_scheduler("auto", workers=spec["workers"])
    stream = rr.iter_regions(net, box, cfg, sched)
    meta = {"n_hidden": net.n_hidden, "input_dim": net.input_dim,
            "hidden_widths": list(net.hidden_widths), "network_sha256": net.sha256,
            "domain": box.to_dict(), "config": cfg.to_dict()}
    capped = False
    with PeakRSS() as mem:
        with ParquetRegionWriter(spec["parquet"], net.n_hidden, meta) as writer:
            for chunk in stream.chunks():
                writer.write_chunk(chunk)
                if stream.seconds > spec["cap"] or writer.count >= spec.get("region_cap", float("inf")):
                    capped = True
                    break
            seconds = stream.seconds
    size = Path(spec["parquet"]).stat().st_size
    return {"regions": writer.count, "seconds": seconds, "capped": capped,
            "peak_mb_parent": mem.parent / 2 ** 20, "peak_mb_total": mem.total / 2 ** 20,
            "parquet_mb": size / 2 ** 20, "parquet_bytes_per_region": size / max(writer.count, 1)}


def _size(net, box, cfg, samples: int, seed: int) -> dict:
    """Estimate the regions in ``box`` from exact counts in random first-layer cells (step 4)."""
    import numpy as np

    import reluregions as rr

    start = time.perf_counter()
    (W1, W2, *rest), (b1, b2, *rest_b) = net.weights, net.biases
    first = rr.Network([W1, np.ones((1, W1.shape[0]))], [b1, np.zeros(1)])
    cells = rr.enumerate_regions(first, box, cfg)
    param = box.parametrize()  # x = x0 + U s, s in [-1, 1]^k
    A, c = W1 @ param.U, W1 @ param.x0 + b1
    rng = np.random.default_rng(seed)
    counts = []
    for i in rng.choice(len(cells), size=min(samples, len(cells)), replace=False):
        on = cells.bits[i, :W1.shape[0]].astype(bool)
        sign = np.where(on, -1.0, 1.0)  # on: W1 x + b1 >= 0; off: <= 0
        cell = rr.HPolytope(np.vstack([param.G, sign[:, None] * A]),
                            np.concatenate([param.h, -sign * c]))
        restricted = rr.Network([W2 @ (on[:, None] * A), *rest], [W2 @ (on * c) + b2, *rest_b])
        counts.append(rr.count_regions(restricted, cell, cfg).regions)
    n, mean = len(cells), float(np.mean(counts))
    return {"layer1_cells": n, "samples": len(counts), "sample_counts": counts,
            "estimated_regions": n * mean,
            "standard_error": n * float(np.std(counts, ddof=1)) / np.sqrt(len(counts)),
            "seconds": time.perf_counter() - start}


def measure(spec: dict) -> dict:
    """Run :func:`_child` in a fresh interpreter; a run past ``cap + 120`` s is reported as such."""
    try:
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                             capture_output=True, text=True, timeout=spec.get("cap", 60) + 120)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def rate(m: dict) -> float | None:
    return m["regions"] / m["seconds"] if m.get("seconds") else None


def report(r: dict) -> str:
    """The Markdown summary of one benchmark run."""
    main, dflt, paper, l1 = r["main"], r["default_serial"], r["paper_serial"], r["layer1"]
    lines = [f"Command: `{r['command']}`", "",
             f"Network: 64 pixels -> {r['hidden']} -> 10 (seed {r['seed']}), held-out accuracy "
             f"{r['accuracy']:.4f}. Domain: {r['domain_text']} ({r['free_dims']} free pixels).", ""]
    if "error" in main:
        lines.append(f"Main run failed: {main['error']}")
        return "\n".join(lines) + "\n"
    small = ("; but the box holds fewer than 10^7 regions by the estimate below"
             if l1.get("estimated_regions", TARGET) < TARGET else "")
    lps = (lambda m: f"{m['lps'] / max(m['regions'], 1):.2f}" if "lps" in m else "–")
    lines += ["| run | workers | regions | seconds | regions/s | LPs/region | peak MB (parent + workers) |",
              "|---|---|---|---|---|---|---|",
              f"| default -> Parquet | {r['workers']} | {main['regions']:,}"
              f"{' (capped)' if main['capped'] else ''} | {main['seconds']:.1f} | {rate(main):,.0f} "
              f"| – | {main['peak_mb_total']:.0f} |"]
    for name, m in (("default", dflt), ("paper", paper)):
        if "error" in m:
            lines.append(f"| {name} | 1 | error: {m['error']} | | | | |")
            continue
        lines.append(f"| {name} | 1 | {m['regions']:,}{' (capped)' if m['capped'] else ''} | "
                     f"{m['seconds']:.1f} | {rate(m):,.0f} | {lps(m)} | – |")
    lines += ["", f"Parquet: {main['parquet_mb']:.1f} MB, {main['parquet_bytes_per_region']:.0f} "
                  "bytes/region.",
              f"Default / paper regions/s (both serial, same run): {r['ratio_default_paper']}; "
              f"default on {r['workers']} workers / paper serial: {r['ratio_main_paper']}.",
              (f"10^7 regions written in {main['seconds'] / 3600:.2f} h of enumeration (measured)."
               if main["regions"] >= TARGET else "") +
              f" Projected time to 10^7 regions at the main run's rate: "
              f"{r['projected_hours_1e7']:.2f} h (one-hour target "
              f"{'met' if r['projected_hours_1e7'] <= 1 else 'missed'} at this rate"
              f"{small}).",
              f"Size of the box: {l1.get('layer1_cells', l1.get('error'))} first-layer cells; "
              f"{l1.get('estimated_regions', float('nan')):.3g} regions estimated (standard error "
              f"{l1.get('standard_error', float('nan')):.2g}) from exact counts in "
              f"{l1.get('samples', 0)} random first-layer cells."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--hidden", default="16x16", help="hidden widths, e.g. 16x16")
    ap.add_argument("--digit", type=int, default=0, help="the class whose box is enumerated")
    ap.add_argument("--margin", type=float, default=2.0, help="pixel values around the class's range")
    ap.add_argument("--whole", action="store_true", help="the whole pixel range [0, 16]^64")
    ap.add_argument("--time-cap", type=float, default=300.0, help="seconds of the main run")
    ap.add_argument("--region-cap", type=float, default=float("inf"),
                    help="stop the main run once this many regions are written (e.g. 1e7)")
    ap.add_argument("--baseline-cap", type=float, default=60.0, help="seconds of each serial run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size-samples", type=int, default=40,
                    help="random first-layer cells counted to estimate the box's regions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(__file__).parent))
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    from reluregions.analysis.digits import digits_class_box, train_digits_network

    hidden = tuple(int(w) for w in args.hidden.split("x"))
    start = time.perf_counter()
    model = train_digits_network(None, hidden, seed=args.seed)
    box = model.domain if args.whole else digits_class_box(model, args.digit, args.margin)
    r: dict = {"command": "python bench/bench_digits.py " + " ".join(sys.argv[1:]),
               "hidden": args.hidden, "seed": args.seed, "accuracy": model.accuracy,
               "train_seconds": time.perf_counter() - start, "workers": args.workers,
               "free_dims": int((box.hi > box.lo).sum()),
               "domain_text": "[0, 16]^64" if args.whole else
               f"class {args.digit}'s pixel box, margin {args.margin:g}, clipped to [0, 16]"}
    with tempfile.TemporaryDirectory(prefix="bench_digits_") as tmp:
        case = Path(tmp, "case.pkl")
        case.write_bytes(pickle.dumps((model.network, box)))
        base = {"case": str(case), "algorithm": "default"}
        r["layer1"] = measure({**base, "mode": "size", "samples": args.size_samples,
                               "seed": args.seed, "cap": 600})
        r["main"] = measure({**base, "mode": "parquet", "workers": args.workers,
                             "cap": args.time_cap, "region_cap": args.region_cap,
                             "parquet": str(Path(tmp, "regions.parquet"))})
        r["default_serial"] = measure({**base, "mode": "serial", "cap": args.baseline_cap})
        r["paper_serial"] = measure({**base, "algorithm": "paper", "mode": "serial",
                                     "cap": args.baseline_cap})
    main_rate, dflt, paper = rate(r["main"]), r["default_serial"], r["paper_serial"]
    ok = "error" not in dflt and "error" not in paper and rate(paper)
    r["ratio_default_paper"] = f"{rate(dflt) / rate(paper):.1f}x" if ok else "–"
    r["ratio_main_paper"] = (f"{main_rate / rate(paper):.1f}x" if ok and main_rate else "–")
    r["projected_hours_1e7"] = TARGET / main_rate / 3600 if main_rate else float("inf")
    sys.path.insert(0, str(Path(__file__).parent))
    from cases import save_results

    save_results(args.out, "digits", r, report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
