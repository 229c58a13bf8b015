"""The hard cases of issue 15, built on purpose, for every algorithm x first layer x scheduler.

DESIGN.md §1: a region is a full-dimensional region of the network *as written* (its float weights
are exact rationals); floating point decides only outside a band around its error bound and
everything inside is settled exactly. So:

(a) a region of inradius about 1e-12 counts (two nearly parallel hyperplanes; also made by a
    second-layer neuron);
(b) two hyperplanes that coincide exactly in rational arithmetic never split a cell, even where
    float rounding of the pull-back separates them;
(c) many hyperplanes through one vertex (exact in rationals, not after the box's map in floats)
    make exactly the sectors they should, also under a second layer;
(d) the count does not move with the scale of the box (same geometry in ``[-B, B]^2``, first-layer
    weights divided by ``B``), for B from 1e-3 to 1e5;
(e) nor with ``radius_tol`` (1e-4 .. 1e-10), on the thin cases and on random nets;
(f) ``count --json`` reports ``exact_decisions``: above 0 on a thin case, 0 on a random
    well-conditioned net.

Every expected count is derived by hand in the builder's docstring (and for the random nets taken
from the brute-force reference of ``tests/invariants.py``, which settles its own uncertain
decisions exactly); every region's interior point is checked in exact rationals to lie strictly
inside its region (``invariants.exact_pattern``: the tests' own python-flint forward pass).
Cases (a)-(c) run under every scheduler (the exact counter must travel with the other stats);
(d) and (e) vary a parameter of the geometry, not of the scheduling, so they run serially.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from cli.helpers import cli
from invariants import brute_force, combo_params, exact_pattern, pattern_set, random_net
from reluregions import Box, Network, WholeSpace

SLAB = 2e-12       # width of the thin slabs (inradius 1e-12)
TILT = 2.0 ** -45  # the second plane's tilt: the two planes meet at y = SLAB / TILT = 70, outside the box
A = (0.1, 0.7)     # the coinciding planes' normal: 3 * 0.1 and 3 * 0.7 round in floats
THETAS = 0.1 + np.arange(6) * np.pi / 6  # six lines through the origin, 30 degrees apart


def _net(ws, bs) -> Network:
    """Hidden layers ``ws, bs`` (lists) and a one-unit output layer."""
    ws = [np.asarray(w, dtype=float) for w in ws]
    bs = [np.asarray(b, dtype=float) for b in bs]
    return Network(ws + [np.ones((1, ws[-1].shape[0]))], bs + [np.zeros(1)])


def _patterns(*rows: str) -> set[tuple[bool, ...]]:
    return {tuple(c == "1" for c in row) for row in rows}


# ------------------------------------------------------------------------------------ the nets
def thin_slab(B: float = 1.0) -> tuple[Network, Box, set]:
    """``u = 0.6 x + 0.8 y``, ``v = 0.6 x + (0.8 + 2^-45) y - 2e-12``, ``p = 0.8 x - 0.6 y + 0.05``.

    In the box ``|x|, |y| <= 1`` (times ``B``), ``u - v = 2e-12 - 2^-45 y > 0``: the planes do not meet
    (they do at ``y = 70``), so ``(u, v)`` takes the signs ``--``, ``+-`` (the slab, width about
    2e-12, inradius 1e-12) and ``++``, never ``-+``; every band crosses the box, and ``p``'s line
    crosses all three near ``(-0.04, 0.03)``: 3 x 2 = **6** regions (bits ``u v p``).
    """
    W = np.array([[0.6, 0.8], [0.6, 0.8 + TILT], [0.8, -0.6]]) / B
    net = _net([W], [[0.0, -SLAB, 0.05]])
    return net, Box([-B, -B], [B, B]), _patterns("000", "001", "100", "101", "110", "111")


def thin_slab_layer2(B: float = 1.0) -> tuple[Network, Box, set]:
    """Layer 1 ``u = 0.6 x + 0.8 y``, ``p = 0.8 x - 0.6 y + 0.05`` (4 cells); layer 2
    ``w = relu(u) - 2e-12``: constant ``-2e-12`` where ``u`` is off (bit 0), ``u - 2e-12`` where it
    is on, cutting both ``u``-on cells into a slab of width 2e-12 and the rest: 2 + 2 x 2 = **6**
    (bits ``u p w``)."""
    W1 = np.array([[0.6, 0.8], [0.8, -0.6]]) / B
    net = _net([W1, [[1.0, 0.0]]], [[0.0, 0.05], [-SLAB]])
    return net, Box([-B, -B], [B, B]), _patterns("000", "010", "100", "101", "110", "111")


def coinciding(B: float = 1.0) -> tuple[Network, Box, set]:
    """``u = a.x + 1/32``, ``v = a.x - 1/32`` (``v = u - 1/16`` exactly, ``a = (0.1, 0.7)``),
    ``p = x``; layer 2 ``w = 3 relu(u) - 3/16``.

    Layer 1: the bands ``u < 0``, ``0 < u < 1/16``, ``u > 1/16`` all cross the box and ``p``'s line
    crosses each: 6 cells. Layer 2: where ``u`` is off ``w = -3/16`` (constant, bit 0); where it is
    on ``w = 3 u - 3/16 = 3 v`` *exactly*, so ``w``'s plane is ``v``'s and splits nothing: ``w``'s
    bit is ``v``'s. In floats the pull-back ``3 * (a / B)`` rounds and the two planes differ by a
    sliver: **6** regions (bits ``u v p w``), none made by that sliver.
    """
    W1 = np.array([A, A, [1.0, 0.0]]) / B
    net = _net([W1, [[3.0, 0.0, 0.0]]], [[1 / 32, -1 / 32, 0.0], [-3 / 16]])
    return net, Box([-B, -B], [B, B]), _patterns("0000", "0010", "1000", "1010", "1101", "1111")


def _sector_patterns() -> set[tuple[bool, ...]]:
    """The 12 sign vectors of six lines through the origin, read at the middle of each sector
    (15 degrees from its bounding rays: far from any rounding question)."""
    edges = np.sort(np.concatenate([THETAS + np.pi / 2, THETAS - np.pi / 2]) % (2 * np.pi))
    mids = (edges + np.diff(np.append(edges, edges[0] + 2 * np.pi)) / 2)
    dirs = np.stack([np.cos(mids), np.sin(mids)], axis=1)
    normals = np.stack([np.cos(THETAS), np.sin(THETAS)], axis=1)
    return {tuple(bool(v) for v in row) for row in dirs @ normals.T > 0}


def concurrent(B: float = 1.0, deep: bool = False) -> tuple[Network, Box, set]:
    """Six lines ``cos(theta_i) x + sin(theta_i) y = 0`` through the origin (exactly: no offsets),
    in the box ``[-2, 3] x [-1.5, 2]`` (times ``B``): not centred, so the box's map ``x = x0 + U t``
    rounds the pulled-back rows and offsets and in floats the six lines miss a common point.
    **12** sectors.

    ``deep``: layer 2 ``w = relu(u_0) - 1/4``: constant where ``u_0`` is off (6 sectors); where it is
    on, ``w = u_0 - 1/4`` cuts each of the 6 sectors there in two, since each contains points near
    the origin (``u_0`` near 0) and points at distance 1.5 (the box holds that disc) along its
    bisector, which is at least 15 degrees from line 0: ``u_0 >= 1.5 sin 15deg = 0.39 > 1/4``.
    6 + 12 = **18**.
    """
    W1 = np.stack([np.cos(THETAS), np.sin(THETAS)], axis=1) / B
    box = Box([-2.0 * B, -1.5 * B], [3.0 * B, 2.0 * B])
    sectors = _sector_patterns()
    if not deep:
        return _net([W1], [np.zeros(6)]), box, sectors
    net = _net([W1, [[1.0, 0, 0, 0, 0, 0]]], [np.zeros(6), [-0.25]])
    deep_patterns = {(*s, w) for s in sectors for w in ((False, True) if s[0] else (False,))}
    return net, box, deep_patterns


def concurrent_deep(B: float = 1.0) -> tuple[Network, Box, set]:
    return concurrent(B, deep=True)


@dataclass(frozen=True)
class Hard:
    """A hard case: its builder (scale ``B``), the count, and in the whole space the count and the
    number of bounded regions (derived in the builder's docstring or below).

    ``exact_only``: a degeneracy of exact arithmetic (a vertex exactly on a plane, two planes equal
    in rationals): the empty side has no float margin to prove it empty, so every algorithm must
    settle some decision exactly. A thin slab is inside the band of the LP algorithms (Chebyshev
    radius 1e-12 < radius_tol), but the vertex kernel may prove it by a certified ball of any
    positive radius (rounding included), as the rule allows: there only the count is required.
    """

    id: str
    build: Callable[..., tuple[Network, Box, set]]
    count: int
    whole: int
    bounded: int
    exact_only: bool = True


HARD = [
    # whole space: three lines in general position (u and v meet at y = 70): 7, the thin triangle
    # between u, v and p bounded
    Hard("thin-slab", thin_slab, 6, 7, 1, exact_only=False),
    # u and p cross: 4 cones; w cuts both u-on cones (u unbounded on each): 6, all unbounded
    Hard("thin-slab-layer2", thin_slab_layer2, 6, 6, 0, exact_only=False),
    # two parallel lines and one crossing them: 6 unbounded
    Hard("coinciding", coinciding, 6, 6, 0),
    # 12 cones
    Hard("concurrent-6", concurrent, 12, 12, 0),
    # u_0 = 1/4 cuts the 6 cones where u_0 > 0; the 4 not touching line 0 leave a bounded triangle
    Hard("concurrent-6-layer2", concurrent_deep, 18, 18, 4),
]


# ---------------------------------------------------------------------------------- checking
def check_exact_regions(net: Network, regions, count: int, patterns: set | None) -> None:
    """The count, the pattern set, and each interior point strictly inside its region in exact
    rational arithmetic (every pre-activation non-zero, with the region's sign)."""
    got = pattern_set(regions.bits)
    assert len(regions) == count and len(got) == count, \
        f"{len(regions)} regions ({len(got)} patterns), expected {count}"
    if patterns is not None:
        assert got == patterns, f"missing {sorted(patterns - got)}, extra {sorted(got - patterns)}"
    for bits, x in zip(regions.bits, regions.points):
        exact, strict = exact_pattern(net, x)
        assert strict and exact == tuple(bool(v) for v in bits), \
            f"point {x.tolist()} is not strictly inside region {bits.astype(int).tolist()}"


def _exact_count(regions) -> int:
    return int(getattr(regions.stats, "exact"))


def _must_settle(case: Hard, algorithm: str) -> bool:
    """Whether the rule forces an exact decision (see :class:`Hard`); ``default`` may pick vertex."""
    return case.exact_only or algorithm not in ("default", "vertex")


def _hard_params(whole: bool) -> list:
    """Every case with every combination that accepts its domain; under the parallel schedulers the
    incremental first layer only (the first-layer enumerator is the same code under every
    scheduler, and runs with both under the serial one)."""
    filters = {"algorithm": ("default", "witness", "paper")} if whole else {}
    return [pytest.param(case, p.values[0], id=f"{p.values[0].id}-{case.id}", marks=p.marks)
            for case in HARD for p in combo_params(**filters)
            if p.values[0].scheduler == "serial" or p.values[0].first_layer == "incremental"]


# ------------------------------------------------------------------------ (a), (b), (c): a box
@pytest.mark.parametrize("case,combo", _hard_params(whole=False), indirect=["combo"])
def test_hard_case_in_a_box(case: Hard, combo) -> None:
    """Exactly the hand-derived regions, points exactly inside, and the band's decisions settled
    exactly (the exact counter, merged across workers, is positive where the rule forces an exact
    decision: see :class:`Hard`)."""
    net, box, patterns = case.build()
    regions = combo.enumerate(net, box)
    check_exact_regions(net, regions, case.count, patterns)
    if _must_settle(case, combo.algorithm):
        assert _exact_count(regions) > 0


@pytest.mark.parametrize("case,combo", _hard_params(whole=True), indirect=["combo"])
def test_hard_case_in_the_whole_space(case: Hard, combo) -> None:
    net, _, _ = case.build()
    regions = combo.enumerate(net, WholeSpace(2))
    check_exact_regions(net, regions, case.whole, None)
    assert regions.bounded is not None
    assert int(np.count_nonzero(regions.bounded)) == case.bounded
    if _must_settle(case, combo.algorithm):
        assert _exact_count(regions) > 0


def test_the_premises_hold() -> None:
    """What makes the cases hard, checked independently of the package: the coinciding planes
    differ after float rounding of the pull-back; the six lines meet in one point in rationals but
    not after the box's map in floats; and the thin slab really is about 2e-12 wide."""
    from fractions import Fraction

    # (b) float: 3 * (0.1, 0.7) rounds; the offsets 3/32 - 3/16 = -3/32 agree exactly
    assert [Fraction(3.0 * a) for a in A] != [3 * Fraction(a) for a in A]
    # (c) the box's map t -> x0 + U t; rows W U and offsets W x0 in floats: lines 0, 1, 2 of the
    # pulled-back arrangement do not meet in one point (the 3x3 determinant is not 0 exactly)
    net, box, _ = concurrent()
    p = box.parametrize()
    M, m = net.weights[0] @ p.U, net.weights[0] @ p.x0 + net.biases[0]
    rows = [[Fraction(v) for v in (*M[i], m[i])] for i in range(3)]
    det = (rows[0][0] * (rows[1][1] * rows[2][2] - rows[1][2] * rows[2][1])
           - rows[0][1] * (rows[1][0] * rows[2][2] - rows[1][2] * rows[2][0])
           + rows[0][2] * (rows[1][0] * rows[2][1] - rows[1][1] * rows[2][0]))
    assert det != 0
    assert all(b == 0 for b in net.biases[0])  # while the network's own lines do meet at 0
    # (a) the slab's width along y at x = 0: between u = 0 and v = 0
    y_v = Fraction(SLAB) / (Fraction(0.8 + TILT))
    assert Fraction(0.8 + TILT) - Fraction(0.8) == Fraction(TILT) and 0 < y_v < Fraction(3e-12)


# ------------------------------------------------------------------------- (d) scale of the box
SCALES = (1e-3, 1e5)
#: (d) and (e) run serially, for every registered algorithm but ``default`` (on these 2-D boxes it
#: picks ``vertex``, which runs as such; it is covered under its own name in (a)-(c)).
SERIAL = dict(scheduler="serial", algorithm=("vertex", "highd", "lpdfs", "witness", "paper"))


def _random_case(seed: int, B: float = 1.0) -> tuple[Network, Box]:
    net = random_net(2, (5, 4), seed)
    ws, bs = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    ws[0] = ws[0] / B
    return Network(ws, bs), Box([-B, -B], [B, B])


_reference: dict[int, int] = {}


def _random_count(seed: int) -> int:
    """The brute-force reference's count at scale 1 (it settles its uncertain decisions exactly)."""
    if seed not in _reference:
        _reference[seed] = len(brute_force(*_random_case(seed)))
    return _reference[seed]


@pytest.mark.combos(**SERIAL)
@pytest.mark.parametrize("B", SCALES, ids=[f"B{b:g}" for b in SCALES])
def test_count_does_not_move_with_the_box_scale(B: float, combo) -> None:
    """The same geometry in ``[-B, B]^2`` with first-layer weights divided by ``B``: the hard cases
    keep their regions (their degeneracies survive the scaling exactly: the slab's planes keep
    their offsets, the coinciding planes share one row, the concurrent lines have no offsets), and
    a random net keeps the count of its scale-1 reference."""
    for case in HARD:
        if case.id == "concurrent-6":
            continue  # its deep version holds it
        net, box, patterns = case.build(B)
        check_exact_regions(net, combo.enumerate(net, box), case.count, patterns)
    net, box = _random_case(7, B)
    assert combo.count(net, box).regions == _random_count(7)


# ------------------------------------------------------------------------- (e) radius_tol
TOLS = (1e-4, 1e-6, 1e-10)  # the default 1e-8 runs in the tests above


@pytest.mark.combos(**SERIAL)
@pytest.mark.parametrize("tol", TOLS, ids=[f"tol{t:g}" for t in TOLS])
def test_count_does_not_move_with_radius_tol(tol: float, combo) -> None:
    """``radius_tol`` is only the width of the band of float decisions: the thin cases (all far
    below every tolerance tried) and random nets keep their counts."""
    for case in HARD:
        net, box, patterns = case.build()
        check_exact_regions(net, combo.enumerate(net, box, radius_tol=tol), case.count, patterns)
    for seed in (7, 8):
        net, box = _random_case(seed)
        assert combo.count(net, box, radius_tol=tol).regions == _random_count(seed)


@pytest.mark.combos(**SERIAL)
def test_well_conditioned_nets_need_no_exact_decision(combo) -> None:
    """At the default band, random nets (no near-degenerate cell) are decided in floats alone: the
    exact oracle is for the band, and costs milliseconds a call."""
    for seed, d, widths in ((7, 2, (5, 4)), (8, 3, (6, 5))):
        result = combo.count(random_net(d, widths, seed), Box.symmetric(d))
        assert result.extra["exact_decisions"] == 0


# ------------------------------------------------------------------------------- (f) the CLI
def _save(path: Path, net: Network) -> Path:
    arrays = {}
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    np.savez(path, **arrays)
    return path


def _count_json(path: Path, *args: str) -> dict:
    proc = cli("count", path, "--json", "--workers", "1", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_count_json_reports_exact_decisions(tmp_path: Path) -> None:
    """Above 0 on the thin slab with an LP algorithm (its 1e-12 side is inside the band), 0 on a
    random net whose regions are all far from degenerate (the band is almost never reached)."""
    thin, _, _ = thin_slab()
    path = _save(tmp_path / "thin.npz", thin)
    got = _count_json(path, "--box", "-1", "1", "--algorithm", "witness")
    assert got["regions"] == 6
    assert isinstance(got["exact_decisions"], int) and got["exact_decisions"] > 0
    got = _count_json(path, "--box", "-1", "1")  # vertex: a certified ball proves the thin side
    assert got["regions"] == 6 and isinstance(got["exact_decisions"], int)
    same, _, _ = coinciding()  # an exact degeneracy: the default must settle it exactly
    got = _count_json(_save(tmp_path / "same.npz", same), "--box", "-1", "1")
    assert got["regions"] == 6 and got["exact_decisions"] > 0
    net, _ = _random_case(7)
    got = _count_json(_save(tmp_path / "random.npz", net), "--box", "-1", "1")
    assert got["regions"] == _random_count(7)
    assert got["exact_decisions"] == 0
