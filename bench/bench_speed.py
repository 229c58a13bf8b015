"""Speed benchmark (issue "Speed"): regions, seconds, regions/s, LPs per region and peak memory for
the default algorithm and the faithful paper algorithm, measured in the same run.

Each measurement runs in a fresh subprocess (so peak RSS is its own). The paper algorithm is capped
at ``--paper-cap`` seconds; where it would run longer, its regions/s over the capped prefix is
extrapolated to the full count (marked "extrapolated"). Times exclude imports, loading and numba
compilation (a warm-up run on a tiny net precedes each timing).

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
# warm-up: compile kernels, start nothing heavy
tiny = rr.Network([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
rr.count_regions(tiny, None, rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False))
cfg = rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False)
sched = make_scheduler("serial") if spec["workers"] == 1 else make_scheduler("processes", workers=spec["workers"])
stream = rr.iter_regions(net, box, cfg, sched)
start = time.perf_counter(); n = 0; capped = False
for _ in stream:
    n += 1
    if (n & 255) == 0 and time.perf_counter() - start > spec["cap"]:
        capped = True
        break
secs = time.perf_counter() - start
print(json.dumps({"regions": n, "seconds": secs, "lps": stream.stats.lps, "capped": capped,
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
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    ap.add_argument("--only", nargs="*", help="net names to run")
    args = ap.parse_args()
    nets: list[tuple[str, str, int | None]] = []
    folder = Path(args.networks)
    if folder.is_dir():
        for name, (regions, *_rest) in PEERS.items():
            if (folder / f"{name}.npz").exists():
                nets.append((name, str(folder / f"{name}.npz"), regions))
    for d, widths in ((2, "64x64"), (4, "32x32"), (8, "16x16"), (16, "12x12")):
        nets.append((f"gen d={d} {widths}", f"gen:{d}:{widths}:0", None))
    if args.only:
        nets = [n for n in nets if n[0] in args.only]
    rows = []
    for name, path, expected in nets:
        row: dict = {"net": name, "expected": expected}
        for w in args.workers:
            row[f"default_w{w}"] = measure(path, "default", w, 1e9)
        row["paper"] = measure(path, "paper", 1, args.paper_cap)
        rows.append(row)
        print(json.dumps(row), flush=True)
    os.makedirs(args.out, exist_ok=True)
    Path(args.out, "speed.json").write_text(json.dumps(rows, indent=1))
    Path(args.out, "speed.md").write_text(table(rows, args.workers))
    print(table(rows, args.workers))
    return 0


def table(rows: list[dict], workers: list[int]) -> str:
    w = max(workers)
    lines = [f"| net | regions | default 1 worker (s) | default {w} workers (s) | speed-up | regions/s ({w}w) "
             "| LPs/region | peak MB | paper (s) | default/paper | nnenum (s) | Berzins (s) | target (s) |",
             "|" + "---|" * 13]
    for r in rows:
        d1, dw, p = r.get("default_w1", {}), r.get(f"default_w{w}", {}), r["paper"]
        if "error" in dw or "error" in d1:
            lines.append(f"| {r['net']} | error: {dw.get('error') or d1.get('error')} |" + " |" * 11)
            continue
        n = dw["regions"]
        paper_s = p.get("seconds", float("nan"))
        note = ""
        if p.get("capped"):
            paper_s = p["seconds"] / max(p["regions"], 1) * n
            note = " (extrapolated)"
        peer = PEERS.get(r["net"])
        peers = f"{peer[1]} | {peer[2]} | {min(peer[1], peer[2]) / 10:.3g}" if peer else "– | – | –"
        ok = "" if r["expected"] in (None, n) else f" (expected {r['expected']}!)"
        lines.append(
            f"| {r['net']} | {n:,}{ok} | {d1['seconds']:.2f} | {dw['seconds']:.2f} | "
            f"{d1['seconds'] / dw['seconds']:.2f}x | {n / dw['seconds']:,.0f} | "
            f"{dw['lps'] / max(n, 1):.2f} | {dw['peak_rss_mb']:.0f} | {paper_s:.1f}{note} | "
            f"{paper_s / d1['seconds']:.0f}x | {peers} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
