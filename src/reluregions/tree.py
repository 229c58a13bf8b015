"""The tree contract: the enumeration tree shared by every algorithm and scheduler (DESIGN.md §2-§3).

A :class:`Cell` is a work item: a full-dimensional polytope of the domain's parameter space, the
activation bits decided so far, the pre-activation map of the layer being processed and the next
neuron of that layer to insert, plus a typed *payload*: what the expanding algorithm alone carries
between expansions (vertices, an outer box, a position inside a compiled traversal). An :class:`Algorithm` only says how one cell expands into child
cells and finished regions (a :class:`RegionBlock`; a :class:`RegionCount` when only their number
is wanted); schedulers drive the tree and never see the geometry.

This is the LayerWise-NNCE framework of Drammis et al. 2024, §3, Alg. 1: inside a cell, layer
``l``'s neurons pulled back through the cell's affine map are plain hyperplanes
(``M = W_l D_{l-1} M_{l-1}``, ``m = W_l D_{l-1} m_{l-1} + b_l``), so each cell is subdivided
independently of all others.

This module sits below both :mod:`reluregions.enumeration` (the algorithms, which implement
:class:`Algorithm`) and :mod:`reluregions.schedulers` (which drive any :class:`Algorithm`): it
imports only config, errors, domains, geometry and network, so neither side imports the other to
share these types.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np

from .config import EnumerationConfig
from .domains import Parametrization
from .geometry.exactside import Interior, SideOracle
from .geometry.lp import LPSolver
from .network import Network
from .regionblock import Block, RegionBlock, RegionCount

__all__ = ["Cell", "Block", "RegionBlock", "RegionCount", "Stats", "Context", "Algorithm",
           "Problem", "pack_cells", "unpack_cells", "root_items"]


@dataclass(slots=True, kw_only=True)
class Cell:
    """A work item of the enumeration tree.

    The fields every algorithm reads; whatever one algorithm alone carries from one expansion to
    the next is its typed :attr:`payload`. Build cells with keywords.

    Attributes
    ----------
    G, h : ndarray
        Constraints ``G t <= h`` (rows of unit norm) of the cell in parameter coordinates ``t``:
        the domain's facets (or, for the cut-list engines, those other than the box's) and every
        hyperplane that split an ancestor.
    center, radius : ndarray, float
        A ball certified to lie inside the cell (the witness point of the LP algorithms); the
        vertex algorithm's frontier cells carry the mean of their vertices and radius 0 (no ball).
    layer, neuron : int
        The layer being processed and the next of its neurons to insert.
    M, m : ndarray or None
        Pre-activation map of ``layer`` on this cell: ``z = M t + m`` (``None`` while a
        high-dimensional cell travels without it, :mod:`reluregions.enumeration.highd_maps`).
    scale : ndarray or None
        Per neuron of ``layer``, the sum of magnitudes that formed its pre-activation (for the
        constant-neuron test and the rounding bounds of its row).
    bits : ndarray of bool
        Activation bits of all hidden neurons; those of layers ``< layer`` and of neurons
        ``< neuron`` of ``layer`` are decided.
    ranks : tuple of int
        Rank of the map to each finished hidden layer.
    payload : object or None
        The expanding algorithm's own state of the cell, an immutable slots dataclass defined next
        to the algorithm (``WitnessState``, ``VertexState``, ``LPTraversalState``, ``LayerTodo``),
        or ``None``. Children may share their parent's payload: a change replaces it, never
        mutates it. :func:`pack_cells` packs it field by field.
    """

    G: np.ndarray
    h: np.ndarray
    center: np.ndarray
    radius: float
    layer: int
    neuron: int
    M: np.ndarray | None
    m: np.ndarray | None
    scale: np.ndarray | None
    bits: np.ndarray
    ranks: tuple[int, ...] = ()
    payload: Any = None

    def split(self, row: np.ndarray, rhs: float, center: np.ndarray, radius: float,
              bit_index: int, bit: bool) -> "Cell":
        """A child cell: this cell intersected with ``row @ t <= rhs``, with ``bits[bit_index] = bit``.

        The child shares the layer map and the payload (immutable) with this cell."""
        bits = self.bits.copy()
        bits[bit_index] = bit
        return Cell(G=np.vstack([self.G, row]), h=np.append(self.h, rhs), center=center,
                    radius=radius, layer=self.layer, neuron=self.neuron + 1, M=self.M, m=self.m,
                    scale=self.scale, bits=bits, ranks=self.ranks, payload=self.payload)


def _pack_column(values: list) -> tuple:
    """One field of many cells in a few objects: arrays concatenated, with their shapes.

    Tuples (named ones too) and dataclasses (a cell's payload) are packed field by field, one
    column each; a field that is ``None`` in some cells only is packed with a mask.
    """
    first = values[0]
    kind = type(first)
    if first is None or any(v is None for v in values):
        present = [v for v in values if v is not None]
        if not present:
            return ("none",)
        inner = _pack_column(present)
        if inner[0] == "list":
            return ("list", values)
        return ("optional", np.array([v is not None for v in values]), inner)
    if isinstance(first, np.ndarray) and all(
            isinstance(v, np.ndarray) and v.dtype == first.dtype and v.ndim == first.ndim
            for v in values):
        shapes = np.array([v.shape for v in values], dtype=np.int64).reshape(len(values), first.ndim)
        flat = np.concatenate([v.ravel() for v in values])
        return ("array", flat, shapes)
    if isinstance(first, tuple) and all(type(v) is kind and len(v) == len(first) for v in values):
        return ("tuple", None if kind is tuple else kind) + tuple(
            _pack_column([v[i] for v in values]) for i in range(len(first)))
    if is_dataclass(first) and all(type(v) is kind for v in values):
        return ("fields", kind) + _pack_fields(kind, values)
    return ("list", values)


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _pack_fields(kind: type, values: list) -> tuple:
    """One column per field of the dataclass ``kind`` over ``values`` (all of that type)."""
    return tuple(_pack_column([getattr(v, name) for v in values]) for name in _field_names(kind))


def _unpack_fields(kind: type, columns: tuple, n: int, copy: bool) -> list:
    """The ``n`` instances of ``kind`` of :func:`_pack_fields`, built with keywords."""
    names = _field_names(kind)
    parts = [_unpack_column(c, n, copy) for c in columns]
    return [kind(**dict(zip(names, row))) for row in zip(*parts)]


def _unpack_column(column: tuple, n: int, copy: bool) -> list:
    kind = column[0]
    if kind == "none":
        return [None] * n
    if kind == "list":
        return column[1]
    if kind == "optional":
        mask = column[1]
        present = iter(_unpack_column(column[2], int(mask.sum()), copy))
        return [next(present) if here else None for here in mask.tolist()]
    if kind == "tuple":
        parts = [_unpack_column(c, n, copy) for c in column[2:]]
        rows = zip(*parts) if parts else ((),) * n
        return [tuple(row) for row in rows] if column[1] is None else [column[1](*row) for row in rows]
    if kind == "fields":
        return _unpack_fields(column[1], column[2:], n, copy)
    flat, shapes = column[1], column[2]
    sizes = np.prod(shapes, axis=1) if shapes.shape[1] else np.ones(n, dtype=np.int64)
    ends = np.cumsum(sizes).tolist()
    out = []
    start = 0
    for end, shape in zip(ends, shapes.tolist()):
        part = flat[start:end].reshape(shape)
        out.append(part.copy() if copy else part)
        start = end
    return out


def pack_cells(cells: "list[Cell]") -> tuple:
    """Cells for sending between processes or saving: each field's arrays concatenated into one.

    Pickling a cell costs about as much per array as per byte moved, and a task's frontier holds
    tens of cells of a dozen arrays each; packed, a list of cells pickles as a few dozen arrays.
    The payloads (all of one type in a run) are packed the same way, one column per payload
    field. :func:`unpack_cells` gives the cells back.
    """
    if not cells:
        return (0, ())
    return (len(cells), _pack_fields(Cell, cells))


def unpack_cells(packed: tuple, copy: bool = False) -> "list[Cell]":
    """The cells of :func:`pack_cells`.

    Without ``copy`` their arrays are views of the packed buffers, so one cell kept alive keeps
    all of them: fine for cells expanded at once (a worker's task), not for cells that wait in a
    queue (use ``copy``).
    """
    n, columns = packed
    if n == 0:
        return []
    return _unpack_fields(Cell, columns, n, copy)


@dataclass
class Stats:
    """Counters a worker accumulates while expanding cells (merged by the scheduler)."""

    lps: int = 0
    expansions: int = 0
    layer_cells: list[int] = field(default_factory=list)
    #: Finished regions that are unbounded (only in the whole space; counted even when the
    #: regions themselves are not kept, as in a count).
    unbounded: int = 0
    #: Side decisions inside the float band, settled exactly (:mod:`reluregions.geometry.exactside`).
    exact: int = 0

    def merge(self, other: "Stats") -> None:
        """Add ``other``'s counters into this one."""
        self.lps += other.lps
        self.exact += getattr(other, "exact", 0)
        self.expansions += other.expansions
        self.unbounded += getattr(other, "unbounded", 0)
        if len(self.layer_cells) < len(other.layer_cells):
            self.layer_cells.extend([0] * (len(other.layer_cells) - len(self.layer_cells)))
        for i, v in enumerate(other.layer_cells):
            self.layer_cells[i] += v


@dataclass
class Context:
    """Per-worker state: the LP solver and the counters. Never shared between processes."""

    solver: LPSolver
    stats: Stats
    oracle: SideOracle | None = None
    #: The problem ``oracle`` settles for (a worker's context may serve several problems in turn).
    oracle_problem: "Problem | None" = None
    #: One int64 that the scheduler raises (from another thread) while another worker waits for
    #: work; an expansion that can stop early (:attr:`Algorithm.stops_when_asked`) then stops
    #: with its open cells left to share. ``None``: never raised.
    asked: np.ndarray | None = None

    @classmethod
    def create(cls, config: EnumerationConfig, n_layers: int) -> "Context":
        """A fresh context for one worker."""
        return cls(LPSolver(config.lp), Stats(layer_cells=[0] * n_layers))

    def settle(self, problem: "Problem", bits: np.ndarray, layer: int,
               decided: np.ndarray, hint: np.ndarray | None = None) -> Interior | None:
        """Settle exactly whether a side has an interior (a decision inside the float band,
        DESIGN.md §1): a point checked exactly inside it, or ``None`` when it provably has none.
        See :meth:`reluregions.geometry.exactside.SideOracle.interior` for the arguments."""
        if self.oracle is None or self.oracle_problem is not problem:
            self.oracle = SideOracle(problem.network, problem.param, problem.config.zero_tol,
                                     problem.config.lp)
            self.oracle_problem = problem
        self.stats.exact += 1
        return self.oracle.interior(bits, layer, decided, hint)


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything an expansion needs, validated once: network, domain parametrisation, config.

    ``n_layers`` (hidden layers) and ``offsets`` (first pattern bit of each hidden layer, and the
    total) are derived once.
    """

    network: Network
    param: Parametrization
    config: EnumerationConfig

    n_layers: int = field(init=False)
    offsets: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        widths = self.network.hidden_widths
        object.__setattr__(self, "n_layers", len(widths))
        object.__setattr__(self, "offsets", tuple(int(x) for x in np.concatenate([[0], np.cumsum(widths)])))


class Algorithm(ABC):
    """How a cell expands. Subclasses are registered by name in :mod:`reluregions.enumeration`.

    An algorithm holds the problem and whatever it derived from it once; nothing about a run.
    What a run decides (how many regions one expansion may finish, whether only their number is
    wanted) is passed to every :meth:`expand` call by the scheduler that drives the tree.
    """

    #: Whether an expansion runs almost entirely in compiled code that releases the GIL, so that
    #: threads of one process expand in parallel (the ``auto`` scheduler then uses threads, which
    #: start in milliseconds, rather than processes, which start in about a second).
    releases_gil: bool = False
    #: Whether an expansion stops early, its open cells left to share, once the context's
    #: :attr:`Context.asked` flag is raised (so schedulers may give it a long budget).
    stops_when_asked: bool = False
    #: The region budget schedulers pass to :meth:`expand` unless they want fewer regions per
    #: call (algorithms that expand one split per call ignore budgets; those that walk a subtree
    #: in one call set their own, which keeps checkpoints and work splitting fine-grained).
    default_budget: ClassVar[int] = 1 << 40

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def warm_up(self) -> None:
        """Load or compile whatever the algorithm needs before timing starts (default: nothing)."""

    def unbatch(self, items: list[Cell], pieces: int | None = None) -> list[Cell]:
        """``items`` (depth-first order, the next to expand first) with the items that stand for
        several cells split, in the same order: into one item per cell, or (``pieces``) into
        about ``pieces`` items in all where there are fewer.

        An algorithm may hand back a stopped traversal's whole stack as one item, which its next
        expansion resumes in one call (the vertex algorithm); schedulers that move items between
        workers split such items here first. By default every item is one cell: ``items``.
        """
        return items

    @abstractmethod
    def roots(self, ctx: Context) -> list[Cell]:
        """The initial work items (usually one: the whole domain)."""

    @abstractmethod
    def expand(self, cell: Cell, ctx: Context, *, budget: int,
               count_only: bool) -> tuple[list[Cell], Block]:
        """Expand one cell into child cells and/or finished regions.

        Parameters
        ----------
        cell : Cell
            The work item.
        ctx : Context
            The calling worker's solver and counters.
        budget : int
            Regions after which the call may stop and hand back its open frontier as children
            (parallel schedulers pass less than :attr:`default_budget` to split work).
        count_only : bool
            Only the number of finished regions is wanted: the call may return a
            :class:`RegionCount` in place of their block.

        Returns
        -------
        children : list of Cell
            Open items to expand next, in depth-first order.
        finished : RegionBlock or RegionCount
            The regions this call finished (an empty block when none did).
        """


def root_items(algorithm: Algorithm) -> tuple[list[Cell], Stats]:
    """The work items a run of ``algorithm`` starts from (:meth:`Algorithm.roots`, computed in a
    fresh context) and the counters spent computing them (the caller adds them to the run's)."""
    problem = algorithm.problem
    ctx = Context.create(problem.config, problem.n_layers)
    return algorithm.roots(ctx), ctx.stats

