"""The compiled pieces of the vertex traversal, one at a time: the double-description split of a
box (crossed edges, both children's vertices and incidences, interpolated distances), the rank,
and the named results of :func:`reluregions.geometry.dfs.dfs_packed`."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from reluregions.geometry.ddstep import _ball, _children, _edges
from reluregions.geometry.dfs import Frontier, Traversal
from reluregions.geometry.kernels import _rank, box_vertices


def _split_box(k: int, a: np.ndarray, o: float, extra: np.ndarray, lazy: bool = False):
    """Split [-1, 1]^k by a.t + o = 0 with the kernels (``lazy``: each child keeps every vertex);
    also carry the distances of one more hyperplane ``extra`` (a.t + o form) into the children."""
    V, inc = box_vertices(k, 1)
    p = len(V)
    S = np.concatenate([V @ a + o, V @ extra[:k] + extra[k]])
    eu, ev = np.empty(p * p, np.int64), np.empty(p * p, np.int64)
    n_new = _edges(inc, S, 0, p, 0, 1e-12, k, np.empty(p, np.int64), np.empty(1, np.uint64),
                   eu, ev, 1)
    n_zero = int(np.sum(np.abs(S[:p]) <= 1e-12))
    pa = int(np.sum(S[:p] > 1e-12)) + n_zero + n_new
    na = int(np.sum(S[:p] < -1e-12)) + n_zero + n_new
    if lazy:
        n_new, pa, na = 0, p, p
    aV = np.zeros((p + pa + na, k))
    aV[:p] = V
    aI = np.zeros((p + pa + na, 1), np.uint64)
    aI[:p] = inc
    aS = np.zeros(2 * p + (pa + na))
    aS[:2 * p] = S
    cid = 2 * k  # the new constraint's row
    _children(aV, aI, aS, 0, p, 0, 1, 1e-12, k, cid, eu, ev, np.empty(n_new), n_new, p, p + na,
              2 * p, 2 * p + na, na, pa, lazy)
    neg = (aV[p:p + na], aI[p:p + na, 0], aS[2 * p:2 * p + na])
    pos = (aV[p + na:p + na + pa], aI[p + na:p + na + pa, 0], aS[2 * p + na:2 * p + na + pa])
    return n_new, neg, pos


def _hull_vertices(k: int, a: np.ndarray, o: float, side: float) -> set:
    """Vertices of {t in [-1,1]^k : side * (a.t + o) >= 0} by brute force over k-subsets of the
    constraints (exact enough for these small cases)."""
    rows = [np.eye(k)[i] for i in range(k)] + [-np.eye(k)[i] for i in range(k)] + [-side * a]
    rhs = [1.0] * (2 * k) + [side * o]
    found = set()
    for sub in itertools.combinations(range(len(rows)), k):
        A = np.array([rows[i] for i in sub])
        if abs(np.linalg.det(A)) < 1e-12:
            continue
        x = np.linalg.solve(A, np.array([rhs[i] for i in sub]))
        if all(r @ x <= b + 1e-9 for r, b in zip(rows, rhs)):
            found.add(tuple(np.round(x, 9) + 0.0))
    return found


@pytest.mark.parametrize("k,a,o", [(2, [1.0, 1.0], 0.0),       # through two corners
                                   (2, [1.0, 0.3], 0.2),
                                   (3, [1.0, -2.0, 0.5], 0.1),
                                   (3, [1.0, 1.0, 1.0], 1.0)])   # through a vertex, degenerate
def test_split_of_a_box_matches_brute_force(k: int, a: list, o: float) -> None:
    a = np.asarray(a)
    extra = np.arange(1.0, k + 2)
    _, neg, pos = _split_box(k, a, o, extra)
    for (V, inc, S), side in ((neg, -1.0), (pos, 1.0)):
        assert {tuple(np.round(v, 9) + 0.0) for v in V} == _hull_vertices(k, a, o, side)
        assert np.allclose(S, V @ extra[:k] + extra[k])  # interpolated distances are exact
        on_plane = np.abs(V @ a + o) <= 1e-9
        has_bit = (inc >> np.uint64(2 * k)) & np.uint64(1) == 1
        assert np.array_equal(on_plane, has_bit)  # vertices on the cut carry its bit


@pytest.mark.parametrize("k,a,o", [(2, [1.0, 0.3], 0.2), (3, [1.0, 1.0, 1.0], 1.0)])
def test_lazy_split_gives_each_child_every_vertex_unmarked(k: int, a: list, o: float) -> None:
    """A lazy split (both sides proved exactly, float vertices not trusted to place the cut):
    each child is the whole cell, a superset of itself, with no vertex claiming the new row."""
    extra = np.arange(1.0, k + 2)
    V0, inc0 = box_vertices(k, 1)
    n_new, neg, pos = _split_box(k, np.asarray(a), o, extra, lazy=True)
    assert n_new == 0
    for V, inc, S in (neg, pos):
        assert np.array_equal(V, V0)
        assert np.array_equal(inc, inc0[:, 0])  # no bit of row 2k
        assert np.allclose(S, V @ extra[:k] + extra[k])


def test_ball_lies_inside_and_centres_at_the_vertex_centroid() -> None:
    k = 2
    V, _ = box_vertices(k, 1)
    G = np.vstack([np.eye(k), -np.eye(k)])
    h = np.ones(2 * k)
    centre = np.empty(k)
    r = _ball(V, 0, len(V), G, h, 0, 2 * k, k, centre)
    assert np.allclose(centre, 0.0) and 1.0 - 1e-12 < r <= 1.0


@pytest.mark.parametrize("seed", range(5))
def test_rank_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, nl = 4, 6
    AT = rng.normal(size=(k, nl))
    if seed % 2:
        AT[:, 3:] = AT[:, :3] @ rng.normal(size=(3, 3))  # rank 3 at most
        AT[3] = AT[0] + AT[1]
    assert _rank(AT, k, nl, np.empty((k, k)), np.empty((k, k))) == np.linalg.matrix_rank(AT)


def test_traversal_results_are_named() -> None:
    assert Traversal._fields[-1] == "frontier" and "pending" in Traversal._fields
    assert Frontier._fields[0] == "meta" and len(Frontier._fields) == 14


def _thin_net():
    """Lines in [-1, 1]^2 (normalised coordinates are the input's): ``x = 0``, ``y = 0`` and
    ``x + y = 0`` (through the vertex the first two make), ``2x = 0`` (the first line again,
    exactly), ``x + y + 2 = 0`` (touching the box at one corner only), and ``y = 0.5`` and
    ``y = 0.5 + 1e-12``: a sliver of width 1e-12. By hand: the three lines through the origin
    make six sectors; both horizontal lines cross the three upper ones (at ``x = 0`` and
    ``x = -0.5`` they bound them), each into three, so 3 + 3 * 3 = 12 regions, three of them
    slivers; the duplicate and the touching line add none."""
    from reluregions.network import Network

    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [1.0, 1.0], [0.0, 1.0],
                  [0.0, 1.0]])
    b = np.array([0.0, 0.0, 0.0, 0.0, 2.0, -0.5, -(0.5 + 1e-12)])
    return Network([W, np.ones((1, 7))], [b, np.zeros(1)])


def _hand_patterns() -> set:
    """The twelve patterns of :func:`_thin_net`, from one point inside each region."""
    s = 0.5 + 0.5e-12  # inside the sliver
    pts = [(-0.5, -0.5), (0.1, -0.5), (0.5, -0.1)]  # lower sectors
    for y in (0.25, s, 0.75):
        pts += [(0.5, y), (-0.5 * y, y), (-0.9, y)]  # right of x = 0, between, left of x + y = 0
    W, b = _thin_net().weights[0], _thin_net().biases[0]
    return {tuple((W @ np.array(p) + b > 0).tolist()) for p in pts}


def _run_vertex(net, box, radius_tol: float, budget: int):
    """Drive :class:`VertexAlgorithm` by hand (expand until no cell is open): bits, points,
    radii and the exact decisions made."""
    from reluregions.config import EnumerationConfig
    from reluregions.enumeration.api import make_problem
    from reluregions.enumeration.vertex import VertexAlgorithm
    from reluregions.tree import Context

    problem = make_problem(net, box, EnumerationConfig(algorithm="vertex", radius_tol=radius_tol,
                                                       ranks=False))
    algo = VertexAlgorithm(problem)
    ctx = Context.create(problem.config, problem.n_layers)
    stack, blocks = algo.roots(ctx), []
    while stack:
        children, regions = algo.expand(stack.pop(), ctx, budget=budget, count_only=False)
        stack.extend(children)
        blocks.append(regions)
    bits = np.vstack([b.bits for b in blocks if len(b)])
    points = np.vstack([b.points for b in blocks if len(b)])
    radii = np.concatenate([b.radii for b in blocks if len(b)])
    return bits, points, radii, ctx.stats.exact


@pytest.mark.parametrize("radius_tol,budget", [(1e-6, 4096), (1e-8, 1), (1e-10, 3)])
def test_vertex_counts_a_sliver_and_ignores_a_hyperplane_through_a_vertex(radius_tol,
                                                                          budget) -> None:
    from reluregions.domains import Box

    net = _thin_net()
    bits, points, radii, exact = _run_vertex(net, Box([-1.0, -1.0], [1.0, 1.0]), radius_tol,
                                             budget)
    expected = _hand_patterns()
    assert len(expected) == 12
    assert len(bits) == 12 and {tuple(b.tolist()) for b in bits} == expected
    assert exact > 0  # the sliver and the vertex on x + y = 0 are inside the float band
    W, b = net.weights[0], net.biases[0]
    for row, x in zip(bits, points):  # every published point strictly inside its region
        z = W @ x + b
        assert np.array_equal(z > 0, row) and np.all(z != 0)
    assert np.all(radii >= 0)


def test_vertex_counts_a_triangle_smaller_than_float_spacing() -> None:
    """Three lines through (0.2, -0.1) up to the rounding of their offsets: in exact arithmetic
    they bound a triangle about 1.5e-18 wide, far below what float vertices resolve, so the
    vertex algorithm enumerates that side with the exact side test. By hand (rationals): the
    six sectors' patterns from points 0.5 away, the triangle's from its exact centroid."""
    from fractions import Fraction

    from reluregions.domains import Box
    from reluregions.network import Network

    rng = np.random.default_rng(16)
    angles = np.sort(rng.uniform(0, np.pi, 3))
    W = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    b = -W @ np.array([0.2, -0.1])
    Wq = [[Fraction(x) for x in row] for row in W]
    bq = [Fraction(x) for x in b]

    def meet(i: int, j: int) -> tuple:
        (a, c), (d, e) = Wq[i], Wq[j]
        det = a * e - c * d
        return (-bq[i] * e + c * bq[j]) / det, (-a * bq[j] + d * bq[i]) / det

    corners = [meet(0, 1), meet(0, 2), meet(1, 2)]
    centroid = [sum(v[c] for v in corners) / 3 for c in range(2)]
    assert Wq[2][0] * corners[0][0] + Wq[2][1] * corners[0][1] + bq[2] != 0  # not concurrent
    expected = {tuple(bool(Wq[i][0] * centroid[0] + Wq[i][1] * centroid[1] + bq[i] > 0)
                      for i in range(3))}
    normals = np.concatenate([angles + np.pi / 2, angles - np.pi / 2])  # the six boundary rays
    rays = np.sort(np.mod(normals, 2 * np.pi))
    for theta in (rays + np.diff(np.append(rays, rays[0] + 2 * np.pi)) / 2):
        x = np.array([0.2, -0.1]) + 0.5 * np.array([np.cos(theta), np.sin(theta)])
        expected.add(tuple((W @ x + b > 0).tolist()))
    assert len(expected) == 7
    net = Network([W, np.ones((1, 3))], [b, np.zeros(1)])
    bits, points, radii, exact = _run_vertex(net, Box([-1.0, -1.0], [1.0, 1.0]), 1e-8, 4096)
    assert len(bits) == 7 and {tuple(r.tolist()) for r in bits} == expected and exact > 0
    for row, x, r in zip(bits, points, radii):
        if r > 0:  # a certified ball: its centre strictly inside (the triangle holds no float)
            assert np.array_equal(W @ x + b > 0, row)
