"""The local schedulers (threads and processes, through the ``pool`` fixture): same regions as
serial, sharing, streaming; and the processes scheduler's own: worker death, thread pinning."""
from __future__ import annotations

import dataclasses
import os
import signal

import psutil
import pytest

from reluregions import Box
from reluregions.errors import OptionError, SolverError, WorkerDiedError
from reluregions.enumeration import Context
from reluregions.schedulers import SerialScheduler, make_scheduler
from reluregions.schedulers.queues import OpenItems
from reluregions.schedulers.tasks import largest_task_share
from reluregions.schedulers.processes import THREAD_ENV_VARS, ProcessScheduler
from reluregions.testing import assert_regionsets_equal

from .conftest import WORKERS, reference
from .helpers import (FailingAlgorithm, algorithm_for, assert_streams_before_the_end, random_net,
                      regionset, run_tree, seeded_net)

CASES = [(seed, algorithm) for algorithm in ("default", "witness") for seed in range(4)] + \
    [(seed, "paper") for seed in (0, 4)]  # the paper algorithm is slow: fewer nets


@pytest.mark.parametrize("strategy", ["dynamic", "paper"])
@pytest.mark.parametrize("seed, algorithm", CASES)
def test_same_regions_as_serial(seed: int, algorithm: str, strategy: str, pool) -> None:
    net, box = seeded_net(seed)
    pool.options = dataclasses.replace(pool.options, strategy=strategy)
    got = regionset(run_tree(pool, algorithm_for(net, box, algorithm)), net)
    assert_regionsets_equal(got, reference(seed, algorithm))


@pytest.mark.parametrize("strategy", ["dynamic", "paper"])
def test_many_tasks_same_regions_and_stats(strategy: str, pool) -> None:
    """A net large enough to be split into many tasks; counters match the serial run too."""
    net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
    serial = SerialScheduler()
    expected = regionset(run_tree(serial, algorithm_for(net, box, "witness")), net)
    pool.options = dataclasses.replace(pool.options, strategy=strategy, task_seconds=0.05)
    got = regionset(run_tree(pool, algorithm_for(net, box, "witness")), net)
    assert_regionsets_equal(got, expected)
    assert len(pool.tasks) > 4
    assert pool.stats.layer_cells == serial.stats.layer_cells
    assert pool.stats.lps == serial.stats.lps
    assert 0 < largest_task_share(pool.tasks) <= 1
    assert 0 < largest_task_share(pool.tasks, by="seconds") <= 1
    if strategy == "paper":  # at most one task per first-layer cell, none in layer 0
        assert len(pool.tasks) <= pool.stats.layer_cells[0] == pool.prelude.layer_cells[0]


@pytest.mark.parametrize("algorithm", ["default", "witness"])
def test_long_tasks_share_items_with_idle_workers(algorithm: str, pool) -> None:
    """Tasks far longer than the run: only on-demand sharing keeps the second worker busy."""
    # enough regions for many expansions (the vertex algorithm expands 256 regions at once here)
    widths = (16, 16, 16) if algorithm == "default" else (10, 10, 10)
    net, box = random_net(3, widths, 0), Box.symmetric(3)
    serial = SerialScheduler()
    expected = regionset(run_tree(serial, algorithm_for(net, box, algorithm)), net)
    pool.options = dataclasses.replace(pool.options, strategy="dynamic", task_seconds=30.0)
    got = regionset(run_tree(pool, algorithm_for(net, box, algorithm)), net)
    assert_regionsets_equal(got, expected)
    assert pool.shares > 0
    assert len({t.worker for t in pool.tasks}) == WORKERS  # every worker got work
    assert pool.stats.layer_cells == serial.stats.layer_cells


def test_no_sharing_under_a_checkpoint(tmp_path, pool) -> None:
    """Snapshots count a task's items in flight until it ends, so shares would be counted twice."""
    from reluregions import EnumerationConfig
    from reluregions.enumeration import make_problem
    from reluregions.io.parquet import read_regions
    from reluregions.enumeration.checkpointed import run_with_checkpoint

    net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    pool.options = dataclasses.replace(pool.options, strategy="dynamic", task_seconds=30.0)
    run = run_with_checkpoint(problem, pool, tmp_path / "ckpt", tmp_path / "out.parquet")
    assert pool.shares == 0
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "witness")), net)
    assert run.regions == len(read_regions(tmp_path / "out.parquet")) == len(expected)


def test_long_queue_is_drained_depth_first(pool) -> None:
    """With a tiny queue bound, tasks take the deepest items: still the same regions."""
    net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "witness")), net)
    pool.options = dataclasses.replace(pool.options, strategy="dynamic", task_seconds=0.02,
                                       max_queue=3, task_items=2)
    got = regionset(run_tree(pool, algorithm_for(net, box, "witness")), net)
    assert_regionsets_equal(got, expected)


def test_open_items_pop_shallowest_or_deepest() -> None:
    net, box = seeded_net(1)
    algorithm = algorithm_for(net, box, "witness")
    ctx = Context.create(algorithm.problem.config, algorithm.problem.n_layers)
    stack = algorithm.roots(ctx)
    cells = []
    while stack and len(cells) < 40:  # collect cells of various depths
        children, _ = algorithm.expand(stack.pop(), ctx, budget=algorithm.default_budget,
                                       count_only=False)
        stack += children
        cells += children
    queue = OpenItems()
    for cell in cells:
        queue.push(cell)
    depth = lambda c: (c.layer, c.neuron, len(c.h))  # noqa: E731
    assert depth(queue.pop()) == min(map(depth, cells))
    assert depth(queue.pop(deepest=True)) == max(map(depth, cells))
    assert len(queue) == len(cells) - 2 == len(queue.items())


@pytest.mark.parametrize("workers, given, bound", [(2, None, 256), (10, None, 640), (2, 3, 3)])
def test_queue_bound_grows_with_the_workers(workers: int, given, bound: int) -> None:
    """Open items are the parent's memory: by default 64 per worker, at least 256."""
    from reluregions.schedulers.queues import DynamicQueue
    from reluregions.schedulers.tasks import TaskOptions

    assert DynamicQueue(TaskOptions(max_queue=given), workers).max_queue == bound


def test_fresh_workers_are_stopped_after_the_run() -> None:
    net, box = seeded_net(1)
    scheduler = make_scheduler("processes", workers=WORKERS)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, "witness")), net)
    assert_regionsets_equal(got, reference(1, "witness"))
    assert scheduler.workers == WORKERS
    assert scheduler.worker_pids == []


def test_streams_regions_before_the_end(pool) -> None:
    pool.options = dataclasses.replace(pool.options, strategy="dynamic", task_seconds=0.05)
    assert_streams_before_the_end(pool)


def test_abandoned_stream_stops_the_workers() -> None:
    net, box = random_net(3, (16, 16), 0), Box.symmetric(3)
    scheduler = ProcessScheduler(WORKERS)
    stream = run_tree(scheduler, algorithm_for(net, box, "witness"))
    next(stream)
    pids = scheduler.worker_pids
    assert len(pids) == WORKERS
    stream.close()
    assert scheduler.worker_pids == []
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in pids)


def test_workers_use_one_blas_thread() -> None:
    saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    net, box = seeded_net(0)
    with ProcessScheduler(WORKERS, keep_workers=True) as scheduler:
        list(run_tree(scheduler, algorithm_for(net, box, "witness")))
        for pid in scheduler.worker_pids:
            env = psutil.Process(pid).environ()
            assert all(env.get(k) == "1" for k in THREAD_ENV_VARS)
    assert {k: os.environ.get(k) for k in THREAD_ENV_VARS} == saved


def test_killed_worker_fails_the_run() -> None:
    net, box = random_net(3, (16, 16), 0), Box.symmetric(3)
    scheduler = ProcessScheduler(WORKERS)
    stream = run_tree(scheduler, algorithm_for(net, box, "witness"))
    next(stream)
    victim = scheduler.worker_pids[0]
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerDiedError, match=f"pid {victim}.*SIGKILL.*checkpoint"):
        for _ in stream:
            pass
    assert scheduler.worker_pids == []


def test_worker_error_is_raised_in_the_parent() -> None:
    net, box = seeded_net(1)
    scheduler = ProcessScheduler(WORKERS)
    with pytest.raises(SolverError, match="unexpected status"):
        list(run_tree(scheduler, FailingAlgorithm(algorithm_for(net, box, "witness"), layer=1)))
    assert scheduler.worker_pids == []


@pytest.mark.parametrize("options", [dict(strategy="bfs"), dict(workers=0), dict(task_seconds=0),
                                     dict(max_in_flight=0), dict(task_items=0),
                                     dict(max_queue=0)])
def test_bad_options(options: dict) -> None:
    with pytest.raises(OptionError):
        ProcessScheduler(**options)
