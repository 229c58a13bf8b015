"""Pictures of regions: 2-D partitions with decision boundaries, histograms, the rank study.

matplotlib is optional: it is imported inside the functions, and a missing install raises
:class:`~reluregions.errors.MissingDependencyError` naming ``pip install 'reluregions[plot]'``.
Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot global state).
"""
from __future__ import annotations

from .charts import plot_histograms, plot_rank_study, plot_runtime
from .partition import PartitionPlot, plot_partition, plot_regionset, plot_slice, region_polygons

__all__ = ["PartitionPlot", "plot_partition", "plot_regionset", "plot_slice", "region_polygons",
           "plot_histograms", "plot_rank_study", "plot_runtime"]
