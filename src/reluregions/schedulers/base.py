"""The scheduler interface: drive the enumeration tree without knowing its geometry (DESIGN.md §3).

An :class:`~reluregions.tree.Algorithm` expands one work item into child items and
finished regions; a :class:`Scheduler` decides where and in which order items are expanded and
streams the finished regions to its caller, in blocks, through one method, :meth:`Scheduler.run`.

A count-only run (``run(..., count_only=True)``) yields :class:`RegionCount` blocks, which carry
only their length: counts are block lengths either way. A checkpointed run hands the scheduler a
:class:`Journal` (the enumeration API's :class:`~reluregions.enumeration.checkpoint.Checkpoint`):
the scheduler starts from the journal's frontier and keeps it up to date, and never holds it
beyond the run.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from ..tree import Algorithm, Block, Cell, Context, RegionCount, Stats

__all__ = ["Scheduler", "Progress", "ProgressCallback", "expand_subtree", "Journal", "Restored",
           "RegionCount", "Block", "as_block"]


@dataclass(frozen=True)
class Progress:
    """A progress report: regions so far, elapsed seconds, open work items, busy workers."""

    regions: int
    seconds: float
    open_items: int
    busy_workers: int

    @property
    def rate(self) -> float:
        """Regions per second so far."""
        return self.regions / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[Progress], None]


def as_block(finished: Block, count_only: bool) -> Block:
    """What one expansion finished, as a block to yield: only its length when counting."""
    return RegionCount(len(finished)) if count_only else finished


@dataclass
class Restored:
    """Where a checkpointed run starts: the saved frontier (None: at the roots), its counters and
    the regions recorded before it."""

    frontier: list[Cell] | None
    stats: Stats
    regions: int


class Journal(Protocol):
    """What a scheduler keeps up to date in a checkpointed run (the contract of DESIGN.md §3,
    kept by :class:`~reluregions.enumeration.checkpoint.Checkpoint`).

    * :meth:`restore` once, at the start: the run begins from its frontier when it has one (in
      place of the roots it was given);
    * :meth:`record` with every finished block *before* it is yielded, and only at points where
      every result received is fully booked (regions recorded, leftover items queued);
    * :meth:`poll` at such points with the frontier (the open queue plus the inputs of every task
      in flight) and the merged counters; it snapshots when due and raises
      ``KeyboardInterrupt`` after a stop request.
    """

    def restore(self) -> Restored:
        """Where the run starts."""

    def record(self, block: Block) -> None:
        """Book finished regions (before the scheduler yields them)."""

    def poll(self, frontier: Callable[[], list[Cell]], stats: Stats) -> None:
        """Snapshot when due."""


def expand_subtree(algorithm: Algorithm, ctx: Context, items: list[Cell], max_expansions: int,
                   max_seconds: float = float("inf"),
                   share: "Callable[[list[Cell]], int] | None" = None, *, budget: int,
                   count_only: bool) -> tuple[list, list[Cell]]:
    """Expand ``items`` depth first until done or a budget runs out.

    Every expansion gets ``budget`` and ``count_only`` (see :meth:`Algorithm.expand`).

    Returns the finished regions, as the list of what each expansion returned (lists of regions
    or :class:`~reluregions.regionblock.RegionBlock` objects), and the open frontier (items
    not yet expanded, shallowest first), which the caller may hand to other workers. This is how
    parallel schedulers make coarse tasks: one task expands a small subtree inline.

    ``share``, when given, is shown the open items after every expansion (bottom of the stack,
    the shallowest, first); when another worker is idle it sends some from the bottom away and
    returns how many, and they leave this subtree. So long tasks still balance the load.
    """
    stack = list(reversed(items))
    parts: list = []
    done = 0
    deadline = time.perf_counter() + max_seconds
    while stack and done < max_expansions:
        cell = stack.pop()
        children, finished = algorithm.expand(cell, ctx, budget=budget, count_only=count_only)
        if len(finished):
            parts.append(finished)
        stack.extend(reversed(children))
        done += 1
        if share is not None and stack:
            del stack[:share(stack)]
        if time.perf_counter() > deadline:  # cheap next to any expansion, some of which are large
            break
    stack.reverse()
    return parts, stack


class Scheduler(ABC):
    """Drives the enumeration tree of one algorithm and streams finished regions in blocks.

    The interface is :meth:`run`. After it is exhausted (or closed), :attr:`stats` holds the
    merged counters of all workers. Subclasses implement :meth:`_blocks`.
    """

    name: str = ""

    def __init__(self) -> None:
        self.stats = Stats()

    def run(self, algorithm: Algorithm, roots: Sequence[Cell],
            progress: ProgressCallback | None = None, *, count_only: bool = False,
            journal: Journal | None = None) -> Iterator[Block]:
        """Yield every region below ``roots`` exactly once, in blocks (empty blocks are skipped).

        Parameters
        ----------
        algorithm : Algorithm
            How the tree's items expand.
        roots : sequence of Cell
            The items to start from: ``algorithm``'s roots (see
            :func:`~reluregions.tree.root_items`), or any open items of its tree.
        progress : callable, optional
            Called with :class:`Progress` reports while the run goes on, and once at its end.
        count_only : bool, default False
            Only the number of regions is wanted: the blocks are :class:`RegionCount` objects
            (parallel workers keep their regions; only counts travel).
        journal : Journal, optional
            A checkpointed run: its restored frontier, when it has one, replaces ``roots``;
            every block is recorded before it is yielded, and the journal snapshots the
            frontier (see :class:`Journal`).
        """
        return self._blocks(algorithm, list(roots), progress, bool(count_only), journal)

    def prepare(self, algorithm: Algorithm) -> None:
        """Get ready to :meth:`run` ``algorithm`` before a timed run starts (parallel schedulers
        start their workers here; by default nothing is done). Nothing is set on ``algorithm``."""

    @abstractmethod
    def _blocks(self, algorithm: Algorithm, roots: list[Cell], progress: ProgressCallback | None,
                count_only: bool, journal: Journal | None) -> Iterator[Block]:
        """The blocks of :meth:`run`."""
