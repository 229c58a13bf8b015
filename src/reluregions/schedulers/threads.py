"""The ``threads`` scheduler: worker threads in this process, dynamic work splitting (DESIGN.md §3).

The compiled traversal of the vertex algorithms (:func:`reluregions.geometry.dfs.dfs_packed`)
releases the GIL, so threads of one process expand the tree in parallel. Nothing is pickled: tasks, leftover frontiers and region blocks move between threads as
references, which saves the transfer cost of the ``processes`` scheduler (about 3 µs of CPU per
region on ACAS Xu) and its start-up. The Python glue around each compiled call holds the GIL, so
the scheduler suits algorithms whose expansions are long compiled calls (``default``,
``vertex``); the ``processes`` scheduler stays the choice for Python-heavy algorithms (``paper``)
and isolates a crash in one worker.

Every worker thread has its own shallow copy of the algorithm (attributes an expansion rebinds
stay per thread) and its own :class:`~reluregions.tree.Context` (HiGHS
instance and counters). The parent side, tasks, queue and checkpoints, is
:class:`~reluregions.schedulers.driver.TaskScheduler`'s, as for the other parallel schedulers.
"""
from __future__ import annotations

import copy
import queue as _queue
import threading
import traceback
from typing import Any, Callable

import numpy as np

from ..tree import Algorithm, Cell, Context
from .driver import TaskScheduler
from .local import LocalWorkers
from .tasks import TaskFailure, TaskResult, WorkerLoss, can_share, run_task

__all__ = ["ThreadScheduler"]


class _WorkerThread:
    """One worker thread: takes tasks from its inbox, puts results in the shared outbox.

    A thread told to stop while it runs a task (the run was abandoned) drops the task's open
    items after the expansion in progress, so it does not work on for a run nobody reads.
    """

    def __init__(self, index: int, outbox: "_queue.SimpleQueue[Any]", wanted: np.ndarray) -> None:
        self.index = index
        self.inbox: _queue.SimpleQueue[Any] = _queue.SimpleQueue()
        self.outbox = outbox
        self.wanted = wanted
        self.cancelled = False
        self.tasks: list[int] = []
        self.algorithm: Algorithm | None = None  # the caller's algorithm this thread copied
        self._own: Algorithm | None = None
        self._ctx: Context | None = None
        self.thread = threading.Thread(target=self._main, name=f"reluregions-thread-{index}",
                                       daemon=True)
        self.thread.start()

    def send(self, message: Any) -> None:
        """Queue a task (or the stop message ``None``) for the thread."""
        self.inbox.put(message)

    def load(self, algorithm: Algorithm) -> None:
        """Give the thread a copy of ``algorithm`` and a fresh context for the tasks that follow.

        Both are made here, in the caller's thread: creating a HiGHS instance briefly points the
        process's stdout at /dev/null (see :mod:`reluregions.geometry.lp`), which must not
        overlap with output from the caller.
        """
        self.algorithm = algorithm
        own = copy.copy(algorithm)  # attributes an expansion rebinds stay per thread
        problem = own.problem
        ctx = Context.create(problem.config, problem.n_layers)
        ctx.asked = self.wanted  # a compiled traversal stops when another thread waits for work
        self.inbox.put(("algorithm", own, ctx))

    def stop(self) -> None:
        """Stop after the current expansion (its task's open items are dropped)."""
        self.cancelled = True
        self.inbox.put(None)

    def _hook(self, task_id: int, sharing: bool) -> Callable[[list[Cell]], int]:
        """The task's ``share`` hook: drop everything once cancelled; else, when sharing and the
        parent wants items, send the bottom half of the open stack (its largest subtrees; an
        item that stands for a stopped traversal's whole stack is halved first)."""
        wanted, outbox = self.wanted, self.outbox

        def hook(stack: list[Cell]) -> int:
            if self.cancelled:
                return len(stack)
            if not (sharing and wanted[0]) or not can_share(self._own, stack):
                return 0
            wanted[0] = 0
            half = stack[:len(stack) // 2]
            outbox.put(TaskResult.shared(task_id, half))
            return len(half)

        return hook

    def _main(self) -> None:
        while True:
            message = self.inbox.get()
            if message is None or self.cancelled:
                return
            if isinstance(message, tuple):
                _, self._own, self._ctx = message
                continue
            try:
                if self._own is None or self._ctx is None:
                    raise RuntimeError("a task reached a worker thread before its algorithm")
                reply: TaskResult | TaskFailure = run_task(
                    self._own, self._ctx, message, self._hook(message.id, message.share))
                reply.worker = self.index
            except Exception as exc:  # raised in the caller's thread, as it is
                reply = TaskFailure(message.id, exc, "".join(traceback.format_exception(exc)))
            self.outbox.put(reply)


class ThreadScheduler(LocalWorkers, TaskScheduler):
    """Expand the tree in worker threads of this process, splitting work dynamically.

    Parameters
    ----------
    workers : int, optional
        Worker threads (default: ``os.cpu_count()``).
    task_seconds : float, default 0.05
        Time budget of one task; the thread then returns its leftover frontier to the queue.
    strategy : {"dynamic", "paper"}, default "dynamic"
        Work splitting at any depth, or the paper's one task per first-layer cell.
    keep_workers : bool, default False
        Keep the threads between runs (until :meth:`close`, or the end of a ``with`` block).
    task_expansions, max_in_flight, task_items, max_queue, progress_every
        See :class:`~reluregions.schedulers.tasks.TaskOptions`.

    Notes
    -----
    Threads run in parallel only while they are in compiled code that releases the GIL (the
    vertex traversal); other algorithms are exact here too, but mostly serial. The threads are
    daemon threads: an interpreter that exits does not
    wait for them.
    """

    name = "threads"
    shares_on_demand = True
    asks_to_stop = True

    def _init_transport(self) -> None:
        self._outbox: _queue.SimpleQueue[Any] = _queue.SimpleQueue()
        # raised while a worker waits for work (see _want_shares); read by the compiled traversal
        self._wanted = np.zeros(1, np.int64)

    @property
    def worker_threads(self) -> list[threading.Thread]:
        """The live worker threads."""
        return [w.thread for w in self._workers if w.thread.is_alive()]

    def close(self) -> None:
        """Stop the worker threads."""
        threads, self._workers = self._workers, []
        for t in threads:
            t.inbox.put(None)
        for t in threads:
            t.thread.join()

    def __enter__(self) -> "ThreadScheduler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ transport
    def _start(self, algorithm: Algorithm) -> None:
        algorithm.warm_up()  # compile or load the kernels once, before any thread needs them
        while len(self._workers) < self.workers:
            self._workers.append(_WorkerThread(len(self._workers), self._outbox, self._wanted))
        for t in self._workers:
            if t.algorithm is not algorithm:
                t.load(algorithm)

    def _stop(self, clean: bool) -> None:
        if clean and self.keep_workers:
            return
        # after an unclean end a task may still run: its thread drops it after the expansion in
        # progress, unwaited for, and a fresh outbox keeps its late result out of the next run
        threads, self._workers = self._workers, []
        if clean:
            for t in threads:
                t.inbox.put(None)
            for t in threads:
                t.thread.join()
        else:
            for t in threads:
                t.stop()
            self._outbox = _queue.SimpleQueue()

    def _collect(self, timeout: float) -> tuple[list[TaskResult | TaskFailure], list[WorkerLoss]]:
        results: list[TaskResult | TaskFailure] = []
        try:
            results.append(self._outbox.get(timeout=timeout))
        except _queue.Empty:
            return results, []
        while True:
            try:
                results.append(self._outbox.get_nowait())
            except _queue.Empty:
                break
        for result in results:
            if isinstance(result, TaskResult) and result.partial:
                continue
            for t in self._workers:
                if result.id in t.tasks:
                    t.tasks.remove(result.id)
                    break
        return results, []

    def _want_shares(self, wanted: bool) -> None:
        self._wanted[0] = int(wanted)
