"""What a checkpoint's ``state.pkl`` holds, and how it is written and read (DESIGN.md §3).

A snapshot (:class:`Snapshot`) records the run's identity (:func:`run_identity`: what a resume
must match), the region files' metadata, the open frontier packed by
:func:`~reluregions.tree.pack_cells`, the shards written so far, the counters, and the layout's
:data:`FORMAT`. A snapshot of another format is refused with a :class:`CheckpointError` that
names both formats (exit status 2 on the command line). :class:`~.checkpoint.Checkpoint`, the
durable store, keeps the snapshots.
"""
from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import InputError
from ..io.atomic import AtomicFile
from ..tree import Problem, Stats

if TYPE_CHECKING:  # pragma: no cover
    from ..domains import Domain

__all__ = ["CheckpointError", "CheckpointMismatchError", "CheckpointNotFoundError", "FORMAT",
           "STATE_NAME", "Snapshot", "describe_mismatch", "jsonable", "read_state",
           "run_identity", "write_state"]

#: The layout of ``state.pkl``: 1, the frontier as pickled cells (before cells held their
#: algorithm's state as a typed payload); 2, the frontier packed by
#: :func:`~reluregions.tree.pack_cells`.
FORMAT = 2
STATE_NAME = "state.pkl"


class CheckpointError(InputError):
    """The checkpoint folder cannot be used (damaged, or holds an unfinished run)."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint was made for another network, domain or config."""


class CheckpointNotFoundError(CheckpointError):
    """Resuming was asked for, but the folder is missing or holds no checkpoint."""


@dataclass
class Snapshot:
    """The content of ``state.pkl``: a consistent point of a checkpointed run."""

    identity: dict[str, Any]
    metadata: dict[str, Any]
    frontier: tuple | None = None  # pack_cells of the open cells (None: the run starts at roots)
    shards: list[tuple[str, int]] = field(default_factory=list)
    regions: int = 0
    stats: Stats = field(default_factory=Stats)
    done: bool = False
    snapshots: int = 0
    format: int = FORMAT


class _FormerCell:
    """A cell of a format-1 snapshot, read only so that the file's format can be reported."""

    def __setstate__(self, state: Any) -> None:
        pass


class _StateUnpickler(pickle.Unpickler):
    """Reads ``state.pkl``. Format 1 pickled the cells themselves, whose fields have changed since
    (format 2 packs them into arrays), and named the snapshot class ``checkpoint._State``: its
    cells load as :class:`_FormerCell` and its snapshot as :class:`Snapshot`, so that an old file
    is refused for its format rather than as unreadable."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("reluregions.tree", "Cell"):
            return _FormerCell
        if (module, name) == ("reluregions.enumeration.checkpoint", "_State"):
            return Snapshot
        return super().find_class(module, name)


def read_state(path: Path) -> Snapshot | None:
    """The snapshot in ``path``, or ``None`` when there is none.

    Raises
    ------
    CheckpointError
        The file is damaged, or was written in another :data:`FORMAT`.
    """
    try:
        with open(path, "rb") as fh:
            state = _StateUnpickler(fh).load()
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc}); delete the folder to "
                              "start over") from None
    found = getattr(state, "format", None) if isinstance(state, Snapshot) else None
    if found != FORMAT:
        raise CheckpointError(f"{path}: written by another version of reluregions (checkpoint "
                              f"format {'unknown' if found is None else found}, this version reads "
                              f"format {FORMAT}), so it cannot be resumed; delete the folder to "
                              "start over")
    return state


def write_state(path: Path, state: Snapshot) -> None:
    """Replace ``path`` with ``state`` atomically (:class:`~reluregions.io.atomic.AtomicFile`)."""
    with AtomicFile(path) as target, open(target.tmp, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)


def jsonable(value: Any) -> Any:
    """``value`` as JSON gives it back (the form in which identities are compared)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def run_identity(problem: Problem, domain: "Domain | None" = None, extras: Sequence[str] = (),
                 store_regions: bool = True) -> dict[str, Any]:
    """What must match for a checkpoint to be resumed: network hash, domain, config, output."""
    p = problem.param
    digest = hashlib.sha256()
    for array in (p.x0, p.U, p.G, p.h):
        digest.update(repr(np.shape(array)).encode())
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return jsonable({
        "network_sha256": problem.network.sha256,
        "domain": domain.to_dict() if domain is not None else None,
        "domain_sha256": digest.hexdigest(),
        "config": problem.config.to_dict(),
        "output": {"regions": bool(store_regions), "extras": list(extras)},
    })


def describe_mismatch(saved: dict[str, Any], wanted: dict[str, Any]) -> str:
    """The first difference between a saved identity and the wanted one, in words."""
    if saved.get("network_sha256") != wanted.get("network_sha256"):
        return (f"a different network (sha256 {str(saved.get('network_sha256'))[:12]}..., this one "
                f"{str(wanted.get('network_sha256'))[:12]}...)")
    if saved.get("domain_sha256") != wanted.get("domain_sha256"):
        return f"a different domain ({saved.get('domain')}, this one {wanted.get('domain')})"
    old, new = saved.get("config", {}), wanted.get("config", {})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            return f"a different config ({key} = {old.get(key)!r} there, {new.get(key)!r} here)"
    return f"a different output ({saved.get('output')}, this one {wanted.get('output')})"
