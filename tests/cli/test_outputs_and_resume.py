"""Output paths are checked before any work, and --resume needs an existing checkpoint (issue 17)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from reluregions.enumeration.checkpoint_state import FORMAT

from .helpers import cli, one_line_error, partial_files, write_net


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write to (root ignores permissions, so /sys for root)."""
    if os.geteuid() == 0:
        yield Path("/sys")
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


def test_enumerate_into_an_existing_folder_fails_at_once(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    (tmp_path / "out").mkdir()
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "out", "--workers", "1"))
    assert "is a folder" in line and "regions written" not in line
    assert partial_files(tmp_path) == []


def test_enumerate_into_a_read_only_folder_fails_at_once(tmp_path: Path, read_only_folder) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", read_only_folder / "r.parquet",
                              "--workers", "1"))
    assert "cannot write in the folder" in line


def test_study_into_a_read_only_folder_fails_before_the_sweep(read_only_folder) -> None:
    proc = cli("study", "runtime", "--quick", "--out", read_only_folder / "study")
    assert "cannot write in the folder" in one_line_error(proc)
    assert " s\n" not in proc.stderr  # no run of the sweep was reported


def test_enumerate_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "nope" / "r.parquet"))
    assert "does not exist" in line


def test_resume_from_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet",
                              "--resume", tmp_path / "ckpt-typo", "--workers", "1"))
    assert "no run to resume" in line and "--checkpoint" in line
    assert not (tmp_path / "r.parquet").exists() and not (tmp_path / "ckpt-typo").exists()


def test_resume_from_a_folder_without_checkpoint_is_an_error(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    (tmp_path / "empty").mkdir()
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet",
                              "--resume", tmp_path / "empty", "--workers", "1"))
    assert "holds no checkpoint" in line


def test_checkpoint_and_resume_together_are_refused(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet", "--checkpoint",
                              tmp_path / "a", "--resume", tmp_path / "b"))
    assert "not both" in line


def test_resume_needs_the_checkpointed_network(tmp_path: Path) -> None:
    """A finished checkpoint resumes (nothing to do); another network's run is refused."""
    net = write_net(tmp_path / "net.npz")
    other = write_net(tmp_path / "other.npz", seed=1)
    out, ck = tmp_path / "r.parquet", tmp_path / "ck"
    first = cli("enumerate", net, "--out", out, "--checkpoint", ck, "--workers", "1")
    assert first.returncode == 0, first.stderr
    again = cli("enumerate", net, "--out", out, "--resume", ck, "--workers", "1")
    assert again.returncode == 0 and first.stdout.split()[0] == again.stdout.split()[0]
    line = one_line_error(cli("enumerate", other, "--out", out, "--resume", ck, "--workers", "1"))
    assert "different network" in line


def test_resume_of_a_checkpoint_of_an_older_format_is_refused(tmp_path: Path) -> None:
    """A checkpoint written before cells had typed payloads (format 1, data/checkpoints) is
    refused with its format named, exit status 2, before any work."""
    ck = tmp_path / "ck"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "format1", ck)
    net = write_net(tmp_path / "net.npz")  # the network the checkpoint was made for
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet", "--resume", ck,
                              "--workers", "1"))
    assert "another version of reluregions" in line and "checkpoint format 1" in line
    assert f"reads format {FORMAT}" in line and FORMAT != 1
    assert not (tmp_path / "r.parquet").exists()
