"""Speed benchmark (issue "Speed"): regions, seconds, regions/s, LPs per region and peak memory for
the default algorithm and the faithful paper algorithm, measured in the same run.

Each measurement runs in a fresh subprocess (so peak RSS is its own; for several workers it is the
parent's). The default algorithm is timed as ``reluregions count`` does it: ``seconds`` excludes
imports, loading, kernel loading and worker start-up (reported apart as ``setup_seconds``). The paper
algorithm is capped at ``--paper-cap`` seconds; where it would run longer, its regions/s over the
capped prefix (depth first) is extrapolated to the full count (marked "extrapolated").

With ``--startup`` it measures instead what a user of ``reluregions count --workers N`` waits for
(issue 17, item 11): the wall time of one count *including* worker start-up and teardown (not the
interpreter's imports or loading the network), for one worker (serial) against two workers with
each backend (``auto``, the default, and ``threads`` and ``processes`` started before the first
region), on vdp and ACAS Xu prop. 3. The parent's compiled kernels are loaded before the clock
starts (the same cost for every configuration; reported as ``kernel_load``). Every configuration runs once per round in a fresh process,
rounds are interleaved, and the fastest of ``--repeat`` is kept; ratios are to the serial run of the
same benchmark run.

Usage::

    python bench/bench_speed.py [NETWORKS_DIR] [--workers 1 2] [--paper-cap 60] [--out bench/out]
    python bench/bench_speed.py [NETWORKS_DIR] --startup [--repeat 5] [--out bench/out]

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
from reluregions.schedulers import make_scheduler
sys.path.insert(0, sys.argv[2])
from cases import load_case, stream_capped
spec = json.loads(sys.argv[1])
net, box = load_case(spec)
cfg = rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False)
sched = make_scheduler("serial") if spec["workers"] == 1 else make_scheduler("processes", workers=spec["workers"])
if spec["cap"] >= 1e8:  # a full count, as `reluregions count` does it (setup timed apart)
    r = rr.count_regions(net, box, cfg, sched)
    n, secs, lps, capped, setup = r.regions, r.seconds, r.lps, False, r.extra["setup_seconds"]
else:  # a capped run of the streaming API (the slow paper algorithm)
    n, capped, stream = stream_capped(net, box, cfg, sched, spec["cap"])
    secs, lps, setup = stream.seconds, stream.stats.lps, stream.setup_seconds
print(json.dumps({"regions": n, "seconds": secs, "lps": lps, "capped": capped, "setup_seconds": setup,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(net: str, algorithm: str, workers: int, cap: float) -> dict:
    spec = json.dumps({"net": net, "algorithm": algorithm, "workers": workers, "cap": cap})
    out = subprocess.run([sys.executable, "-c", _CHILD, spec, str(Path(__file__).parent)],
                         capture_output=True, text=True,
                         timeout=min(cap * 3, 3000) + 600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


_STARTUP_CHILD = r"""
import json, sys, time
import reluregions as rr
from reluregions.enumeration import make_algorithm, make_problem
from reluregions.network import load_npz
from reluregions.schedulers import make_scheduler
def main():
    spec = json.loads(sys.argv[1])
    net, b = load_npz(spec["net"])
    box = rr.Box(*b)
    cfg = rr.EnumerationConfig(ranks=False)
    load = time.perf_counter()  # the parent's compiled kernels, loaded once per process for all
    make_algorithm(make_problem(net, box, cfg)).warm_up()
    start = time.perf_counter()
    if spec["workers"] == 1:
        sched = make_scheduler("serial")
    else:
        sched = make_scheduler(spec["backend"], workers=spec["workers"])
    r = rr.count_regions(net, box, cfg, sched)
    wall = time.perf_counter() - start
    print(json.dumps({"regions": r.regions, "seconds": r.seconds, "wall": wall,
                      "kernel_load": start - load,
                      "used": getattr(sched, "backend_used", spec["backend"])}))
if __name__ == "__main__":
    main()
"""

STARTUP_NETS = ("vdp_prop0", "acasxu_1_1_prop3")
STARTUP_RUNS = (("serial", 1), ("auto", 2), ("threads", 2), ("processes", 2))


def startup(folder: Path, repeat: int, out: str) -> int:
    """1 against 2 workers in wall time including worker start-up (see the module docstring)."""
    script = Path(out, "_startup_child.py")
    os.makedirs(out, exist_ok=True)
    script.write_text(_STARTUP_CHILD)
    best: dict[tuple[str, str], dict] = {}
    for _ in range(repeat):
        for name in STARTUP_NETS:
            for backend, workers in STARTUP_RUNS:
                spec = json.dumps({"net": str(folder / f"{name}.npz"), "backend": backend,
                                   "workers": workers})
                run = subprocess.run([sys.executable, str(script), spec], capture_output=True,
                                     text=True, timeout=600)
                if run.returncode != 0:
                    raise SystemExit(f"{name} {backend}: {run.stderr.strip()[-400:]}")
                m = json.loads(run.stdout.strip().splitlines()[-1])
                key = (name, f"{backend} {workers}")
                if key not in best or m["wall"] < best[key]["wall"]:
                    best[key] = m
    lines = ["| net | run | regions | wall incl. start-up (s) | ratio to 1 worker | "
             "enumeration (s) | ran on |", "|" + "---|" * 7]
    for name in STARTUP_NETS:
        base = best[(name, "serial 1")]["wall"]
        for backend, workers in STARTUP_RUNS:
            m = best[(name, f"{backend} {workers}")]
            lines.append(f"| {name} | {backend}, {workers} worker{'s' if workers > 1 else ''} | "
                         f"{m['regions']:,} | {m['wall']:.3f} | {m['wall'] / base:.2f} | "
                         f"{m['seconds']:.3f} | {m['used']} |")
    text = (f"Fastest of {repeat} interleaved rounds, each run in a fresh process; wall time of "
            "`count_regions` including worker start-up and teardown (the parent's kernels loaded "
            "before the clock starts).\n\n" + "\n".join(lines) + "\n")
    Path(out, "startup.md").write_text(text)
    Path(out, "startup.json").write_text(json.dumps(
        [{"net": k[0], "run": k[1], **v} for k, v in best.items()], indent=1))
    script.unlink()
    print(text)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", nargs="?", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "networks"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--paper-cap", type=float, default=60.0)
    ap.add_argument("--default-cap", type=float, default=120.0,
                    help="cap (s) for the default algorithm on generated nets")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    ap.add_argument("--only", nargs="*", help="net names to run")
    ap.add_argument("--startup", action="store_true",
                    help="1 against 2 workers in wall time including start-up (vdp, ACAS Xu)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds of --startup (fastest kept)")
    args = ap.parse_args()
    if args.startup:
        return startup(Path(args.networks), args.repeat, args.out)
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
