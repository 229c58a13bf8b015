"""Enumerate against count (issue "What a user meets", item 1): the cost of writing every region.

Runs the command line as a user does, ``reluregions count NET`` and ``reluregions enumerate NET
--out FILE`` (default options: a certified inscribed ball per region, no LP) and, for reference,
``enumerate --chebyshev`` (one LP per region), each in a fresh process, interleaved ``--repeat``
times; reports the fastest wall-clock time of each and the ratio enumerate / count. The region
files go to a temporary folder and are deleted.

Usage::

    python bench/bench_enumerate.py [NETWORKS_DIR] [--nets robot_prop0 acasxu_1_1_prop3]
        [--repeat 3] [--workers 2] [--chebyshev] [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("networks", nargs="?", default="/work/shared/networks")
    parser.add_argument("--nets", nargs="+", default=["robot_prop0", "acasxu_1_1_prop3"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--chebyshev", action="store_true", help="also time enumerate --chebyshev")
    parser.add_argument("--out", default="bench/out")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "reluregions.cli.main"]
    workers = ["--workers", str(args.workers)] if args.workers else []
    tmp = Path(tempfile.mkdtemp(prefix="bench_enumerate_"))
    rows = []
    try:
        _wall(cli + ["count", str(Path(args.networks) / f"{args.nets[0]}.npz")])  # warm numba's cache
        for name in args.nets:
            net = str(Path(args.networks) / f"{name}.npz")
            runs = {"count": ["count", net], "enumerate": ["enumerate", net, "--out",
                                                           str(tmp / "r.parquet")]}
            if args.chebyshev:
                runs["enumerate --chebyshev"] = ["enumerate", net, "--chebyshev", "--out",
                                                 str(tmp / "c.parquet")]
            best = {key: float("inf") for key in runs}
            for _ in range(args.repeat):
                for key, cmd in runs.items():
                    best[key] = min(best[key], _wall(cli + cmd + workers))
            row = {"net": name, **{f"{k} s": round(v, 3) for k, v in best.items()},
                   "enumerate / count": round(best["enumerate"] / best["count"], 2)}
            if args.chebyshev:
                row["chebyshev / count"] = round(best["enumerate --chebyshev"] / best["count"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "enumerate.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d"),
                                                    "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
