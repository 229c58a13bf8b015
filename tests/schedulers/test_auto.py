"""The auto scheduler: serial at first, then threads or processes, with exactly the serial regions
whether the workers take over at once, midway or never."""
from __future__ import annotations

import multiprocessing

import pytest

from reluregions import Box, EnumerationConfig, count_regions
from reluregions.cli.common import make_cli_scheduler
from reluregions.cli.main import build_parser
from reluregions.enumeration import make_problem
from reluregions.errors import OptionError, SolverError
from reluregions.enumeration.checkpointed import run_with_checkpoint
from reluregions.schedulers import AutoScheduler, SerialScheduler, make_scheduler
from reluregions.testing import assert_regionsets_equal

from .conftest import WORKERS, reference
from .helpers import FailingAlgorithm, algorithm_for, random_net, regionset, run_tree, seeded_net


@pytest.mark.parametrize("backend, start_after", [("threads", 0.0), ("threads", 1e-9),
                                                  ("processes", 0.0)])
@pytest.mark.parametrize("algorithm", ["default", "witness", "paper"])
def test_workers_at_once_give_the_serial_regions(backend: str, start_after: float,
                                                 algorithm: str) -> None:
    """Threads run the whole tree (0) or take the serial phase's roots (1e-9, after it began)."""
    net, box = seeded_net(1)
    scheduler = AutoScheduler(WORKERS, backend=backend, start_after=start_after,
                              task_expansions=2)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, algorithm)), net)
    assert_regionsets_equal(got, reference(1, algorithm))
    assert scheduler.backend_used in (backend, "serial")  # processes may start after the end


def test_handover_midway_gives_the_serial_regions_and_counters() -> None:
    """Processes start while the caller's thread expands serially, then take its open items."""
    net, box = random_net(3, (12, 12, 12), 3), Box.symmetric(3)
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "witness")), net)
    serial = count_regions(net, box, EnumerationConfig(algorithm="witness"))
    scheduler = AutoScheduler(WORKERS, backend="processes", start_after=0.0, task_expansions=4)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, "witness")), net)
    assert_regionsets_equal(got, expected)
    result = count_regions(net, box, EnumerationConfig(algorithm="witness"), scheduler)
    assert (result.regions, result.per_layer) == (serial.regions, serial.per_layer)
    assert scheduler.stats.lps > 0


def test_counters_of_a_run_stopped_early_include_the_workers() -> None:
    """A capped run (the stream closed after some regions) still reports the parallel phase's
    counters: every region the caller received was counted (benchmarks read LPs/region so)."""
    net, box = random_net(3, (12, 12, 12), 3), Box.symmetric(3)
    # a positive start_after: a serial phase, then the threads take its open items
    scheduler = AutoScheduler(WORKERS, backend="threads", start_after=1e-9, task_expansions=4)
    stream = run_tree(scheduler, algorithm_for(net, box, "witness"))
    taken = 0
    for _ in stream:
        taken += 1
        if taken == 200:
            break
    stream.close()
    assert scheduler.handover_seconds is not None  # the threads took over
    assert scheduler.stats.layer_cells[-1] >= taken and scheduler.stats.lps > 0


def test_threads_take_over_after_the_first_region() -> None:
    """Issue 17, item 11: by default the threads start once the first region is out (one small
    serial expansion, not a fixed serial time), sized by the serial phase's speed, and give the
    serial regions; one worker is the serial scheduler."""
    from reluregions.schedulers.auto import FIRST_BUDGET

    net, box = random_net(3, (24, 24), 5), Box.symmetric(3)
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "vertex")), net)
    assert len(expected) > 4 * FIRST_BUDGET  # more than the first expansion holds
    scheduler = AutoScheduler(WORKERS)
    stream = run_tree(scheduler, algorithm_for(net, box, "vertex"))
    first = next(stream)
    assert 0 < len(first) <= FIRST_BUDGET  # the first region came out before any thread
    got = regionset(_chain(first, stream), net)
    assert_regionsets_equal(got, expected)
    assert scheduler.backend_used == "threads" and scheduler.handover_seconds is not None
    single = AutoScheduler(1)
    assert len(regionset(run_tree(single, algorithm_for(net, box, "vertex")), net)) == len(expected)
    assert single.backend_used == "serial" and single.handover_seconds is None


def _chain(first, rest):
    yield first
    yield from rest


def _worker_processes() -> set[int]:
    """Pids of this process's live reluregions worker processes."""
    return {p.pid for p in multiprocessing.active_children() if p.name.startswith("reluregions")}


def test_short_run_stays_serial_and_leaves_no_process() -> None:
    # workers kept by the session's scheduler pool (earlier tests) are not this run's
    before = _worker_processes()
    net, box = seeded_net(0)
    scheduler = AutoScheduler(WORKERS, backend="processes", start_after=60.0)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, "witness")), net)
    assert_regionsets_equal(got, reference(0, "witness"))
    assert scheduler.backend_used == "serial"
    # workers started at once are stopped when the serial phase finishes first
    scheduler = AutoScheduler(WORKERS, backend="processes", start_after=0.0)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, "default")), net)
    assert_regionsets_equal(got, reference(0, "default"))
    assert not _worker_processes() - before, "the auto scheduler left worker processes running"


def test_backend_follows_the_algorithm() -> None:
    net, box = seeded_net(0)
    scheduler = AutoScheduler(WORKERS)
    assert scheduler.choose(algorithm_for(net, box, "vertex")) == "threads"
    assert scheduler.choose(algorithm_for(net, box, "witness")) == "processes"
    assert AutoScheduler(WORKERS, backend="processes").choose(
        algorithm_for(net, box, "vertex")) == "processes"


@pytest.mark.parametrize("workers", [1, WORKERS])
def test_counts_and_progress(workers: int) -> None:
    net, box = random_net(3, (16, 16, 16), 0), Box.symmetric(3)
    serial = count_regions(net, box)
    reports = []
    result = count_regions(net, box, scheduler=AutoScheduler(workers, progress_every=0.0),
                           progress=reports.append)
    assert (result.regions, result.per_layer) == (serial.regions, serial.per_layer)
    assert result.workers == workers
    assert reports and reports[-1].regions == serial.regions
    assert [r.regions for r in reports] == sorted(r.regions for r in reports)


@pytest.mark.parametrize("workers", [1, WORKERS])
def test_checkpointed_run_is_complete(tmp_path, workers: int) -> None:
    net, box = seeded_net(1)
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    run = run_with_checkpoint(problem, AutoScheduler(workers, task_expansions=2), tmp_path / "ck",
                              tmp_path / "out.parquet", every=0.01)
    assert run.regions == len(reference(1, "witness"))


def test_errors_in_either_phase_reach_the_caller() -> None:
    net, box = seeded_net(0)
    for start_after in (0.0, 60.0):
        scheduler = AutoScheduler(WORKERS, backend="threads", start_after=start_after)
        with pytest.raises(SolverError):
            list(run_tree(scheduler, FailingAlgorithm(algorithm_for(net, box, "witness"))))


def test_bad_options() -> None:
    for options in ({"workers": 0}, {"backend": "ray"}, {"start_after": -1.0},
                    {"strategy": "nope"}):
        with pytest.raises(OptionError):
            AutoScheduler(**options)
    assert make_scheduler("auto", workers=2).name == "auto"


@pytest.mark.parametrize("argv, expected", [
    (["count", "x", "--workers", "2"], "auto"),
    (["count", "x", "--workers", "1"], "serial"),
    (["count", "x", "--workers", "2", "--backend", "processes"], "processes"),
    (["count", "x", "--workers", "2", "--backend", "threads"], "threads"),
])
def test_cli_default_is_auto(argv: list[str], expected: str) -> None:
    assert make_cli_scheduler(build_parser().parse_args(argv)).name == expected


def test_exact_decisions_keep_threads_off() -> None:
    """Issue 17, item 11: exact decisions run in Python and hold the GIL, so two threads would
    contend for it (the TLL net took 2.4 s on two threads against 1.3 s serially). A vertex run
    whose serial phase meets one goes to processes instead, which start only after
    ``GIL_BOUND_START_AFTER`` seconds: this short run ends serially, with the serial regions."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "enumeration"))
    from test_witness_slivers import near_copies

    net, box = near_copies(3, (6, 5), 1, 0.1, (-3.0,)), Box.symmetric(3)
    expected = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "vertex")), net)
    scheduler = AutoScheduler(WORKERS)
    got = regionset(run_tree(scheduler, algorithm_for(net, box, "vertex")), net)
    assert_regionsets_equal(got, expected)
    assert scheduler.stats.exact > 0
    assert scheduler.backend_used == "serial"
