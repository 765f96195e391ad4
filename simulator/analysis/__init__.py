"""Analyses over ensembles.

Distributions, sampling, uncertainty designs, ensembles, streaming sketches, global
sensitivity, interventions and their appraisal, scenario comparison.

Every analysis runs its members through :func:`simulator.core.run_arrays`; none of them
imports a model kind.
"""

from ._appraisal import InterventionEngine, appraise, simulate_package
from ._comparison import compare_scenarios
from ._distributions import DistributionError, beta_ppf, distribution_from_dict
from ._ensembles import elements, run_ensemble, scenario_ensemble
from ._interventions import Intervention, Package, load_intervention, load_package, ramp
from ._sampling import SAMPLERS, Sampler
from ._scenario import DEFAULT_QUANTILES, Scenario
from ._sensitivity import sensitivity_analysis
from ._sketches import LogHistogram
from ._uncertainty import APPLY, MODES, Design, UncertaintyGroup

__all__ = [
    "APPLY",
    "DEFAULT_QUANTILES",
    "MODES",
    "SAMPLERS",
    "Design",
    "DistributionError",
    "Intervention",
    "InterventionEngine",
    "LogHistogram",
    "Package",
    "Sampler",
    "Scenario",
    "UncertaintyGroup",
    "appraise",
    "beta_ppf",
    "compare_scenarios",
    "distribution_from_dict",
    "elements",
    "load_intervention",
    "load_package",
    "ramp",
    "run_ensemble",
    "scenario_ensemble",
    "sensitivity_analysis",
    "simulate_package",
]
