"""The scheduler interface (DESIGN.md §3, issue 16): one method, ``run``, yielding region blocks;
a count-only run yields blocks that carry only their length; a checkpoint is the journal of one
run, not something set on the scheduler."""
from __future__ import annotations

import pytest

from reluregions import EnumerationConfig, count_regions, enumerate_regions
from reluregions.enumeration import make_problem
from reluregions.enumeration.checkpoint import Checkpoint, run_identity
from reluregions.regionblock import RegionBlock
from reluregions.schedulers import RegionCount, Restored, SerialScheduler, make_scheduler
from reluregions.testing import assert_regionsets_equal
from reluregions.tree import Context

from .conftest import WORKERS, reference
from .helpers import algorithm_for, random_net, regionset, run_tree, seeded_net

BACKENDS = ["serial", "threads", "processes", "auto"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("algorithm", ["default", "witness", "paper"])
def test_blocks_hold_every_region_once(backend: str, algorithm: str) -> None:
    net, box = seeded_net(0)
    scheduler = make_scheduler(backend, workers=WORKERS, task_expansions=2)
    blocks = list(run_tree(scheduler, algorithm_for(net, box, algorithm)))
    assert blocks and all(isinstance(b, RegionBlock) and len(b) for b in blocks)
    assert_regionsets_equal(regionset(blocks, net), reference(0, algorithm))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("algorithm", ["default", "witness", "paper"])
def test_count_only_blocks_carry_only_their_length(backend: str, algorithm: str) -> None:
    net, box = seeded_net(1)
    scheduler = make_scheduler(backend, workers=WORKERS, task_expansions=2)
    blocks = list(run_tree(scheduler, algorithm_for(net, box, algorithm), count_only=True))
    assert blocks and all(isinstance(b, RegionCount) and len(b) for b in blocks)
    assert sum(len(b) for b in blocks) == len(reference(1, algorithm))


def test_kept_workers_switch_between_counting_and_regions(pool) -> None:
    """Kept threads and processes serve runs that count and runs that want the regions with the
    same algorithm object (``count_only`` travels with every task, never set on the algorithm)."""
    net, box = seeded_net(0)
    algorithm = algorithm_for(net, box, "default")  # vertex: its expansions honour count_only
    expected = reference(0, "default")
    for count_only in (True, False, True):
        blocks = list(run_tree(pool, algorithm, count_only=count_only))
        assert all(isinstance(b, RegionCount) == count_only for b in blocks)
        if count_only:
            assert sum(len(b) for b in blocks) == len(expected)
        else:
            assert_regionsets_equal(regionset(blocks, net), expected)
    pool.prepare(algorithm)  # workers started before a run...
    assert sum(len(b) for b in run_tree(pool, algorithm, count_only=True)) == len(expected)  # ...count
    blocks = list(run_tree(pool, algorithm))  # ...and then give every region
    assert_regionsets_equal(regionset(blocks, net), expected)
    assert not hasattr(algorithm, "count_only") and not hasattr(algorithm, "budget")


def test_count_and_enumerate_through_the_api_agree() -> None:
    net, box = random_net(2, (12, 12), 3), None
    config = EnumerationConfig(algorithm="witness")
    for backend in ("serial", "processes"):
        scheduler = make_scheduler(backend, workers=WORKERS)
        assert count_regions(net, box, config, scheduler).regions == \
            len(enumerate_regions(net, box, config, scheduler))


class _Journal:
    """A journal that resumes from a given frontier and records what the run books."""

    def __init__(self, frontier) -> None:
        from reluregions.tree import Stats

        self.frontier, self.stats = frontier, Stats()
        self.recorded: list = []
        self.polls = 0

    def restore(self) -> Restored:
        return Restored(self.frontier, self.stats, 0)

    def record(self, block) -> None:
        self.recorded.append(block)

    def poll(self, frontier, stats) -> None:
        self.polls += 1
        frontier()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_journal_is_an_argument_of_one_run(backend: str) -> None:
    """The run starts from the journal's frontier, records every block it yields before yielding
    it, and the scheduler keeps nothing of the journal afterwards."""
    net, box = seeded_net(1)
    algorithm = algorithm_for(net, box, "witness")
    ctx = Context.create(algorithm.problem.config, algorithm.problem.n_layers)
    children, finished = algorithm.expand(algorithm.roots(ctx)[0], ctx,
                                          budget=algorithm.default_budget, count_only=False)
    assert children and not len(finished)
    journal = _Journal(children)  # resume below the root: the same regions
    scheduler = make_scheduler(backend, workers=WORKERS, task_expansions=2)
    blocks = list(run_tree(scheduler, algorithm, journal=journal))
    assert [id(b) for b in blocks] == [id(b) for b in journal.recorded if len(b)]
    assert journal.polls > 0
    assert_regionsets_equal(regionset(blocks, net), reference(1, "witness"))
    assert not hasattr(scheduler, "checkpoint") and not hasattr(scheduler, "count_only")
    recorded = len(journal.recorded)
    again = list(run_tree(scheduler, algorithm))  # no journal: from the roots, nothing recorded
    assert len(journal.recorded) == recorded
    assert_regionsets_equal(regionset(again, net), reference(1, "witness"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_roots_are_an_argument_of_the_run(backend: str) -> None:
    """A run starts from the items it is given: the root's children give the root's regions,
    and the algorithm's own roots are never asked for."""
    from reluregions.tree import root_items

    net, box = seeded_net(1)
    algorithm = algorithm_for(net, box, "witness")
    roots, _ = root_items(algorithm)
    ctx = Context.create(algorithm.problem.config, algorithm.problem.n_layers)
    children, _ = algorithm.expand(roots[0], ctx, budget=algorithm.default_budget,
                                   count_only=False)
    algorithm.roots = None  # type: ignore[assignment]  # the scheduler must not call it
    scheduler = make_scheduler(backend, workers=WORKERS, task_expansions=2)
    blocks = list(scheduler.run(algorithm, children))
    assert_regionsets_equal(regionset(blocks, net), reference(1, "witness"))


def test_a_checkpoint_that_stores_regions_refuses_counts(tmp_path) -> None:
    net, box = seeded_net(0)
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    ckpt = Checkpoint(tmp_path / "ck", run_identity(problem), n_hidden=net.n_hidden)
    ckpt.open()
    try:
        with pytest.raises(TypeError, match="count_only"):
            ckpt.record(RegionCount(3))
        ckpt.record(RegionBlock.empty(net.n_hidden, net.input_dim, 2))
        assert ckpt.regions == 0
    finally:
        ckpt.close()
    counting = Checkpoint(tmp_path / "ck2", run_identity(problem, store_regions=False),
                          store_regions=False)
    counting.open()
    try:
        counting.record(RegionCount(3))
        assert counting.regions == 3
    finally:
        counting.close()


def test_serial_yields_one_block_per_expansion_that_finished_regions() -> None:
    """The serial scheduler yields one block per expansion that finished regions."""
    net, box = seeded_net(0)
    scheduler = SerialScheduler()
    blocks = list(run_tree(scheduler, algorithm_for(net, box, "witness")))
    assert sum(len(b) for b in blocks) == len(reference(0, "witness"))
    assert scheduler.stats.expansions >= len(blocks)
