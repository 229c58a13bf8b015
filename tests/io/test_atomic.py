"""The one atomic writer (io/atomic.py): the target is the old file or the new one, never a mix,
and no temporary file survives an error."""
from __future__ import annotations

from pathlib import Path

import pytest

from reluregions.io.atomic import AtomicFile, stale_temporaries


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_commit_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    target.write_bytes(b"old")
    with AtomicFile(target) as f:
        assert f.tmp.parent == tmp_path and f.tmp.name.startswith(".state.bin.")
        f.tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible before the commit
    assert target.read_bytes() == b"new" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("stop", [RuntimeError("failed"), KeyboardInterrupt()])
def test_an_exception_leaves_the_old_file_and_no_temporary(tmp_path: Path, stop) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")
    with pytest.raises(type(stop)):
        with AtomicFile(target) as f:
            f.tmp.write_bytes(b"half")
            raise stop
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_a_failed_rename_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_bytes(b"x")  # a non-empty folder cannot be replaced by a file
    f = AtomicFile(target)
    f.tmp.write_bytes(b"new")
    with pytest.raises(OSError):
        f.commit()
    assert _leftovers(tmp_path) == [] and (target / "inside").exists()


def test_stale_temporaries_of_any_process_are_found(tmp_path: Path) -> None:
    target = tmp_path / "r.parquet"
    for name in (".r.parquet.123.partial", ".r.parquet.456.partial", ".other.parquet.1.partial"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in stale_temporaries(target)] == [".r.parquet.123.partial",
                                                             ".r.parquet.456.partial"]
