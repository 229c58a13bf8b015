"""Task messages between the parent of a parallel scheduler and its workers (DESIGN.md §3).

A parallel scheduler keeps the open work items of the enumeration tree in the parent and hands
*tasks* (a few items plus a budget, :class:`Task`) to workers. A worker runs :func:`run_task`
(:func:`~reluregions.schedulers.base.expand_subtree` on the task's items) and sends back a
:class:`TaskResult`: the finished regions, the leftover frontier (which goes back to the parent's
queue, see :mod:`reluregions.schedulers.queues`) and its counters; or a :class:`TaskFailure`.
:class:`TaskOptions` says how the tree is cut into tasks. Cells travel packed
(:func:`~reluregions.tree.pack_cells`).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

from ..config import check_choice
from ..errors import OptionError
from ..tree import Algorithm, Cell, Context, RegionBlock, Stats, pack_cells, unpack_cells
from .base import expand_subtree

__all__ = ["STRATEGIES", "UNLIMITED", "TaskOptions", "Task", "TaskResult", "TaskFailure",
           "TaskRecord", "WorkerLoss", "run_task", "largest_task_share", "can_share"]

STRATEGIES = ("dynamic", "paper")
#: An expansion budget that never runs out.
UNLIMITED = sys.maxsize

@dataclass(frozen=True)
class TaskOptions:
    """How a parallel scheduler cuts the tree into tasks.

    Parameters
    ----------
    strategy : {"dynamic", "paper"}
        Work splitting at any depth, or the static first-layer scheme of the paper.
    task_seconds : float
        Time budget of one dynamic task (a worker returns its leftover frontier after it).
    task_expansions : int or None
        Expansion budget of one dynamic task (None: only the time budget applies).
    task_items : int
        Most work items in one task.
    max_in_flight : int or None
        Most tasks handed out and not yet returned (None: twice the number of workers, so each
        worker has its next task queued while it works). Items in flight are at most
        ``max_in_flight * task_items``.
    max_queue : int or None
        Open items in the parent above which tasks are drawn depth first to drain the queue
        (None: 64 per worker, at least 256). Open items are the parent's main memory: on the
        200-200 digits MLP (d = 4) one holds about 130 KB, and a bound of 4096 items took the
        threads scheduler to 944 MB where 256 items kept it at 559 MB, as fast.
    progress_every : float
        Seconds between progress reports.
    """

    strategy: str = "dynamic"
    task_seconds: float = 0.05
    task_expansions: int | None = None
    task_items: int = 4
    max_in_flight: int | None = None
    max_queue: int | None = None
    progress_every: float = 0.5

    def __post_init__(self) -> None:
        check_choice("strategy", self.strategy, STRATEGIES)
        if not self.task_seconds > 0:
            raise OptionError(f"task_seconds must be positive, got {self.task_seconds}")
        if self.task_expansions is not None and self.task_expansions < 1:
            raise OptionError(f"task_expansions must be at least 1, got {self.task_expansions}")
        if self.task_items < 1:
            raise OptionError(f"task_items must be at least 1, got {self.task_items}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise OptionError(f"max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.max_queue is not None and self.max_queue < 1:
            raise OptionError(f"max_queue must be at least 1, got {self.max_queue}")


@dataclass(slots=True)
class Task:
    """Work items for one worker and what to expand them with: the task's expansion and time
    budgets, and the arguments of every :meth:`~reluregions.tree.Algorithm.expand` call in it
    (``budget``, regions per call, and ``count_only``)."""

    id: int
    items: list[Cell]
    max_expansions: int
    max_seconds: float
    budget: int
    count_only: bool
    #: Whether the task may share its open items on demand (never under a checkpoint).
    share: bool = False

    def __getstate__(self) -> tuple:  # cells travel packed: see pack_cells
        return (self.id, pack_cells(self.items), self.max_expansions, self.max_seconds,
                self.budget, self.count_only, self.share)

    def __setstate__(self, state: tuple) -> None:
        (self.id, items, self.max_expansions, self.max_seconds, self.budget,
         self.count_only, self.share) = state
        self.items = unpack_cells(items)


@dataclass(slots=True)
class TaskResult:
    """What a worker sends back: regions, the leftover frontier and its counters."""

    id: int
    regions: RegionBlock
    leftover: list[Cell]
    stats: Stats
    seconds: float
    worker: int
    count: int = 0
    #: Items a worker shared while its task goes on (on demand; the task has not ended).
    partial: bool = False

    def __getstate__(self) -> tuple:  # cells travel packed: see pack_cells
        return (self.id, self.regions, pack_cells(self.leftover), self.stats, self.seconds,
                self.worker, self.count, self.partial)

    def __setstate__(self, state: tuple) -> None:
        (self.id, self.regions, leftover, self.stats, self.seconds, self.worker,
         self.count, self.partial) = state
        self.leftover = unpack_cells(leftover, copy=True)  # they may wait long in the queue

    @classmethod
    def shared(cls, task_id: int, items: list[Cell]) -> "TaskResult":
        """A message with items shared by a running task."""
        return cls(task_id, RegionBlock.empty(), items, Stats(), 0.0, os.getpid(), 0, True)


@dataclass(slots=True)
class TaskFailure:
    """A task raised: the exception (or a stand-in when it does not pickle) and its traceback."""

    id: int
    error: BaseException
    traceback: str


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """Work done by one finished task (for load-balance reports)."""

    items: int
    expansions: int
    seconds: float
    regions: int
    worker: int


@dataclass(frozen=True, slots=True)
class WorkerLoss:
    """A worker that died, and the tasks it held."""

    worker: int
    reason: str
    task_ids: tuple[int, ...]


def run_task(algorithm: Algorithm, ctx: Context, task: Task,
             share: "Callable[[list[Cell]], int] | None" = None) -> TaskResult:
    """Run one task in a worker with its own context; the counters are this task's alone.

    ``share`` (see :func:`~reluregions.schedulers.base.expand_subtree`) lets the task give
    items to idle workers while it runs.
    """
    ctx.stats = Stats(layer_cells=[0] * algorithm.problem.n_layers)
    start = time.perf_counter()
    parts, leftover = expand_subtree(algorithm, ctx, task.items, task.max_expansions,
                                     task.max_seconds, share, budget=task.budget,
                                     count_only=task.count_only)
    count = sum(len(p) for p in parts)
    chunk = RegionBlock.empty() if task.count_only else RegionBlock.concat(parts)
    return TaskResult(task.id, chunk, leftover, ctx.stats, time.perf_counter() - start,
                      os.getpid(), count)


def can_share(algorithm: Algorithm, stack: list[Cell]) -> bool:
    """Whether a task's open ``stack`` (bottom first) has the two items or more that a share of
    its bottom half needs; a lone item that stands for a stopped traversal's whole stack
    (:meth:`~reluregions.tree.Algorithm.unbatch`) is split in two first, in place."""
    if len(stack) == 1:
        stack[:] = algorithm.unbatch(stack, 2)[::-1]
    return len(stack) >= 2


def largest_task_share(records: list[TaskRecord], by: str = "expansions") -> float:
    """The largest task's share of the total work (``by`` = "expansions" or "seconds")."""
    values = [getattr(r, by) for r in records]
    total = float(sum(values))
    return max(values) / total if total > 0 else 0.0
