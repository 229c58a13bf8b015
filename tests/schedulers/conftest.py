"""Fixtures of the scheduler tests: one local Ray instance, kept thread and process pools, serial
references."""
from __future__ import annotations

import pytest

from reluregions.schedulers import SerialScheduler
from reluregions.schedulers.tasks import TaskOptions
from reluregions.schedulers.processes import ProcessScheduler
from reluregions.schedulers.threads import ThreadScheduler

from .helpers import algorithm_for, regionset, run_tree, seeded_net

WORKERS = 2
_REFERENCES: dict = {}


@pytest.fixture(scope="session")
def local_ray(ray_cluster):
    """The session's local Ray instance on the loopback address (the top-level ``ray_cluster``)."""
    return ray_cluster


LOCAL_BACKENDS = {"threads": ThreadScheduler, "processes": ProcessScheduler}


@pytest.fixture(scope="module", params=list(LOCAL_BACKENDS))
def _kept_pool(request):
    with LOCAL_BACKENDS[request.param](WORKERS, keep_workers=True) as scheduler:
        yield scheduler


@pytest.fixture
def pool(_kept_pool):
    """Two worker threads or processes (one test per local backend), kept for the whole module
    (their start-up is paid once), with the default options (a test may replace
    ``pool.options``)."""
    _kept_pool.options = TaskOptions()
    return _kept_pool


def reference(seed: int, algorithm: str):
    """The serial region set of the seeded net (cached for the session)."""
    key = (seed, algorithm)
    if key not in _REFERENCES:
        net, box = seeded_net(seed)
        _REFERENCES[key] = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, algorithm)), net)
    return _REFERENCES[key]
