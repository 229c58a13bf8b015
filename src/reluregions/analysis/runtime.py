"""The runtime-versus-regions experiment (Drammis et al. 2024, §6: time grows linearly with regions).

Small architectures are enumerated with the package's default algorithm and with the paper's
(``"paper"``: Alg. 1 with Bound-IncEnum, an LP on both sides of every cell per hyperplane):

* random nets (Gaussian weights scaled by ``1/sqrt(fan-in)``), inputs ``d = 2..4``, widths 8 to 32,
  one to three hidden layers, on ``[-1, 1]^d``;
* MLPs trained on scikit-learn's digits reduced to 2 to 4 PCA inputs
  (:func:`reluregions.analysis.digits.train_digits_network`), on their data's bounding box;
* the high-dimensional regime (issue 14): two-hidden-layer MLPs on the digits' 64 raw pixels, on
  boxes of radius 0.5 to 4 pixel values around one image
  (:func:`reluregions.analysis.digits.digits_image_box`, 64 free inputs), small enough to finish.

Each run streams the regions and stops at ``paper_cap`` seconds for the paper algorithm (those runs
are marked ``capped`` and left out of the fit). For each algorithm the least-squares line
``seconds = a * regions + b`` and its ``R^2`` are reported, and, as ``lps_fit``, the same
against the number of LPs solved (the paper algorithm's time follows its LPs closely, and its LPs
per region grow with the layer widths, which spreads its time-per-region across architectures);
``by_regime`` holds the same line fitted on the low-dimensional (``d <= 4``) and the
high-dimensional (64 pixels) runs apart, since a region costs far more at 64 inputs. Times are
wall-clock seconds of the enumeration alone: networks are built (and trained) first, and every
case is run once with the default algorithm before its timed runs, so that numba's lazy
compilation stays out of the times.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import EnumerationConfig
from ..domains import Box, Domain
from ..errors import InputError
from ..network import Network

__all__ = ["RuntimeCase", "RuntimeStudy", "runtime_cases", "run_runtime_study", "fit_linear",
           "save_runtime_study", "random_network"]

ALGORITHMS = ("default", "paper")
#: Inputs from which a run belongs to the high-dimensional regime of the fit.
HIGH_D = 6


@dataclass
class RuntimeCase:
    """One architecture of the sweep."""

    name: str
    kind: str
    network: Network
    domain: Domain
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RuntimeStudy:
    """The runs (a pandas DataFrame, one row per case and algorithm) and the fits per algorithm."""

    runs: Any
    fits: dict[str, dict[str, Any]]
    quick: bool
    paper_cap: float


def random_network(d: int, widths: tuple[int, ...], seed: int, n_out: int = 1) -> Network:
    """A random dense ReLU network (Gaussian weights / sqrt(fan-in), biases N(0, 0.5^2))."""
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, n_out)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [0.5 * rng.standard_normal(o) for o in sizes[1:]]
    return Network(ws, bs)


def runtime_cases(quick: bool = False, seed: int = 0) -> list[RuntimeCase]:
    """The architectures of the sweep (a handful in ``quick`` mode)."""
    from .digits import train_digits_network

    if quick:
        random_specs = [(2, (8,)), (2, (16,)), (2, (8, 8)), (2, (16, 16)), (3, (8, 8)), (3, (12,)),
                        (2, (8, 8, 8)), (3, (24, 24)), (4, (16, 16))]
        digit_specs = [(2, (12,)), (2, (12, 12))]
        pixel_specs = [((16, 16), (1.0, 2.0))]
    else:
        random_specs = [(d, (w,) * depth) for d in (2, 3, 4) for w in (8, 16, 24, 32)
                        for depth in (1, 2, 3)]
        digit_specs = [(d, h) for d in (2, 3, 4) for h in ((16,), (16, 16), (32,))]
        pixel_specs = [((16, 16), (0.5, 1.0, 2.0, 3.0, 4.0)), ((24, 24), (0.5, 1.0, 1.5))]
    cases = []
    for i, (d, widths) in enumerate(random_specs):
        net = random_network(d, widths, seed + i)
        cases.append(RuntimeCase(f"random_d{d}_{'x'.join(map(str, widths))}", "random", net,
                                 Box.symmetric(d), {"d": d, "widths": list(widths)}))
    for d, hidden in digit_specs:
        model = train_digits_network(d, hidden, seed=seed, max_iter=150 if quick else 400)
        cases.append(RuntimeCase(f"digits_pca{d}_{'x'.join(map(str, hidden))}", "digits",
                                 model.network, model.domain,
                                 {"d": d, "widths": list(hidden), "accuracy": model.accuracy}))
    return cases + pixel_cases(pixel_specs, seed, quick)


def pixel_cases(specs: list[tuple[tuple[int, ...], tuple[float, ...]]], seed: int = 0,
                quick: bool = False) -> list[RuntimeCase]:
    """High-dimensional cases: an MLP on the 64 digit pixels per ``(hidden, radii)`` spec, on the
    box of each radius around the first image (issue 14's regime, at a size that finishes)."""
    from .digits import digits_image_box, train_digits_network

    cases = []
    for hidden, radii in specs:
        model = train_digits_network(None, hidden, seed=seed, max_iter=150 if quick else 400)
        for radius in radii:
            cases.append(RuntimeCase(f"digits_px64_{'x'.join(map(str, hidden))}_r{radius:g}",
                                     "digits", model.network, digits_image_box(model, 0, radius),
                                     {"d": 64, "widths": list(hidden), "accuracy": model.accuracy}))
    return cases


def _time_run(case: RuntimeCase, algorithm: str, cap: float) -> dict[str, Any]:
    from ..enumeration import iter_regions

    config = EnumerationConfig(algorithm=algorithm, ranks=False)
    stream = iter_regions(case.network, case.domain, config)
    count, capped = 0, False
    start = time.perf_counter()
    for _ in stream:
        count += 1
        if (count & 15) == 0 and time.perf_counter() - start > cap:
            capped = True
            break
    seconds = time.perf_counter() - start
    return {"case": case.name, "kind": case.kind, "d": case.extra["d"],
            "widths": "x".join(map(str, case.extra["widths"])), "algorithm": algorithm,
            "regions": count, "seconds": seconds, "capped": capped, "lps": stream.stats.lps,
            "accuracy": case.extra.get("accuracy")}


def fit_linear(regions: Any, seconds: Any) -> dict[str, Any]:
    """Least-squares ``seconds = a * regions + b``, with ``R^2`` and the number of runs ``n``."""
    x = np.asarray(regions, dtype=float)
    y = np.asarray(seconds, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0:
        return {"a": None, "b": None, "r2": None, "n": int(len(x))}
    X = np.column_stack([x, np.ones_like(x)])
    (a, b), *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - (a * x + b)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return {"a": float(a), "b": float(b), "r2": r2, "n": int(len(x)),
            "seconds_per_1000_regions": float(a) * 1000}


def run_runtime_study(quick: bool = False, paper_cap: float | None = None, seed: int = 0,
                      progress: Callable[[dict[str, Any]], None] | None = None) -> RuntimeStudy:
    """Run the sweep; ``progress`` is called with each finished run's record.

    Parameters
    ----------
    quick : bool
        A small sweep that finishes in well under a minute.
    paper_cap : float, optional
        Seconds after which a paper-algorithm run is stopped (default 1 in quick mode, 30 else).
    """
    from .stats import _pd

    pd = _pd()
    cap = float(paper_cap if paper_cap is not None else (1.0 if quick else 30.0))
    if cap <= 0:
        raise InputError(f"the paper algorithm's time cap must be positive, got {cap}")
    cases = runtime_cases(quick, seed)
    records = []
    for case in cases:
        _time_run(case, "default", cap)  # warm-up: numba compiles lazily, per code path
        for algorithm in ALGORITHMS:
            record = _time_run(case, algorithm, cap if algorithm == "paper" else float("inf"))
            records.append(record)
            if progress is not None:
                progress(record)
    runs = pd.DataFrame(records)
    fits = {}
    for algorithm in ALGORITHMS:
        done = runs[(runs["algorithm"] == algorithm) & ~runs["capped"]]
        fits[algorithm] = fit_linear(done["regions"], done["seconds"])
        by_lps = fit_linear(done["lps"], done["seconds"])
        fits[algorithm]["lps_fit"] = {"a": by_lps["a"], "b": by_lps["b"], "r2": by_lps["r2"]}
        fits[algorithm]["by_regime"] = {
            name: fit_linear(part["regions"], part["seconds"])
            for name, part in (("low_d", done[done["d"] < HIGH_D]),
                               ("high_d", done[done["d"] >= HIGH_D]))}
    return RuntimeStudy(runs, fits, quick, cap)


def save_runtime_study(study: RuntimeStudy, out_dir: str | Path) -> dict[str, Path]:
    """Write ``runs.csv`` and ``fits.json`` into ``out_dir`` (created if needed).

    The picture is drawn by :func:`reluregions.plotting.plot_runtime` (``study.runs``,
    ``study.fits``): pictures depend on the analysis, never the other way round (DESIGN.md §5).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
    paths = {"runs": out / "runs.csv", "fits": out / "fits.json"}
    study.runs.to_csv(paths["runs"], index=False)
    paths["fits"].write_text(json.dumps({"quick": study.quick, "paper_cap_seconds": study.paper_cap,
                                         "fits": study.fits}, indent=2))
    return paths
