"""The output's patterns as a hash index, for the certificate's bulk neighbour look-ups (issue 15).

The completeness certificate (:mod:`reluregions.enumeration.certify`) asks, for every candidate
facet of every region, whether the pattern with one bit flipped is in the output. Patterns get
64-bit Zobrist hashes (the XOR of a random value per active neuron), so a flipped bit ``j`` moves
the hash by ``zobrist[j]`` without rehashing; the hashes go into an open-addressing table that the
compiled kernel of :mod:`reluregions.enumeration._certify_fast` probes. A hash hit is confirmed
byte for byte, so a collision can never match a pattern that is not there.

Most look-ups miss (about 150 per region on robot, 8 hits), and the table (16 bytes a slot, a
quarter full) is far larger than a core's cache. A blocked Bloom filter of the hashes (two bits
in one 64-bit word per hash, 16 bits per pattern: 512 KB for 256,757 patterns) answers most
misses from the L2 cache first (:func:`_may_hold`); only its positives probe the table. It has
no false negatives, so it changes no answer.
"""
from __future__ import annotations

import numpy as np

from ..geometry.kernels import njit, njit_borrowed

__all__ = ["PatternIndex"]


class PatternIndex:
    """The output's patterns, for bulk look-ups of neighbours: 64-bit Zobrist hashes (a flipped
    bit ``j`` changes the hash by ``zobrist[j]``) in an open-addressing table, and sorted.

    ``packed`` holds every pattern as bytes (bit ``j`` is bit ``j % 8`` of byte ``j // 8``); a hash
    hit is confirmed byte for byte, so a collision can never match a pattern that is not there.
    ``zobrist`` replaces the random hash values (tests force collisions with zeros).
    """

    def __init__(self, packed: np.ndarray, n_hidden: int, zobrist: np.ndarray | None = None) -> None:
        if zobrist is None:
            rng = np.random.default_rng(0x5EED)
            zobrist = rng.integers(0, 2 ** 63, size=n_hidden, dtype=np.int64).astype(np.uint64)
            zobrist |= rng.integers(0, 2, size=n_hidden, dtype=np.int64).astype(np.uint64) << 63
        self.zobrist = np.asarray(zobrist, dtype=np.uint64)
        nbytes = packed.shape[1]
        table = np.zeros((nbytes, 256), dtype=np.uint64)
        z = np.zeros(nbytes * 8, dtype=np.uint64)
        z[:n_hidden] = self.zobrist
        values = np.arange(256, dtype=np.uint8)
        for bit in range(8):
            on = ((values >> bit) & 1).astype(bool)
            table[:, on] ^= z[bit::8][:, None]
        self._table = table
        self.packed = np.ascontiguousarray(packed)
        h = self.hashes_of(self.packed)
        self.hashes = h
        self.order = np.argsort(h, kind="stable")
        self.sorted = np.ascontiguousarray(h[self.order])
        self.slots = _hash_table(h, 1 << max(4, int(4 * h.size).bit_length()))
        self.filter = _bloom(h, 1 << max(0, int(h.size // 4).bit_length()))

    def __contains__(self, key: bytes) -> bool:
        """Whether the packed pattern ``key`` (bytes) is in the output."""
        row = np.frombuffer(key, dtype=np.uint8)
        h = self.hashes_of(row[None])[0]
        lo = np.searchsorted(self.sorted, h, side="left")
        hi = np.searchsorted(self.sorted, h, side="right")
        return any(np.array_equal(self.packed[self.order[p]], row) for p in range(lo, hi))

    def has_duplicates(self) -> bool:
        """Whether two patterns of the output are equal (compared byte for byte within every
        group of equal hashes)."""
        same = np.flatnonzero(self.sorted[1:] == self.sorted[:-1])
        if not same.size:
            return False
        members = np.unique(np.concatenate([same, same + 1]))
        groups = np.split(members, np.flatnonzero(np.diff(self.sorted[members]) != 0) + 1)
        for group in groups:
            rows = {self.packed[i].tobytes() for i in self.order[group].tolist()}
            if len(rows) != group.size:
                return True
        return False

    def hashes_of(self, packed: np.ndarray) -> np.ndarray:
        """The hashes of patterns given as packed bytes (n, nbytes)."""
        h = np.zeros(packed.shape[0], dtype=np.uint64)
        for p in range(packed.shape[1]):
            h ^= self._table[p, packed[:, p]]
        return h


@njit(cache=True, nogil=True)
def _hash_table(hashes, size):
    """Open addressing (linear probing): slot ``p`` holds a hash and the index of its pattern
    (one cache line per probe); index ``-1`` marks a free slot."""
    slots = np.full((size, 2), -1, np.int64)
    mask = np.uint64(size - 1)
    for i in range(hashes.size):
        pos = np.int64(hashes[i] & mask)
        while slots[pos, 1] >= 0:
            pos = (pos + 1) & (size - 1)
        slots[pos, 0] = np.int64(hashes[i])
        slots[pos, 1] = i
    return slots


@njit(cache=True, nogil=True)
def _bloom(hashes, words):
    """The blocked Bloom filter of ``hashes``: ``words`` (a power of two) 64-bit words, two bits
    of word ``(h >> 32) % words`` per hash (:func:`_may_hold`)."""
    filt = np.zeros(words, np.uint64)
    for i in range(hashes.size):
        h = hashes[i]
        filt[np.int64((h >> np.uint64(32)) & np.uint64(words - 1))] |= _bits(h)
    return filt


@njit_borrowed()
def _bits(h):
    """The two bits of hash ``h`` in its filter word."""
    one = np.uint64(1)
    return (one << (h & np.uint64(63))) | (one << ((h >> np.uint64(6)) & np.uint64(63)))


@njit_borrowed()
def _may_hold(filt, h):
    """False when no pattern of the output has hash ``h`` (the filter of :func:`_bloom`)."""
    b = _bits(h)
    return (filt[np.int64((h >> np.uint64(32)) & np.uint64(filt.size - 1))] & b) == b


@njit_borrowed()
def _lookup(h, packed, slots, row, j):
    """Whether the pattern ``row`` with bit ``j`` flipped is in the output (its hash is ``h``)."""
    size = slots.shape[0]
    pos = np.int64(h & np.uint64(size - 1))
    key = np.int64(h)
    byte = j >> 3
    mask = np.uint8(1 << (j & 7))
    while slots[pos, 1] >= 0:
        if slots[pos, 0] == key:
            other = packed[slots[pos, 1]]
            same = True
            for p in range(row.size):
                v = row[p] ^ mask if p == byte else row[p]
                if other[p] != v:
                    same = False
                    break
            if same:
                return True
        pos = (pos + 1) & (size - 1)
    return False
