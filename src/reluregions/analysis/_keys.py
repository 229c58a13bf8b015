"""Pattern keys: prefix extraction, XOR hashes, exact distinct counting in bounded memory.

* :func:`prefix_keys` cuts a packed pattern down to the bits of its first ``l`` hidden layers.
* :class:`XorHasher` hashes packed patterns to two independent 64-bit words. The hash is linear over
  GF(2): flipping bit ``j`` of a pattern XORs its hash with a constant, which is how neighbours
  (patterns that differ in one bit) are looked up without building them.
* :class:`PatternIndex` is a sorted table of those hashes (24 bytes per row plus the packed patterns),
  used by ``verify`` and the adjacency graph.
* :class:`KeyCounter` counts distinct fixed-width keys exactly. Below ``memory_rows`` keys it works in
  memory, deduplicating batch by batch; above, it spills keys to ``partitions`` temporary files chosen
  by a hash of a *group* key (so every group lands in one file) and finishes one file at a time. Its
  memory is therefore about ``memory_rows * (width + 4 * payload + 8)`` bytes whatever the file size;
  the disk it uses is at most the same per row.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = ["prefix_keys", "key_width", "XorHasher", "PatternIndex", "KeyCounter", "as_void"]


def key_width(n_bits: int) -> int:
    """Bytes needed for ``n_bits`` packed bits (at least one)."""
    return max((int(n_bits) + 7) // 8, 1)


def prefix_keys(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """The first ``n_bits`` bits of each packed pattern, as a (n, key_width) uint8 matrix.

    Bits past ``n_bits`` in the last byte are cleared, so two patterns with the same prefix give
    byte-identical keys.
    """
    w = key_width(n_bits)
    keys = np.ascontiguousarray(packed[:, :w]).copy()
    rest = int(n_bits) - 8 * (w - 1)
    if n_bits == 0:
        keys[:] = 0
    elif rest < 8:
        keys[:, -1] &= np.uint8((1 << rest) - 1)
    return keys


def as_void(keys: np.ndarray) -> np.ndarray:
    """View a (n, w) uint8 matrix as n opaque ``w``-byte scalars (sortable, comparable)."""
    keys = np.ascontiguousarray(keys, dtype=np.uint8)
    return keys.view(np.dtype((np.void, keys.shape[1]))).reshape(-1)


class XorHasher:
    """Two 64-bit hashes of packed patterns, linear over GF(2) (bit flips XOR a constant)."""

    def __init__(self, n_bytes: int, seed: int = 20240531) -> None:
        rng = np.random.default_rng(seed)
        bit_words = rng.integers(0, 2**63, size=(n_bytes * 8, 2), dtype=np.int64).astype(np.uint64)
        bit_words ^= rng.integers(0, 2, size=(n_bytes * 8, 2), dtype=np.int64).astype(np.uint64) << np.uint64(63)
        self.bit_words = bit_words
        byte_values = np.arange(256, dtype=np.uint8)
        bits = np.unpackbits(byte_values[:, None], axis=1, bitorder="little").astype(bool)  # (256, 8)
        table = np.zeros((n_bytes, 256, 2), dtype=np.uint64)
        for b in range(n_bytes):
            words = bit_words[8 * b:8 * b + 8]
            for j in range(8):
                table[b, bits[:, j]] ^= words[j]
        self.table = table
        self.n_bytes = n_bytes

    def __call__(self, packed: np.ndarray) -> np.ndarray:
        """Hashes (n, 2) uint64 of packed patterns (n, n_bytes)."""
        packed = np.asarray(packed, dtype=np.uint8)
        out = np.zeros((packed.shape[0], 2), dtype=np.uint64)
        for b in range(min(self.n_bytes, packed.shape[1])):
            out ^= self.table[b, packed[:, b]]
        return out

    def flip(self, bit: int) -> np.ndarray:
        """The (2,) word XORed into a hash when pattern bit ``bit`` flips."""
        return self.bit_words[bit]


class PatternIndex:
    """In-memory index of a file's patterns: exact lookup and one-bit neighbours.

    Memory is ``n * (n_bytes + 24)`` bytes for ``n`` rows.
    """

    def __init__(self, packed: np.ndarray, n_hidden: int) -> None:
        self.packed = np.ascontiguousarray(packed, dtype=np.uint8)
        self.n_hidden = int(n_hidden)
        self.hasher = XorHasher(self.packed.shape[1] if self.packed.ndim == 2 else 1)
        self.hashes = self.hasher(self.packed)
        self.order = np.lexsort((self.hashes[:, 1], self.hashes[:, 0]))
        self._h0 = self.hashes[self.order, 0]
        self._h1 = self.hashes[self.order, 1]

    def __len__(self) -> int:
        return int(self.packed.shape[0])

    def lookup_hashes(self, hashes: np.ndarray, packed: np.ndarray | None = None) -> np.ndarray:
        """Row of each queried hash (first match), or -1; ``packed`` confirms matches byte by byte."""
        n = len(self)
        if n == 0:
            return np.full(len(hashes), -1, dtype=np.int64)
        pos = np.searchsorted(self._h0, hashes[:, 0], side="left")
        found = np.full(len(hashes), -1, dtype=np.int64)
        # A run of equal first words is walked until the second word matches (runs are ~1 long).
        for _ in range(4):
            inside = pos < n
            p = np.minimum(pos, n - 1)
            same0 = inside & (self._h0[p] == hashes[:, 0])
            hit = same0 & (self._h1[p] == hashes[:, 1]) & (found < 0)
            found[hit] = self.order[p[hit]]
            pos = np.where(same0 & (found < 0), pos + 1, n)
            if not (pos < n).any():
                break
        if packed is not None:
            ok = found >= 0
            same = np.all(self.packed[found[ok]] == packed[ok], axis=1)
            idx = np.flatnonzero(ok)
            found[idx[~same]] = -1
        return found

    def lookup(self, packed: np.ndarray) -> np.ndarray:
        """Row holding each packed pattern (first match), or -1."""
        packed = np.asarray(packed, dtype=np.uint8)
        return self.lookup_hashes(self.hasher(packed), packed)

    def duplicates(self) -> list[np.ndarray]:
        """Groups (sorted row indices) of rows holding the same pattern."""
        n = len(self)
        if n < 2:
            return []
        keys = as_void(self.packed)
        order = np.argsort(keys, kind="stable")
        same = keys[order[1:]] == keys[order[:-1]]
        groups, start = [], None
        for i, s in enumerate(same):
            if s and start is None:
                start = i
            elif not s and start is not None:
                groups.append(np.sort(order[start:i + 1]))
                start = None
        if start is not None:
            groups.append(np.sort(order[start:]))
        return groups

    def neighbour_pairs(self, rows: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Pairs ``(i, j, bit)`` with ``i < j`` whose patterns differ exactly in ``bit``.

        Yields one (m, 3) int64 array per pattern bit that has pairs; only pairs whose smaller row
        is in ``rows`` (default: all) are produced.
        """
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        h = self.hashes[rows]
        for bit in range(self.n_hidden):
            q = h ^ self.hasher.flip(bit)
            flipped = self.packed[rows].copy()
            flipped[:, bit // 8] ^= np.uint8(1 << (bit % 8))
            j = self.lookup_hashes(q, flipped)
            keep = j > rows
            if keep.any():
                yield np.column_stack([rows[keep], j[keep], np.full(int(keep.sum()), bit)])


@dataclass
class CountedKeys:
    """Distinct keys of one partition, with the payload of their first occurrence and counts."""

    keys: np.ndarray
    payload: np.ndarray
    counts: np.ndarray


class KeyCounter:
    """Exact distinct counting of fixed-width byte keys, in memory or spilled to hash partitions.

    Parameters
    ----------
    width : int
        Key width in bytes.
    n_payload : int
        Number of int32 values carried with each key (the first occurrence's are kept).
    partitions : int, default 1
        1 keeps everything in memory; more spills keys to that many temporary files.
    workdir : path, optional
        Folder for the temporary files (default: the system's temporary folder).
    """

    def __init__(self, width: int, n_payload: int = 0, partitions: int = 1,
                 workdir: str | Path | None = None) -> None:
        self.width = int(width)
        self.n_payload = int(n_payload)
        self.partitions = max(int(partitions), 1)
        self.dtype = np.dtype([("key", f"V{self.width}"), ("payload", np.int32, (self.n_payload,)), ("count", np.int64)])
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._files: list[Path] = []
        if self.partitions > 1:
            self._tmp = tempfile.TemporaryDirectory(prefix="reluregions-count-", dir=workdir)
            self._files = [Path(self._tmp.name) / f"part{i}.bin" for i in range(self.partitions)]

    def add(self, keys: np.ndarray, payload: np.ndarray | None = None,
            group_hash: np.ndarray | None = None) -> None:
        """Add a batch of keys (n, width) with payload (n, n_payload) and a partition hash (n,)."""
        n = keys.shape[0]
        if n == 0:
            return
        rec = np.empty(n, dtype=self.dtype)
        rec["key"] = as_void(keys)
        if self.n_payload:
            rec["payload"] = np.asarray(payload, dtype=np.int32).reshape(n, self.n_payload)
        rec["count"] = 1
        rec = _dedup(rec)
        if self.partitions == 1:
            self._buffer.append(rec)
            self._buffered += len(rec)
            if self._buffered > 4 * 65536 and len(self._buffer) > 8:
                merged = _dedup(np.concatenate(self._buffer))
                self._buffer, self._buffered = [merged], len(merged)
            return
        gh = np.zeros(n, np.uint64) if group_hash is None else np.asarray(group_hash, np.uint64)
        # Group hashes follow the deduplicated records' first occurrences.
        _, first = np.unique(as_void(keys), return_index=True)
        part = (gh[first] % np.uint64(self.partitions)).astype(np.int64)
        for p in np.unique(part):
            with open(self._files[p], "ab") as f:
                f.write(rec[part == p].tobytes())

    def results(self) -> Iterator[CountedKeys]:
        """Yield the distinct keys, one partition at a time; call once."""
        try:
            if self.partitions == 1:
                chunks = [np.concatenate(self._buffer)] if self._buffer else []
                self._buffer = []
            else:
                chunks = (np.fromfile(f, dtype=self.dtype) for f in self._files if f.exists())
            for rec in chunks:
                rec = _dedup(rec)
                keys = np.ascontiguousarray(rec["key"]).view(np.uint8).reshape(len(rec), self.width)
                yield CountedKeys(keys, rec["payload"].reshape(len(rec), self.n_payload),
                                  rec["count"].copy())
        finally:
            self.close()

    def close(self) -> None:
        """Remove the temporary files."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _dedup(rec: np.ndarray) -> np.ndarray:
    """Merge records with equal keys: first payload, summed counts; sorted by key."""
    _, first, inverse = np.unique(rec["key"], return_index=True, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=rec["count"], minlength=len(first))
    out = rec[first]
    out["count"] = np.rint(counts).astype(np.int64)
    return out
