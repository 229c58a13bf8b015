"""Compiled LP traversal benchmark (issue 14): ``lpdfs`` against the paper, witness, highd and
vertex algorithms, measured in the same run, on generated nets of 6 to 40 inputs and on gcas
(14 inputs).

Every measurement is a fresh subprocess (:func:`bench_highd.measure`): regions, enumeration seconds
(imports, loading, compilation and worker start-up excluded), LPs per region (``lpdfs`` counts the
LPs of its own simplex and HiGHS's alike) and peak memory. A capped run reports regions/s over its
prefix; the ratios compare regions/s of runs made in this benchmark run.

Usage::

    python bench/bench_lpdfs.py [NETWORKS_DIR] [--cap 20] [--baseline-cap 10] [--out bench/out]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_highd import measure, rate  # noqa: E402
from cases import capped_parser, save_results  # noqa: E402

#: (case, spec, baselines run serially besides lpdfs); vertex only where it applies (a box, d <= 10).
CASES = [("gen d=6 10x10", "gen:6:10x10:0", ("paper", "witness", "highd", "vertex")),
         ("gen d=8 10x10", "gen:8:10x10:0", ("paper", "witness", "highd", "vertex")),
         ("gen d=12 8x8", "gen:12:8x8:0", ("paper", "witness", "highd")),
         ("gen d=16 6x6", "gen:16:6x6:0", ("paper", "witness", "highd")),
         ("gen d=24 8x8", "gen:24:8x8:0", ("witness", "highd")),
         ("gen d=40 8x8", "gen:40:8x8:0", ("witness", "highd")),
         ("gcas prop 0", "gcas_prop0.npz", ("paper", "witness", "highd"))]


def table(rows: list[dict]) -> str:
    head = ("| case | lpdfs regions | lpdfs regions/s (1 w) | lpdfs regions/s (2 w) | LPs/region | "
            "paper | witness | highd | vertex | lpdfs/paper | lpdfs/witness | lpdfs/highd |\n"
            + "|---" * 12 + "|\n")
    lines = []
    for r in rows:
        one, two = r["lpdfs_w1"], r["lpdfs_w2"]
        if "error" in one:
            lines.append(f"| {r['case']} | error: {one['error']} |" + " |" * 10)
            continue
        base = {a: rate(r[a]) if a in r and "error" not in r[a] else None
                for a in ("paper", "witness", "highd", "vertex")}
        fmt = (lambda v: f"{v:,.0f}" if v else "–")
        ratio = (lambda a: f"{rate(one) / base[a]:.1f}x" if base[a] else "–")
        mark = " (capped)" if one["capped"] else ""
        lines.append(f"| {r['case']} | {one['regions']:,}{mark} | {fmt(rate(one))} | "
                     f"{fmt(rate(two))} | {one['lps'] / max(one['regions'], 1):.2f} | "
                     f"{fmt(base['paper'])} | {fmt(base['witness'])} | {fmt(base['highd'])} | "
                     f"{fmt(base['vertex'])} | {ratio('paper')} | {ratio('witness')} | "
                     f"{ratio('highd')} |")
    return head + "\n".join(lines) + "\n"


def main() -> int:
    ap = capped_parser(__doc__.splitlines()[0], 20.0, "seconds per capped lpdfs run", 10.0,
                       "seconds per capped run of the other algorithms")
    args = ap.parse_args()
    rows = []
    for name, net, baselines in CASES:
        if args.only and name not in args.only:
            continue
        if not net.startswith("gen:"):
            path = Path(args.networks) / net
            if not path.exists():
                continue
            net = str(path)
        row: dict = {"case": name}
        runs = [("lpdfs_w1", "lpdfs", 1, args.cap), ("lpdfs_w2", "lpdfs", 2, args.cap)]
        runs += [(a, a, 1, args.baseline_cap) for a in baselines]
        for key, algorithm, workers, cap in runs:
            row[key] = measure({"net": net, "algorithm": algorithm, "workers": workers, "cap": cap})
        rows.append(row)
        print(json.dumps(row), flush=True)
    save_results(args.out, "lpdfs", rows, table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
