"""Region details on demand: irredundant H-representation, vertices, volume, adjacency graph.

Each region is rebuilt from its pattern and the network (:mod:`reluregions.analysis.pullback`,
the pull-back of Drammis et al. 2024, §3), in the domain's parameter coordinates ``t``:

* **H-representation** — the constraints that define facets: from the halfspace intersection's dual
  hull (Qhull) in dimension 2 to 8, by one LP per constraint above that;
* **vertices** — ``scipy.spatial.HalfspaceIntersection`` around an interior point (the stored one
  when it lies clearly inside, else the Chebyshev centre from one LP);
* **volume** — computed in the normalised coordinates ``t`` (DESIGN.md §1), where the domain is
  ``[-1, 1]^k`` however small or stretched the box, from the halfspace intersection's vertices and
  the rows through each (:func:`reluregions.geometry.polytope.volume_t`: no convex hull of the
  vertices, no tolerance), then reported in input coordinates (the ``k``-dimensional measure in
  the domain's affine hull: the volume in ``t`` times the Jacobian ``sqrt(det(U^T U))``, the
  product of ``U``'s singular values);
* **adjacency** — two regions are adjacent when their patterns differ in exactly one bit and the
  common facet is ``(k-1)``-dimensional: the Chebyshev radius of both closed regions intersected
  with the neuron's hyperplane, measured inside the hyperplane, exceeds the run's ``radius_tol``.
  (On degenerate nets, where several neurons share a hyperplane, neighbours across it differ in
  several bits and are not reported.)

The kernels on one polytope (interior point, vertices, facets, volume) are in
:mod:`reluregions.geometry.polytope`; this module rebuilds each region, runs them in worker
processes (:func:`reluregions.analysis._parallel.map_chunks`) over whole files and writes the results.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..config import EnumerationConfig
from ..domains import Domain, Parametrization
from ..errors import InputError, OptionError
from ..geometry.polytope import MAX_QHULL_DIM, facets_t, interior_point, vertices_t, volume_t
from ..network import Network
from ._parallel import ChunkSizer, ProgressFn, default_workers, map_chunks, report
from .pullback import PatternGeometry, PullbackCache, pattern_geometry
from .regionfile import RegionFile

__all__ = ["region_hrep", "region_vertices", "region_volume", "domain_volume", "volume_scale",
           "adjacency_edges", "region_details", "GeometryWorker", "DETAILS", "MAX_QHULL_DIM"]

DETAILS = ("hrep", "vertices", "volume", "adjacency")
_DEFAULTS = EnumerationConfig()  # tolerances when none are given (DESIGN.md §1)


def _as_param(domain: Domain | Parametrization) -> Parametrization:
    return domain if isinstance(domain, Parametrization) else domain.parametrize()


def volume_scale(param: Parametrization) -> float:
    """Factor from volumes in parameter coordinates to ``k``-volumes in input coordinates."""
    if param.dim == 0:
        return 1.0
    # sqrt(det(U^T U)) without forming U^T U, whose determinant under- or overflows first
    return float(np.prod(np.linalg.svd(param.U, compute_uv=False)))


class GeometryWorker:
    """Per-process state for region geometry: network, parametrisation, tolerances, LP solver.

    Chunks are ``(rows, packed, t_points)``: row indices, packed patterns, interior points in
    parameter coordinates (or None). Pair chunks are ``(pairs, packed_a, packed_b, t_a)``.
    """

    def __init__(self, network: Network, param: Parametrization, n_hidden: int,
                 zero_tol: float = _DEFAULTS.zero_tol, radius_tol: float = _DEFAULTS.radius_tol) -> None:
        from ..geometry.lp import LPSolver

        self.network, self.param = network, param
        self.n_hidden, self.zero_tol, self.radius_tol = n_hidden, zero_tol, radius_tol
        self.solver = LPSolver()
        self.cache = PullbackCache(network, param, zero_tol)
        widths = network.hidden_widths
        self.layer_of = np.repeat(np.arange(len(widths)), widths)
        self.offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)

    def _bits(self, packed: np.ndarray) -> np.ndarray:
        from ..regionblock import unpack_bits

        return unpack_bits(packed, self.n_hidden)

    def geometry(self, bits: np.ndarray) -> PatternGeometry:
        """The pattern's constraints and maps."""
        return pattern_geometry(self.network, self.param, bits, self.zero_tol, ranks=False,
                                cache=self.cache)

    def _solid(self, bits: np.ndarray, hint: np.ndarray | None) -> tuple[PatternGeometry, np.ndarray, float]:
        g = self.geometry(bits)
        if not g.consistent:
            return g, np.zeros(self.param.dim), -np.inf
        center, radius = interior_point(g.G, g.h, hint, self.solver)
        return g, center, radius

    def _each(self, chunk: tuple) -> Iterator[tuple[int, PatternGeometry, np.ndarray, float]]:
        rows, packed, t = chunk
        bits = self._bits(packed)
        for i, row in enumerate(rows):
            g, center, radius = self._solid(bits[i], None if t is None else t[i])
            yield int(row), g, center, radius

    def hrep(self, chunk: tuple) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Irredundant ``(G, h)`` (parameter coordinates) of each region, None if not solid."""
        out = []
        for _, g, center, radius in self._each(chunk):
            if radius <= 0:
                out.append(None)
                continue
            idx = facets_t(g.G, g.h, center, self.solver)
            out.append((g.G[idx], g.h[idx]))
        return out

    def vertices(self, chunk: tuple) -> list[np.ndarray | None]:
        """Vertices (parameter coordinates) of each region, None if not solid."""
        return [vertices_t(g.G, g.h, c) if r > 0 else None for _, g, c, r in self._each(chunk)]

    def volume(self, chunk: tuple) -> np.ndarray:
        """Volume of each region in input coordinates (0 when not solid)."""
        scale = volume_scale(self.param)
        out = [volume_t(g.G, g.h, c) * scale if r > 0 else 0.0 for _, g, c, r in self._each(chunk)]
        return np.array(out, dtype=float)

    def solidity(self, chunk: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Per region: Chebyshev radius of its pattern's polytope (-inf if inconsistent), bad bit."""
        rows, packed, _ = chunk
        bits = self._bits(packed)
        radii, bad = np.empty(len(rows)), np.full(len(rows), -1, dtype=np.int64)
        for i in range(len(rows)):
            g = self.geometry(bits[i])
            if not g.consistent:
                radii[i], bad[i] = -np.inf, g.bad_bits[0]
            else:
                radii[i] = self.solver.chebyshev(g.G, g.h)[1]
        return radii, bad

    def facet_radius(self, chunk: tuple) -> np.ndarray:
        """For pairs differing in one bit: radius of their common facet inside its hyperplane."""
        pairs, packed_a, packed_b = chunk
        ba, bb = self._bits(packed_a), self._bits(packed_b)
        out = np.full(len(pairs), -np.inf)
        for i, (_, _, bit) in enumerate(pairs):
            ga, gb = self.geometry(ba[i]), self.geometry(bb[i])
            out[i] = self._facet(ga, gb, int(bit))
        return out

    def overlap_radius(self, chunk: tuple) -> np.ndarray:
        """For pairs: Chebyshev radius of the intersection of both closed regions (verify)."""
        pairs, packed_a, packed_b = chunk
        ba, bb = self._bits(packed_a), self._bits(packed_b)
        out = np.empty(len(pairs))
        for i in range(len(pairs)):
            ga, gb = self.geometry(ba[i]), self.geometry(bb[i])
            out[i] = self.solver.chebyshev(np.vstack([ga.G, gb.G]), np.concatenate([ga.h, gb.h]))[1]
        return out

    def _facet(self, ga: PatternGeometry, gb: PatternGeometry, bit: int) -> float:
        hit = np.flatnonzero(ga.neuron == bit)
        if hit.size == 0 or not (ga.consistent and gb.consistent):
            return -np.inf  # a constant neuron: no hyperplane between the two
        a, b = ga.G[hit[0]], ga.h[hit[0]]
        later = self.offsets[self.layer_of[bit] + 1]
        keep_a = ga.neuron != bit
        keep_b = gb.neuron >= later
        G = np.vstack([ga.G[keep_a], gb.G[keep_b]])
        h = np.concatenate([ga.h[keep_a], gb.h[keep_b]])
        t0 = a * b
        k = G.shape[1]
        if k == 1:
            return 1.0 if float(np.max(G @ t0 - h, initial=-np.inf)) <= self.radius_tol else -np.inf
        basis = np.linalg.svd(a[None, :])[2][1:].T  # (k, k-1), orthonormal, orthogonal to a
        Gs = G @ basis
        return float(self.solver.chebyshev(Gs, h - G @ t0, np.linalg.norm(Gs, axis=1))[1])


# ---------------------------------------------------------------------------------------- one region
def _one(network: Network, domain: Domain | Parametrization, bits: Any, point: Any,
         zero_tol: float) -> tuple[GeometryWorker, PatternGeometry, np.ndarray, float]:
    param = _as_param(domain)
    bits = np.asarray(bits, dtype=bool).reshape(-1)
    if bits.size != network.n_hidden:
        raise InputError(f"pattern has {bits.size} bits but the network has {network.n_hidden} "
                         "hidden neurons")
    if param.dim == 0:
        raise InputError("the domain is a single point; it has no facets, vertices or volume")
    worker = GeometryWorker(network, param, network.n_hidden, zero_tol)
    hint = None
    if point is not None:
        p = np.asarray(point, dtype=float).reshape(-1)
        hint = np.linalg.lstsq(param.U, p - param.x0, rcond=None)[0]
    g, center, radius = worker._solid(bits, hint)
    if radius <= 0:
        raise InputError("the pattern describes no full-dimensional region of this domain "
                         f"({'inconsistent constant neurons' if not g.consistent else 'empty'})")
    return worker, g, center, radius


def region_hrep(network: Network, domain: Domain | Parametrization, bits: Any, point: Any = None,
                *, zero_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Irredundant H-representation ``G t <= h`` of a pattern's region (parameter coordinates).

    Parameters
    ----------
    network : Network
    domain : Domain or Parametrization
        The domain the region lives in; ``t`` are its normalised coordinates (``x = x0 + U t``).
    bits : array of bool
        The activation pattern (all hidden neurons, layer by layer).
    point : array, optional
        An interior point in input coordinates (saves one LP).
    zero_tol : float
        Constant-neuron tolerance (DESIGN.md §1).
    """
    worker, g, center, _ = _one(network, domain, bits, point, zero_tol)
    idx = facets_t(g.G, g.h, center, worker.solver)
    return g.G[idx], g.h[idx]


def region_vertices(network: Network, domain: Domain | Parametrization, bits: Any, point: Any = None,
                    *, zero_tol: float = 1e-9, coords: str = "input") -> np.ndarray:
    """Vertices of a pattern's region, in ``"input"`` or ``"param"`` coordinates."""
    if coords not in ("input", "param"):
        raise OptionError(f"unknown coordinates '{coords}'; choose one of: input, param")
    worker, g, center, _ = _one(network, domain, bits, point, zero_tol)
    V = vertices_t(g.G, g.h, center)
    return worker.param.to_input(V) if coords == "input" else V


def region_volume(network: Network, domain: Domain | Parametrization, bits: Any, point: Any = None,
                  *, zero_tol: float = 1e-9) -> float:
    """Volume of a pattern's region in input coordinates (``k``-volume for a ``k``-dim domain)."""
    worker, g, center, _ = _one(network, domain, bits, point, zero_tol)
    return volume_t(g.G, g.h, center) * volume_scale(worker.param)


def domain_volume(domain: Domain | Parametrization) -> float:
    """Volume of the domain in input coordinates (``k``-volume for a ``k``-dim domain)."""
    from ..geometry.lp import LPSolver

    param = _as_param(domain)
    k = param.dim
    if k == 0:
        return 1.0
    center, _ = LPSolver().chebyshev(param.G, param.h)
    return volume_t(param.G, param.h, center) * volume_scale(param)


# ---------------------------------------------------------------------------------------- files
def file_chunks(rf: RegionFile, chunk_rows: int | Callable[[], int] = 256, batch_size: int = 65536,
                rows: tuple[int, int] | None = None, points: bool = True) -> Iterator[tuple]:
    """``(rows, packed, t_points)`` chunks of a region file (rows ``rows[0]`` to ``rows[1]``), in
    order; ``chunk_rows`` may be a function giving each chunk's size when it is cut; ``t_points``
    is None without ``points``."""
    size = chunk_rows if callable(chunk_rows) else (lambda: chunk_rows)
    for batch in rf.batches(batch_size, rows=rows):
        t = rf.to_param(batch.points) if points else [None] * len(batch)
        index, packed = batch.rows, batch.packed
        s = 0
        while s < len(batch):
            n = max(int(size()), 1)
            yield index[s:s + n], packed[s:s + n], t[s:s + n]
            s += n


def _worker_args(rf: RegionFile, network: Network) -> tuple:
    return (network, rf.param, rf.n_hidden, rf.zero_tol, rf.radius_tol)


def adjacency_edges(path: str | Path, network: Network, workers: int | None = None,
                    chunk_pairs: int = 512, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
    """Edges of the adjacency graph of a region file, in chunks.

    Yields (m, 4) float arrays ``(row_a, row_b, bit, facet_radius)`` of adjacent pairs. Patterns
    are held in memory (``n * (n_bytes + 24)`` bytes, :class:`~reluregions.analysis._keys.PatternIndex`).
    """
    from ._keys import PatternIndex

    rf = RegionFile(path)
    rf.check_network(network)
    packed = np.concatenate([b.packed for b in rf.batches()]) if rf.n_rows else np.zeros((0, rf.n_bytes), np.uint8)
    index = PatternIndex(packed, rf.n_hidden)

    workers = default_workers() if workers is None else workers
    sizer = ChunkSizer(first=2 * workers, largest=chunk_pairs)

    def chunks() -> Iterator[tuple]:
        for pairs in index.neighbour_pairs():
            s = 0
            while s < len(pairs):
                p = pairs[s:s + sizer()]
                s += len(p)
                yield p, packed[p[:, 0]], packed[p[:, 1]]

    source = chunks()
    pair_chunks: list = []

    def tee() -> Iterator[tuple]:
        for c in source:
            pair_chunks.append(c[0])
            yield c

    done, last = 0, time.perf_counter()
    for radii in map_chunks(GeometryWorker, _worker_args(rf, network), "facet_radius", tee(), workers):
        pairs = pair_chunks.pop(0)
        now = time.perf_counter()
        sizer.record(len(pairs), (now - last) * workers)
        done, last = done + len(pairs), now
        report(progress, "neighbour pairs (one LP each)", done, None)
        ok = radii > rf.radius_tol
        if ok.any():
            yield np.column_stack([pairs[ok].astype(float), radii[ok]])


def _region_rows(rf: RegionFile, network: Network, what: str, workers: int,
                 progress: ProgressFn | None = None) -> Iterator[dict]:
    """Per-row records of ``hrep``, ``vertices`` or ``volume`` for the whole file."""
    chunk_rows: list = []
    sizer = ChunkSizer(first=2 * workers, largest=256)

    def tee() -> Iterator[tuple]:
        for c in file_chunks(rf, sizer):
            chunk_rows.append(c[0])
            yield c

    d = rf.input_dim
    done, last = 0, time.perf_counter()
    for result in map_chunks(GeometryWorker, _worker_args(rf, network), what, tee(), workers):
        rows = chunk_rows.pop(0)
        now = time.perf_counter()  # the worker time of a chunk, about (wall between results) x workers
        sizer.record(len(rows), (now - last) * workers)
        done, last = done + len(rows), now
        report(progress, f"{what} of each region", done, rf.n_rows)
        if what == "volume":
            yield from ({"row": int(r), "volume": float(v)} for r, v in zip(rows, result))
        elif what == "hrep":
            for r, gh in zip(rows, result):
                G, h = gh if gh is not None else (np.zeros((0, rf.param.dim)), np.zeros(0))
                yield {"row": int(r), "n_facets": len(h), "G": G.ravel().tolist(), "h": h.tolist()}
        else:
            for r, V in zip(rows, result):
                X = rf.param.to_input(V) if V is not None else np.zeros((0, d))
                yield {"row": int(r), "n_vertices": len(X), "vertices": X.ravel().tolist()}


def region_details(path: str | Path, network: Network, what: str, out: str | Path,
                   workers: int | None = None, progress: ProgressFn | None = None) -> int:
    """Write one detail of every region (or the adjacency edges) of a file to a Parquet file.

    Returns the number of rows written. ``hrep`` rows hold ``G`` (row-major, parameter
    coordinates) and ``h``; ``vertices`` rows hold the vertices (row-major, input coordinates);
    ``volume`` rows the volume in input coordinates; ``adjacency`` rows the pair
    ``row_a < row_b``, the pattern ``bit`` they differ in, its ``layer`` and ``neuron`` and the
    common facet's Chebyshev radius (parameter coordinates).

    ``progress(stage, done, total)`` is called after each chunk of work. The output is written to
    a hidden ``.partial`` file beside ``out`` and renamed at the end
    (:class:`~reluregions.io.atomic.AtomicFile`); it is removed on any error or interrupt.
    """
    import json

    import pyarrow as pa

    from ..io.atomic import AtomicFile
    from ..io.parquet import parquet_writer

    if what not in DETAILS:
        raise OptionError(f"unknown detail '{what}'; choose one of: {', '.join(DETAILS)}")
    rf = RegionFile(path)
    rf.check_network(network)
    if rf.param.dim == 0:
        raise InputError(f"{path}: the domain is a single point; it has no geometry to detail")
    workers = default_workers() if workers is None else workers
    meta = {b"reluregions": json.dumps({**rf.meta, "details": what, "source": str(path)}).encode()}
    if what == "adjacency":
        widths = np.asarray(rf.hidden_widths)
        offsets = rf.offsets
        schema = pa.schema([("row_a", pa.int64()), ("row_b", pa.int64()), ("bit", pa.int64()),
                            ("layer", pa.int32()), ("neuron", pa.int32()),
                            ("facet_radius", pa.float64())], metadata=meta)
        layer_of = np.repeat(np.arange(len(widths)), widths)
        batches = (_edge_table(e, layer_of, offsets, schema)
                   for e in adjacency_edges(path, network, workers, progress=progress))
    else:
        col = {"hrep": [("n_facets", pa.int32()), ("G", pa.list_(pa.float64())),
                        ("h", pa.list_(pa.float64()))],
               "volume": [("volume", pa.float64())],
               "vertices": [("n_vertices", pa.int32()), ("vertices", pa.list_(pa.float64()))]}[what]
        schema = pa.schema([("row", pa.int64()), *col], metadata=meta)
        batches = _grouped(_region_rows(rf, network, what, workers, progress), schema)
    count = 0
    try:  # interrupted (KeyboardInterrupt, SIGTERM) or failed: no partial file is left
        with AtomicFile(out) as target, parquet_writer(target.tmp, schema) as writer:
            for table in batches:
                writer.write_table(table)
                count += table.num_rows
    except OSError as exc:
        raise InputError(f"{out}: cannot write the output file ({exc})") from None
    return count


def _edge_table(edges: np.ndarray, layer_of: np.ndarray, offsets: np.ndarray, schema: Any) -> Any:
    import pyarrow as pa

    bit = edges[:, 2].astype(np.int64)
    layer = layer_of[bit]
    return pa.table({"row_a": edges[:, 0].astype(np.int64), "row_b": edges[:, 1].astype(np.int64),
                     "bit": bit, "layer": (layer + 1).astype(np.int32),
                     "neuron": (bit - offsets[layer]).astype(np.int32),
                     "facet_radius": edges[:, 3]}, schema=schema)


def _grouped(records: Iterator[dict], schema: Any, size: int = 8192) -> Iterator[Any]:
    import pyarrow as pa

    buf: list[dict] = []
    for rec in records:
        buf.append(rec)
        if len(buf) >= size:
            yield pa.Table.from_pylist(buf, schema=schema)
            buf = []
    if buf:
        yield pa.Table.from_pylist(buf, schema=schema)
