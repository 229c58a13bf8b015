"""The certificate runs with one BLAS thread (and gives the setting back).

Its matrix products are small (a block's layer maps, the exact point check's forward passes); with
OpenBLAS's default threads the spare ones only spin-wait: on robot that was 5 to 6 s of CPU in a
9 s ``count --certify``. The BLAS thread count is read, through threadpoolctl, from inside the run
(its progress callback), with BLAS set to two threads around it.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from reluregions.domains import Box
from reluregions.enumeration import enumerate_regions
from reluregions.enumeration.certify import certify_regions
from reluregions.network import Network


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _net(seed: int = 3) -> Network:
    rng = np.random.default_rng(seed)
    widths = (3, 10, 10)
    return Network([rng.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])],
                   [rng.standard_normal(o) for o in widths[1:]])


def test_certificate_runs_with_one_blas_thread() -> None:
    net, box = _net(), Box.symmetric(3)
    rs = enumerate_regions(net, box)
    seen: list[list[int]] = []
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        cert = certify_regions(net, box, rs.bits, rs.points,
                               progress=lambda done, total: seen.append(_blas_threads()))
        after = _blas_threads()
    assert before, "numpy's BLAS was not found by threadpoolctl"
    assert cert.certified, cert.failure
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert after == before
