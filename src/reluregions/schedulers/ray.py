"""The ``ray`` scheduler: the same tree on a Ray cluster or a local Ray instance (DESIGN.md §3).

The algorithm (network, domain, config) is put in the object store once with ``ray.put``; tasks
are coarse (a remote function expands a small subtree inline for about ``task_seconds``) and
every worker process builds its :class:`~reluregions.tree.Context` once and reuses it.
Results are consumed in completion order with ``ray.wait``, with a cap on tasks in flight; the
open items stay in the driver (see :mod:`reluregions.schedulers.driver`).

A worker that crashes is handled by Ray's own task retries (the task is a pure function of its
input, so a retry recomputes exactly the same result); when they are exhausted the run fails with
:class:`~reluregions.errors.WorkerDiedError`, or, in a checkpointed run (``run(..., journal=...)``),
the task is re-queued.

Without ``address`` and without a running Ray, a local instance is started on the loopback
address with ``num_cpus=workers``, no dashboard and no log forwarding, and shut down after the
run; an instance that was already running, or a cluster, is never shut down.

A run that stops early (an error, Ctrl-C, a checkpoint's stop, a closed stream) on an instance it
did not start does not cancel the tasks it still has in flight: they end by themselves (within one
task budget, ``task_seconds``, in the dynamic strategy; a whole first-layer cell in the paper's)
and their results are dropped. ``ray.cancel`` is not used because a cancellation that races with
the task's completion fails a check in the driver's core worker and ends the driver process with
exit status 1 ("Tried to complete task that was not pending"; Ray 2.60, seen in about one of 19
runs interrupted three times each).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from typing import Any, Iterator

from ..tree import Algorithm, Context
from ..errors import MissingDependencyError, OptionError
from .driver import TaskScheduler
from .tasks import Task, TaskFailure, TaskOptions, TaskResult, WorkerLoss, run_task
from .processes import THREAD_ENV_VARS, single_thread_env

__all__ = ["RayScheduler"]

_CONTEXTS: dict[tuple[str, int], Context] = {}  # one per Ray worker process (and config)
_REMOTE: Any = None
_TASK_RETRIES = 3


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            "the ray backend needs Ray; run: pip install 'reluregions[ray]'") from exc
    return ray


class _HeldLog:
    """What has been written to file descriptor 2 while it is held (see :func:`_held_stderr`)."""

    def __init__(self, file: Any = None) -> None:
        self._file = file

    @property
    def text(self) -> str:
        if self._file is None:
            return ""
        sys.stderr.flush()
        self._file.seek(0)
        data = self._file.read()
        self._file.seek(0, os.SEEK_END)
        return data.decode(errors="replace")


@contextlib.contextmanager
def _held_stderr() -> Iterator[_HeldLog]:
    """Hold back what is written to file descriptor 2 while joining a cluster.

    Ray's C++ client logs a warning per connection attempt straight to the descriptor, below
    Python's ``sys.stderr``. If joining fails, the caller reports it in one line (the held log,
    ``.text``, may tell why) and the attempts' log is dropped; if it succeeds, whatever was
    written is passed on unchanged.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real descriptor (captured stderr): nothing to hold
        yield _HeldLog()
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), fd)
        log = _HeldLog(held)
        joined = False
        try:
            yield log
            joined = True
        finally:
            text = log.text
            os.dup2(saved, fd)
            os.close(saved)
            if joined and text:
                sys.stderr.write(text)
                sys.stderr.flush()


def _join_cluster(ray: Any, address: str) -> None:
    """``ray.init`` on a running cluster, quietly, saying why when it fails.

    A head started with ``ray start`` (Ray >= 2.60) requires token authentication, but a driver
    that joins it sends its token (``~/.ray/auth_token``, or ``RAY_AUTH_TOKEN``) only in token
    mode; unless the user chose a mode (``RAY_AUTH_MODE``), token mode is set when a token is
    there. A head that refuses the token is named as the reason.
    """
    if "RAY_AUTH_MODE" not in os.environ:
        try:  # Ray's own switch: token mode when its loader finds a token (sets the variable)
            from ray._private.authentication.authentication_token_setup import (
                maybe_enable_token_auth_if_token_available)
            maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        except ImportError:  # a Ray without token authentication: nothing to switch on
            pass
    with _held_stderr() as held:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except ConnectionError as exc:
            if "Unauthenticated" in held.text or "InvalidAuthToken" in held.text:
                raise ConnectionError(
                    f"{str(exc).strip().splitlines()[-1]}: the head refused this machine's "
                    "authentication token; copy the head's ~/.ray/auth_token here (or set "
                    "RAY_AUTH_TOKEN to its contents)") from None
            raise


def _limit_threads() -> None:
    """Pin BLAS/OpenMP to one thread in a Ray worker we did not start (with threadpoolctl)."""
    if all(os.environ.get(k) == "1" for k in THREAD_ENV_VARS[:3]):
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(1)


def _ray_task(algorithm: Algorithm, task: Task) -> TaskResult | TaskFailure:
    """The remote function: expand one task with this worker process's cached context."""
    problem = algorithm.problem
    key = (repr(problem.config.lp), problem.n_layers)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        _limit_threads()
        ctx = _CONTEXTS[key] = Context.create(problem.config, problem.n_layers)
    algorithm.warm_up()  # loads compiled kernels once per worker process
    return run_task(algorithm, ctx, task)


def _remote(ray: Any) -> Any:
    global _REMOTE
    if _REMOTE is None:
        _REMOTE = ray.remote(num_cpus=1, max_retries=_TASK_RETRIES)(_ray_task)
    return _REMOTE


class RayScheduler(TaskScheduler):
    """Expand the tree with Ray tasks, splitting work dynamically.

    Parameters
    ----------
    address : str, optional
        Address of a running cluster (``"HOST:PORT"`` or ``"auto"``). Without it, an initialised
        Ray is used as is, or a local instance is started.
    workers : int, optional
        CPUs of a local instance, and the parallelism the scheduler plans for (default: the
        cluster's CPUs).
    task_seconds : float, default 1.2
        Longest time budget of one task. Tasks start at a tenth of it and grow with the run (see
        :class:`~reluregions.schedulers.tasks.TaskOptions`); a Ray task costs a few
        milliseconds to submit and collect, so shorter tasks lose more than the load balance
        gains. On 2 cores, the fastest of 5-6 interleaved runs: robot 1.83 s with 1.2 against
        2.12 s with 0.6 (processes 1.78 s); ACAS Xu prop 3 0.50 s against 0.47 s (processes
        0.44 s); an earlier session measured ACAS Xu at 0.59 s with 0.2 and 0.43 s with 0.4.
    max_in_flight : int, optional
        Most tasks submitted and not yet consumed (default: two per worker).
    strategy : {"dynamic", "paper"}, default "dynamic"
        Work splitting at any depth, or the paper's one task per first-layer cell.
    task_expansions, task_items, max_queue, progress_every
        See :class:`~reluregions.schedulers.tasks.TaskOptions`.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 task_seconds: float = 1.2, max_in_flight: int | None = None,
                 strategy: str = "dynamic", task_expansions: int | None = None, task_items: int = 4,
                 max_queue: int | None = None, progress_every: float = 0.5) -> None:
        if address is not None and not isinstance(address, str):
            raise OptionError(f"address must be a string such as 'HOST:PORT', got {address!r}")
        options = TaskOptions(strategy, task_seconds, task_expansions, task_items, max_in_flight,
                              max_queue, progress_every)
        super().__init__(workers, options)
        self._requested_workers = workers
        self.address = address
        self._ray: Any = None
        self._started = False
        self._pending: dict[Any, int] = {}  # object ref -> task id
        self._algorithm_ref: Any = None

    # ------------------------------------------------------------------ transport
    def _start(self, algorithm: Algorithm) -> None:
        ray = self._ray = _import_ray()
        self._started = False
        if not ray.is_initialized():
            if self.address is None:
                with single_thread_env():  # the raylet and its workers inherit it
                    ray.init(num_cpus=self._requested_workers or os.cpu_count() or 1,
                             include_dashboard=False, log_to_driver=False,
                             _node_ip_address="127.0.0.1")
                self._started = True
            else:
                _join_cluster(ray, self.address)
        if self._requested_workers is None:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._pending = {}
        self._algorithm_ref = ray.put(algorithm)

    def _stop(self, clean: bool) -> None:
        ray, self._ray = self._ray, None
        if ray is None:
            return
        # Tasks still running are left to end by themselves and their results are dropped with
        # the references: ``ray.cancel`` racing with a task's completion kills the driver in
        # Ray 2.60 (see the module docstring).
        self._pending = {}
        self._algorithm_ref = None
        if self._started:
            ray.shutdown()
            self._started = False

    def _free_slots(self, in_flight: int) -> int:
        return max(0, self.max_in_flight - in_flight)

    def _submit(self, task: Task) -> None:
        ref = _remote(self._ray).remote(self._algorithm_ref, task)
        self._pending[ref] = task.id

    def _collect(self, timeout: float) -> tuple[list[TaskResult | TaskFailure], list[WorkerLoss]]:
        ray = self._ray
        if not self._pending:
            return [], []
        refs = list(self._pending)
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        results: list[TaskResult | TaskFailure] = []
        losses: list[WorkerLoss] = []
        for ref in ready:
            task_id = self._pending.pop(ref)
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayTaskError as exc:  # the task itself raised
                cause = exc.as_instanceof_cause()
                results.append(TaskFailure(task_id, cause, str(exc)))
            except ray.exceptions.RayError as exc:  # worker or node died, retries exhausted
                losses.append(WorkerLoss(-1, f"died ({type(exc).__name__}: "
                                             f"{str(exc).splitlines()[0] if str(exc) else ''})",
                                         (task_id,)))
        return results, losses

    def _busy(self) -> int:
        return min(len(self._pending), self.workers)
