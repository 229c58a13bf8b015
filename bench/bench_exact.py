"""Exact decisions benchmark (issue 15): counts that no tolerance or box scale moves, and their cost.

Two parts, each measured in fresh subprocesses of ``reluregions count --json``:

* **scale**: a trained 4-input MLP (hidden widths 8, 8, 8, 8 and one more ReLU unit, trained here
  with scikit-learn on a fixed seed, as the issue's example) counted in ``[-B, B]^4`` for ``B`` from
  1e1 to 1e7 and ``radius_tol`` 1e-6, 1e-8 and 1e-10. Once the box holds every vertex the count
  must not move; ``exact_decisions`` says how many side decisions fell in the float band.
* **cost**: the default algorithm on the shared benchmark nets (ACAS Xu 1_1 prop. 3, robot, vdp),
  timed against a baseline source tree given with ``--baseline-src`` (an older checkout's
  ``src``: the code before exact decisions), interleaved, fastest of ``--repeat``. The issue's
  target: within 10 % of the baseline's time, the same counts where the baseline was right.

Usage::

    python bench/bench_exact.py [NETWORKS_DIR] [--baseline-src OLD/src] [--repeat 3] [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

from cases import NETWORKS, OUT, save_results

SRC = Path(__file__).resolve().parents[1] / "src"
COST_CASES = ("acasxu_1_1_prop3", "robot_prop0", "vdp_prop0")


def trained_mlp4(path: Path) -> Path:
    """Train the 4-input MLP of the scale sweep (fixed seed) and save it as ``.npz``."""
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(4000, 4))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.5 * X[:, 2] * X[:, 3] - np.abs(X[:, 0] - X[:, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MLPRegressor(hidden_layer_sizes=(8, 8, 8, 8, 1), max_iter=300, random_state=0).fit(X, y)
    arrays = {f"W{i}": c.T for i, c in enumerate(m.coefs_)}
    arrays.update({f"b{i}": b for i, b in enumerate(m.intercepts_)})
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def count(net: Path, extra: list[str], src: Path = SRC) -> dict:
    """One ``reluregions count NET --json`` in a fresh process, with ``src`` on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    p = subprocess.run([sys.executable, "-m", "reluregions", "count", str(net), "--json", *extra],
                       capture_output=True, text=True, env=env, timeout=3600)
    if p.returncode != 0:
        raise SystemExit(f"count {net.name} {' '.join(extra)} failed: {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def scale_sweep(out: Path) -> tuple[list[dict], str]:
    net = trained_mlp4(out / "mlp4_trained.npz")
    rows = []
    for B in ("1e1", "1e2", "1e3", "1e4", "1e5", "1e6", "1e7"):
        for tol in ("1e-6", "1e-8", "1e-10"):
            r = count(net, [f"--box=-{B},{B}", "--radius-tol", tol])
            rows.append({"B": float(B), "radius_tol": float(tol), "regions": r["regions"],
                         "exact_decisions": r.get("exact_decisions"), "seconds": r["seconds"],
                         "algorithm": r["algorithm"]})
            print(rows[-1], flush=True)
    md = ["| B | radius_tol | regions | exact decisions | seconds |", "|---|---|---|---|---|"]
    md += [f"| {r['B']:g} | {r['radius_tol']:g} | {r['regions']:,} | {r['exact_decisions']} | "
           f"{r['seconds']:.2f} |" for r in rows]
    return rows, "\n".join(md)


def cost(networks: Path, baseline: Path | None, repeat: int) -> tuple[list[dict], str]:
    rows = []
    for name in COST_CASES:
        net = networks / f"{name}.npz"
        if not net.exists():
            continue
        best: dict = {}
        for _ in range(repeat):  # interleaved: new, baseline, new, baseline, ...
            for side, src in (("new", SRC), ("baseline", baseline)):
                if src is None:
                    continue
                r = count(net, ["--workers", "1"], src)
                if side not in best or r["seconds"] < best[side]["seconds"]:
                    best[side] = r
        new, old = best["new"], best.get("baseline")
        row = {"case": name, "regions": new["regions"], "seconds": new["seconds"],
               "exact_decisions": new.get("exact_decisions"), "lps": new["lps"]}
        if old:
            row.update(baseline_regions=old["regions"], baseline_seconds=old["seconds"],
                       ratio=new["seconds"] / old["seconds"])
        rows.append(row)
        print(row, flush=True)
    md = ["| case | regions | baseline regions | seconds | baseline seconds | time ratio | exact decisions |",
          "|---|---|---|---|---|---|---|"]
    md += [f"| {r['case']} | {r['regions']:,} | {r.get('baseline_regions', '–')} | {r['seconds']:.3f} | "
           f"{r.get('baseline_seconds', float('nan')):.3f} | {r.get('ratio', float('nan')):.2f} | "
           f"{r['exact_decisions']} |" for r in rows]
    return rows, "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("networks", nargs="?", default=str(NETWORKS))
    ap.add_argument("--baseline-src", help="an older checkout's src folder to time against")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("scale", "cost"))
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    out = Path(args.out)
    data, md = {}, ["# Exact decisions (issue 15)", ""]
    if args.only in (None, "scale"):
        data["scale"], text = scale_sweep(out)
        md += ["## Count against box scale and radius_tol (trained 4-input MLP)", "", text, ""]
    if args.only in (None, "cost"):
        baseline = Path(args.baseline_src) if args.baseline_src else None
        data["cost"], text = cost(Path(args.networks), baseline, args.repeat)
        md += ["## Cost on the benchmark nets (default algorithm, 1 worker)", "", text, ""]
    save_results(args.out, "exact", data, "\n".join(md))


if __name__ == "__main__":
    main()
