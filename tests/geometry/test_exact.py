"""Exact rational decisions (issue 15): pull-back, point checks, zero neurons, Motzkin proofs."""
import flint
import numpy as np
import pytest

from reluregions.domains import AffineSlice, Box
from reluregions.geometry import exact as ex
from reluregions.network import Network


def _net(seed, widths=(2, 5, 4, 1)):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])]
    bs = [rng.standard_normal(o) for o in widths[1:]]
    return Network(ws, bs)


@pytest.mark.parametrize("seed", range(8))
def test_pullback_matches_float_and_forward(seed):
    net = _net(seed)
    qn, dom = ex.ExactNetwork.of(net), ex.exact_domain(Box([-1, -2], [1, 2]))
    s = np.random.default_rng(seed).uniform(-1, 1, 2)
    z = ex.forward_exact(qn, dom, s)
    bits = np.array([v > 0 for layer in z for v in layer])
    maps = ex.pullback(qn, dom, bits)
    sq = ex.qcol(np.append(s, 1.0))
    for layer, V in enumerate(maps):
        assert [(V * sq)[i, 0] for i in range(V.nrows())] == z[layer]
    chk = ex.check_point(qn, dom, bits[None], s[None])
    assert chk.ok.all()
    flipped = bits.copy()
    flipped[0] = not flipped[0]
    assert not ex.check_point(qn, dom, flipped[None], s[None]).ok[0]


def test_point_on_hyperplane_exactly_is_not_interior():
    # z = x - 0.1 (0.1 is not dyadic: the float point 0.1 gives z == 0 exactly in rationals)
    net = Network([np.array([[1.0], [1.0]]), np.ones((1, 2))], [np.array([-0.1, 0.5]), np.zeros(1)])
    qn, dom = ex.ExactNetwork.of(net), ex.exact_domain(Box([-1], [1]))
    chk = ex.check_point(qn, dom, np.array([[False, True]]), np.array([[0.1]]))
    assert not chk.ok[0] and chk.exact == 1
    # just off it, float cannot tell, exact arithmetic can
    x = np.nextafter(0.1, 1.0)
    assert ex.check_point(qn, dom, np.array([[True, True]]), np.array([[x]])).ok[0]


def test_identically_zero_neuron_by_cancellation():
    # layer 2 neuron: h1 - h2 with two identical layer-1 neurons: identically zero, bit 0
    W1 = np.array([[1.0, 0.3], [1.0, 0.3]])
    net = Network([W1, np.array([[1.0, -1.0]]), np.ones((1, 1))],
                  [np.array([0.2, 0.2]), np.zeros(1), np.zeros(1)])
    qn, dom = ex.ExactNetwork.of(net), ex.exact_domain(Box([-1, -1], [1, 1]))
    bits = np.array([True, True, False])
    maps = ex.pullback(qn, dom, bits)
    assert ex.identically_zero(maps[1], 0)
    chk = ex.check_point(qn, dom, bits[None], np.array([[0.5, 0.5]]))
    assert chk.ok[0] and chk.exact == 1
    assert not ex.check_point(qn, dom, np.array([[True, True, True]]), np.array([[0.5, 0.5]])).ok[0]


def test_fixed_coordinate_and_slice_domains():
    net = _net(3, (3, 4, 1))
    dom = ex.exact_domain(Box([-1, 0.25, -1], [1, 0.25, 1]))
    assert dom.dim == 2 and dom.P0[1, 0] == flint.fmpq(1, 4)
    sl = AffineSlice([0.1, 0.2, 0.3], [[1, 0], [0, 1], [1, 1]], Box([-1, -1], [1, 1]))
    d2 = ex.exact_domain(sl)
    assert d2.dim == 2 and d2.P[2, 0] == 1 and d2.P0[0, 0] == ex.fmpq_of(0.1)


def test_motzkin_certificates():
    # x <= 0 and -x <= -1 : empty; y = (1, 1)
    G = ex.qmat([[1.0], [-1.0]])
    h = ex.qcol([0.0, -1.0])
    assert ex.verify_motzkin(G, h, [1, 1], [False, False])
    assert not ex.verify_motzkin(G, h, [1, 2], [False, False])
    # x < 0 and -x < 0 : empty only as a strict system (y^T h == 0)
    h0 = ex.qcol([0.0, 0.0])
    assert ex.verify_motzkin(G, h0, [1, 1], [True, True])
    assert not ex.verify_motzkin(G, h0, [1, 1], [False, False])
    assert not ex.verify_motzkin(G, h0, [-1, -1], [True, True])
    # from a float (rounded) multiplier: projected onto the exact null space
    y = ex.motzkin_from_float(G, h, np.array([0.7000001, 0.6999999]), [False, False])
    assert y is not None and y[0] == y[1]
    # x == 0 (free multiplier) and x > 1/3 written as -x < -1/3
    G2 = ex.qmat([[1.0], [-1.0]])
    h2 = flint.fmpq_mat(2, 1, [0, flint.fmpq(-1, 3)])
    assert ex.verify_motzkin(G2, h2, [1, 1], [False, True], free=[True, False])
    assert not ex.verify_motzkin(G2, h2, [-1, 1], [False, True], free=[False, False])


def test_proportional_rows_exact():
    V = flint.fmpq_mat(2, 3, [1, 2, 3, 2, 4, 6])
    assert ex.proportional(V, 0, V, 1) == 2
    W = flint.fmpq_mat(1, 3, [2, 4, flint.fmpq(6000000000000001, 1000000000000000)])
    assert ex.proportional(V, 0, W, 0) is None
