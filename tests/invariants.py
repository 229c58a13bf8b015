"""Invariant checks shared by every algorithm variant and scheduler (DESIGN.md sections 1 and 8).

Plain functions, no pytest state: each raises ``AssertionError`` with a readable message. The
module also defines the algorithm x first-layer x scheduler matrix (:class:`Combo`,
:func:`combo_params`) that ``tests/conftest.py`` turns into the ``combo`` fixture.

The brute-force reference below is written from scratch for the tests. It shares nothing with the
package but the ``Network``/``Box`` containers: its own normalisation of the box, its own pull-back of
the layers, its own LPs through ``scipy.optimize.linprog(method="highs")``, and its own exact
arithmetic (python-flint: a forward pass along a pattern, a vertex enumeration). It follows the rule
of DESIGN.md §1 (issue 15): a region counts when it has an interior for the network *as written*
(float weights are exact rationals), whatever its size; no tolerance decides that. Only
``zero_tol`` means the same thing as in the package (a neuron whose pulled-back row is at most
``zero_tol`` times its scale is constant on the cell; identically zero, bit 0, when its offset is
below that bound too).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

def _config_defaults() -> tuple[float, float]:
    from reluregions import EnumerationConfig

    cfg = EnumerationConfig()
    return cfg.radius_tol, cfg.zero_tol


#: The package's default tolerances. ``RADIUS_TOL`` is only the width of the package's band of float
#: decisions (it decides no region); the reference uses ``ZERO_TOL``, the constant-neuron rule.
RADIUS_TOL, ZERO_TOL = _config_defaults()

__all__ = [
    "RADIUS_TOL", "ZERO_TOL", "BruteForce", "brute_force", "brute_force_regions", "random_net",
    "one_layer_general_position", "fold_fixed_coordinates", "box_bounds", "pattern_set",
    "check_matches_brute_force", "check_regionset_wellformed", "check_interior_points",
    "check_dense_samples", "check_one_layer_formula", "check_d1_grid", "one_layer_formula",
    "Combo", "ALL_COMBOS", "FIRST_LAYERS", "backend_built", "combo_params", "combo_marks",
    "exact_rational", "exact_param_point", "exact_preactivations", "exact_pattern",
]


# ------------------------------------------------------------------------ the combination matrix
FIRST_LAYERS = ("incremental", "exhaustive")


def backend_built(name: str) -> bool:
    """Whether scheduler ``name`` has its module file ``src/reluregions/schedulers/<name>.py``."""
    import reluregions.schedulers as pkg

    return name == "serial" or (Path(pkg.__file__).resolve().parent / f"{name}.py").exists()


@dataclass(frozen=True)
class Combo:
    """One algorithm x first-layer enumerator x scheduler combination (a test parameter)."""

    algorithm: str
    first_layer: str
    scheduler: str

    @property
    def id(self) -> str:
        return f"{self.algorithm}-{self.first_layer}-{self.scheduler}"

    @property
    def parallel(self) -> bool:
        return self.scheduler != "serial"

    def config(self, **options: Any):
        """An ``EnumerationConfig`` for this combination (``options`` set the other fields)."""
        from reluregions import EnumerationConfig

        return EnumerationConfig(algorithm=self.algorithm, first_layer=self.first_layer, **options)


def _alias_algorithms() -> set[str]:
    """Names that only select another registered algorithm (``"default"``), when that is so."""
    from reluregions.enumeration import api

    return {"default"} if hasattr(api, "resolve_algorithm") else set()


def _all_combos() -> tuple[Combo, ...]:
    """Every algorithm x first layer x scheduler, except aliases under the parallel schedulers.

    ``"default"`` picks one of the other registered algorithms; under the serial scheduler it is
    tested as such (it is what users run), under the parallel ones the algorithm it picks is.
    """
    from reluregions.enumeration import ALGORITHMS
    from reluregions.schedulers import SCHEDULERS

    aliases = _alias_algorithms()
    return tuple(Combo(a, f, s) for a, f, s in itertools.product(ALGORITHMS, FIRST_LAYERS, SCHEDULERS)
                 if s == "serial" or a not in aliases)


ALL_COMBOS = _all_combos()


def combo_marks(combo: Combo) -> list:
    """A skip mark when the combination's backend has no module file yet, else nothing."""
    return [] if backend_built(combo.scheduler) else [pytest.mark.skip(reason="backend not built yet")]


def combo_params(**filters: Any) -> list:
    """``pytest.param(combo)`` for the combinations matching ``filters`` (a name or a tuple each)."""
    def ok(combo: Combo) -> bool:
        for key, want in filters.items():
            want = (want,) if isinstance(want, str) else tuple(want)
            if getattr(combo, key) not in want:
                return False
        return True

    return [pytest.param(c, id=c.id, marks=combo_marks(c)) for c in ALL_COMBOS if ok(c)]


# ---------------------------------------------------------------------------------------- helpers
def exact_rational(x: float) -> "flint.fmpq":
    """The float ``x`` as the exact rational it is (python-flint)."""
    import flint

    n, d = float(x).as_integer_ratio()
    return flint.fmpq(n, d)


def exact_param_point(param: Any, t: Any) -> list:
    """``x = x0 + U t`` in exact rationals, for a parametrisation's float ``x0, U`` (any object with
    those attributes) and a point ``t`` of floats or ``flint.fmpq``."""
    import flint

    x0, U = np.asarray(param.x0, dtype=float), np.asarray(param.U, dtype=float)
    tq = [v if isinstance(v, flint.fmpq) else exact_rational(v) for v in list(t)]
    return [exact_rational(x0[i]) + sum((exact_rational(U[i, j]) * tq[j] for j in range(len(tq))),
                                        exact_rational(0.0))
            for i in range(x0.size)]


def exact_preactivations(net, x: Any, bits: Any = None) -> list[list]:
    """Every hidden neuron's pre-activation at the input point ``x``, in exact rationals.

    ``x`` holds floats (taken as the rationals they are) or ``flint.fmpq``. Without ``bits`` this
    is the network's own forward pass (ReLU or LeakyReLU of the exact values); with ``bits`` (over
    all hidden neurons) each layer's output is taken along that pattern (``z`` where the bit is 1,
    ``slope * z`` where it is 0): the region's affine maps pulled back exactly, which is what an
    interior point of that region must satisfy strictly. Written for the tests (no package code).
    """
    import flint

    h = [v if isinstance(v, flint.fmpq) else exact_rational(v) for v in np.asarray(x, dtype=object)
         .reshape(-1).tolist()]
    slope = exact_rational(net.negative_slope)
    zero = flint.fmpq(0)
    out, pos = [], 0
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        z = [sum((exact_rational(w) * v for w, v in zip(row.tolist(), h) if w != 0.0), zero)
             + exact_rational(c) for row, c in zip(W, b.tolist())]
        out.append(z)
        on = [v > 0 for v in z] if bits is None else [bool(v) for v in bits[pos:pos + len(z)]]
        h = [v if a else slope * v for v, a in zip(z, on)]
        pos += len(z)
    return out


def exact_pattern(net, x: Any) -> tuple[tuple[bool, ...], bool]:
    """The exact activation pattern at ``x`` and whether every pre-activation there is non-zero
    (then ``x`` is strictly inside that pattern's region)."""
    z = [v for layer in exact_preactivations(net, x) for v in layer]
    return tuple(v > 0 for v in z), all(v != 0 for v in z)


def box_bounds(box: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` of a ``reluregions.Box`` or of a ``(lo, hi)`` pair, as float arrays."""
    if hasattr(box, "lo") and hasattr(box, "hi"):
        lo, hi = box.lo, box.hi
    else:
        lo, hi = box
    return np.asarray(lo, dtype=float).reshape(-1), np.asarray(hi, dtype=float).reshape(-1)


def pattern_set(bits: np.ndarray) -> set[tuple[bool, ...]]:
    """Rows of a bool matrix as a set of tuples."""
    return {tuple(bool(v) for v in row) for row in np.asarray(bits, dtype=bool)}


def _fmt(pattern: tuple[bool, ...]) -> str:
    return "".join("1" if b else "0" for b in pattern)


def random_net(d: int, widths: tuple[int, ...], seed: int, *, bias_scale: float = 0.5,
               negative_slope: float = 0.0, n_out: int = 1):
    """A random dense network (Gaussian weights scaled by 1/sqrt(fan-in), Gaussian biases)."""
    from reluregions import Network

    rng = np.random.default_rng(seed)
    sizes = (d, *widths, n_out)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [bias_scale * rng.standard_normal(o) for o in sizes[1:]]
    return Network(ws, bs, negative_slope)


def one_layer_general_position(n: int, d: int, seed: int, margin: float = 0.25):
    """``n`` random hyperplanes in ``R^d`` as a one-hidden-layer net, and a box holding every vertex.

    Every ``d``-subset of the hyperplanes meets in one point (a vertex of the arrangement); the box
    is their bounding box, widened by ``margin`` of its size, so every region of the arrangement
    meets the box in a full-dimensional set and the count must be ``sum_{i<=d} C(n, i)``.
    """
    from reluregions import Box, Network

    if n < d:
        raise ValueError("need n >= d hyperplanes so that every region has a vertex")
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n, d))
    b = rng.standard_normal(n)
    vertices = []
    for idx in itertools.combinations(range(n), d):
        idx = list(idx)
        vertices.append(np.linalg.solve(W[idx], -b[idx]))
    V = np.array(vertices)
    lo, hi = V.min(axis=0), V.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1.0)
    net = Network([W, rng.standard_normal((1, n))], [b, np.zeros(1)])
    return net, Box(lo - pad, hi + pad)


def one_layer_formula(n: int, d: int) -> int:
    """Regions of ``n`` hyperplanes in general position in ``R^d``: ``sum_{i=0..d} C(n, i)``."""
    return sum(comb(n, i) for i in range(min(n, d) + 1))


def fold_fixed_coordinates(net, box):
    """The lower-dimensional net and box obtained by folding the fixed coordinates into the bias."""
    from reluregions import Box, Network

    lo, hi = box_bounds(box)
    free = hi > lo
    W0, b0 = net.weights[0], net.biases[0]
    b_new = b0 + W0[:, ~free] @ lo[~free]
    ws = [W0[:, free], *net.weights[1:]]
    bs = [b_new, *net.biases[1:]]
    return Network(ws, bs, net.negative_slope), Box(lo[free], hi[free])


# ---------------------------------------------------------------------------------- brute force
#: The reference's float decisions: a candidate whose Chebyshev radius (unit rows, parameter
#: coordinates) is below ``-BAND`` has no interior. scipy's HiGHS runs with feasibility tolerances
#: of 1e-10, so a radius that far below 0 cannot belong to a polytope with an interior. Every
#: *kept* candidate is proved by a point checked exactly; everything in ``[-BAND, 0]``, or above 0
#: without such a point, is settled in exact rational arithmetic.
BAND = 1e-6
#: The largest number of ``k``-subsets of rows the exact vertex enumeration tries.
MAX_SUBSETS = 50_000
_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def _chebyshev(G: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Radius and centre of the largest ball in ``{t : G t <= h}`` (rows of unit norm); the radius
    is free below, so an empty polytope gives a negative one (``-inf`` if HiGHS says infeasible)."""
    k = G.shape[1]
    if k == 0:
        return (np.inf if bool((h >= 0).all()) else -np.inf), np.zeros(0)
    A = np.hstack([G, np.ones((G.shape[0], 1))])
    cost = np.zeros(k + 1)
    cost[-1] = -1.0
    res = linprog(cost, A_ub=A, b_ub=h, bounds=[(None, None)] * k + [(None, 10.0)],
                  method="highs", options=_LP_OPTIONS)
    if res.status == 2:
        return -np.inf, None
    if res.status != 0:
        raise AssertionError(f"brute force: scipy linprog failed: {res.message}")
    return float(res.x[-1]), res.x[:k]


class _ExactCandidate:
    """One candidate cell in exact rationals: its pattern's pre-activations along the pattern (the
    tests' own pull-back, :func:`exact_preactivations`), and the neurons that constrain it."""

    def __init__(self, net, x0: np.ndarray, U: np.ndarray, bits: tuple, live: list) -> None:
        self.net, self.x0, self.U = net, x0, U
        self.bits = np.zeros(net.n_hidden, dtype=bool)
        self.bits[:len(bits)] = bits
        self.live = live  # (layer, neuron, wanted sign) of every non-constant neuron so far

    def values(self, t: Any) -> list:
        """The live neurons' exact pre-activations at the parameter point ``t`` (floats or fmpq)."""
        z = exact_preactivations(self.net, exact_param_point(self, t), self.bits)
        return [z[lay][j] for lay, j, _ in self.live]

    def strictly_inside(self, t: np.ndarray) -> bool:
        """Whether ``t`` is strictly inside the cell: ``|t_i| < 1`` and every live sign strict."""
        if not bool(np.all(np.abs(t) < 1.0)):
            return False
        return all((v > 0) if want else (v < 0) for v, (_, _, want) in zip(self.values(t), self.live))

    def has_interior(self) -> bool:
        """Exactly: whether ``{t : |t_i| <= 1, each live sign}`` is full-dimensional.

        The polytope is bounded (the box), so it is the hull of its vertices: every ``k`` of its
        rows that meet in one point are solved in rationals (python-flint) and the point kept when
        it satisfies every row; the interior is non-empty exactly when these vertices span ``k``
        dimensions. (Only in the band, and only for small systems: at most ``MAX_SUBSETS`` solves.)
        """
        import flint

        k = self.U.shape[1]
        if comb(2 * k + len(self.live), k) > MAX_SUBSETS:
            raise AssertionError(f"brute force: an undecided candidate with {len(self.live)} "
                                 f"constraints in {k} dimensions is too large to settle by vertices")
        zero = [flint.fmpq(0)] * k
        base = self.values(zero)
        rows, rhs = [], []
        for i in range(k):  # the box: t_i <= 1 and -t_i <= 1
            e = [flint.fmpq(int(c == i)) for c in range(k)]
            rows += [e, [-v for v in e]]
            rhs += [flint.fmpq(1), flint.fmpq(1)]
        slopes = [self.values([flint.fmpq(int(c == i)) for c in range(k)]) for i in range(k)]
        for a, (_, _, want) in enumerate(self.live):
            grad = [slopes[i][a] - base[a] for i in range(k)]
            sign = 1 if want else -1  # want sign * (grad . t + base) > 0
            if all(g == 0 for g in grad):
                if sign * base[a] <= 0:
                    return False
                continue
            rows.append([-sign * g for g in grad])
            rhs.append(sign * base[a])
        vertices = []
        for idx in itertools.combinations(range(len(rows)), k):
            M = flint.fmpq_mat(k, k, [v for i in idx for v in rows[i]])
            if M.det() == 0:
                continue
            v = M.solve(flint.fmpq_mat(k, 1, [rhs[i] for i in idx]))
            v = [v[i, 0] for i in range(k)]
            if all(sum((r * c for r, c in zip(row, v)), flint.fmpq(0)) <= b
                   for row, b in zip(rows, rhs)):
                vertices.append(v)
        if not vertices:
            return False
        diffs = [[a - b for a, b in zip(v, vertices[0])] for v in vertices[1:]]
        return bool(diffs) and flint.fmpq_mat(len(diffs), k, [c for d in diffs for c in d]).rank() == k


@dataclass
class BruteForce:
    """Result of :func:`brute_force`: canonical patterns with their ranks, and cells per layer.

    ``exact`` counts the candidates settled in exact arithmetic (inside the float band)."""

    ranks: dict[tuple[bool, ...], tuple[int, ...]] = field(default_factory=dict)
    per_layer: list[int] = field(default_factory=list)
    lps: int = 0
    exact: int = 0

    @property
    def patterns(self) -> set[tuple[bool, ...]]:
        return set(self.ranks)

    def __len__(self) -> int:
        return len(self.ranks)


def brute_force(net, box, zero_tol: float = ZERO_TOL, max_hidden: int = 16) -> BruteForce:
    """Every full-dimensional activation region of a tiny ``net`` in ``box``, by listing sign vectors.

    A region is full-dimensional for the network *as written* (DESIGN.md §1, issue 15): its float
    weights are exact rationals, and no tolerance decides whether a region exists. For each layer in
    order and each cell kept so far, every sign vector of the layer's non-constant neurons is tried:
    the cell's constraints plus the layer's pulled-back sign constraints (built with that prefix's
    ``D`` matrices) give a polytope in the coordinates ``t = (x - centre) / halfwidth`` of the free
    box coordinates. One Chebyshev LP (scipy, unit rows) proposes; the candidate is kept when its
    centre is strictly inside in exact rational arithmetic (the tests' own forward pass along the
    pattern, python-flint), dropped when the radius is below ``-BAND``, and otherwise settled
    exactly (:meth:`_ExactCandidate.has_interior`: the polytope's vertices in rationals). Pruning a
    prefix without interior is exact: adding constraints never creates one.

    A neuron whose pulled-back row is at most ``zero_tol`` times its scale is constant on the cell
    (the documented relative tolerance of DESIGN.md §1, the one rule that stays a tolerance): it
    is no constraint, and its bit is 1 when its offset exceeds that bound, else 0 (identically
    zero or negative). Nothing here is shared with the package but the ``Network``/``Box``
    containers and the default ``zero_tol``.
    """
    if net.n_hidden > max_hidden:
        raise ValueError(f"brute force is for at most {max_hidden} hidden neurons, got {net.n_hidden}")
    lo, hi = box_bounds(box)
    free = np.flatnonzero(hi > lo)
    k = free.size
    x0 = (lo + hi) / 2
    U = np.zeros((lo.size, k))
    U[free, np.arange(k)] = (hi - lo)[free] / 2
    G0 = np.vstack([np.eye(k), -np.eye(k)])
    h0 = np.ones(2 * k)
    slope = net.negative_slope
    out = BruteForce()
    # frontier entries: (G, h, A, c, bits, ranks, live) with h_{l-1}(t) = A t + c on the cell
    frontier = [(G0, h0, U, x0, (), (), [])]
    for layer, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
        new = []
        for G, h, A, c, bits, ranks, live in frontier:
            M = W @ A
            m = W @ c + b
            scale = np.abs(W) @ (np.abs(A).sum(axis=1) + np.abs(c)) + np.abs(b)
            tol = zero_tol * np.maximum(scale, 1e-300)
            norms = np.linalg.norm(M, axis=1)
            const = norms <= tol
            idx = np.flatnonzero(~const)
            for signs in itertools.product((False, True), repeat=idx.size):
                layer_bits = m > tol  # constant neurons: on when the offset clears the bound
                layer_bits[idx] = signs
                sgn = np.where(signs, 1.0, -1.0)
                # bit 1: z = M t + m > 0  <=>  -M t < m ;  bit 0: M t < -m   (unit rows)
                G2 = np.vstack([G, -sgn[:, None] * M[idx] / norms[idx, None]])
                h2 = np.concatenate([h, sgn * m[idx] / norms[idx]])
                cand = _ExactCandidate(net, x0, U, bits + tuple(bool(v) for v in layer_bits),
                                       live + [(layer, int(j), bool(s)) for j, s in zip(idx, signs)])
                out.lps += 1
                r, centre = _chebyshev(G2, h2)
                if r < -BAND:
                    continue
                if not (r > 0 and centre is not None and cand.strictly_inside(centre)):
                    if r > BAND:
                        raise AssertionError(f"brute force: the Chebyshev centre of a cell of radius "
                                             f"{r:.3g} is not inside it exactly")
                    out.exact += 1
                    if not cand.has_interior():
                        continue
                dd = np.where(layer_bits, 1.0, slope)
                A2 = dd[:, None] * M
                c2 = dd * m
                rank = int(np.linalg.matrix_rank(A2)) if A2.size else 0
                new.append((G2, h2, A2, c2, bits + tuple(bool(v) for v in layer_bits),
                            ranks + (rank,), cand.live))
        out.per_layer.append(len(new))
        frontier = new
    for *_, bits, ranks, _live in frontier:
        if bits in out.ranks:
            raise AssertionError(f"brute force produced pattern {_fmt(bits)} twice")
        out.ranks[bits] = ranks
    return out


def brute_force_regions(net, box, zero_tol: float = ZERO_TOL) -> set[tuple[bool, ...]]:
    """The set of canonical patterns of the full-dimensional regions (see :func:`brute_force`)."""
    return brute_force(net, box, zero_tol).patterns


# ------------------------------------------------------------------------------------- checkers
def check_matches_brute_force(regionset, reference: BruteForce, *, check_ranks: bool = True) -> None:
    """The region set holds exactly the brute-force patterns (and, if recorded, the same ranks)."""
    got = pattern_set(regionset.bits)
    if len(got) != len(regionset):
        raise AssertionError(f"{len(regionset) - len(got)} duplicated patterns in the region set")
    want = reference.patterns
    missing, extra = want - got, got - want
    if missing or extra:
        raise AssertionError(
            f"{len(got)} regions, brute force has {len(want)}: {len(missing)} missing "
            f"{sorted(map(_fmt, missing))[:4]}, {len(extra)} extra {sorted(map(_fmt, extra))[:4]}")
    if not check_ranks or regionset.ranks.size == 0 or (regionset.ranks < 0).any():
        return
    for row, ranks in zip(regionset.bits, regionset.ranks):
        key = tuple(bool(v) for v in row)
        if tuple(int(r) for r in ranks) != reference.ranks[key]:
            raise AssertionError(f"ranks of {_fmt(key)}: {ranks.tolist()}, brute force "
                                 f"{list(reference.ranks[key])}")


def check_regionset_wellformed(net, domain, regionset) -> None:
    """Shapes, unique patterns, radii non-negative, points in the domain, sane ranks.

    A radius is a certified inscribed ball around the point (or the Chebyshev radius): any size,
    0 included for a region thinner than float arithmetic can certify a ball in (DESIGN.md §1: no
    tolerance decides what a region is; the point itself is still strictly inside)."""
    n = len(regionset)
    assert regionset.bits.shape == (n, net.n_hidden), regionset.bits.shape
    assert regionset.bits.dtype == bool
    assert regionset.points.shape == (n, net.input_dim), regionset.points.shape
    assert regionset.radii.shape == (n,)
    assert n >= 1, "every non-empty domain has at least one region"
    assert len(pattern_set(regionset.bits)) == n, "duplicated patterns"
    assert np.isfinite(regionset.points).all()
    k = domain.parametrize().dim
    if k > 0 and n:
        assert (regionset.radii >= 0).all(), f"negative radius {regionset.radii.min():.3g}"
    inside = domain.contains(regionset.points, tol=1e-7)
    assert inside.all(), f"{int((~inside).sum())} interior points lie outside the domain"
    ranks = regionset.ranks
    L = len(net.hidden_widths)
    if ranks.size and (ranks >= 0).all():
        assert ranks.shape == (n, L)
        widths = np.array(net.hidden_widths)
        assert (ranks <= np.minimum(widths, k)[None, :]).all(), "a rank exceeds width or domain dim"
        assert (np.diff(ranks, axis=1) <= 0).all(), "rank grew along the layers (impossible)"


def check_interior_points(net, regionset, rel_tol: float = ZERO_TOL) -> None:
    """Each region's interior point has the region's pattern: in floats on every bit clearing the
    rounding band, in exact rationals on the bits 1 inside it."""
    if len(regionset) == 0:
        return
    bits, sure = net.pattern_margin(regionset.points, rel_tol)
    bad = ((bits != regionset.bits) & sure).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        cols = np.flatnonzero((bits[i] != regionset.bits[i]) & sure[i])
        raise AssertionError(f"{int(bad.sum())} of {len(regionset)} interior points disagree with "
                             f"their region's pattern; first: region {i}, neurons {cols.tolist()}, "
                             f"point {regionset.points[i].tolist()}")
    # An unsure bit 0 may belong to a neuron identically zero there (up to the relative tolerance,
    # which a point cannot tell from a thin side). An unsure bit 1 belongs to a region thinner than
    # the rounding band at its point (they count, DESIGN.md §1): its pre-activation, along the
    # region's pattern in exact rationals, must be positive.
    for i in np.flatnonzero((~sure & regionset.bits).any(axis=1)).tolist():
        z = np.array([v for layer in exact_preactivations(net, regionset.points[i], regionset.bits[i])
                      for v in layer], dtype=object)
        cols = np.flatnonzero(~sure[i] & regionset.bits[i])
        if not all(z[j] > 0 for j in cols):
            raise AssertionError(f"region {i} has bit 1 on a neuron whose exact pre-activation at "
                                 f"the interior point is not positive")


def _sample_box(box, n: int, seed: int) -> np.ndarray:
    lo, hi = box_bounds(box)
    rng = np.random.default_rng(seed)
    return lo + (hi - lo) * rng.random((n, lo.size))


def check_dense_samples(net, box, regionset, n: int = 100_000, seed: int = 0,
                        rel_tol: float = ZERO_TOL) -> float:
    """No sampled pattern is missing from the region set.

    Points whose bits all clear the rounding band must have their full pattern listed; the rest
    must agree on their sure bits with at least one listed region. Returns the fraction of listed
    regions that the samples hit (for information).
    """
    x = _sample_box(box, n, seed)
    bits, sure = net.pattern_margin(x, rel_tol)
    listed = {row.tobytes(): i for i, row in enumerate(np.packbits(regionset.bits, axis=1))}
    all_sure = sure.all(axis=1)
    packed = np.packbits(bits[all_sure], axis=1)
    uniq, first = np.unique(packed, axis=0, return_index=True)
    hit = set()
    for row, j in zip(uniq, first):
        key = row.tobytes()
        if key not in listed:
            p = x[all_sure][j]
            raise AssertionError(f"sample {p.tolist()} has pattern "
                                 f"{_fmt(tuple(bits[all_sure][j]))}, which no region lists")
        hit.add(listed[key])
    idx = np.flatnonzero(~all_sure)
    if idx.size:
        R = regionset.bits
        for i in idx[:5000]:
            ok = ((R == bits[i]) | ~sure[i]).all(axis=1)
            if not ok.any():
                raise AssertionError(f"sample {x[i].tolist()}: its sure bits match no region")
            if ok.sum() == 1:
                hit.add(int(np.flatnonzero(ok)[0]))
    return len(hit) / max(len(regionset), 1)


def check_one_layer_formula(net, box, count: int) -> None:
    """A one-hidden-layer net in general position, box holding every vertex: ``sum C(n, i)``."""
    assert len(net.hidden_widths) == 1, "the formula is for one hidden layer"
    lo, hi = box_bounds(box)
    d = int((hi > lo).sum())
    want = one_layer_formula(net.hidden_widths[0], d)
    assert count == want, f"{count} regions, but {net.hidden_widths[0]} hyperplanes in general " \
                          f"position in R^{d} make {want}"


def check_d1_grid(net, box, regionset, n: int = 20_001, refine: int = 2_000) -> int:
    """``d = 1``: regions are intervals, so the pattern runs along a fine grid are the regions.

    Between two neighbouring grid points with different patterns a finer grid is laid, so that
    intervals shorter than the grid step are still seen. Bits inside the rounding band are read as
    0 (the canonical bit of a neuron identically zero there). Returns the number of runs.
    """
    lo, hi = box_bounds(box)
    free = np.flatnonzero(hi > lo)
    assert free.size == 1, "check_d1_grid needs a box with exactly one free coordinate"
    j = int(free[0])

    def patterns(s: np.ndarray) -> np.ndarray:
        x = np.tile(lo, (s.size, 1))
        x[:, j] = s
        bits, sure = net.pattern_margin(x)
        return bits & sure

    s = np.linspace(lo[j], hi[j], n)
    P = patterns(s)
    change = np.flatnonzero((P[1:] != P[:-1]).any(axis=1))
    # lay a finer grid strictly inside every step where the pattern changes, all in one batch
    frac = np.linspace(0.0, 1.0, refine)[1:-1]
    fine_s = (s[change, None] + (s[change + 1] - s[change])[:, None] * frac[None, :]).ravel()
    all_s = np.concatenate([s, fine_s])
    order = np.argsort(all_s, kind="stable")
    seq = np.concatenate([P, patterns(fine_s)])[order]
    keep = np.concatenate([[True], (seq[1:] != seq[:-1]).any(axis=1)])
    runs = seq[keep]
    run_set = pattern_set(runs)
    assert len(run_set) == len(runs), "a pattern occurs on two separate intervals (impossible)"
    listed = pattern_set(regionset.bits)
    assert run_set <= listed, f"grid patterns not listed: {sorted(map(_fmt, run_set - listed))[:4]}"
    assert len(runs) == len(regionset), f"{len(runs)} intervals along the grid, " \
                                        f"{len(regionset)} regions listed"
    return len(runs)
