"""The paper's scale at full image resolution (issue 14, last target): a two-hidden-layer MLP on
scikit-learn's 64-pixel digits (no PCA), enumerated with the default algorithm on 2 workers and
streamed to Parquet, capped, with the paper algorithm's rate measured in the same run.

Steps (each measurement in a fresh subprocess, so that its peak memory is its own):

1. train ``train_digits_network(None, hidden, seed)`` (seeded; the held-out accuracy is reported);
   the domain is the box around one class's images (per-pixel min/max widened by ``--margin``,
   clipped to [0, 16], pixels constant over the class fixed) or, with ``--whole``, ``[0, 16]^64``;
2. the main run: the default algorithm on ``--workers`` worker processes, every region streamed to
   a Parquet file, stopped after ``--time-cap`` seconds of enumeration: regions, regions/s, the
   peak resident memory of parent plus workers (psutil, sampled every 0.5 s), the file's size, and
   the projected time to 10^7 regions at that rate;
3. the baselines, serial and capped at ``--baseline-cap`` seconds: the default algorithm and the
   paper's (Alg. 1, Bound-IncEnum), with their LPs per region (the parallel schedulers merge their
   workers' LP counters only when a run finishes, so a capped parallel run cannot report them) and
   the ratio of their regions/s;
4. the first layer's cells in the box, counted exactly (the first layer alone), times the regions
   per first-layer cell of the serial default run's prefix: a rough size of the box (depth-first
   prefixes are not a uniform sample), to say whether it holds 10^7 regions at all.

Usage::

    python bench/bench_digits.py [--hidden 16x16] [--digit 0] [--margin 2 | --whole]
        [--time-cap 300] [--baseline-cap 60] [--workers 2] [--seed 0] [--out bench/out]
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
    import numpy as np

    import reluregions as rr
    from reluregions.io.parquet import ParquetRegionWriter
    from reluregions.schedulers import make_scheduler
    from bench_scale import PeakRSS
    from cases import stream_capped

    net, box = pickle.loads(Path(spec["case"]).read_bytes())
    cfg = rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False)
    if spec["mode"] == "layer1":  # the first layer alone: its cells in the box, exactly
        first = rr.Network([net.weights[0], np.ones((1, net.weights[0].shape[0]))],
                           [net.biases[0], np.zeros(1)])
        result = rr.count_regions(first, box, cfg, make_scheduler("serial"))
        return {"layer1_cells": result.regions, "seconds": result.seconds}
    if spec["mode"] == "serial":
        n, capped, stream = stream_capped(net, box, cfg, make_scheduler("serial"), spec["cap"])
        return {"regions": n, "seconds": stream.seconds, "capped": capped, "lps": stream.stats.lps,
                "layer_cells": list(stream.stats.layer_cells)}
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
                if stream.seconds > spec["cap"]:
                    capped = True
                    break
            seconds = stream.seconds
    size = Path(spec["parquet"]).stat().st_size
    return {"regions": writer.count, "seconds": seconds, "capped": capped,
            "peak_mb_parent": mem.parent / 2 ** 20, "peak_mb_total": mem.total / 2 ** 20,
            "parquet_mb": size / 2 ** 20, "parquet_bytes_per_region": size / max(writer.count, 1)}


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
              f"Projected time to 10^7 regions at the main run's rate: "
              f"{r['projected_hours_1e7']:.2f} h (one-hour target "
              f"{'met' if r['projected_hours_1e7'] <= 1 else 'missed'} at this rate).",
              f"First-layer cells in the box: {l1.get('layer1_cells', 'error')}; rough size of the "
              f"box (cells x regions per first-layer cell of the serial prefix): "
              f"{r['rough_regions_in_box']}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--hidden", default="16x16", help="hidden widths, e.g. 16x16")
    ap.add_argument("--digit", type=int, default=0, help="the class whose box is enumerated")
    ap.add_argument("--margin", type=float, default=2.0, help="pixel values around the class's range")
    ap.add_argument("--whole", action="store_true", help="the whole pixel range [0, 16]^64")
    ap.add_argument("--time-cap", type=float, default=300.0, help="seconds of the main run")
    ap.add_argument("--baseline-cap", type=float, default=60.0, help="seconds of each serial run")
    ap.add_argument("--workers", type=int, default=2)
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
        r["layer1"] = measure({**base, "mode": "layer1"})
        r["main"] = measure({**base, "mode": "parquet", "workers": args.workers,
                             "cap": args.time_cap, "parquet": str(Path(tmp, "regions.parquet"))})
        r["default_serial"] = measure({**base, "mode": "serial", "cap": args.baseline_cap})
        r["paper_serial"] = measure({**base, "algorithm": "paper", "mode": "serial",
                                     "cap": args.baseline_cap})
    main_rate, dflt, paper = rate(r["main"]), r["default_serial"], r["paper_serial"]
    ok = "error" not in dflt and "error" not in paper and rate(paper)
    r["ratio_default_paper"] = f"{rate(dflt) / rate(paper):.1f}x" if ok else "–"
    r["ratio_main_paper"] = (f"{main_rate / rate(paper):.1f}x" if ok and main_rate else "–")
    r["projected_hours_1e7"] = TARGET / main_rate / 3600 if main_rate else float("inf")
    cells = dflt.get("layer_cells") or [0]
    r["rough_regions_in_box"] = (f"{r['layer1']['layer1_cells'] * dflt['regions'] / cells[0]:.2g}"
                                 if cells[0] and "layer1_cells" in r["layer1"] else "–")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    Path(args.out, "digits.json").write_text(json.dumps(r, indent=1))
    Path(args.out, "digits.md").write_text(report(r))
    print(report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
