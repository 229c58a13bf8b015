"""RegionFile reads a run's tolerances from the file, and the config defaults when it holds none."""
from __future__ import annotations

import json
from pathlib import Path

from reluregions import EnumerationConfig
from reluregions.analysis import RegionFile
from reluregions.io.parquet import METADATA_KEY


def _with_config(src: Path, dst: Path, config: dict | None) -> RegionFile:
    """A copy of ``src`` whose metadata records ``config`` (None: no config at all)."""
    import pyarrow.parquet as pq

    table = pq.read_table(src)
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    if config is None:
        meta.pop("config", None)
    else:
        meta["config"] = config
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()}), dst)
    return RegionFile(dst)


def test_tolerances_come_from_the_file(slab_file, tmp_path: Path) -> None:
    rf = _with_config(slab_file[0], tmp_path / "r.parquet", {"radius_tol": 3e-6, "zero_tol": 2e-10})
    assert (rf.radius_tol, rf.zero_tol) == (3e-6, 2e-10)


def test_a_file_without_config_gets_the_config_defaults(slab_file, tmp_path: Path) -> None:
    rf = _with_config(slab_file[0], tmp_path / "r.parquet", None)
    defaults = EnumerationConfig()
    assert rf.config == {}
    assert (rf.radius_tol, rf.zero_tol) == (defaults.radius_tol, defaults.zero_tol) == (1e-8, 1e-9)
