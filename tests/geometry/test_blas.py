"""geometry/blas.py: BLAS runs on one thread inside ``one_blas_thread`` and gets its setting back."""
from __future__ import annotations

import threading

import numpy as np  # noqa: F401  (loads the BLAS library threadpoolctl looks for)
import pytest
import threadpoolctl

from reluregions.geometry.blas import one_blas_thread


def _threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


def test_one_thread_inside_and_the_setting_restored_after() -> None:
    before = _threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl controls")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        two = _threads()
        with one_blas_thread():
            assert set(_threads()) == {1}
            with one_blas_thread():  # nested: still one, and the outer exit restores
                assert set(_threads()) == {1}
            assert set(_threads()) == {1}
        assert _threads() == two
    assert _threads() == before


def test_threads_share_the_limit_until_the_last_leaves() -> None:
    before = _threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl controls")
    inside, release, seen = threading.Event(), threading.Event(), []

    def hold() -> None:
        with one_blas_thread():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    assert inside.wait(10)
    with one_blas_thread():
        seen.append(_threads())
    seen.append(_threads())  # the other thread still holds it
    release.set()
    worker.join(10)
    assert set(seen[0]) == {1} and set(seen[1]) == {1}
    assert _threads() == before
