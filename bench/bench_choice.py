"""Is the default's choice of algorithm the fastest one? (issue 14: "default chooses by measurement")

For every case, each algorithm that applies among ``vertex`` (box domains up to 10 inputs),
``lpdfs`` and ``highd`` counts the regions serially, in one process per case, after its compiled
kernels are loaded (``warm_up``), capped at ``--cap`` seconds of CPU time (``time.process_time``:
the measure that holds on a shared machine); the table gives regions per CPU second, which one the
default picks (:func:`reluregions.enumeration.api.choose_algorithm`) and its rate against the
fastest one's. Every run of a case must reach the same count when none is capped (checked).

Cases: the shared low-dimensional nets (ACAS Xu, robot, vdp, gcas, the TLL net), MNIST 256x2 on
VNN-COMP boxes 2 and 4 (784 inputs), and generated nets of 3 to 16 inputs (``cases.py``).

Usage::

    python bench/bench_choice.py [NETWORKS_DIR] [--cap 20] [--only NAME ...] [--out bench/out]
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cases import capped_parser, save_results

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
import reluregions as rr
from reluregions.enumeration.api import choose_algorithm, make_algorithm, make_problem
from reluregions.errors import ReluRegionsError
from cases import load_case
spec, cap = json.loads(sys.argv[1]), float(sys.argv[3])
net, box = load_case(spec)
out = {"default": choose_algorithm(make_problem(net, box, rr.EnumerationConfig()))[0], "runs": {}}
for name in ("vertex", "lpdfs", "highd"):
    cfg = rr.EnumerationConfig(algorithm=name, ranks=False)
    try:
        make_algorithm(make_problem(net, box, cfg)).warm_up()
    except ReluRegionsError:
        continue  # does not apply to this domain
    stream = rr.iter_regions(net, box, cfg)
    start, capped = time.process_time(), False
    for _ in stream.counts():
        if time.process_time() - start > cap:
            capped = True
            break
    out["runs"][name] = {"regions": stream.count, "cpu": time.process_time() - start,
                         "capped": capped, "lps": stream.stats.lps}
print(json.dumps(out))
"""


def cases(folder: Path) -> list[tuple[str, dict]]:
    found = []
    for name in ("vdp_prop0", "robot_prop0", "acasxu_1_1_prop3", "acasxu_3_3_prop3",
                 "tll_N8_prop0", "gcas_prop0"):
        if (folder / f"{name}.npz").exists():
            found.append((name, {"net": str(folder / f"{name}.npz")}))
    onnx = folder / "onnx" / "mnist-net_256x2.onnx"
    for prop in (2, 4):
        vnnlib = folder / "vnnlib" / f"mnistfc_prop_{prop}_0.03.vnnlib"
        if onnx.exists() and vnnlib.exists():
            found.append((f"mnist prop {prop}", {"net": str(onnx), "vnnlib": str(vnnlib)}))
    for d, widths in ((3, "16x16"), (4, "16x16"), (5, "16x16"), (6, "12x12"), (7, "10x10"),
                      (8, "8x8"), (10, "8x8"), (12, "8x8"), (16, "6x6")):
        found.append((f"gen d={d} {widths}", {"net": f"gen:{d}:{widths}:0"}))
    return found


def table(rows: list[dict]) -> str:
    lines = ["| case | vertex regions/CPU s | lpdfs regions/CPU s | highd regions/CPU s | default "
             "picks | fastest | default / fastest |", "|---" * 7 + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} |" + " |" * 5)
            continue
        rates = {n: m["regions"] / max(m["cpu"], 1e-9) for n, m in r["runs"].items()}
        cells = [f"{rates[n]:,.0f}{' (capped)' if r['runs'][n]['capped'] else ''}"
                 if n in rates else "–" for n in ("vertex", "lpdfs", "highd")]
        best = max(rates, key=rates.get)
        ratio = rates.get(r["default"], 0.0) / rates[best]
        lines.append(f"| {r['case']} | " + " | ".join(cells) +
                     f" | {r['default']} | {best} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = capped_parser(__doc__.splitlines()[0], 20.0, "CPU seconds per run", 0.0, "unused")
    args = ap.parse_args()
    rows = []
    for name, spec in cases(Path(args.networks)):
        if args.only and name not in args.only:
            continue
        done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec),
                               str(Path(__file__).parent), str(args.cap)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            rows.append({"case": name, "error": (done.stderr.strip().splitlines() or ["?"])[-1]})
            continue
        row = {"case": name, **json.loads(done.stdout.strip().splitlines()[-1])}
        full = {m["regions"] for m in row["runs"].values() if not m["capped"]}
        if len(full) > 1:
            row = {"case": name, "error": f"algorithms disagree: {sorted(full)}"}
        rows.append(row)
        print(json.dumps(row), flush=True)
    save_results(args.out, "choice", rows, table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
