"""Helpers shared by the CLI commands: loading the network and domain, progress, schedulers."""
from __future__ import annotations

import argparse
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import EnumerationConfig
from ..domains import Box, Domain
from ..errors import NetworkFileError, OptionError
from ..network import Network, load_network
from ..schedulers import Progress, Scheduler, make_scheduler

__all__ = ["resolve_network_path", "load_inputs", "make_config", "make_cli_scheduler",
           "TerminalProgress", "run_metadata", "add_run_options"]


def resolve_network_path(name: str) -> Path:
    """A path as given, or the bundled example of that name (``vdp_prop0`` or ``vdp_prop0.npz``)."""
    path = Path(name)
    if path.exists():
        return path
    examples = resources.files("reluregions") / "examples"
    for candidate in (name, f"{name}.npz"):
        bundled = examples / candidate
        if "/" not in name and bundled.is_file():
            return Path(str(bundled))
    raise NetworkFileError(f"{name}: no such file or bundled example; give a .npz, .onnx or .pt "
                           f"path, or one of: {', '.join(list_examples())}")


def list_examples() -> list[str]:
    """Names of the bundled example networks."""
    examples = resources.files("reluregions") / "examples"
    return sorted(p.name[:-4] for p in examples.iterdir() if p.name.endswith(".npz"))


def _floats(text: str, what: str) -> np.ndarray:
    try:
        values = np.array([float(v) for v in text.split(",") if v.strip() != ""])
    except ValueError:
        raise OptionError(f"{what} '{text}' is not a comma-separated list of numbers") from None
    if values.size == 0:
        raise OptionError(f"{what} is empty; give numbers separated by commas")
    return values


def load_inputs(args: argparse.Namespace) -> tuple[Network, Domain, Path]:
    """The network named on the command line and its domain (explicit, VNN-LIB, stored, or default)."""
    path = resolve_network_path(args.net)
    network, stored = load_network(path)
    d = network.input_dim
    if getattr(args, "vnnlib", None):
        from ..domains.vnnlib import read_vnnlib_box

        domain: Domain = read_vnnlib_box(args.vnnlib, input_dim=d)
    elif getattr(args, "box", None) is not None:
        lo, hi = args.box
        domain = Box(np.full(d, lo), np.full(d, hi))
    elif getattr(args, "lo", None) is not None or getattr(args, "hi", None) is not None:
        if args.lo is None or args.hi is None:
            raise OptionError("give both --lo and --hi (or --box LO HI)")
        lo, hi = _floats(args.lo, "--lo"), _floats(args.hi, "--hi")
        if lo.size != d or hi.size != d:
            raise OptionError(f"--lo/--hi have {lo.size}/{hi.size} values but the network takes {d} "
                              "inputs; give one bound per input")
        domain = Box(lo, hi)
    elif stored is not None:
        domain = Box(*stored)
    else:
        domain = Box.symmetric(d)
    if domain.input_dim != d:
        raise OptionError(f"the domain has {domain.input_dim} coordinates but the network takes {d}")
    return network, domain, path


def make_config(args: argparse.Namespace, **overrides: Any) -> EnumerationConfig:
    """The enumeration config of the command-line options."""
    options = dict(algorithm=args.algorithm, first_layer=args.first_layer)
    if args.radius_tol is not None:
        options["radius_tol"] = args.radius_tol
    options.update(overrides)
    return EnumerationConfig(**options)


def make_cli_scheduler(args: argparse.Namespace) -> Scheduler:
    """Serial for one worker, else the chosen parallel backend (processes by default)."""
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise OptionError(f"--workers must be at least 1, got {workers}")
    backend = args.backend or ("serial" if workers == 1 and args.address is None else "processes")
    if args.address is not None and backend != "ray":
        backend = "ray"
    if backend == "serial":
        return make_scheduler("serial")
    options: dict[str, Any] = {"workers": workers, "strategy": args.strategy}
    if backend == "ray":
        options["address"] = args.address
    return make_scheduler(backend, **options)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``count`` and ``enumerate``."""
    parser.add_argument("net", help="network file (.npz, .onnx, .pt) or a bundled example's name")
    dom = parser.add_argument_group("domain (default: the box stored in the .npz, else [-1, 1]^d)")
    dom.add_argument("--box", nargs=2, type=float, metavar=("LO", "HI"),
                     help="the same bounds on every input")
    dom.add_argument("--lo", help="lower bounds, comma-separated")
    dom.add_argument("--hi", help="upper bounds, comma-separated (lo == hi fixes a coordinate)")
    dom.add_argument("--vnnlib", help="take the input box of a VNN-LIB property file")
    alg = parser.add_argument_group("algorithm")
    alg.add_argument("--algorithm", default="default", help="default | paper (Drammis et al. Alg. 1)")
    alg.add_argument("--first-layer", default="incremental",
                     help="incremental | exhaustive (ParLayerWise1's first-layer enumerator)")
    alg.add_argument("--radius-tol", type=float, default=None,
                     help="Chebyshev radius (normalised domain coordinates) above which a region "
                          "counts; default 1e-8")
    par = parser.add_argument_group("parallelism")
    par.add_argument("--workers", type=int, default=None,
                     help="worker threads or processes (default: all cores)")
    par.add_argument("--backend", default=None,
                     help="serial | threads | processes | ray (default: serial for one worker, "
                          "else processes; threads is faster for the LP-free vertex algorithm)")
    par.add_argument("--address", default=None, help="Ray cluster address HOST:PORT (implies ray)")
    par.add_argument("--strategy", default="dynamic",
                     help="dynamic (work splitting at any depth) | paper (one task per first-layer cell)")


class TerminalProgress:
    """Prints a one-line progress display to stderr when it is a terminal; silent otherwise."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        self._shown = True
        self.stream.write(f"\r{p.regions:,} regions  {p.rate:,.0f}/s  {p.open_items:,} open  "
                          f"{p.busy_workers} busy  {p.seconds:.1f} s\033[K")
        self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()


def run_metadata(network: Network, domain: Domain, config: EnumerationConfig,
                 path: Path) -> dict[str, Any]:
    """The metadata written into every output (DESIGN.md §4)."""
    return {
        "network_sha256": network.sha256,
        "network_file": path.name,
        "input_dim": network.input_dim,
        "hidden_widths": list(network.hidden_widths),
        "n_hidden": network.n_hidden,
        "domain": domain.to_dict(),
        "config": config.to_dict(),
        "version": __version__,
    }
