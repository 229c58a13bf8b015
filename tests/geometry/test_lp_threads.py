"""HiGHS instances made by several threads at once leave the process's stdout where it was.

Creating one points file descriptor 1 at /dev/null for a moment (HiGHS prints a banner there);
without a lock, two threads could each save the other's /dev/null as "the real stdout" and
restore it, silencing the process for good (seen as a resumed run that printed nothing).
"""
from __future__ import annotations

import os
import threading

from reluregions.geometry.lp import LPSolver


def _stdout_identity() -> tuple[int, int]:
    st = os.fstat(1)
    return st.st_dev, st.st_ino


def test_threads_creating_solvers_keep_stdout() -> None:
    before = _stdout_identity()
    threads, rounds = 8, 25
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def make() -> None:
        try:
            for _ in range(rounds):
                barrier.wait()
                LPSolver()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=make) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    assert _stdout_identity() == before
