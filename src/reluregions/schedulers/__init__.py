"""Schedulers: serial (reference), threads and processes (local work splitting), ray (clusters),
auto (serial first, then threads or processes once they pay off)."""
from __future__ import annotations

from typing import Any

from ..config import check_choice
from .auto import AutoScheduler
from .base import (Journal, Progress, ProgressCallback, RegionCount, Restored, Scheduler,
                   expand_subtree)
from .tasks import STRATEGIES
from .processes import ProcessScheduler
from .ray import RayScheduler
from .serial import SerialScheduler
from .threads import ThreadScheduler

__all__ = ["Scheduler", "SerialScheduler", "ThreadScheduler", "ProcessScheduler", "RayScheduler",
           "AutoScheduler",
           "Progress", "ProgressCallback", "expand_subtree", "SCHEDULERS", "STRATEGIES",
           "make_scheduler", "Journal", "Restored", "RegionCount"]

SCHEDULERS = ("serial", "threads", "processes", "ray", "auto")


def make_scheduler(name: str, **options: Any) -> Scheduler:
    """The scheduler called ``name`` (one of :data:`SCHEDULERS`), built with ``options``.

    ``"serial"`` takes only ``progress_every`` and ignores the others; see
    :class:`~reluregions.schedulers.threads.ThreadScheduler`,
    :class:`~reluregions.schedulers.processes.ProcessScheduler`,
    :class:`~reluregions.schedulers.ray.RayScheduler` and
    :class:`~reluregions.schedulers.auto.AutoScheduler` for theirs.
    """
    check_choice("backend", name, SCHEDULERS)
    if name == "serial":  # options of the parallel backends (workers, strategy...) do not apply
        keep = {k: v for k, v in options.items() if k == "progress_every"}
        return SerialScheduler(**keep)
    if name == "threads":
        return ThreadScheduler(**options)
    if name == "processes":
        return ProcessScheduler(**options)
    if name == "auto":
        return AutoScheduler(**options)
    return RayScheduler(**options)
