"""Files in and out: models, scenarios, calibration specs, observed data, conversion and result writers."""

from simulator._lazy import lazy_names

#: public names, imported on first use (PEP 562) so that importing one module of this
#: package does not import them all: public name -> private module that defines it
_LAZY = {
    "BUILTIN_MODELS": "simulator.files._loading",
    "CalibrationSpec": "simulator.files._calibration_spec",
    "Located": "simulator.files._yaml",
    "Scenario": "simulator.files._scenarios",
    "atomic_path": "simulator.files._writers",
    "builtin_path": "simulator.files._loading",
    "check_model": "simulator.files._loading",
    "convert_model": "simulator.files._convert",
    "dump_model_yaml": "simulator.files._yaml",
    "find_area": "simulator.files._localise",
    "flow": "simulator.files._yaml",
    "format_from_suffix": "simulator.files._writers",
    "load_calibration": "simulator.files._calibration_spec",
    "load_intervention": "simulator.files._interventions",
    "load_model": "simulator.files._loading",
    "load_package": "simulator.files._interventions",
    "load_scenario": "simulator.files._scenarios",
    "load_with_lines": "simulator.files._yaml",
    "localise_model": "simulator.files._localise_model",
    "read_observed": "simulator.files._observed",
    "with_strata": "simulator.files._loading",
    "write_results": "simulator.files._writers",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

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
    "find_area",
    "flow",
    "format_from_suffix",
    "load_calibration",
    "load_intervention",
    "load_model",
    "load_package",
    "load_scenario",
    "load_with_lines",
    "localise_model",
    "read_observed",
    "with_strata",
    "write_results",
]
