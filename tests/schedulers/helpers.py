"""Helpers of the scheduler tests: small random nets, reference runs, a failing algorithm.

Importable by spawned worker processes (as ``schedulers.helpers``), so test algorithms defined
here can be pickled to them.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from reluregions import Box, EnumerationConfig, Network
from reluregions.enumeration import Algorithm, make_algorithm, make_problem
from reluregions.errors import SolverError
from reluregions.io import RegionSet
from reluregions.tree import root_items

SHAPES = ((2, (8, 8)), (3, (6, 6, 6)))


def script_env() -> dict[str, str]:
    """The environment for a ``python -c`` script of a test: the package and ``tests/`` (so that
    ``schedulers.helpers`` imports) on its path, whether or not the package is installed."""
    import reluregions

    paths = [str(Path(reluregions.__file__).resolve().parents[1]),
             str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def random_net(d: int, widths: tuple[int, ...], seed: int) -> Network:
    """Gaussian weights scaled by 1/sqrt(fan-in), Gaussian biases (scale 0.5)."""
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, 1)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return Network([rng.standard_normal((o, i)) / np.sqrt(i) for i, o in pairs],
                   [0.5 * rng.standard_normal(o) for _, o in pairs])


def seeded_net(seed: int) -> tuple[Network, Box]:
    """The test net of ``seed``: shapes alternate between d=2 (8, 8) and d=3 (6, 6, 6)."""
    d, widths = SHAPES[seed % len(SHAPES)]
    return random_net(d, widths, seed), Box.symmetric(d)


def regionset(blocks, net: Network) -> RegionSet:
    """What ``Scheduler.run`` yields (region blocks) as one :class:`RegionSet`."""
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return RegionSet.empty(net.n_hidden, net.input_dim, len(net.hidden_widths))
    return RegionSet.concat(blocks)


def run_tree(scheduler, algorithm: Algorithm, progress=None, **options):
    """``scheduler.run`` from ``algorithm``'s roots, as the enumeration API starts a run."""
    return scheduler.run(algorithm, root_items(algorithm)[0], progress, **options)


def algorithm_for(net: Network, box: Box, algorithm: str, **options) -> Algorithm:
    """A ready-to-run algorithm object."""
    return make_algorithm(make_problem(net, box, EnumerationConfig(algorithm=algorithm, **options)))


class FailingAlgorithm(Algorithm):
    """Wraps an algorithm; expanding a cell at ``layer`` raises :class:`SolverError`."""

    name = "failing"

    def __init__(self, inner: Algorithm, layer: int = 1) -> None:
        super().__init__(inner.problem)
        self.inner = inner
        self.layer = layer

    def roots(self, ctx):
        return self.inner.roots(ctx)

    def expand(self, cell, ctx, *, budget, count_only):
        if cell.layer >= self.layer:
            raise SolverError("HiGHS returned an unexpected status (test)")
        return self.inner.expand(cell, ctx, budget=budget, count_only=count_only)


def assert_streams_before_the_end(scheduler) -> None:
    """``scheduler.run`` is a generator whose first block arrives while most tasks are still to
    finish (regions stream; the run is not collected first)."""
    import inspect

    net, box = random_net(3, (10, 10, 10), 0), Box.symmetric(3)
    stream = run_tree(scheduler, algorithm_for(net, box, "witness"))
    assert inspect.isgenerator(stream)
    n = len(next(stream))
    done_at_first = len(scheduler.tasks)  # tasks finished when the first block reached us
    n += sum(len(block) for block in stream)
    assert n > 100 and len(scheduler.tasks) > 4 * done_at_first
