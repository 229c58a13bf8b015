"""Reading region files batch by batch, with their metadata, domain and network check.

Every analysis works from a Parquet region file (DESIGN.md §4) without loading it whole: a
:class:`RegionFile` knows the file's metadata (network hash, widths, domain, config) and yields
:class:`~reluregions.regionblock.RegionBlock` objects of at most ``batch_size`` rows, in file
order, each tagged with the index of its first row (``start``) so that offending rows can be named.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..config import EnumerationConfig
from ..domains import AffineSlice, Box, Domain, HPolytope, Parametrization, WholeSpace
from ..errors import DomainError, InputError, NetworkFileError, ShapeMismatchError
from ..io.parquet import checked_batches, open_parquet, read_metadata
from ..network import Network
from ..regionblock import RegionBlock
from ..regionblock_arrow import from_arrow

__all__ = ["RegionFile", "RegionBatch", "domain_from_dict", "layer_offsets"]

#: Tolerances of a run whose file does not record its config.
_DEFAULTS = EnumerationConfig()


def domain_from_dict(spec: dict[str, Any]) -> Domain:
    """Rebuild a :class:`~reluregions.domains.Domain` from its ``to_dict()`` description."""
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "box":
        return Box(spec["lo"], spec["hi"])
    if kind == "hpolytope":
        return HPolytope(spec["G"], spec["h"])
    if kind == "affine_slice":
        return AffineSlice(spec["x0"], spec["U"], domain_from_dict(spec["inner"]))
    if kind == "whole_space":
        return WholeSpace(spec["dim"])
    raise DomainError(f"unknown domain description {str(spec)[:60]!r}; expected type box, "
                      "hpolytope, affine_slice or whole_space")


def layer_offsets(widths: Sequence[int]) -> np.ndarray:
    """First pattern bit of each hidden layer, and the total at the end."""
    return np.concatenate([[0], np.cumsum(np.asarray(widths, dtype=np.int64))]).astype(np.int64)


#: What :meth:`RegionFile.batches` yields: region blocks whose ``start`` is their first row's index.
RegionBatch = RegionBlock


class RegionFile:
    """A region file opened for batch-wise analysis.

    Parameters
    ----------
    path : str or Path
        A Parquet file written by ``reluregions enumerate`` or
        :class:`~reluregions.io.parquet.ParquetRegionWriter`.

    Raises
    ------
    NetworkFileError
        When the file is missing, not Parquet, or not a region file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.meta: dict[str, Any] = read_metadata(self.path)
        self._pq = open_parquet(self.path)
        self.columns: tuple[str, ...] = tuple(self._pq.schema_arrow.names)
        for name in ("pattern", "point", "radius"):
            if name not in self.columns:
                raise NetworkFileError(f"{self.path}: region file has no '{name}' column")
        try:
            self.input_dim = int(self.meta["input_dim"])
            self.hidden_widths = tuple(int(w) for w in self.meta["hidden_widths"])
        except (KeyError, TypeError, ValueError):
            raise NetworkFileError(f"{self.path}: metadata lacks input_dim/hidden_widths") from None
        self.n_hidden = int(sum(self.hidden_widths))
        self.n_layers = len(self.hidden_widths)
        self.offsets = layer_offsets(self.hidden_widths)
        self.n_bytes = max((self.n_hidden + 7) // 8, 1)
        self.n_rows = int(self._pq.metadata.num_rows)
        self._domain: Domain | None = None
        self._param: Parametrization | None = None

    # ------------------------------------------------------------------ metadata
    @property
    def config(self) -> dict[str, Any]:
        """The enumeration config the file was written with (may be empty)."""
        return dict(self.meta.get("config") or {})

    @property
    def radius_tol(self) -> float:
        """The full-dimensionality tolerance of the run (parameter coordinates); the
        :class:`~reluregions.config.EnumerationConfig` default when the file does not record it."""
        return float(self.config.get("radius_tol", _DEFAULTS.radius_tol))

    @property
    def zero_tol(self) -> float:
        """The identically-zero-neuron tolerance of the run (the config default if not recorded)."""
        return float(self.config.get("zero_tol", _DEFAULTS.zero_tol))

    @property
    def domain(self) -> Domain:
        """The domain the regions were enumerated in."""
        if self._domain is None:
            if "domain" not in self.meta:
                raise NetworkFileError(f"{self.path}: metadata records no domain")
            self._domain = domain_from_dict(self.meta["domain"])
        return self._domain

    @property
    def param(self) -> Parametrization:
        """The domain's normalised parametrisation ``x = x0 + U t``."""
        if self._param is None:
            self._param = self.domain.parametrize()
        return self._param

    def check_network(self, network: Network, name: str = "the network") -> None:
        """Raise :class:`InputError` unless ``network`` is the one the file was written for."""
        want = self.meta.get("network_sha256")
        if want is not None and want != network.sha256:
            raise InputError(f"{self.path} was enumerated for network {str(want)[:12]}... but {name} "
                             f"hashes to {network.sha256[:12]}...; give the network the file was "
                             "written with")
        if network.input_dim != self.input_dim or network.hidden_widths != self.hidden_widths:
            raise ShapeMismatchError(f"{self.path} holds regions of a {self.input_dim}-input net with "
                                     f"hidden widths {list(self.hidden_widths)}, but {name} is "
                                     f"{network!r}")

    # ------------------------------------------------------------------ rows
    def batches(self, batch_size: int = 65536, extras: Sequence[str] = (),
                rows: tuple[int, int] | None = None) -> Iterator[RegionBlock]:
        """Yield the file's rows in order, ``batch_size`` at a time (bounded memory); only rows
        ``start <= row < stop`` with ``rows = (start, stop)``."""
        if rows is not None:
            lo, hi = rows
            for block in self.batches(batch_size, extras):
                if block.start >= hi:
                    return
                take = np.arange(max(lo - block.start, 0), min(hi - block.start, len(block)))
                if take.size:
                    yield block.take(take)
            return
        missing = [e for e in extras if e not in self.columns]
        if missing:
            raise InputError(f"{self.path} has no column {', '.join(missing)}; enumerate with "
                             "--maps / --hrep to store them")
        wanted = ["pattern", "point", "radius"] + (["rank"] if "rank" in self.columns else [])
        wanted += list(extras)
        if "bounded" in self.columns:
            wanted.append("bounded")
        start = 0
        for rb in checked_batches(self._pq, self.path, batch_size=batch_size, columns=wanted):
            yield from_arrow(rb, self.n_hidden, self.input_dim, self.n_layers, start=start,
                             source=str(self.path))
            start += rb.num_rows

    def to_param(self, points: np.ndarray) -> np.ndarray:
        """Input points (n, d) to the domain's parameter coordinates ``t`` (n, k)."""
        p = self.param
        if p.dim == 0:
            return np.zeros((len(points), 0))
        diff = np.asarray(points, float) - p.x0
        rows = np.flatnonzero((p.U != 0).any(axis=1))
        if rows.size == p.dim and np.count_nonzero(p.U) == p.dim:  # a box: each t_i scales one x_j
            where = np.argmax(p.U[rows] != 0, axis=1)
            t = np.empty((len(diff), p.dim))
            t[:, where] = diff[:, rows] / p.U[rows, where]
            return t
        t, *_ = np.linalg.lstsq(p.U, diff.T, rcond=None)
        return t.T
