"""Checkpoint and resume: a killed run resumes with nothing lost and nothing twice (DESIGN.md §3).

The contract
------------
A checkpoint folder holds ``state.pkl`` (the last *snapshot*) and numbered Parquet *shards*
``shard-000000.parquet, ...`` of finished regions. Every snapshot is consistent: the regions in
the shards it lists, plus the regions of the subtrees of the frontier it stores, are exactly the
regions of the run, and the two parts are disjoint. A checkpoint is the
:class:`~reluregions.schedulers.base.Journal` of a scheduler's run (``run(..., journal=...)``), and
schedulers keep it so:

* a scheduler calls :meth:`Checkpoint.record` with every finished block *before* it yields the
  block, and only at points where every result it has received is fully booked (regions
  recorded, leftover items queued);
* at such points it calls :meth:`Checkpoint.poll` with its frontier: the open queue *plus the
  inputs of every task in flight* (their results, when they arrive, go into the next shard) and its
  merged counters;
* a snapshot first closes the current shard, then replaces ``state.pkl``; both are written
  through :class:`~reluregions.io.atomic.AtomicFile` (a hidden temporary name, fsynced, renamed
  into place, the folder fsynced). Renames are atomic, so after a ``kill -9`` at any moment
  ``state.pkl`` is the old or the new snapshot, never a mix.

On resume, shards the snapshot does not list (written after it) and temporary files are deleted:
their regions come from frontier items that are expanded again. At the end, a final snapshot with
an empty frontier is taken, the shards are merged into the output file (temporary name, then
rename), the state is marked done and the shards are deleted; a kill in between repeats only the
merge. The state also records the network hash, the domain and the config: resuming with other
inputs raises :class:`CheckpointMismatchError` (a finished run's folder may be reused for any new
run without ``resume``). An open checkpoint holds an exclusive lock on its
folder (``flock``, released by the kernel when the process dies), so two runs never share one.

Running a whole enumeration under a checkpoint is :mod:`reluregions.enumeration.checkpointed`'s
job; this module is the durable store, and :mod:`reluregions.enumeration.checkpoint_state` what a
snapshot holds (the frontier packed by :func:`~reluregions.tree.pack_cells`, the format number:
a snapshot of another format is refused). Both belong to the enumeration API, which wraps any
scheduler with them; schedulers only see the journal of the run. Ctrl-C under
``run_with_checkpoint`` only sets a flag; the scheduler's next :meth:`poll` takes a final snapshot
and raises ``KeyboardInterrupt``, so the command line can say how to resume.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ReluRegionsError
from ..io.atomic import AtomicFile, stale_temporaries
from ..schedulers.base import Block, Restored
from ..tree import Cell, RegionBlock, Stats, pack_cells, unpack_cells
from .checkpoint_state import (STATE_NAME, CheckpointError, CheckpointMismatchError,
                               CheckpointNotFoundError, Snapshot, describe_mismatch, jsonable,
                               read_state, run_identity, write_state)

__all__ = ["Checkpoint", "CheckpointError", "CheckpointMismatchError", "CheckpointNotFoundError",
           "check_resumable", "run_identity", "STATE_NAME"]

_SHARD = "shard-{:06d}.parquet"


class Checkpoint:
    """A checkpoint folder: periodic frontier snapshots plus the finished regions in shards.

    Parameters
    ----------
    directory : str or Path
        The folder (created if missing).
    identity : dict
        What a resume must match (see :func:`run_identity`).
    every : float, default 30
        Seconds between snapshots.
    n_hidden : int
        Pattern length (for the shard files).
    metadata : dict, optional
        Key-value metadata of the region files (network hash, domain, config, version).
    extras : sequence of str
        Extra region columns (``"A", "c", "G", "h"``), as for
        :class:`~reluregions.io.parquet.ParquetRegionWriter`.
    store_regions : bool, default True
        Keep the regions in shards (for an output file); when False only their number is kept.
    """

    def __init__(self, directory: str | Path, identity: dict[str, Any], *, every: float = 30.0,
                 n_hidden: int = 0, metadata: dict[str, Any] | None = None,
                 extras: Sequence[str] = (), store_regions: bool = True) -> None:
        self.directory = Path(directory)
        self.identity = jsonable(identity)
        self.every = float(every)
        self.n_hidden = int(n_hidden)
        self.metadata = dict(metadata or {})
        self.extras = tuple(extras)
        self.store_regions = store_regions
        self.resumed = False
        self._state: Snapshot | None = None
        self._writer: Any = None
        self._shard_rows = 0
        self._pending = 0  # regions recorded since the last snapshot
        self._last = time.monotonic()
        self._stop = False
        self._lock_fd: int | None = None
        #: Counters this session spent before its scheduler started (computing the roots of a
        #: fresh run), added to every snapshot's.
        self.prelude = Stats()

    # ------------------------------------------------------------------ opening
    @property
    def state_path(self) -> Path:
        """The snapshot file."""
        return self.directory / STATE_NAME

    @property
    def done(self) -> bool:
        """Whether the checkpointed run finished (its output was written)."""
        return bool(self._state is not None and self._state.done)

    @property
    def regions(self) -> int:
        """Regions recorded so far, in this session and earlier ones."""
        return (self._state.regions if self._state else 0) + self._pending

    @property
    def snapshots(self) -> int:
        """Snapshots taken so far, in this session and earlier ones."""
        return self._state.snapshots if self._state is not None else 0

    @property
    def stats(self) -> Stats:
        """Counters of the last snapshot."""
        return self._state.stats if self._state is not None else Stats()

    def open(self, resume: bool = False) -> None:
        """Start a checkpointed run, or take up the one saved in the folder.

        Without ``resume``, a folder holding an unfinished run is refused; a finished one is
        started over, with any network, domain and options (the new run replaces it). With
        ``resume``, the folder's run must match (else :class:`CheckpointMismatchError`), and a
        folder without a snapshot starts afresh: nothing had been saved before the run stopped.
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"{self.directory}: cannot create the checkpoint folder "
                                  f"({exc.strerror or exc})") from None
        self._lock()
        try:
            self._take_up(resume)
        except BaseException:
            self.close()
            raise

    def _take_up(self, resume: bool) -> None:
        state = self._load()
        if state is not None and state.done and not resume:
            state = None  # a finished run is replaced by the new one, whatever its inputs
        if state is not None:
            if state.identity != self.identity:
                raise CheckpointMismatchError(
                    f"{self.directory}: this checkpoint belongs to a run with "
                    f"{describe_mismatch(state.identity, self.identity)}; resume with the same "
                    "network, domain and options, or use another folder")
            if not resume and not state.done:
                raise CheckpointError(f"{self.directory}: holds an unfinished run; resume it, or "
                                      "delete the folder to start over")
        if state is None:
            state = Snapshot(self.identity, self.metadata)
            self._state = state
            self._clean()
            self._write_state()
        else:
            self._state = state
            self.resumed = True
            self._clean()
        self._last = time.monotonic()

    def _lock(self) -> None:
        """Hold an exclusive lock on the folder while open (released when the process dies)."""
        if self._lock_fd is not None:
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX: no lock
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CheckpointError(f"{self.directory}: another run is using this checkpoint "
                                  "folder; wait for it to end or use another folder") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the folder (the shard being written, if any, is dropped)."""
        self.discard_open_shard()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load(self) -> Snapshot | None:
        return read_state(self.state_path)

    def _clean(self) -> None:
        """Delete shards the snapshot does not list, and every temporary file."""
        assert self._state is not None
        keep = {name for name, _ in self._state.shards}
        for path in self.directory.iterdir():
            name = path.name
            ours = (name.startswith("shard-") and name.endswith(".parquet")) or \
                (name.startswith((".shard-", f".{STATE_NAME}.")) and name.endswith(".partial"))
            if ours and name not in keep:
                path.unlink(missing_ok=True)

    def _need_state(self) -> Snapshot:
        if self._state is None:
            raise ReluRegionsError("the checkpoint is not open; call Checkpoint.open() first")
        return self._state

    # ------------------------------------------------------------------ scheduler interface
    def restore(self) -> Restored:
        """Where the scheduler starts: the saved frontier, or ``None`` for the roots."""
        state = self._need_state()
        stats = Stats()
        stats.merge(state.stats)
        # the cells wait in the scheduler's queue: copies, not views of the packed buffers
        frontier = unpack_cells(state.frontier, copy=True) if state.frontier is not None else None
        return Restored(frontier, stats, state.regions)

    def record(self, block: Block) -> None:
        """Book a block of finished regions (a scheduler calls this before yielding it); a
        :class:`~reluregions.regionblock.RegionCount` only when the regions are not stored."""
        self._need_state()
        if not self.store_regions:
            self._pending += len(block)
            return
        if not isinstance(block, RegionBlock):
            raise TypeError(f"a checkpoint that stores regions got {block!r}: run with count_only "
                            "only when the checkpoint keeps no output file")
        if len(block):
            if self._writer is None:
                self._open_shard()
            self._writer.write_chunk(block)
            self._shard_rows += len(block)
            self._pending += len(block)

    def poll(self, frontier: Callable[[], list[Cell]], stats: Stats) -> None:
        """Snapshot when due; after :meth:`request_stop`, snapshot and raise KeyboardInterrupt."""
        if self._stop:
            self.save(frontier(), stats)
            raise KeyboardInterrupt
        if time.monotonic() - self._last >= self.every:
            self.save(frontier(), stats)

    def request_stop(self) -> None:
        """Ask the run to stop at the next consistent point (what Ctrl-C does)."""
        self._stop = True

    def save(self, frontier: list[Cell], stats: Stats) -> None:
        """Take a snapshot now: close the current shard, then replace the state atomically."""
        state = self._need_state()
        shards = list(state.shards)
        if self._writer is not None:
            name = self._close_shard()
            if name is not None:
                shards.append((name, self._shard_rows))
            self._shard_rows = 0
        saved = Stats()
        saved.merge(stats)
        saved.merge(self.prelude)
        new = Snapshot(state.identity, state.metadata, pack_cells(list(frontier)), shards,
                     state.regions + self._pending, saved, False, state.snapshots + 1)
        self._state = new
        self._pending = 0
        self._write_state()
        self._last = time.monotonic()

    def _open_shard(self) -> None:
        from ..io.parquet import ParquetRegionWriter

        state = self._need_state()
        index = int(state.shards[-1][0][6:12]) + 1 if state.shards else 0
        path = self.directory / _SHARD.format(index)
        self._writer = ParquetRegionWriter(path, self.n_hidden, self.metadata, extras=self.extras)
        self._shard_rows = 0

    def _close_shard(self) -> str | None:
        writer, self._writer = self._writer, None
        if self._shard_rows == 0:
            writer.abort()
            return None
        writer.close()  # on disk: the writer commits through io.atomic
        return writer.path.name

    def discard_open_shard(self) -> None:
        """Drop the shard being written (after an error): its regions are not in any snapshot."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.abort()
        self._shard_rows = 0
        self._pending = 0

    def _write_state(self) -> None:
        state = self._need_state()
        write_state(self.state_path, state)

    # ------------------------------------------------------------------ the end
    def merge(self, out_path: str | Path) -> int:
        """Write every shard of the last snapshot into ``out_path`` (atomically); the row count."""
        import pyarrow as pa

        from ..io.parquet import checked_batches, open_parquet, parquet_writer, region_schema

        state = self._need_state()
        out = Path(out_path)
        for stale in stale_temporaries(out):
            stale.unlink(missing_ok=True)
        schema = region_schema(self.n_hidden, self.extras, self.metadata)
        rows = 0
        with AtomicFile(out) as target:
            with parquet_writer(target.tmp, schema) as writer:
                buffer: list[Any] = []
                buffered = 0
                for name, _ in state.shards:
                    shard = self.directory / name
                    for batch in checked_batches(open_parquet(shard), shard, batch_size=65536):
                        buffer.append(batch)
                        buffered += batch.num_rows
                        if buffered >= 65536:
                            writer.write_table(pa.Table.from_batches(buffer).cast(schema))
                            rows += buffered
                            buffer, buffered = [], 0
                if buffer:
                    writer.write_table(pa.Table.from_batches(buffer).cast(schema))
                    rows += buffered
                if rows == 0:
                    writer.write_table(schema.empty_table())
        return rows

    def complete(self) -> None:
        """Mark the run done and delete the shards (after the output was written)."""
        state = self._need_state()
        state.done = True
        shards, state.shards = state.shards, []
        state.frontier = pack_cells([])
        self._write_state()
        for name, _ in shards:
            (self.directory / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- entry points
def check_resumable(checkpoint_dir: str | Path) -> None:
    """Check that ``checkpoint_dir`` holds a run to resume, before any work.

    Whether the run matches (network hash, domain, config) is checked when it is opened.

    Raises
    ------
    CheckpointNotFoundError
        The folder is missing or holds no checkpoint (a mistyped name).
    CheckpointError
        The checkpoint is damaged or from another version.
    """
    folder = Path(checkpoint_dir)
    afresh = "start afresh with --checkpoint instead of --resume (Python: resume=False)"
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "no such folder"
        raise CheckpointNotFoundError(f"{folder}: {what}, so there is no run to resume; check the "
                                      f"name, or {afresh}")
    state = Checkpoint(folder, {})._load()
    if state is None:
        raise CheckpointNotFoundError(f"{folder}: holds no checkpoint ({STATE_NAME} is missing), so "
                                      f"there is no run to resume; check the name, or {afresh}")
