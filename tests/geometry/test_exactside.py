"""The exact side oracle (issue 15, DESIGN.md §1): ``SideOracle.interior`` on cases built so that
the answer is known by hand, every returned point checked strictly inside by the tests' own exact
arithmetic (``tests/invariants.py``: python-flint, no package code), every ``None`` backed by an
argument written here.

The side asked about is a cell of the layer-wise framework (Drammis et al. 2024, §3): the pattern
bits of the earlier layers, plus the decided neurons of ``layer`` with their sides.
"""
from __future__ import annotations

import inspect
from fractions import Fraction

import numpy as np
import pytest

from invariants import exact_param_point, exact_preactivations, exact_rational
from reluregions import Box, Network
from reluregions.domains import AffineSlice, WholeSpace
from reluregions.geometry.exact import qcol, qmat
from reluregions.geometry.exactside import Interior, SideOracle

ZERO_TOL = 1e-9


def _net(ws, bs) -> Network:
    """Hidden layers ``ws, bs`` and a one-unit output layer on top."""
    ws = [np.asarray(w, dtype=float) for w in ws]
    bs = [np.asarray(b, dtype=float) for b in bs]
    return Network(ws + [np.ones((1, ws[-1].shape[0]))], bs + [np.zeros(1)])


def _oracle(net: Network, domain) -> SideOracle:
    return SideOracle(net, domain.parametrize(), ZERO_TOL)


def _ask(oracle: SideOracle, bits, layer: int, decided) -> Interior | None:
    return oracle.interior(np.array(bits, dtype=bool), layer, np.array(decided, dtype=bool))


def assert_strictly_inside(net: Network, domain, found: Interior, bits, layer: int, decided) -> None:
    """``found.point`` lies strictly inside the side, checked in exact rationals: every neuron of the
    earlier layers and every decided neuron of ``layer`` has the asked sign (non-zero), the point is
    strictly inside the domain's parameter polytope, and so is the ball of ``found.radius``."""
    param = domain.parametrize()
    t = np.asarray(found.point, dtype=float)
    assert t.shape == (param.dim,) and np.isfinite(t).all()
    assert found.radius >= 0.0
    r = exact_rational(found.radius)
    tq = [exact_rational(v) for v in t]
    for g, h in zip(np.asarray(param.G), np.asarray(param.h)):
        slack = exact_rational(h) - sum((exact_rational(a) * v for a, v in zip(g, tq)), exact_rational(0.0))
        assert slack > 0 and slack >= r, "point (or its ball) not inside the domain"
    x = exact_param_point(param, t)
    bits = np.asarray(bits, dtype=bool)
    z = exact_preactivations(net, x, bits)
    widths = net.hidden_widths
    off = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    for lay in range(layer + 1):
        for j in range(widths[lay]):
            if lay == layer and not decided[j]:
                continue
            want = bits[off[lay] + j]
            value = z[lay][j]
            assert (value > 0) if want else (value < 0), \
                f"layer {lay} neuron {j}: exact pre-activation {float(value):.3g}, bit {int(want)}"


# ------------------------------------------------------------------------------ thin slabs
def _slab(width: float) -> Network:
    """``u = y`` and ``v = y - width``: the slab ``0 < y < width`` is the side (u on, v off)."""
    return _net([[[0.0, 1.0], [0.0, 1.0]]], [[0.0, -width]])


@pytest.mark.parametrize("width,exact_lps", [(1e-9, 0), (1e-12, 0), (2.0 ** -60, 1)],
                         ids=["1e-9", "1e-12", "2^-60"])
def test_thin_slab_near_zero_has_an_interior(width: float, exact_lps: int) -> None:
    """A slab of width 1e-9 or 1e-12 is found by the float proposal (checked exactly); one of width
    2^-60 is below the rounding bound of its own rows (about 5e-15 here), so the float LP sees it
    empty, no Motzkin certificate can verify (it has points), and the rational simplex settles it."""
    net, box = _slab(width), Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    found = _ask(oracle, [True, False], 0, [True, True])
    assert isinstance(found, Interior)
    assert_strictly_inside(net, box, found, [True, False], 0, [True, True])
    assert 0 < found.point[1] < width
    # the certified ball fits in the slab: its radius is at most half the width
    assert exact_rational(found.radius) <= exact_rational(width) / 2
    if exact_lps == 0:
        assert found.radius > 0.4 * width  # the float proposal certifies most of the half-width
    assert (oracle.calls, oracle.exact_lps) == (1, exact_lps)


@pytest.mark.parametrize("width", [1e-9, 1e-12, 2.0 ** -60])
def test_the_other_sides_of_a_thin_slab(width: float) -> None:
    """Above both planes and below both: interiors; below u but above v (``y < 0 < width < y``):
    none, certified (no exact LP needed: the float LP's dual is the certificate)."""
    net, box = _slab(width), Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    for bits in ([True, True], [False, False]):
        found = _ask(oracle, bits, 0, [True, True])
        assert found is not None
        assert_strictly_inside(net, box, found, bits, 0, [True, True])
    assert _ask(oracle, [False, True], 0, [True, True]) is None
    assert (oracle.calls, oracle.exact_lps) == (3, 0)


def test_slab_of_width_zero_has_no_interior() -> None:
    """``u = v = y``: ``u > 0 > v`` is empty (the certificate ``y = (1, 1)`` has ``y^T h = 0``,
    which the strict system cannot meet); both sides of the plane itself are whole half-boxes."""
    net, box = _slab(0.0), Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    assert _ask(oracle, [True, False], 0, [True, True]) is None
    assert _ask(oracle, [False, True], 0, [True, True]) is None
    found = _ask(oracle, [True, True], 0, [True, True])
    assert found is not None and found.radius > 0.4
    assert_strictly_inside(net, box, found, [True, True], 0, [True, True])
    assert (oracle.calls, oracle.exact_lps) == (3, 0)


def test_thin_slab_far_from_the_origin() -> None:
    """The same slab of width 1e-12, at ``y = 0.5`` (its offsets carry 0.5 more in magnitude)."""
    lo = 0.5
    hi = lo + 1e-12
    net, box = _net([[[0.0, 1.0], [0.0, 1.0]]], [[-lo, -hi]]), Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    found = _ask(oracle, [True, False], 0, [True, True])
    assert found is not None
    assert_strictly_inside(net, box, found, [True, False], 0, [True, True])
    assert lo < found.point[1] < hi


# -------------------------------------------------- coinciding in rationals, not in floats
A = (0.1, 0.7)


def _coinciding() -> Network:
    """``u = a.x + 1/32``, ``v = a.x - 1/32`` (so ``v = u - 1/16`` exactly) and, in layer 2,
    ``w = 3 relu(u) - 3/16``: where ``u`` is on, ``w = 3 v`` exactly, so ``w``'s hyperplane there is
    ``v``'s. In floats ``3 * 0.1`` rounds, so the pulled-back row of ``w`` is not ``3 a``."""
    return _net([[A, A], [[3.0, 0.0]]], [[1 / 32, -1 / 32], [-3 / 16]])


def test_float_pullback_separates_the_coinciding_planes() -> None:
    """The premise: float arithmetic sees two different hyperplanes, rationals see one."""
    row = 3.0 * np.array(A)  # the float pull-back of w's row where u is on (identity box map)
    exact = [3 * Fraction(a) for a in A]
    assert [Fraction(v) for v in row] != exact
    assert Fraction(3.0 * (1 / 32) - 3 / 16) == 3 * Fraction(-1 / 32)  # the offsets agree exactly


@pytest.mark.parametrize("u_v,w_on,has_interior", [
    ((True, False), True, False),   # 0 < u < 1/16: w = 3 (u - 1/16) < 0 everywhere
    ((True, False), False, True),
    ((True, True), True, True),     # u > 1/16: w > 0 everywhere
    ((True, True), False, False),
])
def test_coinciding_planes_never_split(u_v, w_on: bool, has_interior: bool) -> None:
    net, box = _coinciding(), Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    bits = [*u_v, w_on]
    found = _ask(oracle, bits, 1, [True])
    assert (found is not None) == has_interior
    if found is not None:
        assert_strictly_inside(net, box, found, bits, 1, [True])
    assert oracle.calls == 1


# ------------------------------------------------------------------------- constant neurons
def test_constant_neurons_are_not_constraints() -> None:
    """Rows ``0 x + 0.5`` and ``0 x - 0.5`` are constant on every cell: the caller fixes their bits
    (DESIGN.md §1, the relative ``zero_tol`` rule) and the oracle does not treat them as
    constraints, so the answer is that of the other neurons whatever bits they carry; with the
    third neuron's thin slab on the other side it is the slab's answer."""
    width = 1e-12
    net = _net([[[0.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 1.0]]], [[0.5, -0.5, 0.0, -width]])
    box = Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    correct = [True, False]  # the offsets' signs
    for const in (correct, [False, True], [True, True], [False, False]):
        found = _ask(oracle, [*const, True, False], 0, [True, True, True, True])
        assert found is not None
        assert_strictly_inside(net, box, found, [*correct, True, False], 0, [False, False, True, True])
        assert 0 < found.point[1] < width
        assert _ask(oracle, [*const, False, True], 0, [True, True, True, True]) is None
    assert oracle.calls == 8


def test_layer_two_neuron_reading_only_a_dead_neuron_is_constant() -> None:
    """Layer 2 ``w = relu(u) + 0.25`` on the cell where ``u = x`` is off: its pulled-back row is zero,
    so only the layer-2 neuron ``y`` (a thin slab ``0 < y < 1e-12``) constrains the side."""
    net = _net([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]],
               [[0.0, 0.0], [0.25, 0.0, -1e-12]])
    box = Box([-1, -1], [1, 1])
    oracle = _oracle(net, box)
    bits = [False, True, True, True, False]
    found = _ask(oracle, bits, 1, [True, True, True])
    assert found is not None and found.point[0] < 0 and 0 < found.point[1] < 1e-12
    assert_strictly_inside(net, box, found, bits, 1, [False, True, True])
    assert _ask(oracle, [False, True, True, False, True], 1, [True, True, True]) is None


# ---------------------------------------------------------------------------- other domains
def test_whole_space() -> None:
    """No domain rows: a side with no constraints is everything; the thin slab, its empty side,
    and the zero-width slab behave as in a box."""
    net = _slab(1e-12)
    ws = WholeSpace(2)
    oracle = _oracle(net, ws)
    free = _ask(oracle, [False, False], 0, [False, False])
    assert free is not None and free.radius > 0 and np.isfinite(free.point).all()
    found = _ask(oracle, [True, False], 0, [True, True])
    assert found is not None and 0 < found.point[1] < 1e-12
    assert_strictly_inside(net, ws, found, [True, False], 0, [True, True])
    assert _ask(oracle, [False, True], 0, [True, True]) is None
    assert _ask(_oracle(_slab(0.0), ws), [True, False], 0, [True, True]) is None
    # two lines crossing at (-2, 0): the thin triangle between them and x = 0 (inradius ~ 5e-13)
    s, c = 2.0 ** -40, 2.0 ** -39
    net = _net([[[0.0, 1.0], [-s, 1.0], [1.0, 0.0]]], [[0.0, -c, 0.0]])
    oracle = _oracle(net, ws)
    bits = [True, False, False]  # y > 0, y < s x + c, x < 0
    found = _ask(oracle, bits, 0, [True, True, True])
    assert found is not None
    assert_strictly_inside(net, ws, found, bits, 0, [True, True, True])
    # y < 0 and y > s x + c need x < -2, so with x > 0: empty (a thin angle, not a thin region)
    assert _ask(oracle, [False, True, True], 0, [True, True, True]) is None
    assert oracle.calls == 2


def test_fixed_coordinate_box() -> None:
    """``y`` fixed at 0.3 in a 3-D box: the slab ``0.3 < x + y < 0.3 + 1e-12`` is a thin slab of the
    2-D slice in ``x`` (the fixed value enters the offsets, exactly)."""
    w = 1e-12
    net = _net([[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], [[-0.6, -0.6 - w, 0.0]])
    box = Box([-1, 0.3, -1], [1, 0.3, 1])
    oracle = _oracle(net, box)
    bits = [True, False, True]
    found = _ask(oracle, bits, 0, [True, True, True])
    assert found is not None and found.point.shape == (2,)
    assert_strictly_inside(net, box, found, bits, 0, [True, True, True])
    assert _ask(oracle, [False, True, True], 0, [True, True, True]) is None


def test_affine_slice() -> None:
    """A 2-D slice ``x = x0 + U s`` of a 3-D input; ``x3 = 0.25 + s2`` is cut by ``x3 = 0.25`` and
    ``x3 = 0.25 + 1e-12``: a thin slab in the slice's coordinates; and a neuron ``x1 - x2 + x3``
    that is identically ``x0_1 - x0_2 + x0_3`` on the slice (constant: not a constraint)."""
    w = 1e-12
    U = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    dom = AffineSlice([0.5, -0.25, 0.25], U, Box([-1, -1], [1, 1]))
    net = _net([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, -1.0, 1.0]]], [[-0.25, -0.25 - w, 0.0]])
    oracle = _oracle(net, dom)
    found = _ask(oracle, [True, False, True], 0, [True, True, True])
    assert found is not None
    assert_strictly_inside(net, dom, found, [True, False, True], 0, [True, True, False])
    assert _ask(oracle, [False, True, True], 0, [True, True, True]) is None


# --------------------------------------------------------------------------- the exact LP
def _exact_lp(oracle: SideOracle, rows, rhs) -> Interior | None:
    """``oracle._exact_lp`` on ``rows s < rhs``: the exact system, then the float rows (and the
    float right-hand side where the method still takes it)."""
    G = np.array(rows, dtype=float)
    h = np.array(rhs, dtype=float)
    args = (qmat(G), qcol(h), G, h)
    return oracle._exact_lp(*args[:len(inspect.signature(oracle._exact_lp).parameters)])


def test_exact_lp_directly() -> None:
    """``_exact_lp`` against reasoning by hand, on systems of strict inequalities in the box
    ``|s| <= 1``: ``0 < s1 < 2^-60`` has points (only between 0 and 2^-60); ``s1 < 0 < s1`` has
    none; nor has ``s1 < -1/2 < 1/2 < s1`` (a negative optimum: sympy 1.14's ``linprog`` mishandled
    free variables there); nor ``s1 + s2 < 0, -s1 < 0, -s2 < 0`` (a cone whose only common point is
    the origin); a triangle of legs 2^-70 has points."""
    oracle = _oracle(_slab(1.0), Box([-1, -1], [1, 1]))
    box_rows = [[1, 0], [-1, 0], [0, 1], [0, -1]]
    eps = 2.0 ** -60
    found = _exact_lp(oracle, box_rows + [[1, 0], [-1, 0]], [1, 1, 1, 1, eps, 0])
    assert found is not None and 0 < Fraction(found.point[0]) < Fraction(eps)
    assert _exact_lp(oracle, box_rows + [[1, 0], [-1, 0]], [1, 1, 1, 1, 0, 0]) is None
    # s1 < -1/2 and s1 > 1/2: empty with a negative optimum (max tau = -1/2)
    assert _exact_lp(oracle, box_rows + [[1, 0], [-1, 0]], [1, 1, 1, 1, -0.5, -0.5]) is None
    assert _exact_lp(oracle, box_rows + [[1, 1], [-1, 0], [0, -1]], [1] * 4 + [0, 0, 0]) is None
    tiny = 2.0 ** -70  # s2 > 0, s1 > 0, s1 + s2 < tiny: a triangle of legs 2^-70
    found = _exact_lp(oracle, box_rows + [[0, -1], [-1, 0], [1, 1]], [1] * 4 + [0, 0, tiny])
    assert found is not None
    s1, s2 = (Fraction(v) for v in found.point)
    assert s1 > 0 and s2 > 0 and s1 + s2 < Fraction(tiny)
    assert oracle.exact_lps == 5 and oracle.calls == 0


def test_oracle_cannot_be_pickled() -> None:
    """It owns an LP solver: one per worker (the contexts make their own)."""
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(_oracle(_slab(1e-9), Box([-1, -1], [1, 1])))
