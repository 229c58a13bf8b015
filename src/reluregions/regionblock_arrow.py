"""Region blocks to and from Arrow: the columns of a region file (DESIGN.md §4).

:func:`to_arrow` writes a :class:`~reluregions.regionblock.RegionBlock` as a table of the
region-file schema (:func:`reluregions.io.parquet.region_schema`), building every column from
the block's buffers (no per-region objects); :func:`from_arrow` reads a record batch or table of
that schema back into a block (patterns stay packed until read). pyarrow is imported when a
conversion runs.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import NetworkFileError
from .regionblock import LIST_COLUMNS, RegionBlock

__all__ = ["to_arrow", "from_arrow"]


def to_arrow(block: RegionBlock, schema: Any) -> Any:
    """``block`` as a ``pyarrow.Table`` of ``schema`` (the region-file schema of
    :func:`reluregions.io.parquet.region_schema`: its columns decide which are written)."""
    import pyarrow as pa

    n = len(block)
    columns = {}
    for name in schema.names:
        if name == "pattern":
            width = schema.field("pattern").type.byte_width
            packed = block.packed
            if packed.shape[1] != width:
                packed = np.zeros((n, width), np.uint8)
                packed[:, :block.packed.shape[1]] = block.packed
            columns[name] = pa.FixedSizeBinaryArray.from_buffers(
                schema.field(name).type, n, [None, pa.py_buffer(np.ascontiguousarray(packed))])
        elif name in ("point", "rank"):
            matrix = block.points if name == "point" else block.ranks
            value_type = schema.field(name).type.value_type
            columns[name] = _list_array(pa, np.ravel(matrix), np.arange(n + 1) * matrix.shape[1],
                                        value_type)
        elif name == "radius":
            columns[name] = _numeric(pa, block.radii, pa.float64())
        elif name == "bounded":
            flags = np.packbits(block.bounded_flags(), bitorder="little")
            columns[name] = pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(flags)])
        elif name in block.lists:
            columns[name] = _list_array(pa, *block.lists[name], pa.float64())
        else:
            raise ValueError(f"the regions carry no column {name!r} (the run did not keep it)")
    return pa.Table.from_arrays([columns[f] for f in schema.names], schema=schema)


def from_arrow(data: Any, n_hidden: int, input_dim: int, n_layers: int, start: int = 0,
               source: str = "region file") -> "RegionBlock":
    """A block from a ``pyarrow`` record batch or table of the region-file schema.

    Columns other than ``pattern`` are optional (``rank`` None when missing or empty, list
    columns absent when missing); ``source`` names the file in errors.

    Raises
    ------
    NetworkFileError
        A column does not hold the values per row that the widths say.
    """
    cols = {name: _single(data.column(i)) for i, name in enumerate(data.schema.names)}
    n = data.num_rows
    width = max((n_hidden + 7) // 8, 1)
    packed = _fixed_binary(cols["pattern"], width)
    points = (_flat_matrix(cols["point"], n, input_dim, "point", source) if "point" in cols
              else np.zeros((n, input_dim)))
    radii = (np.asarray(cols["radius"].to_numpy(zero_copy_only=False), np.float64)
             if "radius" in cols else np.zeros(n))
    ranks = None
    if "rank" in cols and n_layers and len(cols["rank"].flatten()):  # empty: not recorded
        ranks = _flat_matrix(cols["rank"], n, n_layers, "rank", source).astype(np.int64)
    bounded = None
    if "bounded" in cols:
        bounded = np.asarray(cols["bounded"].to_numpy(zero_copy_only=False), dtype=bool)
    lists = {}
    for name in LIST_COLUMNS:
        if name in cols:
            col = cols[name]
            offsets = np.asarray(col.offsets.to_numpy(), np.int64)
            values = np.asarray(col.values.to_numpy(zero_copy_only=False), np.float64)
            lists[name] = (values[offsets[0]:offsets[-1]], offsets - offsets[0])
    return RegionBlock.from_packed(packed, n_hidden, points, radii, ranks, bounded=bounded,
                           lists=lists, start=start)


def _single(column: Any) -> Any:
    """A table's chunked column as one array (a record batch's column as it is)."""
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _numeric(pa, values: np.ndarray, value_type):
    """An Arrow array of a fixed-width numeric type over a numpy array's buffer.

    Built from the buffer, not with ``pa.array``, which imports pandas on its first call (about
    a second the first region file of a run would pay)."""
    values = np.ascontiguousarray(values, dtype=value_type.to_pandas_dtype())
    return pa.Array.from_buffers(value_type, len(values), [None, pa.py_buffer(values)])


def _list_array(pa, values: np.ndarray, offsets: np.ndarray, value_type):
    """An Arrow list array from flat values and row offsets (no per-value objects)."""
    return pa.ListArray.from_arrays(_numeric(pa, offsets, pa.int32()),
                                    _numeric(pa, np.ravel(values), value_type))


def _fixed_binary(column: Any, width: int) -> np.ndarray:
    """A fixed-size-binary Arrow column as a (n, width) uint8 matrix."""
    n = len(column)
    if n == 0:
        return np.zeros((0, width), np.uint8)
    flat = np.frombuffer(column.buffers()[1], dtype=np.uint8)
    return flat[column.offset * width:(column.offset + n) * width].reshape(n, width).copy()


def _flat_matrix(column: Any, n: int, width: int, what: str, source: str) -> np.ndarray:
    """A list column with ``width`` values per row as an (n, width) matrix."""
    values = column.flatten().to_numpy(zero_copy_only=False)
    if values.size != n * width:
        raise NetworkFileError(f"{source}: column '{what}' does not hold {width} values per row")
    return values.reshape(n, width)
