"""Region files shared by the analysis tests (written once per session)."""
from __future__ import annotations

from pathlib import Path

import pytest

from reluregions import Box

from .helpers import line_arrangement, random_net, slab_net, write_region_file


@pytest.fixture(scope="session")
def slab_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 6-region slab net on [-1, 1]^2 (known counts, ranks, areas and maps)."""
    return write_region_file(tmp_path_factory.mktemp("slab") / "slab.parquet", slab_net())


@pytest.fixture(scope="session")
def lines_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Six lines in general position on [-10, 10]^2: 22 regions, 36 edges."""
    net = line_arrangement(6, seed=3)
    return write_region_file(tmp_path_factory.mktemp("lines") / "lines.parquet", net,
                             Box([-10, -10], [10, 10]))


@pytest.fixture(scope="session")
def random2_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random 2-8-8-3 classifier on [-1, 1]^2."""
    return write_region_file(tmp_path_factory.mktemp("rand2") / "rand2.parquet",
                             random_net(2, (8, 8), seed=1, n_out=3))


@pytest.fixture(scope="session")
def random3_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random 3-6-6-6 net on [-1, 1]^3, written with maps and H-representations."""
    return write_region_file(tmp_path_factory.mktemp("rand3") / "rand3.parquet",
                             random_net(3, (6, 6, 6), seed=2), keep_maps=True, keep_hrep=True)
