"""The one place that imports matplotlib, with an install hint when it is missing."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MissingDependencyError, OptionError

__all__ = ["new_figure", "save_figure", "distinct_colors", "FORMATS"]

FORMATS = ("png", "svg", "pdf")


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("plotting needs matplotlib; run: pip install "
                                     "'reluregions[plot]'") from exc
    return matplotlib


def new_figure(width: float = 7.0, height: float = 6.0, ncols: int = 1) -> tuple[Any, Any]:
    """A fresh :class:`~matplotlib.figure.Figure` and its axes (no pyplot state)."""
    _matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def save_figure(fig: Any, out: str | Path, dpi: int = 150) -> Path:
    """Save ``fig`` as PNG, SVG or PDF, chosen by the suffix of ``out``."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise OptionError(f"{out}: unknown picture format '{fmt or '(none)'}'; use one of: "
                          f"{', '.join('.' + f for f in FORMATS)}")
    try:
        fig.savefig(out, format=fmt, dpi=dpi)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the picture ({exc.strerror or exc})") from None
    return out


def distinct_colors(n: int, seed: int = 0) -> np.ndarray:
    """``n`` RGB colours, well spread in hue (golden-ratio steps) and shuffled, as (n, 3) floats."""
    _matplotlib()
    from matplotlib.colors import hsv_to_rgb

    rng = np.random.default_rng(seed)
    hue = (np.arange(n) * 0.618033988749895 + rng.uniform()) % 1.0
    sat = 0.35 + 0.4 * ((np.arange(n) * 0.381966) % 1.0)
    val = 0.72 + 0.25 * ((np.arange(n) * 0.7548776662) % 1.0)
    hsv = np.column_stack([hue, sat, val])[rng.permutation(n)] if n else np.zeros((0, 3))
    return hsv_to_rgb(hsv) if n else np.zeros((0, 3))
