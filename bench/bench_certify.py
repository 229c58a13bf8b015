"""Cost of ``count --certify`` against the uncertified count (issue 15 target: within 3x).

For each network, fresh subprocesses of ``reluregions count NET --json [--certify] --workers W``,
interleaved (count, certify, count, certify, ...), each timed by its CPU time (user + system of the
child and its workers, from ``resource.getrusage``) and by wall-clock; the fastest of ``--repeat``
is kept. Two ratios are reported: of the fastest certify to the fastest count (CPU), and the
median, least and greatest of the ratios within each pair (a count run and the certify run right
after it, which see about the same machine load). Timings on a shared machine are noisy: CPU time
is the figure to compare, and the paired ratios show how far the noise moves it.

The certificate of the code before this bench (per region, in Python with python-flint) is too slow
to run whole; ``--baseline-src OLD/src`` measures it on ``--sample`` regions drawn at random (the
same seed for every run), checked against the full output, and extrapolates per region.

Usage::

    python bench/bench_certify.py [NETWORKS_DIR] [--workers 1 2] [--repeat 2]
        [--baseline-src OLD/src] [--sample 100] [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import statistics
import sys
import time
from pathlib import Path

from cases import NETWORKS, OUT, save_results

SRC = Path(__file__).resolve().parents[1] / "src"
CASES = ("acasxu_1_1_prop3", "robot_prop0")

_SAMPLE = r'''
import json, sys, time
import numpy as np
from reluregions.domains import Box
from reluregions.enumeration import enumerate_regions
from reluregions.enumeration import certify as C
from reluregions.enumeration._certify_facets import CertifyContext, certify_region
from reluregions.geometry import exact as ex
from reluregions.geometry.lp import LPSolver
from reluregions.network import Network
z = np.load(sys.argv[1])
L = len([k for k in z.files if k.startswith("W")])
net = Network([z[f"W{i}"] for i in range(L)], [z[f"b{i}"] for i in range(L)])
box = Box(z["lo"], z["hi"])
rs = enumerate_regions(net, box)
bits, S = rs.bits, C.exact_coordinates(box, rs.points)
en, dom = ex.ExactNetwork.of(net), ex.exact_domain(box)
packed = np.packbits(bits, axis=1, bitorder="little")
keys = {row.tobytes(): i for i, row in enumerate(packed)}
cert = C.Certificate(regions=len(bits))
ctx = CertifyContext(en, dom, LPSolver(), keys, cert, en.widths)
sample = np.random.default_rng(0).choice(len(bits), int(sys.argv[2]), replace=False)
t = time.process_time()
for r in sample:
    assert certify_region(ctx, bits[r], S[r]) is None
per_region = (time.process_time() - t) / sample.size
t = time.process_time()
for start in range(0, len(bits), 4096):
    ex.check_point(en, dom, bits[start:start + 4096], S[start:start + 4096])
points = time.process_time() - t
print(json.dumps({"facets_cpu_per_region": per_region, "points_cpu": points,
                  "regions": int(len(bits))}))
'''


#: BLAS/OpenMP thread settings left out of the children's environment: the runs measure what a
#: user gets by default (the certificate limits BLAS to one thread itself).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run(net: Path, extra: list[str], src: Path = SRC) -> dict:
    """One ``reluregions count NET --json`` in a fresh process: its JSON, CPU and wall seconds."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "reluregions", "count", str(net), "--json", *extra],
                       capture_output=True, text=True, env=env, timeout=7200)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"count {net.name} {' '.join(extra)} failed: {p.stderr.strip()[-400:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["wall"] = wall
    return out


def baseline(net: Path, src: Path, sample: int) -> dict:
    """The old certificate's CPU per region on a random sample (see the module's docstring)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    p = subprocess.run([sys.executable, "-c", _SAMPLE, str(net), str(sample)], capture_output=True,
                       text=True, env=env, timeout=7200)
    if p.returncode != 0:
        raise SystemExit(f"baseline sample on {net.name} failed: {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", nargs="?", default=str(NETWORKS))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--baseline-src", default=None)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    rows = []
    for case in CASES:
        net = Path(args.networks) / f"{case}.npz"
        for workers in args.workers:
            flags = ["--workers", str(workers)]
            best: dict[str, dict] = {}
            pairs: list[float] = []
            for _ in range(args.repeat):
                pair = {}
                for kind, extra in (("count", flags), ("certify", flags + ["--certify"])):
                    r = pair[kind] = run(net, extra)
                    if kind not in best or r["cpu"] < best[kind]["cpu"]:
                        best[kind] = r
                pairs.append(pair["certify"]["cpu"] / pair["count"]["cpu"])
            c, q = best["count"], best["certify"]
            row = {"network": case, "workers": workers, "regions": c["regions"],
                   "count_cpu": c["cpu"], "count_wall": c["wall"],
                   "certify_cpu": q["cpu"], "certify_wall": q["wall"],
                   "certificate_seconds": q.get("certify_seconds"),
                   "ratio_cpu": q["cpu"] / c["cpu"], "ratio_wall": q["wall"] / c["wall"],
                   "pair_ratios_cpu": pairs, "pair_ratio_cpu_median": statistics.median(pairs),
                   "certified": q.get("certified"), "certificate": q.get("certificate")}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "certificate"}), flush=True)
        if args.baseline_src:
            b = baseline(net, Path(args.baseline_src), args.sample)
            b["network"] = case
            b["extrapolated_cpu"] = b["facets_cpu_per_region"] * b["regions"] + b["points_cpu"]
            rows.append({"baseline": b})
            print(json.dumps(b), flush=True)
    md = ["| network | workers | regions | count CPU s | certify CPU s | ratio (CPU) | "
          "ratio within pairs (CPU): median [least, greatest] | count wall s "
          "| certify wall s | ratio (wall) | exact-path regions |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "baseline" in r:
            b = r["baseline"]
            md.append(f"| {b['network']} (code before, extrapolated from a sample) | 1 | "
                      f"{b['regions']:,} | | {b['extrapolated_cpu']:.0f} "
                      f"({1e3 * b['facets_cpu_per_region']:.1f} ms/region) | | | | | | |")
            continue
        md.append(f"| {r['network']} | {r['workers']} | {r['regions']:,} | {r['count_cpu']:.2f} | "
                  f"{r['certify_cpu']:.2f} | {r['ratio_cpu']:.1f}x | "
                  f"{r['pair_ratio_cpu_median']:.2f}x [{min(r['pair_ratios_cpu']):.2f}, "
                  f"{max(r['pair_ratios_cpu']):.2f}] | {r['count_wall']:.2f} | "
                  f"{r['certify_wall']:.2f} | {r['ratio_wall']:.1f}x | "
                  f"{(r['certificate'] or {}).get('regions_exact_path')} |")
    save_results(args.out, "certify", rows, "\n".join(md))


if __name__ == "__main__":
    main()
