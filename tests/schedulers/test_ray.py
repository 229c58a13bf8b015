"""The ray scheduler on a real local Ray instance: same regions as serial, streaming, failures."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from reluregions import Box
from reluregions.errors import MissingDependencyError, SolverError
from reluregions.schedulers import make_scheduler
from reluregions.schedulers.ray import RayScheduler
from reluregions.testing import assert_regionsets_equal

from .conftest import WORKERS, reference
from .helpers import (FailingAlgorithm, algorithm_for, assert_streams_before_the_end, random_net,
                      regionset, run_tree, script_env, seeded_net)

pytest.importorskip("ray")

CASES = [(seed, algorithm) for algorithm in ("default", "witness") for seed in range(3)] + \
    [(0, "paper")]


@pytest.fixture(autouse=True)
def _ray(local_ray):
    return local_ray


@pytest.mark.parametrize("strategy", ["dynamic", "paper"])
@pytest.mark.parametrize("seed, algorithm", CASES)
def test_same_regions_as_serial(seed: int, algorithm: str, strategy: str) -> None:
    net, box = seeded_net(seed)
    scheduler = make_scheduler("ray", workers=WORKERS, strategy=strategy, task_seconds=0.05)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, algorithm)), net)
    assert_regionsets_equal(got, reference(seed, algorithm))


def test_streams_and_keeps_a_running_instance(local_ray) -> None:
    scheduler = RayScheduler(task_seconds=0.05)
    assert_streams_before_the_end(scheduler)
    assert local_ray.is_initialized()  # not ours to shut down
    assert scheduler.workers == WORKERS  # the cluster's CPUs
    assert len(scheduler.tasks) > 1 and scheduler.stats.expansions > 0


def test_task_error_is_raised_in_the_driver(local_ray) -> None:
    from . import helpers

    net, box = seeded_net(1)
    local_ray.cloudpickle.register_pickle_by_value(helpers)  # Ray workers cannot import the tests
    try:
        failing = FailingAlgorithm(algorithm_for(net, box, "witness"))
        with pytest.raises(SolverError, match="unexpected status"):
            list(run_tree(RayScheduler(workers=WORKERS), failing))
    finally:
        local_ray.cloudpickle.unregister_pickle_by_value(helpers)


def test_killed_ray_worker_is_retried_exactly() -> None:
    net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
    scheduler = RayScheduler(workers=WORKERS, strategy="paper")
    stream = run_tree(scheduler, algorithm_for(net, box, "witness"))
    regions = [next(stream)]
    victim = None
    deadline = time.monotonic() + 10
    while victim is None and time.monotonic() < deadline:
        regions.append(next(stream))
        for pid in {t.worker for t in scheduler.tasks}:  # this instance's workers only
            try:
                busy = "_ray_task" in " ".join(psutil.Process(pid).cmdline())
            except psutil.Error:
                continue
            if busy:
                victim = psutil.Process(pid)
                break
    assert victim is not None, "no Ray worker of this run was busy"
    victim.send_signal(signal.SIGKILL)
    regions += list(stream)
    assert_regionsets_equal(regionset(regions, net), reference_medium(net, box))


def reference_medium(net, box):
    from reluregions.schedulers import SerialScheduler

    return regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "witness")), net)


def test_missing_ray_names_the_install_command(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    net, box = seeded_net(0)
    with pytest.raises(MissingDependencyError, match=r"pip install 'reluregions\[ray\]'"):
        list(run_tree(RayScheduler(workers=WORKERS), algorithm_for(net, box, "witness")))


STOP_EARLY = r"""
import sys
import ray
from reluregions import Box
from reluregions.schedulers.ray import RayScheduler
from schedulers.helpers import algorithm_for, random_net, run_tree
ray.init(address=sys.argv[1], log_to_driver=False)
net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
for i in range(int(sys.argv[2])):
    stream = run_tree(RayScheduler(task_seconds=0.02), algorithm_for(net, box, "witness"))
    regions = (region for block in stream for region in block)
    for _ in range(1 + 37 * i % 300):
        next(regions)
    stream.close()  # stops with tasks in flight, at another moment each time
print("regions", sum(len(b) for b in run_tree(RayScheduler(task_seconds=0.05), algorithm_for(net, box,
                                                                                      "witness"))))
"""


def test_stopping_early_on_a_running_instance_leaves_the_driver_alive(local_ray) -> None:
    """Runs closed mid-stream, again and again, on an instance the scheduler did not start: the
    tasks in flight are dropped, not cancelled (a cancellation racing with a task's completion
    ended the driver with exit status 1 in Ray 2.60), and a last run is complete."""
    address = local_ray.get_runtime_context().gcs_address
    proc = subprocess.run([sys.executable, "-c", STOP_EARLY, address, "40"], env=script_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
    assert proc.stdout.split() == ["regions", str(len(reference_medium(net, box)))]


def test_command_line_joins_a_running_cluster_with_its_token(local_ray, tmp_path) -> None:
    """The README's cluster walkthrough from the command line: ``count --address`` joins a running
    head (token authentication on, as Ray 2.60 starts it, and no ``RAY_AUTH_MODE`` in the user's
    environment), counts what serial counts, and prints none of Ray's connection log."""
    import os

    from reluregions import count_regions
    from reluregions.network.npz import save_npz

    net, box = random_net(2, (8, 6), 3), Box.symmetric(2)
    path = tmp_path / "net.npz"
    save_npz(path, net, (box.lo, box.hi))
    expected = count_regions(net, box).regions
    env = {k: v for k, v in script_env().items() if k != "RAY_AUTH_MODE"}
    address = local_ray.get_runtime_context().gcs_address
    proc = subprocess.run([sys.executable, "-m", "reluregions", "count", str(path), "--address",
                           address, "--workers", "2", "--json"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    assert json.loads(proc.stdout)["regions"] == expected
    assert "gcs_client" not in proc.stderr and "Traceback" not in proc.stderr
    assert os.environ.get("RAY_AUTH_MODE") in (None, "token")  # the test process is untouched
