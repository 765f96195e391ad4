"""Upstream: a system dynamics engine for post-Covid mental health demand.

Public API::

    import simulator as up
    model = up.load_model("england")          # or a .xlsx / .yaml path
    ds = up.simulate(model, dt=0.2)            # xarray.Dataset (member, time, group, condition, service)
    up.surge_summary(ds)                       # the surge table per service
    up.tidy(ds)                                # long table for CSV/Parquet
"""

from .compiler import CompiledModel, compile_spec
from .expr import parse
from .loading import BUILTIN_MODELS, builtin_path, check_model, load_model
from .model import Model
from .problems import InputError, Problem
from .results import su_table, tidy
from .run import simulate, time_grid
from .spaces import Space
from .spec import Aux, Flow, ModelSpec, Output, Param, Series, SpecError, Stock

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
