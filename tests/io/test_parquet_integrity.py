"""Region files carry page checksums, every reader verifies them, and no temporary file is left."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from reluregions import Box, iter_regions
from reluregions.errors import CorruptFileError, OutputPathError
from reluregions.io.parquet import ParquetRegionWriter, iter_region_batches, read_regions
from reluregions.network import Network

from cli.helpers import cli, one_line_error, partial_files, write_net


def _net(seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    return Network([rng.normal(size=(8, 2)), rng.normal(size=(1, 8))],
                   [rng.normal(size=8), rng.normal(size=1)])


def _write(path: Path, blocks, stop: BaseException | None = None) -> None:
    meta = {"n_hidden": 8, "hidden_widths": [8], "input_dim": 2}
    with ParquetRegionWriter(path, 8, meta) as writer:
        writer.write_all(blocks)
        if stop is not None:
            raise stop


def _damage(path: Path, column: int = 1) -> None:
    """Overwrite bytes in the middle of one column chunk's data."""
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(column)
    start = chunk.data_page_offset + chunk.total_compressed_size // 2
    with open(path, "r+b") as fh:
        fh.seek(start)
        fh.write(b"\xa5" * 16)


def test_a_damaged_file_is_refused_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    net = write_net(tmp_path / "net.npz")
    proc = cli("enumerate", net, "--out", path, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert len(read_regions(path).radii) > 0
    _damage(path)
    with pytest.raises(CorruptFileError, match="damaged"):
        read_regions(path)
    with pytest.raises(CorruptFileError):
        list(iter_region_batches(path))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> tuple[Path, Path]:
    """A network and a region file of it, damaged after it was written."""
    folder = tmp_path_factory.mktemp("damaged")
    net = write_net(folder / "net.npz")
    path = folder / "r.parquet"
    assert cli("enumerate", net, "--out", path, "--workers", "1").returncode == 0
    _damage(path)
    return net, path


@pytest.mark.parametrize("command", ["stats", "plot", "verify"])
def test_commands_refuse_a_damaged_file(tmp_path: Path, damaged, command: str) -> None:
    net, path = damaged
    args = {"stats": ["stats", path], "plot": ["plot", path, net, "--out", tmp_path / "p.png"],
            "verify": ["verify", path, net, "--workers", "1"]}[command]
    assert "damaged" in one_line_error(cli(*args))
    assert not (tmp_path / "p.png").exists()


def _some_regions():
    return list(iter_regions(_net(), Box.symmetric(2)).chunks())


@pytest.mark.parametrize("stop", [RuntimeError("boom"), KeyboardInterrupt()])
def test_no_temporary_file_after_an_error_or_interrupt(tmp_path: Path, stop) -> None:
    with pytest.raises(type(stop)):
        _write(tmp_path / "r.parquet", _some_regions(), stop)
    assert partial_files(tmp_path) == [] and not (tmp_path / "r.parquet").exists()


def test_no_temporary_file_when_the_rename_fails(tmp_path: Path) -> None:
    (tmp_path / "r.parquet").mkdir()  # a folder where the file should go
    with pytest.raises(OutputPathError, match="cannot write"):
        _write(tmp_path / "r.parquet", _some_regions())
    assert partial_files(tmp_path) == []
