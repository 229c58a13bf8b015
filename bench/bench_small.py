"""Small low-dimensional nets (issue 17, item 11): one source tree against another, interleaved.

Counts vdp (and, with ``--nets``, other shared networks) as ``reluregions count`` does, with one
worker (serial) and with two (the ``auto`` scheduler: threads for the vertex kernel), and reports
for each source tree the median and the fastest of the enumeration seconds, of the wall time of
``count_regions`` (start-up of the threads included) and of the process CPU time. Every round runs
each tree once in a fresh process (``PYTHONPATH`` = the tree's ``src``), ``--inner`` counts per
configuration, so the trees see the same machine load; on a shared machine compare CPU times and
the medians of the same run only.

Usage::

    python bench/bench_small.py --src BASE/src --src NEW/src [--nets vdp_prop0 ...]
        [--rounds 8] [--inner 5] [NETWORKS_DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, sys, time
import reluregions as rr
from reluregions.enumeration import make_algorithm, make_problem
from reluregions.network import load_npz
from reluregions.schedulers import make_scheduler
net, b = load_npz(sys.argv[1])
box = rr.Box(*b)
cfg = rr.EnumerationConfig(ranks=False)
make_algorithm(make_problem(net, box, cfg)).warm_up()  # the kernels, loaded once per process
out = []
for workers in (1, 2):
    for _ in range(int(sys.argv[2])):
        sched = make_scheduler("serial") if workers == 1 else make_scheduler("auto", workers=2)
        cpu, wall = time.process_time(), time.perf_counter()
        r = rr.count_regions(net, box, cfg, sched)
        out.append([workers, r.regions, r.seconds, time.perf_counter() - wall,
                    time.process_time() - cpu])
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", nargs="?",
                    default=str(Path(__file__).resolve().parents[1].parent / "shared" / "networks"))
    ap.add_argument("--src", action="append", required=True, help="a source tree (repeat)")
    ap.add_argument("--nets", nargs="+", default=["vdp_prop0"])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--inner", type=int, default=5)
    args = ap.parse_args()
    lines = ["| net | source | workers | regions | enumeration s (median / fastest) | "
             "wall s (median / fastest) | CPU s (median / fastest) |", "|" + "---|" * 7]
    for net in args.nets:
        runs: dict[str, list] = {src: [] for src in args.src}
        for _ in range(args.rounds):
            for src in args.src:
                done = subprocess.run([sys.executable, "-c", _CHILD,
                                       str(Path(args.networks, f"{net}.npz")), str(args.inner)],
                                      env=dict(os.environ, PYTHONPATH=src), capture_output=True,
                                      text=True, timeout=1800)
                if done.returncode != 0:
                    raise SystemExit(f"{net} {src}: {done.stderr.strip()[-400:]}")
                runs[src] += json.loads(done.stdout.strip().splitlines()[-1])
        for src in args.src:
            for workers in (1, 2):
                rows = [r for r in runs[src] if r[0] == workers]
                cells = [f"{statistics.median(r[i] for r in rows):.4f} / "
                         f"{min(r[i] for r in rows):.4f}" for i in (2, 3, 4)]
                regions = ",".join(str(n) for n in sorted({r[1] for r in rows}))
                lines.append(f"| {net} | {src} | {workers} | {regions} | " + " | ".join(cells)
                             + " |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
