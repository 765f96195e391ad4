"""Running models: the time grid, parameter arrays with a member axis, chunked execution.

:func:`simulate` is the notebook entry point: it takes a model, optional
parameter values (any parameter may carry a leading member axis), runs every
member in cache-sized chunks on a thread pool (numpy releases the GIL inside
its operations) and returns a labelled :class:`xarray.Dataset`.  A single run
is an ensemble of one.  The pieces live beside this module and are re-exported
here: the time grid and parameters in :mod:`~simulator.core._run_params`,
recording plans in :mod:`~simulator.core._run_record`, chunked execution in
:mod:`~simulator.core._run_chunks`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

import xarray as xr

from simulator.core._budget import Estimate, check_budget, parse_memory, run_estimate
from simulator.core._compiler import CompiledModel
from simulator.core._jit_backend import BACKENDS, default_backend, set_default_backend, use_backend
from simulator.core._kernel import backend_note
from simulator.core._model import Model
from simulator.core._run_chunks import (
    CHUNK_BYTES,
    METHODS,
    PAGE_MEMBERS,
    default_chunk_size,
    run_arrays,
)
from simulator.core._run_params import RunError, TimeGrid, model_grid, prepare_params, time_grid
from simulator.core._run_record import make_record
from simulator.core._spec import ModelSpec

__all__ = [
    "BACKENDS",
    "CHUNK_BYTES",
    "METHODS",
    "PAGE_MEMBERS",
    "RunError",
    "TimeGrid",
    "default_backend",
    "default_chunk_size",
    "make_record",
    "model_grid",
    "prepare_params",
    "run_arrays",
    "set_default_backend",
    "simulate",
    "time_grid",
    "use_backend",
]


def simulate(
    model: Model | ModelSpec | CompiledModel,
    *,
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    params: Mapping[str, object] | None = None,
    record: Iterable[str] | Mapping[str, Sequence[str] | None] | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: bool = False,
    max_memory: int | str | None = None,
    on_estimate: Callable[[Estimate], None] | None = None,
    backend: str | None = None,
) -> xr.Dataset:
    """Simulate a model and return labelled results.

    Parameters
    ----------
    model
        A loaded :class:`~simulator.core._model.Model` (or a spec / compiled model).
    months
        Reporting months ``0 .. months - 1`` (default: the model's horizon, the
        length of the surge curves).
    dt
        Integration step in months (default 1, the surge model's default; an imported
        model's own TIME STEP).
    method
        ``"euler"`` (the surge model's) or ``"rk4"``.
    params
        Parameter values by name: scalar, ``(n,)``, or with a member axis
        ``(members, n)``.  Members are the rows of the member axis.
    record
        What to record: default the model's own outputs (for surge models the
        six series of the surge model's table plus contacts); ``"all"`` for every
        stock, flow and output; a list of names; or a mapping that keeps only
        some dimensions, e.g. ``{"treatment": ["service"], "new_referral": ["service"]}``.
    chunk_size, workers
        Members per chunk and threads (defaults sized to the cache and cores).
    progress
        Show a progress bar for ensembles.
    max_memory
        Refuse the run, before it starts, if it would need more memory than this
        (bytes, or a size such as ``"8GB"``; default: the memory available now).
        The estimate counts the integration state, parameter arrays and the
        recorded outputs (:mod:`simulator.core._budget`).
    on_estimate
        Called with the run's :class:`~simulator.core._budget.Estimate` (memory and
        time) before it starts.
    backend
        ``"compiled"`` (the compiled step kernel; a model with a construct it cannot
        run falls back to numpy) or ``"numpy"`` (the reference implementation);
        ``None``: the process default (``"compiled"`` where numba is installed; see
        :func:`~simulator.core._jit_backend.use_backend`).

    Returns
    -------
    xarray.Dataset
        One variable per recorded quantity with dims ``(member, time, ...)``;
        people for stocks, people per month for flows.  Coordinates ``time``
        (months) and, where the model has a start month, ``date``.

    Raises
    ------
    RunError
        Inconsistent arguments, or more than
        :data:`~simulator.core._run_params.MAX_STEPS` steps (``months / dt``).
    BudgetError
        The run would need more memory than is available or allowed (the message
        gives the estimate and how to proceed).
    """
    if getattr(model, "kind", None) == "pysd":
        # a Vensim/XMILE model Upstream cannot compile, run member by member through PySD
        return model.simulate(  # type: ignore[union-attr]
            months=months, dt=dt, params=params, record=record, workers=workers, progress=progress
        )
    if isinstance(model, Model):
        cm, mobj = model.compiled, model
    elif isinstance(model, ModelSpec):
        from simulator.core._compiler import compile_spec

        cm, mobj = compile_spec(model), None
    else:
        cm, mobj = model, None
    spec = cm.spec
    horizon = int(months if months is not None else spec.horizon)
    grid, msgs = model_grid(spec, horizon, dt)
    for msg in msgs:
        warnings.warn(msg, stacklevel=2)
    arrays, members = prepare_params(cm, params)
    items, spaces = make_record(cm, record)
    dims = spec.dims
    sizes = [(r.n_out, math.prod(len(dims[d]) for d in spaces[r.name].dims)) for r in items if not r.hidden]
    est = run_estimate(cm, members, grid, sizes, params=arrays, workers=workers)
    est = replace(est, backend=backend_note(cm, method, backend))
    if on_estimate is not None:
        on_estimate(est)
    limit = None if max_memory is None else parse_memory(max_memory)
    check_budget(est, limit, advice=("record less (fewer variables or dimensions in record=)",))
    bar = None
    if progress and members > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=members, unit="member", desc=f"simulating {spec.name}")
    try:
        out = run_arrays(
            cm,
            arrays,
            members,
            grid,
            items,
            method=method,
            chunk_size=chunk_size,
            workers=workers,
            progress=None if bar is None else bar.update,
            backend=backend,
        )
    finally:
        if bar is not None:
            bar.close()
    from simulator.core._results import to_dataset

    attrs = {"dt": grid.dt, "method": method, "members": members}
    return to_dataset(cm, out, spaces, grid, mobj, attrs=attrs)
