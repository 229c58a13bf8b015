"""The tree contract: the enumeration tree shared by every algorithm and scheduler (DESIGN.md §2-§3).

A :class:`Cell` is a work item: a full-dimensional polytope of the domain's parameter space, the
activation bits decided so far, the pre-activation map of the layer being processed and the next
neuron of that layer to insert. An :class:`Algorithm` only says how one cell expands into child
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
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from .config import EnumerationConfig
from .domains import Parametrization
from .geometry.exactside import Interior, SideOracle
from .geometry.lp import LPSolver
from .network import Network
from .regionblock import Block, RegionBlock, RegionCount

__all__ = ["Cell", "Block", "RegionBlock", "RegionCount", "Stats", "Context", "Algorithm",
           "Problem", "pack_cells", "unpack_cells", "root_items"]


@dataclass(slots=True)
class Cell:
    """A work item of the enumeration tree.

    Attributes
    ----------
    G, h : ndarray
        Constraints ``G t <= h`` (rows of unit norm) of the cell in parameter coordinates ``t``:
        the domain's facets and every hyperplane that split an ancestor.
    center, radius : ndarray, float
        A ball certified to lie inside the cell (the witness point of the default algorithm).
    layer, neuron : int
        The layer being processed and the next of its neurons to insert.
    M, m : ndarray
        Pre-activation map of ``layer`` on this cell: ``z = M t + m``.
    bits : ndarray of bool
        Activation bits of all hidden neurons; those of layers ``< layer`` and of neurons
        ``< neuron`` of ``layer`` are decided.
    ranks : tuple of int
        Rank of the map to each finished hidden layer.
    lo, hi : ndarray or None
        An outer bounding box of the cell (inherited from the ancestor that computed it).
    scale : ndarray or None
        Per neuron of ``layer``, the sum of magnitudes that formed its pre-activation (for the
        constant-neuron test).
    V, inc : ndarray or None
        Vertices and their tight-constraint bit sets (vertex algorithm only).
    state : tuple or None
        Position inside a layer of a cell handed back by the compiled traversal (vertex algorithm).
    """

    G: np.ndarray
    h: np.ndarray
    center: np.ndarray
    radius: float
    layer: int
    neuron: int
    M: np.ndarray
    m: np.ndarray
    bits: np.ndarray
    ranks: tuple[int, ...] = ()
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    scale: np.ndarray | None = None
    V: np.ndarray | None = None
    inc: np.ndarray | None = None
    state: tuple | None = None

    def split(self, row: np.ndarray, rhs: float, center: np.ndarray, radius: float,
              bit_index: int, bit: bool) -> "Cell":
        """A child cell: this cell intersected with ``row @ t <= rhs``, with ``bits[bit_index] = bit``."""
        bits = self.bits.copy()
        bits[bit_index] = bit
        return Cell(np.vstack([self.G, row]), np.append(self.h, rhs), center, radius, self.layer,
                    self.neuron + 1, self.M, self.m, bits, self.ranks, self.lo, self.hi, self.scale)


_CELL_FIELDS = tuple(f.name for f in fields(Cell))


def _pack_column(values: list) -> tuple:
    """One field of many cells in a few objects: arrays concatenated, with their shapes."""
    first = values[0]
    if all(v is None for v in values):
        return ("none",)
    if isinstance(first, np.ndarray) and all(
            isinstance(v, np.ndarray) and v.dtype == first.dtype and v.ndim == first.ndim
            for v in values):
        shapes = np.array([v.shape for v in values], dtype=np.int64).reshape(len(values), first.ndim)
        flat = np.concatenate([v.ravel() for v in values]) if values else first.ravel()
        return ("array", flat, shapes)
    if isinstance(first, tuple) and all(isinstance(v, tuple) and len(v) == len(first)
                                        for v in values):
        return ("tuple",) + tuple(_pack_column([v[i] for v in values]) for i in range(len(first)))
    return ("list", values)


def _unpack_column(column: tuple, n: int, copy: bool) -> list:
    kind = column[0]
    if kind == "none":
        return [None] * n
    if kind == "list":
        return column[1]
    if kind == "tuple":
        parts = [_unpack_column(c, n, copy) for c in column[1:]]
        return [tuple(p[i] for p in parts) for i in range(n)]
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
    """Cells for sending between processes: each field's arrays concatenated into one.

    Pickling a cell costs about as much per array as per byte moved, and a task's frontier holds
    tens of cells of a dozen arrays each; packed, a list of cells pickles as a few dozen arrays.
    :func:`unpack_cells` gives the cells back.
    """
    if not cells:
        return (0, ())
    return (len(cells), tuple(_pack_column([getattr(c, f) for c in cells]) for f in _CELL_FIELDS))


def unpack_cells(packed: tuple, copy: bool = False) -> "list[Cell]":
    """The cells of :func:`pack_cells`.

    Without ``copy`` their arrays are views of the packed buffers, so one cell kept alive keeps
    all of them: fine for cells expanded at once (a worker's task), not for cells that wait in a
    queue (use ``copy``).
    """
    n, columns = packed
    if n == 0:
        return []
    values = [_unpack_column(c, n, copy) for c in columns]
    return [Cell(*row) for row in zip(*values)]


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
    #: The region budget schedulers pass to :meth:`expand` unless they want fewer regions per
    #: call (algorithms that expand one split per call ignore budgets; those that walk a subtree
    #: in one call set their own, which keeps checkpoints and work splitting fine-grained).
    default_budget: ClassVar[int] = 1 << 40

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def warm_up(self) -> None:
        """Load or compile whatever the algorithm needs before timing starts (default: nothing)."""

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

