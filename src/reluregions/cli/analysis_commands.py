"""``reluregions`` subcommands that read region files: stats, plot, verify, study, details.

Registered by :func:`register_all`, which :func:`reluregions.cli.main.build_parser` calls. Bad input
(missing file, wrong network, unknown option value) raises :class:`~reluregions.errors.InputError`,
which ``main()`` turns into one line on stderr and exit status 2. ``verify`` exits 1 when the file
is wrong.

Long commands show their progress on stderr (stage, count, rate, ETA where the total is known) when
it is a terminal, or always with ``--progress``, and warn once per phase when its ETA, from the rate
after its first chunk, passes ``--warn-after`` (half an hour), naming how to skip it (``verify``:
``--skip CHECK``).
SIGTERM stops a command as Ctrl-C does: its worker processes end and no partial file is left.
"""
from __future__ import annotations

import argparse
import functools
import json
import signal
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError, OptionError
from .progress import StageProgress

__all__ = ["register_all"]


def _load_net(name: str) -> Any:
    from ..network import load_network
    from .common import resolve_network_path

    network, _ = load_network(resolve_network_path(name))
    return network


def _workers(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise OptionError(f"--workers must be at least 1, got {value}")
    return value


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _interruptible(cmd: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run ``cmd`` with SIGTERM raising KeyboardInterrupt (so cleanup runs as on Ctrl-C) and a
    progress display in ``args.progress_fn``, closed on every exit."""

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        previous = signal.signal(signal.SIGTERM, _sigterm)
        args.progress_fn = StageProgress(force=getattr(args, "progress", False),
                                         warn_seconds=getattr(args, "warn_after", 1800.0),
                                         hint=_skip_hint(getattr(args, "command", "")))
        try:
            return cmd(args)
        finally:
            args.progress_fn.close()
            signal.signal(signal.SIGTERM, previous)
    return run


def _add_progress(parser: Any) -> None:
    parser.add_argument("--progress", action="store_true",
                        help="show progress on stderr even when it is not a terminal")
    parser.add_argument("--warn-after", type=float, default=1800.0, metavar="SECONDS",
                        help="warn when a phase's estimated time passes this (default 1800)")


def _verify_checks() -> tuple[str, ...]:
    from ..analysis.verify import CHECKS

    return CHECKS


def _names(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _row_range(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    start, sep, stop = value.partition(":")
    try:
        return int(start or 0), int(stop) if stop else 2 ** 62
    except ValueError:
        raise OptionError(f"--rows takes START:STOP (row numbers), got '{value}'") from None


def _skip_hint(command: str) -> Callable[[str], str | None]:
    """How to leave out the check whose progress stage is ``stage`` (verify's stages start with
    the check's name)."""
    def hint(stage: str) -> str | None:
        if command != "verify":
            return None
        name = stage.split(":")[0].strip()
        return f"--skip {name}" if name in _verify_checks() else None
    return hint


def register_all(sub: Any) -> None:
    """Add the ``stats``, ``plot``, ``verify``, ``study`` and ``details`` subparsers to ``sub``."""
    stats = sub.add_parser("stats", help="per-layer counts, rank study and distributions of a "
                                         "region file")
    stats.add_argument("file", help="region file (.parquet) written by 'reluregions enumerate'")
    stats.add_argument("--net", help="the network (needed for --volumes, and for --maps unless the "
                                     "file stores maps)")
    stats.add_argument("--volumes", action="store_true", help="exact region volumes (domain dim <= 6)")
    stats.add_argument("--maps", action="store_true", help="count regions sharing one output map")
    stats.add_argument("--workers", type=int, default=None, help="processes for --volumes")
    stats.add_argument("--memory-rows", type=int, default=4_000_000,
                       help="distinct prefixes kept in memory per layer before spilling to disk")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    _add_progress(stats)
    stats.set_defaults(func=_interruptible(cmd_stats))

    plot = sub.add_parser("plot", help="draw a 2-D partition, histograms or the rank study")
    plot.add_argument("paths", nargs="+", metavar="FILE/NET",
                      help="FILE NET for a partition; NET alone with --through; FILE alone for "
                           "--kind hist or rank-study")
    plot.add_argument("--out", required=True, help="picture file (.png, .svg or .pdf)")
    plot.add_argument("--kind", default="partition", help="partition | hist | rank-study")
    plot.add_argument("--color", default="pattern", help="pattern | map | rank (partition only)")
    plot.add_argument("--boundary", action="store_true", help="overlay the decision boundary")
    plot.add_argument("--through", metavar="POINTS",
                      help="draw the 2-D slice through three inputs: a .npy or text file with 3 rows")
    plot.add_argument("--margin", type=float, default=0.1, help="margin of the --through slice")
    plot.add_argument("--view", nargs=2, type=float, metavar=("LO", "HI"),
                      help="the square [LO, HI]^2 to draw of a file of the whole input space "
                           "(--whole-space)")
    plot.add_argument("--algorithm", default="default",
                      help="enumeration algorithm for the --through slice (default | witness | "
                           "vertex | paper)")
    _add_progress(plot)
    plot.set_defaults(func=_interruptible(cmd_plot))

    verify = sub.add_parser("verify", help="check a region file against its network")
    verify.add_argument("file", help="region file (.parquet)")
    verify.add_argument("net", help="the network the file was written for")
    verify.add_argument("--samples", type=int, default=10_000, help="random points for coverage")
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--workers", type=int, default=None, help="processes for the LP checks")
    verify.add_argument("--max-listed", type=int, default=20, help="failures listed per check")
    verify.add_argument("--certify", action="store_true",
                        help="also run the completeness certificate of count --certify (every "
                             "facet matched by a neighbouring row, exactly; slow)")
    verify.add_argument("--checks", metavar="LIST",
                        help="comma-separated checks to run (default: all; " + ", ".join(
                            _verify_checks()) + ")")
    verify.add_argument("--skip", metavar="LIST", help="comma-separated checks to leave out")
    verify.add_argument("--rows", metavar="START:STOP",
                        help="check only these rows (a prefix or slice of a large file); coverage, "
                             "volume and the certificate are then skipped")
    verify.add_argument("--lp", default="auto",
                        help="auto (compiled simplex, certified; HiGHS where it cannot certify) | "
                             "highs (HiGHS for every LP)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    _add_progress(verify)
    verify.set_defaults(func=_interruptible(cmd_verify))

    study = sub.add_parser("study", help="experiments: runtime against number of regions")
    study.add_argument("experiment", help="runtime")
    study.add_argument("--out", required=True, help="output folder (runs.csv, fits.json, runtime.png)")
    study.add_argument("--quick", action="store_true", help="a small sweep (under a minute)")
    study.add_argument("--paper-cap", type=float, default=None,
                       help="seconds after which a paper-algorithm run stops (default 1 quick, 30 full)")
    study.add_argument("--seed", type=int, default=0)
    _add_progress(study)
    study.set_defaults(func=_interruptible(cmd_study))

    details = sub.add_parser("details", help="H-representations, vertices, volumes or the "
                                             "adjacency graph of every region")
    details.add_argument("file", help="region file (.parquet)")
    details.add_argument("net", help="the network the file was written for")
    details.add_argument("--what", required=True, help="hrep | vertices | volume | adjacency")
    details.add_argument("--out", required=True, help="output .parquet file")
    details.add_argument("--workers", type=int, default=None, help="worker processes")
    _add_progress(details)
    details.set_defaults(func=_interruptible(cmd_details))


# ---------------------------------------------------------------------------------------- stats
def _fmt_table(table: Any) -> str:
    return table.to_string(index=False) if len(table) else "(empty)"


def cmd_stats(args: argparse.Namespace) -> int:
    from ..analysis.stats import compute_stats

    network = _load_net(args.net) if args.net else None
    st = compute_stats(args.file, network, volumes=args.volumes, maps=args.maps,
                       workers=_workers(args.workers), memory_rows=args.memory_rows,
                       progress=args.progress_fn)
    args.progress_fn.close()
    if args.json:
        print(json.dumps(st.to_dict(), default=_json_default))
        return 0
    s = st.summary
    print(f"{s['regions']:,} regions in {s['file']} (domain dimension {s['domain_dim']}, hidden "
          f"widths {s['hidden_widths']})")
    if "unbounded" in s:
        print(f"the whole input space: {s['unbounded']:,} unbounded regions, "
              f"{s['regions'] - s['unbounded']:,} bounded")
    print("\ncells after each hidden layer:\n" + _fmt_table(st.per_layer))
    print("\nrank study (children per parent by the parent's rank; bound = sum_{i<=r} C(n, i)):\n"
          "parents: the cells after hidden layer `layer`, numbered as above (0: the domain); "
          "children:\nthe cells after layer + 1 inside them; n: the width of layer + 1\n"
          + _fmt_table(st.rank_study))
    print("\nranks of the map to each layer:\n" + _fmt_table(st.ranks))
    act = st.active[st.active["layer"] == 0]
    print("\nactive neurons per region (all layers):\n" + _fmt_table(act[["active", "regions"]]))
    if s["regions"]:
        print(f"\n{s['radius_label']} ({s['radius_units']}): min {s['radius_min']:.3g}, "
              f"geometric mean {s['radius_geomean']:.3g}, max {s['radius_max']:.3g}")
    if st.volume is not None:
        print(f"volumes: total {s['volume_total']:.10g} (domain {s['domain_volume']:.10g}), "
              f"min {s['volume_min']:.3g}, max {s['volume_max']:.3g}")
    if st.maps is not None:
        print(f"\n{s['distinct_maps']:,} distinct output maps for {s['regions']:,} regions; "
              "regions per map:\n" + _fmt_table(st.maps))
    if not s["rank_bound_ok"]:
        print("\nwarning: some parent has more children than the rank bound allows")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ---------------------------------------------------------------------------------------- plot
def _read_points(path: str) -> np.ndarray:
    p = Path(path)
    try:
        pts = np.load(p) if p.suffix == ".npy" else np.loadtxt(p, delimiter=None, ndmin=2)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read three points ({exc})") from None
    pts = np.asarray(pts, dtype=float)
    if pts.ndim != 2 or pts.shape[0] != 3:
        raise InputError(f"{path}: expected 3 rows (one input point each), got shape {pts.shape}")
    return pts


def cmd_plot(args: argparse.Namespace) -> int:
    from ..config import check_choice

    kind = check_choice("plot kind", args.kind, ("partition", "hist", "rank-study"))
    paths = args.paths
    if kind in ("hist", "rank-study"):
        if len(paths) > 2:
            raise OptionError(f"plot --kind {kind} takes FILE [NET], got {len(paths)} paths")
        from ..analysis.stats import compute_stats
        from ..plotting import plot_histograms, plot_rank_study

        network = _load_net(paths[1]) if len(paths) == 2 else None
        st = compute_stats(paths[0], network, progress=args.progress_fn)
        (plot_histograms if kind == "hist" else plot_rank_study)(st, args.out)
        print(f"{kind} of {st.summary['regions']:,} regions written to {args.out}")
        return 0
    from ..plotting import plot_partition, plot_slice

    if args.through:
        if len(paths) != 1:
            raise OptionError("plot --through takes only the network: reluregions plot NET "
                              "--through POINTS --out PIC")
        network = _load_net(paths[0])
        pts = _read_points(args.through)
        if pts.shape[1] != network.input_dim:
            raise InputError(f"{args.through}: points have {pts.shape[1]} coordinates but the "
                             f"network takes {network.input_dim}")
        from ..config import EnumerationConfig

        config = EnumerationConfig(algorithm=args.algorithm)
        result = plot_slice(network, list(pts), args.out, margin=args.margin, color=args.color,
                            boundary=args.boundary, config=config)
    else:
        if len(paths) != 2:
            raise OptionError("plot needs FILE NET (or NET --through POINTS)")
        network = _load_net(paths[1])
        result = plot_partition(paths[0], network, args.out, color=args.color,
                                boundary=args.boundary, view=getattr(args, "view", None))
    print(f"{result.polygons:,} polygons for {result.regions:,} regions"
          + (f", {result.boundary_segments:,} boundary segments" if args.boundary else "")
          + (f" ({result.boundary_note})" if args.boundary and result.boundary_note else "")
          + f" written to {args.out}")
    return 0


# ---------------------------------------------------------------------------------------- verify
def _certificate_notice(args: argparse.Namespace, network: Any) -> None:
    """Say that numba compiles the certificate's kernel first, when the certificate will run and
    its kernel is not cached (after the file and network are checked: an error stays alone)."""
    from ..analysis.regionfile import RegionFile
    from .notices import certificate_compile_notice

    checks, skip = _names(args.checks), _names(args.skip) or []
    if not args.certify or args.rows is not None or "certificate" in skip or (
            checks is not None and "certificate" not in checks):
        return
    rf = RegionFile(args.file)
    rf.check_network(network)
    certificate_compile_notice(rf.domain)


def cmd_verify(args: argparse.Namespace) -> int:
    from ..analysis.verify import verify_file

    if args.samples < 0:
        raise OptionError(f"--samples must be at least 0, got {args.samples}")
    network = _load_net(args.net)
    _certificate_notice(args, network)
    report = verify_file(args.file, network, samples=args.samples, seed=args.seed,
                         workers=_workers(args.workers), max_listed=max(args.max_listed, 1),
                         progress=args.progress_fn, certify=args.certify,
                         checks=_names(args.checks), skip=_names(args.skip) or (),
                         rows=_row_range(args.rows), lp=args.lp)
    args.progress_fn.close()
    if args.json:
        print(json.dumps(report.to_dict(), default=_json_default))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------------------- study
def cmd_study(args: argparse.Namespace) -> int:
    import sys

    from ..analysis.runtime import run_runtime_study, save_runtime_study
    from ..config import check_choice
    from ..plotting import plot_runtime

    check_choice("study", args.experiment, ("runtime",))

    def progress(r: dict) -> None:
        flag = " (capped)" if r["capped"] else ""
        print(f"{r['case']:24s} {r['algorithm']:8s} {r['regions']:8,d} regions "
              f"{r['seconds']:8.3f} s{flag}", file=sys.stderr)

    study = run_runtime_study(quick=args.quick, paper_cap=args.paper_cap, seed=args.seed,
                              progress=progress)
    paths = save_runtime_study(study, args.out)
    paths["plot"] = Path(args.out) / "runtime.png"
    plot_runtime(study.runs, study.fits, paths["plot"])
    for alg, fit in study.fits.items():
        if fit["a"] is None:
            print(f"{alg}: too few runs to fit")
        else:
            print(f"{alg}: seconds = {fit['a']:.4g} * regions + {fit['b']:.4g}  "
                  f"(R^2 = {fit['r2']:.3f}, {fit['n']} runs)")
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0


# ---------------------------------------------------------------------------------------- details
def _warn_details(args: argparse.Namespace, what: str) -> None:
    """Say before starting when a detail is known to explode with the domain's dimension."""
    from ..analysis.geometry import MAX_QHULL_DIM
    from ..analysis.regionfile import RegionFile

    k = RegionFile(args.file).param.dim
    if what in ("vertices", "volume") and k > MAX_QHULL_DIM:
        args.progress_fn.note(
            f"warning: {what} in dimension {k}: a region can have millions of vertices and Qhull's "
            "time grows with them, so this may not finish; the progress line's ETA will tell (or "
            "detail a low-dimensional slice: enumerate with --lo/--hi fixing coordinates)")
    elif what == "hrep" and k > MAX_QHULL_DIM:
        args.progress_fn.note(f"note: hrep in dimension {k} solves one LP per constraint of each "
                              "region; expect minutes per 10,000 regions")


def cmd_details(args: argparse.Namespace) -> int:
    from ..analysis.geometry import DETAILS, region_details
    from ..config import check_choice

    what = check_choice("detail", args.what, DETAILS)
    network = _load_net(args.net)
    _warn_details(args, what)
    n = region_details(args.file, network, what, args.out, workers=_workers(args.workers),
                       progress=args.progress_fn)
    args.progress_fn.close()
    print(f"{n:,} {'edges' if what == 'adjacency' else 'rows'} of {what} written to {args.out}")
    return 0
