"""The scheduler interface: drive the enumeration tree without knowing its geometry (DESIGN.md §3).

An :class:`~reluregions.tree.Algorithm` expands one work item into child items and
finished regions; a :class:`Scheduler` decides where and in which order items are expanded and
streams the finished regions to its caller.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from ..tree import Algorithm, Cell, Context, Region, RegionBlock, Stats

if TYPE_CHECKING:  # pragma: no cover
    from .checkpoint import Checkpoint

__all__ = ["Scheduler", "Progress", "ProgressCallback", "expand_subtree"]


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


def expand_subtree(algorithm: Algorithm, ctx: Context, items: list[Cell], max_expansions: int,
                   max_seconds: float = float("inf"),
                   share: "Callable[[list[Cell]], int] | None" = None) -> tuple[list, list[Cell]]:
    """Expand ``items`` depth first until done or a budget runs out.

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
        children, finished = algorithm.expand(cell, ctx)
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
    """Drives the enumeration tree of one algorithm and streams finished regions.

    After :meth:`run` is exhausted, :attr:`stats` holds the merged counters of all workers.
    When :attr:`checkpoint` is set, :meth:`run` starts from its saved frontier and keeps it
    up to date (the contract is in :mod:`reluregions.schedulers.checkpoint`).
    """

    name: str = ""

    def __init__(self) -> None:
        self.stats = Stats()
        #: When True (set by :func:`~reluregions.enumeration.count_regions`), parallel schedulers
        #: leave regions in the workers and :meth:`run` yields ``None`` once per region instead.
        self.count_only = False
        self.checkpoint: Checkpoint | None = None

    @abstractmethod
    def run(self, algorithm: Algorithm, progress: ProgressCallback | None = None) -> Iterator[Region]:
        """Yield every region of the problem exactly once."""

    def run_chunks(self, algorithm: Algorithm,
                   progress: ProgressCallback | None = None) -> Iterator[RegionBlock]:
        """Yield every region exactly once, in :class:`RegionBlock` blocks (for fast writers).

        The default groups :meth:`run`'s regions; schedulers that receive blocks pass them on.
        """
        block: list[Region] = []
        for region in self.run(algorithm, progress):
            block.append(region)
            if len(block) >= 65536:
                yield RegionBlock.from_regions(block)
                block = []
        if block:
            yield RegionBlock.from_regions(block)

    def run_counts(self, algorithm: Algorithm,
                   progress: ProgressCallback | None = None) -> Iterator[int]:
        """Yield how many regions each step finished (they sum to the region count).

        For counting: schedulers that know their parts' sizes yield them without building one
        object per region.
        """
        for chunk in self.run_chunks(algorithm, progress):
            yield len(chunk)
