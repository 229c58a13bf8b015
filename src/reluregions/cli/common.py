"""Helpers shared by the CLI commands: loading the network and domain, progress, schedulers."""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import EnumerationConfig
from ..domains import Box, Domain, WholeSpace
from ..errors import ClusterUnreachableError, NetworkFileError, OptionError
from ..network import Network, load_network
from ..schedulers import Progress, Scheduler, make_scheduler

__all__ = ["resolve_network_path", "load_inputs", "load_network_args", "make_config",
           "make_cli_scheduler", "check_ray_address", "TerminalProgress", "run_metadata",
           "add_run_options", "add_network_options", "add_domain_options"]

_TORCH_SUFFIXES = (".pt", ".pth", ".torch")


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


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise OptionError(f"--input-shape '{text}' is not a comma-separated list of positive sizes, "
                          "such as 1,28,28")
    return shape


def load_network_args(args: argparse.Namespace) -> tuple[Network, Any, Path]:
    """The network named by ``args.net`` with the PyTorch options (``--architecture``,
    ``--input-shape``, ``--trust-pickle``); returns the network, its stored box (or None), the path."""
    path = resolve_network_path(args.net)
    architecture = getattr(args, "architecture", None)
    input_shape = getattr(args, "input_shape", None)
    trust = bool(getattr(args, "trust_pickle", False))
    if path.suffix.lower() in _TORCH_SUFFIXES and path.is_file():
        from ..network.torch import load_torch

        shape = _shape(input_shape) if input_shape is not None else None
        return load_torch(path, architecture=architecture, input_shape=shape,
                          trust_pickle=trust), None, path
    if architecture is not None or input_shape is not None or trust:
        raise OptionError(f"--architecture, --input-shape and --trust-pickle apply to PyTorch files "
                          f"({', '.join(_TORCH_SUFFIXES)}), not to {path.name}")
    network, stored = load_network(path)
    return network, stored, path


def load_inputs(args: argparse.Namespace) -> tuple[Network, Domain, Path]:
    """The network named on the command line and its domain (explicit, VNN-LIB, stored, or default)."""
    network, stored, path = load_network_args(args)
    d = network.input_dim
    if getattr(args, "whole_space", False):
        given = [f"--{k}" for k in ("box", "lo", "hi", "vnnlib") if getattr(args, k, None) is not None]
        if given:
            raise OptionError(f"--whole-space counts all of R^{d}; drop {', '.join(given)} (or drop "
                              "--whole-space to count inside a box)")
        domain: Domain = WholeSpace(d)
    elif getattr(args, "vnnlib", None):
        from ..domains.vnnlib import read_vnnlib_box

        domain = read_vnnlib_box(args.vnnlib, input_dim=d)
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
    """Serial for one worker, else the chosen parallel backend (``auto`` by default: serial
    first, then threads for the GIL-free vertex algorithm or processes, started once they pay off)."""
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise OptionError(f"--workers must be at least 1, got {workers}")
    backend = args.backend or ("serial" if workers == 1 and args.address is None else "auto")
    if args.address is not None and backend != "ray":
        backend = "ray"
    if backend == "serial":
        return make_scheduler("serial")
    options: dict[str, Any] = {"workers": workers, "strategy": args.strategy}
    if backend == "ray":
        if args.address is not None:
            check_ray_address(args.address)
        _quiet_ray_logs(args.address is not None)
        options["address"] = args.address
    return make_scheduler(backend, **options)


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """Connect to a Ray head's ``HOST:PORT`` (or ``ray://HOST:PORT``) before ``ray.init``, which
    would otherwise retry for minutes; ``auto`` and ``local`` are left to Ray.

    Raises
    ------
    OptionError
        The address is not of the form ``HOST:PORT``.
    ClusterUnreachableError
        Nothing accepts connections there within ``timeout`` seconds.
    """
    if address in ("auto", "local"):
        return
    bare = address.split("://", 1)[-1].rstrip("/")
    host, _, port_text = bare.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not host or not 0 < port < 65536:
        raise OptionError(f"--address '{address}' is not HOST:PORT (such as 10.0.0.5:6379, the "
                          "address 'ray start --head' prints)")
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=timeout) as conn:
            speaks_grpc = _answers_http2(conn)
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterUnreachableError(
            f"--address {address}: no Ray head answers there ({reason} after at most {timeout:g} s); "
            f"start one with 'ray start --head --port {port}' on {host}, or check the address and "
            "firewall") from None
    if not speaks_grpc:
        raise ClusterUnreachableError(
            f"--address {address}: something listens there but it is not a Ray head (no gRPC "
            f"handshake within {timeout:g} s); check the port: 'ray start --head' prints the address "
            "to use")


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _answers_http2(conn: socket.socket) -> bool:
    """Whether the peer opens an HTTP/2 connection (Ray's head serves gRPC, which is HTTP/2 with
    prior knowledge): send the client preface and an empty SETTINGS frame, and expect the
    server's first frame, which RFC 9113 §3.4 requires to be SETTINGS (frame type 4)."""
    try:
        conn.sendall(_HTTP2_PREFACE)
        header = b""
        while len(header) < 9:
            chunk = conn.recv(9 - len(header))
            if not chunk:
                return False
            header += chunk
    except OSError:
        return False
    return header[3] == 4


def _quiet_ray_logs(cluster: bool) -> None:
    """Hide Ray's notes about its own authentication token (not the user's business here); for a
    cluster, give up connecting after about 5 s instead of 20 s (settings the user made in the
    environment are kept; the C++ warning per try is held back while joining, see
    :mod:`reluregions.schedulers.ray`)."""
    logging.getLogger("ray._private.authentication").setLevel(logging.ERROR)
    if cluster:
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "5")


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """The ``net`` argument and the options for PyTorch files."""
    parser.add_argument("net", help="network file (.npz, .onnx, .pt) or a bundled example's name "
                                    "(see 'Network files' in the README)")
    group = parser.add_argument_group("PyTorch files (.pt, .pth)")
    group.add_argument("--architecture", metavar="SPEC",
                       help="layers of a file saved with torch.save(model.state_dict()), such as "
                            "'Linear(2,8),ReLU,Linear(8,1)'")
    group.add_argument("--input-shape", metavar="C,H,W",
                       help="shape of one input, needed when the first layer is not Linear")
    group.add_argument("--trust-pickle", action="store_true",
                       help="read a whole pickled model (torch.save(model)); unpickling runs code "
                            "from the file, so only for files you trust")


def add_domain_options(parser: argparse.ArgumentParser) -> None:
    """``--box``, ``--lo``/``--hi``, ``--vnnlib`` and ``--whole-space``."""
    dom = parser.add_argument_group("domain (default: the box stored in the .npz, else [-1, 1]^d)")
    dom.add_argument("--box", nargs=2, type=float, metavar=("LO", "HI"),
                     help="the same bounds on every input")
    dom.add_argument("--lo", help="lower bounds, comma-separated")
    dom.add_argument("--hi", help="upper bounds, comma-separated (lo == hi fixes a coordinate)")
    dom.add_argument("--vnnlib", help="take the input box of a VNN-LIB property file")
    dom.add_argument("--whole-space", action="store_true",
                     help="all of R^d: every region, bounded or not (unbounded ones are marked)")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``count`` and ``enumerate``."""
    from ..enumeration import ALGORITHMS

    add_network_options(parser)
    add_domain_options(parser)
    alg = parser.add_argument_group("algorithm")
    alg.add_argument("--algorithm", default="default",
                     help=f"{' | '.join(ALGORITHMS)} (paper: Drammis et al. Alg. 1; see "
                          "'Algorithms' in the README)")
    alg.add_argument("--first-layer", default="incremental",
                     help="incremental | exhaustive (ParLayerWise1's first-layer enumerator)")
    alg.add_argument("--radius-tol", type=float, default=None,
                     help="width of the band of float side decisions (normalised coordinates); "
                          "decisions inside it are settled exactly, so it changes the speed, "
                          "never the count; default 1e-8")
    alg.add_argument("--certify", action="store_true",
                     help="certify the result exactly: every region's point checked in rational "
                          "arithmetic, every facet matched by a neighbour (exit 1 if it fails)")
    par = parser.add_argument_group("parallelism")
    par.add_argument("--workers", type=int, default=None,
                     help="worker threads or processes (default: all cores)")
    par.add_argument("--backend", default=None,
                     help="serial | threads | processes | ray | auto (default: serial for one "
                          "worker, else auto: threads for the LP-free vertex algorithm, processes "
                          "for the others, started only once the run lasts)")
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
