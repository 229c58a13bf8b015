"""Run an enumeration under a checkpoint: resumable after a kill, nothing lost, nothing twice.

The durable store is :mod:`reluregions.enumeration.checkpoint`; the contract every scheduler keeps
is :class:`~reluregions.schedulers.base.Journal`. This module wraps any scheduler with a
checkpoint by handing it to one run as that run's journal (``scheduler.run(..., journal=...)``):
the scheduler holds no checkpoint of its own (dependencies point down: enumeration ->
schedulers), DESIGN.md §3.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from .._version import __version__
from .checkpoint import Checkpoint, check_resumable, run_identity
from ..tree import Cell, Problem, Stats, root_items

if TYPE_CHECKING:  # pragma: no cover
    from ..config import EnumerationConfig
    from ..domains import Domain
    from ..network import Network
    from ..schedulers.base import ProgressCallback, Scheduler

__all__ = ["CheckpointedRun", "run_with_checkpoint", "run_checkpointed"]


@dataclass
class CheckpointedRun:
    """Outcome of :func:`run_with_checkpoint`.

    ``regions``, ``stats`` and ``snapshots`` cover every session of the run; ``seconds`` this one.
    """

    regions: int
    stats: Stats
    seconds: float
    resumed: bool
    snapshots: int


@contextmanager
def _deferred_sigint(checkpoint: Checkpoint) -> Iterator[None]:
    """Turn the first Ctrl-C into a stop request (a second one interrupts at once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        checkpoint.request_stop()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_metadata(problem: Problem, domain: "Domain | None") -> dict[str, Any]:
    net = problem.network
    return {"network_sha256": net.sha256, "input_dim": net.input_dim,
            "hidden_widths": list(net.hidden_widths), "n_hidden": net.n_hidden,
            "domain": domain.to_dict() if domain is not None else None,
            "config": problem.config.to_dict(), "version": __version__}


def run_with_checkpoint(problem: Problem, scheduler: "Scheduler", checkpoint_dir: str | Path,
                        out_path: str | Path | None = None, *,
                        metadata: dict[str, Any] | None = None, extras: Sequence[str] = (),
                        resume: bool = False, every: float = 30.0,
                        progress: "ProgressCallback | None" = None,
                        domain: "Domain | None" = None) -> CheckpointedRun:
    """Run ``problem`` under ``scheduler`` with a checkpoint in ``checkpoint_dir``.

    Parameters
    ----------
    problem : Problem
        From :func:`reluregions.enumeration.make_problem`.
    scheduler : Scheduler
        Any scheduler; the checkpoint is the journal of its run.
    checkpoint_dir : str or Path
        The checkpoint folder.
    out_path : str or Path, optional
        Parquet file that receives every region at the end; without it only the count is kept.
    metadata : dict, optional
        Metadata of the region file (default: network hash, shape, domain, config, version).
    extras : sequence of str
        Extra region columns, as for :class:`~reluregions.io.parquet.ParquetRegionWriter`.
    resume : bool
        Take up the run saved in the folder (see :meth:`Checkpoint.open`).
    every : float
        Seconds between snapshots.
    progress : callable, optional
        Progress reports; ``regions`` counts the earlier sessions too.
    domain : Domain, optional
        Recorded in the checkpoint and the default metadata.

    Raises
    ------
    CheckpointMismatchError
        The folder holds a run of another network, domain or config.
    KeyboardInterrupt
        After Ctrl-C, once a final snapshot is written: resume later with ``resume=True``.
    """
    start = time.perf_counter()
    net = problem.network
    store = out_path is not None
    identity = run_identity(problem, domain, extras, store)
    ckpt = Checkpoint(checkpoint_dir, identity, every=every, n_hidden=net.n_hidden,
                      metadata=metadata or _default_metadata(problem, domain), extras=extras,
                      store_regions=store)
    try:
        ckpt.open(resume)
        return _run(problem, scheduler, ckpt, out_path, progress, start)
    finally:
        ckpt.close()


def _run(problem: Problem, scheduler: "Scheduler", ckpt: Checkpoint, out_path: str | Path | None,
         progress: "ProgressCallback | None", start: float) -> CheckpointedRun:
    from .api import make_algorithm
    from ..schedulers.base import Progress
    from ..schedulers.serial import SerialScheduler

    if ckpt.done:
        return CheckpointedRun(ckpt.regions, ckpt.stats, time.perf_counter() - start, True,
                               ckpt.snapshots)
    earlier = ckpt.regions

    def report(p: Progress) -> None:
        if progress is not None:
            progress(Progress(p.regions + earlier, p.seconds, p.open_items, p.busy_workers))

    if problem.param.dim == 0:  # a single point: one region, no geometry
        scheduler = SerialScheduler()
    algorithm = make_algorithm(problem)
    roots: list[Cell] = []
    if ckpt.restore().frontier is None:  # a fresh run; a resumed one starts from its frontier
        roots, ckpt.prelude = root_items(algorithm)
    with _deferred_sigint(ckpt):
        # without an output file only the count is kept: workers need not send their regions
        for _ in scheduler.run(algorithm, roots, report if progress else None,
                               count_only=out_path is None, journal=ckpt):
            pass
        ckpt.save([], scheduler.stats)
        if out_path is not None:
            ckpt.merge(out_path)
        ckpt.complete()
    return CheckpointedRun(ckpt.regions, ckpt.stats, time.perf_counter() - start, ckpt.resumed,
                           ckpt.snapshots)


def run_checkpointed(network: "Network", domain: "Domain | None",
                     config: "EnumerationConfig | None", scheduler: "Scheduler",
                     out_path: str | Path | None,
                     metadata: dict[str, Any] | None = None, extras: Sequence[str] = (), *,
                     checkpoint_dir: str | Path, resume: bool = False,
                     progress: "ProgressCallback | None" = None,
                     every: float = 30.0) -> CheckpointedRun:
    """The command line's entry point: validate, then run with a checkpoint.

    Unlike :func:`run_with_checkpoint`, ``resume=True`` needs an existing checkpoint (see
    :func:`check_resumable`): a mistyped folder is an error, not a silent fresh start.

    Returns
    -------
    CheckpointedRun
        The region count and counters of every session, and this session's seconds.
    """
    from .api import make_problem

    if resume:
        check_resumable(checkpoint_dir)
    problem = make_problem(network, domain, config)
    if domain is None:
        from ..domains import Box

        domain = Box.symmetric(network.input_dim)
    return run_with_checkpoint(problem, scheduler, checkpoint_dir, out_path, metadata=metadata,
                               extras=extras, resume=resume, every=every, progress=progress,
                               domain=domain)
