"""The invariant suite: must pass for every algorithm x first-layer enumerator x scheduler.

Each test taking ``combo`` runs once per combination (see ``tests/conftest.py``). Enumerations are
cached per (case, combination), so the several checks of one case share one run; the brute-force
reference (``tests/invariants.py``) is computed once per case.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invariants import (RADIUS_TOL, brute_force, check_d1_grid, check_dense_samples,
                        check_interior_points, check_matches_brute_force, check_one_layer_formula,
                        check_regionset_wellformed, combo_params, exact_pattern,
                        fold_fixed_coordinates, one_layer_formula, one_layer_general_position,
                        pattern_set, random_net)
from reluregions import Box, EnumerationConfig, Network, enumerate_regions
from reluregions.network import load_npz
from reluregions.schedulers import SerialScheduler, make_scheduler
from reluregions.testing import assert_regionsets_equal

DATA = Path(__file__).resolve().parents[1] / "data"
REFERENCE_ID = "paper-incremental-serial"


# ------------------------------------------------------------------------------------------ cases
@dataclass(frozen=True)
class Case:
    """A network and a box; ``expected`` is a count known by construction (or None)."""

    id: str
    build: Callable[[], tuple[Network, Box]]
    expected: int | None = None
    samples: int = 20_000


def _random_box(d: int, seed: int) -> Box:
    rng = np.random.default_rng(seed + 7919)
    return Box(-rng.uniform(1.0, 3.0, d), rng.uniform(1.0, 3.0, d))


def _random_case(d: int, widths: tuple[int, ...], seed: int) -> Case:
    def build():
        return random_net(d, widths, seed), _random_box(d, seed)

    name = "x".join(map(str, widths))
    return Case(f"rand-d{d}-{name}-s{seed}", build)


RANDOM_CASES = [_random_case(d, w, 100 * d + 10 * i + s)
                for d in (1, 2, 3)
                for i, w in enumerate([(4, 4), (3, 3, 3), (6,), (5, 4)])
                for s in (0, 1)]


def _net(ws, bs, slope: float = 0.0) -> Network:
    return Network([np.asarray(w, float) for w in ws], [np.asarray(b, float) for b in bs], slope)


def _editable(net: Network) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases]


def _duplicated_neurons():
    ws, bs = _editable(random_net(2, (4, 4), 11))
    ws[0][1], bs[0][1] = ws[0][0], bs[0][0]              # same hyperplane, same side
    ws[0][2], bs[0][2] = -2.0 * ws[0][0], -2.0 * bs[0][0]  # same hyperplane, opposite side
    ws[1][3], bs[1][3] = ws[1][0], bs[1][0]              # duplicated second-layer neuron
    return _net(ws, bs), Box([-2, -2], [2, 2])


def _zero_rows():
    ws, bs = _editable(random_net(2, (5, 4), 12))
    ws[0][0], bs[0][0] = 0.0, 0.7    # constant positive: always active
    ws[0][1], bs[0][1] = 0.0, -0.7   # constant negative: always inactive
    ws[0][2], bs[0][2] = 0.0, 0.0    # identically zero: bit 0
    ws[1][1], bs[1][1] = 0.0, 0.0    # identically zero in layer 2
    return _net(ws, bs), Box([-2, -2], [2, 2])


def _zero_column():
    ws, bs = _editable(random_net(2, (4, 4), 13))
    ws[1][:, 0] = 0.0  # layer-1 neuron 0 feeds nothing, but still cuts layer 1
    return _net(ws, bs), Box([-2, -2], [2, 2])


def _dead_neurons():
    ws, bs = _editable(random_net(2, (4, 4), 14))
    bs[0][3] = -10.0   # never active on the box
    bs[1][2] = -10.0   # never active either
    return _net(ws, bs), Box([-1, -1], [1, 1])


def _cancellation():
    # Layer-2 neuron 0 is relu(a x + 0.3) - relu(a x - 0.2): identically zero where both are off,
    # constant 0.5 where both are on, and a ramp in between.
    ws, bs = _editable(random_net(2, (4, 3), 15))
    ws[0][1], bs[0][0], bs[0][1] = ws[0][0], 0.3, -0.2
    ws[1][0] = 0.0
    ws[1][0][0], ws[1][0][1], bs[1][0] = 1.0, -1.0, 0.0
    ws[1][1] = 0.0
    ws[1][1][0], ws[1][1][1], bs[1][1] = 1.0, -1.0, -0.25  # zero where both off: constant -0.25
    return _net(ws, bs), Box([-2, -2], [2, 2])


def _corner_hyperplanes():
    # x + y = 2 touches the box only at its corner (1, 1); x - y = 0 is the diagonal through two
    # corners; x = 1 lies on a facet.
    W0 = [[1, 1], [1, -1], [1, 0]]
    b0 = [-2, 0, -1]
    return _net([W0, [[1, 1, 1]]], [b0, [0]]), Box([-1, -1], [1, 1])


def _concurrent_lines(n: int, seed: int):
    # n lines through one interior point: 2 n regions; a random second layer on top. The normals are
    # multiples of 2^-20 and the point is dyadic, so b0 = -W0 p is computed exactly and the lines
    # meet in one point in exact arithmetic: lines that met only up to rounding would enclose real
    # regions of size 1e-17 between them, and those count (DESIGN.md §1).
    rng = np.random.default_rng(seed)
    p = np.array([0.1875, -0.09375])
    angles = np.sort(rng.uniform(0, np.pi, n))
    W0 = np.round(np.stack([np.cos(angles), np.sin(angles)], axis=1) * 2.0 ** 20) / 2.0 ** 20
    b0 = -W0 @ p
    return W0, b0


def _three_lines_one_point():
    W0, b0 = _concurrent_lines(3, 16)
    return _net([W0, np.ones((1, 3))], [b0, [0.0]]), Box([-1, -1], [1, 1])


def _five_lines_two_layers():
    W0, b0 = _concurrent_lines(5, 17)
    rng = np.random.default_rng(17)
    return (_net([W0, rng.standard_normal((3, 5)), np.ones((1, 3))],
                 [b0, 0.3 * rng.standard_normal(3), [0.0]]), Box([-1, -1], [1, 1]))


def _fixed_coordinate():
    return random_net(3, (4, 4), 18), Box([-2, 0.3, -1], [2, 0.3, 1.5])


def _leaky():
    ws, bs = _editable(random_net(2, (5, 4), 19))
    return _net(ws, bs, 0.1), Box([-2, -2], [2, 2])


def _leaky_degenerate():
    net, box = _zero_rows()
    ws, bs = _editable(net)
    return _net(ws, bs, 0.2), box


def _lopsided_box():
    return random_net(2, (5, 4), 20), Box([-5.0, 2.0], [3.0, 9.0])


DEGENERATE_CASES = [
    Case("duplicated-neurons", _duplicated_neurons),
    Case("zero-rows", _zero_rows),
    Case("zero-column", _zero_column),
    Case("dead-neurons", _dead_neurons),
    Case("cancellation", _cancellation),
    Case("corner-hyperplanes", _corner_hyperplanes, expected=2),
    Case("three-lines-one-point", _three_lines_one_point, expected=6),
    Case("five-concurrent-two-layers", _five_lines_two_layers),
    Case("fixed-coordinate", _fixed_coordinate),
    Case("leaky", _leaky),
    Case("leaky-zero-rows", _leaky_degenerate),
    Case("lopsided-box", _lopsided_box),
]

ALL_CASES = RANDOM_CASES + DEGENERATE_CASES
# A few cases get the full 10^5 samples; the rest 2 10^4 (the reference nets get 10^5 as well).
DENSE = {"rand-d2-5x4-s230", "rand-d3-3x3x3-s310", "five-concurrent-two-layers", "cancellation"}
ALL_CASES = [Case(c.id, c.build, c.expected, 100_000 if c.id in DENSE else c.samples)
             for c in ALL_CASES]
#: Cases run under the parallel schedulers too (None: all of them): every degenerate case and one
#: seed of each random shape (the serial scheduler runs them all).
PARALLEL_CASES: set[str] | None = ({c.id for c in DEGENERATE_CASES}
                                   | {c.id for c in RANDOM_CASES if c.id.endswith("0")})
#: Dense samples per case under the parallel schedulers.
PARALLEL_SAMPLES = 5_000


def _case_combo_params() -> list:
    out = []
    for case in ALL_CASES:
        for p in combo_params():
            combo = p.values[0]
            if combo.parallel and PARALLEL_CASES is not None and case.id not in PARALLEL_CASES:
                continue
            out.append(pytest.param(case, combo, id=f"{combo.id}-{case.id}", marks=p.marks))
    return out


case_param = pytest.mark.parametrize("case,combo", _case_combo_params(), indirect=["combo"])

_built: dict[str, tuple[Network, Box]] = {}
_brute: dict[str, object] = {}
_runs: dict[tuple[str, str], object] = {}


def built(case: Case) -> tuple[Network, Box]:
    if case.id not in _built:
        _built[case.id] = case.build()
    return _built[case.id]


def reference(case: Case):
    if case.id not in _brute:
        net, box = built(case)
        _brute[case.id] = brute_force(net, box)
    return _brute[case.id]


def run(case_id: str, net: Network, box: Box, combo):
    key = (case_id, combo.id)
    if key not in _runs:
        _runs[key] = combo.enumerate(net, box)
    return _runs[key]


def reference_run(case_id: str, net: Network, box: Box):
    """The reference combination: the paper's algorithm, incremental first layer, serial."""
    key = (case_id, REFERENCE_ID)
    if key not in _runs:
        _runs[key] = enumerate_regions(net, box, EnumerationConfig(algorithm="paper"),
                                     SerialScheduler())
    return _runs[key]


# ---------------------------------------------------------------------- brute force and samples
@case_param
def test_matches_brute_force(case: Case, combo) -> None:
    net, box = built(case)
    regions = run(case.id, net, box, combo)
    check_regionset_wellformed(net, box, regions)
    check_matches_brute_force(regions, reference(case))
    if case.expected is not None:
        assert len(regions) == case.expected


@case_param
def test_interior_points_reproduce_patterns(case: Case, combo) -> None:
    net, box = built(case)
    check_interior_points(net, run(case.id, net, box, combo))


@case_param
def test_dense_samples_miss_nothing(case: Case, combo) -> None:
    net, box = built(case)
    # Under a parallel scheduler the set is also compared with the serial reference, so fewer
    # samples suffice there.
    n = min(case.samples, PARALLEL_SAMPLES) if combo.parallel else case.samples
    check_dense_samples(net, box, run(case.id, net, box, combo), n=n, seed=1)


@case_param
def test_same_set_as_reference_variant(case: Case, combo) -> None:
    """paper vs default, exhaustive vs incremental, any scheduler: identical sets and ranks."""
    net, box = built(case)
    assert_regionsets_equal(run(case.id, net, box, combo), reference_run(case.id, net, box))


@case_param
def test_per_layer_cells_match_brute_force(case: Case, combo) -> None:
    """Cells after each hidden layer (the run's merged stats) equal the brute-force prefixes."""
    net, box = built(case)
    regions = run(case.id, net, box, combo)
    bf = reference(case)
    assert list(regions.stats.layer_cells) == bf.per_layer
    assert regions.stats.lps >= 0 and regions.stats.expansions >= 1


def test_brute_force_self_checks() -> None:
    """The reference itself: known counts, and its own canonicalisation of dead paths."""
    net, box = _corner_hyperplanes()
    assert len(brute_force(net, box)) == 2
    net, box = _three_lines_one_point()
    assert len(brute_force(net, box)) == 6
    net, box = _zero_rows()
    pats = brute_force(net, box).patterns
    assert all(p[0] and not p[1] and not p[2] and not p[5 + 1] for p in pats)


# ---------------------------------------------------------------------- one layer: the formula
FORMULA = [(7, 1, 1), (9, 2, 2), (8, 3, 3), (3, 3, 4), (10, 2, 5)]


@pytest.mark.parametrize("n,d,seed", FORMULA, ids=[f"n{n}-d{d}" for n, d, _ in FORMULA])
def test_one_layer_general_position_formula(n: int, d: int, seed: int, combo) -> None:
    net, box = one_layer_general_position(n, d, seed)
    result = combo.count(net, box)
    check_one_layer_formula(net, box, result.regions)
    assert list(result.per_layer) == [result.regions]
    assert result.workers == (2 if combo.parallel else 1)


@pytest.mark.parametrize("n,d,seed", FORMULA[:3], ids=[f"n{n}-d{d}" for n, d, _ in FORMULA[:3]])
def test_one_layer_generator_agrees_with_brute_force(n: int, d: int, seed: int) -> None:
    net, box = one_layer_general_position(n, d, seed)
    assert len(brute_force(net, box)) == one_layer_formula(n, d)


# ---------------------------------------------------------------------------------- d = 1 grid
def _d1_nets():
    out = [("rand-8x8", random_net(1, (8, 8), 31, bias_scale=1.0), Box([-3.0], [3.0])),
           ("rand-6x5x4", random_net(1, (6, 5, 4), 32, bias_scale=1.0), Box([-2.0], [4.0]))]
    # a 3-input net on a box with two fixed coordinates is a 1-D problem too
    out.append(("slice-of-d3", random_net(3, (6, 6), 33, bias_scale=1.0),
                Box([-0.5, -3.0, 1.0], [-0.5, 3.0, 1.0])))
    return out


D1 = _d1_nets()


@pytest.mark.parametrize("i", range(len(D1)), ids=[name for name, *_ in D1])
def test_d1_grid_runs_equal_regions(i: int, combo) -> None:
    name, net, box = D1[i]
    regions = run(f"d1-{name}", net, box, combo)
    check_regionset_wellformed(net, box, regions)
    check_d1_grid(net, box, regions)


# ------------------------------------------------------------------------ special domain cases
FOLD = [(3, (4, 4), 41, [-2, 0.5, -1], [2, 0.5, 1]), (4, (5, 3), 42, [-1, 1, -1, -2], [1, 1, 2, -2]),
        (2, (6,), 43, [0.25, -1], [0.25, 2])]


@pytest.mark.parametrize("d,widths,seed,lo,hi", FOLD, ids=[f"d{f[0]}" for f in FOLD])
def test_fixed_coordinate_equals_folded_net(d, widths, seed, lo, hi, combo) -> None:
    net = random_net(d, widths, seed)
    box = Box(lo, hi)
    folded, fbox = fold_fixed_coordinates(net, box)
    a = combo.enumerate(net, box)
    b = combo.enumerate(folded, fbox)
    assert len(a) == len(b) >= 1
    assert_regionsets_equal(a, b)
    check_interior_points(net, a)


@pytest.mark.parametrize("seed", [51, 52])
def test_leaky_relu_has_the_relu_regions(seed: int, combo) -> None:
    relu = random_net(2, (5, 4), seed)
    leaky = Network(relu.weights, relu.biases, negative_slope=0.05)
    box = Box([-2, -2], [2, 2])
    a, b = combo.enumerate(relu, box), combo.enumerate(leaky, box)
    assert_regionsets_equal(a, b, check_ranks=False)


def test_fully_fixed_box_is_one_region(combo) -> None:
    net = random_net(3, (4, 4), 61)
    point = np.array([0.3, -0.2, 0.9])
    regions = combo.enumerate(net, Box(point, point))
    assert len(regions) == 1
    np.testing.assert_allclose(regions.points[0], point)
    bits, sure = net.pattern_margin(point)
    assert np.array_equal(regions.bits[0][sure[0]], bits[0][sure[0]])
    assert combo.count(net, Box(point, point)).regions == 1


def test_hypothesis_random_nets_match_brute_force() -> None:
    """Property test (serial, default algorithm): any small random net agrees with brute force."""

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(d=st.integers(1, 3), widths=st.sampled_from([(3,), (5,), (3, 3), (4, 2), (2, 2, 2)]),
           seed=st.integers(0, 2**31 - 1), half=st.floats(0.5, 4.0))
    def prop(d, widths, seed, half):
        net = random_net(d, widths, seed)
        box = Box(np.full(d, -half), np.full(d, half))
        regions = enumerate_regions(net, box)
        check_matches_brute_force(regions, brute_force(net, box))

    prop()


def test_sliver_below_radius_tol_is_a_region(combo) -> None:
    """A region thinner than ``radius_tol`` everywhere still counts (DESIGN.md §1, issue 15).

    Two parallel lines ``y = 0`` and ``y = w``, ``w = 3 tol``, make a slab; a third line
    ``y = s x + w / 3`` with slope ``s = tol / 2`` stays inside the slab across the whole box
    (``y`` from ``w/3 - s = tol / 2`` to ``w/3 + s = 3 tol / 2``), so it cuts the slab into a lower
    sliver (width ``tol / 2`` to ``3 tol / 2``, Chebyshev radius about ``0.75 tol``) and an upper one.
    Both have an interior for the network as written, so both are regions: below the slab, the two
    slivers, above it: 4 (the first design, where ``radius_tol`` decided, dropped the lower sliver
    and found 3). ``radius_tol`` only sets where floats stop deciding: the same set below the
    sliver's radius (1e-10: decided in floats) as at the default (inside the band: settled exactly).
    """
    tol = RADIUS_TOL
    w, slope = 3 * tol, 0.5 * tol
    net = _net([[[0.0, 1.0], [0.0, 1.0], [-slope, 1.0]], [[1.0, 1.0, 1.0]]], [[0.0, -w, -w / 3], [0.0]])
    box = Box([-1, -1], [1, 1])
    expected = {(False, False, False), (True, False, False), (True, False, True), (True, True, True)}
    assert brute_force(net, box).patterns == expected
    regions = combo.enumerate(net, box)
    assert pattern_set(regions.bits) == expected and len(regions) == 4
    check_regionset_wellformed(net, box, regions)
    for bits, x in zip(regions.bits, regions.points):
        assert exact_pattern(net, x) == (tuple(bool(v) for v in bits), True)
    assert_regionsets_equal(combo.enumerate(net, box, radius_tol=1e-10), regions, check_ranks=False)


# ------------------------------------------------------------------ many cuts on one path
def _staircase(n: int, extra: tuple[int, ...] = (), seed: int = 0) -> Network:
    """``n`` vertical lines ``x = c_j`` (``c`` increasing), then three horizontal lines
    ``y = -0.5, 0, 0.5`` and a diagonal one. The strip right of line ``j`` is cut by every line in
    turn, so it carries ``4 + j`` constraints; the horizontal and diagonal lines then cross its
    left edge, whose two vertices share only constraint ``4 + j - 1``: past 64 constraints the
    vertex algorithm's incidence bits, and its edge test, use a second word. ``extra``: random
    deeper layers."""
    rng = np.random.default_rng(seed)
    c = np.linspace(-0.95, 0.95, n)
    ws = [np.vstack([np.column_stack([np.ones(n), np.zeros(n)]),
                     [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.7, 1.0]]])]
    bs = [np.concatenate([-c, [0.5, 0.0, -0.5, 0.1]])]
    width = n + 4
    for w in extra:
        ws.append(rng.normal(size=(w, width)))
        bs.append(rng.normal(size=w) * 0.5)
        width = w
    ws.append(np.ones((1, width)))
    bs.append(np.zeros(1))
    return _net(ws, bs)


@pytest.mark.parametrize("combo", combo_params(algorithm=("default", "vertex", "witness"),
                                               first_layer="incremental"),
                         indirect=True)
def test_cells_with_more_than_64_constraints(combo) -> None:
    """(The exhaustive first-layer enumerator refuses 84 first-layer neurons by design.)"""
    box = Box([-1.0, -1.0], [1.0, 1.0])
    for i, net in enumerate((_staircase(80), _staircase(80, extra=(6,), seed=3))):
        regions = run(f"staircase-{i}", net, box, combo)
        check_regionset_wellformed(net, box, regions)
        check_interior_points(net, regions)
        check_dense_samples(net, box, regions, n=20_000, seed=2)
        key = (f"staircase-{i}", "witness-serial")
        if key not in _runs:
            _runs[key] = enumerate_regions(net, box, EnumerationConfig(algorithm="witness"),
                                           SerialScheduler())
        assert_regionsets_equal(regions, _runs[key])
        if len(net.weights) == 2:  # strips x bands, cut by the diagonal line once per strip it crosses
            strips = {tuple(row[:80]) for row in regions.bits.tolist()}
            assert len(strips) == 81 and len(regions) > 81 * 4


# ---------------------------------------------------------------------------- output options
def test_keep_maps_chebyshev_and_no_ranks(combo) -> None:
    net = random_net(2, (5, 4), 71, n_out=2)
    box = Box([-2, -1], [1, 2])
    plain = run("options-net", net, box, combo)
    rich = combo.enumerate(net, box, keep_maps=True, chebyshev=True)
    assert_regionsets_equal(rich, plain)
    rich, plain = rich.sorted(), plain.sorted()
    assert (rich.radii >= plain.radii * (1 - 1e-6) - 1e-12).all(), "Chebyshev radius is the largest"
    assert rich.maps is not None and len(rich.maps) == len(rich)
    for x, (A, c) in zip(rich.points, rich.maps):
        np.testing.assert_allclose(A @ x + c, net.forward(x), rtol=1e-9, atol=1e-9)
    bare = combo.enumerate(net, box, ranks=False)
    assert_regionsets_equal(bare, plain)
    assert bare.ranks.shape == (len(bare), 2) and (bare.ranks == -1).all()


# ----------------------------------------------------------------------------- reference nets
EXPECTED = {e["file"]: e["regions"] for e in json.loads((DATA / "checks" / "expected.json").read_text())}
TLL = "../networks/tll_N8_prop0.npz"
D1_16 = "tiny_d1_16x16.npz"
COMMON = sorted(f for f in EXPECTED if f not in (TLL, D1_16))


def _load(name: str) -> tuple[Network, Box]:
    net, box = load_npz(DATA / "checks" / name)
    if box is None:
        return net, Box.symmetric(net.input_dim)
    return net, Box(*box)


def _check_reference(name: str, combo, samples: int = 100_000) -> None:
    net, box = _load(name)
    regions = run(name, net, box, combo)
    assert len(regions) == EXPECTED[name]
    check_regionset_wellformed(net, box, regions)
    check_interior_points(net, regions)
    check_dense_samples(net, box, regions, n=samples, seed=2)


@pytest.mark.parametrize("name", COMMON)
def test_reference_net_count(name: str, combo) -> None:
    _check_reference(name, combo, samples=PARALLEL_SAMPLES if combo.parallel else 100_000)


@pytest.mark.parametrize("name", COMMON)
def test_reference_net_same_set_as_reference_variant(name: str, combo) -> None:
    net, box = _load(name)
    assert_regionsets_equal(run(name, net, box, combo), reference_run(name, net, box))


@pytest.mark.combos(first_layer="incremental")
def test_reference_net_d1_16x16(combo) -> None:
    """16 first-layer neurons on a 1-D domain. Not run with the exhaustive first-layer enumerator:
    it tries all 2^16 sign vectors with one LP each (about 16 s) for at most 17 cells."""
    _check_reference(D1_16, combo, samples=PARALLEL_SAMPLES if combo.parallel else 100_000)
    net, box = _load(D1_16)
    check_d1_grid(net, box, run(D1_16, net, box, combo))


def test_every_backend_with_its_default_options(backend) -> None:
    """Schedulers as users build them (no small-task setting): the agreed count, the same set."""
    net, box = _load("tiny_d2_8x8.npz")
    scheduler = make_scheduler(backend.name, **({} if backend.name == "serial" else {"workers": 2}))
    regions = enumerate_regions(net, box, EnumerationConfig(), scheduler)
    assert len(regions) == EXPECTED["tiny_d2_8x8.npz"]
    assert_regionsets_equal(regions, reference_run("tiny_d2_8x8.npz", net, box))


@pytest.mark.combos(algorithm="default", first_layer="incremental", scheduler="serial")
def test_reference_net_tll(combo) -> None:
    """The two-level-lattice net: neurons identically zero on whole regions (DESIGN.md §1)."""
    _check_reference(TLL, combo)
    net, box = _load(TLL)
    regions = run(TLL, net, box, combo)
    # identically-zero neurons carry bit 0, so the rounded forward pass disagrees on some bits;
    # the sure bits never do (checked above). Make sure the case is really degenerate:
    _, sure = net.pattern_margin(regions.points)
    assert (~sure).sum(axis=1).mean() > 10
