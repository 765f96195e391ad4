"""Files in and out: models, scenarios, calibration specs, observed data, conversion and result writers."""

from ._calibration_spec import CalibrationSpec, load_calibration
from ._convert import convert_model
from ._interventions import load_intervention, load_package
from ._loading import BUILTIN_MODELS, builtin_path, check_model, load_model
from ._observed import read_observed
from ._scenarios import Scenario, load_scenario
from ._writers import atomic_path, format_from_suffix, write_results
from ._yaml import Located, dump_model_yaml, flow, load_with_lines

__all__ = [
    "BUILTIN_MODELS",
    "CalibrationSpec",
    "Located",
    "Scenario",
    "atomic_path",
    "builtin_path",
    "check_model",
    "convert_model",
    "dump_model_yaml",
    "flow",
    "format_from_suffix",
    "load_calibration",
    "load_intervention",
    "load_model",
    "load_package",
    "load_scenario",
    "load_with_lines",
    "read_observed",
    "write_results",
]
