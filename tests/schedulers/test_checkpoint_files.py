"""The files of a checkpoint folder: its state and shards are written through the one atomic
writer, and temporary files a killed run left behind are deleted when the folder is opened."""
from __future__ import annotations

from pathlib import Path

from reluregions.enumeration.checkpoint import STATE_NAME, Checkpoint


def test_leftover_temporaries_are_deleted_on_open(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    folder.mkdir()
    left = [f".{STATE_NAME}.999.partial", ".shard-000003.parquet.999.partial", "shard-000007.parquet"]
    for name in left:
        (folder / name).write_bytes(b"from a killed run")
    (folder / "notes.txt").write_text("not ours")
    ck = Checkpoint(folder, {"run": 1}, n_hidden=3)
    ck.open()
    try:
        assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", STATE_NAME]
    finally:
        ck.close()


def test_a_snapshot_leaves_only_the_state(tmp_path: Path) -> None:
    from reluregions.tree import Stats

    ck = Checkpoint(tmp_path, {"run": 1}, n_hidden=3)
    ck.open()
    try:
        ck.save([], Stats())
        assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_NAME]
        assert ck.snapshots == 1 and Checkpoint(tmp_path, {})._load().snapshots == 1
    finally:
        ck.close()
