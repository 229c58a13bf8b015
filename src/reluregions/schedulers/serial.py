"""The serial scheduler: deterministic depth-first traversal in one process (the test reference)."""
from __future__ import annotations

import time
from typing import Iterator

from ..enumeration.base import Algorithm, Context, Region
from .base import Progress, ProgressCallback, Scheduler

__all__ = ["SerialScheduler"]


class SerialScheduler(Scheduler):
    """Expand the tree depth first in this process; memory is bounded by the tree's depth."""

    name = "serial"

    def __init__(self, progress_every: float = 0.5) -> None:
        super().__init__()
        self.progress_every = progress_every

    def run(self, algorithm: Algorithm, progress: ProgressCallback | None = None) -> Iterator[Region]:
        problem = algorithm.problem
        ctx = Context.create(problem.config, problem.n_layers)
        self.stats = ctx.stats
        start = last = time.perf_counter()
        found = 0
        stack = list(reversed(algorithm.roots(ctx)))
        while stack:
            cell = stack.pop()
            children, finished = algorithm.expand(cell, ctx)
            stack.extend(reversed(children))
            for region in finished:
                found += 1
                yield region
            if progress is not None:
                now = time.perf_counter()
                if now - last >= self.progress_every:
                    last = now
                    progress(Progress(found, now - start, len(stack), 1))
        if progress is not None:
            progress(Progress(found, time.perf_counter() - start, 0, 0))
