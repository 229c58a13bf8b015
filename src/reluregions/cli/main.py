"""``reluregions`` command line: count, enumerate, info (DESIGN.md §4).

Bad input gives one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .._version import __version__
from ..errors import InputError, MissingDependencyError, OptionError, ReluRegionsError
from .allocator import keep_freed_memory
from .common import (TerminalProgress, add_domain_options, add_network_options, add_run_options,
                     load_inputs, load_network_args, make_cli_scheduler, make_config, run_metadata)
from .notices import certificate_line, compile_notice, plural, resume_command

__all__ = ["main", "build_parser"]


# A value that starts with '-' and a digit or '.' is a number (or a list of numbers), never an
# option: '--lo -1,-2' and '--box -1e-3 1' (argparse alone only takes '-1' and '-1.5').
_NEGATIVE_NUMBERS = re.compile(r"^-(\d|\.\d|inf\b|nan\b)", re.IGNORECASE)

EXAMPLES: dict[str, str] = {
    "count": """examples:
  reluregions count vdp_prop0                                   # a bundled example, its stored box
  reluregions count net.onnx --lo -1,-2 --hi 1,2 --workers 2 --json
  reluregions count net.pt --architecture 'Linear(2,8),ReLU,Linear(8,1)' --box -1 1""",
    "enumerate": """examples:
  reluregions enumerate vdp_prop0 --out regions.parquet
  reluregions enumerate net.npz --vnnlib prop.vnnlib --out regions.parquet --maps
  reluregions enumerate net.npz --out regions.parquet --checkpoint ck/   # then, after a stop:
  reluregions enumerate net.npz --out regions.parquet --resume ck/""",
    "info": """examples:
  reluregions info vdp_prop0
  reluregions info model.pt --architecture 'Linear(2,8),ReLU,Linear(8,1)' --json""",
    "stats": """examples:
  reluregions stats regions.parquet
  reluregions stats regions.parquet --net net.npz --volumes --json""",
    "plot": """examples:
  reluregions plot net.npz --box -1 1 --out partition.png       # enumerate and draw a 2-input net
  reluregions plot regions.parquet net.npz --boundary --out partition.png
  reluregions plot regions.parquet --kind rank-study --out ranks.png""",
    "verify": """examples:
  reluregions verify regions.parquet net.npz
  reluregions verify regions.parquet net.npz --samples 100000 --json""",
    "study": """examples:
  reluregions study runtime --quick --out runtime/
  reluregions study runtime --out runtime/ --paper-cap 10""",
    "details": """examples:
  reluregions details regions.parquet net.npz --what hrep --out hrep.parquet
  reluregions details regions.parquet net.npz --what adjacency --out edges.parquet""",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBERS

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = _Parser(prog="reluregions", description="Exact activation regions of ReLU networks.")
    parser.add_argument("--version", action="version", version=f"reluregions {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    count = sub.add_parser("count", help="count the regions (and regions after each hidden layer)",
                           epilog=EXAMPLES["count"])
    add_run_options(count)
    count.add_argument("--json", action="store_true", help="print one JSON object")
    count.set_defaults(func=cmd_count)

    enum = sub.add_parser("enumerate", help="write every region to a Parquet file",
                          epilog=EXAMPLES["enumerate"])
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

    info = sub.add_parser("info", help="describe a network and its default domain",
                          epilog=EXAMPLES["info"])
    add_network_options(info)
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
    for extra in _extra_commands():
        extra(sub)
    for name, sub_parser in sub.choices.items():
        if sub_parser.epilog is None and name in EXAMPLES:
            sub_parser.epilog = EXAMPLES[name]
    if "plot" in sub.choices:
        _route_plot_of_a_network(sub.choices["plot"])
    return parser


def _route_plot_of_a_network(plot: argparse.ArgumentParser) -> None:
    """Let ``plot NET --box LO HI --out PIC`` enumerate a 2-input net and draw it in one step."""
    add_domain_options(plot)
    draw = plot.get_default("func")

    def plot_or_enumerate_then_plot(args: argparse.Namespace) -> int:
        domain_given = any(getattr(args, k, None) is not None for k in ("box", "lo", "hi", "vnnlib"))
        network_only = (len(args.paths) == 1 and not args.through
                        and getattr(args, "kind", "partition") == "partition"
                        and Path(args.paths[0]).suffix.lower() not in (".parquet", ".pq"))
        if not network_only:
            if domain_given:
                raise OptionError("--box/--lo/--hi/--vnnlib apply to 'plot NET --out PIC' (which "
                                  "enumerates first); a region file already has its domain")
            return draw(args)
        return _enumerate_then_plot(args, draw)

    plot.set_defaults(func=plot_or_enumerate_then_plot)


def _enumerate_then_plot(args: argparse.Namespace, draw: Callable[[argparse.Namespace], int]) -> int:
    import tempfile

    from ..config import EnumerationConfig
    from ..enumeration import iter_regions
    from ..io.parquet import ParquetRegionWriter

    args.net = args.paths[0]
    network, domain, path = load_inputs(args)
    if not domain.bounded and getattr(args, "view", None) is None:
        raise OptionError("plot NET --whole-space draws the whole plane: give the square to draw "
                          "with --view LO HI")
    free = domain.parametrize().dim
    if free != 2:
        raise OptionError(f"plot {args.net} draws a 2-D domain, but this one has {free} free "
                          "coordinates; fix all but two with --lo/--hi (lo == hi), or draw a slice "
                          "with --through POINTS")
    config = EnumerationConfig(algorithm=args.algorithm)
    with tempfile.TemporaryDirectory(prefix="reluregions-plot-") as tmp:
        regions = Path(tmp) / "regions.parquet"
        meta = run_metadata(network, domain, config, path)
        with ParquetRegionWriter(regions, network.n_hidden, meta) as writer:
            for chunk in iter_regions(network, domain, config).chunks():
                writer.write_chunk(chunk)
        args.paths = [str(regions), args.net]
        return draw(args)


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
    certify = getattr(args, "certify", False)
    compile_notice(network, config, domain, certify=certify)
    progress = TerminalProgress()
    try:
        result = count_regions(network, domain, config, scheduler, progress, certify=certify)
    finally:
        progress.close()
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{result.regions:,} regions in {result.seconds:.2f} s "
              f"({result.regions / max(result.seconds, 1e-9):,.0f} regions/s, "
              f"{result.lps_per_region:.2f} LPs/region, {plural(result.workers, 'worker')})")
        print("regions after each hidden layer: " + ", ".join(f"{n:,}" for n in result.per_layer))
        if "unbounded" in result.extra:
            print(f"the whole input space: {result.extra['unbounded']:,} unbounded regions")
        if result.extra.get("certified"):
            print(certificate_line(result.extra["certificate"]))
    return 0


def _written_line(regions: int, out: str, seconds: float, lps: int) -> str:
    """The last line of ``enumerate``, with or without a checkpoint."""
    return (f"{regions:,} regions written to {out} in {seconds:.2f} s "
            f"({lps / max(regions, 1):.2f} LPs/region)")


def cmd_enumerate(args: argparse.Namespace) -> int:
    from ..enumeration import iter_regions
    from ..io.parquet import ParquetRegionWriter

    network, domain, path = load_inputs(args)
    config = make_config(args, chebyshev=args.chebyshev, keep_maps=args.maps,
                         keep_hrep=args.hrep)
    certify = getattr(args, "certify", False)
    if certify and (args.checkpoint or args.resume):
        raise OptionError("--certify does not run under --checkpoint/--resume; certify the "
                          "finished file with: reluregions verify OUT NET --certify")
    scheduler = make_cli_scheduler(args)
    meta = run_metadata(network, domain, config, path)
    extras = (("A", "c") if args.maps else ()) + (("G", "h") if args.hrep else ())
    compile_notice(network, config, domain, certify=certify)
    progress = TerminalProgress()
    if args.checkpoint or args.resume:
        from ..enumeration.checkpointed import run_checkpointed

        try:
            run = run_checkpointed(network, domain, config, scheduler, args.out, meta, extras,
                                   checkpoint_dir=args.checkpoint or args.resume,
                                   resume=bool(args.resume), progress=progress)
        finally:
            progress.close()
        if not Path(args.out).exists():  # a finished run resumed after its output was removed
            raise OptionError(f"{args.out}: not found, and the checkpointed run finished (its shards "
                              "are gone); start afresh with --checkpoint instead of --resume")
        print(_written_line(run.regions, args.out, run.seconds, run.stats.lps))
        return 0
    stream = iter_regions(network, domain, config, scheduler, progress, certify=certify)
    try:
        with ParquetRegionWriter(args.out, network.n_hidden, meta, extras=extras) as writer:
            for chunk in stream.chunks():
                writer.write_chunk(chunk)
            if certify:
                writer.add_metadata({"certified": True,
                                     "certificate": stream.certificate.to_dict()})
    finally:
        progress.close()
    print(_written_line(writer.count, args.out, stream.seconds, stream.stats.lps))
    if certify:
        print(certificate_line(stream.certificate.to_dict()))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..domains import Box
    network, box, path = load_network_args(args)
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


def _joined_box_values(argv: list[str]) -> list[str]:
    """``--box=LO HI`` and ``--box=LO,HI`` as ``--box LO HI`` (argparse gives ``=`` one value)."""
    out: list[str] = []
    for i, token in enumerate(argv):
        if token == "--":
            return out + argv[i:]
        if token.startswith("--box="):
            out += ["--box", *token[len("--box="):].split(",")]
        else:
            out.append(token)
    return out


#: What each command's ``--out`` names: a Parquet file, a picture, or a folder.
_OUTPUTS = {"enumerate": "parquet", "details": "parquet", "plot": "file", "study": "folder"}


def check_outputs(args: argparse.Namespace) -> None:
    """Check the command's output path (and checkpoint options) before any work is done."""
    from ..io.paths import check_output_file, check_output_folder

    if getattr(args, "checkpoint", None) and getattr(args, "resume", None):
        raise OptionError("give --checkpoint DIR to start a checkpointed run, or --resume DIR to "
                          "continue one, not both")
    kind = _OUTPUTS.get(args.command)
    out = getattr(args, "out", None)
    if kind is None or out is None:
        return
    if kind == "folder":
        check_output_folder(out)
    elif kind == "parquet":
        check_output_file(out, (".parquet", ".pq"), kind="Parquet",
                          hint="for CSV: python -c \"import pandas as pd; pd.read_parquet('F.parquet')"
                               ".drop(columns='pattern').to_csv('F.csv')\"")
    else:
        check_output_file(out)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so that every ``finally`` and ``with`` block runs (partial
    files are removed, workers ended) as for Ctrl-C."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    raw = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    args = parser.parse_args(_joined_box_values(raw))
    if getattr(args, "certify", False):  # where it was measured to pay (cli/allocator.py)
        keep_freed_memory()
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (main() called from a thread): keep the default
        pass
    try:
        check_outputs(args)
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"reluregions: error: {exc}", file=sys.stderr)
        return 2
    except MissingDependencyError as exc:
        print(f"reluregions: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):
            print("reluregions: terminated", file=sys.stderr)
            return 143
        resume = getattr(args, "checkpoint", None) or getattr(args, "resume", None)
        hint = f"; resume with: {resume_command(raw)}" if resume else ""
        print(f"reluregions: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except ConnectionError as exc:
        if getattr(args, "address", None) is None:
            raise
        print(f"reluregions: error: --address {args.address}: cannot join the Ray cluster "
              f"({str(exc).strip().splitlines()[-1]}); check that 'ray start --head' runs there and "
              "that this machine's Ray version matches the cluster's", file=sys.stderr)
        return 2
    except ReluRegionsError as exc:
        print(f"reluregions: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
