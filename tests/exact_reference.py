"""The brute-force reference of the invariant suite, and the tests' own exact arithmetic.

Written from scratch for the tests: it shares nothing with the package but the ``Network``/``Box``
containers and the default tolerances. Its own normalisation of the box, its own pull-back of the
layers, its own LPs through ``scipy.optimize.linprog(method="highs")``, and its own exact
arithmetic (python-flint: a forward pass along a pattern, a vertex enumeration). It follows the rule
of DESIGN.md §1 (issue 15): a region counts when it has an interior for the network *as written*
(float weights are exact rationals), whatever its size; no tolerance decides that. Only
``zero_tol`` means the same thing as in the package (a neuron whose pulled-back row is at most
``zero_tol`` times its scale is constant on the cell; identically zero, bit 0, when its offset is
below that bound too). ``tests/invariants.py`` re-exports all of it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import comb
from typing import Any

import flint
import numpy as np
from scipy.optimize import linprog

__all__ = [
    "RADIUS_TOL", "ZERO_TOL", "BAND", "BruteForce", "brute_force", "brute_force_regions",
    "box_bounds", "format_pattern", "exact_rational", "exact_param_point", "exact_preactivations",
    "exact_pattern",
]


def _config_defaults() -> tuple[float, float]:
    from reluregions import EnumerationConfig

    cfg = EnumerationConfig()
    return cfg.radius_tol, cfg.zero_tol


#: The package's default tolerances. ``RADIUS_TOL`` is only the width of the package's band of float
#: decisions (it decides no region); the reference uses ``ZERO_TOL``, the constant-neuron rule.
RADIUS_TOL, ZERO_TOL = _config_defaults()


# ------------------------------------------------------------------------------- exact arithmetic
def exact_rational(x: float) -> flint.fmpq:
    """The float ``x`` as the exact rational it is (python-flint)."""
    n, d = float(x).as_integer_ratio()
    return flint.fmpq(n, d)


def exact_param_point(param: Any, t: Any) -> list:
    """``x = x0 + U t`` in exact rationals, for a parametrisation's float ``x0, U`` (any object with
    those attributes) and a point ``t`` of floats or ``flint.fmpq``."""
    x0, U = np.asarray(param.x0, dtype=float), np.asarray(param.U, dtype=float)
    tq = [v if isinstance(v, flint.fmpq) else exact_rational(v) for v in list(t)]
    return [exact_rational(x0[i]) + sum((exact_rational(U[i, j]) * tq[j] for j in range(len(tq))),
                                        flint.fmpq(0))
            for i in range(x0.size)]


def exact_preactivations(net, x: Any, bits: Any = None) -> list[list]:
    """Every hidden neuron's pre-activation at the input point ``x``, in exact rationals.

    ``x`` holds floats (taken as the rationals they are) or ``flint.fmpq``. Without ``bits`` this
    is the network's own forward pass (ReLU or LeakyReLU of the exact values); with ``bits`` (over
    all hidden neurons) each layer's output is taken along that pattern (``z`` where the bit is 1,
    ``slope * z`` where it is 0): the region's affine maps pulled back exactly, which is what an
    interior point of that region must satisfy strictly. Written for the tests (no package code).
    """
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

def format_pattern(pattern: tuple[bool, ...]) -> str:
    """A pattern as a string of 0s and 1s."""
    return "".join("1" if b else "0" for b in pattern)


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
            raise AssertionError(f"brute force produced pattern {format_pattern(bits)} twice")
        out.ranks[bits] = ranks
    return out


def brute_force_regions(net, box, zero_tol: float = ZERO_TOL) -> set[tuple[bool, ...]]:
    """The set of canonical patterns of the full-dimensional regions (see :func:`brute_force`)."""
    return brute_force(net, box, zero_tol).patterns
