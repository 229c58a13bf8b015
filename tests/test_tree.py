"""The tree contract (tree.py): cells with a typed payload per algorithm, packed for transport.

Every algorithm really expands a small net one step at a time; each frontier is packed, pickled
and unpacked as the process and Ray schedulers send it (and checkpoints store it), and must come
back field for field, payload included, and still enumerate exactly the regions of one run.
"""
from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from invariants import random_net
from reluregions import Box, EnumerationConfig, enumerate_regions
from reluregions.enumeration import make_algorithm, make_problem
from reluregions.enumeration.highd_maps import LayerTodo
from reluregions.enumeration.lpdfs import LPTraversalState
from reluregions.enumeration.vertex import VertexState, VertexWalk
from reluregions.enumeration.witness import WitnessState
from reluregions.tree import Cell, Context, pack_cells, unpack_cells

#: The payload type of each algorithm's open cells (``None``: the paper's algorithm carries none).
PAYLOADS = {"witness": WitnessState, "paper": type(None), "vertex": VertexState,
            "lpdfs": LPTraversalState, "highd": LayerTodo}


def _assert_same(a, b, where: str = "cell") -> None:
    """``a`` and ``b`` equal in type, shape, dtype and value, recursively."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def _arrays(obj) -> int:
    """The number of numpy arrays in a packed structure (what pickling pays per object)."""
    if isinstance(obj, np.ndarray):
        return 1
    if isinstance(obj, (tuple, list)):
        return sum(_arrays(x) for x in obj)
    return 0


def _expand_packed(name: str, net, box) -> tuple[list[Cell], list[tuple]]:
    """Expand with budget 1, every frontier sent through pack/pickle/unpack; the cells sent (as
    they were sent) and the patterns found."""
    problem = make_problem(net, box, EnumerationConfig(algorithm=name))
    algorithm = make_algorithm(problem)
    algorithm.warm_up()
    ctx = Context.create(problem.config, problem.n_layers)
    stack, sent, found = algorithm.roots(ctx), [], []
    while stack:
        children, regions = algorithm.expand(stack.pop(), ctx, budget=1, count_only=False)
        found += [tuple(b) for b in regions.bits]
        back = unpack_cells(pickle.loads(pickle.dumps(pack_cells(children))), copy=True)
        assert len(back) == len(children)
        for i, (a, b) in enumerate(zip(children, back)):
            _assert_same(a, b, f"cell {i}")
        sent += children  # expanding the copies leaves these as they were sent
        stack += back
    return sent, found


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_every_algorithms_cells_round_trip_packed(name: str) -> None:
    net, box = random_net(3, (7, 6), 4), Box.symmetric(3)
    sent, found = _expand_packed(name, net, box)
    whole = enumerate_regions(net, box, EnumerationConfig(algorithm=name))
    assert len(found) == len(set(found)) == len(whole) > 20
    assert set(found) == {tuple(b) for b in whole.bits}
    assert len(sent) > 20
    assert {type(c.payload) for c in sent} == {PAYLOADS[name]}
    # all the cells at once: each field (each payload field too) in a few arrays, however many
    # cells there are, and back the same
    packed = pack_cells(sent)
    assert _arrays(packed) <= 3 * 20
    for i, (a, b) in enumerate(zip(sent, unpack_cells(pickle.loads(pickle.dumps(packed))))):
        _assert_same(a, b, f"cell {i}")


@pytest.mark.parametrize("name", sorted(PAYLOADS))
@pytest.mark.parametrize("seed", [4, 5, 6])
def test_every_open_cells_centre_is_its_own(name: str, seed: int) -> None:
    """Each open cell's centre lies strictly inside the cell's own constraints (a child never
    inherits a point of its parent's that it does not hold), with its ball where one is stated."""
    sent, _ = _expand_packed(name, random_net(3, (7, 6), seed), Box.symmetric(3))
    assert len(sent) > 20
    for cell in sent:
        slack = cell.h - cell.G @ cell.center
        assert np.all(slack > 0), (name, slack.min())
        assert np.all(slack >= cell.radius * np.linalg.norm(cell.G, axis=1) - 1e-12)


@pytest.mark.parametrize("name", sorted(set(PAYLOADS) - {"paper"}))
def test_payload_types_are_immutable_slots_built_with_keywords(name: str) -> None:
    sent, _ = _expand_packed(name, random_net(2, (5, 4), 1), Box.symmetric(2))
    payload = sent[-1].payload
    kind = type(payload)
    names = [f.name for f in dataclasses.fields(kind)]
    values = {n: getattr(payload, n) for n in names}
    _assert_same(kind(**values), payload)
    with pytest.raises(TypeError):
        kind(*values.values())  # keywords only
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(payload, names[0], None)
    assert not hasattr(payload, "__dict__")
    if name == "vertex":
        walks = [c.payload.walk for c in sent]
        assert all(isinstance(w, VertexWalk) for w in walks)
        assert VertexWalk._fields == ("distances", "cut", "cut_normals", "cut_offsets", "next_cut",
                                      "force")
        assert any(w.next_cut >= 0 for w in walks)


def test_cells_are_built_with_keywords() -> None:
    sent, _ = _expand_packed("witness", random_net(2, (5, 4), 1), Box.symmetric(2))
    cell = sent[0]
    values = {f.name: getattr(cell, f.name) for f in dataclasses.fields(Cell)}
    _assert_same(Cell(**values), cell)
    with pytest.raises(TypeError):
        Cell(*values.values())
    child = cell.split(np.ones(2) / np.sqrt(2), 0.0, cell.center, cell.radius, 0, True)
    assert child.payload is cell.payload and child.neuron == cell.neuron + 1


def test_mixed_and_empty_columns_pack() -> None:
    """A payload field that is None in some cells only, empty tuples and no cells at all."""
    sent, _ = _expand_packed("highd", random_net(3, (7, 6), 4), Box.symmetric(3))
    assert {c.payload.points is None for c in sent} == {True, False}
    packed = pack_cells(sent)
    for a, b in zip(sent, unpack_cells(packed, copy=True)):
        _assert_same(a, b)
    assert unpack_cells(pack_cells([])) == []
