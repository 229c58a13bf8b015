"""The parallel schedulers' shared machinery, re-exported from the modules that hold it.

- :mod:`reluregions.schedulers.tasks`: the task messages (:class:`TaskOptions`, :class:`Task`,
  :class:`TaskResult`, :class:`TaskFailure`, :class:`TaskRecord`, :class:`WorkerLoss`) and the
  worker body :func:`run_task`;
- :mod:`reluregions.schedulers.queues`: the parent's open items and the ``"dynamic"`` and
  ``"paper"`` strategies;
- :mod:`reluregions.schedulers.driver`: :class:`TaskScheduler`, the parent's driver loop;
- :mod:`reluregions.schedulers.local`: :class:`LocalWorkers`, task placement for local workers.
"""
from __future__ import annotations

from .driver import TaskScheduler
from .local import LocalWorkers
from .queues import OpenItems
from .tasks import (STRATEGIES, Task, TaskFailure, TaskOptions, TaskRecord, TaskResult,
                    WorkerLoss, largest_task_share, run_task)

__all__ = ["STRATEGIES", "TaskOptions", "Task", "TaskResult", "TaskFailure",
           "TaskRecord", "WorkerLoss", "OpenItems", "TaskScheduler", "LocalWorkers", "run_task",
           "largest_task_share"]
