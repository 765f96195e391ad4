"""Analyses over ensembles.

Distributions, sampling, uncertainty designs, ensembles, streaming sketches, global
sensitivity, interventions and their appraisal, scenario comparison, calibration.

Every analysis runs its members through :func:`simulator.core.run_arrays`; none of them
imports a model kind.
"""

from simulator._lazy import lazy_names

#: public names, imported on first use (PEP 562) so that importing one module of this
#: package does not import them all: public name -> private module that defines it
_LAZY = {
    "APPLY": "simulator.analysis._uncertainty",
    "Calibration": "simulator.analysis._calibrate",
    "CalibrationProblem": "simulator.analysis._calibration",
    "DEFAULT_QUANTILES": "simulator.analysis._scenario",
    "Design": "simulator.analysis._uncertainty",
    "DistributionError": "simulator.analysis._distributions",
    "Intervention": "simulator.analysis._appraisal_levers",
    "InterventionEngine": "simulator.analysis._appraisal_engine",
    "Likelihood": "simulator.analysis._likelihoods",
    "LogHistogram": "simulator.analysis._sketches",
    "MODES": "simulator.analysis._uncertainty",
    "Package": "simulator.analysis._appraisal_levers",
    "Period": "simulator.analysis._calibration",
    "Posterior": "simulator.analysis._posterior",
    "SAMPLERS": "simulator.analysis._sampling",
    "Sampler": "simulator.analysis._sampling",
    "Scenario": "simulator.analysis._scenario",
    "Target": "simulator.analysis._calibration",
    "UncertaintyGroup": "simulator.analysis._uncertainty",
    "allocate": "simulator.analysis._appraisal_levers",
    "appraise": "simulator.analysis._appraisal",
    "beta_ppf": "simulator.analysis._distributions",
    "calibrate": "simulator.analysis._calibrate",
    "compare_scenarios": "simulator.analysis._comparison",
    "crps_ensemble": "simulator.analysis._scores",
    "distribution_from_dict": "simulator.analysis._distributions",
    "elements": "simulator.analysis._ensembles",
    "equity_metrics": "simulator.analysis._equity_metrics",
    "equity_of_packages": "simulator.analysis._equity_run",
    "pit": "simulator.analysis._scores",
    "ramp": "simulator.analysis._appraisal_levers",
    "run_ensemble": "simulator.analysis._ensembles",
    "run_equity": "simulator.analysis._equity_run",
    "run_posterior_ensemble": "simulator.analysis._calibrate",
    "scenario_ensemble": "simulator.analysis._ensembles",
    "sensitivity_analysis": "simulator.analysis._sensitivity",
    "simulate_package": "simulator.analysis._appraisal",
    "slope_index": "simulator.analysis._equity",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = [
    "APPLY",
    "DEFAULT_QUANTILES",
    "MODES",
    "SAMPLERS",
    "Calibration",
    "CalibrationProblem",
    "Design",
    "DistributionError",
    "Intervention",
    "InterventionEngine",
    "Likelihood",
    "LogHistogram",
    "Package",
    "Period",
    "Posterior",
    "Sampler",
    "Scenario",
    "Target",
    "UncertaintyGroup",
    "allocate",
    "appraise",
    "beta_ppf",
    "calibrate",
    "compare_scenarios",
    "crps_ensemble",
    "distribution_from_dict",
    "elements",
    "equity_metrics",
    "equity_of_packages",
    "pit",
    "ramp",
    "run_ensemble",
    "run_equity",
    "run_posterior_ensemble",
    "scenario_ensemble",
    "sensitivity_analysis",
    "simulate_package",
    "slope_index",
]
