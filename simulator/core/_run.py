"""Running models: the time grid, parameter arrays with a member axis, chunked execution.

:func:`simulate` is the notebook entry point: it takes a model, optional
parameter values (any parameter may carry a leading member axis), runs every
member in cache-sized chunks on a thread pool (numpy releases the GIL inside
its operations) and returns a labelled :class:`xarray.Dataset`.  A single run
is an ensemble of one.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from threadpoolctl import ThreadpoolController

from simulator.core._compiler import CompiledModel
from simulator.core._kernel import RecordItem, integrate
from simulator.core._model import Model
from simulator.core._spaces import SCALAR, Space, aggregation_matrix
from simulator.core._spec import ModelSpec
from simulator.core._workers import can_fork, is_shared, run_chunks, shared_empty

__all__ = [
    "TimeGrid",
    "default_chunk_size",
    "make_record",
    "prepare_params",
    "run_arrays",
    "simulate",
    "time_grid",
]

METHODS = ("euler", "rk4")


class RunError(ValueError):
    """Arguments of a run are inconsistent (bad dt, unknown parameter, wrong shape)."""


@dataclass(frozen=True)
class TimeGrid:
    """Integration steps and the report times that fall on them.

    Step ``k`` is at ``t0 + k * dt`` (as R's ``seq(t0, t_end, dt)``); reports
    are whole months on the grid (within 1e-9).
    """

    t0: float
    dt: float
    n_steps: int
    report_steps: tuple[int, ...]
    report_times: tuple[float, ...]


def time_grid(
    months: int, dt: float, t0: float = 0.0, every: float = 1.0, max_dt: float | None = None
) -> tuple[TimeGrid, list[str]]:
    """The grid from ``t0`` to ``t0 + (months - 1) * every`` in steps of ``dt``, and any warnings.

    The horizon follows the surge model: ``months`` reporting months
    ``0 .. months - 1``.  If ``dt`` does not divide a month, only the whole
    months that fall on the grid are reported (a warning says which).
    Imported models report every ``every`` time units (Vensim's SAVEPER) from
    their own start time ``t0``.  A model may declare the largest step it is
    built for (``max_dt``: a capacity model's narrowest wait band); a larger
    ``dt`` is warned about.
    """
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise RunError(f"dt must be a positive number of months, not {dt!r}")
    if months < 1:
        raise RunError(f"months must be at least 1, not {months}")
    t_end = t0 + (months - 1) * every
    n_steps = math.floor((t_end - t0) / dt + 1e-9)
    steps, times = [], []
    for k in range(n_steps + 1):
        t = t0 + k * dt
        r = (t - t0) / every
        if abs(r - round(r)) < 1e-9:
            steps.append(k)
            # report times as written (0.3, not 0.30000000000000004)
            times.append(
                float(round(t)) if every == 1.0 and t0 == 0.0 else float(f"{t0 + round(r) * every:.12g}")
            )
    msgs = []
    expected = months
    if len(times) < expected:
        unit, what = ("a month", "months") if every == 1.0 else (f"the report interval {every:g}", "times")
        msgs.append(
            f"dt={dt:g} does not divide {unit}: only {what} {', '.join(f'{t:g}' for t in times[:8])}"
            f"{' ...' if len(times) > 8 else ''} fall on the step grid and are reported"
        )
    if max_dt is not None and dt > max_dt + 1e-12:
        msgs.append(
            f"dt={dt:g} is longer than the model's narrowest wait band ({max_dt:g} months): "
            "wait bands may be overdrawn; use dt <= the narrowest band"
        )
    return TimeGrid(t0, float(dt), n_steps, tuple(steps), tuple(times)), msgs


def model_grid(spec: ModelSpec, months: int, dt: float | None = None) -> tuple[TimeGrid, list[str]]:
    """A model's time grid: its own clock for imported models, whole months otherwise.

    Imported models carry their start time, step and report interval in
    ``spec.meta["clock"]``; ``dt=None`` takes the model's own step (1 month for
    surge models).  Capacity models declare the largest step their wait bands
    allow (``spec.meta["max_dt"]``).
    """
    clock = spec.meta.get("clock") or {}
    if dt is None:
        dt = float(clock.get("dt", 1.0))
    return time_grid(
        months,
        dt,
        float(clock.get("t0", 0.0)),
        float(clock.get("every", 1.0)),
        max_dt=spec.meta.get("max_dt"),
    )


def prepare_params(
    cm: CompiledModel, params: Mapping[str, object] | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """Every parameter as ``(1 or members, n)``, checked against its space and bounds.

    ``params`` maps names to a scalar (every element), an array ``(n,)``, or
    an array ``(members, n)`` / ``(members,)`` for a scalar parameter... with a member axis.
    Returns the arrays and the number of members.
    """
    out = dict(cm.defaults)
    members = 1
    problems = []
    specs = {p.name: p for p in cm.spec.params}
    for name, value in (params or {}).items():
        if name not in specs:
            problems.append(f"unknown parameter {name!r}; parameters: {', '.join(specs)}")
            continue
        p = specs[name]
        n = len(p.space)
        a = np.asarray(value, dtype=float)
        if a.ndim == 0:
            a = np.full((1, n), float(a))
        elif a.ndim == 1:
            if a.shape[0] == n:
                a = a[None, :]
            elif n == 1:
                a = a[:, None]
            else:
                problems.append(f"parameter {name}: {a.shape[0]} values for {n} elements")
                continue
        elif a.ndim == 2 and a.shape[1] != n:
            problems.append(f"parameter {name}: shape {a.shape}, expected (members, {n})")
            continue
        elif a.ndim > 2:
            problems.append(f"parameter {name}: shape {a.shape} has too many axes")
            continue
        if not np.all(np.isfinite(a)):
            problems.append(f"parameter {name}: values must be finite")
        lo, hi = p.bounds
        if lo is not None and np.any(a < lo):
            problems.append(f"parameter {name}: values below the allowed minimum {lo:g} ({a.min():g})")
        if hi is not None and np.any(a > hi):
            problems.append(f"parameter {name}: values above the allowed maximum {hi:g} ({a.max():g})")
        if a.shape[0] > 1:
            # column-major like the state: gathers are block copies and no evaluation copies
            a = np.asfortranarray(a)
            if members not in (1, a.shape[0]):
                problems.append(f"parameter {name}: {a.shape[0]} members, but others have {members}")
            members = max(members, a.shape[0])
        out[name] = a
    if problems:
        raise RunError("; ".join(problems))
    return out, members


def make_record(
    cm: CompiledModel, record: Iterable[str] | Mapping[str, Sequence[str] | None] | None = None
) -> tuple[list[RecordItem], dict[str, Space]]:
    """Recording plan: what to record and the space it is reduced to.

    ``record`` is ``None`` (the model's default list, ``spec.meta["record"]``,
    or else every stock, flow and output at full resolution), ``"all"``, a
    list of names, or a mapping from names to the dimensions to keep (others
    are summed), e.g. ``{"treatment": ["service"]}``.
    """
    everything = (*cm.slices, *cm.flow_spaces, *cm.outputs)
    if record is None:
        record = cm.spec.meta.get("record") or everything
    if isinstance(record, str) and record == "all":
        record = everything
    if not isinstance(record, Mapping):
        record = {n: None for n in record}
    items, spaces = [], {}
    hidden: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, keep in record.items():
        space = cm.space_of(name)
        if keep is None:
            items.append(RecordItem(name, None, len(space)))
            spaces[name] = space
            continue
        keep = tuple(keep)
        bad = [d for d in keep if d not in space.dims]
        if bad:
            raise RunError(f"cannot keep {bad} for {name}: its dimensions are {list(space.dims)}")
        # keep the dims in the model's dimension order, with every label of each kept dim
        full = Space(keep, tuple(_product(cm.spec, keep))) if keep else SCALAR
        if full == space:
            items.append(RecordItem(name, None, len(space)))
            spaces[name] = space
            continue
        spaces[name] = full
        factored = cm.factors.get(name)
        if factored is not None and set(factored[1].space.dims) <= set(keep):
            base, node = factored
            if base not in record or (record[base] is not None and tuple(record[base]) != keep):
                hidden_name = base if base not in record else f"__{base}__{'_'.join(keep)}"
                if hidden_name not in hidden:
                    hidden[hidden_name] = (base, keep)
                base = hidden_name
            fidx = full.projection(node.space) if node.space.dims else None
            items.append(RecordItem(name, None, len(full), base=base, factor=node, factor_index=fidx))
            continue
        index = space.projection(full) if keep else np.zeros(len(space), np.intp)
        items.append(RecordItem(name, aggregation_matrix(index, len(full)), len(full)))
    for hname, (base, keep) in hidden.items():
        space = cm.space_of(base)
        full = Space(keep, tuple(_product(cm.spec, keep)))
        index = space.projection(full)
        items.insert(
            0, RecordItem(hname, aggregation_matrix(index, len(full)), len(full), hidden=True, source=base)
        )
    return items, spaces


def _product(spec: ModelSpec, dims: Sequence[str]):
    from itertools import product

    return product(*(spec.dims[d] for d in dims))


CHUNK_BYTES = 12_000_000


def default_chunk_size(cm: CompiledModel) -> int:
    """Members per chunk: the state, coefficients and buffers of a chunk stay near 12 MB.

    Measured on the England model (2 cores, 32 MB L3): 128-256 members per
    chunk run fastest; smaller chunks pay Python overhead per step, larger
    ones spill the cache.
    """
    per_member = 8 * (cm.n_stocks + 2 * sum(len(b.of) for b in cm.transfers))
    m = int(CHUNK_BYTES // max(per_member, 1))
    if any(b.value.state for b in cm.inflows):
        # formulas over the state (imported Vensim models) make a temporary per node and
        # step: 64-256 members per chunk ran fastest on the imported England model
        m = min(m, 128)
    return int(min(512, max(32, m)))


#: members of one page (4 KiB) of a member-last float64 array
PAGE_MEMBERS = 512


def run_arrays(
    cm: CompiledModel,
    params: Mapping[str, np.ndarray],
    members: int,
    grid: TimeGrid,
    record: Sequence[RecordItem],
    *,
    method: str = "euler",
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    varying: frozenset[str] = frozenset(),
    param_at: Callable[[Mapping[str, np.ndarray], float], Mapping[str, np.ndarray]] | None = None,
    out: dict[str, np.ndarray] | None = None,
    allow_matrix: bool | None = None,
    after: Callable[[int, int, Mapping[str, np.ndarray]], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run ``members`` members in chunks; return name -> ``(members, reports, n_out)``.

    Chunks run on ``workers`` forked processes where the platform can fork,
    threads otherwise (default: every core; see :mod:`simulator.core._workers`).  The
    result does not depend on the chunk size, the number of workers or how they
    run.  ``out`` gives arrays to fill (e.g. views into a whole ensemble's
    storage; in shared memory they are written by the workers directly).
    ``allow_matrix`` (default: when no parameter has a member axis) lets the
    kernel use one constant step matrix; it is decided for the whole run so that
    chunking never changes a result.  ``after(a, b, values)`` is called where a
    chunk ran, once members ``a .. b-1`` are recorded (``values``: name ->
    their rows), to reduce them while they are in cache and in parallel; it may
    write only to shared memory (or, on threads, to rows ``a .. b-1``).  With
    ``after``, quantities not in ``out`` are passed to it and not returned.
    """
    if method not in METHODS:
        raise RunError(f"method must be one of {METHODS}, not {method!r}")
    chunk = chunk_size or default_chunk_size(cm)
    bounds = [(a, min(members, a + chunk)) for a in range(0, members, chunk)]
    n_workers = workers or (os.cpu_count() or 1)
    # forked workers pay a fork per run: worth it from a few chunks per worker
    processes = n_workers > 1 and len(bounds) >= 2 * n_workers and can_fork()
    out = dict(out or {})
    alloc = shared_empty if processes else np.empty
    for r in record:
        # with ``after``, quantities the caller gave no array for live only while their chunk
        # is reduced (no whole-run storage, no pages to fault in)
        if not r.hidden and r.name not in out and after is None:
            out[r.name] = alloc((members, len(grid.report_steps), r.n_out))
    # the kernel is chosen for the whole run, so chunking never changes a result
    if allow_matrix is None:
        allow_matrix = not any(v.shape[0] > 1 for v in params.values())
    # a caller's arrays in private memory are filled through shared copies
    target = {k: v if not processes or is_shared(v) else shared_empty(v.shape) for k, v in out.items()}

    def one(ab: tuple[int, int]) -> tuple[int, int]:
        a, b = ab
        sub = {k: (v[a:b] if v.shape[0] > 1 else v) for k, v in params.items()}
        pa = None if param_at is None else (lambda t, _s=sub: param_at(_s, t))
        views = {k: v[a:b] for k, v in target.items()}
        res = integrate(
            cm,
            sub,
            members=b - a,
            t0=grid.t0,
            dt=grid.dt,
            n_steps=grid.n_steps,
            report_steps=grid.report_steps,
            record=record,
            method=method,
            varying=varying,
            param_at=pa,
            allow_matrix=allow_matrix,
            dest=views,
        )
        for k, v in res.items():
            if k not in views:
                views[k] = v  # chunk-local (``after`` only)
            elif v is not views[k]:  # recorded straight into ``target`` otherwise
                target[k][a:b] = v
        if after is not None:
            after(a, b, views)
        return ab

    # a forked worker maps each page of shared memory it touches once: where members are
    # the last (contiguous) axis of the caller's storage, a job of consecutive chunks
    # spanning a page's worth of members touches each page in one worker only
    member_last = any(v.ndim > 1 and v.strides[0] == v.itemsize for v in target.values())
    # one BLAS thread per worker: the small matrix products of a step only lose time to
    # BLAS's own threads, and chunks already run in parallel
    with _blas().limit(limits=1, user_api="blas"):
        if processes and member_last:
            per = max(1, min(-(-PAGE_MEMBERS // chunk), len(bounds) // (2 * n_workers)))
            jobs = [
                (bounds[i][0], bounds[min(i + per, len(bounds)) - 1][1]) for i in range(0, len(bounds), per)
            ]

            def job(ab: tuple[int, int]) -> tuple[int, int]:
                for c in bounds:
                    if ab[0] <= c[0] and c[1] <= ab[1]:
                        one(c)
                return ab

            run_chunks(job, jobs, n_workers, progress, processes)
        else:
            run_chunks(one, bounds, n_workers, progress, processes)
    for k, v in target.items():
        if v is not out[k]:
            out[k][...] = v
    return out


_CONTROLLER: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    """The process's thread-pool controller (inspecting the loaded libraries once)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


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

    Returns
    -------
    xarray.Dataset
        One variable per recorded quantity with dims ``(member, time, ...)``;
        people for stocks, people per month for flows.  Coordinates ``time``
        (months) and, where the model has a start month, ``date``.
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
        )
    finally:
        if bar is not None:
            bar.close()
    from simulator.core._results import to_dataset

    attrs = {"dt": grid.dt, "method": method, "members": members}
    return to_dataset(cm, out, spaces, grid, mobj, attrs=attrs)
