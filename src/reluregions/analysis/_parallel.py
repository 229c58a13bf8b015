"""Run per-chunk work inline or on a process pool, in order, with bounded work in flight.

Each worker process builds its state once (the network, the domain's parametrisation, an LP solver)
through ``factory(*args)``; chunks are plain arrays, results come back in submission order. At most
``2 * workers`` chunks are in flight, so memory does not grow with the length of the input. Worker
processes are started with ``spawn`` and run BLAS single-threaded (the matrices are tiny).

Workers never outlive the call: they ignore SIGINT (the parent decides, so Ctrl-C on a terminal,
which reaches the whole process group, cannot break the pool half-way), are asked by the kernel to
exit when their parent dies (``PR_SET_PDEATHSIG`` on Linux, and a watchdog thread elsewhere), and
are terminated, not awaited, when the caller stops early or an exception (KeyboardInterrupt
included) leaves the generator.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable, Iterator

__all__ = ["map_chunks", "default_workers", "ProgressFn", "report", "ChunkSizer"]

ProgressFn = Callable[[str, int, "int | None"], None]
"""A progress callback: ``progress(stage, done, total)``, ``total`` None when unknown."""


def report(progress: ProgressFn | None, stage: str, done: int, total: int | None) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(stage, done, total)


class ChunkSizer:
    """Chunk sizes that keep each chunk near ``target`` seconds of worker time.

    The first chunks are ``first`` items (so the first progress report and the first rate come
    fast, whatever an item costs); after each result, :meth:`record` its items and the worker's
    seconds, and later chunks are sized from the running cost per item, between 1 and ``largest``.
    """

    def __init__(self, first: int = 4, largest: int = 4096, target: float = 0.5) -> None:
        self.size, self.largest, self.target = int(first), int(largest), float(target)
        self._per_item: float | None = None

    def __call__(self) -> int:
        return self.size

    def record(self, items: int, seconds: float) -> None:
        """Account one finished chunk."""
        if items <= 0:
            return
        per = max(seconds, 1e-6) / items
        self._per_item = per if self._per_item is None else 0.5 * (self._per_item + per)
        self.size = int(min(max(self.target / self._per_item, 1), self.largest))


_STATE: dict[str, Any] = {}
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_workers() -> int:
    """Number of worker processes used when none is given: the CPUs available to this process."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when the process ``parent`` does (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # died before the request took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init(factory: Callable[..., Any], args: tuple, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since the spawn
    _die_with_parent(parent)
    _STATE["worker"] = factory(*args)


def _submit(pool: Any, method: str, chunk: Any) -> Any:
    """``pool.submit`` with Ctrl-C held back meanwhile: a worker the call spawns starts with
    SIGINT blocked (the mask survives fork and exec), so a Ctrl-C to the process group while it
    still imports cannot print a traceback; it ignores SIGINT from :func:`_init` on, and a Ctrl-C
    that reached the parent meanwhile is delivered when the mask is restored."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(_call, method, chunk)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _stop(pool: Any) -> None:
    """End a pool now: cancel what is queued and terminate its processes."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + 2.0
    for proc in processes:
        proc.join(max(deadline - time.monotonic(), 0.0))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)


def _call(method: str, chunk: Any) -> Any:
    return getattr(_STATE["worker"], method)(chunk)


def map_chunks(factory: Callable[..., Any], args: tuple, method: str, chunks: Iterable[Any],
               workers: int = 1) -> Iterator[Any]:
    """Yield ``factory(*args).method(chunk)`` for every chunk, in order.

    Parameters
    ----------
    factory, args
        Build the per-process worker object (must be importable and picklable).
    method : str
        Name of the worker method applied to each chunk.
    chunks : iterable
        Consumed lazily.
    workers : int
        1 runs inline in this process; more use a ``spawn`` process pool.
    """
    if workers <= 1:
        worker = factory(*args)
        fn = getattr(worker, method)
        for chunk in chunks:
            yield fn(chunk)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                   initializer=_init, initargs=(factory, args, os.getpid()))
        try:
            pending: deque = deque()
            for chunk in chunks:
                pending.append(_submit(pool, method, chunk))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
