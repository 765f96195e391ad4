"""Ensembles: many members with uncertain parameters, reduced to quantiles and means.

Members are processed in **blocks** (all members at once when they are kept
and run on this machine; 4,096 at a time when streamed or sent to a dask
cluster).  For each block (:mod:`simulator.analysis._ensemble_blocks`): draw the
members' uniform draws (from the seed; see :mod:`simulator.analysis._sampling`),
turn them into parameter arrays (:class:`~simulator.analysis._uncertainty.Design`),
run them through the vectorised kernel in cache-sized chunks, keep each member's
*reduced outputs* (what the model's kind gives,
:meth:`~simulator.core.Model.ensemble_outputs`: per service per month for a surge
model, every stock for any other; their horizon totals, peaks and the month of the
peak), and add the block to the running reductions
(:mod:`simulator.analysis._ensemble_stats`).  Blocks are merged in order, so results
are bit-identical whatever the chunk size, the number of threads, or whether blocks
ran on a dask cluster.

Up to ``KEEP_LIMIT`` members (20,000) every member's reduced outputs are kept by
default and quantiles are numpy's on them.  Beyond that, outputs are streamed:
means and standard deviations are exact sums, quantiles come from a mergeable
log-histogram sketch with 0.5% relative accuracy, and memory stays bounded (a
block at a time).  The result (:mod:`simulator.analysis._ensemble_result`) holds
the summary, the kept members and their tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import cast

import numpy as np

from simulator.analysis._ensemble_blocks import Block, ParamHook, member_views, run_block, scalar_views
from simulator.analysis._ensemble_budget import KEEP_LIMIT, check_ensemble, ensemble_budget
from simulator.analysis._ensemble_progress import Progress, progress_bar
from simulator.analysis._ensemble_result import EnsembleResult, elements, member_dataset, summary_of
from simulator.analysis._ensemble_stats import (
    absorb,
    base_name,
    reduce_kept,
    reduce_streamed,
    scalar_names,
    stat_name,
)
from simulator.analysis._sampling import BLOCK, Sampler
from simulator.analysis._sketches import LogHistogram
from simulator.analysis._uncertainty import Design
from simulator.core._budget import Estimate
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._run import model_grid
from simulator.core._workers import can_fork, shared_empty

__all__ = [
    "KEEP_LIMIT",
    "EnsembleResult",
    "OutputDef",
    "ParamHook",
    "default_outputs",
    "elements",
    "run_ensemble",
    "scenario_ensemble",
    "stat_name",
]


def default_outputs(model: Model) -> tuple[OutputDef, ...]:
    """The outputs an ensemble of ``model`` reduces by default (its kind decides).

    Parameters
    ----------
    model
        Any model kind.

    Returns
    -------
    tuple of OutputDef
        What :meth:`~simulator.core.Model.ensemble_outputs` gives.
    """
    return model.ensemble_outputs()


@dataclass
class _Kept:
    """Every member's reduced outputs, members last: monthly ``(T, *keep, M)``, scalars ``(*keep, M)``."""

    monthly: dict[str, np.ndarray]
    scalars: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]

    @classmethod
    def allocate(
        cls, outputs: Sequence[OutputDef], shapes: dict[str, tuple[int, ...]], members: int, shared: bool
    ) -> _Kept:
        """Storage for ``members`` (in shared memory where chunks run in forked workers)."""
        alloc = partial(shared_empty, align_rows=True) if shared else np.empty
        monthly = {o.name: alloc((*shapes[o.name], members)) for o in outputs}
        scalars = {k: alloc((*shapes[base_name(k)][1:], members)) for k in scalar_names(outputs)}
        return cls(monthly, scalars, shapes)

    def views(self, a: int, b: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Member views of members ``a .. b-1`` (see :func:`run_block`'s ``out``)."""
        return member_views(self.monthly, a, b), scalar_views(self.scalars, a, b)

    def store(self, blk: Block) -> None:
        """Copy a block's kept outputs in (blocks run elsewhere send them back) and release them."""
        n = blk.stop - blk.start
        for k, v in blk.monthly.items():
            self.monthly[k][..., blk.start : blk.stop] = v.reshape(*self.shapes[k], n)
        for k, v in blk.scalars.items():
            self.scalars[k][..., blk.start : blk.stop] = v.reshape(*self.shapes[base_name(k)][1:], n)
        blk.monthly, blk.scalars = {}, {}


@dataclass
class _Blocks:
    """The blocks of one ensemble: who runs them, on which draws, and where kept outputs go."""

    model: Model
    design: Design
    smp: Sampler | None
    draws: np.ndarray | None
    bounds: Sequence[tuple[int, int]]
    kw: dict
    kept: _Kept | None

    def draws_of(self, a: int, b: int) -> np.ndarray | None:
        """Explicit draws of members ``a .. b-1`` (``None``: the sampler draws them)."""
        return None if self.draws is None else self.draws[a:b]

    def run_here(self, tick: Callable[[int], None] | None) -> tuple[list[Block], LogHistogram | None]:
        """Run the blocks on this machine, in order (kept outputs written in place)."""
        blocks: list[Block] = []
        sketch: LogHistogram | None = None  # counts are integers: merge order does not matter
        scratch: dict = {}  # a streamed block's storage, reused by the next (see run_block)
        for a, b in self.bounds:
            views = svs = None
            if self.kept is not None:
                views, svs = self.kept.views(a, b)
            u = self.draws_of(a, b)
            blk = run_block(
                self.model,
                self.design,
                self.smp,
                u,
                a,
                b,
                out=views,
                scalars_out=svs,
                progress=tick,
                scratch=scratch,
                **self.kw,
            )
            blocks.append(blk)
            sketch = absorb(sketch, blk)
        return blocks, sketch

    def run(self, dask_client, progress: Progress, desc: str) -> tuple[list[Block], LogHistogram | None]:
        """Run every block (here, or on ``dask_client``) with a progress bar; blocks in member order."""
        members = self.bounds[-1][1] if self.bounds else 0
        bar = progress_bar(progress, members, desc)
        try:
            if dask_client is None:
                blocks, sketch = self.run_here(None if bar is None else bar.update)  # as chunks finish
            else:
                blocks, sketch = self.run_on_dask(dask_client, bar)
        finally:
            if bar:
                bar.close()
        blocks.sort(key=lambda blk: blk.start)
        return blocks, sketch

    def run_on_dask(self, client, bar) -> tuple[list[Block], LogHistogram | None]:
        """Run the blocks on a dask cluster, merging them as they finish."""
        from dask.distributed import as_completed

        m_f = client.scatter(self.model, broadcast=True)
        d_f = client.scatter(self.design, broadcast=True)
        futures = [
            client.submit(run_block, m_f, d_f, self.smp, self.draws_of(a, b), a, b, pure=False, **self.kw)
            for a, b in self.bounds
        ]
        blocks: list[Block] = []
        sketch: LogHistogram | None = None
        for fut in as_completed(futures):
            blk = fut.result()
            if self.kept is not None:
                self.kept.store(blk)
            blocks.append(blk)
            sketch = absorb(sketch, blk)
            if bar:
                bar.update(blk.stop - blk.start)
        return blocks, sketch


def run_ensemble(
    model: Model,
    design: Design,
    *,
    members: int,
    seed: int = 0,
    sampler: str = "lhs",
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    outputs: Sequence[OutputDef] | None = None,
    quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
    draws: np.ndarray | None = None,
    keep_members: bool | None = None,
    block_size: int | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    dask_client=None,
    progress: Progress = False,
    param_hook: ParamHook | None = None,
    name: str = "",
    max_memory: int | str | None = None,
    on_estimate: Callable[[Estimate], None] | None = None,
) -> EnsembleResult:
    """Run an ensemble and reduce it.

    Parameters
    ----------
    model, design
        The model and its uncertainty groups (a design with no groups runs identical members).
    members, seed, sampler
        Ensemble size, seed and sampler (``monte-carlo``, ``lhs``, ``sobol``).
    months, dt, method
        Horizon (reporting months; default the model's), step (months; default the
        model's own) and integration method (``euler``, ``rk4``).
    outputs
        Reduced outputs (default: what the model's kind gives, :func:`default_outputs`).
    quantiles
        Quantiles of the summary, in ``[0, 1]``.
    draws
        Explicit uniform draws ``(members, columns)`` instead of a sampler
        (sensitivity analysis passes SALib's sample this way).
    keep_members
        Keep every member's reduced outputs (default: up to 20,000 members).
    block_size
        Members per block (results do not depend on it).  Default: every member
        in one block when members are kept and run here (one pool of workers,
        balanced to the end), else :data:`~simulator.analysis._sampling.BLOCK` (memory
        stays bounded when streaming; the unit of work on a dask cluster).
    chunk_size, workers
        Members per chunk and worker processes (results do not depend on them).
    dask_client
        A ``dask.distributed.Client``: blocks run on its workers; bit-identical to local.
    progress
        Show a progress bar (``True``), or a function ``progress(done, total)`` called in this
        process with the members finished so far and the ensemble's members, first with
        ``done = 0`` and then as chunks (or dask blocks) finish (a web page's progress bar).
    param_hook
        ``(params, start, stop) -> (params, run_arrays keyword arguments)``: changes
        parameter arrays per block (used by interventions).
    name
        The ensemble's name (attributes, progress bar).
    max_memory
        Refuse the ensemble, before anything is allocated or run, if it would need
        more memory than this (bytes, or a size such as ``"8GB"``; default: the
        memory available now).  See :mod:`simulator.analysis._ensemble_budget`.
    on_estimate
        Called with the ensemble's :class:`~simulator.core._budget.Estimate` (memory
        and time) before it starts.

    Returns
    -------
    EnsembleResult
        Means, sds and quantiles of every output (exact if members are kept, else
        from a sketch with 0.5% relative accuracy), and the kept members.

    Raises
    ------
    BudgetError
        The ensemble would need more memory than is available or allowed (a
        ``RunError``; the message gives the estimate and how to proceed).
    """
    months = months or model.spec.horizon
    outputs = tuple(outputs or default_outputs(model))
    if draws is not None:
        draws = np.asarray(draws, dtype=float)
        members = draws.shape[0]
    keep = members <= KEEP_LIMIT if keep_members is None else keep_members
    same = not design.groups and draws is None and param_hook is None and members > 1  # identical members
    grid, msgs = model_grid(model.spec, months, dt)
    varied = None if param_hook is not None else {g.parameter for g in design.groups}
    est = ensemble_budget(
        model, members, grid, outputs, keep=keep, varied=varied, identical=same, workers=workers, what=name
    )
    check_ensemble(est, max_memory, on_estimate)  # refused before anything is allocated
    if same:
        # identical members: run one and repeat it (quantiles all equal, sd 0)
        kw1 = dict(months=months, dt=dt, method=method, outputs=outputs, quantiles=quantiles, name=name)
        one = run_ensemble(model, design, members=1, keep_members=True, **kw1)  # type: ignore[arg-type]
        if callable(progress):
            progress(members, members)
        return _repeat(one, members, seed, sampler, keep)
    smp = None if draws is not None else Sampler(sampler, seed, tuple(design.columns), members)
    dt = grid.dt  # the model's own step when none was given
    for msg in msgs:
        warnings.warn(msg, stacklevel=2)
    times = np.asarray(grid.report_times)
    _ = model.compiled
    if block_size is None:
        block_size = max(members, 1) if keep and dask_client is None else BLOCK
    bounds = [(a, min(members, a + block_size)) for a in range(0, members, block_size)]
    kw = dict(months=months, dt=dt, method=method, outputs=outputs, keep=keep)
    kw.update(chunk_size=chunk_size, workers=workers, param_hook=param_hook)
    coords = {d: model.spec.dims[d] for o in outputs for d in o.keep}
    shapes = {o.name: (len(times), *(len(coords[d]) for d in o.keep)) for o in outputs}
    # kept outputs live in shared memory where chunks run in forked workers (written in place)
    shared = can_fork() and dask_client is None
    kept = _Kept.allocate(outputs, shapes, members, shared) if keep else None
    plan = _Blocks(model, design, smp, draws, bounds, kw, kept)
    blocks, sketch = plan.run(dask_client, progress, name or f"ensemble of {model.name}")
    member_ds = None
    if kept is not None:
        allv, stats = reduce_kept(kept.monthly, kept.scalars, quantiles)
        values = np.concatenate([b.values for b in blocks if b.values is not None])
        member_ds = member_dataset(allv, outputs, times, coords, values, [g.name for g in design.groups])
    else:
        assert sketch is not None
        stats = reduce_streamed(blocks, sketch, quantiles, members)
    summary = summary_of(model, stats, outputs, quantiles, times, coords)
    label = "explicit draws" if draws is not None else sampler
    attrs = _attrs(
        model, blocks, keep, name=name, members=members, seed=seed, sampler=label, dt=dt, method=method
    )
    summary.attrs = dict(attrs)
    return EnsembleResult(summary, member_ds, keep, attrs)


def _attrs(model: Model, blocks: Sequence[Block], keep: bool, **settings: object) -> dict[str, object]:
    """An ensemble's attributes: name, model, run settings, how quantiles were taken, design counts."""
    attrs: dict[str, object] = {"name": settings.pop("name"), "model": model.name, **settings}
    attrs["quantiles"] = "exact" if keep else "sketch (0.5% relative accuracy)"
    counts: dict[str, int] = {}  # the design's counts (clipped draws ...), summed in block order
    for blk in blocks:
        for k, v in blk.counts.items():
            counts[k] = counts.get(k, 0) + v
    attrs.update({k: v for k, v in counts.items() if v})
    assumed = cast("list[str] | None", model.spec.meta.get("assumed_capacity"))
    if assumed:
        attrs["assumed_capacity"] = "; ".join(assumed)
    return attrs


def _repeat(one: EnsembleResult, members: int, seed: int, sampler: str, keep: bool) -> EnsembleResult:
    """An ensemble of ``members`` identical copies of a one-member result (copied only if kept)."""
    m = one.members
    assert m is not None
    rep = None
    if keep:  # the copies are made only when asked for (and the budget allowed them)
        rep = m.isel(member=np.zeros(members, dtype=int)).assign_coords(member=np.arange(members))
    attrs = {**one.attrs, "members": members, "seed": seed, "sampler": sampler}
    summary = one.summary.copy()
    summary.attrs = dict(attrs)
    return EnsembleResult(summary, rep, True, attrs)  # identical members: quantiles exact


def scenario_ensemble(scenario, **overrides) -> EnsembleResult:
    """Run a loaded scenario's ensemble.

    Parameters
    ----------
    scenario
        A :class:`~simulator.analysis._scenario.Scenario` (model, design and run settings).
    **overrides
        Keyword arguments of :func:`run_ensemble` that replace the scenario's
        (``None`` values are ignored).

    Returns
    -------
    EnsembleResult
        The scenario's ensemble.
    """
    kw = dict(
        members=scenario.members,
        seed=scenario.seed,
        sampler=scenario.sampler,
        months=scenario.months,
        dt=scenario.dt,
        method=scenario.method,
        quantiles=scenario.quantiles,
        name=scenario.name,
    )
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return run_ensemble(scenario.model, scenario.design, **kw)
