"""reluregions: exact enumeration of the activation regions of ReLU networks.

Implements the layer-wise framework of Drammis et al. 2024 ("Parallel Algorithms for Exact
Enumeration of Deep Neural Network Activation Regions") and faster variants of it; see DESIGN.md.
"""
from __future__ import annotations

from ._version import __version__
from .config import EnumerationConfig
from .domains import AffineSlice, Box, Domain, HPolytope, WholeSpace
from .enumeration import (ALGORITHMS, CountResult, count_regions, enumerate_regions,
                          iter_regions)
from .errors import (DomainError, EmptyDomainError, InputError, InvalidWeightsError,
                     MissingDependencyError, NetworkFileError, OptionError, ReluRegionsError,
                     ShapeMismatchError, SolverError, UnboundedDomainError, UnsupportedLayerError,
                     WorkerDiedError)
from .geometry.lp import LPOptions
from .io.regionset import RegionSet
from .network import Network, load_network
from .regionblock import RegionBlock

__all__ = [
    "__version__", "ALGORITHMS", "AffineSlice", "Box", "CountResult", "Domain", "DomainError",
    "EmptyDomainError", "EnumerationConfig", "HPolytope", "InputError", "InvalidWeightsError",
    "LPOptions", "MissingDependencyError", "Network", "NetworkFileError", "OptionError",
    "RegionBlock", "RegionSet", "ReluRegionsError", "ShapeMismatchError", "SolverError",
    "UnboundedDomainError", "UnsupportedLayerError", "WorkerDiedError", "count_regions",
    "enumerate_regions", "iter_regions", "load_network", "WholeSpace",
]
