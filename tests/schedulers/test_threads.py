"""The threads scheduler's own behaviour (what it shares with ``processes`` is in test_processes.py,
run over both through the ``pool`` fixture): per-thread algorithm copies, errors, abandoned runs,
and its name on the command line."""
from __future__ import annotations

import threading
import time

import pytest

from reluregions import Box, EnumerationConfig
from reluregions.errors import OptionError, SolverError
from reluregions.schedulers import SerialScheduler
from reluregions.schedulers.threads import ThreadScheduler
from reluregions.testing import assert_regionsets_equal

from .conftest import WORKERS, reference
from .helpers import FailingAlgorithm, algorithm_for, random_net, regionset, run_tree, seeded_net


def _all_gone(threads: list[threading.Thread], timeout: float = 10.0) -> bool:
    """Whether every one of ``threads`` has ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not any(t.is_alive() for t in threads)


@pytest.mark.parametrize("algorithm", ["default", "witness", "paper"])
def test_fresh_threads_are_stopped_after_the_run(algorithm: str) -> None:
    net, box = seeded_net(0)
    scheduler = ThreadScheduler(WORKERS, task_expansions=2)
    stream = run_tree(scheduler, algorithm_for(net, box, algorithm))
    regions = [next(stream)]
    threads = scheduler.worker_threads
    assert len(threads) == WORKERS
    regions += list(stream)
    assert_regionsets_equal(regionset(regions, net), reference(0, algorithm))
    assert scheduler.tasks
    assert scheduler.worker_threads == []
    assert _all_gone(threads)


def test_threads_do_not_change_the_callers_algorithm() -> None:
    """Every thread works on its own copy, and nothing of a run (region budgets of tasks,
    count-only) is set on the caller's algorithm."""
    net, box = random_net(3, (16, 16, 16), 0), Box.symmetric(3)
    algorithm = algorithm_for(net, box, "default")
    before = dict(vars(algorithm))
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "default")), net)
    with ThreadScheduler(WORKERS, task_seconds=0.01, keep_workers=True) as scheduler:
        for _ in range(2):  # the kept threads serve a second run of the same algorithm
            got = regionset(run_tree(scheduler, algorithm), net)
            assert_regionsets_equal(got, expected)
            assert vars(algorithm).keys() == before.keys()
            assert all(vars(algorithm)[k] is v for k, v in before.items() if k != "_packed")
        threads = scheduler.worker_threads
        assert len(threads) == WORKERS  # the same threads served both runs
    assert _all_gone(threads)


def test_count_only_then_regions_with_kept_threads() -> None:
    """A kept thread reloads its copy when the caller switches between counting and regions."""
    from reluregions import count_regions, enumerate_regions

    net, box = random_net(2, (12, 12), 3), Box.symmetric(2)
    config = EnumerationConfig()
    expected = enumerate_regions(net, box, config, SerialScheduler())
    with ThreadScheduler(WORKERS, task_expansions=1, keep_workers=True) as scheduler:
        assert count_regions(net, box, config, scheduler).regions == len(expected)
        got = enumerate_regions(net, box, config, scheduler)
        assert_regionsets_equal(got, expected)
        assert count_regions(net, box, config, scheduler).regions == len(expected)


def test_task_error_is_raised_in_the_caller() -> None:
    net, box = seeded_net(1)
    before = set(threading.enumerate())
    scheduler = ThreadScheduler(WORKERS)
    with pytest.raises(SolverError, match="unexpected status"):
        list(run_tree(scheduler, FailingAlgorithm(algorithm_for(net, box, "witness"), layer=1)))
    assert scheduler.worker_threads == []
    assert _all_gone([t for t in threading.enumerate() if t not in before])


@pytest.mark.parametrize("strategy", ["dynamic", "paper"])
def test_abandoned_stream_stops_the_threads(strategy: str) -> None:
    """Closing the stream mid-run cancels the threads' tasks (even the paper's, which have no
    budget) instead of letting them work on for nobody."""
    net, box = random_net(3, (16, 16, 16), 0), Box.symmetric(3)
    scheduler = ThreadScheduler(WORKERS, strategy=strategy, task_seconds=30.0)
    stream = run_tree(scheduler, algorithm_for(net, box, "witness"))
    next(stream)
    threads = scheduler.worker_threads
    assert len(threads) == WORKERS
    stream.close()
    assert scheduler.worker_threads == []
    assert _all_gone(threads)
    # and a new run of the same scheduler starts fresh threads and is complete
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "default")), net)
    assert_regionsets_equal(regionset(run_tree(scheduler, algorithm_for(net, box, "default")), net),
                            expected)


def test_bad_options() -> None:
    with pytest.raises(OptionError):
        ThreadScheduler(workers=0)
