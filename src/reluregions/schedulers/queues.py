"""The parent's open work items and the two strategies that cut them into tasks (DESIGN.md §3).

:class:`OpenItems` holds open items ordered by depth. Two strategies decide which items form a
task:

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
"""
from __future__ import annotations

import bisect
import time
from collections import deque

import numpy as np

from ..tree import Cell
from .tasks import UNLIMITED, TaskOptions

__all__ = ["OpenItems", "DynamicQueue", "StaticQueue", "STARVING_BUDGET"]

STARVING_BUDGET = 256  # regions per expansion while workers wait for work


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


class DynamicQueue:
    """The dynamic strategy: shallowest items first, depth first while the queue is too long.

    Task budgets grow with the run: a task gets about ``ELAPSED_SHARE`` of the time elapsed so
    far (at least ``task_seconds / 10``, at most ``task_seconds``), so a run of a few
    milliseconds is still cut into many tasks (no worker waits long for another's leftovers),
    while a long run gets coarse tasks (little transfer overhead). Either way the imbalance at the
    end, at most one task, stays a small share of the run. The region budget of one expansion
    follows the task's time budget, from the regions per second the workers reached so far.

    With ``on_demand`` (workers that share their open items whenever another worker is idle, see
    :meth:`TaskScheduler._want_shares`) tasks keep the full ``task_seconds`` and only the
    expansions are kept short, so a busy worker answers an idle one quickly: they too last about
    ``ELAPSED_SHARE`` of the time elapsed, from :attr:`MIN_QUANTUM` to :attr:`QUANTUM`, so a run
    of a few milliseconds is shared finely and a long one pays little per call; with
    ``stopped_when_asked`` (expansions in progress stop as soon as a worker waits,
    :attr:`~reluregions.tree.Algorithm.stops_when_asked`) they need not be short, and take the
    algorithm's own budget from the start. ``rate`` is the regions per second of one worker
    expected before any task has finished (0: unknown).
    """

    ELAPSED_SHARE = 0.05
    #: With ``on_demand``, the longest expansion in seconds (at most a fifth of ``task_seconds``):
    #: about how long an idle worker may wait for a share, against the cost of a kernel call
    #: (about 40 µs, under 1 % of a call of 10 ms; calls of 2.5 ms made runs 5-8 % slower).
    QUANTUM = 0.01
    #: With ``on_demand``, the shortest expansion in seconds, at the start of a run (a kernel
    #: call costs about 30 µs of Python on vdp, 3 % of it).
    MIN_QUANTUM = 0.001

    def __init__(self, options: TaskOptions, workers: int, on_demand: bool = False,
                 rate: float = 0.0, stopped_when_asked: bool = False) -> None:
        self.options = options
        self.workers = workers
        self.on_demand = on_demand
        self.stopped_when_asked = on_demand and stopped_when_asked
        self.open = OpenItems()
        self.start = time.perf_counter()
        self.rate = rate  # regions per second of one worker, from finished tasks
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

        The region budget (the ``budget`` of :meth:`~reluregions.tree.Algorithm.expand`; ``None``:
        the algorithm's default) matters for algorithms whose one expansion covers
        a whole subtree (vertex): a task's expansions stay well inside its time budget, and
        starving workers get small ones, so the frontier comes back, and is shared, quickly.
        """
        opts = self.options
        n = len(self.open)
        expansions = opts.task_expansions or UNLIMITED
        elapsed = time.perf_counter() - self.start
        floor = opts.task_seconds / 10
        seconds = min(opts.task_seconds, max(floor, self.ELAPSED_SHARE * elapsed))
        if self.on_demand:  # workers share when another is idle: long tasks, short expansions
            seconds = opts.task_seconds
            quantum = min(opts.task_seconds * 0.2, self.QUANTUM,
                          max(self.MIN_QUANTUM, self.ELAPSED_SHARE * elapsed))
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
        if self.stopped_when_asked:  # a waiting worker stops expansions: the algorithm's budget
            budget = None
        return [self.open.pop() for _ in range(count)], expansions, seconds, budget

    def items(self) -> list[Cell]:
        return self.open.items()


class StaticQueue:
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
        return group, UNLIMITED, float("inf"), None

    def items(self) -> list[Cell]:
        return [c for k in self.order for c in self.groups[k]]
