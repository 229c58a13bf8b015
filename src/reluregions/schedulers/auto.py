"""The ``auto`` scheduler: serial first, parallel workers only once they pay off (DESIGN.md §3).

Asking for two workers should never be slower than one. Worker processes take about a second to
start (imports, compiled kernels), longer than many whole runs of the vertex algorithm (vdp:
0.07 s; ACAS Xu prop. 3: about 1 s), so a parallel scheduler that starts them before the first
region loses to the serial one on every short job. This scheduler therefore picks the backend and
the moment to start it:

- algorithms whose expansions release the GIL (:attr:`~reluregions.tree.Algorithm.releases_gil`,
  the compiled vertex traversal) run on worker **threads**, which start in about a millisecond:
  they take over once the first region is out (a first expansion of :data:`FIRST_BUDGET`
  regions, about 0.2 ms on vdp), or after ``start_after`` seconds when it is given (with 0
  they run the whole tree). They start with the serial phase's regions per second
  (``TaskScheduler.rate_hint``), so their first expansions are sized to the run;
- the others run on worker **processes**, started only when the run has lasted ``start_after``
  seconds (default 0.3; :data:`GIL_BOUND_START_AFTER` for a threads run whose serial phase meets
  an exact decision, Python holding the GIL, which threads would contend for). The caller's thread keeps expanding the tree serially while they start,
  and hands its open items to them once every worker has answered, so a run that ends meanwhile
  never waits for them.

With one worker the run is serial. Every region is yielded exactly once, as by any scheduler: the
serial phase yields what it finished, and the parallel backend starts from the serial phase's open
items. Under a checkpoint (a journal) the chosen backend runs the whole tree (its snapshots cover
the run).
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Iterator

from ..config import check_choice
from ..errors import OptionError
from ..tree import Algorithm, Cell, Context, Stats
from .base import Block, Journal, Progress, ProgressCallback, Scheduler, as_block
from .serial import SerialScheduler

if TYPE_CHECKING:  # pragma: no cover
    from .driver import TaskScheduler

__all__ = ["AutoScheduler", "AUTO_BACKENDS"]

AUTO_BACKENDS = ("threads", "processes")
#: Regions per expansion in the serial phase: the clock is read between expansions (a vertex
#: expansion of 1024 regions takes a few milliseconds; the per-call cost is under 2 % of it).
SERIAL_BUDGET = 1024
#: Regions of the first serial expansion when threads take over after the first region: small,
#: so the first region comes out as soon as in a serial run and the threads start at once (with
#: 256, vdp's serial phase and hand-over kept both threads idle for 1 to 2 ms of a 35 ms run).
FIRST_BUDGET = 32
#: ``start_after`` of processes for a threads run that met exact decisions: the processes' start
#: (about a second of CPU each, on the cores the serial phase needs) made such a run on the TLL
#: net (1.3 s serial) slower at 0.3 s, so they start only on runs that last long enough to gain.
GIL_BOUND_START_AFTER = 2.0
#: Default ``start_after``: threads start after the first region (None), processes, which cost
#: about a second of CPU each, after 0.3 s.
_DEFAULT_START_AFTER: dict[str, float | None] = {"threads": None, "processes": 0.3}


class AutoScheduler(Scheduler):
    """Serial at first, then threads or processes, whichever suits the algorithm.

    Parameters
    ----------
    workers : int, optional
        Parallel workers once they start (default: ``os.cpu_count()``); 1 runs serially.
    backend : {"threads", "processes"}, optional
        Force a backend (default: threads for algorithms that release the GIL, else processes).
    start_after : float, optional
        Seconds of serial work before workers start (default: threads start once the first
        region is out, processes after 0.3 s, as their start-up costs about a second of CPU).
    progress_every : float, default 0.5
        Seconds between progress reports.
    **options
        Passed to the parallel backend (``strategy``, ``task_seconds``, ``task_expansions``, ...;
        see :class:`~reluregions.schedulers.tasks.TaskOptions`).

    Notes
    -----
    After a run, :attr:`backend_used` names what ran the tree's tail (``"serial"`` when the run
    ended before workers were needed) and :attr:`handover_seconds` when it took over.
    """

    name = "auto"

    def __init__(self, workers: int | None = None, backend: str | None = None,
                 start_after: float | None = None, progress_every: float = 0.5, **options: Any) -> None:
        super().__init__()
        if workers is not None and workers < 1:
            raise OptionError(f"workers must be at least 1, got {workers}")
        if backend is not None:
            check_choice("backend", backend, AUTO_BACKENDS)
        if start_after is not None and not start_after >= 0:
            raise OptionError(f"start_after must be at least 0, got {start_after}")
        self.workers = workers or os.cpu_count() or 1
        self.backend = backend
        self.start_after = start_after
        self.progress_every = progress_every
        self.options = options
        self._make(self.backend or "processes")  # options are checked now, not in a run
        self.backend_used = "serial"
        self.handover_seconds: float | None = None
        self._ready: tuple[Algorithm, "TaskScheduler"] | None = None  # threads from prepare()

    # ------------------------------------------------------------------ choices
    def choose(self, algorithm: Algorithm) -> str:
        """The backend for ``algorithm``: threads when its expansions release the GIL."""
        if self.backend is not None:
            return self.backend
        return "threads" if getattr(algorithm, "releases_gil", False) else "processes"

    def prepare(self, algorithm: Algorithm) -> None:
        """Start worker threads for ``algorithm``'s next run, untimed (they cost well under a
        millisecond, and they wait idle until the serial phase hands over); processes still start
        only after ``start_after`` seconds of the run."""
        self._discard_ready()
        if self.workers > 1 and self.choose(algorithm) == "threads":
            inner = self._make("threads")
            inner.prepare(algorithm)  # started, and each has answered
            self._ready = (algorithm, inner)

    def _discard_ready(self) -> None:
        ready, self._ready = self._ready, None
        if ready is not None:
            ready[1].stop_workers()

    def _inner(self, algorithm: Algorithm, backend: str) -> "TaskScheduler":
        """The parallel backend for this run: the threads :meth:`prepare` started, or new."""
        ready, self._ready = self._ready, None
        if ready is not None and ready[0] is algorithm and backend == "threads":
            return ready[1]
        if ready is not None:
            ready[1].stop_workers()
        return self._make(backend)

    def _make(self, backend: str) -> "TaskScheduler":
        options = dict(self.options, workers=self.workers, progress_every=self.progress_every)
        if backend == "threads":
            from .threads import ThreadScheduler

            return ThreadScheduler(**options)
        from .processes import ProcessScheduler

        return ProcessScheduler(**options)

    # ------------------------------------------------------------------ the run
    def _blocks(self, algorithm: Algorithm, roots: list[Cell], progress: ProgressCallback | None,
                count_only: bool, journal: Journal | None) -> Iterator[Block]:
        self.backend_used, self.handover_seconds = "serial", None
        backend = self.choose(algorithm)
        start_after = (self.start_after if self.start_after is not None
                       else _DEFAULT_START_AFTER[backend])
        if journal is not None or self.workers == 1 or (backend == "threads"
                                                         and start_after == 0):
            yield from self._whole(algorithm, roots, progress, count_only, journal)
            return
        problem = algorithm.problem
        ctx = Context.create(problem.config, problem.n_layers)
        self.stats = ctx.stats
        inner: TaskScheduler | None = None
        handed_over = False
        start = last = time.perf_counter()
        found = 0
        stack = roots[::-1]
        full = min(algorithm.default_budget, SERIAL_BUDGET)
        # threads start after the first region: a small first expansion
        budget = min(full, FIRST_BUDGET) if start_after is None else full
        try:
            while stack:
                now = time.perf_counter()
                if backend == "threads" and self.backend is None and ctx.stats.exact:
                    # exact decisions run in Python and hold the GIL: threads would contend for
                    # it (the TLL net: 2.4 s on two threads against 1.3 s serial), processes pay
                    backend = "processes"
                    start_after = (self.start_after if self.start_after is not None
                                   else GIL_BOUND_START_AFTER)
                    budget = full
                if inner is None and self.workers > 1 and (
                        found > 0 if start_after is None else now - start >= start_after):
                    inner = self._inner(algorithm, backend)
                    if now > start and found:  # the serial phase's speed sizes their expansions
                        inner.rate_hint = found / (now - start)
                    if backend == "processes":  # they start while this thread works on
                        inner.start_workers(algorithm)
                if inner is not None and (backend == "threads" or inner.workers_ready()):
                    handed_over = True
                    break
                cell = stack.pop()
                children, finished = algorithm.expand(cell, ctx, budget=budget,
                                                      count_only=count_only)
                stack.extend(reversed(children))
                if len(finished):
                    found += len(finished)
                    budget = full
                    yield as_block(finished, count_only)
                if progress is not None and now - last >= self.progress_every:
                    last = now
                    progress(Progress(found, now - start, len(stack), 1))
        finally:
            self._discard_ready()  # threads prepared for a run that ended serially
            if inner is not None and not handed_over:
                inner.stop_workers()
        if not handed_over:
            if progress is not None:
                progress(Progress(found, time.perf_counter() - start, 0, 0))
            return
        assert inner is not None
        self.backend_used = backend
        self.handover_seconds = time.perf_counter() - start
        try:
            items = algorithm.unbatch(stack[::-1], self.workers)  # one part per worker at least
            yield from self._tail(algorithm, inner, items, progress, count_only, found, start)
        finally:  # also when the caller stops early (a capped run): its counters so far
            merged = Stats(layer_cells=[0] * problem.n_layers)
            merged.merge(ctx.stats)
            merged.merge(inner.stats)
            self.stats = merged

    def _tail(self, algorithm: Algorithm, inner: "TaskScheduler", roots: list[Cell],
              progress: ProgressCallback | None, count_only: bool, found: int,
              start: float) -> Iterator[Block]:
        """The parallel backend on the serial phase's open items; progress counts the whole run."""
        report = None
        if progress is not None:
            def report(p: Progress) -> None:
                progress(Progress(found + p.regions, time.perf_counter() - start, p.open_items,
                                  p.busy_workers))
        yield from inner._blocks(algorithm, roots, report, count_only, None)

    def _whole(self, algorithm: Algorithm, roots: list[Cell], progress: ProgressCallback | None,
               count_only: bool, journal: Journal | None) -> Iterator[Block]:
        """The chosen backend (or the serial one) runs the whole tree: under a checkpoint (its
        snapshots cover the run), with one worker (serial), or threads that start at once (no
        serial phase to hand over)."""
        if self.workers == 1:
            self._discard_ready()
            inner: Scheduler = SerialScheduler(self.progress_every)
            self.stats = Stats()
            try:
                yield from inner._blocks(algorithm, roots, progress, count_only, journal)
            finally:
                self.stats = inner.stats
            return
        backend = self.choose(algorithm)
        tasks = self._inner(algorithm, backend)
        self.backend_used, self.handover_seconds = backend, 0.0
        try:
            yield from tasks._blocks(algorithm, roots, progress, count_only, journal)
        finally:
            self.stats = tasks.stats
