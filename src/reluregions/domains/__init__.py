"""Input domains: boxes, H-polytopes and affine slices, all reduced to one parametrisation."""
from __future__ import annotations

from .domains import AffineSlice, Box, Domain, HPolytope, Parametrization

__all__ = ["AffineSlice", "Box", "Domain", "HPolytope", "Parametrization"]
