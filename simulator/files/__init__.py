"""Files in and out: model loading, scenario files, network YAML, conversion and result writers."""

from ._convert import convert_model
from ._loading import BUILTIN_MODELS, builtin_path, check_model, load_model
from ._scenarios import Scenario, load_scenario
from ._writers import atomic_path, format_from_suffix, write_results
from ._yaml import Located, dump_model_yaml, flow, load_with_lines

__all__ = [
    "BUILTIN_MODELS",
    "Located",
    "Scenario",
    "atomic_path",
    "builtin_path",
    "check_model",
    "convert_model",
    "dump_model_yaml",
    "flow",
    "format_from_suffix",
    "load_model",
    "load_scenario",
    "load_with_lines",
    "write_results",
]
