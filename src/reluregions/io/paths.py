"""Checks of output paths, made before any work so a bad ``--out`` fails at once, not at the end.

Each check tries what the real write will do: it creates (and deletes) a hidden probe file in the
target folder, so a read-only folder, a missing folder or a folder given in place of a file is
reported in one line before a long run starts.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from ..errors import OutputPathError

__all__ = ["check_output_file", "check_output_folder"]


def _probe(folder: Path, what: str) -> None:
    """Create and delete a hidden file in ``folder``; raise :class:`OutputPathError` if refused."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".reluregions-probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{what}: cannot write in the folder {folder} ({exc.strerror or exc}); "
                              "choose a folder you can write to") from None


def check_output_file(path: str | Path, suffixes: Sequence[str] = (), *, kind: str = "",
                      hint: str = "") -> Path:
    """Check that ``path`` can be written as an output file, before any work is done.

    Parameters
    ----------
    path : str or Path
        The file to be written (it may exist; it is replaced only when the new one is complete).
    suffixes : sequence of str
        Accepted suffixes such as ``(".parquet",)``, compared case-insensitively; empty: any.
    kind : str
        What the file holds, for the message (``"Parquet"``).
    hint : str
        Appended to the message about a wrong suffix (how to get another format).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputPathError
        ``path`` is a folder, its folder is missing or not writable, or its suffix is not accepted.
    """
    path = Path(path)
    if path.is_dir():
        example = path / f"out{suffixes[0] if suffixes else ''}"
        raise OutputPathError(f"{path}: is a folder; give a file name, such as {example}")
    if suffixes and path.suffix.lower() not in {s.lower() for s in suffixes}:
        found = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise OutputPathError(f"{path}: has {found}, but this writes {kind or 'only'} "
                              f"{' / '.join(suffixes)} files; name it {path.stem}{suffixes[0]}"
                              + (f" ({hint})" if hint else ""))
    folder = path.parent
    if not folder.exists():
        raise OutputPathError(f"{path}: cannot write there, the folder {folder} does not exist; "
                              f"create it first (mkdir -p {folder})")
    if not folder.is_dir():
        raise OutputPathError(f"{path}: {folder} is not a folder")
    _probe(folder, str(path))
    return path


def check_output_folder(path: str | Path) -> Path:
    """Check that ``path`` is, or can be created as, a writable folder, before any work is done.

    Raises
    ------
    OutputPathError
        ``path`` is a file, or the folder (or its first existing parent) is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{path}: is a file, but a folder is expected here; give a folder name")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{path}: {existing} is a file, so the folder cannot be created")
    _probe(existing, str(path))
    return path
