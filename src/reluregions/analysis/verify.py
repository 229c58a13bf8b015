"""An independent check of a region file against its network (DESIGN.md §1, §8).

Nothing here reuses the enumerator: every region is rebuilt from its pattern by
:mod:`reluregions.analysis.pullback`. The checks:

``points``
    Each stored point lies in the domain and reproduces its pattern, strictly and exactly: the
    same check as ``--certify`` runs (:func:`reluregions.geometry.exact.check_point`; float
    wherever the value clears a rigorous bound on its rounding, exact rational arithmetic in the
    band, a neuron identically zero on the region taking bit 0).
``distinct``
    No two rows hold the same pattern.
``regions``
    Each pattern describes a full-dimensional region: constant neurons carry the bit their sign
    gives, and its polytope has an interior: its Chebyshev radius (one LP) clears the band of
    float decisions, or an exact decision finds an interior point (DESIGN.md §1). The LP is the
    compiled simplex's with the box as column bounds and a rigorously certified radius, HiGHS's
    where that cannot certify (:mod:`reluregions.analysis._verify_lp`).
``disjoint``
    For every pair of rows whose patterns differ in exactly one bit, the intersection of the two
    closed regions has empty interior (Chebyshev radius within the band of float decisions: the two
    closed regions meet on the neuron's hyperplane at most). Where that neuron is not constant on
    them its one row, with opposite signs, proves it without an LP; otherwise one LP per pair.
``coverage``
    Random points, uniform in the domain, all fall in listed regions (on their certain bits). In
    the whole input space (issue 15) the points are uniform in the box twice as wide as the
    stored points' (the whole space has no uniform distribution).
``volume``
    (domain dimension at most 6) The regions' volumes add up to the domain's, to a relative
    :data:`VOLUME_RTOL` (skipped for the whole input space). Each volume is computed in the
    normalised coordinates from the region's own constraints
    (:func:`reluregions.geometry.polytope.volume_t`), good to a few units in the last place of
    its vertices, and summed without rounding drift (``math.fsum``): a correct file misses by
    orders of magnitude less, however many regions it holds and however small its box. The
    volumes come from the ``regions`` check's LPs: choosing ``volume`` runs that check too.
``certificate``
    (with ``certify=True``, ``verify --certify``) the completeness certificate of ``--certify``
    (:func:`reluregions.enumeration.certify.certify_regions`): every facet of every region that is
    not on the domain's boundary is matched by a listed region on its other side, decided exactly
    where floating point cannot, so the rows tile the domain. It names the first region and facet
    that fail. It is slow (tens of milliseconds per region).

Checks can be chosen (``checks``/``skip``, ``verify --checks/--skip``) and a row range checked
alone (``rows``, ``verify --rows START:STOP``: a prefix of a large file). Every phase reports
progress under a stage named for its check (:data:`STAGES`), in chunks sized to about half a
second of work, so that the first rate and an estimate of the phase's time come early.

Memory: the packed patterns are held (``n * (n_bytes + 24)`` bytes), and the neighbour pairs (12
bytes each); everything else streams.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..config import EnumerationConfig, check_choice
from ..errors import OptionError
from ..geometry.blas import one_blas_thread
from ..geometry.exactside import SideOracle
from ..network import Network
from ..regionblock import unpack_bits
from ._keys import PatternIndex
from ._parallel import ChunkSizer, ProgressFn, default_workers, map_chunks, report
from ._verify_lp import LP_PATHS, MAX_VOLUME_DIM, VerifyWorker
from ._verify_report import CheckResult, VerifyReport
from .geometry import domain_volume, file_chunks
from .pullback import PullbackCache, point_patterns
from .regionfile import RegionFile

__all__ = ["verify_file", "VerifyReport", "CheckResult", "VerifyWorker", "CHECKS", "STAGES"]

CHECKS = ("points", "distinct", "regions", "disjoint", "coverage", "volume", "certificate")
#: The progress stage of each check that reports one (``progress(stage, done, total)``); a stage
#: name starts with its check's name.
STAGES = {"points": "points: exact check of each stored point",
          "distinct": "distinct: hashing the patterns",
          "regions": "regions: one Chebyshev LP per row",
          "disjoint": "disjoint: neighbour pairs",
          "coverage": "coverage: random samples",
          "certificate": "certificate: facets of each region"}
MAX_UNSURE_BITS = 10
#: Largest relative difference between the regions' total volume and the domain's that passes:
#: far above the rounding of correct volumes (about 1e-15), far below a missing or doubled
#: region of any but negligible size.
VOLUME_RTOL = 1e-9


def _describe_bit(rf: RegionFile, bit: int) -> str:
    layer = int(np.searchsorted(rf.offsets, bit, side="right")) - 1
    return f"bit {bit} (layer {layer + 1}, neuron {bit - int(rf.offsets[layer])})"


def _check_points(res: CheckResult, rf: RegionFile, network: Network, batches: Iterator[Any],
                  packed_out: list[np.ndarray], progress: ProgressFn | None = None,
                  keep: list[tuple[np.ndarray, np.ndarray]] | None = None,
                  total: int | None = None) -> CheckResult:
    from ..enumeration.certify import exact_coordinates
    from ..geometry import exact as ex

    p = rf.param
    net, dom = ex.ExactNetwork.of(network), ex.exact_domain(rf.domain)
    exact = 0
    with one_blas_thread():  # small products: a second BLAS thread only spins (geometry/blas.py)
        for batch in batches:
            packed_out.append(batch.packed)
            if keep is not None:
                keep.append((batch.bits, batch.points))
            t = rf.to_param(batch.points)
            res.checked += len(batch)
            report(progress, STAGES["points"], res.checked, total)
            scale = 1 + np.abs(batch.points).max(axis=1)
            on_hull = np.linalg.norm(p.to_input(t) - batch.points, axis=1) <= 1e-7 * scale
            chk = ex.check_point(net, dom, batch.bits, exact_coordinates(rf.domain, batch.points))
            exact += chk.exact
            for i in np.flatnonzero(~on_hull | ~chk.ok):
                row = batch.start + int(i)
                where = np.round(batch.points[i], 6).tolist()
                if not on_hull[i]:
                    res.fail(row, f"row {row}: its point {where} lies outside the domain's span")
                else:
                    res.fail(row, f"row {row}: its point {where} is not strictly inside its "
                                  f"region ({_name_neuron(rf, chk.reason[int(i)])})")
    res.note = f"{exact:,} decided in exact arithmetic" if exact else None
    return res


def _name_neuron(rf: RegionFile, reason: str) -> str:
    """``reason`` with "neuron J" (a hidden-unit index) named by layer and position."""
    words = reason.split()
    if "neuron" in words:
        i = words.index("neuron")
        if i + 1 < len(words) and words[i + 1].isdigit():
            words[i:i + 2] = [_describe_bit(rf, int(words[i + 1]))]
    return " ".join(words)


def _check_certificate(res: CheckResult, rf: RegionFile, network: Network,
                       kept: list[tuple[np.ndarray, np.ndarray]],
                       progress: ProgressFn | None = None) -> CheckResult:
    """The completeness certificate of ``--certify`` on the file's rows (see the module notes)."""
    from ..enumeration.certify import certify_regions

    bits = np.concatenate([b for b, _ in kept]) if kept else np.zeros((0, rf.n_hidden), bool)
    points = np.concatenate([x for _, x in kept]) if kept else np.zeros((0, rf.domain.input_dim))
    cert = certify_regions(network, rf.domain, bits, points,
                           progress=lambda done, total: report(progress, STAGES["certificate"],
                                                               done, total))
    res.checked = len(bits) if cert.certified else int(cert.failed_region or 0)
    res.note = (f"{cert.facets_matched:,} constraints matched by a neighbour, "
                f"{cert.boundary_facets:,} on the domain's boundary, "
                f"{cert.exact_decisions:,} exact decisions, {cert.lps:,} LPs")
    if not cert.certified:
        res.fail(cert.failed_region if cert.failed_region is not None else [],
                 str(cert.failure))
    return res


def _check_distinct(res: CheckResult, index: PatternIndex, offset: int = 0) -> CheckResult:
    res.checked = len(index)
    for group in index.duplicates():
        res.fail(group + offset, f"rows {', '.join(map(str, (group[:5] + offset).tolist()))} hold "
                                 f"the same pattern {index.packed[group[0]].tobytes().hex()[:32]}")
    return res


def _lp_note(stats: dict[str, int], what: str) -> str:
    lps, rows, highs = stats.get("lps", 0), stats.get("lp_rows", 0), stats.get("highs", 0)
    if "lp_rows" not in stats:
        return f"{lps:,} {what} needed an LP"
    mean = f", {rows / lps:.1f} rows each" if lps else ""
    return f"{lps:,} compiled LPs{mean}; {highs:,} by HiGHS"


def _check_regions(res: CheckResult, vol: CheckResult, rf: RegionFile, args: tuple,
                   workers: int, progress: ProgressFn | None = None,
                   rows: tuple[int, int] | None = None) -> None:
    k = rf.param.dim
    sums, chunk_rows = [], []
    sizer = ChunkSizer(first=2 * workers)
    n_rows = rows[1] - rows[0] if rows else rf.n_rows

    def tee() -> Iterator[tuple]:
        for c in file_chunks(rf, sizer, rows=rows, points=False):
            chunk_rows.append(c[:2])
            yield c

    band = EnumerationConfig(radius_tol=rf.radius_tol).band
    oracle = None
    stats: dict[str, int] = {}
    for radii, bad, vols, st in map_chunks(VerifyWorker, args, "rows", tee(), workers):
        rows_i, packed = chunk_rows.pop(0)
        sizer.record(len(rows_i), st.pop("seconds"))
        stats = {key: stats.get(key, 0) + v for key, v in st.items()}
        res.checked += len(rows_i)
        report(progress, STAGES["regions"], res.checked, n_rows)
        for i in np.flatnonzero(bad >= 0):
            res.fail(rows_i[i], f"row {rows_i[i]}: {_describe_bit(rf, int(bad[i]))} is constant on "
                                "the region, so its bit contradicts the network")
        for i in np.flatnonzero((bad < 0) & (radii <= band)):
            # inside the band of float decisions: settled exactly (DESIGN.md §1)
            if oracle is None:
                oracle = SideOracle(args[0], rf.param, rf.zero_tol)
            bits = unpack_bits(packed[i:i + 1], rf.n_hidden)[0]
            widths = np.diff(np.asarray(rf.offsets))
            if oracle.interior(bits, len(widths) - 1, np.ones(int(widths[-1]), bool)) is None:
                res.fail(rows_i[i], f"row {rows_i[i]}: its pattern's region has no interior "
                                    f"(Chebyshev radius {radii[i]:.3g}, settled exactly: not "
                                    "full-dimensional)")
        sums.append(math.fsum(vols[~np.isnan(vols)]))
    res.note = _lp_note(stats, "rows")
    if vol.skipped:
        return
    if k > MAX_VOLUME_DIM or k == 0:
        vol.skipped = f"the domain has dimension {k}; volumes are checked for 1 to {MAX_VOLUME_DIM}"
        return
    if not rf.param.bounded:
        vol.skipped = "the whole input space has no finite volume"
        return
    whole, total = domain_volume(rf.param), math.fsum(sums)
    vol.checked = res.checked
    rel = abs(total - whole) / whole
    vol.note = f"sum {total:.12g}, domain {whole:.12g}, relative error {rel:.2e}"
    if rel > VOLUME_RTOL:
        vol.fail([], f"the regions' volumes add up to {total:.12g} but the domain's volume is "
                     f"{whole:.12g} ({'overlap' if total > whole else 'gap'})")


def _check_disjoint(res: CheckResult, rf: RegionFile, index: PatternIndex, args: tuple,
                    workers: int, progress: ProgressFn | None = None,
                    offset: int = 0) -> CheckResult:
    """Pairs of rows whose patterns differ in one bit: no overlap. The pairs are listed first
    (12 bytes each) so that progress has a total; ``offset`` is the file row of index row 0."""
    band = EnumerationConfig(radius_tol=rf.radius_tol).band
    parts = []
    for pairs in index.neighbour_pairs():
        parts.append(pairs.astype(np.int32) if len(index) < 2 ** 31 else pairs)
        report(progress, "disjoint: listing neighbour pairs", int(pairs[0, 2]) + 1, index.n_hidden)
    every = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
    del parts
    sizer = ChunkSizer(first=2 * workers, largest=65536)
    spans: list[tuple[int, int]] = []

    def chunks() -> Iterator[tuple]:
        s = 0
        while s < len(every):
            p = every[s:s + sizer()].astype(np.int64)
            spans.append((s, s + len(p)))
            yield p, index.packed[p[:, 0]], index.packed[p[:, 1]]
            s += len(p)

    lps = 0
    for radii, st in map_chunks(VerifyWorker, args, "overlap", chunks(), workers):
        a, b = spans.pop(0)
        sizer.record(b - a, st["seconds"])
        lps += st["lps"]
        res.checked += b - a
        report(progress, STAGES["disjoint"], res.checked, len(every))
        for (ra, rb, bit), r in zip(every[a:b], radii):
            if r > band:
                ra, rb = int(ra) + offset, int(rb) + offset
                res.fail([ra, rb], f"rows {ra} and {rb} (differing in {_describe_bit(rf, int(bit))}) "
                                   f"overlap: their intersection holds a ball of radius {r:.3g}")
    res.note = (f"pairs of rows whose patterns differ in one bit; {lps:,} needed an LP (the others: "
                "opposite sides of the bit's neuron)")
    return res


def _check_coverage(res: CheckResult, rf: RegionFile, network: Network, index: PatternIndex,
                    samples: int, seed: int, progress: ProgressFn | None = None,
                    half: float = 1.0) -> CheckResult:
    """Random points in the domain (in ``[-half, half]^k`` of the parameter space) lie in listed
    regions; ``half`` is 1 for a bounded domain, whose parametrisation fits in ``[-1, 1]^k``."""
    p = rf.param
    k = p.dim
    rng = np.random.default_rng(seed)
    pts: list[np.ndarray] = []
    need, tries = samples, 0
    while need > 0 and tries < 1000:
        t = rng.uniform(-half, half, size=(max(need * 2, 64), k))
        t = t[(t @ p.G.T <= p.h).all(axis=1)] if k else t[:1]
        pts.append(t[:need])
        need -= len(pts[-1])
        tries += 1
    t = np.concatenate(pts) if pts else np.zeros((0, k))
    ambiguous = 0
    cache = PullbackCache(network, p, rf.zero_tol)
    for s in range(0, len(t), 8192):
        chunk = t[s:s + 8192]
        bits, sure = point_patterns(network, p, chunk, rf.zero_tol, cache=cache)
        found = np.zeros(len(chunk), bool)
        full = sure.all(axis=1)
        if full.any():
            found[full] = index.lookup(np.packbits(bits[full], axis=1, bitorder="little")) >= 0
        for i in np.flatnonzero(~full):
            unsure = np.flatnonzero(~sure[i])
            if len(unsure) > MAX_UNSURE_BITS:
                ambiguous += 1
                found[i] = True
                continue
            trial = np.repeat(bits[i][None], 2 ** len(unsure), axis=0)
            trial[:, unsure] = np.array(list(itertools.product([False, True], repeat=len(unsure))))
            found[i] = (index.lookup(np.packbits(trial, axis=1, bitorder="little")) >= 0).any()
        res.checked += len(chunk)
        report(progress, STAGES["coverage"], res.checked, samples)
        for i in np.flatnonzero(~found):
            x = p.to_input(chunk[i])
            res.fail([], f"the point {np.round(x, 6).tolist()} of the domain lies in no listed region "
                         f"(its pattern {np.packbits(bits[i], bitorder='little').tobytes().hex()[:32]} "
                         "is missing)")
    where = "" if p.bounded else f" in [-{half:.6g}, {half:.6g}]^{k} (twice the stored points' box)"
    res.note = f"{samples:,} uniform samples{where}, seed {seed}" + (
        f", {ambiguous} on a boundary not decided" if ambiguous else "")
    return res


def _selection(checks: Iterable[str] | None, skip: Iterable[str], certify: bool) -> set[str]:
    """The checks to run. ``volume`` sums the volumes the ``regions`` check's LPs compute: asked
    for by name, it brings ``regions`` along; asked for while ``regions`` is skipped, it is an
    :class:`OptionError`."""
    chosen = set(CHECKS if checks is None else checks)
    skip = set(skip)
    if checks is None and not certify:
        chosen.discard("certificate")
    for name in [*chosen, *skip]:
        check_choice("check", name, CHECKS)
    if checks is not None and "volume" in chosen - skip:
        if "regions" in skip:
            raise OptionError("the volume check sums the volumes the regions check computes; do not "
                              "skip regions (or leave volume out)")
        chosen.add("regions")
    return chosen - skip


def verify_file(path: str | Path, network: Network, *, samples: int = 10_000, seed: int = 0,
                workers: int | None = None, batch_size: int = 65536, max_listed: int = 20,
                progress: ProgressFn | None = None, certify: bool = False,
                checks: Iterable[str] | None = None, skip: Iterable[str] = (),
                rows: tuple[int, int] | None = None, lp: str = "auto") -> VerifyReport:
    """Check a region file against its network; see the module notes for the checks.

    Parameters
    ----------
    path : str or Path
        The region file.
    network : Network
        The network it was written for; its hash must match the file's (else :class:`InputError`).
    samples : int
        Random points for the coverage check (0 skips it).
    seed : int
        Seed of those points.
    workers : int, optional
        Processes for the LP checks (default: all CPUs).
    max_listed : int
        Failures listed per check (all are counted).
    certify : bool
        Also run the completeness certificate of ``--certify`` (slow: tens of ms per region).
    progress : callable, optional
        Called as ``progress(stage, done, total)`` after each chunk of work (``total`` None when
        not known in advance); the stage names start with the check's name (:data:`STAGES`).
    checks, skip : iterables of str, optional
        The checks to run (default: all of :data:`CHECKS`, the certificate only with ``certify``)
        and those to leave out; the others are reported skipped. ``volume`` runs the ``regions``
        check too (it sums the volumes of that check's LPs).
    rows : (int, int), optional
        Check only the file's rows ``start <= row < stop`` as if they were the whole file (its
        ``points``, ``distinct``, ``regions`` and ``disjoint`` among them); ``coverage``,
        ``volume`` and the certificate, which need every row, are skipped.
    lp : str
        ``"auto"`` (the compiled simplex where it certifies its answer) or ``"highs"`` (HiGHS
        for every LP, the reference); see :mod:`reluregions.analysis._verify_lp`.
    """
    check_choice("LP path", lp, LP_PATHS)
    rf = RegionFile(path)
    rf.check_network(network)
    chosen = _selection(checks, skip, certify)
    if rows is not None:
        start, stop = int(rows[0]), min(int(rows[1]), rf.n_rows)
        if not 0 <= start < stop:
            raise OptionError(f"row range {rows[0]}:{rows[1]} holds none of the file's "
                              f"{rf.n_rows:,} rows")
        rows = (start, stop)
        batch_size = min(batch_size, max(stop - start, 1024))  # a prefix reads no more than it needs
    workers = default_workers() if workers is None else workers
    res = {name: CheckResult(name, max_listed=max_listed) for name in CHECKS}
    for name in set(CHECKS) - chosen:
        res[name].skipped = ("not asked for (--certify)" if name == "certificate" and not certify
                             else "not selected (--checks / --skip)")
    if rows is not None:
        for name in ("coverage", "volume", "certificate"):
            res[name].skipped = res[name].skipped or "a row range (--rows) is not the whole domain"
    n_rows = rows[1] - rows[0] if rows else rf.n_rows
    packed_parts: list[np.ndarray] = []
    kept: list[tuple[np.ndarray, np.ndarray]] | None = [] if not res["certificate"].skipped else None
    batches = rf.batches(batch_size, rows=rows)
    if "points" in chosen:
        _check_points(res["points"], rf, network, batches, packed_parts, progress, kept, n_rows)
    else:
        packed_parts = [b.packed for b in batches]
    packed = np.concatenate(packed_parts) if packed_parts else np.zeros((0, rf.n_bytes), np.uint8)
    del packed_parts
    report(progress, STAGES["distinct"], 0, 1)
    index = PatternIndex(packed, rf.n_hidden)
    if "distinct" in chosen:
        _check_distinct(res["distinct"], index, rows[0] if rows else 0)
    report(progress, STAGES["distinct"], 1, 1)
    args = (network, rf.param, rf.n_hidden, rf.zero_tol, rf.radius_tol, lp)
    if rf.param.dim == 0:
        for name in ("regions", "disjoint", "volume"):
            res[name].skipped = "the domain is a single point"
    if not res["regions"].skipped:
        _check_regions(res["regions"], res["volume"], rf, args, workers, progress, rows)
    elif not res["volume"].skipped:
        res["volume"].skipped = "needs the regions check"
    if not res["disjoint"].skipped:
        _check_disjoint(res["disjoint"], rf, index, args, workers, progress, rows[0] if rows else 0)
    if res["coverage"].skipped:
        pass
    elif samples > 0:
        half = 1.0
        if not rf.param.bounded:  # the whole space: sample around every stored point
            half = 2.0 * max([1.0] + [float(np.abs(b.points).max(initial=0.0))
                                      for b in rf.batches(batch_size)])
        _check_coverage(res["coverage"], rf, network, index, samples, seed, progress, half)
    else:
        res["coverage"].skipped = "no samples requested"
    if kept is None:
        pass
    elif rf.param.dim == 0:
        res["certificate"].skipped = "the domain is a single point"
    elif not rf.param.bounded:
        res["certificate"].skipped = "the whole input space (unbounded regions) is not certified"
    else:
        _check_certificate(res["certificate"], rf, network, kept, progress)
    return VerifyReport(str(path), n_rows, [res[name] for name in CHECKS])
