"""The generic engine: spaces, formulas, the model spec, compiler, kernel, runs and results.

Stage by stage: :mod:`~simulator.core._spaces` (labelled element sets),
:mod:`~simulator.core._formulas` (the safe formula parser), :mod:`~simulator.core._spec`
(the validated model spec), :mod:`~simulator.core._compiler` (spec -> index arrays),
:mod:`~simulator.core._kernel` (the integrator's steppers), :mod:`~simulator.core._run`
(parameters with a member axis, chunks, workers) and :mod:`~simulator.core._results`
(labelled xarray results).  Nothing here knows about a particular model kind.
"""

from ._compiler import CompiledModel, compile_spec
from ._distributed import DaskUnavailable, dask_client
from ._formulas import (
    AGGREGATES,
    Assemble,
    Binary,
    Call,
    Expr,
    FormulaError,
    IfElse,
    Num,
    Ref,
    Take,
    Unary,
    parse,
    refs,
)
from ._kernel import RecordItem, integrate
from ._kind import ModelKind
from ._model import Model, compiled_model
from ._outputs import OutputDef, ratio
from ._problems import InputError, Problem, Problems
from ._results import tidy, to_dataset
from ._run import (
    BACKENDS,
    RunError,
    default_backend,
    make_record,
    model_grid,
    prepare_params,
    run_arrays,
    set_default_backend,
    simulate,
    time_grid,
    use_backend,
)
from ._spaces import SCALAR, Space, SpaceError, aggregation_matrix, dense_space
from ._spec import Aux, Flow, ModelSpec, Output, Param, Series, SpecError, Stock
from ._strata import StrataDecl, Stratifier, StratumMultiplier
from ._strata_transform import strata_of, stratify
from ._workers import can_fork, is_shared, parallel_map, shared_empty

__all__ = [
    "AGGREGATES",
    "BACKENDS",
    "SCALAR",
    "Assemble",
    "Aux",
    "Binary",
    "Call",
    "CompiledModel",
    "DaskUnavailable",
    "Expr",
    "Flow",
    "FormulaError",
    "IfElse",
    "InputError",
    "Model",
    "ModelKind",
    "ModelSpec",
    "Num",
    "Output",
    "OutputDef",
    "Param",
    "Problem",
    "Problems",
    "RecordItem",
    "Ref",
    "RunError",
    "Series",
    "Space",
    "SpaceError",
    "SpecError",
    "Stock",
    "StrataDecl",
    "Stratifier",
    "StratumMultiplier",
    "Take",
    "Unary",
    "aggregation_matrix",
    "can_fork",
    "compile_spec",
    "compiled_model",
    "dask_client",
    "default_backend",
    "dense_space",
    "integrate",
    "is_shared",
    "make_record",
    "model_grid",
    "parallel_map",
    "parse",
    "prepare_params",
    "ratio",
    "refs",
    "run_arrays",
    "set_default_backend",
    "shared_empty",
    "simulate",
    "strata_of",
    "stratify",
    "tidy",
    "time_grid",
    "to_dataset",
    "use_backend",
]
