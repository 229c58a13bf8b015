"""Streaming Parquet output of regions (DESIGN.md §4), never holding all regions in memory.

One row per region: ``pattern`` (fixed-size binary, ``numpy.packbits(bits, bitorder="little")``),
``point`` (list of float64, input coordinates), ``radius`` (float64, parameter coordinates) and
``rank`` (list of int32, one per hidden layer); optionally ``A``/``c`` (the output map, row-major)
and ``G``/``h`` (an irredundant H-representation). A file of the whole input space (domain type
``whole_space``, issue 15) also has ``bounded`` (bool): whether the region is bounded. The file's key-value metadata ``reluregions``
holds JSON with the network hash, the domain, the config and the package version.

Files are written through :class:`~reluregions.io.atomic.AtomicFile`: to a temporary name beside
the target, flushed to disk and renamed only when complete, so an existing file is never replaced by
a half-written one; the temporary file is deleted on every exit path that raises (an error, Ctrl-C,
or SIGTERM turned into an exception).

Every data page carries a CRC-32 checksum, and every reader here verifies it: a damaged file is a
:class:`~reluregions.errors.CorruptFileError`, never read as valid data.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import CorruptFileError, MissingDependencyError, NetworkFileError, OutputPathError
from .atomic import AtomicFile
from ..regionblock import RegionBlock
from ..regionblock_arrow import from_arrow, to_arrow

__all__ = ["ParquetRegionWriter", "read_regions", "read_metadata", "iter_region_batches",
           "region_schema", "open_parquet", "checked_batches", "parquet_writer", "METADATA_KEY"]

METADATA_KEY = b"reluregions"


def _pa():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a hard dependency
        raise MissingDependencyError("pyarrow is missing; run: pip install pyarrow") from exc
    return pa, pq


def region_schema(n_hidden: int, extras: Iterable[str] = (), metadata: dict | None = None):
    """The Arrow schema of a region file with ``n_hidden`` pattern bits."""
    pa, _ = _pa()
    fields = [
        pa.field("pattern", pa.binary(max((n_hidden + 7) // 8, 1))),
        pa.field("point", pa.list_(pa.float64())),
        pa.field("radius", pa.float64()),
        pa.field("rank", pa.list_(pa.int32())),
    ]
    for name in extras:
        fields.append(pa.field(name, pa.list_(pa.float64())))
    if _whole_space(metadata):
        fields.append(pa.field("bounded", pa.bool_()))
    meta = {METADATA_KEY: json.dumps(metadata or {}).encode()}
    return pa.schema(fields, metadata=meta)


def _whole_space(metadata: dict | None) -> bool:
    """Whether a file's metadata names the whole input space as its domain."""
    domain = (metadata or {}).get("domain")
    return isinstance(domain, dict) and domain.get("type") == "whole_space"


def parquet_writer(path: str | Path, schema: Any) -> Any:
    """A ``pyarrow.parquet.ParquetWriter`` with this package's options: zstd and page checksums."""
    _, pq = _pa()
    return pq.ParquetWriter(str(path), schema, compression="zstd", write_page_checksum=True)


class ParquetRegionWriter:
    """Append regions to a Parquet file in row groups of ``batch_size`` rows.

    Use as a context manager: on normal exit the file is renamed into place; on an exception the
    temporary file is removed and any earlier file at ``path`` is left untouched.
    """

    def __init__(self, path: str | Path, n_hidden: int, metadata: dict[str, Any],
                 batch_size: int = 65536, extras: Iterable[str] = ()) -> None:
        pa, pq = _pa()
        self.path = Path(path)
        self.n_hidden = n_hidden
        self.batch_size = batch_size
        self.extras = tuple(extras)
        self.schema = region_schema(n_hidden, self.extras, metadata)
        self._file = AtomicFile(self.path)
        self.tmp = self._file.tmp
        try:
            self._writer = parquet_writer(self.tmp, self.schema)
        except OSError as exc:
            raise OutputPathError(f"{self.path}: cannot write the output file ({exc.strerror or exc}); "
                                   "check that its folder exists and is writable") from None
        self._chunks: list[RegionBlock] = []
        self._buffered = 0
        self.count = 0

    def write_all(self, chunks: Iterable[RegionBlock]) -> None:
        """Write every block of an iterable (``RegionStream.chunks()``, say)."""
        for chunk in chunks:
            self.write_chunk(chunk)

    def write_chunk(self, chunk: RegionBlock) -> None:
        """Buffer a :class:`~reluregions.regionblock.RegionBlock`; flush a row group when full."""
        if len(chunk):
            self._chunks.append(chunk)
            self._buffered += len(chunk)
        if self._buffered >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write the buffered regions as one row group."""
        if not self._chunks:
            return
        block = RegionBlock.concat(self._chunks)
        self._chunks, self._buffered = [], 0
        self._writer.write_table(to_arrow(block, self.schema))
        self.count += len(block)

    def add_metadata(self, extra: dict[str, Any]) -> None:
        """Record ``extra`` (a certificate) in the file's footer; :func:`read_metadata` merges it."""
        self._writer.add_key_value_metadata({METADATA_KEY.decode() + ".extra": json.dumps(extra)})

    def close(self) -> None:
        """Flush, close and move the file into place (the temporary file is removed on failure)."""
        try:
            self.flush()
            self._writer.close()
            self._file.commit()
        except OSError as exc:
            self._file.abort()
            raise OutputPathError(f"{self.path}: cannot write the output file ({exc.strerror or exc}); "
                                  "give a file name in a folder you can write to") from None
        except BaseException:
            self._file.abort()
            raise

    def abort(self) -> None:
        """Close and delete the temporary file; leave ``path`` as it was."""
        try:
            self._writer.close()
        finally:
            self._file.abort()

    def __enter__(self) -> "ParquetRegionWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_parquet(path: str | Path) -> Any:
    """Open a Parquet file whose page checksums are verified on every read.

    Raises
    ------
    NetworkFileError
        The file is missing, or is not Parquet (or its footer is damaged).
    """
    _, pq = _pa()
    try:
        return pq.ParquetFile(str(path), page_checksum_verification=True)
    except FileNotFoundError:
        raise NetworkFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NetworkFileError(f"{path}: is a folder; give a region file (.parquet)") from None
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise NetworkFileError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _corrupt(path: str | Path, exc: BaseException) -> CorruptFileError:
    return CorruptFileError(f"{path}: the file is damaged ({_first_line(exc)}); write it again "
                            "(reluregions enumerate)")


def checked_batches(parquet_file: Any, path: str | Path, **options: Any) -> Iterator[Any]:
    """``parquet_file.iter_batches(**options)``, with decoding and checksum failures raised as
    :class:`~reluregions.errors.CorruptFileError` naming ``path``."""
    pa, _ = _pa()
    batches = parquet_file.iter_batches(**options)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as exc:
            raise _corrupt(path, exc) from None
        yield batch


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata a region file was written with."""
    meta = open_parquet(path).schema_arrow.metadata or {}
    if METADATA_KEY not in meta:
        raise NetworkFileError(f"{path}: not a reluregions region file (no '{METADATA_KEY.decode()}' "
                               "metadata)")
    footer = open_parquet(path).metadata.metadata or {}
    try:
        return {**json.loads(meta[METADATA_KEY]), **json.loads(footer.get(METADATA_KEY + b".extra", b"{}"))}
    except ValueError as exc:
        raise _corrupt(path, exc) from None


def iter_region_batches(path: str | Path, columns: list[str] | None = None,
                        batch_size: int = 65536) -> Iterator[Any]:
    """Iterate over a region file in Arrow record batches (bounded memory).

    Page checksums are verified; a damaged file raises :class:`~reluregions.errors.CorruptFileError`.
    """
    yield from checked_batches(open_parquet(path), path, batch_size=batch_size, columns=columns)


def read_regions(path: str | Path) -> RegionBlock:
    """Load a whole region file into a :class:`~reluregions.regionblock.RegionBlock` (for files
    that fit in memory); its ``extra["metadata"]`` holds the file's metadata."""
    meta = read_metadata(path)
    pa, _ = _pa()
    try:
        table = open_parquet(path).read()
    except (OSError, pa.ArrowException) as exc:
        raise _corrupt(path, exc) from None
    regions = from_arrow(table, int(meta.get("n_hidden", 0)), int(meta.get("input_dim", 0)),
                         len(meta.get("hidden_widths", [])), source=str(path))
    regions.extra["metadata"] = meta
    return regions
