"""One BLAS thread while the LP engines multiply small matrices (issue 14).

The high-dimensional engine's products are small (a cell's few dozen cuts against a few hundred
coordinates, one layer map times a point): a second BLAS thread buys nothing there and, next to
HiGHS's own worker threads and other processes on a 2-core machine, its spin-waits cost far more
than the product. Measured on MNIST prop 0 (784 inputs), serial: the analytic-centre steps took
20.7 s of CPU for 1,000 regions with OpenBLAS's default two threads and 0.6 s with one.

:func:`one_blas_thread` limits BLAS to one thread for as long as any caller in the process holds
it (threads of one process share the setting, so the first to enter sets it and the last to leave
restores it), through threadpoolctl (a dependency: without it a plain install would run the
high-dimensional engine at half its rate wherever scikit-learn, which brings it, is absent). Worker
processes of the parallel schedulers are already started with one BLAS thread (DESIGN.md §3).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["one_blas_thread", "find_blas"]

_LOCK = threading.Lock()
_STATE: dict = {"depth": 0, "limiter": None, "controller": None, "tried": False}


def _controller():
    """threadpoolctl's controller of the loaded BLAS libraries (found once, on first use)."""
    if not _STATE["tried"]:
        _STATE["tried"] = True
        from threadpoolctl import ThreadpoolController

        _STATE["controller"] = ThreadpoolController().select(user_api="blas")
    return _STATE["controller"]


def find_blas() -> None:
    """Find the loaded BLAS libraries now (tens of milliseconds), so that the first
    :func:`one_blas_thread` does not pay for it inside a timed run."""
    with _LOCK:
        _controller()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with BLAS limited to one thread (see the module docstring)."""
    with _LOCK:
        controller = _controller()
        if controller is not None and controller.lib_controllers:
            if _STATE["depth"] == 0:
                _STATE["limiter"] = controller.limit(limits=1)
            _STATE["depth"] += 1
            entered = True
        else:
            entered = False
    try:
        yield
    finally:
        if entered:
            with _LOCK:
                _STATE["depth"] -= 1
                if _STATE["depth"] == 0:
                    _STATE["limiter"].restore_original_limits()
                    _STATE["limiter"] = None
