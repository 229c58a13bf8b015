"""The serial scheduler: deterministic depth-first traversal in one process (the test reference)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator, Sequence

from ..tree import Algorithm, Context, Region, RegionBlock
from .base import Progress, ProgressCallback, Scheduler

if TYPE_CHECKING:  # pragma: no cover
    from .checkpoint import Checkpoint

__all__ = ["SerialScheduler"]


class SerialScheduler(Scheduler):
    """Expand the tree depth first in this process; memory is bounded by the tree's depth.

    With a ``checkpoint``, the run starts from its saved frontier and the stack is snapshotted
    between expansions.
    """

    name = "serial"

    def __init__(self, progress_every: float = 0.5, checkpoint: "Checkpoint | None" = None) -> None:
        super().__init__()
        self.progress_every = progress_every
        self.checkpoint = checkpoint

    def run(self, algorithm: Algorithm,
            progress: ProgressCallback | None = None) -> Iterator[Region]:
        for part in self._run(algorithm, progress):
            yield from part

    def run_chunks(self, algorithm: Algorithm,
                   progress: ProgressCallback | None = None) -> Iterator[RegionBlock]:
        for part in self._run(algorithm, progress):
            yield RegionBlock.from_regions(part)

    def run_counts(self, algorithm: Algorithm,
                   progress: ProgressCallback | None = None) -> Iterator[int]:
        for part in self._run(algorithm, progress):
            yield len(part)

    def _run(self, algorithm: Algorithm, progress: ProgressCallback | None) -> Iterator[Sequence]:
        """What each expansion finished (a list of regions or a chunk), in depth-first order."""
        problem = algorithm.problem
        ctx = Context.create(problem.config, problem.n_layers)
        self.stats = ctx.stats
        ckpt = self.checkpoint
        restored = ckpt.restore() if ckpt is not None else None
        start = last = time.perf_counter()
        found = 0
        if restored is not None and restored.frontier is not None:
            ctx.stats.merge(restored.stats)
            stack = list(reversed(restored.frontier))
        else:
            stack = list(reversed(algorithm.roots(ctx)))
        while stack:
            cell = stack.pop()
            children, finished = algorithm.expand(cell, ctx)
            stack.extend(reversed(children))
            if ckpt is not None:
                ckpt.record(finished)
            if len(finished):
                found += len(finished)
                yield finished
            if ckpt is not None:
                ckpt.poll(lambda: stack[::-1], ctx.stats)
            if progress is not None:
                now = time.perf_counter()
                if now - last >= self.progress_every:
                    last = now
                    progress(Progress(found, now - start, len(stack), 1))
        if progress is not None:
            progress(Progress(found, time.perf_counter() - start, 0, 0))
