"""Task placement shared by the transports whose workers are on this machine (DESIGN.md §3)."""
from __future__ import annotations

from .tasks import Task, TaskOptions

__all__ = ["LocalWorkers"]


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
                 strategy: str = "dynamic", keep_workers: bool = False, task_items: int = 4, max_queue: int | None = None,
                 progress_every: float = 0.5) -> None:
        options = TaskOptions(strategy, task_seconds, task_expansions, task_items, max_in_flight,
                              max_queue, progress_every)
        super().__init__(workers, options)  # type: ignore[call-arg]
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
