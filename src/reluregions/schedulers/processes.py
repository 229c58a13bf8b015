"""The ``processes`` scheduler: local worker processes with dynamic work splitting (DESIGN.md §3).

Workers are started with the ``spawn`` method (``fork`` is unsafe once HiGHS or Ray threads exist
in the parent) with BLAS and OpenMP pinned to one thread each. The algorithm is pickled once per run
and sent once to every worker, as its first message; each worker makes its own
:class:`~reluregions.tree.Context` (HiGHS instance and counters) for it. With
``keep_workers`` the processes outlive a run, so many short runs pay their start-up once. The
parent keeps the open items and hands out tasks (see :mod:`reluregions.schedulers.driver`);
regions stream back to the caller as tasks finish.

Every worker has a task pipe, read by a small thread so that the parent never blocks on a full
pipe, and a result pipe, watched together with the process sentinel: a worker that dies is noticed
at once. Without a checkpoint its death fails the run with
:class:`~reluregions.errors.WorkerDiedError` (a short count is never returned); with one, its tasks
are re-queued and a new worker takes its place.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue as _queue
import signal
import threading
import traceback
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator

from ..tree import Algorithm, Context
from .driver import TaskScheduler
from .local import LocalWorkers
from .tasks import TaskFailure, TaskResult, WorkerLoss, can_share, run_task

__all__ = ["ProcessScheduler", "single_thread_env", "THREAD_ENV_VARS"]

#: Environment variables that make BLAS / OpenMP libraries use one thread (read when they load).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_ENV_LOCK = threading.Lock()


@contextmanager
def single_thread_env() -> Iterator[None]:
    """Set :data:`THREAD_ENV_VARS` to 1 while child processes are started, then restore them.

    Children inherit the environment at start, before they import numpy, so their BLAS and OpenMP
    pools have one thread; the parent's own settings are untouched afterwards.
    """
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
        os.environ.update({k: "1" for k in THREAD_ENV_VARS})
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# ---------------------------------------------------------------------------------- worker side
def _read_tasks(conn: Connection, inbox: "_queue.SimpleQueue[Any]") -> None:
    """Move tasks from the pipe to the inbox; ``None`` when the parent says stop or goes away."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            task = None
        inbox.put(task)
        if task is None:
            return


def _sharer(wanted: Any, results: Connection, task_id: int,
            algorithm: Algorithm) -> "Callable[[list], int] | None":
    """The ``share`` hook of a task: when the ``wanted`` flag is up, send the bottom half of the
    task's open stack (its largest subtrees) to the parent; how many items went."""
    if wanted is None:
        return None

    def share(stack: list) -> int:
        # the common case: one flag read, nothing copied
        if not wanted.value or not can_share(algorithm, stack):
            return 0
        wanted.value = 0  # one worker answers (two answering at once is harmless)
        half = stack[:len(stack) // 2]
        results.send(TaskResult.shared(task_id, half))
        return len(half)

    return share


def _failure(task_id: int, exc: BaseException) -> TaskFailure:
    """A failed task's report: the exception itself when it pickles, else its text."""
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
        error = exc
    except Exception:  # an exception that does not survive pickling: keep its text
        error = RuntimeError(f"{type(exc).__name__}: {exc}")
    return TaskFailure(task_id, error, text)


def _worker_main(tasks: Connection, results: Connection, wanted: Any = None) -> None:
    """Body of one worker process: take an algorithm, run its tasks, until told to stop.

    Messages are ``("algorithm", Algorithm)`` (sent once per run; the worker makes a fresh
    context for it), a :class:`Task`, or ``None`` (stop). The worker also stops when the parent
    goes away (its pipe closes). ``wanted`` is a flag the parent raises when a worker is idle and
    nothing is queued: the first running task to see it sends half of its open items.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    inbox: _queue.SimpleQueue[Any] = _queue.SimpleQueue()
    threading.Thread(target=_read_tasks, args=(tasks, inbox), daemon=True).start()
    algorithm: Algorithm | None = None
    ctx: Context | None = None
    while True:
        message = inbox.get()
        if message is None:
            break
        if isinstance(message, tuple):
            algorithm = message[1]
            ctx = Context.create(algorithm.problem.config, algorithm.problem.n_layers)
            try:
                algorithm.warm_up()  # load compiled kernels before the first task arrives
            except Exception:  # noqa: BLE001 - the first task reports any real problem
                pass
            continue
        try:
            assert algorithm is not None and ctx is not None, "task before algorithm"
            share = _sharer(wanted, results, message.id, algorithm) if message.share else None
            reply: TaskResult | TaskFailure = run_task(algorithm, ctx, message, share)
        except Exception as exc:
            reply = _failure(message.id, exc)
        try:
            results.send(reply)
        except (OSError, EOFError):  # the parent is gone
            break


# ---------------------------------------------------------------------------------- parent side
class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, index: int, mp: Any, wanted: Any) -> None:
        tasks_r, self.tasks_w = mp.Pipe(duplex=False)
        self.results_r, results_w = mp.Pipe(duplex=False)
        self.index = index
        self.process = mp.Process(target=_worker_main, args=(tasks_r, results_w, wanted),
                                  name=f"reluregions-worker-{index}", daemon=True)
        with single_thread_env():
            self.process.start()
        tasks_r.close()
        results_w.close()
        self.tasks: list[int] = []
        self.algorithm: Algorithm | None = None  # the algorithm it was sent in this run

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def send(self, message: Any) -> None:
        """Send a message (or pre-pickled bytes); a dead worker is noticed by its sentinel."""
        try:
            if isinstance(message, bytes):
                self.tasks_w.send_bytes(message)
            else:
                self.tasks_w.send(message)
        except (OSError, ValueError):
            pass

    def describe_exit(self) -> str:
        """How the process ended, in words."""
        code = self.process.exitcode
        if code is None:
            return f"(pid {self.pid}) stopped answering"
        if code < 0:
            try:
                return f"(pid {self.pid}) was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"(pid {self.pid}) was killed by signal {-code}"
        return f"(pid {self.pid}) exited with status {code}"

    def close(self, timeout: float) -> None:
        """Wait for the worker to stop (after it was sent ``None``), then make sure it does."""
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        for conn in (self.tasks_w, self.results_r):
            conn.close()


class ProcessScheduler(LocalWorkers, TaskScheduler):
    """Expand the tree in local worker processes, splitting work dynamically.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: ``os.cpu_count()``).
    task_expansions : int, optional
        Expansion budget of one task (default: only the time budget applies).
    task_seconds : float, default 0.05
        Time budget of one task; the worker then returns its leftover frontier to the parent.
    max_in_flight : int, optional
        Most tasks handed out at once (default: two per worker).
    strategy : {"dynamic", "paper"}, default "dynamic"
        Work splitting at any depth, or the paper's one task per first-layer cell.
    keep_workers : bool, default False
        Keep the worker processes between runs (until :meth:`close`, or the end of a ``with``
        block), which saves their start-up (imports, compiled kernels) on many short runs.
    task_items, max_queue, progress_every
        See :class:`~reluregions.schedulers.tasks.TaskOptions`.

    Notes
    -----
    The algorithm is pickled once per run and sent once to every worker. After a run,
    :attr:`tasks` records the work of every task (expansions and seconds), from which
    :func:`~reluregions.schedulers.tasks.largest_task_share` computes the load balance.
    """

    name = "processes"

    def _init_transport(self) -> None:
        self._algorithm: Algorithm | None = None  # the algorithm of the blob
        self._blob = b""
        self._next_index = 0
        self._mp = multiprocessing.get_context("spawn")
        self._wanted = self._mp.RawValue("b", 0)  # see _want_shares

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.pid for w in self._workers if w.process.is_alive()]

    def close(self) -> None:
        """Stop the worker processes (kept between runs with ``keep_workers``)."""
        workers, self._workers = self._workers, []
        for w in workers:  # ask everyone first, then wait
            w.send(None)
        for w in workers:
            w.close(timeout=2.0 if not w.tasks else 0.2)

    def __enter__(self) -> "ProcessScheduler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ transport
    def _spawn(self) -> _Worker:
        worker = _Worker(self._next_index, self._mp, self._wanted)
        self._next_index += 1
        return worker

    def _start(self, algorithm: Algorithm) -> None:
        # prepare() and the run that follows share one algorithm: it is sent to each worker once
        # (count_only and the region budget travel with every task)
        sent = algorithm
        if self._algorithm is not sent:
            self._algorithm = sent
            self._blob = pickle.dumps(("algorithm", algorithm), protocol=pickle.HIGHEST_PROTOCOL)
        self._workers = [w for w in self._workers if w.process.is_alive()]
        while len(self._workers) < self.workers:
            self._workers.append(self._spawn())
        for w in self._workers:
            if w.algorithm is not sent:
                w.send(self._blob)
                w.algorithm = sent

    def _stop(self, clean: bool) -> None:
        self._algorithm, self._blob = None, b""
        for w in self._workers:
            w.algorithm = None
        if not (clean and self.keep_workers):
            self.close()

    def _collect(self, timeout: float) -> tuple[list[TaskResult | TaskFailure], list[WorkerLoss]]:
        by_conn = {w.results_r: w for w in self._workers}
        by_sentinel = {w.process.sentinel: w for w in self._workers}
        ready = wait(list(by_conn) + list(by_sentinel), timeout)
        results: list[TaskResult | TaskFailure] = []
        dead: list[_Worker] = []
        for obj in ready:
            worker = by_conn.get(obj)  # type: ignore[call-overload]
            if worker is None:
                worker = by_sentinel[obj]  # type: ignore[index]
                if worker not in dead:
                    dead.append(worker)
            elif not self._receive(worker, results) and worker not in dead:
                dead.append(worker)
        losses = []
        for worker in dead:
            while worker.results_r.poll(0) and self._receive(worker, results):
                pass  # results sent before it died still count
            worker.process.join(0.5)
            losses.append(WorkerLoss(worker.index, worker.describe_exit(), tuple(worker.tasks)))
            worker.tasks = []
            self._workers.remove(worker)
            worker.close(timeout=0.1)
        return results, losses

    @staticmethod
    def _receive(worker: _Worker, results: list[TaskResult | TaskFailure]) -> bool:
        """Read one message from a worker; False when its pipe is closed or the message is torn."""
        try:
            message = worker.results_r.recv()
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            return False
        if message.id in worker.tasks and not getattr(message, "partial", False):
            worker.tasks.remove(message.id)
        results.append(message)
        return True

    shares_on_demand = True

    def _want_shares(self, wanted: bool) -> None:
        self._wanted.value = int(wanted)

    def _replace(self, loss: WorkerLoss) -> None:
        worker = self._spawn()
        worker.send(self._blob)
        worker.algorithm = self._algorithm
        self._workers.append(worker)
