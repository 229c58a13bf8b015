"""High-dimensional benchmark (issue 14): the default algorithm (what a user gets; its choice is
reported) and the ``highd`` engine against the witness and paper algorithms, measured in the same
run, on the paper's regime (MNIST 256x2 at 784 inputs, gcas at 14) and on generated nets of 8, 12
and 16 inputs.

Every measurement runs in a fresh subprocess: regions, enumeration seconds (imports, loading and
worker start-up excluded, as ``reluregions count`` reports them), LPs per region, milliseconds per
LP (the solvers' own time over their LPs, HiGHS and the compiled simplex; serial runs only; the
``lpdfs`` kernel solves its LPs inside compiled code, where they are not timed apart: "–", its
whole time over its LPs bounds them) and peak resident memory (the process
and, for several workers, its children). A capped run stops after ``--cap`` seconds and reports
its regions/s over the prefix; the ratios compare regions/s of runs made in this benchmark run.
nnenum's figures (DESIGN.md §7) were measured on the same kind of machine, not in this run.

Usage::

    python bench/bench_highd.py [NETWORKS_DIR] [--cap 60] [--workers 1 2] [--out bench/out]
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cases import capped_parser, save_results

#: nnenum (exact mode, 2 processes) on this kind of machine, DESIGN.md §7: seconds, or regions/s.
NNENUM = {"mnist prop 2": (10, 0.59, None), "mnist prop 4": (48, 4.15, None),
          "mnist prop 0": (None, None, 7.3), "gcas prop 0": (None, None, 869.0)}

_CHILD = r"""
import json, resource, sys, time
import numpy as np
import reluregions as rr
from reluregions.geometry.lp import LPSolver
sys.path.insert(0, sys.argv[2])
from cases import load_case, stream_capped
spec = json.loads(sys.argv[1])
net, box = load_case(spec)
import reluregions.enumeration.highd_lp as highd_lp
lp_seconds = [0.0]
def timed(solve):
    def run(*a):
        t = time.perf_counter()
        try:
            return solve(*a)
        finally:
            lp_seconds[0] += time.perf_counter() - t
    return run
LPSolver._run = timed(LPSolver._run)  # HiGHS
highd_lp.box_lp_until = timed(highd_lp.box_lp_until)  # the compiled simplex of the high-dimensional engine
cfg = rr.EnumerationConfig(algorithm=spec["algorithm"], ranks=False)
from reluregions.schedulers import make_scheduler
sched = make_scheduler("serial") if spec["workers"] == 1 else make_scheduler("auto", workers=spec["workers"])
n, capped, stream = stream_capped(net, box, cfg, sched, spec["cap"])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
lps = stream.stats.lps
from reluregions.enumeration.api import choose_algorithm
alg = choose_algorithm(stream.problem)[0]
print(json.dumps({"algorithm": alg, "regions": n, "seconds": stream.seconds, "lps": lps, "capped": capped,
                  "ms_per_lp": 1e3 * lp_seconds[0] / lps if lps and alg != "lpdfs" and spec["workers"] == 1 else None,
                  "peak_mb": peak / 1024}))
"""


def measure(spec: dict) -> dict:
    """One run in a fresh process. A run whose first regions take longer than the cap (the paper
    algorithm at 784 inputs) is stopped at ``cap + 60`` s and reported as that prefix."""
    limit = spec["cap"] + 60
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec),
                              str(Path(__file__).parent)], capture_output=True,
                             text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"regions": 0, "seconds": limit, "lps": 0, "capped": True, "ms_per_lp": None,
                "peak_mb": float("nan"), "timed_out": True}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cases(folder: Path) -> list[tuple[str, dict]]:
    """(name, spec without algorithm/workers/cap) of every case whose files are present."""
    found = []
    onnx = folder / "onnx" / "mnist-net_256x2.onnx"
    for prop in (2, 4, 0):
        vnnlib = folder / "vnnlib" / f"mnistfc_prop_{prop}_0.03.vnnlib"
        if onnx.exists() and vnnlib.exists():
            found.append((f"mnist prop {prop}", {"net": str(onnx), "vnnlib": str(vnnlib)}))
    if (folder / "gcas_prop0.npz").exists():
        found.append(("gcas prop 0", {"net": str(folder / "gcas_prop0.npz")}))
    for d, widths in ((8, "10x10"), (12, "8x8"), (16, "6x6")):
        found.append((f"gen d={d} {widths}", {"net": f"gen:{d}:{widths}:0"}))
    return found


def rate(m: dict) -> float | None:
    return m["regions"] / m["seconds"] if m.get("seconds") else None


def table(rows: list[dict]) -> str:
    head = ("| case | default runs | regions | default s (1 w) | default s (2 w) | regions/s (2 w) | "
            "LPs/region | ms/LP | peak MB (2 w) | highd regions/s (1 w) | witness regions/s | "
            "paper regions/s | default/paper (1 w) | nnenum |\n" + "|---" * 14 + "|\n")
    lines = []
    for r in rows:
        one, two, hd = r["default_w1"], r.get("default_w2", {}), r.get("highd_w1", {})
        wit, pap = r["witness"], r["paper"]
        if "error" in one:
            lines.append(f"| {r['case']} | error: {one['error']} |" + " |" * 12)
            continue
        best = two if rate(two) else one
        mark = " (capped)" if one["capped"] else ""
        nn = NNENUM.get(r["case"])
        nn_txt = "–" if nn is None else (f"{nn[1]} s" if nn[1] else f"{nn[2]} regions/s")
        ms = one["ms_per_lp"]
        lines.append(
            f"| {r['case']} | {one.get('algorithm', '?')} | {one['regions']:,}{mark} | "
            f"{one['seconds']:.3f} | {two.get('seconds', float('nan')):.3f} | {rate(best):,.0f} | "
            f"{one['lps'] / max(one['regions'], 1):.2f} | {'–' if ms is None else round(ms, 2)} | "
            f"{two.get('peak_mb', float('nan')):.0f} | {rate(hd) or 0:,.1f} | {rate(wit) or 0:,.1f} | "
            f"{rate(pap) or 0:,.1f} | "
            f"{f'{rate(one) / rate(pap):.1f}x' if rate(pap) else '–'} | {nn_txt} |")
    return head + "\n".join(lines) + "\n"


def main() -> int:
    ap = capped_parser(__doc__.splitlines()[0], 60.0, "seconds per capped run", 20.0,
                       "seconds for the witness and paper runs (their regions/s over the prefix)")
    args = ap.parse_args()
    rows = []
    for name, spec in cases(Path(args.networks)):
        if args.only and name not in args.only:
            continue
        row: dict = {"case": name}
        for key, algorithm, workers, cap in (("default_w1", "default", 1, args.cap),
                                             ("default_w2", "default", 2, args.cap),
                                             ("highd_w1", "highd", 1, args.baseline_cap),
                                             ("witness", "witness", 1, args.baseline_cap),
                                             ("paper", "paper", 1, args.baseline_cap)):
            if key == "highd_w1" and row["default_w1"].get("algorithm") == "highd":
                row[key] = row["default_w1"]  # the default is the highd engine here
                continue
            row[key] = measure({**spec, "algorithm": algorithm, "workers": workers, "cap": cap})
        rows.append(row)
        print(json.dumps(row), flush=True)
    save_results(args.out, "highd", rows, table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
