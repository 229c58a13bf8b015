"""The whole input space (issue 15): every region of R^d, bounded and unbounded, marked.

Every algorithm that accepts the whole space (default, witness, paper), with either first-layer
enumerator, under every scheduler, must agree with counts computed here independently:

* one hidden layer: the regions of a hyperplane arrangement by Zaslavsky's theorem,
  ``r = sum over central subsets S of (-1)^(|S| - rank S)``, and its bounded regions
  ``b = (-1)^d sum over central S of (-1)^|S|`` (an essential arrangement), with every rank and
  every "do these hyperplanes meet" decided in exact rationals (python-flint). In general position
  these are ``sum_{i<=d} C(n, i)`` and ``C(n-1, d)``.
* deeper nets: every vertex of every region lies among the intersection points of ``d``
  pulled-back hyperplanes of one activation prefix, consistent with that prefix; all are found in
  exact rationals, a box strictly holding them is built, and the brute-force reference of
  ``tests/invariants.py`` counts the regions in it. Since the first layer has rank ``d`` every
  region has a vertex, so every region meets the box and a region is unbounded exactly when it
  reaches the box's boundary (checked by LPs of the reference's own).

The trained networks are in ``tests/data/whole_space`` (``train.py`` there made them).
"""
from __future__ import annotations

import itertools
from functools import lru_cache
from math import comb
from pathlib import Path

import flint
import numpy as np
import pytest
from scipy.optimize import linprog

from invariants import brute_force, check_interior_points, combo_params, pattern_set, random_net
from reluregions import Box, EnumerationConfig, Network, OptionError, WholeSpace, count_regions
from reluregions import enumerate_regions
from reluregions.network import load_npz

DATA = Path(__file__).resolve().parents[1] / "data" / "whole_space"
WHOLE_SPACE_COMBOS = dict(algorithm=("default", "witness", "paper"))


# ----------------------------------------------------------------------------- exact helpers
def _q(x: float) -> flint.fmpq:
    n, d = float(x).as_integer_ratio()
    return flint.fmpq(n, d)


def _qmat(a: np.ndarray) -> flint.fmpq_mat:
    a = np.atleast_2d(np.asarray(a, dtype=float))
    return flint.fmpq_mat(a.shape[0], a.shape[1], [_q(v) for v in a.ravel()])


def _rank(rows: list[list]) -> int:
    if not rows:
        return 0
    return flint.fmpq_mat(len(rows), len(rows[0]), [v for r in rows for v in r]).rank()


def arrangement_counts(W: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Regions and bounded regions of the arrangement ``{x : W_i x + b_i = 0}`` (Zaslavsky).

    Zero rows are no hyperplane; rows equal up to a non-zero factor are one hyperplane.
    """
    d = W.shape[1]
    planes = set()
    for w, c in zip(W, b):
        row = [_q(v) for v in w] + [_q(c)]
        lead = next((v for v in row[:d] if v != 0), None)
        if lead is not None:
            planes.add(tuple(v / lead for v in row))
    planes = sorted(planes)
    regions = signed = 0
    for size in range(len(planes) + 1):
        for S in itertools.combinations(planes, size):
            normals = [list(p[:d]) for p in S]
            r = _rank(normals)
            if r != _rank([list(p) for p in S]):  # no common point: not central
                continue
            regions += (-1) ** (size - r)
            signed += (-1) ** size
    essential = _rank([list(p[:d]) for p in planes]) == d
    return regions, ((-1) ** d * signed if essential else 0)


def _pullback(net: Network, prefix: tuple[bool, ...]) -> list[flint.fmpq_mat]:
    """Exact ``[M_l | m_l]`` of the hidden layers whose inputs the prefix's bits fix."""
    d = net.input_dim
    H = flint.fmpq_mat(d, d + 1)
    for i in range(d):
        H[i, i] = 1
    out, start = [], 0
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        V = _qmat(W) * H
        for i in range(V.nrows()):
            V[i, d] += _q(b[i])
        out.append(V)
        n = V.nrows()
        if start + n > len(prefix):
            break
        H = flint.fmpq_mat(V)
        for i in range(n):
            if not prefix[start + i]:
                for j in range(d + 1):
                    H[i, j] = 0
        start += n
    return out


def vertex_box(net: Network, pad: float = 0.5) -> tuple[Box, int]:
    """A box strictly holding every vertex of every region of ``net`` in R^d, and how many
    candidate points it holds (ReLU nets only)."""
    assert net.negative_slope == 0.0
    d = net.input_dim
    assert _qmat(net.weights[0]).rank() == d, "the test needs a first layer of rank d"
    widths = net.hidden_widths
    n_prefix = sum(widths[:-1])
    points = []
    for prefix in itertools.product((False, True), repeat=n_prefix):
        maps = _pullback(net, prefix)
        rows = [(l, i) for l, V in enumerate(maps) for i in range(V.nrows())
                if any(V[i, j] != 0 for j in range(d))]
        for S in itertools.combinations(rows, d):
            A = flint.fmpq_mat(d, d, [maps[l][i, j] for l, i in S for j in range(d)])
            rhs = flint.fmpq_mat(d, 1, [-maps[l][i, d] for l, i in S])
            try:
                x = A.solve(rhs)
            except ZeroDivisionError:
                continue
            xs = flint.fmpq_mat(d + 1, 1, [x[j, 0] for j in range(d)] + [1])
            start, ok = 0, True
            for V in maps[:-1]:  # the prefix's sign conditions hold (closed) at the point
                z = V * xs
                ok = all((z[i, 0] >= 0) == prefix[start + i] or z[i, 0] == 0
                         for i in range(V.nrows()))
                start += V.nrows()
                if not ok:
                    break
            if ok:
                points.append([float(x[j, 0]) for j in range(d)])
    P = np.array(points)
    lo, hi = P.min(axis=0), P.max(axis=0)
    margin = pad * (hi - lo) + 1.0
    return Box(lo - margin, hi + margin), len(points)


def reaches_boundary(net: Network, box: Box, bits: tuple[bool, ...]) -> bool:
    """Whether the closed region ``bits`` meets the boundary of ``box`` (float LPs, own pull-back)."""
    d = net.input_dim
    A, c = np.eye(d), np.zeros(d)
    G, h, start = [], [], 0
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        M, m = W @ A, W @ c + b
        layer = np.array(bits[start:start + len(b)])
        s = np.where(layer, -1.0, 1.0)  # bit 1: -M x <= m ; bit 0: M x <= -m
        G.append(s[:, None] * M)
        h.append(-s * m)
        A, c = layer[:, None] * M, layer * m
        start += len(b)
    G, h = np.vstack(G), np.concatenate(h)
    width = box.hi - box.lo
    for i in range(d):
        for sign in (1.0, -1.0):
            cost = np.zeros(d)
            cost[i] = sign
            res = linprog(cost, A_ub=G, b_ub=h, bounds=list(zip(box.lo, box.hi)), method="highs")
            assert res.status == 0, res.message
            edge = box.lo[i] if sign > 0 else box.hi[i]
            if abs(res.x[i] - edge) <= 1e-9 * width[i]:
                return True
    return False


# --------------------------------------------------------------------------------- the nets
def _trained(name: str) -> Network:
    net, _ = load_npz(DATA / f"{name}.npz")
    return net


ONE_LAYER = {
    "trained_d2_10": lambda: _trained("trained_d2_10"),
    "random_d3_8": lambda: random_net(3, (8,), 401),
    "random_d4_7": lambda: random_net(4, (7,), 402),
}


def _net1(W, b) -> Network:
    W = np.asarray(W, float)
    return Network([W, np.ones((1, W.shape[0]))], [np.asarray(b, float), np.zeros(1)])


DEGENERATE = {
    # five lines through one point, and one more elsewhere
    "concurrent": lambda: _net1([[1, 0], [0, 1], [1, 1], [1, -1], [1, 2], [3, -1]],
                                [0, 0, 0, 0, 0, 2.5]),
    # three parallel lines crossed by two parallel lines (a grid), and a diagonal
    "parallel": lambda: _net1([[1, 0], [1, 0], [1, 0], [0, 1], [0, 2], [1, 1]],
                              [0, -1, 1, 0.5, -3, 0.25]),
    # a line given twice, once reversed and rescaled, a dead neuron, three lines at one point
    "duplicates": lambda: _net1([[1, 2], [2, 4], [-0.5, -1], [0, 0], [1, -1], [0, 1], [2, 1]],
                                [1, 2, -0.5, 3, 0, 0, 0]),
    # planes of R^3: four through one line, two more
    "pencil_d3": lambda: _net1([[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, -2, 0], [0, 0, 1], [1, 1, 1]],
                               [0, 0, 0, 0, 0.5, -1]),
}

DEEP = ["trained_d2_6x4", "trained_d2_4x3x3", "trained_d3_5x4", "trained_d4_5x4"]

#: The nets the parallel schedulers run (the serial one runs them all): two degenerate
#: arrangements and a trained two-layer net with three inputs.
PARALLEL_SUBSET = {"duplicates", "pencil_d3", "trained_d3_5x4"}


def _cases(names: list[str]) -> list:
    """``(name, combo)`` parameters: every whole-space combination, each net under the serial
    scheduler, the :data:`PARALLEL_SUBSET` under the others."""
    out = []
    for param in combo_params(**WHOLE_SPACE_COMBOS):
        combo = param.values[0]
        for name in names:
            if not combo.parallel or name in PARALLEL_SUBSET:
                out.append(pytest.param(name, combo, id=f"{param.id}-{name}", marks=param.marks))
    return out


@lru_cache(maxsize=None)
def _deep_reference(name: str) -> tuple[set, dict]:
    net = _trained(name)
    box, _ = vertex_box(net)
    patterns = brute_force(net, box).patterns
    return patterns, {p: not reaches_boundary(net, box, p) for p in patterns}


_runs: dict = {}


def _run(key: str, net: Network, combo):
    k = (key, combo.id)
    if k not in _runs:
        _runs[k] = combo.enumerate(net, WholeSpace(net.input_dim))
    return _runs[k]


# ------------------------------------------------------------------------------------ tests
def test_reference_formula_self_check() -> None:
    """Zaslavsky's count gives the general-position formula, and known degenerate counts."""
    rng = np.random.default_rng(5)
    for n, d in ((5, 2), (6, 3), (4, 4)):
        W, b = rng.standard_normal((n, d)), rng.standard_normal(n)
        assert arrangement_counts(W, b) == (sum(comb(n, i) for i in range(d + 1)), comb(n - 1, d))
    # three lines through one point: 6 regions, none bounded; a triangle: 7 regions, 1 bounded
    assert arrangement_counts(np.array([[1, 0], [0, 1], [1, 1.0]]), np.zeros(3)) == (6, 0)
    assert arrangement_counts(np.array([[1, 0], [0, 1], [1, 1.0]]), np.array([0, 0, -1.0])) == (7, 1)
    net = _trained("trained_d2_4x3x3")
    box, found = vertex_box(net)
    assert found > 0 and (box.hi - box.lo > 2).all()


@pytest.mark.parametrize("name,combo", _cases(sorted(ONE_LAYER) + sorted(DEGENERATE)),
                         indirect=["combo"])
def test_one_layer_matches_arrangement_count(name: str, combo) -> None:
    net = {**ONE_LAYER, **DEGENERATE}[name]()
    regions, bounded = arrangement_counts(net.weights[0], net.biases[0])
    if name in ONE_LAYER:  # general position
        n, d = net.weights[0].shape
        assert (regions, bounded) == (sum(comb(n, i) for i in range(d + 1)), comb(n - 1, d))
    got = _run(name, net, combo)
    assert len(got) == regions
    assert got.bounded is not None or bounded == regions
    flags = got.bounded if got.bounded is not None else np.ones(len(got), bool)
    assert int(flags.sum()) == bounded
    check_interior_points(net, got)
    result = combo.count(net, WholeSpace(net.input_dim))
    assert (result.regions, result.extra["unbounded"]) == (regions, regions - bounded)


@pytest.mark.parametrize("name,combo", _cases(DEEP), indirect=["combo"])
def test_deep_nets_match_brute_force_in_a_vertex_box(name: str, combo) -> None:
    net = _trained(name)
    patterns, bounded = _deep_reference(name)
    got = _run(name, net, combo)
    assert pattern_set(got.bits) == patterns
    flags = got.bounded if got.bounded is not None else np.ones(len(got), bool)
    for row, flag in zip(got.bits, flags):
        key = tuple(bool(v) for v in row)
        assert bool(flag) == bounded[key], f"bounded flag of {key}"
    check_interior_points(net, got)
    assert combo.count(net, WholeSpace(net.input_dim)).extra["unbounded"] == int((~flags).sum())


def test_whole_space_count_equals_a_box_holding_every_vertex() -> None:
    """The same net counted in its vertex box by the package (witness algorithm): same count."""
    config = EnumerationConfig(algorithm="witness", ranks=False)
    for name in DEEP:
        net = _trained(name)
        box, _ = vertex_box(net)
        assert count_regions(net, box, config).regions == \
            count_regions(net, WholeSpace(net.input_dim)).regions


def _bounded_only() -> list[str]:
    from reluregions.enumeration import ALGORITHMS
    from reluregions.enumeration.api import UNBOUNDED_ALGORITHMS

    return [a for a in ALGORITHMS if a != "default" and a not in UNBOUNDED_ALGORITHMS]


@pytest.mark.parametrize("algorithm", _bounded_only())
def test_bounded_only_algorithms_refuse_the_whole_space(algorithm: str) -> None:
    net = random_net(2, (3,), 1)
    with pytest.raises(OptionError, match="witness, paper"):
        count_regions(net, WholeSpace(2), EnumerationConfig(algorithm=algorithm))


def test_whole_space_default_picks_witness_even_in_high_dimension() -> None:
    net = random_net(40, (3,), 2)
    result = count_regions(net, WholeSpace(40))
    assert result.extra["algorithm"] == "witness"
    assert result.regions == sum(comb(3, i) for i in range(4))  # 3 planes in R^40: all 8 cells
    assert result.extra["unbounded"] == 8


def test_whole_space_domain() -> None:
    from reluregions import DomainError

    dom = WholeSpace(3)
    p = dom.parametrize()
    assert not dom.bounded and not p.bounded and p.G.shape == (0, 3) and p.dim == 3
    assert dom.contains(np.array([[1e300, -5, 0], [np.inf, 0, 0]])).tolist() == [True, False]
    assert dom.to_dict() == {"type": "whole_space", "dim": 3}
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DomainError):
            WholeSpace(bad)


def test_recession_certificates_on_thin_cones() -> None:
    """Cones a float LP alone could get wrong are decided by exact certificates."""
    from reluregions.geometry.lp import LPSolver
    from reluregions.geometry.recession import recession_bounded

    solver = LPSolver()
    eps = 2.0 ** -45
    cases = {  # rows G of {v : G v <= 0}: is the cone {0}?
        "triangle": ([[-1, 0], [1, 1], [1, -1]], True),
        "strip": ([[1, 0], [-1, 0]], False),
        "wedge": ([[1, 1], [1, -1]], False),
        "thin closed": ([[-1, 0], [eps, 1], [eps, -1]], True),
        "thin open": ([[-1, 0], [-eps, 1], [-eps, -1]], False),
        "half plane": ([[0, 1], [0, 2]], False),
    }
    for name, (rows, want) in cases.items():
        bounded, _, proved = recession_bounded(_qmat(np.array(rows, float)), solver)
        assert (bounded, proved) == (want, True), name

