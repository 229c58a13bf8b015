"""The serial scheduler: deterministic depth-first traversal in one process (the test reference)."""
from __future__ import annotations

import time
from typing import Iterator

from ..tree import Algorithm, Cell, Context
from .base import Block, Journal, Progress, ProgressCallback, Scheduler, as_block

__all__ = ["SerialScheduler"]


class SerialScheduler(Scheduler):
    """Expand the tree depth first in this process; memory is bounded by the tree's depth.

    Each expansion's finished regions are one block. With a journal (a checkpointed run), the
    run starts from its saved frontier and the stack is snapshotted between expansions.
    """

    name = "serial"

    def __init__(self, progress_every: float = 0.5) -> None:
        super().__init__()
        self.progress_every = progress_every

    def _blocks(self, algorithm: Algorithm, roots: list[Cell], progress: ProgressCallback | None,
                count_only: bool, journal: Journal | None) -> Iterator[Block]:
        problem = algorithm.problem
        ctx = Context.create(problem.config, problem.n_layers)
        self.stats = ctx.stats
        restored = journal.restore() if journal is not None else None
        start = last = time.perf_counter()
        found = 0
        if restored is not None and restored.frontier is not None:
            ctx.stats.merge(restored.stats)
            stack = list(reversed(restored.frontier))
        else:
            stack = roots[::-1]
        while stack:
            cell = stack.pop()
            children, finished = algorithm.expand(cell, ctx, budget=algorithm.default_budget,
                                                  count_only=count_only)
            stack.extend(reversed(children))
            if len(finished):
                block = as_block(finished, count_only)
                if journal is not None:
                    journal.record(block)
                found += len(block)
                yield block
            if journal is not None:
                journal.poll(lambda: stack[::-1], ctx.stats)
            if progress is not None:
                now = time.perf_counter()
                if now - last >= self.progress_every:
                    last = now
                    progress(Progress(found, now - start, len(stack), 1))
        if progress is not None:
            progress(Progress(found, time.perf_counter() - start, 0, 0))
