"""The parent side of every parallel scheduler: the loop that drives the tree (DESIGN.md §3).

:class:`TaskScheduler` keeps the open work items in the parent (a queue of
:mod:`reluregions.schedulers.queues`), hands tasks (:mod:`reluregions.schedulers.tasks`) to
workers, books their results, re-queues their leftover frontiers and keeps any checkpoint up to
date. The transports (local threads and processes, which share the task placement of
:class:`~reluregions.schedulers.local.LocalWorkers`, and Ray) subclass it and only move tasks and
results.
"""
from __future__ import annotations

import itertools
import os
import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterator

from ..errors import OptionError, WorkerDiedError
from ..tree import Algorithm, Cell, Context, Stats, root_items
from .base import Block, Journal, Progress, ProgressCallback, RegionCount, Scheduler, as_block
from .queues import DynamicQueue, StaticQueue
from .tasks import UNLIMITED, Task, TaskFailure, TaskOptions, TaskRecord, TaskResult, WorkerLoss

__all__ = ["TaskScheduler", "MAX_WORKER_DEATHS"]

# A worker death with a checkpoint re-queues the work; this many deaths in one run mean something
# kills workers systematically (out of memory, a crash on one item), and the run fails instead.
MAX_WORKER_DEATHS = 8


@dataclass
class _InFlight:
    items: list[Cell]


class TaskScheduler(Scheduler):
    """The parent side of a parallel scheduler; subclasses provide the transport.

    After a run, :attr:`tasks` holds one :class:`TaskRecord` per finished task and
    :attr:`prelude` the parent's own work (roots, and the first layer under ``"paper"``).
    """

    def __init__(self, workers: int | None, options: TaskOptions) -> None:
        super().__init__()
        if workers is not None and workers < 1:
            raise OptionError(f"workers must be at least 1, got {workers}")
        self.workers = workers or os.cpu_count() or 1
        self.options = options
        self._journal: Journal | None = None  # the journal of the run in progress, if any
        self.tasks: list[TaskRecord] = []
        self.prelude = Stats()
        self.deaths: list[WorkerLoss] = []
        #: Messages of items shared on demand by running tasks in the last run.
        self.shares = 0
        self._starting: set[int] = set()  # answers awaited from workers starting (start_workers)
        #: Regions per second of one worker expected before any task has finished (0: unknown),
        #: which sizes the first expansions; the ``auto`` scheduler sets it from its serial phase.
        self.rate_hint = 0.0

    # ------------------------------------------------------------------ transport interface
    @abstractmethod
    def _start(self, algorithm: Algorithm) -> None:
        """Start (or connect to) the workers and share the algorithm with them once."""

    @abstractmethod
    def _stop(self, clean: bool) -> None:
        """Stop the workers (``clean``: the run ended normally, nothing is in flight)."""

    @abstractmethod
    def _free_slots(self, in_flight: int) -> int:
        """How many more tasks may be submitted now."""

    @abstractmethod
    def _submit(self, task: Task) -> None:
        """Hand one task to a worker."""

    @abstractmethod
    def _collect(self, timeout: float) -> tuple[list[TaskResult | TaskFailure], list[WorkerLoss]]:
        """Finished tasks and dead workers, waiting at most ``timeout`` seconds for the first."""

    @abstractmethod
    def _busy(self) -> int:
        """Workers with a task."""

    def _replace(self, loss: WorkerLoss) -> None:
        """Start a worker in place of a dead one (when the transport needs it)."""

    #: Whether the transport's workers share open items on demand (see :meth:`_want_shares`).
    shares_on_demand = False
    #: Whether the request to share also reaches expansions in progress (the workers'
    #: :attr:`~reluregions.tree.Context.asked`), so that those that stop when asked may be long.
    asks_to_stop = False

    def _want_shares(self, wanted: bool) -> None:
        """Ask running tasks to share their open items (a worker is idle and nothing is queued).

        Only transports with ``shares_on_demand`` act on it; never under a checkpoint, whose
        snapshots count a task's items as in flight until the task ends.
        """

    # ------------------------------------------------------------------ driver
    def prepare(self, algorithm: Algorithm) -> None:
        """Start the workers and wait until each has loaded ``algorithm`` and its kernels.

        Called before the clock of a timed run starts, so that ``seconds`` excludes process
        start-up and kernel loading; :meth:`run` then reuses the started workers, whether it
        counts or not (``count_only`` travels with every task).
        """
        self.start_workers(algorithm)
        clean = False
        try:
            while not self.workers_ready(0.5):
                pass
            clean = True
        finally:
            if not clean:
                self._stop(False)

    def start_workers(self, algorithm: Algorithm) -> None:
        """Start the workers for ``algorithm`` without waiting for them (see :meth:`workers_ready`).

        The caller may go on working meanwhile (the ``auto`` scheduler expands serially while
        worker processes start); a run that follows reuses the started workers, and
        :meth:`stop_workers` stops them if none does.
        """
        self._start(algorithm)
        self._starting = self._submit_each(
            lambda i: Task(-1 - i, [], 1, 0.0, algorithm.default_budget, False))

    def workers_ready(self, timeout: float = 0.0) -> bool:
        """Whether every worker started by :meth:`start_workers` has answered (waits ``timeout``).

        Raises :class:`~reluregions.errors.WorkerDiedError` when a worker died while starting, or
        the error a worker raised.
        """
        self._await(self._starting, timeout, "starting")
        return not self._starting

    def stop_workers(self) -> None:
        """Stop workers started by :meth:`start_workers` that no run used."""
        self._starting = set()
        self._stop(False)

    def _submit_each(self, make: "Callable[[int], Task]") -> set[int]:
        """Submit ``make(i)`` for every worker ``i``; the ids to wait for."""
        pending = set()
        for i in range(self.workers):
            task = make(i)
            pending.add(task.id)
            self._submit(task)
        return pending

    def _await(self, pending: set[int], timeout: float, doing: str) -> None:
        """Remove from ``pending`` the tasks that answer within ``timeout`` seconds."""
        if not pending:
            return
        results, losses = self._collect(timeout)
        if losses:
            raise WorkerDiedError(f"worker {losses[0].worker} {losses[0].reason} while {doing}")
        for result in results:
            if isinstance(result, TaskFailure):
                raise result.error
            pending.discard(result.id)

    def _one_task_each(self, make: "Callable[[int], Task]", doing: str) -> None:
        """Submit ``make(i)`` for every worker ``i`` and wait for all the answers."""
        pending = self._submit_each(make)
        while pending:
            self._await(pending, 0.5, doing)

    def warm_up(self, algorithm: Algorithm) -> float:
        """Have every worker expand ``algorithm``'s roots once; the seconds it took.

        Pays the workers' start-up (imports, compiled kernels) outside a timed run, for
        benchmarks. Worker processes stay up afterwards only when the transport keeps them
        (``ProcessScheduler(keep_workers=True)``, or a Ray instance this scheduler did not start).
        """
        start = time.perf_counter()
        roots = root_items(algorithm)[0]
        self._start(algorithm)
        clean = False
        try:
            self._one_task_each(lambda i: Task(-1 - i, roots, UNLIMITED, float("inf"),
                                               algorithm.default_budget, False), "warming up")
            clean = True
        finally:
            self._stop(clean)
        return time.perf_counter() - start

    @property
    def max_in_flight(self) -> int:
        """The cap on tasks handed out and not yet returned."""
        return self.options.max_in_flight or 2 * self.workers

    def _blocks(self, algorithm: Algorithm, roots: list[Cell], progress: ProgressCallback | None,
                count_only: bool, journal: Journal | None) -> Iterator[Block]:
        problem = algorithm.problem
        self.stats = Stats(layer_cells=[0] * problem.n_layers)
        self.tasks, self.deaths, self.shares = [], [], 0
        self._journal = journal
        self._start(algorithm)
        clean = False
        try:
            for block in self._drive(algorithm, roots, progress, count_only):
                if len(block):
                    yield block
            clean = True
        finally:
            self._journal = None
            self._stop(clean)

    def _drive(self, algorithm: Algorithm, roots: list[Cell], progress: ProgressCallback | None,
               count_only: bool) -> Iterator[Block]:
        problem = algorithm.problem
        ckpt = self._journal
        start = last = time.perf_counter()
        ctx = Context.create(problem.config, problem.n_layers)
        restored = ckpt.restore() if ckpt is not None else None
        if restored is not None and restored.frontier is not None:
            self.stats.merge(restored.stats)
            items = list(restored.frontier)
        else:
            items = list(roots)
        widths = problem.network.hidden_widths
        paper = self.options.strategy == "paper"
        queue: StaticQueue | DynamicQueue = (
            StaticQueue(widths[0] if widths else 0) if paper
            else DynamicQueue(self.options, self.workers,
                               self.shares_on_demand and ckpt is None, self.rate_hint,
                               self.asks_to_stop and algorithm.stops_when_asked))
        in_flight: dict[int, _InFlight] = {}
        found = 0
        if paper:
            for block in self._first_layer(algorithm, ctx, items, queue, count_only):
                found += len(block)
                yield block
        else:
            queue.push(items)
        self.prelude = ctx.stats
        self.stats.merge(ctx.stats)
        ids = itertools.count()
        sharing = self.shares_on_demand and ckpt is None and not paper
        # leftovers that stand for a whole stopped traversal are split for the queue: into a part
        # per worker where running tasks share on request, else cell by cell
        pieces = self.workers if sharing and self.asks_to_stop else None
        self._want_shares(False)
        while len(queue) or in_flight:
            self._hand_out(queue, in_flight, ids, algorithm.default_budget, count_only, sharing)
            if sharing:
                self._want_shares(not len(queue) and self._busy() < self.workers)
            results, losses = self._collect(min(self.options.progress_every, 0.1))
            for loss in losses:
                self._handle_loss(loss, in_flight, queue)
            for result in results:
                if isinstance(result, TaskResult):
                    result.leftover = algorithm.unbatch(result.leftover, pieces)
                block = self._book(result, in_flight, queue)
                found += len(block)
                yield block
            now = time.perf_counter()
            if progress is not None and now - last >= self.options.progress_every:
                last = now
                open_items = len(queue) + sum(len(t.items) for t in in_flight.values())
                progress(Progress(found, now - start, open_items, self._busy()))
            if ckpt is not None:
                ckpt.poll(lambda: queue.items() + [c for t in in_flight.values() for c in t.items],
                          self.stats)
        self._want_shares(False)
        if progress is not None:
            progress(Progress(found, time.perf_counter() - start, 0, 0))

    def _hand_out(self, queue: "StaticQueue | DynamicQueue", in_flight: dict[int, _InFlight],
                  ids: Iterator[int], default_budget: int, count_only: bool,
                  sharing: bool = False) -> None:
        """Submit tasks while workers have room and items are open; each task's region budget
        per expansion is the queue's, or the algorithm's ``default_budget`` when lower."""
        room = min(self._free_slots(len(in_flight)), self.max_in_flight - len(in_flight))
        for _ in range(room):
            if not len(queue):
                return
            cells, expansions, seconds, budget = queue.take()
            budget = default_budget if budget is None else min(default_budget, budget)
            task = Task(next(ids), cells, expansions, seconds, budget, count_only, sharing)
            in_flight[task.id] = _InFlight(cells)
            self._submit(task)

    def _book(self, result: TaskResult | TaskFailure, in_flight: dict[int, _InFlight],
              queue: "StaticQueue | DynamicQueue") -> Block:
        """Take in a finished task (its leftovers, counters, regions); the regions to yield.

        Everything is booked, and the regions recorded in the checkpoint, before any is yielded,
        so a snapshot taken at the next poll is consistent whatever the caller does. A count-only
        task gives just its number of regions.
        """
        if isinstance(result, TaskFailure):
            result.error.add_note(f"in a worker:\n{result.traceback}")
            raise result.error
        if result.partial:  # items shared by a task still running
            queue.push(result.leftover)
            self.shares += 1
            return RegionCount(0)
        entry = in_flight.pop(result.id)
        queue.push(result.leftover)
        if isinstance(queue, DynamicQueue):
            queue.observe(result.count, result.seconds)
        self.stats.merge(result.stats)
        self.tasks.append(TaskRecord(len(entry.items), result.stats.expansions, result.seconds,
                                     result.count, result.worker))
        block = (RegionCount(result.count) if len(result.regions) < result.count
                 else result.regions)
        if self._journal is not None:
            self._journal.record(block)
        return block

    def _first_layer(self, algorithm: Algorithm, ctx: Context, items: list[Cell],
                     queue: StaticQueue, count_only: bool) -> Iterator[Block]:
        """The paper's master step: expand items at layer 0 in the parent and queue the items
        that left it, grouped into one task per first-layer cell."""
        ckpt = self._journal
        stack = list(reversed(items))
        while stack:
            cell = stack.pop()
            if cell.layer >= 1:
                queue.push([cell])
                continue
            children, finished = algorithm.expand(cell, ctx, budget=algorithm.default_budget,
                                                  count_only=count_only)
            stack.extend(reversed(algorithm.unbatch(children)))  # grouped cell by cell
            if len(finished):
                block = as_block(finished, count_only)
                if ckpt is not None:
                    ckpt.record(block)
                yield block
            if ckpt is not None:
                stats = Stats()
                stats.merge(self.stats)
                stats.merge(ctx.stats)
                ckpt.poll(lambda: queue.items() + stack[::-1], stats)

    def _handle_loss(self, loss: WorkerLoss, in_flight: dict[int, _InFlight], queue) -> None:
        """Re-queue a dead worker's tasks under a checkpoint; otherwise fail the run."""
        self.deaths.append(loss)
        if self._journal is None:
            raise WorkerDiedError(
                f"worker {loss.worker} {loss.reason} while holding {len(loss.task_ids)} task(s); "
                "the run was stopped because its result would be incomplete (run with a "
                "checkpoint to re-queue the work of dead workers)")
        if len(self.deaths) > MAX_WORKER_DEATHS:
            raise WorkerDiedError(f"{len(self.deaths)} workers died in this run (last: worker "
                                  f"{loss.worker} {loss.reason}); giving up, resume from the "
                                  "checkpoint once the cause is fixed")
        for task_id in loss.task_ids:
            lost = in_flight.pop(task_id, None)
            if lost is not None:
                queue.push(lost.items)
        self._replace(loss)
