"""The networks and domains the benchmarks name in their specs (shared by their subprocesses).

``"gen:D:WxW:SEED"`` is a generated net (Gaussian weights, biases scaled by 0.5, one output) on
``[-1, 1]^D``; any other ``net`` is a file (``.npz``, ``.onnx``, PyTorch) with its stored box, or the
box of the VNN-LIB file ``vnnlib`` when the spec names one.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

import reluregions as rr

NETWORKS = Path(__file__).resolve().parents[1].parent / "shared" / "networks"
OUT = Path(__file__).parent / "out"


def capped_parser(description: str, cap: float, cap_help: str, baseline_cap: float,
                  baseline_help: str) -> argparse.ArgumentParser:
    """The options every capped benchmark over named cases takes: the networks folder, the caps
    of the main and the baseline runs, ``--only`` and ``--out``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("networks", nargs="?", default=str(NETWORKS))
    ap.add_argument("--cap", type=float, default=cap, help=cap_help)
    ap.add_argument("--baseline-cap", type=float, default=baseline_cap, help=baseline_help)
    ap.add_argument("--only", nargs="*", help="case names to run")
    ap.add_argument("--out", default=str(OUT))
    return ap


def save_results(out: str, name: str, data: Any, markdown: str) -> None:
    """Write ``NAME.json`` and ``NAME.md`` into ``out`` and print the Markdown."""
    Path(out).mkdir(parents=True, exist_ok=True)
    Path(out, f"{name}.json").write_text(json.dumps(data, indent=1))
    Path(out, f"{name}.md").write_text(markdown)
    print(markdown)


def load_case(spec: dict) -> tuple[rr.Network, rr.Domain | None]:
    """The network and domain of a benchmark spec."""
    if spec["net"].startswith("gen:"):
        _, d, widths, seed = spec["net"].split(":")
        rng = np.random.default_rng(int(seed))
        sizes = [int(d)] + [int(w) for w in widths.split("x")] + [1]
        net = rr.Network([rng.normal(size=(o, i)) for i, o in zip(sizes, sizes[1:])],
                         [rng.normal(size=o) * 0.5 for o in sizes[1:]])
        return net, rr.Box.symmetric(int(d))
    from reluregions.network import load_network

    net, stored = load_network(spec["net"])
    if spec.get("vnnlib"):
        from reluregions.domains.vnnlib import read_vnnlib_box

        return net, read_vnnlib_box(spec["vnnlib"], net.input_dim)
    return net, rr.Box(*stored) if stored is not None else None


def stream_capped(net: rr.Network, domain: rr.Domain | None, config: rr.EnumerationConfig,
                  scheduler, cap: float) -> tuple[int, bool, object]:
    """Stream regions until the enumeration has run ``cap`` seconds: (regions, capped, stream)."""
    stream = rr.iter_regions(net, domain, config, scheduler)
    n = 0
    for _ in stream:
        n += 1
        if stream.seconds > cap:
            return n, True, stream
    return n, False, stream
