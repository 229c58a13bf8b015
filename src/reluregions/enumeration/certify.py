"""The completeness certificate of ``--certify`` (issue 15; DESIGN.md §1).

Given the regions of a run (patterns and interior points), it proves, in exact arithmetic where
floating point cannot decide:

1. every region's point lies strictly inside the region of its pattern
   (:func:`reluregions.geometry.exact.check_point`);
2. every facet of every region, other than the domain's boundary, is matched by a region of the
   output on its other side (:func:`reluregions.enumeration._certify_facets.certify_region`).

Then the regions tile the domain: distinct patterns are disjoint, and a point of the domain outside
every region would leave a facet unmatched on the boundary of the union.

The neighbour across a facet ``F`` (constraint of neuron ``j``) is computed exactly, not by
flipping one bit: the neurons whose pulled-back function vanishes on ``F`` (rows proportional to
``j``'s, coincident hyperplanes of any layer, and neurons identically zero on the region) take the
sign of their derivative across ``F`` in the neighbour's own maps, layer by layer; every other
neuron keeps its bit (it has a strict sign on the relative interior of ``F``). A constraint whose
neighbour is not in the output must be proven not to be a facet: strictly redundant on a rigorous
bounding box of the region, or by a Motzkin certificate (from the facet LP's dual) verified exactly.

Cost. On an axis-box domain (a box, or an affine slice of one) both steps first run vectorised
over blocks of regions (:mod:`._certify_fast`): the point check and every facet decision are made
in floating point with rigorous error bounds, by compiled code, and neighbours are looked up in
bulk in a hash index of the output (:mod:`._certify_index`). Only what floating point cannot settle
(a point within its rounding of a hyperplane, a region with a possibly zero or coincident neuron, a
constraint that touches the region without being matched: a vertex on it, the domain's boundary,
a missing neighbour) goes to the exact checks below, region by region; they name the region and
facet of a failure. Blocks may run on worker threads (``workers``).

Pure: no printing, no files; progress goes to a callback.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from ..geometry import exact as ex
from ..geometry.blas import one_blas_thread
from ..geometry.lp import LPSolver
from ._certify_facets import CertifyContext, certify_region
from ._certify_fast import block_maps, certify_block
from ._certify_index import PatternIndex

__all__ = ["Certificate", "certify_regions", "exact_coordinates"]


@dataclass
class Certificate:
    """Figures of a certificate; ``certified`` is False with ``failure`` naming region and facet."""

    certified: bool = True
    regions: int = 0
    points_exact: int = 0
    facets_matched: int = 0
    boundary_facets: int = 0
    far_constraints: int = 0
    non_facets_proven: int = 0
    exact_decisions: int = 0
    lps: int = 0
    regions_exact_path: int = 0
    failure: str | None = None
    failed_region: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (``count --certify --json``, Parquet metadata)."""
        return asdict(self)


def certify_regions(network: Any, domain: Any, bits: np.ndarray, points: np.ndarray,
                    progress: Callable[[int, int], None] | None = None,
                    workers: int = 1) -> Certificate:
    """Certify the regions ``bits`` (n, n_hidden) with interior ``points`` (n, d, input coordinates).

    Parameters
    ----------
    network : Network
    domain : Domain
        The domain the regions were enumerated in (a bounded box, polytope or slice).
    bits, points : ndarray
    progress : callable, optional
        Called as ``progress(done, total)`` every few hundred regions.
    workers : int, default 1
        Threads for the vectorised pass (its compiled kernel releases the GIL; blocks of regions
        are independent). The exact per-region remainder runs in the calling thread.

    Returns
    -------
    Certificate

    Notes
    -----
    Runs with BLAS limited to one thread (:func:`reluregions.geometry.blas.one_blas_thread`): its
    products are small (a block's layer maps), and a second BLAS thread only spin-waits. On robot
    with OpenBLAS's default two threads that spinning cost 5 to 6 s of CPU, more than half again
    the certificate's own work.
    """
    with one_blas_thread():
        return _certify(network, domain, bits, points, progress, workers)


def _certify(network: Any, domain: Any, bits: np.ndarray, points: np.ndarray,
             progress: Callable[[int, int], None] | None, workers: int) -> Certificate:
    """:func:`certify_regions`'s body (BLAS already limited)."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[0]
    cert = Certificate(regions=n)
    net = ex.ExactNetwork.of(network)
    dom = ex.exact_domain(domain)
    S = exact_coordinates(domain, np.asarray(points, dtype=np.float64).reshape(n, -1))
    packed = np.packbits(bits, axis=1, bitorder="little")
    index = PatternIndex(packed, bits.shape[1])
    fast = dom.dim > 0 and dom.box is not None and dom.axis_box and n > 0
    if fast:
        points_left, todo = _fast_path(net, dom, bits, packed, S, index, cert, progress, workers)
    else:
        points_left = np.arange(n)
        todo = np.arange(n) if dom.dim > 0 else np.zeros(0, dtype=np.int64)
    for start in range(0, points_left.size, 4096):
        rs = points_left[start:start + 4096]
        chk = ex.check_point(net, dom, bits[rs], S[rs])
        cert.points_exact += chk.exact
        bad = np.flatnonzero(~chk.ok)
        if bad.size:
            r = int(rs[bad[0]])
            return _fail(cert, r, f"region {r}: its point is not strictly inside it "
                                  f"({chk.reason[int(bad[0])]})")
    cert.exact_decisions += cert.points_exact
    if index.has_duplicates():
        return _fail(cert, None, "two regions share a pattern")
    ctx = CertifyContext(net, dom, LPSolver(), index, cert, net.widths)
    cert.regions_exact_path = int(todo.size)
    for done, r in enumerate(todo.tolist()):
        message = certify_region(ctx, bits[r], S[r])
        if message is not None:
            cert.lps = ctx.solver.count
            return _fail(cert, r, f"region {r}: {message}")
        if progress is not None and (done + 1) % 256 == 0:
            progress(n - todo.size + done + 1, n)
    cert.lps = ctx.solver.count
    if progress is not None:
        progress(n, n)
    return cert


def _fail(cert: Certificate, r: int | None, message: str) -> Certificate:
    cert.certified = False
    cert.failure = message
    cert.failed_region = r
    return cert


#: Regions per block of the vectorised path.
_BLOCK = 2048


def _fast_path(net: ex.ExactNetwork, dom: ex.ExactDomain, bits: np.ndarray, packed: np.ndarray,
               S: np.ndarray, index: PatternIndex, cert: Certificate,
               progress: Callable[[int, int], None] | None,
               workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Settle what floating point can, block by block (:mod:`._certify_fast`, an axis-box domain):
    the regions whose point, and those whose facets, are left to the exact checks, in order."""
    n = bits.shape[0]
    lo, hi = (np.asarray(v, dtype=np.float64) for v in dom.box)
    left, points_left, done = [], [], 0

    def block(start: int) -> tuple[int, dict]:
        stop = min(n, start + _BLOCK)
        return start, certify_block(block_maps(net, dom, bits[start:stop]), bits[start:stop],
                                    packed[start:stop], S[start:stop], index, lo, hi)

    starts = range(0, n, _BLOCK)
    if workers > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=workers)
        results = pool.map(block, starts)
    else:
        pool, results = None, map(block, starts)
    try:
        for start, out in results:
            left.append(start + np.flatnonzero(out["exact"]))
            points_left.append(start + np.flatnonzero(out["point_unsure"]))
            cert.far_constraints += out["far"]
            cert.facets_matched += out["matched"]
            cert.non_facets_proven += out["proven"]
            done += min(n, start + _BLOCK) - start - int(out["exact"].sum())
            if progress is not None:
                progress(done, n)
    finally:
        if pool is not None:
            pool.shutdown()
    return np.concatenate(points_left), np.concatenate(left)


def exact_coordinates(domain: Any, X: np.ndarray) -> np.ndarray:
    """Exact-domain coordinates ``s`` of input points ``X``."""
    kind = domain.to_dict()["type"]
    if kind == "box":
        return X[:, domain.hi > domain.lo]
    if kind == "affine_slice":
        inner_x, *_ = np.linalg.lstsq(domain.U, (X - domain.x0).T, rcond=None)
        return exact_coordinates(domain.inner, inner_x.T)
    return X


class CertificateError(Exception):
    """A run's regions failed their certificate (names the region and the facet)."""


def _error_class():
    from ..errors import ReluRegionsError

    class _CertificateError(CertificateError, ReluRegionsError):
        pass

    return _CertificateError


CertificateFailed = _error_class()


class CertifyingStream:
    """A :class:`~reluregions.enumeration.api.RegionStream` whose regions are certified at the end.

    Iterating collects each region's pattern and point; once the stream is exhausted the
    certificate runs (:func:`certify_regions`) and is stored in ``certificate``; a failed one raises
    :class:`CertificateFailed` (exit status 1 on the command line).
    """

    def __init__(self, stream: Any, network: Any, domain: Any, progress=None) -> None:
        self._stream, self._network, self._domain = stream, network, domain
        self._progress = progress
        self.certificate: Certificate | None = None
        self.certify_seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __iter__(self):
        bits, points = [], []
        for region in self._stream:
            bits.append(np.asarray(region.bits, bool))
            points.append(np.asarray(region.point, float))
            yield region
        self._finish(bits, points, stack=True)

    def chunks(self):
        bits, points = [], []
        for chunk in self._stream.chunks():
            if len(chunk):
                bits.append(np.asarray(chunk.bits, bool))
                points.append(np.asarray(chunk.points, float))
            yield chunk
        self._finish(bits, points, stack=False)

    def counts(self):
        for chunk in self.chunks():
            yield len(chunk)

    def _finish(self, bits: list, points: list, stack: bool) -> None:
        import time

        n_hidden = self._network.n_hidden
        d = self._network.input_dim
        if stack:
            B = np.array(bits, dtype=bool).reshape(len(bits), n_hidden)
            P = np.array(points, dtype=float).reshape(len(points), d)
        else:
            B = np.concatenate(bits) if bits else np.zeros((0, n_hidden), bool)
            P = np.concatenate(points) if points else np.zeros((0, d))
        start = time.perf_counter()
        workers = getattr(getattr(self._stream, "scheduler", None), "workers", 1)
        self.certificate = certify_regions(self._network, self._domain, B, P, self._progress,
                                           workers=int(workers or 1))
        self.certify_seconds = time.perf_counter() - start
        if not self.certificate.certified:
            raise CertificateFailed(f"certificate failed: {self.certificate.failure}")
