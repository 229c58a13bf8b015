"""Atomic file writes: the one way this package replaces a file (DESIGN.md §3, checkpoints; §4, files).

A file is written under a hidden temporary name in the target's folder
(``.NAME.PID.partial``, so a rename never crosses file systems), flushed to disk (``fsync``) and
renamed over the target, whose folder is then flushed too. Renames are atomic: after a crash or a
``kill -9`` at any moment the target is the old file or the new one, never a mix. On every exit
path that raises (an error, Ctrl-C, SIGTERM turned into an exception) the temporary file is
deleted and the target left as it was.

The Parquet region writer (:class:`~reluregions.io.parquet.ParquetRegionWriter`, so also every
checkpoint shard), the checkpoint's state file and merged output
(:class:`~reluregions.enumeration.checkpoint.Checkpoint`) and the region details
(:func:`~reluregions.analysis.region_details`) all write through :class:`AtomicFile`.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

__all__ = ["AtomicFile", "fsync_path", "stale_temporaries"]

_SUFFIX = ".partial"


def fsync_path(path: str | Path, directory: bool = False) -> None:
    """Flush a file (or, with ``directory``, a folder's entries) to disk; silent where refused.

    Some file systems refuse ``fsync`` on folders, and a missing path has nothing to flush.
    """
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stale_temporaries(path: str | Path) -> list[Path]:
    """Temporary files of earlier writes of ``path`` (by any process) left behind by a crash."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*{_SUFFIX}"))


class AtomicFile:
    """A file written under a temporary name beside ``path``, then renamed over it.

    Write to :attr:`tmp` (any writer that takes a path: ``open``, ``pyarrow.parquet.ParquetWriter``),
    close that writer, then call :meth:`commit`; or :meth:`abort` to drop the temporary file. As
    a context manager it commits on normal exit and aborts on an exception.

    Parameters
    ----------
    path : str or Path
        The target file. Its folder must exist; nothing is created before the first write.

    Examples
    --------
    >>> with AtomicFile(target) as f, open(f.tmp, "wb") as fh:  # doctest: +SKIP
    ...     fh.write(data)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        #: The temporary file to write (hidden, in the target's folder, unique per process).
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}{_SUFFIX}")

    def commit(self) -> None:
        """Flush the temporary file to disk and rename it over :attr:`path` (its folder flushed too).

        Raises
        ------
        OSError
            The rename failed (the temporary file is deleted first).
        """
        try:
            fsync_path(self.tmp)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        fsync_path(self.path.parent, directory=True)

    def abort(self) -> None:
        """Delete the temporary file, leaving :attr:`path` as it was."""
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
