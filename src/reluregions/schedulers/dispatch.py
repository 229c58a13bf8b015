"""What the parallel schedulers share: tasks, the open-item queue, the driver loop (DESIGN.md §3).

A parallel scheduler keeps the open work items of the enumeration tree in the parent and hands
*tasks* (a few items plus a budget) to workers. A worker runs
:func:`~reluregions.schedulers.base.expand_subtree` on its task and sends back the finished
regions, the leftover frontier (which goes back to the parent's queue) and its counters.

Two strategies decide which items form a task:

``"dynamic"``
    Work splitting at any depth. The queue is ordered by depth (``(layer, neuron, constraints)``
    of the cell: fewer decided neurons and cuts mean a larger subtree), and idle workers get the
    *shallowest* items with a time budget, so large subtrees are split recursively until every
    worker is busy. While the queue holds more than ``max_queue`` items, workers get the
    *deepest* items with a larger budget instead (depth first), which drains the queue: memory
    stays bounded.
``"paper"``
    The static ParLayerWise1-NNCE scheme (Drammis et al. 2024, §5, Alg. 6): the parent enumerates
    the first-layer cells (it expands items while they are at layer 0), then hands one task per
    first-layer cell to the workers, each run to completion without splitting.

The transports (local threads and processes, which share :class:`LocalWorkers`' task placement,
and Ray) subclass :class:`TaskScheduler` and only move tasks and results; everything else,
including checkpoints, lives here.
"""
from __future__ import annotations

import bisect
import itertools
import os
import sys
import time
from abc import abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from ..config import check_choice
from ..tree import (Algorithm, Cell, Context, Region, RegionChunk, Stats, pack_cells,
                                unpack_cells)
from ..errors import OptionError, WorkerDiedError
from .base import Progress, ProgressCallback, Scheduler, expand_subtree

if TYPE_CHECKING:  # pragma: no cover
    from .checkpoint import Checkpoint

__all__ = ["STRATEGIES", "TaskOptions", "Task", "TaskResult", "TaskFailure",
           "TaskRecord", "WorkerLoss", "OpenItems", "TaskScheduler", "LocalWorkers", "run_task",
           "largest_task_share"]

STRATEGIES = ("dynamic", "paper")
_UNLIMITED = sys.maxsize
# A worker death with a checkpoint re-queues the work; this many deaths in one run mean something
# kills workers systematically (out of memory, a crash on one item), and the run fails instead.
MAX_WORKER_DEATHS = 8
STARVING_BUDGET = 256  # regions per expansion while workers wait for work


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
    """Work items for one worker and the budget to expand them with."""

    id: int
    items: list[Cell]
    max_expansions: int
    max_seconds: float
    count_only: bool = False
    budget: int | None = None
    #: Whether the task may share its open items on demand (never under a checkpoint).
    share: bool = False

    def __getstate__(self) -> tuple:  # cells travel packed: see pack_cells
        return (self.id, pack_cells(self.items), self.max_expansions, self.max_seconds,
                self.count_only, self.budget, self.share)

    def __setstate__(self, state: tuple) -> None:
        (self.id, items, self.max_expansions, self.max_seconds, self.count_only,
         self.budget, self.share) = state
        self.items = unpack_cells(items)


@dataclass(slots=True)
class TaskResult:
    """What a worker sends back: regions, the leftover frontier and its counters."""

    id: int
    regions: RegionChunk
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
        return cls(task_id, RegionChunk.empty(), items, Stats(), 0.0, os.getpid(), 0, True)


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
    budget = algorithm.budget
    if task.budget is not None:
        algorithm.budget = min(budget, task.budget)
    try:
        parts, leftover = expand_subtree(algorithm, ctx, task.items, task.max_expansions,
                                         task.max_seconds, share)
    finally:
        algorithm.budget = budget
    count = sum(len(p) for p in parts)
    chunk = RegionChunk.empty() if task.count_only else RegionChunk.concat(parts)
    return TaskResult(task.id, chunk, leftover, ctx.stats, time.perf_counter() - start,
                      os.getpid(), count)


def largest_task_share(records: list[TaskRecord], by: str = "expansions") -> float:
    """The largest task's share of the total work (``by`` = "expansions" or "seconds")."""
    values = [getattr(r, by) for r in records]
    total = float(sum(values))
    return max(values) / total if total > 0 else 0.0


class OpenItems:
    """Open work items ordered by depth, ``(layer, neuron, constraints)``: pop either end.

    Fewer decided layers and neurons, then fewer constraints (cuts) mean a larger subtree.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[int, int, int], list[Cell]] = {}
        self._keys: list[tuple[int, int, int]] = []
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def push(self, cell: Cell) -> None:
        """Add one item."""
        key = (int(cell.layer), int(cell.neuron), int(len(cell.h)))
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = []
            bisect.insort(self._keys, key)
        bucket.append(cell)
        self._n += 1

    def pop(self, deepest: bool = False) -> Cell:
        """Remove and return the shallowest (or deepest) item."""
        index = len(self._keys) - 1 if deepest else 0
        key = self._keys[index]
        bucket = self._buckets[key]
        cell = bucket.pop()
        if not bucket:
            del self._buckets[key]
            del self._keys[index]
        self._n -= 1
        return cell

    def items(self) -> list[Cell]:
        """Every open item, shallowest first."""
        return [c for k in self._keys for c in self._buckets[k]]


class _DynamicQueue:
    """The dynamic strategy: shallowest items first, depth first while the queue is too long.

    Task budgets grow with the run: a task gets about ``ELAPSED_SHARE`` of the time elapsed so
    far (at least ``task_seconds / 10``, at most ``task_seconds``), so a run of a few
    milliseconds is still cut into many tasks (no worker waits long for another's leftovers),
    while a long run gets coarse tasks (little transfer overhead). Either way the imbalance at the
    end, at most one task, stays a small share of the run. The region budget of one expansion
    follows the task's time budget, from the regions per second the workers reached so far.

    With ``on_demand`` (workers that share their open items whenever another worker is idle, see
    :meth:`TaskScheduler._want_shares`) tasks keep the full ``task_seconds`` and only the
    expansions are kept short, so a busy worker answers an idle one quickly.
    """

    ELAPSED_SHARE = 0.05
    #: With ``on_demand``, the longest expansion in seconds (at most a fifth of ``task_seconds``):
    #: about how long an idle worker may wait for a share, against the cost of a kernel call
    #: (about 40 µs, under 1 % of a call of 10 ms; calls of 2.5 ms made runs 5-8 % slower).
    QUANTUM = 0.01

    def __init__(self, options: TaskOptions, workers: int, on_demand: bool = False) -> None:
        self.options = options
        self.workers = workers
        self.on_demand = on_demand
        self.open = OpenItems()
        self.start = time.perf_counter()
        self.rate = 0.0  # regions per second of one worker, from finished tasks
        self.max_queue = options.max_queue or max(256, 64 * workers)

    def __len__(self) -> int:
        return len(self.open)

    def push(self, items: list[Cell]) -> None:
        for cell in items:
            self.open.push(cell)

    def observe(self, regions: int, seconds: float) -> None:
        """Learn one worker's speed from a finished task."""
        if seconds > 0 and regions > 0:
            rate = regions / seconds
            self.rate = rate if self.rate == 0 else 0.8 * self.rate + 0.2 * rate

    def take(self) -> tuple[list[Cell], int, float, int | None]:
        """Items for one task, its expansion and time budgets, and a per-expansion region budget.

        The region budget (``Algorithm.budget``) matters for algorithms whose one expansion covers
        a whole subtree (vertex): a task's expansions stay well inside its time budget, and
        starving workers get small ones, so the frontier comes back, and is shared, quickly.
        """
        opts = self.options
        n = len(self.open)
        expansions = opts.task_expansions or _UNLIMITED
        elapsed = time.perf_counter() - self.start
        floor = opts.task_seconds / 10
        seconds = min(opts.task_seconds, max(floor, self.ELAPSED_SHARE * elapsed))
        if self.on_demand:  # workers share when another is idle: long tasks, short expansions
            seconds, quantum = opts.task_seconds, min(opts.task_seconds * 0.2, self.QUANTUM)
        else:
            quantum = seconds
        if n > self.max_queue:  # drain: deep items, bigger budget
            count = min(opts.task_items, n)
            cells = [self.open.pop(deepest=True) for _ in range(count)]
            return cells, expansions, seconds * 8, None
        if n < 2 * self.workers and not self.on_demand:  # starving workers: split quickly
            seconds /= 2
            quantum = seconds
            count = 1
        else:
            count = max(1, min(opts.task_items, n // (4 * self.workers)))
        budget = STARVING_BUDGET if self.rate == 0 else int(
            min(max(self.rate * quantum, 256), 1 << 20))
        return [self.open.pop() for _ in range(count)], expansions, seconds, budget

    def items(self) -> list[Cell]:
        return self.open.items()

class _StaticQueue:
    """The paper strategy: one task per first-layer cell, run to completion.

    Items are grouped by their first-layer activation bits, so a task holds everything left of
    one first-layer cell (the parent's expansion that left layer 0 may already have split it).
    """

    def __init__(self, n_first: int) -> None:
        self.n_first = n_first
        self.groups: dict[bytes, list[Cell]] = {}
        self.order: deque[bytes] = deque()
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def push(self, items: list[Cell]) -> None:
        for cell in items:
            key = np.asarray(cell.bits[:self.n_first], dtype=bool).tobytes()
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = []
                self.order.append(key)
            group.append(cell)
        self._n += len(items)

    def take(self) -> tuple[list[Cell], int, float, int | None]:
        group = self.groups.pop(self.order.popleft())
        self._n -= len(group)
        return group, _UNLIMITED, float("inf"), None

    def items(self) -> list[Cell]:
        return [c for k in self.order for c in self.groups[k]]


@dataclass
class _InFlight:
    items: list[Cell]


class TaskScheduler(Scheduler):
    """The parent side of a parallel scheduler; subclasses provide the transport.

    After a run, :attr:`tasks` holds one :class:`TaskRecord` per finished task and
    :attr:`prelude` the parent's own work (roots, and the first layer under ``"paper"``).
    """

    def __init__(self, workers: int | None, options: TaskOptions,
                 checkpoint: "Checkpoint | None" = None) -> None:
        super().__init__()
        if workers is not None and workers < 1:
            raise OptionError(f"workers must be at least 1, got {workers}")
        self.workers = workers or os.cpu_count() or 1
        self.options = options
        self.checkpoint = checkpoint
        self.tasks: list[TaskRecord] = []
        self.prelude = Stats()
        self.deaths: list[WorkerLoss] = []
        #: Messages of items shared on demand by running tasks in the last run.
        self.shares = 0

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

    def _want_shares(self, wanted: bool) -> None:
        """Ask running tasks to share their open items (a worker is idle and nothing is queued).

        Only transports with ``shares_on_demand`` act on it; never under a checkpoint, whose
        snapshots count a task's items as in flight until the task ends.
        """

    # ------------------------------------------------------------------ driver
    def prepare(self, algorithm: Algorithm) -> None:
        """Start the workers and wait until each has loaded ``algorithm`` and its kernels.

        Called before the clock of a timed run starts, so that ``seconds`` excludes process
        start-up and kernel loading; :meth:`run` then reuses the started workers.
        """
        self._start(algorithm)
        clean = False
        try:  # an empty task per worker, answered once it is ready
            self._one_task_each(lambda i: Task(-1 - i, [], 1, 0.0), "starting")
            clean = True
        finally:
            if not clean:
                self._stop(False)

    def _one_task_each(self, make: "Callable[[int], Task]", doing: str) -> None:
        """Submit ``make(i)`` for every worker ``i`` and wait for all the answers."""
        pending = set()
        for i in range(self.workers):
            task = make(i)
            pending.add(task.id)
            self._submit(task)
        while pending:
            results, losses = self._collect(0.5)
            if losses:
                raise WorkerDiedError(f"worker {losses[0].worker} {losses[0].reason} while {doing}")
            for result in results:
                if isinstance(result, TaskFailure):
                    raise result.error
                pending.discard(result.id)

    def warm_up(self, algorithm: Algorithm) -> float:
        """Have every worker expand ``algorithm``'s roots once; the seconds it took.

        Pays the workers' start-up (imports, compiled kernels) outside a timed run, for
        benchmarks. Worker processes stay up afterwards only when the transport keeps them
        (``ProcessScheduler(keep_workers=True)``, or a Ray instance this scheduler did not start).
        """
        start = time.perf_counter()
        problem = algorithm.problem
        roots = algorithm.roots(Context.create(problem.config, problem.n_layers))
        self._start(algorithm)
        clean = False
        try:
            self._one_task_each(lambda i: Task(-1 - i, roots, _UNLIMITED, float("inf")),
                                "warming up")
            clean = True
        finally:
            self._stop(clean)
        return time.perf_counter() - start

    @property
    def max_in_flight(self) -> int:
        """The cap on tasks handed out and not yet returned."""
        return self.options.max_in_flight or 2 * self.workers

    def run(self, algorithm: Algorithm,
            progress: ProgressCallback | None = None) -> Iterator[Region]:
        for part in self._run(algorithm, progress):
            if isinstance(part, int):  # a count-only task: one None per region
                yield from itertools.repeat(None, part)  # type: ignore[misc]
            else:
                yield from part

    def run_chunks(self, algorithm: Algorithm,
                   progress: ProgressCallback | None = None) -> Iterator[RegionChunk]:
        for part in self._run(algorithm, progress):
            if not isinstance(part, int) and len(part):
                yield part

    def run_counts(self, algorithm: Algorithm,
                   progress: ProgressCallback | None = None) -> Iterator[int]:
        for part in self._run(algorithm, progress):
            yield part if isinstance(part, int) else len(part)

    def _run(self, algorithm: Algorithm,
             progress: ProgressCallback | None) -> Iterator["RegionChunk | int"]:
        problem = algorithm.problem
        self.stats = Stats(layer_cells=[0] * problem.n_layers)
        self.tasks, self.deaths, self.shares = [], [], 0
        self._start(algorithm)
        clean = False
        try:
            yield from self._drive(algorithm, progress)
            clean = True
        finally:
            self._stop(clean)

    def _drive(self, algorithm: Algorithm,
               progress: ProgressCallback | None) -> Iterator["RegionChunk | int"]:
        problem = algorithm.problem
        ckpt = self.checkpoint
        start = last = time.perf_counter()
        ctx = Context.create(problem.config, problem.n_layers)
        restored = ckpt.restore() if ckpt is not None else None
        if restored is not None and restored.frontier is not None:
            self.stats.merge(restored.stats)
            items = list(restored.frontier)
        else:
            items = algorithm.roots(ctx)
        widths = problem.network.hidden_widths
        paper = self.options.strategy == "paper"
        queue: _StaticQueue | _DynamicQueue = (
            _StaticQueue(widths[0] if widths else 0) if paper
            else _DynamicQueue(self.options, self.workers,
                               self.shares_on_demand and ckpt is None))
        in_flight: dict[int, _InFlight] = {}
        found = 0
        if paper:
            for finished in self._first_layer(algorithm, ctx, items, queue):
                found += len(finished)
                yield len(finished) if algorithm.count_only else RegionChunk.from_regions(finished)
        else:
            queue.push(items)
        self.prelude = ctx.stats
        self.stats.merge(ctx.stats)
        ids = itertools.count()
        sharing = self.shares_on_demand and ckpt is None and not paper
        self._want_shares(False)
        while len(queue) or in_flight:
            self._hand_out(queue, in_flight, ids, sharing)
            if sharing:
                self._want_shares(not len(queue) and self._busy() < self.workers)
            results, losses = self._collect(min(self.options.progress_every, 0.1))
            for loss in losses:
                self._handle_loss(loss, in_flight, queue)
            for result in results:
                part = self._book(result, in_flight, queue)
                found += part if isinstance(part, int) else len(part)
                yield part
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

    def _hand_out(self, queue: "_StaticQueue | _DynamicQueue", in_flight: dict[int, _InFlight],
                  ids: Iterator[int], sharing: bool = False) -> None:
        """Submit tasks while workers have room and items are open."""
        room = min(self._free_slots(len(in_flight)), self.max_in_flight - len(in_flight))
        for _ in range(room):
            if not len(queue):
                return
            cells, expansions, seconds, budget = queue.take()
            task = Task(next(ids), cells, expansions, seconds,
                        self.count_only and self.checkpoint is None, budget, sharing)
            in_flight[task.id] = _InFlight(cells)
            self._submit(task)

    def _book(self, result: TaskResult | TaskFailure, in_flight: dict[int, _InFlight],
              queue: "_StaticQueue | _DynamicQueue") -> "RegionChunk | int":
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
            return 0
        entry = in_flight.pop(result.id)
        queue.push(result.leftover)
        if isinstance(queue, _DynamicQueue):
            queue.observe(result.count, result.seconds)
        self.stats.merge(result.stats)
        self.tasks.append(TaskRecord(len(entry.items), result.stats.expansions, result.seconds,
                                     result.count, result.worker))
        if len(result.regions) < result.count:
            return result.count
        if self.checkpoint is not None:
            self.checkpoint.record(result.regions)
        return result.regions

    def _first_layer(self, algorithm: Algorithm, ctx: Context, items: list[Cell],
                     queue: _StaticQueue) -> Iterator[list[Region]]:
        """The paper's master step: expand items at layer 0 in the parent and queue the items
        that left it, grouped into one task per first-layer cell."""
        ckpt = self.checkpoint
        stack = list(reversed(items))
        while stack:
            cell = stack.pop()
            if cell.layer >= 1:
                queue.push([cell])
                continue
            children, finished = algorithm.expand(cell, ctx)
            stack.extend(reversed(children))
            if finished:
                if ckpt is not None:
                    ckpt.record(finished)
                yield finished
            if ckpt is not None:
                stats = Stats()
                stats.merge(self.stats)
                stats.merge(ctx.stats)
                ckpt.poll(lambda: queue.items() + stack[::-1], stats)

    def _handle_loss(self, loss: WorkerLoss, in_flight: dict[int, _InFlight], queue) -> None:
        """Re-queue a dead worker's tasks under a checkpoint; otherwise fail the run."""
        self.deaths.append(loss)
        if self.checkpoint is None:
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


class LocalWorkers:
    """Task placement shared by the transports whose workers are on this machine (threads,
    processes): each worker holds at most its share of ``max_in_flight`` tasks, a new task goes
    to the worker with the fewest, and a worker is busy while it holds one.

    The transport keeps its handles in ``_workers``; each has a ``tasks`` list of task ids and a
    ``send(task)`` method. Its own state is set up in :meth:`_init_transport`.
    """

    workers: int
    max_in_flight: int

    def __init__(self, workers: int | None = None, task_expansions: int | None = None,
                 task_seconds: float = 0.05, max_in_flight: int | None = None,
                 strategy: str = "dynamic", checkpoint: "Checkpoint | None" = None,
                 keep_workers: bool = False, task_items: int = 4, max_queue: int | None = None,
                 progress_every: float = 0.5) -> None:
        options = TaskOptions(strategy, task_seconds, task_expansions, task_items, max_in_flight,
                              max_queue, progress_every)
        super().__init__(workers, options, checkpoint)  # type: ignore[call-arg]
        self.keep_workers = keep_workers
        self._workers: list = []
        self._init_transport()

    def _init_transport(self) -> None:
        """Set up the transport's own state (called at the end of ``__init__``)."""

    def _per_worker(self) -> int:
        return max(1, -(-self.max_in_flight // self.workers))

    def _free_slots(self, in_flight: int) -> int:
        cap = self._per_worker()
        return sum(max(0, cap - len(w.tasks)) for w in self._workers)

    def _submit(self, task: Task) -> None:
        worker = min(self._workers, key=lambda w: len(w.tasks))
        worker.tasks.append(task.id)
        worker.send(task)

    def _busy(self) -> int:
        return sum(1 for w in self._workers if w.tasks)
