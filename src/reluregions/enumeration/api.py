"""Public entry points: validate once, then run an algorithm under a scheduler."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Iterator

import numpy as np

from ..config import EnumerationConfig, check_choice
from ..domains import Box, Domain
from ..errors import OptionError, ShapeMismatchError
from ..network import Network
from ..regionblock import RegionRow
from .base import Algorithm, Problem, RegionBlock, Stats, root_items

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "make_problem", "make_algorithm", "iter_regions",
           "enumerate_regions", "count_regions", "CountResult", "RegionStream"]


def _registry() -> dict[str, type[Algorithm]]:
    from .highd import HighDimAlgorithm
    from .lpdfs import LPTraversalAlgorithm
    from .paper import PaperAlgorithm
    from .vertex import VertexAlgorithm
    from .witness import WitnessAlgorithm

    return {"witness": WitnessAlgorithm, "vertex": VertexAlgorithm, "paper": PaperAlgorithm,
            "highd": HighDimAlgorithm, "lpdfs": LPTraversalAlgorithm}


ALGORITHMS: tuple[str, ...] = ("default", "vertex", "highd", "lpdfs", "witness", "paper")
DEFAULT_ALGORITHM = "default"


def make_problem(network: Network, domain: Domain | None = None,
                 config: EnumerationConfig | None = None) -> Problem:
    """Validate the inputs once and bundle them (the domain defaults to ``[-1, 1]^d``)."""
    config = config or EnumerationConfig()
    check_choice("algorithm", config.algorithm, ALGORITHMS)
    if domain is None:
        domain = Box.symmetric(network.input_dim)
    if domain.input_dim != network.input_dim:
        raise ShapeMismatchError(f"the domain has {domain.input_dim} coordinates but the network "
                                 f"takes {network.input_dim} inputs")
    if config.radius_tol < config.band:  # a band narrower than the LP's accuracy (DESIGN.md §1)
        config = replace(config, radius_tol=config.band)
    return Problem(network, domain.parametrize(), config)


#: Bounded domains of these dimensions go to the compiled LP traversal by default (issue 14):
#: bench/bench_lpdfs.py measured it faster than vertex from 6 dimensions on (1.8x at 6, 5x at 7,
#: 25x at 8) and than witness and highd everywhere up to 64 (10x highd at 40 and 64).
LPDFS_DIMS = (6, 64)
#: Domains of at least this dimension go to the high-dimensional engine by default (issue 14).
HIGHD_MIN_DIM = LPDFS_DIMS[1] + 1


def choose_algorithm(problem: Problem) -> tuple[str, str]:
    """The concrete algorithm ``problem.config.algorithm`` names, and why.

    ``"default"`` picks ``"vertex"`` (LP-free) for box domains of dimension below 6 when numba
    is installed and the first layer is enumerated incrementally; ``"lpdfs"`` (the compiled LP
    traversal) in dimensions :data:`LPDFS_DIMS` (6 to 64) when numba is installed; ``"highd"``
    (cuts as rows, the box as bounds, HiGHS) from :data:`HIGHD_MIN_DIM` dimensions on, where the
    ``2k`` box rows that ``"witness"`` carries into every LP dominate its cost; ``"witness"``
    otherwise and in the whole input space, where only it and ``"paper"`` work
    (:data:`UNBOUNDED_ALGORITHMS`).
    """
    name = problem.config.algorithm
    if name != "default":
        return name, "asked for"
    if not problem.param.bounded:
        return "witness", "the whole input space: cells may be unbounded"
    from ..geometry.kernels import HAVE_NUMBA
    from .vertex import vertex_applicable

    k = problem.param.dim
    low, high = LPDFS_DIMS
    if problem.config.first_layer == "incremental" and k < low and vertex_applicable(problem):
        return "vertex", f"box domain of dimension {k} < {low}: vertex counts stay small"
    if HAVE_NUMBA and low <= k <= high:
        return "lpdfs", (f"domain of dimension {k} in {low}..{high}: compiled LPs of a few dozen "
                         "rows (vertex counts grow as 2^k, the Python work per region of the "
                         "HiGHS-based algorithms dominates)")
    if k >= HIGHD_MIN_DIM:
        return "highd", (f"domain of dimension {k} >= {HIGHD_MIN_DIM}: LPs carry the cuts as rows "
                         "and the box as bounds")
    return "witness", f"domain of dimension {k}: between the vertex and the high-dimensional range"


def resolve_algorithm(problem: Problem) -> str:
    """The concrete algorithm ``problem.config.algorithm`` names (see :func:`choose_algorithm`)."""
    return choose_algorithm(problem)[0]


def make_algorithm(problem: Problem) -> Algorithm:
    """The algorithm named by ``problem.config.algorithm`` (``default`` resolved)."""
    name = resolve_algorithm(problem)
    if not problem.param.bounded and name not in UNBOUNDED_ALGORITHMS:
        raise OptionError(f"the {name} algorithm needs a bounded domain; for the whole input space "
                          f"use one of: {', '.join(UNBOUNDED_ALGORITHMS)} (or the default)")
    algorithm = _registry()[name](problem)
    if name in _RELEASES_GIL:  # tells the auto scheduler to use threads (Algorithm.releases_gil)
        algorithm.releases_gil = True
    return algorithm


#: Algorithms that enumerate unbounded cells (the whole input space, issue 15).
UNBOUNDED_ALGORITHMS: tuple[str, ...] = ("witness", "paper")

#: Algorithms whose expansions are compiled code that releases the GIL.
_RELEASES_GIL = frozenset({"vertex", "lpdfs"})


class RegionStream:
    """An iterator over regions; ``stats`` and ``seconds`` are final once it is exhausted.

    ``seconds`` is the enumeration time, up to the last region; ``setup_seconds`` the time spent
    before it building the algorithm, loading its compiled kernels (numba) and starting parallel
    workers, which is paid once per process or run.
    """

    def __init__(self, problem: Problem, scheduler, progress=None) -> None:
        self.problem = problem
        self.scheduler = scheduler
        self._progress = progress
        self.seconds = 0.0
        self.setup_seconds = 0.0
        self.count = 0
        self._root_stats = Stats()  # what computing the roots cost

    @property
    def stats(self) -> Stats:
        """Merged counters (LPs, cells per layer) of the roots and of every worker."""
        point = getattr(self, "_point_scheduler", None)
        stats = Stats()
        stats.merge(self._root_stats)
        stats.merge((point or self.scheduler).stats)
        return stats

    def __iter__(self) -> Iterator[RegionRow]:
        for block in self._blocks(count_only=False):
            yield from block

    def chunks(self) -> Iterator["RegionBlock"]:
        """The same regions in :class:`~reluregions.regionblock.RegionBlock` blocks, as the
        scheduler yields them.

        Faster than iterating region by region where the consumer works on arrays (the Parquet
        writer): parallel schedulers pass their workers' blocks through unchanged.
        """
        yield from self._blocks(count_only=False)

    def counts(self) -> Iterator[int]:
        """How many regions each block holds, in a count-only run (the regions are not built;
        parallel workers send only their counts)."""
        for block in self._blocks(count_only=True):
            yield len(block)

    def _blocks(self, count_only: bool) -> Iterator:
        setup = time.perf_counter()
        problem = self.problem
        if problem.param.dim == 0 and problem.config.algorithm == "vertex":
            # a single point has no vertices to split: any algorithm gives its one region
            problem = Problem(problem.network, problem.param, replace(problem.config, algorithm="witness"))
        algorithm = make_algorithm(problem)
        algorithm.warm_up()
        scheduler = self.scheduler
        if self.problem.param.dim == 0:  # a single point: one region, no geometry
            from ..schedulers.serial import SerialScheduler

            scheduler = self._point_scheduler = SerialScheduler()
        scheduler.prepare(algorithm)  # parallel workers start untimed
        start = time.perf_counter()
        self.setup_seconds = start - setup
        roots, self._root_stats = root_items(algorithm)
        run = scheduler.run(algorithm, roots, self._progress, count_only=count_only)
        clock = time.perf_counter
        try:
            while True:
                # The clock stops when the scheduler has produced everything, before it stops
                # its workers (process teardown is excluded like start-up).
                try:
                    block = next(run)
                except StopIteration:
                    if self.count == 0:
                        self.seconds = clock() - start
                    break
                self.seconds = clock() - start
                self.count += len(block)
                yield block
        finally:
            run.close()


def iter_regions(network: Network, domain: Domain | None = None,
                 config: EnumerationConfig | None = None, scheduler=None,
                 progress=None, certify: bool = False) -> RegionStream:
    """Stream the activation regions of ``network`` in ``domain``, one
    :class:`~reluregions.regionblock.RegionRow` at a time (or in blocks, with ``chunks()``).

    Parameters
    ----------
    network : Network
    domain : Domain, optional
        Defaults to the box ``[-1, 1]^d``.
    config : EnumerationConfig, optional
    scheduler : Scheduler, optional
        Defaults to the serial scheduler.
    progress : callable, optional
        Called with :class:`reluregions.schedulers.Progress` reports.
    certify : bool, default False
        Certify the regions once the stream is exhausted (issue 15: every point checked exactly,
        every facet matched by a neighbour); the stream's ``certificate`` holds the figures and a
        failure raises :class:`reluregions.enumeration.certify.CertificateFailed`.
    """
    from ..schedulers.serial import SerialScheduler

    problem = make_problem(network, domain, config)
    stream = RegionStream(problem, scheduler or SerialScheduler(), progress)
    if certify:
        from .certify import CertifyingStream

        return CertifyingStream(stream, network, domain if domain is not None
                                else Box.symmetric(network.input_dim))
    return stream


@dataclass
class CountResult:
    """Summary of a run: total regions, regions after each hidden layer, LPs and seconds."""

    regions: int
    per_layer: list[int]
    lps: int
    seconds: float
    workers: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def lps_per_region(self) -> float:
        """LPs solved per region found."""
        return self.lps / max(self.regions, 1)

    def to_dict(self) -> dict:
        """The JSON object of ``reluregions count --json`` (DESIGN.md §4)."""
        return {"regions": self.regions, "per_layer": self.per_layer, "seconds": self.seconds,
                "lps": self.lps, "lps_per_region": self.lps_per_region, "workers": self.workers,
                "regions_per_second": self.regions / self.seconds if self.seconds > 0 else None,
                **self.extra}


def enumerate_regions(network: Network, domain: Domain | None = None,
                      config: EnumerationConfig | None = None, scheduler=None, progress=None,
                      certify: bool = False):
    """Enumerate every region into one in-memory :class:`~reluregions.regionblock.RegionBlock`
    (``reluregions.RegionSet``), gathered from the scheduler's blocks.

    With ``certify`` the block's ``extra["certificate"]`` holds the certificate's figures.
    """
    stream = iter_regions(network, domain, config, scheduler, progress, certify=certify)
    n_layers = len(network.hidden_widths)
    regions = RegionBlock.concat(list(stream.chunks()))
    if not len(regions):
        regions = RegionBlock.empty(network.n_hidden, network.input_dim, n_layers)
    if regions.ranks.shape[1] != n_layers:  # a run without ranks: -1, not recorded
        regions.ranks = np.full((len(regions), n_layers), -1, dtype=np.int64)
    if certify:
        regions.extra["certificate"] = stream.certificate.to_dict()
    regions.stats = stream.stats
    regions.seconds = stream.seconds
    return regions


def count_regions(network: Network, domain: Domain | None = None,
                  config: EnumerationConfig | None = None, scheduler=None,
                  progress=None, certify: bool = False) -> CountResult:
    """Count the regions (and cells after each hidden layer) without keeping them.

    With ``certify`` the patterns and points are kept and certified (issue 15); the result's
    ``extra`` gains ``certified`` and ``certificate`` (figures), and a failure raises
    :class:`reluregions.enumeration.certify.CertificateFailed`.
    """
    config = config or EnumerationConfig(ranks=False)
    stream = iter_regions(network, domain, config, scheduler, progress, certify=certify)
    for _ in stream.counts():  # a count-only run (certifying streams keep the regions)
        pass
    per_layer = list(stream.stats.layer_cells)
    n_layers = len(network.hidden_widths)
    per_layer += [0] * (n_layers - len(per_layer))
    if stream.problem.param.dim == 0 or n_layers == 0:
        per_layer = [1] * n_layers
    workers = getattr(stream.scheduler, "workers", 1)
    name, why = choose_algorithm(stream.problem)
    extra = {"setup_seconds": stream.setup_seconds, "algorithm": name, "algorithm_reason": why,
             "exact_decisions": stream.stats.exact}
    if not stream.problem.param.bounded:  # the whole space: how many regions are unbounded
        extra["unbounded"] = stream.stats.unbounded
    if certify:
        extra.update(certified=stream.certificate.certified,
                     certificate=stream.certificate.to_dict(),
                     certify_seconds=stream.certify_seconds)
    return CountResult(stream.count, per_layer, stream.stats.lps, stream.seconds, workers, extra)
