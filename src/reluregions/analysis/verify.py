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
    float decisions, or an exact decision finds an interior point (DESIGN.md §1).
``disjoint``
    For every pair of rows whose patterns differ in exactly one bit, the intersection of the two
    closed regions has empty interior (Chebyshev radius within the band of float decisions, one LP
    per pair: the two closed regions meet on the neuron's hyperplane at most).
``coverage``
    Random points, uniform in the domain, all fall in listed regions (on their certain bits). In
    the whole input space (issue 15) the points are uniform in the box twice as wide as the
    stored points' (the whole space has no uniform distribution).
``volume``
    (domain dimension at most 6) The regions' volumes add up to the domain's (skipped for the
    whole input space).
``certificate``
    (with ``certify=True``, ``verify --certify``) the completeness certificate of ``--certify``
    (:func:`reluregions.enumeration.certify.certify_regions`): every facet of every region that is
    not on the domain's boundary is matched by a listed region on its other side, decided exactly
    where floating point cannot, so the rows tile the domain. It names the first region and facet
    that fail. It is slow (tens of milliseconds per region).

Memory: the packed patterns are held (``n * (n_bytes + 24)`` bytes); everything else streams.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..config import EnumerationConfig
from ..geometry.exactside import SideOracle
from ..geometry.polytope import vertices_t, volume_t
from ..network import Network
from ..regionblock import unpack_bits
from ._keys import PatternIndex
from ._parallel import ProgressFn, default_workers, map_chunks, report
from .geometry import GeometryWorker, domain_volume, file_chunks, volume_scale
from .pullback import point_patterns
from .regionfile import RegionFile

__all__ = ["verify_file", "VerifyReport", "CheckResult", "VerifyWorker", "CHECKS"]

CHECKS = ("points", "distinct", "regions", "disjoint", "coverage", "volume", "certificate")
MAX_VOLUME_DIM = 6
MAX_UNSURE_BITS = 10


@dataclass
class CheckResult:
    """Outcome of one check: how many items were checked, which failed and why."""

    name: str
    checked: int = 0
    failures: int = 0
    rows: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skipped: str | None = None
    note: str | None = None
    max_listed: int = 20

    @property
    def passed(self) -> bool:
        """True when nothing failed (a skipped check passes)."""
        return self.failures == 0

    def fail(self, rows: Any, message: str) -> None:
        """Record one failure (naming the file rows involved)."""
        self.failures += 1
        if len(self.messages) < self.max_listed:
            self.rows.extend(int(r) for r in np.atleast_1d(rows))
            self.messages.append(message)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary."""
        return {"name": self.name, "passed": self.passed, "checked": self.checked,
                "failures": self.failures, "rows": self.rows, "messages": self.messages,
                "skipped": self.skipped, "note": self.note}


@dataclass
class VerifyReport:
    """All checks of one file; ``ok`` when every check passed."""

    path: str
    regions: int
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary."""
        return {"file": self.path, "regions": self.regions, "ok": self.ok,
                "checks": [c.to_dict() for c in self.checks]}

    def lines(self) -> list[str]:
        """A human-readable summary, one check per line plus the listed failures."""
        out = []
        for c in self.checks:
            if c.skipped:
                out.append(f"skip  {c.name:9s} {c.skipped}")
                continue
            status = "ok  " if c.passed else "FAIL"
            out.append(f"{status}  {c.name:9s} {c.checked:,} checked, {c.failures:,} failed"
                       + (f" ({c.note})" if c.note else ""))
            out += [f"        {m}" for m in c.messages]
            if c.failures > len(c.messages):
                out.append(f"        ... and {c.failures - len(c.messages):,} more")
        verdict = "PASSED" if self.ok else "FAILED"
        out.append(f"{verdict}: {self.regions:,} regions in {self.path}")
        return out


class VerifyWorker(GeometryWorker):
    """Per-process verification work: solidity, constant-neuron consistency and volume per row."""

    def rows(self, chunk: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: Chebyshev radius (-inf if inconsistent), first bad bit (-1), volume (NaN if k > 6)."""
        rows, packed, _ = chunk
        bits = self._bits(packed)
        k = self.param.dim
        scale = volume_scale(self.param)
        radii = np.empty(len(rows))
        bad = np.full(len(rows), -1, dtype=np.int64)
        vols = np.full(len(rows), np.nan)
        for i in range(len(rows)):
            g = self.geometry(bits[i])
            if not g.consistent:
                radii[i], bad[i] = -np.inf, g.bad_bits[0]
                continue
            center, radii[i] = self.solver.chebyshev(g.G, g.h)
            if k <= MAX_VOLUME_DIM and self.param.bounded:
                vols[i] = volume_t(vertices_t(g.G, g.h, center), k) * scale if radii[i] > 0 else 0.0
        return radii, bad, vols


def _describe_bit(rf: RegionFile, bit: int) -> str:
    layer = int(np.searchsorted(rf.offsets, bit, side="right")) - 1
    return f"bit {bit} (layer {layer + 1}, neuron {bit - int(rf.offsets[layer])})"


def _check_points(res: CheckResult, rf: RegionFile, network: Network, batches: Iterator[Any],
                  packed_out: list[np.ndarray], progress: ProgressFn | None = None,
                  keep: list[tuple[np.ndarray, np.ndarray]] | None = None) -> CheckResult:
    from ..enumeration.certify import exact_coordinates
    from ..geometry import exact as ex

    p = rf.param
    net, dom = ex.ExactNetwork.of(network), ex.exact_domain(rf.domain)
    exact = 0
    for batch in batches:
        packed_out.append(batch.packed)
        if keep is not None:
            keep.append((batch.bits, batch.points))
        t = rf.to_param(batch.points)
        res.checked += len(batch)
        report(progress, "points", res.checked, rf.n_rows)
        on_hull = np.linalg.norm(p.to_input(t) - batch.points, axis=1) <= 1e-7 * (1 + np.abs(batch.points).max(axis=1))
        chk = ex.check_point(net, dom, batch.bits, exact_coordinates(rf.domain, batch.points))
        exact += chk.exact
        for i in np.flatnonzero(~on_hull | ~chk.ok):
            row = batch.start + int(i)
            where = np.round(batch.points[i], 6).tolist()
            if not on_hull[i]:
                res.fail(row, f"row {row}: its point {where} lies outside the domain's span")
            else:
                res.fail(row, f"row {row}: its point {where} is not strictly inside its region "
                              f"({_name_neuron(rf, chk.reason[int(i)])})")
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
                           progress=lambda done, total: report(progress, "certificate", done, total))
    res.checked = len(bits) if cert.certified else int(cert.failed_region or 0)
    res.note = (f"{cert.facets_matched:,} facets matched, {cert.boundary_facets:,} on the domain's "
                f"boundary, {cert.exact_decisions:,} exact decisions, {cert.lps:,} LPs")
    if not cert.certified:
        res.fail(cert.failed_region if cert.failed_region is not None else [],
                 str(cert.failure))
    return res


def _check_distinct(res: CheckResult, index: PatternIndex) -> CheckResult:
    res.checked = len(index)
    for group in index.duplicates():
        res.fail(group, f"rows {', '.join(map(str, group[:5].tolist()))} hold the same pattern "
                        f"{index.packed[group[0]].tobytes().hex()[:32]}")
    return res


def _check_regions(res: CheckResult, vol: CheckResult, rf: RegionFile, args: tuple,
                   workers: int, progress: ProgressFn | None = None) -> None:
    k = rf.param.dim
    total, chunk_rows = 0.0, []

    def tee() -> Iterator[tuple]:
        for c in file_chunks(rf):
            chunk_rows.append(c[:2])
            yield c

    band = EnumerationConfig(radius_tol=rf.radius_tol).band
    oracle = None
    for radii, bad, vols in map_chunks(VerifyWorker, args, "rows", tee(), workers):
        rows, packed = chunk_rows.pop(0)
        res.checked += len(rows)
        report(progress, "regions (one LP each)", res.checked, rf.n_rows)
        for i in np.flatnonzero(bad >= 0):
            res.fail(rows[i], f"row {rows[i]}: {_describe_bit(rf, int(bad[i]))} is constant on the "
                              "region, so its bit contradicts the network")
        for i in np.flatnonzero((bad < 0) & (radii <= band)):
            # inside the band of float decisions: settled exactly (DESIGN.md §1)
            if oracle is None:
                oracle = SideOracle(args[0], rf.param, rf.zero_tol)
            bits = unpack_bits(packed[i:i + 1], rf.n_hidden)[0]
            widths = np.diff(np.asarray(rf.offsets))
            if oracle.interior(bits, len(widths) - 1, np.ones(int(widths[-1]), bool)) is None:
                res.fail(rows[i], f"row {rows[i]}: its pattern's region has no interior (Chebyshev "
                                  f"radius {radii[i]:.3g}, settled exactly: not full-dimensional)")
        total += float(np.nansum(vols))
    if k > MAX_VOLUME_DIM or k == 0:
        vol.skipped = f"the domain has dimension {k}; volumes are checked for 1 to {MAX_VOLUME_DIM}"
        return
    if not rf.param.bounded:
        vol.skipped = "the whole input space has no finite volume"
        return
    whole = domain_volume(rf.param)
    vol.checked = res.checked
    rel = abs(total - whole) / whole
    vol.note = f"sum {total:.12g}, domain {whole:.12g}, relative error {rel:.2e}"
    if rel > 1e-6:
        vol.fail([], f"the regions' volumes add up to {total:.12g} but the domain's volume is "
                     f"{whole:.12g} ({'overlap' if total > whole else 'gap'})")


def _check_disjoint(res: CheckResult, rf: RegionFile, index: PatternIndex, args: tuple,
                    workers: int, chunk_pairs: int = 256,
                    progress: ProgressFn | None = None) -> CheckResult:
    pair_list: list[np.ndarray] = []
    band = EnumerationConfig(radius_tol=rf.radius_tol).band

    def chunks() -> Iterator[tuple]:
        for pairs in index.neighbour_pairs():
            for s in range(0, len(pairs), chunk_pairs):
                p = pairs[s:s + chunk_pairs]
                pair_list.append(p)
                yield p, index.packed[p[:, 0]], index.packed[p[:, 1]]

    for radii in map_chunks(GeometryWorker, args, "overlap_radius", chunks(), workers):
        pairs = pair_list.pop(0)
        res.checked += len(pairs)
        report(progress, "neighbour pairs (one LP each)", res.checked, None)
        for (a, b, bit), r in zip(pairs, radii):
            if r > band:
                res.fail([a, b], f"rows {a} and {b} (differing in {_describe_bit(rf, int(bit))}) "
                                 f"overlap: their intersection holds a ball of radius {r:.3g}")
    res.note = "pairs of rows whose patterns differ in one bit"
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
    for s in range(0, len(t), 8192):
        chunk = t[s:s + 8192]
        bits, sure = point_patterns(network, p, chunk, rf.zero_tol)
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
        report(progress, "coverage samples", res.checked, samples)
        for i in np.flatnonzero(~found):
            x = p.to_input(chunk[i])
            res.fail([], f"the point {np.round(x, 6).tolist()} of the domain lies in no listed region "
                         f"(its pattern {np.packbits(bits[i], bitorder='little').tobytes().hex()[:32]} "
                         "is missing)")
    where = "" if p.bounded else f" in [-{half:.6g}, {half:.6g}]^{k} (twice the stored points' box)"
    res.note = f"{samples:,} uniform samples{where}, seed {seed}" + (
        f", {ambiguous} on a boundary not decided" if ambiguous else "")
    return res


def verify_file(path: str | Path, network: Network, *, samples: int = 10_000, seed: int = 0,
                workers: int | None = None, batch_size: int = 65536, max_listed: int = 20,
                progress: ProgressFn | None = None, certify: bool = False) -> VerifyReport:
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
        not known in advance).
    """
    rf = RegionFile(path)
    rf.check_network(network)
    workers = default_workers() if workers is None else workers
    res = {name: CheckResult(name, max_listed=max_listed) for name in CHECKS}
    packed_parts: list[np.ndarray] = []
    kept: list[tuple[np.ndarray, np.ndarray]] | None = [] if certify else None
    _check_points(res["points"], rf, network, rf.batches(batch_size), packed_parts, progress, kept)
    packed = np.concatenate(packed_parts) if packed_parts else np.zeros((0, rf.n_bytes), np.uint8)
    del packed_parts
    index = PatternIndex(packed, rf.n_hidden)
    _check_distinct(res["distinct"], index)
    args = (network, rf.param, rf.n_hidden, rf.zero_tol, rf.radius_tol)
    if rf.param.dim == 0:
        for name in ("regions", "disjoint", "volume"):
            res[name].skipped = "the domain is a single point"
    else:
        _check_regions(res["regions"], res["volume"], rf, args, workers, progress)
        _check_disjoint(res["disjoint"], rf, index, args, workers, progress=progress)
    if samples > 0:
        half = 1.0
        if not rf.param.bounded:  # the whole space: sample around every stored point
            half = 2.0 * max([1.0] + [float(np.abs(b.points).max(initial=0.0))
                                      for b in rf.batches(batch_size)])
        _check_coverage(res["coverage"], rf, network, index, samples, seed, progress, half)
    else:
        res["coverage"].skipped = "no samples requested"
    if kept is None:
        res["certificate"].skipped = "not asked for (--certify)"
    elif rf.param.dim == 0:
        res["certificate"].skipped = "the domain is a single point"
    elif not rf.param.bounded:
        res["certificate"].skipped = "the whole input space (unbounded regions) is not certified"
    else:
        _check_certificate(res["certificate"], rf, network, kept, progress)
    return VerifyReport(str(path), rf.n_rows, [res[name] for name in CHECKS])
