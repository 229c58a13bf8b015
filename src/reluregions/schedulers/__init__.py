"""Schedulers: serial (reference), threads and processes (local work splitting), ray (clusters)."""
from __future__ import annotations

from typing import Any

from ..config import check_choice
from .base import Progress, ProgressCallback, Scheduler, expand_subtree
from .checkpoint import Checkpoint, run_with_checkpoint
from .tasks import STRATEGIES
from .processes import ProcessScheduler
from .ray import RayScheduler
from .serial import SerialScheduler
from .threads import ThreadScheduler

__all__ = ["Scheduler", "SerialScheduler", "ThreadScheduler", "ProcessScheduler", "RayScheduler",
           "Progress", "ProgressCallback", "expand_subtree", "SCHEDULERS", "STRATEGIES",
           "make_scheduler", "Checkpoint", "run_with_checkpoint"]

SCHEDULERS = ("serial", "threads", "processes", "ray")


def make_scheduler(name: str, **options: Any) -> Scheduler:
    """The scheduler called ``name`` (one of :data:`SCHEDULERS`), built with ``options``.

    ``"serial"`` takes only ``checkpoint`` and ``progress_every`` and ignores the others; see
    :class:`~reluregions.schedulers.threads.ThreadScheduler`,
    :class:`~reluregions.schedulers.processes.ProcessScheduler` and
    :class:`~reluregions.schedulers.ray.RayScheduler` for theirs.
    """
    check_choice("backend", name, SCHEDULERS)
    if name == "serial":  # options of the parallel backends (workers, strategy...) do not apply
        keep = {k: v for k, v in options.items() if k in ("checkpoint", "progress_every")}
        return SerialScheduler(**keep)
    if name == "threads":
        return ThreadScheduler(**options)
    if name == "processes":
        return ProcessScheduler(**options)
    return RayScheduler(**options)
