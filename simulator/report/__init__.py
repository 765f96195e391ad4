"""Figures for people: service charts, fan charts, sensitivity, interventions, calibration.

:mod:`~simulator.report._plots` draws one run (services, waiting lists, curves),
:mod:`~simulator.report._ensemble_plots` ensembles and sensitivity,
:mod:`~simulator.report._appraisal_plots` intervention appraisals, and
:mod:`~simulator.report._figures` holds the shared plumbing (figures on the
user's own backend, never a forced one, so they display in Jupyter; panel grids
capped at twelve panels; words, units and the Okabe-Ito palette; atomic saving).
Programs that only save files may call :func:`use_file_backend` first.
"""

from ._appraisal_plots import plot_averted_over_time, plot_frontier
from ._calibration_plots import plot_calibration_fit, plot_marginals, plot_pairs
from ._ensemble_plots import plot_compare, plot_fan, plot_heatmap, plot_ranking
from ._figures import save_figure, use_file_backend
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
    "use_file_backend",
]
