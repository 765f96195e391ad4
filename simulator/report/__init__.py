"""Figures for people: service charts, fan charts, sensitivity, interventions, calibration.

:mod:`~simulator.report._plots` draws one run (services, waiting lists, curves),
:mod:`~simulator.report._ensemble_plots` ensembles and sensitivity,
:mod:`~simulator.report._appraisal_plots` intervention appraisals, and
:mod:`~simulator.report._figures` holds the shared plumbing (figures on the
user's own backend, never a forced one, so they display in Jupyter; panel grids
capped at twelve panels; words, units and the Okabe-Ito palette; atomic saving).
Programs that only save files may call :func:`use_file_backend` first.
"""

from simulator._lazy import lazy_names

#: public names, imported on first use (PEP 562) so that importing one module of this
#: package does not import them all: public name -> private module that defines it
_LAZY = {
    "BoardReport": "simulator.report._board_report",
    "SystemMap": "simulator.report._system_map",
    "board_report": "simulator.report._board_report",
    "build_report": "simulator.report._board_report",
    "plot_averted_over_time": "simulator.report._appraisal_plots",
    "plot_calibration_fit": "simulator.report._calibration_plots",
    "plot_compare": "simulator.report._ensemble_plots",
    "plot_curves": "simulator.report._plots",
    "plot_equity_plane": "simulator.report._equity_plots",
    "plot_fan": "simulator.report._ensemble_plots",
    "plot_frontier": "simulator.report._appraisal_plots",
    "plot_gradient": "simulator.report._equity_plots",
    "plot_heatmap": "simulator.report._ensemble_plots",
    "plot_marginals": "simulator.report._calibration_plots",
    "plot_pairs": "simulator.report._calibration_plots",
    "plot_ranking": "simulator.report._ensemble_plots",
    "plot_services": "simulator.report._plots",
    "plot_sii_over_time": "simulator.report._equity_plots",
    "plot_waiting": "simulator.report._plots",
    "save_figure": "simulator.report._figures",
    "system_map": "simulator.report._system_map",
    "use_file_backend": "simulator.report._figures",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = [
    "BoardReport",
    "SystemMap",
    "board_report",
    "build_report",
    "plot_averted_over_time",
    "plot_calibration_fit",
    "plot_compare",
    "plot_curves",
    "plot_equity_plane",
    "plot_fan",
    "plot_frontier",
    "plot_gradient",
    "plot_heatmap",
    "plot_marginals",
    "plot_pairs",
    "plot_ranking",
    "plot_services",
    "plot_sii_over_time",
    "plot_waiting",
    "save_figure",
    "system_map",
    "use_file_backend",
]
