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


def test_row_flags_equal_the_per_region_slack_test():
    """The per-row flags of a block (:func:`_row_flags`) decide as the per-region test of each
    sign-applied constraint would (the flip is exact), and flag exactly the rows that may be
    zero."""
    from reluregions.enumeration._certify_bounds import _not_far
    from reluregions.enumeration._certify_cells import (_FAR_IF_ACTIVE, _FAR_IF_INACTIVE,
                                                       _MAYBE_ZERO, _row_flags)

    rng = np.random.default_rng(11)
    for k in (1, 2, 5):
        lo, hi = -rng.random(k), rng.random(k) + 0.5
        rows = rng.standard_normal((300, k + 1)) * rng.choice([1e-3, 1.0, 1e3], size=(300, 1))
        rows[:60, -1] *= 50.0  # offsets far out: slack on the whole box for one sign
        rows[60:65] = 0.0  # zero rows
        rows[65, :] = 1e-20  # within its error bound
        errors = np.abs(rows) * 2.0 ** -50 + 1e-300
        errors[65, :] = 1e-19
        flags = np.full(rows.shape[0], -1, np.int8)
        _row_flags(rows, errors, 0, rows.shape[0], lo, hi, flags)
        idx = np.arange(rows.shape[0])
        for sign, bit in ((1.0, _FAR_IF_INACTIVE), (-1.0, _FAR_IF_ACTIVE)):
            out = np.empty(rows.shape[0], np.int64)
            n = _not_far(sign * rows, errors, idx, idx.size, lo, hi, out)
            not_far = np.zeros(rows.shape[0], bool)
            not_far[out[:n]] = True
            assert np.array_equal((flags & bit) == 0, not_far)
        zero = np.all(np.abs(rows) <= errors, axis=1)
        assert np.array_equal((flags & _MAYBE_ZERO) != 0, zero)
        assert zero[60:66].all() and (flags[:60] & (_FAR_IF_ACTIVE | _FAR_IF_INACTIVE)).any()


def _vertices(C, lo, hi):
    """Every vertex of ``{s in [lo, hi]: C [s; 1] <= 0}`` by brute force over k-subsets."""
    import itertools

    k = lo.size
    A = np.vstack([C[:, :k], np.eye(k), -np.eye(k)])
    b = np.concatenate([-C[:, k], hi, -lo])
    found = []
    for rows in itertools.combinations(range(A.shape[0]), k):
        M = A[list(rows)]
        if abs(np.linalg.det(M)) < 1e-9:
            continue
        v = np.linalg.solve(M, b[list(rows)])
        if np.all(A @ v <= b + 1e-9):
            found.append(v)
    return np.array(found)


@pytest.mark.parametrize("seed", range(12))
def test_region_box_encloses_the_polytope_and_is_tight(seed):
    """The region's box (2k warm-started LPs, a side skipped once an LP's vertex reaches the
    domain's bound there) holds every vertex of the rows' polytope and each side is reached by
    one: skipping loses no tightness."""
    from numba import njit

    from reluregions.enumeration._certify_bounds import _load_rows, _region_box, scratch

    @njit
    def box(C, E, rows, lo0, hi0, w):
        lo, hi = np.empty(lo0.size), np.empty(lo0.size)
        _load_rows(C, rows, w)
        _region_box(C, E, rows, lo0, hi0, lo, hi, w)
        return lo, hi

    rng = np.random.default_rng(seed)
    k = 2 + seed % 4
    r = 2 * k + seed % 5
    lo0, hi0 = -1.0 - rng.random(k), 1.0 + rng.random(k)
    # rows a . s <= 1 around the origin (a point inside); some cut the domain's box, some not
    C = np.hstack([rng.standard_normal((r, k)) * rng.choice([0.3, 1.0, 3.0], size=(r, 1)),
                   -np.ones((r, 1))])
    E = np.abs(C) * 2.0 ** -52
    lo, hi = box(C, E, np.arange(r), lo0, hi0, scratch(r, k))
    V = _vertices(C, lo0, hi0)
    assert np.all(V >= lo - 1e-9) and np.all(V <= hi + 1e-9)
    assert np.allclose(V.min(axis=0), lo, atol=1e-7) and np.allclose(V.max(axis=0), hi, atol=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_first_layer_cells_boxes_enclose_them_tightly(seed):
    """Each first-layer cell of a block with enough regions gets the box of its polytope (every
    vertex inside, every side reached); the others the domain's; every region's point lies in its
    cell's box."""
    from reluregions.domains import Box
    from reluregions.enumeration import enumerate_regions
    from reluregions.enumeration._certify_bounds import scratch
    from reluregions.enumeration._certify_cells import CELL_REGIONS, _cells
    from reluregions.enumeration._certify_fast import block_maps
    from reluregions.geometry import exact as ex
    from reluregions.network import Network

    rng = np.random.default_rng(seed)
    widths = (3, 6, 8, 1)
    net = Network([rng.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])],
                  [rng.standard_normal(o) * 0.5 for o in widths[1:]])
    box = Box([-2.0, -1.0, -1.5], [1.0, 2.0, 1.5])
    rs = enumerate_regions(net, box)
    en, dom = ex.ExactNetwork.of(net), ex.exact_domain(box)
    maps = block_maps(en, dom, rs.bits)
    lo0, hi0 = (np.asarray(v, dtype=np.float64) for v in dom.box)
    N, k = rs.bits.shape[1], lo0.size
    cell, clo, chi = _cells(maps.rows, maps.errors, maps.offsets, maps.widths, rs.bits, lo0, hi0,
                            scratch(N, k), np.empty((N, k + 1)), np.empty((N, k + 1)),
                            np.empty(N, np.int64))
    W0, b0 = net.weights[0], net.biases[0]
    boxed = 0
    for c in np.unique(cell):
        members = np.flatnonzero(cell == c)
        assert np.all(rs.points[members] >= clo[c]) and np.all(rs.points[members] <= chi[c])
        if members.size < CELL_REGIONS:
            assert np.array_equal(clo[c], lo0) and np.array_equal(chi[c], hi0)
            continue
        boxed += 1
        sgn = np.where(rs.bits[members[0], :widths[1]], -1.0, 1.0)
        V = _vertices(np.hstack([sgn[:, None] * W0, (sgn * b0)[:, None]]), lo0, hi0)
        assert np.all(V >= clo[c] - 1e-9) and np.all(V <= chi[c] + 1e-9)
        assert np.allclose(V.min(axis=0), clo[c], atol=1e-7)
        assert np.allclose(V.max(axis=0), chi[c], atol=1e-7)
    assert boxed > 0
