"""Analyses over ensembles.

Distributions, sampling, uncertainty designs, ensembles, streaming sketches, global
sensitivity, interventions and their appraisal, scenario comparison, calibration.

Every analysis runs its members through :func:`simulator.core.run_arrays`; none of them
imports a model kind.
"""

from ._appraisal import appraise, simulate_package
from ._appraisal_engine import InterventionEngine
from ._appraisal_levers import Intervention, Package, ramp
from ._calibrate import Calibration, calibrate, run_posterior_ensemble
from ._calibration import CalibrationProblem, Period, Target
from ._comparison import compare_scenarios
from ._distributions import DistributionError, beta_ppf, distribution_from_dict
from ._ensembles import elements, run_ensemble, scenario_ensemble
from ._likelihoods import Likelihood
from ._posterior import Posterior
from ._sampling import SAMPLERS, Sampler
from ._scenario import DEFAULT_QUANTILES, Scenario
from ._scores import crps_ensemble, pit
from ._sensitivity import sensitivity_analysis
from ._sketches import LogHistogram
from ._uncertainty import APPLY, MODES, Design, UncertaintyGroup

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
    "appraise",
    "beta_ppf",
    "calibrate",
    "compare_scenarios",
    "crps_ensemble",
    "distribution_from_dict",
    "elements",
    "pit",
    "ramp",
    "run_ensemble",
    "run_posterior_ensemble",
    "scenario_ensemble",
    "sensitivity_analysis",
    "simulate_package",
]
