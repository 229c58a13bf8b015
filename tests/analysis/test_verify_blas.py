"""verify's point check runs with one BLAS thread (and gives the setting back).

Its products are small (a batch's forward pass); with OpenBLAS's default threads the spare ones
only spin-wait (robot's 256,757 points: 4.3 s of CPU and 2.2 s of wall time against 1.7 s and
1.7 s with one thread). The count is read, through threadpoolctl, from inside the run (its progress
callback), with BLAS set to two threads around it.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from reluregions.analysis import verify_file
from reluregions.domains import Box
from reluregions.network import Network, load_network

from .helpers import write_region_file


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_verify_point_check_runs_with_one_blas_thread(tmp_path) -> None:
    rng = np.random.default_rng(4)
    net = Network([rng.standard_normal((10, 3)), rng.standard_normal((10, 10))],
                  [rng.standard_normal(10), rng.standard_normal(10)])
    box = Box.symmetric(3)
    path, npz = write_region_file(tmp_path / "r.parquet", net, box)
    net = load_network(npz)[0]
    seen: dict[str, list[list[int]]] = {}
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        report = verify_file(path, net, samples=500, workers=1, certify=True,
                             progress=lambda stage, done, total:
                             seen.setdefault(stage, []).append(_blas_threads()))
        after = _blas_threads()
    assert report.ok, report.lines()
    points = [s for stage, s in seen.items() if "point" in stage]
    assert points, f"no progress from the point check (stages: {sorted(seen)})"
    assert all(threads == [1] * len(before) for threads in points[0])
    assert after == before
