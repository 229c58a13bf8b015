"""Pieces of the certificate's compiled path (issue 15): the grouping of prefixes equals
``np.unique``'s, and the Bloom filter of the output's hashes has no false negatives."""
import numpy as np
import pytest

from reluregions.enumeration._certify_fast import _distinct_rows
from reluregions.enumeration._certify_index import PatternIndex, _may_hold


@pytest.mark.parametrize("nbits", [1, 7, 8, 9, 64, 100, 130])
def test_distinct_rows_equals_numpy_unique(nbits):
    rng = np.random.default_rng(nbits)
    base = rng.random((40, nbits)) < 0.5
    bits = base[rng.integers(0, 40, size=500)]  # many repeats
    keys = np.packbits(bits, axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    got_first, got_inverse = _distinct_rows(keys)
    assert np.array_equal(got_first, first)
    assert np.array_equal(got_inverse, inverse.reshape(-1))


def test_the_filter_holds_every_pattern_and_rejects_most_others():
    rng = np.random.default_rng(3)
    n_hidden = 90
    bits = rng.random((5000, n_hidden)) < 0.5
    packed = np.packbits(bits, axis=1, bitorder="little")
    index = PatternIndex(packed, n_hidden)
    assert all(_may_hold(index.filter, h) for h in index.hashes)
    others = index.hashes_of(np.packbits(rng.random((5000, n_hidden)) < 0.5, axis=1,
                                         bitorder="little"))
    positives = sum(bool(_may_hold(index.filter, h)) for h in others)
    assert positives < 0.05 * others.size
