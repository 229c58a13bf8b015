"""Shared fixtures: every algorithm x first-layer enumerator x scheduler combination.

A test that takes the ``combo`` fixture runs once per combination. Restrict it with the marker
``@pytest.mark.combos(algorithm=..., first_layer=..., scheduler=...)`` (each a name or a tuple of
names). A test that takes ``backend`` runs once per scheduler and gets a factory of fresh schedulers.

Schedulers other than ``serial`` are optional while they are being written: a backend whose module
file (``src/reluregions/schedulers/<name>.py``) does not exist yet is skipped with the reason
"backend not built yet". As soon as the file exists its tests run (and fail if it does not import).
Ray tests share one local Ray instance, started once per session.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

import reluregions.schedulers as _schedulers_pkg
from reluregions import EnumerationConfig, count_regions, enumerate_regions
from reluregions.enumeration import ALGORITHMS
from reluregions.schedulers import SCHEDULERS, make_scheduler

FIRST_LAYERS = ("incremental", "exhaustive")
SCHEDULER_DIR = Path(_schedulers_pkg.__file__).resolve().parent
DATA_DIR = Path(__file__).resolve().parent / "data"
WORKERS = 2


def backend_built(name: str) -> bool:
    """Whether the scheduler ``name`` has a module file (serial always does)."""
    return name == "serial" or (SCHEDULER_DIR / f"{name}.py").exists()


@dataclass(frozen=True)
class Combo:
    """One algorithm x first-layer enumerator x scheduler combination."""

    algorithm: str
    first_layer: str
    scheduler: str

    @property
    def id(self) -> str:
        return f"{self.algorithm}-{self.first_layer}-{self.scheduler}"

    def config(self, **options: Any) -> EnumerationConfig:
        """An :class:`EnumerationConfig` for this combination (``options`` override the rest)."""
        return EnumerationConfig(algorithm=self.algorithm, first_layer=self.first_layer, **options)

    def make_scheduler(self):
        """A fresh scheduler of this combination's backend, with two workers."""
        return make_scheduler(self.scheduler, workers=WORKERS)

    def enumerate(self, net, domain, **options: Any):
        """``enumerate_regions`` under this combination."""
        return enumerate_regions(net, domain, self.config(**options), self.make_scheduler())

    def count(self, net, domain, **options: Any):
        """``count_regions`` under this combination."""
        return count_regions(net, domain, self.config(**options), self.make_scheduler())


REFERENCE = Combo("default", "incremental", "serial")
ALL_COMBOS = tuple(Combo(a, f, s) for a, f, s in itertools.product(ALGORITHMS, FIRST_LAYERS, SCHEDULERS))


def _skip_marks(scheduler: str) -> list:
    return [] if backend_built(scheduler) else [pytest.mark.skip(reason="backend not built yet")]


def combo_params(**filters: Any) -> list:
    """``pytest.param`` objects for the combinations matching ``filters`` (name or tuple of names)."""
    def ok(combo: Combo) -> bool:
        for key, want in filters.items():
            want = (want,) if isinstance(want, str) else tuple(want)
            if getattr(combo, key) not in want:
                return False
        return True

    return [pytest.param(c, id=c.id, marks=_skip_marks(c.scheduler)) for c in ALL_COMBOS if ok(c)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "combos(algorithm=..., first_layer=..., scheduler=...): run a test taking the "
                   "'combo' fixture only for the matching combinations")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combo" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("combos")
        filters = dict(marker.kwargs) if marker else {}
        metafunc.parametrize("combo", combo_params(**filters), indirect=True)
    if "backend" in metafunc.fixturenames:
        params = [pytest.param(name, id=name, marks=_skip_marks(name)) for name in SCHEDULERS]
        metafunc.parametrize("backend", params, indirect=True)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray instance with two CPUs, started once for the whole session."""
    import ray

    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
        started = True
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture
def combo(request: pytest.FixtureRequest) -> Combo:
    """The combination under test (parametrised by ``pytest_generate_tests``)."""
    value: Combo = request.param
    if value.scheduler == "ray":
        request.getfixturevalue("ray_cluster")
    return value


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of fresh schedulers of one backend (parametrised over every backend)."""
    name: str = request.param
    if name == "ray":
        request.getfixturevalue("ray_cluster")
    factory = lambda: make_scheduler(name, workers=WORKERS)  # noqa: E731
    factory.name = name  # type: ignore[attr-defined]
    return factory


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data``."""
    return DATA_DIR
