"""Speed benchmark (issue "Speed"): regions, seconds, regions/s, LPs per region and peak memory for
the default algorithm and the faithful paper algorithm, measured in the same run.

Each measurement runs in a fresh subprocess (so peak RSS is its own; for several workers it is the
parent's). The default algorithm is timed as ``reluregions count`` does it: ``seconds`` excludes
imports, loading, kernel loading and worker start-up (reported apart as ``setup_seconds``). The paper
algorithm is capped at ``--paper-cap`` seconds; where it would run longer, its regions/s over the
capped prefix (depth first) is extrapolated to the full count (marked "extrapolated").

Usage::

    python bench/bench_speed.py [NETWORKS_DIR] [--workers 1 2] [--paper-cap 60] [--out bench/out]

Without NETWORKS_DIR (or if it does not exist) the suite runs on generated networks only.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PEERS = {  # seconds measured on a 2-core machine (DESIGN.md section 7): nnenum, Berzins
    "acasxu_1_1_prop3": (71930, 8.7, 9.1),
    "acasxu_1_1_prop1": (39835, 8.2, 16.1),
    "acasxu_1_1_prop4": (19143, 2.76, 1.4),
    "robot_prop0": (256757, 45.0, 32.0),
    "vdp_prop0": (21019, 2.55, 0.21),
}

_CHILD = r"""
import json, resource, sys, time
import numpy as np
import reluregions as rr
from reluregions.network import load_npz
from reluregions.schedulers import make_scheduler
spec = json.loads(sys.argv[1])
if spec["net"].startswith("gen:"):
    _, d, widths, seed = spec["net"].split(":")
    rng = np.random.default_rng(int(seed))
    sizes = [int(d)] + [int(w) for w in widths.split("x")] + [1]
    net = rr.Network([rng.normal(size=(o, i)) for i, o in zip(sizes, sizes[1:])],
                     [rng.normal(size=o) * 0.5 for o in sizes[1:]])
    box = rr.Box.symmetric(int(d))
else:
    net, b = load_npz(spec["net"])
    box = rr.Box(*b) if b is not None else None
cfg = rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False)
sched = make_scheduler("serial") if spec["workers"] == 1 else make_scheduler("processes", workers=spec["workers"])
if spec["cap"] >= 1e8:  # a full count, as `reluregions count` does it (setup timed apart)
    r = rr.count_regions(net, box, cfg, sched)
    n, secs, lps, capped, setup = r.regions, r.seconds, r.lps, False, r.extra["setup_seconds"]
else:  # a capped run of the streaming API (the slow paper algorithm)
    stream = rr.iter_regions(net, box, cfg, sched)
    n = 0; capped = False
    for _ in stream:
        n += 1
        if stream.seconds > spec["cap"]:
            capped = True
            break
    secs, lps, setup = stream.seconds, stream.stats.lps, stream.setup_seconds
print(json.dumps({"regions": n, "seconds": secs, "lps": lps, "capped": capped, "setup_seconds": setup,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(net: str, algorithm: str, workers: int, cap: float) -> dict:
    spec = json.dumps({"net": net, "algorithm": algorithm, "workers": workers, "cap": cap})
    out = subprocess.run([sys.executable, "-c", _CHILD, spec], capture_output=True, text=True,
                         timeout=min(cap * 3, 3000) + 600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", nargs="?", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "networks"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--paper-cap", type=float, default=60.0)
    ap.add_argument("--default-cap", type=float, default=120.0,
                    help="cap (s) for the default algorithm on generated nets")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    ap.add_argument("--only", nargs="*", help="net names to run")
    args = ap.parse_args()
    nets: list[tuple[str, str, int | None]] = []
    folder = Path(args.networks)
    if folder.is_dir():
        for name, (regions, *_rest) in PEERS.items():
            if (folder / f"{name}.npz").exists():
                nets.append((name, str(folder / f"{name}.npz"), regions))
    for d, widths in ((2, "64x64"), (4, "24x24"), (8, "10x10"), (12, "8x8"), (16, "6x6")):
        nets.append((f"gen d={d} {widths}", f"gen:{d}:{widths}:0", None))
    if args.only:
        nets = [n for n in nets if n[0] in args.only]
    rows = []
    for name, path, expected in nets:
        row: dict = {"net": name, "expected": expected}
        for w in args.workers:
            row[f"default_w{w}"] = measure(path, "default", w, 1e9 if expected else args.default_cap)
        row["paper"] = measure(path, "paper", 1, args.paper_cap)
        rows.append(row)
        print(json.dumps(row), flush=True)
    os.makedirs(args.out, exist_ok=True)
    Path(args.out, "speed.json").write_text(json.dumps(rows, indent=1))
    Path(args.out, "speed.md").write_text(table(rows, args.workers))
    print(table(rows, args.workers))
    return 0


def table(rows: list[dict], workers: list[int]) -> str:
    """Markdown table; ratios compare regions/s of runs made in the same benchmark run."""
    w = max(workers)
    lines = [f"| net | regions | default 1 worker (s) | default {w} workers (s) | speed-up | "
             f"regions/s ({w}w) | LPs/region | peak MB | paper regions/s | default/paper | "
             "nnenum (s) | Berzins (s) | target (s) |",
             "|" + "---|" * 13]
    rate = lambda m: m["regions"] / max(m["seconds"], 1e-9)  # noqa: E731
    for r in rows:
        d1, dw, p = r.get("default_w1", {}), r.get(f"default_w{w}", {}), r["paper"]
        bad = [m.get("error") for m in (d1, dw, p) if "error" in m]
        if bad:
            lines.append(f"| {r['net']} | error: {bad[0]} |" + " |" * 11)
            continue
        n = dw["regions"]
        capped = d1.get("capped") or dw.get("capped")
        shown = f"{n:,}" + (" (capped prefix)" if capped else "")
        if r["expected"] not in (None, n):
            shown += f" (expected {r['expected']:,}!)"
        peer = PEERS.get(r["net"])
        peers = f"{peer[1]} | {peer[2]} | {min(peer[1], peer[2]) / 10:.3g}" if peer else "– | – | –"
        paper_rate = rate(p)
        note = " (capped)" if p.get("capped") else ""
        lines.append(
            f"| {r['net']} | {shown} | {d1['seconds']:.3f} | {dw['seconds']:.3f} | "
            f"{rate(dw) / rate(d1):.2f}x | {rate(dw):,.0f} | {dw['lps'] / max(n, 1):.3f} | "
            f"{dw['peak_rss_mb']:.0f} | {paper_rate:,.1f}{note} | {rate(d1) / paper_rate:,.0f}x | "
            f"{peers} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
