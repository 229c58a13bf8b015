"""Frozen configuration objects, passed explicitly (no global settings)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .errors import OptionError

__all__ = ["EnumerationConfig", "LPOptions", "check_choice"]


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`OptionError` listing them."""
    choices = list(choices)
    if value not in choices:
        raise OptionError(f"unknown {name} '{value}'; choose one of: {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class LPOptions:
    """Solver settings.

    Parameters
    ----------
    feasibility_tol : float
        HiGHS primal and dual feasibility tolerance. The band of float decisions
        (:attr:`EnumerationConfig.band`) is at least ten times it, so that a radius the LP
        computes outside the band is accurate to far better than the band.
    radius_cap : float
        Upper bound on the Chebyshev radius variable; keeps the LP bounded. Domains are normalised
        to ``[-1, 1]^k``, so any cap above 1 is inactive.
    """

    feasibility_tol: float = 1e-9
    radius_cap: float = 4.0


@dataclass(frozen=True)
class EnumerationConfig:
    """How regions are enumerated and what is recorded for each.

    Parameters
    ----------
    algorithm : str, default "default"
        Name in :data:`reluregions.enumeration.ALGORITHMS`: ``"default"`` (witness points, LP only to
        prove a split or a non-split the witness cannot decide) or ``"paper"`` (Drammis et al. 2024,
        Alg. 1 with Bound-IncEnum: an LP on both sides of every cell for every hyperplane).
    first_layer : str, default "incremental"
        Cell enumerator for layer 1: ``"incremental"`` (insert hyperplanes one at a time) or
        ``"exhaustive"`` (ParLayerWise1-NNCE, §5: one candidate per first-layer sign vector, one LP
        each; only for at most 20 first-layer neurons).
    radius_tol : float, default 1e-8
        Width of the band of floating-point side decisions, in the domain's normalised
        coordinates (the box mapped to ``[-1, 1]^k``). When a cell is split, a side whose float
        Chebyshev radius exceeds ``radius_tol`` has an interior, one below ``-radius_tol`` has
        none, and every decision in between is settled exactly for the network as written (a
        point checked in rational arithmetic, or a Motzkin certificate, or an exact LP;
        :mod:`reluregions.geometry.exactside`, DESIGN.md §1). So it sets how much work is exact,
        never what a region is: counts do not change with it, nor with the box's scale. Values
        below ten times the LP's feasibility tolerance (``lp.feasibility_tol``, 1e-9) are raised
        to it (:attr:`band`), since float decisions closer than that are not trustworthy.
    zero_tol : float, default 1e-9
        A neuron whose pulled-back row is at most ``zero_tol`` times its scale (the sum of the
        magnitudes that formed it) is constant on the region; if its offset is also below that, it
        is identically zero and its bit is 0 (DESIGN.md §1).
    chebyshev : bool, default False
        Record each finished region's exact Chebyshev centre and radius (the largest inscribed
        ball), with one extra LP per region: 10-100 times the cost of counting. Without it (the
        default, as ``reluregions enumerate`` without ``--chebyshev``) ``point``/``radius`` are a
        *certified inscribed ball*: a ball proved to lie inside the region (rounding included),
        whose radius is a lower bound on the Chebyshev radius, at no extra LP. Radii are in the
        domain's normalised coordinates either way.
    ranks : bool, default True
        Record the rank of each region's affine map to every hidden layer.
    keep_maps : bool, default False
        Keep each region's output map ``A, c`` (input coordinates).
    keep_hrep : bool, default False
        Keep each region's irredundant H-representation (parameter coordinates).
    lp : LPOptions
        Solver settings.
    """

    algorithm: str = "default"
    first_layer: str = "incremental"
    radius_tol: float = 1e-8
    zero_tol: float = 1e-9
    chebyshev: bool = False
    ranks: bool = True
    keep_maps: bool = False
    keep_hrep: bool = False
    lp: LPOptions = field(default_factory=LPOptions)

    def __post_init__(self) -> None:
        check_choice("first-layer cell enumerator", self.first_layer, ("incremental", "exhaustive"))
        if not (0 < self.radius_tol < 1):
            raise OptionError(f"radius_tol must be in (0, 1), got {self.radius_tol}")
        if not (0 < self.zero_tol < 1e-3):
            raise OptionError(f"zero_tol must be in (0, 1e-3), got {self.zero_tol}")

    @property
    def band(self) -> float:
        """The band of float decisions actually used: ``radius_tol``, at least ten times the LP's
        feasibility tolerance."""
        return max(self.radius_tol, 10.0 * self.lp.feasibility_tol)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy, written into output metadata."""
        return asdict(self)
