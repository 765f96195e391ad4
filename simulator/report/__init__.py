"""Figures for people: service charts, fan charts, sensitivity, interventions, calibration.

:mod:`~simulator.report._plots` draws one run (services, waiting lists, curves),
:mod:`~simulator.report._ensemble_plots` ensembles and analyses, and
:mod:`~simulator.report._figures` holds the shared plumbing (headless pyplot,
panel grids, atomic saving).
"""

from ._calibration_plots import plot_calibration_fit, plot_marginals, plot_pairs
from ._ensemble_plots import (
    plot_averted_over_time,
    plot_compare,
    plot_fan,
    plot_frontier,
    plot_heatmap,
    plot_ranking,
)
from ._figures import save_figure
from ._plots import plot_curves, plot_services, plot_waiting

__all__ = [
    "plot_averted_over_time",
    "plot_calibration_fit",
    "plot_compare",
    "plot_curves",
    "plot_fan",
    "plot_frontier",
    "plot_heatmap",
    "plot_marginals",
    "plot_pairs",
    "plot_ranking",
    "plot_services",
    "plot_waiting",
    "save_figure",
]
