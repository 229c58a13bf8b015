"""Swappable cell enumerators (Drammis et al. 2024, Appendix A).

``incremental`` (Bound-IncEnum) inserts one hyperplane at a time with an LP per side per cell;
``exhaustive`` is the first-layer enumerator of ParLayerWise1-NNCE (§5, Alg. 6): one candidate per
sign vector, one LP each. The algorithms use ``incremental`` inside cells; ``exhaustive`` may
replace it for the first layer.
"""
from __future__ import annotations

from .exhaustive import MAX_EXHAUSTIVE_NEURONS, exhaustive_first_layer
from .incremental import incremental_step

__all__ = ["exhaustive_first_layer", "incremental_step", "MAX_EXHAUSTIVE_NEURONS"]
