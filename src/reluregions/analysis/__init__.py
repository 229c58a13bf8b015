"""Understanding the regions: statistics, geometry, verification and experiments on region files.

Everything works from Parquet region files (DESIGN.md §4) batch by batch, rebuilding each region
from its pattern and the network when geometry is needed. See :func:`compute_stats` (per-layer
counts and the rank study), :func:`region_hrep` / :func:`region_vertices` / :func:`region_volume` /
:func:`region_details` (geometry on demand), :func:`verify_file` (independent checks) and
:func:`run_runtime_study` (runtime against regions).
"""
from __future__ import annotations

from .geometry import (adjacency_edges, domain_volume, region_details, region_hrep, region_vertices,
                       region_volume)
from .pullback import PatternGeometry, batch_maps, pattern_geometry, point_patterns
from .regionfile import RegionBatch, RegionFile, domain_from_dict
from .runtime import RuntimeStudy, fit_linear, run_runtime_study, save_runtime_study
from .stats import (RegionStats, active_neurons, children_per_parent, compute_stats,
                    inradius_distribution, rank_bound, rank_study, ranks_per_layer,
                    regions_per_layer, shared_maps, volume_distribution)
from .verify import CheckResult, VerifyReport, verify_file

__all__ = [
    "CheckResult", "PatternGeometry", "RegionBatch", "RegionFile", "RegionStats", "RuntimeStudy",
    "VerifyReport", "active_neurons", "adjacency_edges", "batch_maps", "children_per_parent",
    "compute_stats", "domain_from_dict", "domain_volume", "fit_linear", "inradius_distribution",
    "pattern_geometry", "point_patterns", "rank_bound", "rank_study", "ranks_per_layer",
    "region_details", "region_hrep", "region_vertices", "region_volume", "regions_per_layer",
    "run_runtime_study", "save_runtime_study", "shared_maps", "verify_file", "volume_distribution",
]
