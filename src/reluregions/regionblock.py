"""Finished regions as one columnar block: the region type of every stage (DESIGN.md §1, §4).

A :class:`RegionBlock` holds ``n`` regions as columns: the activation patterns (``bits``, or the
same ``packed`` to bytes as stored in files), interior ``points`` in input coordinates, the same
points as ``centers`` in parameter coordinates when known, ``radii``, ``ranks`` and, in the whole
space, the ``bounded`` flags; when asked for, the output maps ``A, c`` and irredundant
H-representations ``G, h`` are stored flat with row offsets (CSR-like, as Arrow list columns are).
Algorithms return blocks, schedulers pass them on, the Parquet writer and reader convert them to
and from Arrow (:mod:`reluregions.regionblock_arrow`), analysis reads a file as blocks tagged with
their first row's index (``start``), :mod:`reluregions.testing` compares blocks. A count-only run
moves :class:`RegionCount` objects instead, which hold only a number of regions. Iterating over a
block yields :class:`RegionRow` views of its rows, for code that wants one region at a time.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple, Sequence, Union

import numpy as np

__all__ = ["RegionBlock", "RegionCount", "RegionRow", "Block", "LIST_COLUMNS", "pack_bits",
           "unpack_bits"]

#: Optional per-region list columns, in file order: output map ``A, c``, H-representation ``G, h``.
LIST_COLUMNS = ("A", "c", "G", "h")
#: Which column gives the row count of each matrix column (``A`` has ``len(c)`` rows).
_ROWS_OF = {"A": "c", "G": "h"}


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a (n, n_hidden) bool matrix into bytes, ``numpy.packbits(..., bitorder="little")``."""
    return np.packbits(np.asarray(bits, dtype=bool), axis=-1, bitorder="little")


def unpack_bits(packed: np.ndarray, n_hidden: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=n_hidden,
                         bitorder="little").astype(bool)


class RegionRow(NamedTuple):
    """One row of a :class:`RegionBlock`, read only: what iterating over a block (or
    :func:`~reluregions.iter_regions`) yields. Regions are built, moved and stored as blocks;
    a row is a view for code that wants one region at a time.

    Attributes
    ----------
    bits : ndarray of bool
        The activation pattern over all hidden neurons, layer by layer.
    point : ndarray
        An interior point in input coordinates.
    center : ndarray or None
        The same point in the domain's parameter coordinates (None when unknown: read from a file).
    radius : float
        Radius of a ball around ``center`` inside the region (parameter coordinates).
    ranks : tuple of int
        Rank of the map from the domain to each hidden layer on this region.
    A, c : ndarray or None
        The network's output map on the region, ``f(x) = A x + c`` (when kept).
    G, h : ndarray or None
        Irredundant H-representation in parameter coordinates (when kept).
    bounded : bool
        Whether the region is bounded: always in a bounded domain; in the whole space
        (:class:`~reluregions.domains.WholeSpace`) only when its recession cone is ``{0}``.
    """

    bits: np.ndarray
    point: np.ndarray
    center: np.ndarray | None
    radius: float
    ranks: tuple[int, ...]
    A: np.ndarray | None = None
    c: np.ndarray | None = None
    G: np.ndarray | None = None
    h: np.ndarray | None = None
    bounded: bool = True


class RegionCount:
    """``n`` finished regions of a count-only run, without any of their columns.

    What an expansion and a scheduler's run give in place of a :class:`RegionBlock` when only
    the number of regions is wanted: ``len`` is all it holds (parallel workers keep their
    regions, only counts travel), and nothing can mistake it for regions.
    """

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"RegionCount({self.n})"


def _ragged(parts: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row arrays as (flat float64 values, int64 offsets of length n + 1); None is empty."""
    flat = [np.ravel(p).astype(np.float64) if p is not None else np.empty(0) for p in parts]
    offsets = np.zeros(len(flat) + 1, dtype=np.int64)
    np.cumsum([len(f) for f in flat], out=offsets[1:])
    return (np.concatenate(flat) if flat else np.empty(0)), offsets


def _take_ragged(values: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> tuple:
    """The rows ``index`` of a ragged column."""
    starts, ends = offsets[:-1][index], offsets[1:][index]
    lengths = ends - starts
    out = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    if not out[-1]:
        return np.empty(0), out
    within = np.arange(out[-1]) - np.repeat(out[:-1], lengths)
    return values[np.repeat(starts, lengths) + within], out


def _concat_ragged(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    values = np.concatenate([v for v, _ in parts])
    shifts = np.cumsum([0] + [int(o[-1]) for _, o in parts[:-1]])
    offsets = np.concatenate([[0]] + [o[1:] + s for (_, o), s in zip(parts, shifts)])
    return values, offsets.astype(np.int64)


class RegionBlock:
    """Finished regions as columns, one row per region.

    Parameters
    ----------
    bits : ndarray of bool, shape (n, n_hidden)
        Activation patterns (see :meth:`from_packed` for patterns packed to bytes).
    points : ndarray, shape (n, d)
        Interior points in input coordinates.
    centers : ndarray, shape (n, k), or None
        The same points in the domain's parameter coordinates (None when unknown).
    radii : ndarray, shape (n,)
        Radius of a ball inside each region (parameter coordinates, DESIGN.md §1).
    ranks : ndarray of int, shape (n, L), or None
        Rank of the map to each hidden layer (-1: not recorded; None: no rank column).
    bounded : ndarray of bool, shape (n,), or None
        Whether each region is bounded; None when all are (any bounded domain).
    lists : dict, optional
        Optional columns among ``A, c, G, h``, each ``(values, offsets)``: row ``i`` is
        ``values[offsets[i]:offsets[i + 1]]`` (``A`` and ``G`` row-major, with ``len(c)`` and
        ``len(h)`` rows).
    start : int, default 0
        Index of the first row in the file the block was read from.

    Other attributes: ``stats`` and ``seconds`` describe the run that produced the block (for
    :func:`~reluregions.enumerate_regions`), ``extra`` holds its certificate or file metadata.
    Blocks pickle with their patterns packed 8 per byte; iterating yields :class:`RegionRow` views.
    """

    __slots__ = ("_bits", "_packed", "n_hidden", "points", "centers", "radii", "ranks", "bounded",
                 "lists", "start", "stats", "seconds", "extra")

    def __init__(self, bits: np.ndarray, points: np.ndarray, centers: np.ndarray | None,
                 radii: np.ndarray, ranks: np.ndarray | None, *, bounded: np.ndarray | None = None,
                 lists: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                 start: int = 0) -> None:
        self._bits, self._packed = bits, None
        self.n_hidden = int(bits.shape[1]) if bits.ndim == 2 else 0
        self.points, self.centers, self.radii, self.ranks = points, centers, radii, ranks
        self.bounded, self.lists, self.start = bounded, lists or {}, start
        self.stats: Any = None
        self.seconds = 0.0
        self.extra: dict = {}

    @classmethod
    def from_packed(cls, packed: np.ndarray, n_hidden: int, points: np.ndarray,
                    radii: np.ndarray, ranks: np.ndarray | None, **columns: Any) -> "RegionBlock":
        """A block whose patterns are given packed to bytes (unpacked only when ``bits`` is read)."""
        block = cls(np.zeros((0, n_hidden), bool), points, columns.pop("centers", None), radii,
                    ranks, **columns)
        block._bits, block._packed = None, packed
        return block

    # ------------------------------------------------------------------ columns
    @property
    def bits(self) -> np.ndarray:
        """Patterns as a (n, n_hidden) bool matrix."""
        if self._bits is None:
            self._bits = unpack_bits(self._packed, self.n_hidden)
        return self._bits

    @property
    def packed(self) -> np.ndarray:
        """Patterns packed to bytes (at least one per row), as stored in Parquet files."""
        if self._packed is None:
            packed = pack_bits(self._bits)
            if packed.shape[1] == 0:
                packed = np.zeros((len(packed), 1), np.uint8)
            self._packed = np.ascontiguousarray(packed)
        return self._packed

    @property
    def rows(self) -> np.ndarray:
        """Row indices of this block in the file it was read from."""
        return np.arange(self.start, self.start + len(self), dtype=np.int64)

    def bounded_flags(self) -> np.ndarray:
        """Whether each region is bounded (all True unless the domain is the whole space)."""
        if self.bounded is None:
            return np.ones(len(self), dtype=bool)
        return np.asarray(self.bounded, dtype=bool)

    def column(self, name: str, i: int) -> np.ndarray:
        """Row ``i`` of list column ``name`` (``A`` and ``G`` as matrices)."""
        values, offsets = self.lists[name]
        row = values[offsets[i]:offsets[i + 1]]
        if name in _ROWS_OF and _ROWS_OF[name] in self.lists:
            _, other = self.lists[_ROWS_OF[name]]
            row = row.reshape(int(other[i + 1] - other[i]), -1)
        return row

    def matrix(self, name: str) -> np.ndarray:
        """List column ``name`` as an (n, width) matrix (every row of one length, as ``A``, ``c``)."""
        values, offsets = self.lists[name]
        n = len(self)
        if n and np.any(np.diff(offsets) != offsets[1] - offsets[0]):
            raise ValueError(f"column {name!r} has rows of different lengths")
        return values[offsets[0]:offsets[-1]].reshape(n, -1 if n else 0)

    @property
    def maps(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """The output maps ``(A, c)`` of each region, when the block holds them."""
        if "A" not in self.lists or "c" not in self.lists:
            return None
        return [(self.column("A", i), self.column("c", i)) for i in range(len(self))]

    def pattern_keys(self) -> list[bytes]:
        """Each pattern as a ``bytes`` key (packed), usable in sets and dicts."""
        return [row.tobytes() for row in self.packed]

    # ------------------------------------------------------------------ rows
    def __len__(self) -> int:
        return int(self.radii.shape[0])

    def __getitem__(self, index: Any) -> "RegionRow | RegionBlock":
        if isinstance(index, (int, np.integer)):
            return self.row(int(index))
        return self.take(np.arange(len(self))[index])

    def take(self, index: np.ndarray) -> "RegionBlock":
        """The rows ``index`` (an integer array) as a new block (``start`` kept when contiguous)."""
        index = np.asarray(index, dtype=np.int64)
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        lists = {k: _take_ragged(v, o, index) for k, (v, o) in self.lists.items()}
        block = RegionBlock(np.zeros((0, self.n_hidden), bool), self.points[index],
                            pick(self.centers), self.radii[index], pick(self.ranks),
                            bounded=pick(self.bounded), lists=lists,
                            start=self.start + (int(index[0]) if len(index) else 0))
        block._bits, block._packed = pick(self._bits), pick(self._packed)
        block.stats, block.seconds, block.extra = self.stats, self.seconds, dict(self.extra)
        return block

    def sorted(self) -> "RegionBlock":
        """A copy in canonical order (lexicographic in the packed pattern bytes)."""
        keys = self.pattern_keys()
        return self.take(np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64))

    def row(self, i: int) -> RegionRow:
        """Row ``i`` as a :class:`RegionRow`."""
        ranks = () if self.ranks is None else tuple(self.ranks[i].tolist())
        return self._row(i, self.bits, self.centers, float(self.radii[i]), ranks,
                         True if self.bounded is None else bool(self.bounded[i]))

    def _row(self, i: int, bits: np.ndarray, centers: np.ndarray | None, radius: float,
             ranks: tuple, bounded: bool) -> RegionRow:
        lists = {name: self.column(name, i) for name in self.lists}
        return RegionRow(bits[i], self.points[i], None if centers is None else centers[i], radius,
                         ranks, bounded=bounded, **lists)

    def __iter__(self) -> Iterator[RegionRow]:
        bits, centers = self.bits, self.centers
        radii = self.radii.tolist()
        ranks = [()] * len(radii) if self.ranks is None else [tuple(r) for r in self.ranks.tolist()]
        bounded = self.bounded_flags().tolist()
        for i, radius in enumerate(radii):
            yield self._row(i, bits, centers, radius, ranks[i], bounded[i])

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls, n_hidden: int = 0, input_dim: int = 0, n_layers: int = 0) -> "RegionBlock":
        """A block of no regions (of the given widths)."""
        return cls(np.zeros((0, n_hidden), bool), np.zeros((0, input_dim)), None, np.zeros(0),
                   np.zeros((0, n_layers), np.int64))

    @classmethod
    def build(cls, bits: np.ndarray, points: np.ndarray, centers: np.ndarray | None,
              radii: np.ndarray, ranks: np.ndarray | None, *, bounded: np.ndarray | None = None,
              **lists: "Sequence[np.ndarray | None] | None") -> "RegionBlock":
        """A block whose optional ``A, c, G, h`` are given per row (a sequence of arrays, one per
        region, each stored flat; ``None`` for a column the regions do not carry)."""
        unknown = set(lists) - set(LIST_COLUMNS)
        if unknown:
            raise ValueError(f"no region column {sorted(unknown)[0]!r}")
        return cls(bits, points, centers, radii, ranks, bounded=bounded,
                   lists={name: _ragged(rows) for name, rows in lists.items() if rows is not None})

    @classmethod
    def concat(cls, parts: "Iterable[RegionBlock]") -> "RegionBlock":
        """One block from several (in order; ``start`` of the first); empty ones are skipped."""
        blocks = [b for b in parts if len(b)]
        if not blocks:
            return cls.empty()
        if len(blocks) == 1:
            return blocks[0]
        cat = lambda f: np.concatenate([getattr(b, f) for b in blocks])  # noqa: E731
        packed = all(b._bits is None for b in blocks)
        some = lambda f: all(getattr(b, f) is not None for b in blocks)  # noqa: E731
        names = [k for k in LIST_COLUMNS if any(k in b.lists for b in blocks)]
        missing = [k for k in names if not all(k in b.lists for b in blocks)]
        if missing:
            raise ValueError(f"cannot join blocks with and without column {missing[0]!r}")
        bounded = None
        if any(b.bounded is not None for b in blocks):
            bounded = np.concatenate([b.bounded_flags() for b in blocks])
        block = cls(np.zeros((0, blocks[0].n_hidden), bool) if packed else cat("bits"),
                    cat("points"), cat("centers") if some("centers") else None, cat("radii"),
                    cat("ranks") if some("ranks") else None, bounded=bounded,
                    lists={k: _concat_ragged([b.lists[k] for b in blocks]) for k in names},
                    start=blocks[0].start)
        if packed:
            block._bits, block._packed = None, cat("packed")
        return block

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> tuple:
        # patterns travel packed (8 per byte): they are most of a block's bytes between processes
        return (self.packed,) + tuple(getattr(self, k) for k in self.__slots__[2:])

    def __setstate__(self, state: tuple) -> None:
        self._bits, self._packed = None, state[0]
        for key, value in zip(self.__slots__[2:], state[1:]):
            setattr(self, key, value)


#: What an expansion or a scheduler gives: regions as a block, or only their number when counting.
Block = Union[RegionBlock, RegionCount]
