"""Run per-chunk work inline or on a process pool, in order, with bounded work in flight.

Each worker process builds its state once (the network, the domain's parametrisation, an LP solver)
through ``factory(*args)``; chunks are plain arrays, results come back in submission order. At most
``2 * workers`` chunks are in flight, so memory does not grow with the length of the input. Worker
processes are started with ``spawn`` and run BLAS single-threaded (the matrices are tiny).
"""
from __future__ import annotations

import os
from collections import deque
from typing import Any, Callable, Iterable, Iterator

__all__ = ["map_chunks", "default_workers"]

_STATE: dict[str, Any] = {}
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_workers() -> int:
    """Number of worker processes used when none is given: the CPUs available to this process."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _init(factory: Callable[..., Any], args: tuple) -> None:
    _STATE["worker"] = factory(*args)


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
                                   initializer=_init, initargs=(factory, args))
        with pool:
            pending: deque = deque()
            for chunk in chunks:
                pending.append(pool.submit(_call, method, chunk))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
