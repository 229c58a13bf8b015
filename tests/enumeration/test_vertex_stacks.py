"""Issue 17, item 11: the vertex traversal's stack as one work item (resumed in one compiled call),
split for sharing, and stopped when another worker asks; always the regions of a plain serial run,
in the same order."""
from __future__ import annotations

import numpy as np
import pytest

from reluregions import Box, EnumerationConfig, Network, count_regions
from reluregions.enumeration import make_problem
from reluregions.enumeration.vertex import VertexAlgorithm, VertexState
from reluregions.schedulers import AutoScheduler
from reluregions.tree import Context


def _net(seed: int) -> Network:
    rng = np.random.default_rng(seed)
    sizes = (3, 12, 10, 1)
    return Network([rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes, sizes[1:])],
                   [0.5 * rng.standard_normal(o) for o in sizes[1:]])


def _algorithm(seed: int) -> tuple[VertexAlgorithm, Context]:
    problem = make_problem(_net(seed), Box.symmetric(3),
                           EnumerationConfig(algorithm="vertex", ranks=True))
    return VertexAlgorithm(problem), Context.create(problem.config, problem.n_layers)


def _run(algo: VertexAlgorithm, ctx: Context, items: list, budget: int, split=None):
    """Expand ``items`` (the next first) depth first until nothing is open, ``split`` applied to
    each expansion's children: the regions' bits, centres, radii and ranks in the order found,
    and the number of expansions."""
    stack, found, calls = items[::-1], [], 0
    while stack:
        children, regions = algo.expand(stack.pop(), ctx, budget=budget, count_only=False)
        calls += 1
        stack.extend(reversed(split(children) if split else children))
        found.append(regions)
    blocks = [b for b in found if len(b)]
    return (np.vstack([b.bits for b in blocks]), np.vstack([b.centers for b in blocks]),
            np.concatenate([b.radii for b in blocks]), np.vstack([b.ranks for b in blocks]),
            calls)


def _same(a: tuple, b: tuple) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4]))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_stopped_traversal_resumes_in_one_call_with_the_same_regions(seed: int) -> None:
    algo, ctx = _algorithm(seed)
    whole = _run(algo, ctx, algo.roots(ctx), 1 << 40)
    batched = _run(algo, ctx, algo.roots(ctx), 7)  # the stack comes back as one item
    single = _run(algo, ctx, algo.roots(ctx), 7, algo.unbatch)  # each open cell its own item
    assert len(whole[0]) > 100
    assert _same(whole, batched) and _same(whole, single)  # bit for bit, in the serial order
    # a budget stop costs one call, not one per open cell
    assert batched[4] <= len(whole[0]) // 7 + 1 < single[4]


def test_a_stack_splits_into_cells_or_into_its_bottom_cells_and_the_rest() -> None:
    algo, ctx = _algorithm(2)
    (item,), _ = algo.expand(algo.roots(ctx)[0], ctx, budget=3, count_only=True)
    assert isinstance(item.payload, VertexState)
    n = len(item.payload.below.meta)
    assert n >= 4
    cells = algo.unbatch([item])
    assert len(cells) == n and all(c.payload.below is None for c in cells)
    assert np.array_equal(cells[0].G, item.G) and cells[0].payload.walk == item.payload.walk
    parts = algo.unbatch([item], 3)  # the two bottom cells alone, the rest as one item
    assert len(parts) == 3 and len(parts[0].payload.below.meta) == n - 2
    assert [p.payload.below for p in parts[1:]] == [None, None]
    for part, cell in zip(parts[1:], cells[-2:]):
        assert np.array_equal(part.G, cell.G) and np.array_equal(part.bits, cell.bits)
    assert algo.unbatch(parts, 3) is parts  # enough items already
    # however the stack is split, the same regions in the same order
    ref = _run(algo, ctx, [item], 5)
    assert _same(ref, _run(algo, ctx, cells, 5)) and _same(ref, _run(algo, ctx, parts, 5))


def test_an_expansion_stops_when_another_worker_asks() -> None:
    algo, ctx = _algorithm(3)
    root = algo.roots(ctx)[0]
    ctx.asked = np.ones(1, np.int64)
    (item,), regions = algo.expand(root, ctx, budget=1 << 40, count_only=True)
    # stopped as soon as two cells were open, with regions to come
    assert len(item.payload.below.meta) == 2 and len(regions) == 0
    whole = _run(algo, Context.create(algo.problem.config, 2), [root], 1 << 40)
    asked = _run(algo, ctx, [root], 1 << 40)  # asked throughout: still every region, in order
    assert _same(whole, asked) and asked[4] > len(whole[0]) // 2


def test_auto_threads_start_untimed_and_end_with_the_run() -> None:
    net, box = _net(4), Box.symmetric(3)
    serial = count_regions(net, box, EnumerationConfig(algorithm="vertex"))
    scheduler = AutoScheduler(2)
    got = count_regions(net, box, EnumerationConfig(algorithm="vertex"), scheduler)
    assert (got.regions, got.per_layer) == (serial.regions, serial.per_layer)
    assert scheduler._ready is None  # used by the run, or stopped with it
    assert got.extra["setup_seconds"] > 0
