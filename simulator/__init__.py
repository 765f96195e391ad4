"""Upstream: a system dynamics engine for post-Covid mental health demand.

Public API::

    import simulator as up

    model = up.load_model("england")           # built-in name, or a .xlsx / .yaml / .mdl / .xmile path
    ds = up.simulate(model, dt=0.2)            # xarray.Dataset (member, time, group, condition, service)
    up.surge_summary(ds)                       # the surge table per service (surge models)
    up.tidy(ds)                                # long table for CSV/Parquet
    up.write_results(ds, "run.parquet")        # or .csv, .nc, .xlsx

    sc = up.load_scenario("scenarios/england-evidence.yaml")
    result = up.scenario_ensemble(sc)          # quantiles per service over thousands of members
    up.plot_fan(result)                        # matplotlib figure

    spec = up.load_calibration("calibration/england-iapt.yaml")
    cal = up.calibrate(spec.problem, "smc")    # posterior of the fitted parameters
    cal.table(); cal.scores(); cal.write("posterior.nc")

Reading and checking models: :func:`load_model`, :func:`check_model`,
:func:`import_model` (Vensim/XMILE); building them: :class:`ModelSpec` and its
pieces (:class:`Stock`, :class:`Flow`, :class:`Param`, :class:`Series`,
:class:`Aux`, :class:`Output`); running: :func:`simulate`; results:
:func:`tidy`, :func:`su_table`, :func:`surge_summary`, :func:`capacity_summary`,
:func:`service_load`, :func:`write_results`, :func:`export_mdl`; analyses:
:func:`run_ensemble`, :func:`scenario_ensemble`, :func:`load_scenario`,
:func:`compare_scenarios`, :func:`sensitivity_analysis`, :func:`appraise`,
:func:`load_package`, :func:`load_intervention`; calibration:
:func:`load_calibration`, :func:`read_observed`, :func:`calibrate`,
:func:`run_posterior_ensemble`; figures: the ``plot_*`` functions and
:func:`save_figure`.

The subpackages hold the stages: :mod:`simulator.core` (spec, compiler,
integrator, results), :mod:`simulator.analysis` (ensembles, sensitivity,
interventions), :mod:`simulator.surge` (the surge and capacity model kind),
:mod:`simulator.vensim`, :mod:`simulator.files` and :mod:`simulator.report`.
Every name is imported on first use (PEP 562), so ``import simulator`` loads
nothing heavy until it is needed (PySD, matplotlib, scipy).
"""

from __future__ import annotations

from simulator._lazy import lazy_names

__version__ = "0.1.0"

#: every public name is imported on first use (PEP 562), so `import simulator` and the CLI stay light:
#: public name -> private module that defines it
_LAZY = {
    "Aux": "simulator.core._spec",
    "BACKENDS": "simulator.core._jit_backend",
    "BUILTIN_MODELS": "simulator.files._loading",
    "BoardReport": "simulator.report._board_report",
    "CompiledModel": "simulator.core._compiler",
    "Flow": "simulator.core._spec",
    "InputError": "simulator.core._problems",
    "Model": "simulator.core._model",
    "ModelSpec": "simulator.core._spec",
    "Output": "simulator.core._spec",
    "Param": "simulator.core._spec",
    "Problem": "simulator.core._problems",
    "Series": "simulator.core._spec",
    "Space": "simulator.core._spaces",
    "SpecError": "simulator.core._spec",
    "Stock": "simulator.core._spec",
    "StrataDecl": "simulator.core._strata",
    "Stratifier": "simulator.core._strata",
    "StratumMultiplier": "simulator.core._strata",
    "SystemMap": "simulator.report._system_map",
    "allocate": "simulator.analysis._appraisal_levers",
    "appraise": "simulator.analysis._appraisal",
    "board_report": "simulator.report._board_report",
    "build_report": "simulator.report._board_report",
    "builtin_path": "simulator.files._loading",
    "calibrate": "simulator.analysis._calibrate",
    "capacity_summary": "simulator.surge._waiting",
    "check_model": "simulator.files._loading",
    "compare_scenarios": "simulator.analysis._comparison",
    "compile_spec": "simulator.core._compiler",
    "default_backend": "simulator.core._jit_backend",
    "equity_metrics": "simulator.analysis._equity_metrics",
    "equity_of_packages": "simulator.analysis._equity_run",
    "export_mdl": "simulator.vensim._writer",
    "find_area": "simulator.files._localise",
    "import_model": "simulator.vensim._importer",
    "load_calibration": "simulator.files._calibration_spec",
    "load_intervention": "simulator.files._interventions",
    "load_model": "simulator.files._loading",
    "load_package": "simulator.files._interventions",
    "load_scenario": "simulator.files._scenarios",
    "localise_model": "simulator.files._localise_model",
    "parse": "simulator.core._formulas",
    "plot_averted_over_time": "simulator.report._ensemble_plots",
    "plot_calibration_fit": "simulator.report._calibration_plots",
    "plot_compare": "simulator.report._ensemble_plots",
    "plot_curves": "simulator.report._plots",
    "plot_equity_plane": "simulator.report._equity_plots",
    "plot_fan": "simulator.report._ensemble_plots",
    "plot_frontier": "simulator.report._ensemble_plots",
    "plot_gradient": "simulator.report._equity_plots",
    "plot_heatmap": "simulator.report._ensemble_plots",
    "plot_marginals": "simulator.report._calibration_plots",
    "plot_pairs": "simulator.report._calibration_plots",
    "plot_ranking": "simulator.report._ensemble_plots",
    "plot_services": "simulator.report._plots",
    "plot_sii_over_time": "simulator.report._equity_plots",
    "plot_waiting": "simulator.report._plots",
    "read_observed": "simulator.files._observed",
    "run_ensemble": "simulator.analysis._ensembles",
    "run_equity": "simulator.analysis._equity_run",
    "run_posterior_ensemble": "simulator.analysis._calibrate",
    "save_figure": "simulator.report._figures",
    "scenario_ensemble": "simulator.analysis._ensembles",
    "sensitivity_analysis": "simulator.analysis._sensitivity",
    "service_load": "simulator.surge._waiting",
    "set_default_backend": "simulator.core._jit_backend",
    "simulate": "simulator.core._run",
    "slope_index": "simulator.analysis._equity",
    "strata_of": "simulator.core._strata_transform",
    "stratify": "simulator.core._strata_transform",
    "su_table": "simulator.surge._results_table",
    "surge_summary": "simulator.surge._summary",
    "system_map": "simulator.report._system_map",
    "tidy": "simulator.core._results",
    "time_grid": "simulator.core._run",
    "use_backend": "simulator.core._jit_backend",
    "with_strata": "simulator.files._loading",
    "write_results": "simulator.files._writers",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = [
    "BACKENDS",
    "BUILTIN_MODELS",
    "Aux",
    "BoardReport",
    "CompiledModel",
    "Flow",
    "InputError",
    "Model",
    "ModelSpec",
    "Output",
    "Param",
    "Problem",
    "Series",
    "Space",
    "SpecError",
    "Stock",
    "StrataDecl",
    "Stratifier",
    "StratumMultiplier",
    "SystemMap",
    "allocate",
    "appraise",
    "board_report",
    "build_report",
    "builtin_path",
    "calibrate",
    "capacity_summary",
    "check_model",
    "compare_scenarios",
    "compile_spec",
    "default_backend",
    "equity_metrics",
    "equity_of_packages",
    "export_mdl",
    "find_area",
    "import_model",
    "load_calibration",
    "load_intervention",
    "load_model",
    "load_package",
    "load_scenario",
    "localise_model",
    "parse",
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
    "read_observed",
    "run_ensemble",
    "run_equity",
    "run_posterior_ensemble",
    "save_figure",
    "scenario_ensemble",
    "sensitivity_analysis",
    "service_load",
    "set_default_backend",
    "simulate",
    "slope_index",
    "strata_of",
    "stratify",
    "su_table",
    "surge_summary",
    "system_map",
    "tidy",
    "time_grid",
    "use_backend",
    "with_strata",
    "write_results",
]
