"""Input domains: boxes, H-polytopes, affine slices and the whole space, reduced to one parametrisation."""
from __future__ import annotations

from .domains import AffineSlice, Box, Domain, HPolytope, Parametrization, WholeSpace

__all__ = ["AffineSlice", "Box", "Domain", "HPolytope", "Parametrization", "WholeSpace"]
