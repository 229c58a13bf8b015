"""Draw the regions of a 2-D domain (a 2-D box, or a 2-D slice of a bigger input) as polygons.

Each region is rebuilt from its pattern (:func:`reluregions.analysis.pullback.pattern_geometry`),
its vertices found by a halfspace intersection and drawn as one polygon, so the picture holds
exactly one polygon per region. Regions are coloured by pattern (random distinct colours), by
output map (regions sharing one affine map ``A x + c`` get one colour: the linear pieces) or by the
rank of the map to the last hidden layer.

The decision boundary of a classifier (where the argmax of the outputs changes; for one output,
where it crosses 0) is drawn exactly: inside a region the outputs are affine, so the boundary
between classes ``a`` and ``b`` there is the segment of the line ``f_a = f_b`` that lies in the
polygon and where both beat every other class (line clipping against those half-planes). It has
its own legend entry; when there is none to draw, :attr:`PartitionPlot.boundary_note` says why
(one class wins everywhere in the domain). The picture names what is not on its axes: the
coordinates a box slice holds fixed, and for a slice through three points, the plane
``x = a + s1 (b - a) + s2 (c - a)`` with ``a``, ``b``, ``c`` marked.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import check_choice
from ..domains import AffineSlice, Box, Domain, Parametrization
from ..errors import InputError
from ..network import Network
from ._mpl import distinct_colors, new_figure, save_figure

__all__ = ["PartitionPlot", "region_polygons", "plot_regionset", "plot_partition", "plot_slice",
           "COLORINGS", "decision_segments"]

COLORINGS = ("pattern", "map", "rank")


@dataclass
class PartitionPlot:
    """A drawn partition: the figure and what it holds."""

    figure: Any
    regions: int
    polygons: int
    boundary_segments: int
    out: Path | None = None
    groups: int = 0
    boundary_note: str | None = None


def _plane(domain: Domain, param: Parametrization) -> tuple[np.ndarray, np.ndarray, tuple[str, str], str]:
    """``(P, p0, labels, note)``: the drawing coordinates ``p = p0 + P t`` of a 2-D domain, the
    axis labels, and a line saying what the axes leave out (fixed coordinates, the plane)."""
    if isinstance(domain, Box):
        free = np.flatnonzero(domain.hi > domain.lo)
        fixed = np.flatnonzero(domain.hi <= domain.lo)
        note = ""
        if len(fixed):
            shown = ", ".join(f"x{i + 1} = {domain.lo[i]:.6g}" for i in fixed[:6])
            note = f"fixed: {shown}" + (f" and {len(fixed) - 6} more" if len(fixed) > 6 else "")
        return param.U[free], param.x0[free], (f"x{free[0] + 1}", f"x{free[1] + 1}"), note
    if isinstance(domain, AffineSlice):
        inner = domain.inner.parametrize()
        return (inner.U, inner.x0, ("s1 (along b − a)", "s2 (along c − a)"),
                "the plane x = a + s1 (b − a) + s2 (c − a) of the input space")
    if domain.input_dim == 2:
        return param.U, param.x0, ("x1", "x2"), ""
    return np.eye(2), np.zeros(2), ("t1", "t2"), "parameter coordinates of the domain"


def _order(V: np.ndarray) -> np.ndarray:
    centre = V.mean(axis=0)
    angle = np.arctan2(V[:, 1] - centre[1], V[:, 0] - centre[0])
    return V[np.argsort(angle)]


def region_polygons(network: Network, param: Parametrization, bits: np.ndarray,
                    t_points: np.ndarray | None = None, zero_tol: float = 1e-9) -> list[tuple[np.ndarray, Any]]:
    """Per region: its polygon's vertices in order (parameter coordinates) and its geometry."""
    from ..geometry.polytope import interior_point, vertices_t
    from ..analysis.pullback import pattern_geometry
    from ..geometry.lp import LPSolver

    if param.dim != 2:
        raise InputError(f"only 2-D domains can be drawn; this one has dimension {param.dim} (draw "
                         "a 2-D slice through three points instead)")
    solver = LPSolver()
    out = []
    for i, b in enumerate(np.asarray(bits, dtype=bool)):
        g = pattern_geometry(network, param, b, zero_tol)
        hint = None if t_points is None else t_points[i]
        center, radius = interior_point(g.G, g.h, hint, solver)
        V = _order(vertices_t(g.G, g.h, center)) if radius > 0 and g.consistent else np.zeros((0, 2))
        out.append((V, g))
    return out


def _clip_line(normal: np.ndarray, offset: float, G: np.ndarray, h: np.ndarray) -> np.ndarray | None:
    """The segment of ``normal . t + offset = 0`` inside ``G t <= h``, or None."""
    nn = float(normal @ normal)
    if nn <= 1e-24:
        return None
    t0 = -offset * normal / nn
    direction = np.array([-normal[1], normal[0]]) / np.sqrt(nn)
    gd, slack = G @ direction, h - G @ t0
    lo, hi = -np.inf, np.inf
    par = np.abs(gd) <= 1e-14
    if np.any(par & (slack < -1e-12)):
        return None
    pos, neg = gd > 1e-14, gd < -1e-14
    if pos.any():
        hi = float(np.min(slack[pos] / gd[pos]))
    if neg.any():
        lo = float(np.max(slack[neg] / gd[neg]))
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo <= 1e-12:
        return None
    return np.stack([t0 + lo * direction, t0 + hi * direction])


def decision_segments(A: np.ndarray, c: np.ndarray, G: np.ndarray, h: np.ndarray) -> list[np.ndarray]:
    """Decision-boundary segments of the affine outputs ``A t + c`` inside the polygon ``G t <= h``."""
    if A.shape[0] == 1:
        seg = _clip_line(A[0], float(c[0]), G, h)
        return [] if seg is None else [seg]
    out = []
    n = A.shape[0]
    for a in range(n):
        for b in range(a + 1, n):
            others = [j for j in range(n) if j not in (a, b)]
            # Both a and b beat every other class j: (A_j - A_a) t <= c_a - c_j, same for b.
            rows = [G] + [A[others] - A[a], A[others] - A[b]]
            rhs = [h, c[a] - c[others], c[b] - c[others]]
            seg = _clip_line(A[a] - A[b], float(c[a] - c[b]), np.vstack(rows), np.concatenate(rhs))
            if seg is not None:
                out.append(seg)
    return out


def _group_ids(values: np.ndarray, decimals: int = 8) -> np.ndarray:
    scale = max(float(np.abs(values).max(initial=0.0)), 1e-300)
    q = np.rint(values / scale * 10.0 ** decimals).astype(np.int64)
    return np.unique(q, axis=0, return_inverse=True)[1].reshape(-1)


def plot_regionset(network: Network, domain: Domain, bits: np.ndarray, points: np.ndarray | None = None,
                   out: str | Path | None = None, *, color: str = "pattern", boundary: bool = False,
                   title: str | None = None, seed: int = 0, zero_tol: float = 1e-9) -> PartitionPlot:
    """Draw regions given by their patterns (and optional interior points, input coordinates).

    Parameters
    ----------
    network : Network
    domain : Domain
        A domain of dimension 2 (a box with two free coordinates, a 2-D slice, a polygon).
    bits : ndarray of bool, shape (n, n_hidden)
    points : ndarray, optional
        Interior points (input coordinates); saves one LP per region.
    out : path, optional
        Save the picture there (``.png``, ``.svg`` or ``.pdf``).
    color : {"pattern", "map", "rank"}
    boundary : bool
        Overlay the classifier's decision boundary.
    """
    from ..analysis.pullback import batch_maps

    check_choice("colouring", color, COLORINGS)
    param = domain.parametrize()
    P, p0, labels, note = _plane(domain, param)
    t = None
    if points is not None and len(points):
        t = np.linalg.lstsq(param.U, (np.asarray(points, float) - param.x0).T, rcond=None)[0].T
    polys = region_polygons(network, param, bits, t, zero_tol)
    n = len(polys)
    fig, ax = new_figure()
    groups = n
    handles = []
    if color == "pattern":
        colors = distinct_colors(n, seed)
    else:
        A, c, ranks = batch_maps(network, param, np.asarray(bits, bool)) if n else (None, None, None)
        if color == "map":
            ids = _group_ids(np.concatenate([A.reshape(n, -1), c], axis=1)) if n else np.zeros(0, int)
            groups = int(ids.max()) + 1 if n else 0
            colors = distinct_colors(groups, seed)[ids] if n else np.zeros((0, 3))
        else:
            from matplotlib import colormaps
            from matplotlib.patches import Patch

            last = ranks[:, -1] if n and ranks.shape[1] else np.full(n, 2)
            levels = np.unique(last)
            groups = len(levels)
            cmap = colormaps["viridis"]
            lut = {r: cmap(0.3 + 0.65 * i / max(len(levels) - 1, 1)) for i, r in enumerate(levels)}
            colors = np.array([lut[r][:3] for r in last]) if n else np.zeros((0, 3))
            handles = [Patch(color=lut[r], label=f"rank {r}") for r in levels]
    from matplotlib.collections import LineCollection, PolyCollection

    shapes = [p0 + V @ P.T for V, _ in polys]
    coll = PolyCollection(shapes, facecolors=colors, edgecolors=(0.1, 0.1, 0.1, 0.45),
                          linewidths=0.35)
    ax.add_collection(coll)
    segments: list[np.ndarray] = []
    boundary_note = None
    if boundary:
        for V, g in polys:
            if len(V):
                segments += [p0 + s @ P.T for s in decision_segments(g.A, g.c, g.G, g.h)]
        ax.add_collection(LineCollection(segments, colors="black", linewidths=1.6))
        from matplotlib.lines import Line2D

        single = network.output_dim == 1
        label = "decision boundary (output = 0)" if single else "decision boundary (argmax changes)"
        line = "black"
        if not segments:
            boundary_note = _constant_class(polys, single)
            label, line = f"no decision boundary: {boundary_note}", "none"
        handles.append(Line2D([], [], color=line, linewidth=1.6, label=label))
    corners = p0 + _domain_corners(param) @ P.T
    ax.set_xlim(corners[:, 0].min(), corners[:, 0].max())
    ax.set_ylim(corners[:, 1].min(), corners[:, 1].max())
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.ticklabel_format(useOffset=False)  # a narrow box reads -0.29995, not 1e-5 - 2.999e-1
    ax.set_aspect("auto")
    what = {"pattern": "activation pattern", "map": f"output map ({groups} distinct)",
            "rank": "rank of the last hidden map"}[color]
    ax.set_title(title or f"{n:,} region{'s' if n != 1 else ''}, coloured by {what}"
                 + (f"\n{note}" if note else ""),
                 fontsize=11)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", fontsize=8,
                   ncol=min(len(handles), 4), frameon=False)
    result = PartitionPlot(fig, n, len(coll.get_paths()), len(segments), None, groups,
                           boundary_note)
    if out is not None:
        result.out = save_figure(fig, out)
    return result


def _constant_class(polys: list[tuple[np.ndarray, Any]], single: bool) -> str:
    """Why no boundary was drawn: the class (or the output's sign) at every region's vertices."""
    winners = set()
    for V, g in polys:
        if len(V):
            values = V @ g.A.T + g.c
            winners.update((values[:, 0] > 0).tolist() if single else np.argmax(values, 1).tolist())
    if single:
        if len(winners) == 1:
            return f"the output is {'positive' if winners.pop() else 'at most 0'} everywhere here"
        return "the output changes sign only on region edges"
    if len(winners) == 1:
        return f"class {winners.pop()} wins everywhere here"
    return "the winning class changes only on region edges"


def _domain_corners(param: Parametrization) -> np.ndarray:
    from ..geometry.polytope import interior_point, vertices_t
    from ..geometry.lp import LPSolver

    center, _ = interior_point(param.G, param.h, None, LPSolver())
    return vertices_t(param.G, param.h, center)


def plot_partition(path: str | Path, network: Network, out: str | Path | None = None, *,
                   color: str = "pattern", boundary: bool = False, title: str | None = None,
                   seed: int = 0, view: Sequence[float] | None = None) -> PartitionPlot:
    """Draw every region of a region file whose domain is 2-D (the network must match its hash).

    A file of the whole input space (issue 15) needs ``view = (lo, hi)``: the square
    ``[lo, hi]^2`` drawn, with the regions that meet it, each clipped to it.
    """
    from ..analysis.regionfile import RegionFile

    rf = RegionFile(path)
    rf.check_network(network)
    if rf.param.dim != 2:
        raise InputError(f"{path}: its domain has dimension {rf.param.dim}; only 2-D domains can be "
                         "drawn (enumerate a 2-D slice, e.g. reluregions plot --through)")
    batches = list(rf.batches())
    bits = np.concatenate([b.bits for b in batches]) if batches else np.zeros((0, rf.n_hidden), bool)
    points = np.concatenate([b.points for b in batches]) if batches else None
    if not rf.param.bounded:
        return _plot_view(network, bits, view, out, color=color, boundary=boundary, title=title,
                          seed=seed, zero_tol=rf.zero_tol, path=path)
    return plot_regionset(network, rf.domain, bits, points, out, color=color, boundary=boundary,
                          title=title, seed=seed, zero_tol=rf.zero_tol)


def _plot_view(network: Network, bits: np.ndarray, view: Sequence[float] | None,
               out: str | Path | None, *, path: str | Path, title: str | None, zero_tol: float,
               **options: Any) -> PartitionPlot:
    """The regions of the whole plane that meet the square ``view``, clipped to it."""
    if view is None:
        raise InputError(f"{path} holds the regions of the whole plane; give the square to draw "
                         "with --view LO HI (view=(lo, hi))")
    lo, hi = (float(v) for v in view)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"the view [{lo:g}, {hi:g}] is not a square: give finite LO < HI")
    box = Box([lo, lo], [hi, hi])
    shown = [len(V) > 0 for V, _ in region_polygons(network, box.parametrize(), bits, None, zero_tol)]
    kept = np.asarray(bits, bool)[np.array(shown, bool)] if len(bits) else np.asarray(bits, bool)
    title = title or (f"{len(kept):,} of the {len(bits):,} regions of the whole plane, in "
                      f"[{lo:g}, {hi:g}]^2")
    return plot_regionset(network, box, kept, None, out, title=title, zero_tol=zero_tol, **options)


def plot_slice(network: Network, points: Sequence[Any], out: str | Path | None = None, *,
               margin: float = 0.1, color: str = "pattern", boundary: bool = False,
               config: Any = None, title: str | None = None, seed: int = 0) -> PartitionPlot:
    """Enumerate and draw the regions on the plane through three inputs (SplineCam-style).

    The plane is :meth:`AffineSlice.through_points` of ``points = (a, b, c)``: ``a`` sits at
    (0, 0), ``b`` at (1, 0) and ``c`` at (0, 1), with ``margin`` around them.
    """
    from ..config import EnumerationConfig
    from ..enumeration import enumerate_regions

    if len(points) != 3:
        raise InputError(f"a slice needs exactly three points, got {len(points)}")
    domain = AffineSlice.through_points(*points, margin=margin)
    config = config or EnumerationConfig()
    regions = enumerate_regions(network, domain, config)
    result = plot_regionset(network, domain, regions.bits, regions.points, None, color=color,
                            boundary=boundary, title=title, seed=seed, zero_tol=config.zero_tol)
    ax = result.figure.axes[0]
    ax.plot([0, 1, 0], [0, 0, 1], "o", color="white", markeredgecolor="black", markersize=8,
            zorder=5)
    for (x, y), name in zip([(0, 0), (1, 0), (0, 1)], "abc"):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(7, 7), fontsize=11,
                    fontweight="bold", zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    if out is not None:
        result.out = save_figure(result.figure, out)
    return result
