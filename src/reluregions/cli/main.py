"""``reluregions`` command line: count, enumerate, info (DESIGN.md §4).

Bad input gives one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .._version import __version__
from ..errors import InputError, MissingDependencyError, ReluRegionsError
from .common import (TerminalProgress, add_run_options, load_inputs, make_cli_scheduler,
                     make_config, run_metadata)

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = _Parser(prog="reluregions", description="Exact activation regions of ReLU networks.")
    parser.add_argument("--version", action="version", version=f"reluregions {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    count = sub.add_parser("count", help="count the regions (and regions after each hidden layer)")
    add_run_options(count)
    count.add_argument("--json", action="store_true", help="print one JSON object")
    count.set_defaults(func=cmd_count)

    enum = sub.add_parser("enumerate", help="write every region to a Parquet file")
    add_run_options(enum)
    enum.add_argument("--out", required=True, help="output .parquet file")
    enum.add_argument("--chebyshev", action="store_true",
                      help="record each region's exact Chebyshev centre and radius (one extra LP per "
                           "region, 10-100x slower); by default 'radius' is a certified inscribed "
                           "radius, a lower bound on it")
    enum.add_argument("--no-chebyshev", action="store_false", dest="chebyshev",
                      help=argparse.SUPPRESS)  # the default; kept so older command lines still run
    enum.add_argument("--maps", action="store_true", help="also store each region's output map A, c")
    enum.add_argument("--hrep", action="store_true",
                      help="also store each region's irredundant H-representation G, h")
    enum.add_argument("--checkpoint", help="folder to checkpoint the run into (resumable)")
    enum.add_argument("--resume", help="resume the run checkpointed in this folder")
    enum.set_defaults(func=cmd_enumerate)

    info = sub.add_parser("info", help="describe a network and its default domain")
    info.add_argument("net", help="network file or bundled example")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
    for extra in _extra_commands():
        extra(sub)
    return parser


def _extra_commands() -> list:
    """Subcommands contributed by the analysis and plotting modules, when present."""
    found = []
    try:
        from .analysis_commands import register_all
    except ImportError:
        return found
    found.append(register_all)
    return found


def cmd_count(args: argparse.Namespace) -> int:
    from ..enumeration import count_regions

    network, domain, _ = load_inputs(args)
    config = make_config(args, ranks=False)
    scheduler = make_cli_scheduler(args)
    progress = TerminalProgress()
    try:
        result = count_regions(network, domain, config, scheduler, progress)
    finally:
        progress.close()
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{result.regions:,} regions in {result.seconds:.2f} s "
              f"({result.regions / max(result.seconds, 1e-9):,.0f} regions/s, "
              f"{result.lps_per_region:.2f} LPs/region, {result.workers} workers)")
        print("regions after each hidden layer: " + ", ".join(f"{n:,}" for n in result.per_layer))
    return 0


def cmd_enumerate(args: argparse.Namespace) -> int:
    from ..enumeration import iter_regions
    from ..io.parquet import ParquetRegionWriter

    network, domain, path = load_inputs(args)
    config = make_config(args, chebyshev=args.chebyshev, keep_maps=args.maps,
                         keep_hrep=args.hrep)
    scheduler = make_cli_scheduler(args)
    meta = run_metadata(network, domain, config, path)
    extras = (("A", "c") if args.maps else ()) + (("G", "h") if args.hrep else ())
    progress = TerminalProgress()
    if args.checkpoint or args.resume:
        from ..schedulers.checkpoint import run_checkpointed

        try:
            n = run_checkpointed(network, domain, config, scheduler, args.out, meta, extras,
                                 checkpoint_dir=args.checkpoint or args.resume,
                                 resume=bool(args.resume), progress=progress)
        finally:
            progress.close()
        print(f"{n:,} regions written to {args.out}")
        return 0
    stream = iter_regions(network, domain, config, scheduler, progress)
    try:
        with ParquetRegionWriter(args.out, network.n_hidden, meta, extras=extras) as writer:
            for chunk in stream.chunks():
                writer.write_chunk(chunk)
    finally:
        progress.close()
    print(f"{writer.count:,} regions written to {args.out} in {stream.seconds:.2f} s "
          f"({stream.stats.lps / max(writer.count, 1):.2f} LPs/region)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..domains import Box
    from ..network import load_network
    from .common import resolve_network_path

    path = resolve_network_path(args.net)
    network, box = load_network(path)
    domain = Box(*box) if box is not None else Box.symmetric(network.input_dim)
    info = {
        "file": str(path), "input_dim": network.input_dim, "hidden_widths": list(network.hidden_widths),
        "output_dim": network.output_dim, "parameters": network.n_parameters,
        "activation": "relu" if network.negative_slope == 0 else f"leaky_relu({network.negative_slope})",
        "sha256": network.sha256, "default_domain": domain.to_dict(),
        "default_domain_source": "stored in file" if box is not None else "[-1, 1]^d",
    }
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"reluregions: error: {exc}", file=sys.stderr)
        return 2
    except MissingDependencyError as exc:
        print(f"reluregions: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = getattr(args, "checkpoint", None) or getattr(args, "resume", None)
        hint = (f"; resume with: reluregions enumerate {args.net} --out {args.out} --resume {resume}"
                if resume else "")
        print(f"reluregions: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except ReluRegionsError as exc:
        print(f"reluregions: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
