"""Parallel benchmark (issue "Parallel and distributed enumeration").

In one run, on each network: the serial scheduler against two serial runs side by side (the
machine's ceiling for two workers), against the ``threads`` and ``processes``
schedulers with 1 and 2 workers (speedup over serial, and over the same backend with one worker),
the local backends against ``ray`` on 2 workers, and the ``dynamic`` strategy (work splitting at
any depth) against the paper's static ``paper`` strategy (one task per first-layer cell,
ParLayerWise1-NNCE), with the largest task's share of the work. The repeats are interleaved:
every configuration runs once per round. Writes Markdown and JSON to ``--out``; the JSON keeps the
earlier runs found there (``earlier_runs``).

Times are "warm": worker processes (and the local Ray instance) are started and have run a tiny
enumeration before the clock starts, so compiled kernels and imports are excluded; the start-up of
a fresh pool is reported separately. With ``--time-cap S`` every measurement stops after ``S``
seconds and reports regions/s over the prefix it finished (marked "capped"); speedups then compare
rates. (The paper strategy's first phase, the parent enumerating the first-layer cells, yields few
regions and can overrun the cap.)

Usage::

    python bench/bench_parallel.py [NETWORKS_DIR] [--quick] [--time-cap S] [--algorithm NAME]
                                   [--no-ray] [--repeat N] [--out bench/out]

Writes ``parallel[_quick][_ALGORITHM].md`` and ``.json``. ``--quick`` takes a few seconds with the
default algorithm; ``--algorithm witness --time-cap 20`` shows an LP-bound algorithm, where the
per-region cost of moving regions between processes is negligible.

Without NETWORKS_DIR the folder ``../shared/networks`` beside the repository is used when it
exists; otherwise (or with ``--quick``) generated networks stand in for the real ones.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import reluregions as rr  # noqa: E402
from reluregions.enumeration import make_algorithm, make_problem  # noqa: E402
from reluregions.network import load_npz  # noqa: E402
from reluregions.schedulers import SerialScheduler  # noqa: E402
from reluregions.schedulers.tasks import largest_task_share  # noqa: E402
from reluregions.schedulers.processes import ProcessScheduler  # noqa: E402
from reluregions.schedulers.threads import ThreadScheduler  # noqa: E402
from reluregions.tree import root_items  # noqa: E402

REAL = ("acasxu_1_1_prop3", "robot_prop0")
GENERATED = {"gen_d4_32x32x32": (4, (32, 32, 32), 0),
             "gen_d4_16x16x16x16": (4, (16, 16, 16, 16), 1)}


def generated_net(d: int, widths: tuple[int, ...], seed: int) -> tuple[rr.Network, rr.Box]:
    """A random net (Gaussian weights scaled by 1/sqrt(fan-in)) on ``[-1, 1]^d``."""
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, 1)
    net = rr.Network([rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes, sizes[1:])],
                     [0.5 * rng.standard_normal(o) for o in sizes[1:]])
    return net, rr.Box.symmetric(d)


def load_cases(folder: Path | None, quick: bool) -> dict[str, tuple[rr.Network, rr.Box]]:
    """The networks to measure: the two real ones, or generated stand-ins."""
    if not quick and folder is not None and all((folder / f"{n}.npz").exists() for n in REAL):
        cases = {}
        for name in REAL:
            net, box = load_npz(folder / f"{name}.npz")
            domain = rr.Box(*box) if box is not None else rr.Box.symmetric(net.input_dim)
            cases[name] = (net, domain)
        return cases
    return {name: generated_net(*spec) for name, spec in GENERATED.items()}


def _cpu_seconds(pids: list[int]) -> float | None:
    """CPU seconds used so far by this process and ``pids`` (None without psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    total = 0.0
    for pid in [os.getpid(), *pids]:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def timed(scheduler: Any, algorithm: Any, cap: float) -> dict[str, Any]:
    """Run once, consuming region blocks as `enumerate` does; regions, seconds, CPU seconds and
    whether the time cap cut the run short.

    As in `enumerate`, the workers receive the algorithm (and load it) before the clock starts:
    `seconds` is the enumeration itself, like the serial run's.
    """
    scheduler.prepare(algorithm)
    pids = list(getattr(scheduler, "worker_pids", []))
    cpu0 = _cpu_seconds(pids)
    start = time.perf_counter()
    n, capped = 0, False
    stream = scheduler.run(algorithm, root_items(algorithm)[0])  # blocks, as `enumerate` reads them
    for chunk in stream:
        n += len(chunk)
        if time.perf_counter() - start > cap:
            capped = True
            break
    seconds = time.perf_counter() - start
    cpu1 = _cpu_seconds(pids)
    stream.close()
    row: dict[str, Any] = {"regions": n, "seconds": round(seconds, 3),
                           "regions_per_second": round(n / seconds, 1), "capped": capped,
                           "lps": scheduler.stats.lps,
                           "cpu_seconds": (round(cpu1 - cpu0, 2)
                                           if cpu0 is not None and cpu1 is not None else None)}
    tasks = getattr(scheduler, "tasks", None)
    if tasks:
        work = sum(t.expansions for t in tasks)
        row.update(tasks=len(tasks), largest_task_share=round(largest_task_share(tasks), 4),
                   largest_task_share_seconds=round(largest_task_share(tasks, "seconds"), 4),
                   busy_share=round(sum(t.seconds for t in tasks) /
                                    (scheduler.workers * seconds), 3),
                   parent_expansions=scheduler.prelude.expansions,
                   parent_share=round(scheduler.prelude.expansions /
                                      max(work + scheduler.prelude.expansions, 1), 4))
    return row


class SideBySide:
    """Two independent serial runs at once, in two threads of this process: the machine's ceiling.

    The compiled traversal releases the GIL, so the two runs share nothing but the hardware (and
    the GIL for their little Python). Their combined regions/s over one serial run's is the most
    that two workers of any scheduler could reach on this machine at this moment; ``timed``
    reports both runs' regions.
    """

    workers = 2

    def __init__(self) -> None:
        self.stats = SerialScheduler().stats

    def prepare(self, algorithm: Any) -> None:
        """Nothing to start (the scheduler interface)."""

    def run(self, algorithm: Any) -> Any:
        import copy
        import queue
        import threading

        chunks: queue.SimpleQueue = queue.SimpleQueue()
        runs = [SerialScheduler(), SerialScheduler()]
        stop = threading.Event()  # set when the caller stops early (the time cap)

        def one(scheduler: SerialScheduler, own: Any) -> None:
            try:
                for chunk in scheduler.run(own, root_items(own)[0]):
                    chunks.put(chunk)
                    if stop.is_set():
                        break
            finally:
                chunks.put(None)

        threads = [threading.Thread(target=one, args=(r, copy.copy(algorithm)), daemon=True)
                   for r in runs]
        for t in threads:
            t.start()
        done = 0
        try:
            while done < len(threads):
                chunk = chunks.get()
                if chunk is None:
                    done += 1
                else:
                    yield chunk
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.stats = runs[0].stats


def _configurations(args: argparse.Namespace, ray: Any) -> list[tuple[str, str, int, str]]:
    """(label, backend, workers, strategy) of every measured run, serial first."""
    runs = [("serial", "serial", 1, "-"), ("2 serial runs side by side", "ceiling", 2, "-")]
    for backend in ("threads", "processes"):
        runs += [(f"{backend} x{w} {s}", backend, w, s)
                 for w, s in ((1, "dynamic"), (2, "dynamic"), (2, "paper"))]
    if ray is not None:
        runs += [(f"ray x2 {s}", "ray", 2, s)
                 for s in (("dynamic", "paper") if args.ray_paper else ("dynamic",))]
    return runs


def _started(backend: str, workers: int, strategy: str, tiny: Any) -> tuple[Any, float | None]:
    """A scheduler whose workers are started and ran a tiny enumeration; their start-up time."""
    if backend == "serial":
        return SerialScheduler(), None
    if backend == "ceiling":
        return SideBySide(), None
    if backend == "ray":
        from reluregions.schedulers.ray import RayScheduler

        scheduler: Any = RayScheduler(workers=workers, strategy=strategy)
        scheduler.warm_up(tiny)
        return scheduler, None
    cls = ThreadScheduler if backend == "threads" else ProcessScheduler
    scheduler = cls(workers, keep_workers=True, strategy=strategy)
    return scheduler, scheduler.warm_up(tiny)


def measure(name: str, net: rr.Network, box: rr.Box, args: argparse.Namespace,
            ray: Any) -> list[dict[str, Any]]:
    """Every configuration on one network, the repeats interleaved (round after round of every
    configuration), so that a slow spell of the shared machine hits all of them alike."""
    config = rr.EnumerationConfig(algorithm=args.algorithm, ranks=False)
    algorithm = make_algorithm(make_problem(net, box, config))
    tiny_net, tiny_box = generated_net(net.input_dim, (4, 4), 0)
    tiny = make_algorithm(make_problem(tiny_net, tiny_box, config))
    for _ in SerialScheduler().run(tiny, root_items(tiny)[0]):  # compile kernels in this process
        pass
    runs = _configurations(args, ray)
    started = {label: _started(backend, workers, strategy, tiny)
               for label, backend, workers, strategy in runs}
    timings: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in runs}
    try:
        for round_ in range(args.repeat):
            for label, *_ in runs:
                timings[label].append(timed(started[label][0], algorithm, args.time_cap))
                print(f"  round {round_ + 1} {label:<24} {timings[label][-1]['seconds']:>8.2f} s",
                      flush=True)
    finally:
        for scheduler, _ in started.values():
            getattr(scheduler, "close", lambda: None)()
    rows: list[dict[str, Any]] = []
    for label, backend, workers, strategy in runs:
        best = min(timings[label], key=lambda r: r["seconds"])
        row = {"net": name, "run": label, "backend": backend, "workers": workers,
               "strategy": strategy, **best,
               "runs_seconds": [r["seconds"] for r in timings[label]]}
        if started[label][1] is not None:
            row["startup_seconds"] = round(started[label][1], 3)
        rows.append(row)
    serial = rows[0]
    one = {r["backend"]: r for r in rows if r["workers"] == 1}
    for row in rows:
        row["speedup"] = round(row["regions_per_second"] / serial["regions_per_second"], 2)
        base = one.get(row["backend"])
        if base is not None and row["strategy"] == "dynamic":
            row["speedup_over_x1"] = round(row["regions_per_second"] /
                                           base["regions_per_second"], 2)
    return rows


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The report as a Markdown table per network."""
    lines = ["# Parallel benchmark", "",
             f"{meta['machine']}; algorithm `{meta['algorithm']}`; time cap {meta['time_cap']} s; "
             f"{meta['date']}; load average before the run "
             f"{', '.join(f'{x:.1f}' for x in meta['load_average'])} (other jobs share the machine "
             "when it is above 0). CPU s = this process plus the worker processes (not Ray's). "
             "Warm times (pool start-up excluded, listed apart), the fastest of "
             f"{meta.get('repeat', 1)} interleaved runs each (all in the JSON); speedup = "
             "regions/s over the serial run's; over x1 = over the same backend with one worker. "
             "Largest task share = the largest task's expansions over all "
             "tasks' (the paper's span measure). The side-by-side row runs the serial enumeration "
             "twice at once in two threads (nothing shared but the machine): its speedup is the "
             "most two workers can reach here at this moment. Busy = the tasks' seconds over "
             "workers × seconds (how much of the run the workers spent inside tasks).", ""]
    for name in dict.fromkeys(r["net"] for r in rows):
        lines += [f"## {name}", "",
                  "| run | regions | seconds | CPU s | regions/s | speedup | over x1 | busy | "
                  "tasks | largest task share (expansions / seconds) | parent share | "
                  "pool start-up s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in (r for r in rows if r["net"] == name):
            share = (f"{r['largest_task_share']:.3f} / {r['largest_task_share_seconds']:.3f}"
                     if "tasks" in r else "-")
            lines.append(
                f"| {r['run']}{' (capped)' if r['capped'] else ''} | {r['regions']:,} | "
                f"{r['seconds']:.2f} | {'-' if r['cpu_seconds'] is None else r['cpu_seconds']} | "
                f"{r['regions_per_second']:,.0f} | {r['speedup']:.2f} | "
                f"{r.get('speedup_over_x1', '-')} | {r.get('busy_share', '-')} | "
                f"{r.get('tasks', '-')} | {share} | {r.get('parent_share', '-')} | "
                f"{r.get('startup_seconds', '-')} |")
        counts = {r["regions"] for r in rows
                  if r["net"] == name and not r["capped"] and r["backend"] != "ceiling"}
        agree = "yes" if len(counts) <= 1 else counts
        lines += ["", f"Region counts agree across runs: {agree}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="?", default=str(ROOT.parent / "shared" / "networks"),
                        help="folder with acasxu_1_1_prop3.npz and robot_prop0.npz")
    parser.add_argument("--quick", action="store_true",
                        help="generated networks of a few seconds instead of the real ones")
    parser.add_argument("--time-cap", type=float, default=600.0,
                        help="stop every measurement after this many seconds (default 600)")
    parser.add_argument("--algorithm", default="default", help="enumeration algorithm")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray measurements")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per configuration; the fastest is reported (all are listed)")
    parser.add_argument("--ray-paper", action="store_true",
                        help="also run Ray with the paper strategy")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="output folder")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    folder = Path(args.networks)
    cases = load_cases(folder if folder.is_dir() else None, args.quick)
    ray = None
    if not args.no_ray:
        try:
            import ray
        except ImportError:
            print("ray is not installed: skipping the Ray measurements", file=sys.stderr)
            ray = None
        else:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                     _node_ip_address="127.0.0.1")
    rows: list[dict[str, Any]] = []
    try:
        for name, (net, box) in cases.items():
            print(f"{name}: d={net.input_dim}, hidden={'x'.join(map(str, net.hidden_widths))}",
                  flush=True)
            rows += measure(name, net, box, args, ray)
    finally:
        if ray is not None:
            ray.shutdown()
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                       f"{platform.python_version()}, reluregions {rr.__version__}",
            "algorithm": args.algorithm, "time_cap": args.time_cap, "repeat": args.repeat,
            "quick": bool(args.quick), "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_average": load}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "parallel" + ("_quick" if args.quick else "") + \
        ("" if args.algorithm == "default" else f"_{args.algorithm}")
    earlier: list[dict[str, Any]] = []
    previous = out / f"{stem}.json"
    if previous.exists():  # every run is kept: the former latest joins the earlier runs
        try:
            old = json.loads(previous.read_text())
            earlier = old.get("earlier_runs", []) + [{"meta": old["meta"], "rows": old["rows"]}]
        except (ValueError, KeyError, TypeError):
            print(f"{previous} is not a report of this benchmark: replacing it", file=sys.stderr)
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows,
                                                  "earlier_runs": earlier}, indent=2))
    (out / f"{stem}.md").write_text(markdown(rows, meta))
    print(f"wrote {out / f'{stem}.md'} and {out / f'{stem}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
