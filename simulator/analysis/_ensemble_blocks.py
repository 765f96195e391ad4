"""One block of ensemble members: draw, run, and reduce where the members ran.

:func:`run_block` is a pure function of its arguments (a dask cluster ships it
to its workers): it draws the block's members, turns the draws into parameter
arrays, runs them through the vectorised kernel in cache-sized chunks and,
chunk by chunk while the values are still in cache, combines the recorded
quantities into the reduced outputs (sums, then ratios) and takes their
horizon totals, peaks and peak months.  A kept block returns (or writes in
place) every member's outputs; a streamed block returns only sums and a
quantile sketch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from simulator.analysis._ensemble_stats import base_name, chunk_scalars, scalar_names
from simulator.analysis._sampling import Sampler
from simulator.analysis._sketches import LogHistogram
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model
from simulator.core._outputs import OutputDef, ratio
from simulator.core._run import make_record, model_grid, prepare_params, run_arrays
from simulator.core._workers import can_fork, shared_empty

__all__ = ["EMPTY_RATIO", "Block", "ParamHook", "member_views", "run_block", "scalar_views"]

ParamHook = Callable[[dict[str, np.ndarray], int, int], tuple[dict[str, np.ndarray], dict]]

#: an ensemble's ratio where the denominator is empty: 0 (quantiles need numbers; see ``ratio``)
EMPTY_RATIO = 0.0


@dataclass
class Block:
    """The reduced outputs of members ``start .. stop - 1``."""

    start: int
    stop: int
    monthly: dict[str, np.ndarray] = field(default_factory=dict)  # (T, S, m), kept mode
    scalars: dict[str, np.ndarray] = field(default_factory=dict)  # (S, m), kept mode
    values: np.ndarray | None = None  # group draws (m, G), kept mode
    means: dict[str, np.ndarray] = field(default_factory=dict)  # streamed mode
    m2: dict[str, np.ndarray] = field(default_factory=dict)  # sums of squared deviations
    sketch: LogHistogram | None = None
    counts: dict[str, int] = field(default_factory=dict)


def member_views(arrays: Mapping[str, np.ndarray], a: int, b: int) -> dict[str, np.ndarray]:
    """``(m, T, n)`` views of members ``a .. b-1`` of series-major arrays ``(T, ..., M)``.

    Parameters
    ----------
    arrays
        Name -> series-major array ``(T, ..., M)``.
    a, b
        The members' range, ``b`` excluded.

    Returns
    -------
    dict
        Name -> ``(b - a, T, n)`` view.
    """
    return {
        k: np.moveaxis(np.reshape(v, (v.shape[0], -1, v.shape[-1]), copy=False)[:, :, a:b], 2, 0)
        for k, v in arrays.items()
    }


def scalar_views(arrays: Mapping[str, np.ndarray], a: int, b: int) -> dict[str, np.ndarray]:
    """``(m, n)`` views of members ``a .. b-1`` of arrays ``(..., M)``.

    Parameters
    ----------
    arrays
        Name -> array ``(..., M)``.
    a, b
        The members' range, ``b`` excluded.

    Returns
    -------
    dict
        Name -> ``(b - a, n)`` view.
    """
    return {k: np.reshape(v, (-1, v.shape[-1]), copy=False)[:, a:b].T for k, v in arrays.items()}


def _member_params(
    model: Model, design: Design, u: np.ndarray, start: int, stop: int, param_hook: ParamHook | None
) -> tuple[dict[str, np.ndarray], dict, dict[str, int], dict[str, np.ndarray]]:
    """Parameter arrays of members ``start .. stop - 1`` from their draws ``u``.

    Returns the arrays, extra ``run_arrays`` keyword arguments (from ``param_hook``),
    the design's counts of clipped draws, and each group's drawn values.
    """
    counts: dict[str, int] = {}
    drawn = design.values(u)
    values = design.apply(u, counts, drawn)
    extra: dict = {}
    if param_hook is not None:
        values, extra = param_hook(values, start, stop)
    arrays = extra.pop("arrays", {})
    params, members = prepare_params(model.compiled, values)
    m = stop - start
    if members == 1 and m > 1:
        params = {k: np.repeat(v, m, axis=0) if k in values else v for k, v in params.items()}
    params.update(arrays)
    return params, extra, counts, drawn


def _own_storage(
    outputs: Sequence[OutputDef],
    spaces: Mapping[str, Sized],
    n_times: int,
    m: int,
    scratch: dict | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A block's own series-major storage: outputs ``(T, n, m)`` and their scalars ``(n, m)``.

    ``scratch``: where a streamed ensemble's blocks keep it for the next block of the same
    shape (a block's storage is reduced before the next block runs), so that its pages are
    touched once per ensemble, not once per block (a page's first touch costs a kernel fault
    and zeroing: about a fifth of a streamed member's CPU before).
    """
    sizes = {o.name: len(spaces[o.variables[0]]) for o in outputs if o.ratio is None}
    sizes.update({o.name: sizes[o.ratio[0]] for o in outputs if o.ratio})
    shapes = {o.name: (n_times, sizes[o.name], m) for o in outputs}
    sshapes = {k: (sizes[base_name(k)], m) for k in scalar_names(outputs)}
    key = (tuple(shapes.items()), tuple(sshapes.items()))
    if scratch is not None and key in scratch:
        return scratch[key]
    alloc = partial(shared_empty, align_rows=True) if can_fork() else np.empty
    got = ({k: alloc(v) for k, v in shapes.items()}, {k: alloc(v) for k, v in sshapes.items()})
    if scratch is not None:
        scratch.clear()  # one block's storage at a time
        scratch[key] = got
    return got


def _combiner(
    outputs: Sequence[OutputDef],
    simple: set[str],
    out: Mapping[str, np.ndarray],
    scalars_out: Mapping[str, np.ndarray],
    times: np.ndarray,
) -> Callable[[int, int, Mapping[str, np.ndarray]], None]:
    """What runs after each chunk: outputs from recorded quantities, then their scalars."""
    direct = [o for o in outputs if o.ratio is None]

    def combine(a: int, b: int, raw: Mapping[str, np.ndarray]) -> None:
        """Outputs of members ``a .. b-1`` from their recorded quantities (where the chunk ran)."""
        vals: dict[str, np.ndarray] = {}
        for o in direct:
            if o.name in simple:
                vals[o.name] = raw[o.variables[0]]
                continue
            v = raw[o.variables[0]]
            for extra_v in o.variables[1:]:
                v = v + raw[extra_v]
            out[o.name][a:b] = v
            vals[o.name] = v
        for o in outputs:
            if o.ratio:
                vals[o.name] = ratio(vals[o.ratio[0]], vals[o.ratio[1]], o.floor, empty=EMPTY_RATIO)
                out[o.name][a:b] = vals[o.name]
        for o in outputs:
            for k, v in _scalars(o.name, vals[o.name], times).items():
                scalars_out[k][a:b] = v.reshape(b - a, -1)

    return combine


def _scalars(name: str, v: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`chunk_scalars` of ``v`` ``(m, T, ...)``, its peak and peak month month by month.

    The same values (the total is the same sum; the peak is exact; the peak month
    the first at the peak), without copying members-last values to take an
    ``argmax`` along months.
    """
    if v.ndim < 2 or v.shape[1] == 0:
        return chunk_scalars(name, v, times)
    peak = v[:, 0].copy()
    when = np.full(peak.shape, times[0], dtype=np.result_type(times, float))
    for t in range(1, v.shape[1]):
        higher = v[:, t] > peak
        np.copyto(peak, v[:, t], where=higher)
        when[higher] = times[t]
    return {f"{name}_total": v.sum(axis=1), f"{name}_peak": peak, f"{name}_peak_month": when}


def _streamed(
    blk: Block,
    store: Mapping[str, np.ndarray],
    sstore: Mapping[str, np.ndarray],
    outputs: Sequence[OutputDef],
    m: int,
    accuracy: float,
) -> Block:
    """Fill a streamed block with its members' means, squared deviations and quantile sketch.

    One compiled pass per series row (members contiguous in the block's storage)
    takes the row's mean, its sum of squared deviations and its sketch counts
    (:meth:`LogHistogram.tally`); nothing is copied or sorted.
    """
    arrays = {**store, **{k: sstore[k] for k in scalar_names(outputs)}}
    blk.sketch = LogHistogram(sum(a.size // max(m, 1) for a in arrays.values()), accuracy=accuracy)
    first = 0
    for k, a in arrays.items():
        rows = a.reshape(-1, m)  # a view of the member-last storage
        mean, m2 = np.empty(rows.shape[0]), np.empty(rows.shape[0])
        blk.sketch.tally(rows, first, mean, m2)
        blk.means[k], blk.m2[k] = mean.reshape(a.shape[:-1]), m2.reshape(a.shape[:-1])
        first += rows.shape[0]
    blk.sketch.count = m
    return blk


def run_block(
    model: Model,
    design: Design,
    sampler: Sampler | None,
    draws: np.ndarray | None,
    start: int,
    stop: int,
    *,
    months: int,
    dt: float | None,
    method: str,
    outputs: Sequence[OutputDef],
    keep: bool,
    chunk_size: int | None = None,
    workers: int | None = None,
    param_hook: ParamHook | None = None,
    sketch_accuracy: float = 0.005,
    out: dict[str, np.ndarray] | None = None,
    scalars_out: dict[str, np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
    scratch: dict | None = None,
) -> Block:
    """Run members ``start .. stop - 1`` and reduce them (a pure function; dask ships it).

    Parameters
    ----------
    model, design
        The model and its uncertainty groups.
    sampler, draws
        Where the members' uniform draws come from: ``draws`` ``(m, columns)`` if
        given, else ``sampler``.
    start, stop
        The members' indices in the ensemble.
    months, dt, method
        Horizon (reporting months), step (months; ``None``: the model's own) and
        integration method.
    outputs
        The reduced outputs.
    keep
        Keep every member's outputs (else only sums and a quantile sketch).
    chunk_size, workers
        Members per chunk and worker processes (results do not depend on them).
    param_hook
        Changes parameter arrays per block (see :func:`~simulator.analysis._ensembles.run_ensemble`).
    sketch_accuracy
        Relative accuracy of the streamed quantile sketch.
    out, scalars_out
        Kept mode: ``(m, T, n)`` and ``(m, n)`` member views to write the outputs and
        their scalars into (else the block allocates its own).
    progress
        Called with the number of members done as chunks finish.
    scratch
        Streamed mode: a dict the caller keeps across its blocks, holding the last block's
        storage for the next block of the same size (``None``: fresh storage).

    Returns
    -------
    Block
        Kept mode: each member's monthly outputs and their horizon totals, peaks
        and peak months (empty if written to ``out``) and the groups' drawn
        values; streamed mode: sums and a quantile sketch.
    """
    grid, _ = model_grid(model.spec, months, dt)
    u = draws if draws is not None else sampler.draws(start, stop)  # type: ignore[union-attr]
    params, extra, counts, drawn = _member_params(model, design, u, start, stop, param_hook)
    m = stop - start
    direct = [o for o in outputs if o.ratio is None]
    items, spaces = make_record(model.compiled, {v: list(o.keep) for o in direct for v in o.variables})
    times = np.asarray(grid.report_times)
    if out is None:  # this block's own series-major storage (T, n, m)
        store, sstore = _own_storage(outputs, spaces, len(times), m, None if keep else scratch)
        out, scalars_out = member_views(store, 0, m), scalar_views(sstore, 0, m)
    else:
        store = sstore = {}
    assert scalars_out is not None, "kept outputs need their scalars' storage too"
    # an output that is one recorded quantity, used by no other output, is recorded straight
    # into its storage; the others are recorded chunk by chunk (contiguous), combined there,
    # and written once
    uses = Counter(v for o in direct for v in o.variables)
    simple = {o.name for o in direct if len(o.variables) == 1 and uses[o.variables[0]] == 1}
    fill = {o.variables[0]: out[o.name] for o in direct if o.name in simple}
    run_arrays(
        model.compiled,
        params,
        m,
        grid,
        items,
        method=method,
        chunk_size=chunk_size,
        workers=workers,
        out=fill,
        allow_matrix=not design.groups,
        after=_combiner(outputs, simple, out, scalars_out, times),
        progress=progress,
        **extra,
    )
    blk = Block(start, stop, counts=counts)
    if not keep:
        return _streamed(blk, store, sstore, outputs, m, sketch_accuracy)
    blk.monthly, blk.scalars = store, sstore
    cols = [v[:, :1] if v.shape[1] == 1 else v.mean(axis=1, keepdims=True) for v in drawn.values()]
    blk.values = np.concatenate(cols, axis=1) if cols else np.zeros((m, 0))
    return blk
