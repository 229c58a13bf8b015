"""Enumerate against count (issue "What a user meets", item 1): the cost of writing every region.

Runs the command line as a user does, ``reluregions count NET`` and ``reluregions enumerate NET
--out FILE`` (default options: a certified inscribed ball per region, no LP) and, for reference,
``enumerate --chebyshev`` (one LP per region), each in a fresh process, interleaved ``--repeat``
times; reports the fastest of each, both as wall-clock time (start-up, imports and writing
included) and as the enumeration time the command reports (``count --json``'s ``seconds``,
``enumerate``'s "in X s": from the first region to the last, Parquet writing included), and the
ratios enumerate / count. The region files go to a temporary folder and are deleted.

Usage::

    python bench/bench_enumerate.py [NETWORKS_DIR] [--nets robot_prop0 acasxu_1_1_prop3]
        [--repeat 3] [--workers 2] [--chebyshev] [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock seconds of ``cmd`` and the enumeration seconds it reports."""
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    wall = time.perf_counter() - start
    if "--json" in cmd:
        return wall, float(json.loads(out)["seconds"])
    found = re.search(r" in ([0-9.]+) s", out)
    return wall, float(found.group(1)) if found else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("networks", nargs="?", default="/work/shared/networks")
    parser.add_argument("--nets", nargs="+", default=["robot_prop0", "acasxu_1_1_prop3"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--chebyshev", action="store_true", help="also time enumerate --chebyshev")
    parser.add_argument("--out", default="bench/out")
    args = parser.parse_args()
    cli = [sys.executable, "-c", "from reluregions.cli.main import main; raise SystemExit(main())"]
    workers = ["--workers", str(args.workers)] if args.workers else []
    tmp = Path(tempfile.mkdtemp(prefix="bench_enumerate_"))
    rows = []
    try:
        _wall(cli + ["count", str(Path(args.networks) / f"{args.nets[0]}.npz")])  # warm numba's cache
        for name in args.nets:
            net = str(Path(args.networks) / f"{name}.npz")
            runs = {"count": ["count", net, "--json"], "enumerate": ["enumerate", net, "--out",
                                                           str(tmp / "r.parquet")]}
            if args.chebyshev:
                runs["enumerate --chebyshev"] = ["enumerate", net, "--chebyshev", "--out",
                                                 str(tmp / "c.parquet")]
            wall = {key: float("inf") for key in runs}
            inner = dict(wall)
            for _ in range(args.repeat):
                for key, cmd in runs.items():
                    w, s = _wall(cli + cmd + workers)
                    wall[key], inner[key] = min(wall[key], w), min(inner[key], s)
            row = {"net": name, **{f"{k} wall s": round(v, 3) for k, v in wall.items()},
                   **{f"{k} s": round(v, 3) for k, v in inner.items()}}
            for key in runs:
                if key != "count":
                    row[f"{key} / count (wall)"] = round(wall[key] / wall["count"], 2)
                    row[f"{key} / count"] = round(inner[key] / inner["count"], 2)
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
