"""Shared fixtures: every algorithm x first-layer enumerator x scheduler combination.

A test that takes the ``combo`` fixture runs once per combination (``tests/invariants.py`` builds
the matrix from ``reluregions.enumeration.ALGORITHMS`` and ``reluregions.schedulers.SCHEDULERS``).
Restrict it with ``@pytest.mark.combos(algorithm=..., first_layer=..., scheduler=...)`` (a name or
a tuple of names each), or parametrize ``combo`` yourself with ``invariants.combo_params`` (with
``indirect=["combo"]``) to pair combinations with other parameters. A test that takes ``backend``
runs once per scheduler and gets a factory of schedulers.

Schedulers other than ``serial`` may still be being written: a backend whose module file
(``src/reluregions/schedulers/<name>.py``) does not exist is skipped with the reason "backend not
built yet"; as soon as the file exists its tests run (and fail if it does not import).

Parallel schedulers get two workers and small tasks (``task_expansions``), so that even the tiny
test networks are cut into many tasks and the work splitting is exercised. The ``threads`` and
``processes`` workers are kept between runs (one pool each for the session) because starting
processes costs about a second; Ray tests share one local Ray instance, started once per session.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from invariants import Combo, backend_built, combo_params
from reluregions import count_regions, enumerate_regions
from reluregions.schedulers import SCHEDULERS, make_scheduler

DATA_DIR = Path(__file__).resolve().parent / "data"
WORKERS = 2
TASK_EXPANSIONS = 8

#: Options given to ``make_scheduler`` per backend (those its constructor does not take are dropped).
SCHEDULER_OPTIONS: dict[str, dict[str, Any]] = {
    "serial": {},
    "threads": {"workers": WORKERS, "task_expansions": TASK_EXPANSIONS, "keep_workers": True},
    "processes": {"workers": WORKERS, "task_expansions": TASK_EXPANSIONS, "keep_workers": True},
    "ray": {"workers": WORKERS, "task_expansions": TASK_EXPANSIONS},
}


def _scheduler_class(name: str) -> type:
    if name == "serial":
        from reluregions.schedulers import SerialScheduler

        return SerialScheduler
    if name == "threads":
        from reluregions.schedulers.threads import ThreadScheduler

        return ThreadScheduler
    if name == "processes":
        from reluregions.schedulers.processes import ProcessScheduler

        return ProcessScheduler
    from reluregions.schedulers.ray import RayScheduler

    return RayScheduler


def scheduler_options(name: str) -> dict[str, Any]:
    """The options of :data:`SCHEDULER_OPTIONS` that the backend's constructor accepts."""
    wanted = SCHEDULER_OPTIONS.get(name, {"workers": WORKERS})
    accepted = inspect.signature(_scheduler_class(name).__init__).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


class SchedulerPool:
    """Hands out schedulers; those with ``keep_workers`` are shared and reused."""

    def __init__(self) -> None:
        self._shared: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        options = scheduler_options(name)
        if not options.get("keep_workers"):
            return make_scheduler(name, **options)
        if name not in self._shared:
            self._shared[name] = make_scheduler(name, **options)
        return self._shared[name]

    def discard(self, name: str) -> None:
        """Drop (and close) a shared scheduler after a failed run, so the next test starts clean."""
        scheduler = self._shared.pop(name, None)
        if scheduler is not None and hasattr(scheduler, "close"):
            scheduler.close()

    def close(self) -> None:
        for name in list(self._shared):
            self.discard(name)


@dataclass
class ComboRunner:
    """A :class:`invariants.Combo` bound to the session's schedulers: runs the public API."""

    combo: Combo
    pool: SchedulerPool

    def __getattr__(self, name: str) -> Any:  # algorithm, first_layer, scheduler, id, config
        return getattr(self.combo, name)

    def make_scheduler(self) -> Any:
        return self.pool.get(self.combo.scheduler)

    def _call(self, func: Callable, net, domain, options: dict[str, Any]):
        try:
            return func(net, domain, self.combo.config(**options), self.make_scheduler())
        except BaseException:
            self.pool.discard(self.combo.scheduler)
            raise

    def enumerate(self, net, domain, **options: Any):
        """``enumerate_regions`` under this combination."""
        return self._call(enumerate_regions, net, domain, options)

    def count(self, net, domain, **options: Any):
        """``count_regions`` under this combination."""
        return self._call(count_regions, net, domain, options)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "combos(algorithm=..., first_layer=..., scheduler=...): run a test taking the "
                   "'combo' fixture only for the matching combinations")


def _parametrized_by_test(metafunc: pytest.Metafunc, name: str) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combo" in metafunc.fixturenames and not _parametrized_by_test(metafunc, "combo"):
        marker = metafunc.definition.get_closest_marker("combos")
        filters = dict(marker.kwargs) if marker else {}
        metafunc.parametrize("combo", combo_params(**filters), indirect=True)
    if "backend" in metafunc.fixturenames and not _parametrized_by_test(metafunc, "backend"):
        params = [pytest.param(name, id=name, marks=[] if backend_built(name) else
                               [pytest.mark.skip(reason="backend not built yet")])
                  for name in SCHEDULERS]
        metafunc.parametrize("backend", params, indirect=True)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray instance with two CPUs, started once for the whole session."""
    import ray

    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1")
        started = True
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def scheduler_pool():
    """The session's schedulers (the shared ``processes`` pool is closed at the end)."""
    pool = SchedulerPool()
    yield pool
    pool.close()


@pytest.fixture
def combo(request: pytest.FixtureRequest, scheduler_pool: SchedulerPool) -> ComboRunner:
    """The combination under test, bound to the session's schedulers."""
    value: Combo = request.param
    if value.scheduler == "ray":
        request.getfixturevalue("ray_cluster")
    return ComboRunner(value, scheduler_pool)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """A factory of fresh schedulers of one backend: ``backend(**options)``."""
    name: str = request.param
    if name == "ray":
        request.getfixturevalue("ray_cluster")

    def factory(**options: Any) -> Any:
        base = {k: v for k, v in scheduler_options(name).items() if k != "keep_workers"}
        return make_scheduler(name, **{**base, **options})

    factory.name = name  # type: ignore[attr-defined]
    return factory


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data``."""
    return DATA_DIR
