"""Invariant checks shared by every algorithm variant and scheduler (DESIGN.md sections 1 and 8).

Plain functions, no pytest state: each raises ``AssertionError`` with a readable message. The
module also defines the algorithm x first-layer x scheduler matrix (:class:`Combo`,
:func:`combo_params`) that ``tests/conftest.py`` turns into the ``combo`` fixture.

The brute-force reference and the exact-arithmetic helpers live in ``tests/exact_reference.py``
(re-exported here): written from scratch for the tests, they follow the rule of DESIGN.md §1 (a
region counts when it has an interior for the network as written, whatever its size; only the
constant-neuron rule ``zero_tol`` is a tolerance).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exact_reference import (BAND, RADIUS_TOL, ZERO_TOL, BruteForce, box_bounds, brute_force,
                             brute_force_regions, exact_param_point, exact_pattern,
                             exact_preactivations, exact_rational, format_pattern)

__all__ = [
    "RADIUS_TOL", "ZERO_TOL", "BruteForce", "brute_force", "brute_force_regions", "random_net",
    "one_layer_general_position", "fold_fixed_coordinates", "box_bounds", "pattern_set",
    "check_matches_brute_force", "check_regionset_wellformed", "check_interior_points",
    "check_dense_samples", "check_one_layer_formula", "check_d1_grid", "one_layer_formula",
    "Combo", "ALL_COMBOS", "FIRST_LAYERS", "backend_built", "combo_params", "combo_marks",
    "exact_rational", "exact_param_point", "exact_preactivations", "exact_pattern", "BAND",
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
def pattern_set(bits: np.ndarray) -> set[tuple[bool, ...]]:
    """Rows of a bool matrix as a set of tuples."""
    return {tuple(bool(v) for v in row) for row in np.asarray(bits, dtype=bool)}


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
            f"{sorted(map(format_pattern, missing))[:4]}, {len(extra)} extra "
            f"{sorted(map(format_pattern, extra))[:4]}")
    if not check_ranks or regionset.ranks.size == 0 or (regionset.ranks < 0).any():
        return
    for row, ranks in zip(regionset.bits, regionset.ranks):
        key = tuple(bool(v) for v in row)
        if tuple(int(r) for r in ranks) != reference.ranks[key]:
            raise AssertionError(f"ranks of {format_pattern(key)}: {ranks.tolist()}, brute force "
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
                                 f"{format_pattern(tuple(bits[all_sure][j]))}, which no region lists")
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
    assert run_set <= listed, f"grid patterns not listed: {sorted(map(format_pattern, run_set - listed))[:4]}"
    assert len(runs) == len(regionset), f"{len(runs)} intervals along the grid, " \
                                        f"{len(regionset)} regions listed"
    return len(runs)
