"""Upstream: a system dynamics engine for post-Covid mental health demand.

Public API::

    import simulator as up
    model = up.load_model("england")          # or a .xlsx / .yaml path
    ds = up.simulate(model, dt=0.2)            # xarray.Dataset (member, time, group, condition, service)
    up.surge_summary(ds)                       # the surge table per service
    up.tidy(ds)                                # long table for CSV/Parquet
"""

from simulator.core._compiler import CompiledModel, compile_spec
from simulator.core._formulas import parse
from simulator.core._model import Model
from simulator.core._problems import InputError, Problem
from simulator.core._results import su_table, tidy
from simulator.core._run import simulate, time_grid
from simulator.core._spaces import Space
from simulator.core._spec import Aux, Flow, ModelSpec, Output, Param, Series, SpecError, Stock
from simulator.files._loading import BUILTIN_MODELS, builtin_path, check_model, load_model

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_MODELS",
    "Aux",
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
    "builtin_path",
    "check_model",
    "compile_spec",
    "load_model",
    "parse",
    "simulate",
    "su_table",
    "tidy",
    "time_grid",
]
