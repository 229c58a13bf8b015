"""Statistics of a region file: per-layer counts, the rank study, neurons, radii, volumes, maps.

Implements the counts behind Drammis et al. 2024, §3 and §6 and DESIGN.md §1:

* **cells per layer** — distinct pattern prefixes up to each hidden layer (the cells of the
  layer-wise subdivision, Alg. 1);
* **children per parent** — for a cell after layer ``l`` (a prefix), the number of cells after
  layer ``l + 1`` inside it;
* **the rank study** — those child counts grouped by the parent's rank ``r`` (the rank of the map
  to layer ``l``, the file's ``rank`` column; ``r = k``, the domain's dimension, for the whole
  domain at ``l = 0``), next to the bound ``sum_{i <= r} C(n_{l+1}, i)`` on the cells ``n_{l+1}``
  hyperplanes can cut an ``r``-dimensional image into;
* distributions of active neurons, Chebyshev radii, volumes (``k <= 6``, from the network) and the
  number of regions sharing one output map (activation regions versus linear pieces).

Memory: the file is read in batches. Distinct prefixes are counted exactly by
:class:`~reluregions.analysis._keys.KeyCounter`: in memory up to ``memory_rows`` rows, else spilled to
hash partitions on disk (partitioned by the parent prefix, so a parent's children meet in one
partition), so memory stays about ``memory_rows * (n_bytes + 16)`` bytes per layer whatever the file
size. Everything else is a fixed-size histogram.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MissingDependencyError
from ..network import Network
from ._keys import KeyCounter, XorHasher, key_width, prefix_keys
from ._parallel import ProgressFn, report
from .regionfile import RegionFile

__all__ = ["RegionStats", "compute_stats", "regions_per_layer", "children_per_parent", "rank_study",
           "ranks_per_layer", "active_neurons", "inradius_distribution", "volume_distribution",
           "shared_maps", "rank_bound", "radius_label", "radius_units", "MAX_VOLUME_DIM"]

MAX_VOLUME_DIM = 6
RADIUS_EDGES = 10.0 ** np.arange(-12.0, 1.01, 0.25)
FRACTION_EDGES = 10.0 ** np.arange(-16.0, 0.01, 0.25)


def _pd():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas ships with the analysis extra
        raise MissingDependencyError("region statistics need pandas; run: pip install "
                                     "'reluregions[analysis]'") from exc
    return pd


def rank_bound(n: int, r: int) -> int:
    """``sum_{i=0..r} C(n, i)``: most cells ``n`` hyperplanes cut an ``r``-dim region into."""
    return int(sum(math.comb(int(n), i) for i in range(max(int(r), 0) + 1)))


@dataclass
class RegionStats:
    """Everything ``reluregions stats`` reports, as a summary and pandas DataFrames.

    Attributes
    ----------
    summary : dict
        Totals: regions, cells per layer, radius and volume summaries, distinct maps.
    per_layer : DataFrame
        ``layer, width, cells``: distinct prefixes after each hidden layer.
    children : DataFrame
        ``layer, parent_rank, children, parents``: how many parents (cells after ``layer``) have
        that many children (cells after ``layer + 1``); ``layer`` 0 is the whole domain.
    rank_study : DataFrame
        Per ``layer, parent_rank``: ``parents, mean, median, min, max`` children, the next layer's
        ``width`` and the ``bound``; ``max_over_bound`` above 1 would contradict the theory.
    ranks : DataFrame
        ``layer, rank, cells, regions``: rank of the map to ``layer`` over the cells after that
        layer and over the final regions.
    active : DataFrame
        ``layer, active, regions`` (``layer`` 0: all hidden layers together).
    inradius : DataFrame
        ``lo, hi, regions``: histogram of the stored radii (parameter coordinates); what they are
        is ``summary["radius_label"]`` (see :func:`radius_label`), in ``summary["radius_units"]``
        (see :func:`radius_units`).
    volume : DataFrame or None
        ``lo, hi, regions``: histogram of region volume as a fraction of the domain's.
    maps : DataFrame or None
        ``regions_per_map, maps``: how many distinct output maps are shared by that many regions.
    """

    summary: dict[str, Any]
    per_layer: Any
    children: Any
    rank_study: Any
    ranks: Any
    active: Any
    inradius: Any
    volume: Any = None
    maps: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tables as lists of records)."""
        out: dict[str, Any] = {"summary": self.summary}
        for name in ("per_layer", "children", "rank_study", "ranks", "active", "inradius", "volume",
                     "maps"):
            table = getattr(self, name)
            out[name] = None if table is None else _records(table)
        return out


def radius_label(config: dict[str, Any]) -> str:
    """What a region file's ``radius`` column holds, from the config it was written with.

    ``"Chebyshev radius"`` (the largest inscribed ball, one LP per region) when it was enumerated
    with ``chebyshev=True`` (``--chebyshev``), else ``"certified inscribed radius"``: a ball proved
    to lie inside the region, at most the Chebyshev radius.
    """
    return "Chebyshev radius" if config.get("chebyshev") else "certified inscribed radius"


def radius_units(bounded: bool) -> str:
    """The units of a region file's radii: the domain's normalised coordinates for a bounded
    domain (mapped into ``[-1, 1]^k``), input units for the whole input space (not rescaled)."""
    return "normalised coordinates" if bounded else "input units"


def _records(table: Any) -> list[dict[str, Any]]:
    rows = table.to_dict(orient="records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]


class _Accumulator:
    """One pass over a file: prefix counters, histograms and optional map keys."""

    def __init__(self, rf: RegionFile, network: Network | None, maps: bool, memory_rows: int,
                 workdir: str | Path | None, map_decimals: int) -> None:
        self.rf, self.network = rf, network
        L = rf.n_layers
        self.k = rf.param.dim
        parts = max(1, math.ceil(rf.n_rows / max(memory_rows, 1)))
        self.counters = [KeyCounter(key_width(rf.offsets[j]), 2, parts, workdir) for j in range(1, L + 1)]
        self.hasher = XorHasher(rf.n_bytes) if parts > 1 else None
        self.active = [np.zeros(w + 1, np.int64) for w in (rf.n_hidden, *rf.hidden_widths)]
        self.rank_regions = [dict() for _ in range(L)]
        self.radius_hist = np.zeros(len(RADIUS_EDGES) + 1, np.int64)
        self.radius = {"min": np.inf, "max": -np.inf, "sum": 0.0, "logsum": 0.0}
        self.map_counter: KeyCounter | None = None
        self.want_maps = maps
        self.map_decimals = map_decimals
        self.map_scale: float | None = None
        self.map_parts = parts
        self.workdir = workdir
        self.n = 0
        self.unbounded = 0

    def add(self, batch: Any) -> None:
        rf = self.rf
        n = len(batch)
        self.n += n
        bits = batch.bits
        ranks = self._ranks(batch, bits)
        full = np.column_stack([np.full(n, self.k), ranks]) if rf.n_layers else np.zeros((n, 1), int)
        for j, counter in enumerate(self.counters, start=1):
            keys = prefix_keys(batch.packed, rf.offsets[j])
            group = None
            if self.hasher is not None:
                group = self.hasher(prefix_keys(batch.packed, rf.offsets[j - 1]))[:, 0]
            counter.add(keys, np.column_stack([full[:, j], full[:, j - 1]]), group)
        self._histograms(batch, bits, ranks)
        if batch.bounded is not None:
            self.unbounded += int((~batch.bounded).sum())
        if self.want_maps:
            self._maps(batch, bits)

    def _ranks(self, batch: Any, bits: np.ndarray) -> np.ndarray:
        if batch.ranks is not None:
            return batch.ranks
        if self.network is not None:
            from .pullback import batch_maps

            out = [batch_maps(self.network, self.rf.param, bits[s:s + 4096])[2]
                   for s in range(0, len(bits), 4096)]
            return np.concatenate(out) if out else np.zeros((0, self.rf.n_layers), np.int64)
        return np.full((len(bits), self.rf.n_layers), -1, np.int64)

    def _histograms(self, batch: Any, bits: np.ndarray, ranks: np.ndarray) -> None:
        rf = self.rf
        if rf.n_layers:
            per_layer = np.add.reduceat(bits.astype(np.int64), rf.offsets[:-1], axis=1) if rf.n_hidden \
                else np.zeros((len(bits), rf.n_layers), np.int64)
            totals = [per_layer.sum(axis=1)] + [per_layer[:, i] for i in range(rf.n_layers)]
            for acc, values in zip(self.active, totals):
                acc += np.bincount(values, minlength=len(acc))[:len(acc)]
            for i in range(rf.n_layers):
                r, c = np.unique(ranks[:, i], return_counts=True)
                for rv, cv in zip(r.tolist(), c.tolist()):
                    self.rank_regions[i][rv] = self.rank_regions[i].get(rv, 0) + cv
        rad = batch.radii
        self.radius_hist += np.bincount(np.searchsorted(RADIUS_EDGES, rad, side="right"),
                                        minlength=len(RADIUS_EDGES) + 1)
        if len(rad):
            self.radius["min"] = min(self.radius["min"], float(rad.min()))
            self.radius["max"] = max(self.radius["max"], float(rad.max()))
            self.radius["sum"] += float(rad.sum())
            self.radius["logsum"] += float(np.log(np.maximum(rad, 1e-300)).sum())

    def _maps(self, batch: Any, bits: np.ndarray) -> None:
        if self.network is not None:
            from .pullback import batch_maps

            parts = []
            for s in range(0, len(bits), 4096):
                A, c, _ = batch_maps(self.network, self.rf.param, bits[s:s + 4096])
                parts.append(np.concatenate([A.reshape(len(A), -1), c], axis=1))
            values = np.concatenate(parts) if parts else np.zeros((0, 1))
        else:
            values = np.concatenate([batch.matrix("A"), batch.matrix("c")], axis=1)
        if self.map_scale is None:
            self.map_scale = max(float(np.abs(values).max(initial=0.0)), 1e-300)
        q = np.rint(values / self.map_scale * 10.0 ** self.map_decimals).astype(np.int64) + 0
        keys = np.ascontiguousarray(q).view(np.uint8).reshape(len(q), -1)
        if self.map_counter is None:
            self.map_counter = KeyCounter(keys.shape[1], 0, self.map_parts, self.workdir)
        group = XorHasher(keys.shape[1])(keys)[:, 0] if self.map_parts > 1 else None
        self.map_counter.add(keys, None, group)


def _children_tables(acc: _Accumulator) -> tuple[list[int], dict, list[dict[int, int]]]:
    """Cells per layer, the (layer, parent_rank, children) -> parents histogram, cell ranks."""
    rf = acc.rf
    cells: list[int] = []
    hist: dict[tuple[int, int, int], int] = {}
    cell_ranks: list[dict[int, int]] = []
    for j, counter in enumerate(acc.counters, start=1):
        total = 0
        ranks_j: dict[int, int] = {}
        for part in counter.results():
            total += len(part.keys)
            r, c = np.unique(part.payload[:, 0], return_counts=True)
            for rv, cv in zip(r.tolist(), c.tolist()):
                ranks_j[rv] = ranks_j.get(rv, 0) + cv
            parents = prefix_keys(part.keys, rf.offsets[j - 1])
            pv = np.ascontiguousarray(parents).view(np.dtype((np.void, parents.shape[1]))).ravel()
            _, first, inverse = np.unique(pv, return_index=True, return_inverse=True)
            n_children = np.bincount(inverse.reshape(-1))
            parent_rank = part.payload[first, 1]
            pairs, counts = np.unique(np.column_stack([parent_rank, n_children]), axis=0,
                                      return_counts=True)
            for (pr, nc), cnt in zip(pairs.tolist(), counts.tolist()):
                key = (j - 1, int(pr), int(nc))
                hist[key] = hist.get(key, 0) + int(cnt)
        cells.append(total)
        cell_ranks.append(ranks_j)
    return cells, hist, cell_ranks


def _median_from_counts(values: np.ndarray, counts: np.ndarray) -> float:
    order = np.argsort(values)
    v, c = values[order], counts[order]
    cum = np.cumsum(c)
    total = cum[-1]
    lo = v[np.searchsorted(cum, (total + 1) // 2)]
    hi = v[np.searchsorted(cum, total // 2 + 1)]
    return float(lo + hi) / 2


def _build(acc: _Accumulator, volumes: np.ndarray | None, domain_vol: float | None) -> RegionStats:
    pd = _pd()
    rf = acc.rf
    cells, hist, cell_ranks = _children_tables(acc)
    widths = rf.hidden_widths
    per_layer = pd.DataFrame({"layer": np.arange(1, rf.n_layers + 1, dtype=np.int64),
                              "width": np.asarray(widths, dtype=np.int64),
                              "cells": np.asarray(cells, dtype=np.int64)})
    rows = sorted(hist.items())
    children = pd.DataFrame([{"layer": l, "parent_rank": r, "children": c, "parents": p}
                             for (l, r, c), p in rows],
                            columns=["layer", "parent_rank", "children", "parents"])
    study = []
    for (l, r), grp in children.groupby(["layer", "parent_rank"], sort=True):
        vals, cnt = grp["children"].to_numpy(), grp["parents"].to_numpy()
        n_next = int(widths[l])
        bound = rank_bound(n_next, r) if r >= 0 else np.nan
        study.append({"layer": int(l), "parent_rank": int(r), "width": n_next,
                      "parents": int(cnt.sum()), "mean": float((vals * cnt).sum() / cnt.sum()),
                      "median": _median_from_counts(vals, cnt), "min": int(vals.min()),
                      "max": int(vals.max()), "bound": bound,
                      "max_over_bound": float(vals.max() / bound) if r >= 0 else np.nan})
    rank_table = pd.DataFrame(study, columns=["layer", "parent_rank", "width", "parents", "mean",
                                              "median", "min", "max", "bound", "max_over_bound"])
    rk = []
    for i in range(rf.n_layers):
        keys = sorted(set(cell_ranks[i]) | set(acc.rank_regions[i]))
        rk += [{"layer": i + 1, "rank": r, "cells": cell_ranks[i].get(r, 0),
                "regions": acc.rank_regions[i].get(r, 0)} for r in keys]
    ranks = pd.DataFrame(rk, columns=["layer", "rank", "cells", "regions"])
    act = []
    for i, counts in enumerate(acc.active):
        act += [{"layer": i, "active": a, "regions": int(v)} for a, v in enumerate(counts) if v]
    active = pd.DataFrame(act, columns=["layer", "active", "regions"])
    inradius = _hist_table(pd, RADIUS_EDGES, acc.radius_hist)
    n = acc.n
    summary: dict[str, Any] = {
        "file": str(rf.path), "regions": n, "input_dim": rf.input_dim, "domain_dim": acc.k,
        "hidden_widths": list(widths), "cells_per_layer": [int(c) for c in cells],
        "radius_min": acc.radius["min"] if n else None, "radius_max": acc.radius["max"] if n else None,
        "radius_mean": acc.radius["sum"] / n if n else None,
        "radius_geomean": float(np.exp(acc.radius["logsum"] / n)) if n else None,
        "radius_label": radius_label(rf.config),
        "radius_units": radius_units(rf.param.bounded),
        "rank_bound_ok": bool((rank_table["max_over_bound"].fillna(0) <= 1).all()),
    }
    if not rf.param.bounded:  # the whole input space (issue 15): how many regions are unbounded
        summary["unbounded"] = acc.unbounded
    volume = None
    if volumes is not None:
        frac = volumes / domain_vol if domain_vol else volumes
        counts = np.bincount(np.searchsorted(FRACTION_EDGES, frac, side="right"),
                             minlength=len(FRACTION_EDGES) + 1)
        volume = _hist_table(pd, FRACTION_EDGES, counts)
        summary.update(volume_total=math.fsum(volumes), domain_volume=domain_vol,
                       volume_min=float(volumes.min(initial=np.inf)) if n else None,
                       volume_max=float(volumes.max(initial=0.0)) if n else None)
    maps = None
    if acc.want_maps:
        sizes: dict[int, int] = {}
        distinct = 0
        if acc.map_counter is not None:
            for part in acc.map_counter.results():
                distinct += len(part.keys)
                s, c = np.unique(part.counts, return_counts=True)
                for sv, cv in zip(s.tolist(), c.tolist()):
                    sizes[sv] = sizes.get(sv, 0) + cv
        maps = pd.DataFrame([{"regions_per_map": s, "maps": m} for s, m in sorted(sizes.items())],
                            columns=["regions_per_map", "maps"])
        summary.update(distinct_maps=distinct, map_decimals=acc.map_decimals)
    return RegionStats(summary, per_layer, children, rank_table, ranks, active, inradius, volume, maps)


def _hist_table(pd: Any, edges: np.ndarray, counts: np.ndarray) -> Any:
    lo = np.concatenate([[0.0], edges])
    hi = np.concatenate([edges, [np.inf]])
    keep = counts > 0
    return pd.DataFrame({"lo": lo[keep], "hi": hi[keep], "regions": counts[keep].astype(np.int64)})


def compute_stats(path: str | Path, network: Network | None = None, *, volumes: bool = False,
                  maps: bool = False, workers: int | None = None, batch_size: int = 65536,
                  memory_rows: int = 4_000_000, workdir: str | Path | None = None,
                  map_decimals: int = 8, progress: ProgressFn | None = None) -> RegionStats:
    """Compute the statistics of a region file in one streaming pass (plus one for volumes).

    Parameters
    ----------
    path : str or Path
        A region file (``reluregions enumerate --out``).
    network : Network, optional
        The network the file was written for (checked by hash). Needed for ``volumes``, for
        ``maps`` unless the file stores ``A``/``c``, and for ranks when the file has none.
    volumes : bool
        Compute every region's volume (domain dimension at most 6).
    maps : bool
        Count distinct output maps ``A, c``, rounded to ``map_decimals`` decimals after scaling
        by the largest entry of the first batch.
    workers : int, optional
        Processes for the volumes (default: all CPUs).
    memory_rows : int
        Keys kept in memory per layer before counting spills to disk (see the module notes).
    progress : callable, optional
        Called as ``progress(stage, done, total)`` after each batch of rows.
    """
    rf = RegionFile(path)
    if network is not None:
        rf.check_network(network)
    if volumes:
        if network is None:
            raise InputError("region volumes are computed from the network; give NET (--net)")
        if rf.param.dim == 0:
            raise InputError(f"the domain of {path} is a single point; it has no volumes")
        if not rf.param.bounded:
            raise InputError(f"{path} holds the regions of the whole input space, where unbounded "
                             "regions have no finite volume; drop --volumes")
        if rf.param.dim > MAX_VOLUME_DIM:
            raise InputError(f"volumes are exact only up to dimension {MAX_VOLUME_DIM}; the domain "
                             f"of {path} has dimension {rf.param.dim}")
    if maps and network is None and not {"A", "c"} <= set(rf.columns):
        raise InputError(f"{path} stores no output maps; give the network (--net) or enumerate "
                         "with --maps")
    acc = _Accumulator(rf, network, maps, memory_rows, workdir, map_decimals)
    extras = ("A", "c") if maps and network is None else ()
    for batch in rf.batches(batch_size, extras):
        acc.add(batch)
        report(progress, "rows read", acc.n, rf.n_rows)
    vols, dom_vol = None, None
    if volumes:
        from ._parallel import default_workers, map_chunks
        from .geometry import GeometryWorker, domain_volume, file_chunks

        args = (network, rf.param, rf.n_hidden, rf.zero_tol, rf.radius_tol)
        w = default_workers() if workers is None else workers
        parts = []
        for part in map_chunks(GeometryWorker, args, "volume", file_chunks(rf), w):
            parts.append(part)
            report(progress, "volumes", sum(map(len, parts)), rf.n_rows)
        vols = np.concatenate(parts) if parts else np.zeros(0)
        dom_vol = domain_volume(rf.param)
    return _build(acc, vols, dom_vol)


def regions_per_layer(path: str | Path) -> Any:
    """Cells (distinct pattern prefixes) after each hidden layer: ``layer, width, cells``."""
    return compute_stats(path).per_layer


def children_per_parent(path: str | Path) -> Any:
    """``layer, parent_rank, children, parents``: the distribution of children per parent cell."""
    return compute_stats(path).children


def rank_study(path: str | Path, network: Network | None = None) -> Any:
    """Children per parent by the parent's rank, next to ``sum_{i<=r} C(n_{l+1}, i)``."""
    return compute_stats(path, network).rank_study


def ranks_per_layer(path: str | Path, network: Network | None = None) -> Any:
    """``layer, rank, cells, regions``: the rank of the map to each hidden layer."""
    return compute_stats(path, network).ranks


def active_neurons(path: str | Path) -> Any:
    """``layer, active, regions``: active neurons per region (layer 0 = all layers)."""
    return compute_stats(path).active


def inradius_distribution(path: str | Path) -> Any:
    """``lo, hi, regions``: histogram of Chebyshev radii (parameter coordinates)."""
    return compute_stats(path).inradius


def volume_distribution(path: str | Path, network: Network, workers: int | None = None) -> Any:
    """``lo, hi, regions``: histogram of region volume as a fraction of the domain's volume."""
    return compute_stats(path, network, volumes=True, workers=workers).volume


def shared_maps(path: str | Path, network: Network | None = None) -> Any:
    """``regions_per_map, maps``: how many regions share each distinct output map."""
    return compute_stats(path, network, maps=True).maps
