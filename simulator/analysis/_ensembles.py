"""Ensembles: many members with uncertain parameters, reduced to quantiles and means.

Members are processed in **blocks** (all members at once when they are kept
and run on this machine; 4,096 at a time when streamed or sent to a dask
cluster).  For each block: draw the members' uniform draws (from the
seed; see :mod:`simulator.analysis._sampling`), turn them into parameter arrays
(:class:`~simulator.analysis._uncertainty.Design`), run them through the vectorised
kernel in cache-sized chunks, keep each member's *reduced outputs* (per
service per month: referrals, starts, caseload, contacts; their horizon
totals; peaks and the month of the peak), and add the block to the running
reductions.  Blocks are merged in order, so results are bit-identical
whatever the chunk size, the number of threads, or whether blocks ran on a
dask cluster.

Up to ``keep_limit`` members (default 20,000) every member's reduced
outputs are kept and quantiles are numpy's on them.  Beyond that, outputs are
streamed: means and standard deviations are exact sums, quantiles come from a
mergeable log-histogram sketch with 0.5% relative accuracy, and memory stays
bounded (a block at a time).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._sampling import BLOCK, Sampler
from simulator.analysis._sketches import LogHistogram
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._run import make_record, model_grid, prepare_params, run_arrays
from simulator.core._workers import can_fork, parallel_map, shared_empty

__all__ = [
    "EnsembleResult",
    "OutputDef",
    "default_outputs",
    "elements",
    "run_ensemble",
    "stat_name",
]

KEEP_LIMIT = 20_000


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


def stat_name(q: float) -> str:
    """``0.05`` -> ``"p5"``, ``0.5`` -> ``"p50"``."""
    return f"p{q * 100:g}"


ParamHook = Callable[[dict[str, np.ndarray], int, int], tuple[dict[str, np.ndarray], dict]]


@dataclass
class _Block:
    start: int
    stop: int
    monthly: dict[str, np.ndarray] = field(default_factory=dict)  # (T, S, m), kept mode
    scalars: dict[str, np.ndarray] = field(default_factory=dict)  # (S, m), kept mode
    values: np.ndarray | None = None  # group draws (m, G), kept mode
    means: dict[str, np.ndarray] = field(default_factory=dict)  # streamed mode
    m2: dict[str, np.ndarray] = field(default_factory=dict)  # sums of squared deviations
    sketch: LogHistogram | None = None
    counts: dict[str, int] = field(default_factory=dict)


def _scalars(monthly: Mapping[str, np.ndarray], times: np.ndarray) -> dict[str, np.ndarray]:
    """Horizon totals, peaks and peak months ``(S, m)`` from monthly values ``(T, S, m)``.

    The reference for :func:`_chunk_scalars` (which computes the same numbers
    chunk by chunk, where the members ran).
    """
    out = {}
    for name, a in monthly.items():
        out.update(_chunk_scalars(name, np.moveaxis(a, -1, 0), times, members_last=True))
    return out


def _chunk_scalars(
    name: str, v: np.ndarray, times: np.ndarray, members_last: bool = False
) -> dict[str, np.ndarray]:
    """Totals, peaks and peak months of one output's members ``v`` (m, T, ...).

    The total is the sum over months in month order (the same additions
    whatever the chunking); the peak month is the first month at the peak.
    Returned arrays are ``(m, ...)``, or ``(..., m)`` with ``members_last``.
    """
    total = v.sum(axis=1)
    peak = v.max(axis=1)
    when = times[v.argmax(axis=1)]
    res = {f"{name}_total": total, f"{name}_peak": peak, f"{name}_peak_month": when}
    return {k: np.moveaxis(a, 0, -1) for k, a in res.items()} if members_last else res


#: series sorted at a time by :func:`_stats` (bounded scratch memory, reused)
STATS_ROWS = 64


def _stats(a: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Mean, sample sd and ``np.quantile(a, qs, axis=-1)`` (linear) for members on the last axis.

    Returns ``(2 + len(qs), *a.shape[:-1])``.  Series are copied a few at a
    time into one scratch buffer (memory stays bounded, whatever the ensemble),
    sorted (several times faster than numpy's partition along a strided axis)
    and interpolated with numpy's own ``_lerp`` formula, so quantiles are
    identical to ``np.quantile``.
    """
    m = a.shape[-1]
    src = np.reshape(a, (-1, m))  # a view where it can be (the rows are copied below anyway)
    n = src.shape[0]
    pos = np.asarray(qs, dtype=float) * (m - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, m - 1)
    t = (pos - lo)[:, None]
    upper = np.broadcast_to(t >= 0.5, (len(qs), min(n, STATS_ROWS)))
    out = np.empty((2 + len(qs), n))
    buf = np.empty((min(n, STATS_ROWS), m))
    for r0 in range(0, n, STATS_ROWS):
        r1 = min(n, r0 + STATS_ROWS)
        rows = buf[: r1 - r0]
        rows[...] = src[r0:r1]
        mean = rows.mean(axis=1)
        rows.sort(axis=1)
        x0, x1 = rows[:, lo].T, rows[:, hi].T
        diff = x1 - x0
        q = np.add(x0, diff * t)
        np.subtract(x1, diff * (1 - t), out=q, where=upper[:, : r1 - r0])
        rows -= mean[:, None]
        out[0, r0:r1] = mean
        out[1, r0:r1] = np.sqrt(np.einsum("ij,ij->i", rows, rows) / max(m - 1, 1))
        out[2:, r0:r1] = q
    return out.reshape(2 + len(qs), *a.shape[:-1])


def _member_views(arrays: Mapping[str, np.ndarray], a: int, b: int) -> dict[str, np.ndarray]:
    """``(m, T, n)`` views of members ``a .. b-1`` of series-major arrays ``(T, ..., M)``."""
    return {
        k: np.moveaxis(np.reshape(v, (v.shape[0], -1, v.shape[-1]), copy=False)[:, :, a:b], 2, 0)
        for k, v in arrays.items()
    }


def _scalar_views(arrays: Mapping[str, np.ndarray], a: int, b: int) -> dict[str, np.ndarray]:
    """``(m, n)`` views of members ``a .. b-1`` of arrays ``(..., M)``."""
    return {k: np.reshape(v, (-1, v.shape[-1]), copy=False)[:, a:b].T for k, v in arrays.items()}


def _scalar_names(outputs: Sequence[OutputDef]) -> list[str]:
    return [f"{o.name}{s}" for o in outputs for s in ("_total", "_peak", "_peak_month")]


def run_block(
    model: Model,
    design: Design,
    sampler: Sampler | None,
    draws: np.ndarray | None,
    start: int,
    stop: int,
    *,
    months: int,
    dt: float,
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
) -> _Block:
    """Run members ``start .. stop - 1`` and reduce them (a pure function; dask ships it).

    Kept mode returns (or fills ``out`` and ``scalars_out``, ``(m, T, n)`` and
    ``(m, n)`` member views, with) each member's monthly outputs and their
    horizon totals, peaks and peak months; streamed mode returns only sums and
    a quantile sketch.  Totals and peaks are taken chunk by chunk where the
    members ran, while their values are still in cache.
    """
    cm = model.compiled
    grid, _ = model_grid(model.spec, months, dt)
    u = draws if draws is not None else sampler.draws(start, stop)  # type: ignore[union-attr]
    counts: dict[str, int] = {}
    drawn = design.values(u)
    values = design.apply(u, counts, drawn)
    extra: dict = {}
    if param_hook is not None:
        values, extra = param_hook(values, start, stop)
    arrays = extra.pop("arrays", {})
    params, members = prepare_params(cm, values)
    m = stop - start
    if members == 1 and m > 1:
        params = {k: np.repeat(v, m, axis=0) if k in values else v for k, v in params.items()}
    params.update(arrays)
    direct = [o for o in outputs if o.ratio is None]
    items, spaces = make_record(cm, {v: list(o.keep) for o in direct for v in o.variables})
    times = np.asarray(grid.report_times)
    if out is None:  # this block's own series-major storage (T, n, m)
        sizes = {o.name: len(spaces[o.variables[0]]) for o in direct}
        sizes.update({o.name: sizes[o.ratio[0]] for o in outputs if o.ratio})
        alloc = partial(shared_empty, align_rows=True) if can_fork() else np.empty
        store = {o.name: alloc((len(times), sizes[o.name], m)) for o in outputs}
        out = _member_views(store, 0, m)
        sstore = {k: alloc((sizes[_base(k)], m)) for k in _scalar_names(outputs)}
        scalars_out = _scalar_views(sstore, 0, m)
    else:
        store = sstore = {}
    assert scalars_out is not None, "kept outputs need their scalars' storage too"
    # an output that is one recorded quantity, used by no other output, is recorded straight
    # into its storage; the others are recorded chunk by chunk (contiguous), combined there,
    # and written once
    uses = Counter(v for o in direct for v in o.variables)
    simple = {o.name for o in direct if len(o.variables) == 1 and uses[o.variables[0]] == 1}
    fill = {o.variables[0]: out[o.name] for o in direct if o.name in simple}

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
                num, den = vals[o.ratio[0]], vals[o.ratio[1]]
                ok = den > o.floor
                with np.errstate(divide="ignore", invalid="ignore"):
                    vals[o.name] = np.where(ok, num / np.where(ok, den, 1.0), 0.0)
                out[o.name][a:b] = vals[o.name]
        for o in outputs:
            for k, v in _chunk_scalars(o.name, vals[o.name], times).items():
                scalars_out[k][a:b] = v.reshape(b - a, -1)

    run_arrays(
        cm,
        params,
        m,
        grid,
        items,
        method=method,
        chunk_size=chunk_size,
        workers=workers,
        out=fill,
        allow_matrix=not design.groups,
        after=combine,
        progress=progress,
        **extra,
    )
    blk = _Block(start, stop, counts=counts)
    if keep:
        blk.monthly, blk.scalars = store, sstore
        cols = [v[:, :1] if v.shape[1] == 1 else v.mean(axis=1, keepdims=True) for v in drawn.values()]
        blk.values = np.concatenate(cols, axis=1) if cols else np.zeros((m, 0))
        return blk
    scalars = {k: sstore[k] for k in _scalar_names(outputs)}
    for k, a in {**store, **scalars}.items():
        mean = a.mean(axis=-1)
        blk.means[k] = mean
        blk.m2[k] = np.square(a - mean[..., None]).sum(axis=-1)
    series = np.concatenate([a.reshape(-1, m) for a in (*store.values(), *scalars.values())], axis=0)
    blk.sketch = LogHistogram(series.shape[0], accuracy=sketch_accuracy)
    blk.sketch.add(series.T)
    return blk


@dataclass
class EnsembleResult:
    """Quantiles and means of an ensemble, and (if kept) every member's reduced outputs.

    Attributes
    ----------
    summary
        Dataset with a ``stat`` dimension (``mean``, ``sd``, ``p5``, ``p50`` ...):
        ``<output>`` over ``(stat, time, service)`` and ``<output>_total``,
        ``<output>_peak``, ``<output>_peak_month`` over ``(stat, service)``.
    members
        Dataset of every member's reduced outputs (dims ``time``, ``service``,
        ``member``: members last, the layout the reductions run on) and the drawn
        value of each uncertainty group (``draw``, dims ``member, factor``), or
        ``None`` if streamed.
    exact
        Whether quantiles are exact (members kept) or from the sketch.
    """

    summary: xr.Dataset
    members: xr.Dataset | None
    exact: bool
    attrs: dict[str, object] = field(default_factory=dict)

    def quantile_names(self) -> list[str]:
        """Stat labels of the quantiles, ascending."""
        return [s for s in self.summary["stat"].to_numpy() if str(s).startswith("p")]

    @property
    def by_service(self) -> bool:
        """Whether the outputs are per service (surge models) rather than a model's own variables."""
        return "service" in self.summary.dims

    def table(self, services: Sequence[str] | None = None) -> pd.DataFrame:
        """Median and outer interval per service of horizon totals, peaks and peak month.

        For models that are not surge models: per variable and element, its
        total over the reported times, its peak and the time of the peak
        (``services`` then selects variables).
        """
        qs = self.quantile_names()
        lo, hi = qs[0], qs[-1]
        s = self.summary
        if not self.by_service:
            return self._variable_table(services, lo, hi)
        svc = list(services) if services else list(s["service"].to_numpy())
        rows = []
        for name in svc:
            row: dict[str, object] = {"service": name}
            for col, var in (
                ("referrals", "referrals_total"),
                ("starts", "starts_total"),
                ("peak caseload", "caseload_peak"),
                ("peak month", "caseload_peak_month"),
                ("peak contacts", "contacts_peak"),
                ("peak waiting", "waiting_peak"),
                ("peak waiting month", "waiting_peak_month"),
                ("peak mean wait", "mean_wait_peak"),
                ("escalations", "escalations_total"),
            ):
                if var not in s:
                    continue
                da = s[var].sel(service=name)
                row[f"{col} median"] = float(da.sel(stat="p50"))
                row[f"{col} {lo}"] = float(da.sel(stat=lo))
                row[f"{col} {hi}"] = float(da.sel(stat=hi))
            rows.append(row)
        df = pd.DataFrame(rows)
        if "referrals median" in df:
            df = df.sort_values("referrals median", ascending=False, kind="stable")
        return df.reset_index(drop=True)

    def _variable_table(self, variables: Sequence[str] | None, lo: str, hi: str) -> pd.DataFrame:
        s = self.summary
        names = [k[: -len("_total")] for k in s.data_vars if k.endswith("_total")]
        if variables:
            names = [n for n in names if n in set(variables)]
        rows = []
        for name in names:
            for label, sel in elements(s[f"{name}_total"]):
                row: dict[str, object] = {"variable": name, "element": label}
                for col, var in (("total", "_total"), ("peak", "_peak"), ("peak time", "_peak_month")):
                    da = s[name + var].sel(sel)
                    row[f"{col} median"] = float(da.sel(stat="p50"))
                    row[f"{col} {lo}"] = float(da.sel(stat=lo))
                    row[f"{col} {hi}"] = float(da.sel(stat=hi))
                rows.append(row)
        return pd.DataFrame(rows)

    def format_table(self, services: Sequence[str] | None = None, top: int | None = None) -> str:
        """The table as text: ``median [low - high]`` per figure."""
        df = self.table(services)
        if top:
            df = df.head(top)
        qs = self.quantile_names()
        lo, hi = qs[0], qs[-1]
        if not self.by_service:
            out = pd.DataFrame({"Variable": df["variable"], "Element": df["element"]})
            for col in ("total", "peak", "peak time"):
                out[f"{col.capitalize()} (median [{lo}-{hi}])"] = [
                    f"{m:.4g} [{a:.4g}-{b:.4g}]"
                    for m, a, b in zip(df[f"{col} median"], df[f"{col} {lo}"], df[f"{col} {hi}"])
                ]
            if not df["element"].astype(bool).any():
                out = out.drop(columns="Element")
            return out.to_string(index=False)
        out = pd.DataFrame({"Service": df["service"]})
        for col in (
            "referrals",
            "starts",
            "peak caseload",
            "peak month",
            "peak contacts",
            "peak waiting",
            "peak waiting month",
            "peak mean wait",
            "escalations",
        ):
            if f"{col} median" not in df:
                continue
            fmt = {"peak month": "{:.0f}", "peak waiting month": "{:.0f}", "peak mean wait": "{:.1f}"}.get(
                col, "{:,.0f}"
            )
            out[f"{col.capitalize()} (median [{lo}-{hi}])"] = [
                f"{fmt.format(m)} [{fmt.format(a)}-{fmt.format(b)}]"
                for m, a, b in zip(df[f"{col} median"], df[f"{col} {lo}"], df[f"{col} {hi}"])
            ]
        return out.to_string(index=False)

    def to_netcdf(self, path) -> None:
        """Write the summary (and kept members) to one NetCDF file, atomically."""
        from simulator.files._writers import _netcdf_ready, atomic_path

        ds = self.summary.copy()
        if self.members is not None:
            ds = xr.merge([ds, self.members.rename({v: f"member_{v}" for v in self.members.data_vars})])
        ds.attrs = {k: (v if isinstance(v, int | float | str) else str(v)) for k, v in self.attrs.items()}
        with atomic_path(path) as tmp:
            _netcdf_ready(ds).to_netcdf(tmp, engine="h5netcdf")

    def tidy(self) -> pd.DataFrame:
        """Long table of the summary: ``stat, time, service, variable, value``."""
        frames = []
        for v in self.summary.data_vars:
            df = self.summary[v].to_dataframe(name="value").reset_index()
            df.insert(0, "variable", v)
            frames.append(df)
        out = pd.concat(frames, ignore_index=True)
        cols = ["variable", "stat", *[c for c in ("time", "service") if c in out], "value"]
        return out[[c for c in cols if c in out]]


def _summary_dataset(
    stats: dict[str, np.ndarray],
    outputs: Sequence[OutputDef],
    quantiles: Sequence[float],
    times: np.ndarray,
    coords: Mapping[str, Sequence[str]],
) -> xr.Dataset:
    data = {}
    for k, arr in stats.items():
        keep = _keep_dims(k, outputs)
        dims = ("stat", "time", *keep) if arr.ndim == 2 + len(keep) else ("stat", *keep)
        data[k] = (dims, arr, {"units": _unit(k, outputs)})
    crd: dict[str, object] = {"stat": ["mean", "sd", *[stat_name(q) for q in quantiles]], "time": times}
    crd.update({d: list(v) for d, v in coords.items()})
    return xr.Dataset(data, coords=crd)


def elements(da: xr.DataArray, skip: Sequence[str] = ("stat", "time", "member")) -> list[tuple[str, dict]]:
    """``(label, selection)`` of every element of ``da`` over its dimensions other than ``skip``.

    A scalar output has one element, labelled ``""``.
    """
    dims = [d for d in da.dims if d not in skip]
    if not dims:
        return [("", {})]
    from itertools import product

    labels = [[str(v) for v in da[d].to_numpy()] for d in dims]
    return [(", ".join(combo), dict(zip(dims, combo))) for combo in product(*labels)]


def _reduce_kept(
    full: Mapping[str, np.ndarray], scalars: Mapping[str, np.ndarray], quantiles: Sequence[float]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every kept array (monthly outputs, then their scalars) and its mean, sd and quantiles."""
    allv: dict[str, np.ndarray] = {**full, **scalars}
    names = list(allv)
    # arrays reduce independently: on forked workers (the members are inherited, not copied,
    # and only the small statistics travel back)
    stats = parallel_map(lambda k: _stats(allv[k], quantiles), names)
    return allv, dict(zip(names, stats))


def _absorb(running: LogHistogram | None, blk: _Block) -> LogHistogram | None:
    """Merge a finished block's sketch into the running one and drop it (memory stays bounded)."""
    if blk.sketch is None:
        return running
    if running is None:
        running, blk.sketch = blk.sketch, None
        return running
    running.merge(blk.sketch)
    blk.sketch = None
    return running


def _reduce_streamed(
    blocks: Sequence[_Block], sketch: LogHistogram, quantiles: Sequence[float], members: int
) -> dict:
    blocks = sorted(blocks, key=lambda b: b.start)
    names = list(blocks[0].means)
    flat = sketch.quantiles(np.asarray(quantiles))
    out, pos = {}, 0
    for k in names:
        # Chan et al.'s pairwise update: stable, and deterministic in block order
        n = blocks[0].stop - blocks[0].start
        mean = blocks[0].means[k].copy()
        m2 = blocks[0].m2[k].copy()
        for b in blocks[1:]:
            nb = b.stop - b.start
            delta = b.means[k] - mean
            tot = n + nb
            mean += delta * (nb / tot)
            m2 += b.m2[k] + delta**2 * (n * nb / tot)
            n = tot
        sd = np.sqrt(m2 / max(n - 1, 1))
        size = mean.size
        q = flat[:, pos : pos + size].reshape(len(quantiles), *mean.shape)
        pos += size
        out[k] = np.concatenate([mean[None], sd[None], q], axis=0)
    return out


def _base(k: str) -> str:
    for suffix in ("_total", "_peak_month", "_peak"):
        if k.endswith(suffix):
            return k[: -len(suffix)]
    return k


def _keep_dims(k: str, outputs: Sequence[OutputDef]) -> tuple[str, ...]:
    return next(o.keep for o in outputs if o.name == _base(k))


def _unit(k: str, outputs: Sequence[OutputDef]) -> str:
    o = next(o for o in outputs if o.name == _base(k))
    if k.endswith("_peak_month"):
        return "month"
    if k.endswith("_total"):
        return "people" if "per month" in o.unit else "people-months"
    return o.unit


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
    progress: bool = False,
    param_hook: ParamHook | None = None,
    name: str = "",
) -> EnsembleResult:
    """Run an ensemble and reduce it.

    Parameters
    ----------
    model, design
        The model and its uncertainty groups (a design with no groups runs identical members).
    members, seed, sampler
        Ensemble size, seed and sampler (``monte-carlo``, ``lhs``, ``sobol``).
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
    dask_client
        A ``dask.distributed.Client``: blocks run on its workers; bit-identical to local.
    param_hook
        ``(params, start, stop) -> (params, run_arrays keyword arguments)``: changes
        parameter arrays per block (used by interventions).
    """
    months = months or model.spec.horizon
    outputs = tuple(outputs or default_outputs(model))
    if not design.groups and draws is None and param_hook is None and members > 1:
        # identical members: run one and repeat it (quantiles all equal, sd 0)
        one = run_ensemble(
            model,
            design,
            members=1,
            months=months,
            dt=dt,
            method=method,
            outputs=outputs,
            quantiles=quantiles,
            keep_members=True,
            name=name,
        )
        return _repeat(one, members, seed, sampler)
    if draws is not None:
        draws = np.asarray(draws, dtype=float)
        members = draws.shape[0]
    keep = members <= KEEP_LIMIT if keep_members is None else keep_members
    smp = None if draws is not None else Sampler(sampler, seed, tuple(design.columns), members)
    grid, msgs = model_grid(model.spec, months, dt)
    dt = grid.dt  # the model's own step when none was given
    for msg in msgs:
        warnings.warn(msg, stacklevel=2)
    times = np.asarray(grid.report_times)
    _ = model.compiled
    if block_size is None:
        block_size = max(members, 1) if keep and dask_client is None else BLOCK
    bounds = [(a, min(members, a + block_size)) for a in range(0, members, block_size)]
    kw = dict(
        months=months,
        dt=dt,
        method=method,
        outputs=outputs,
        keep=keep,
        chunk_size=chunk_size,
        workers=workers,
        param_hook=param_hook,
    )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=members, unit="member", desc=name or f"ensemble of {model.name}")
    tick = None if bar is None else bar.update  # members done, as chunks finish
    coords = {d: model.spec.dims[d] for o in outputs for d in o.keep}
    shapes = {o.name: (len(times), *(len(coords[d]) for d in o.keep)) for o in outputs}
    # kept outputs live in shared memory where chunks run in forked workers (written in place)
    alloc = partial(shared_empty, align_rows=True) if can_fork() and dask_client is None else np.empty
    full = {o.name: alloc((*shapes[o.name], members)) for o in outputs} if keep else None
    full_s = {k: alloc((*shapes[_base(k)][1:], members)) for k in _scalar_names(outputs)} if keep else None
    blocks: list[_Block] = []
    sketch: LogHistogram | None = None  # counts are integers: merge order does not matter
    try:
        if dask_client is None:
            for a, b in bounds:
                d = None if draws is None else draws[a:b]
                views = svs = None
                if full is not None and full_s is not None:
                    views, svs = _member_views(full, a, b), _scalar_views(full_s, a, b)
                blocks.append(
                    run_block(model, design, smp, d, a, b, out=views, scalars_out=svs, progress=tick, **kw)
                )
                sketch = _absorb(sketch, blocks[-1])
        else:
            from dask.distributed import as_completed

            m_f = dask_client.scatter(model, broadcast=True)
            d_f = dask_client.scatter(design, broadcast=True)
            futures = [
                dask_client.submit(
                    run_block, m_f, d_f, smp, None if draws is None else draws[a:b], a, b, pure=False, **kw
                )
                for a, b in bounds
            ]
            for fut in as_completed(futures):
                blk = fut.result()
                if full is not None and full_s is not None:
                    n = blk.stop - blk.start
                    for k, v in blk.monthly.items():
                        full[k][..., blk.start : blk.stop] = v.reshape(*shapes[k], n)
                    for k, v in blk.scalars.items():
                        full_s[k][..., blk.start : blk.stop] = v.reshape(*shapes[_base(k)][1:], n)
                    blk.monthly, blk.scalars = {}, {}
                blocks.append(blk)
                sketch = _absorb(sketch, blk)
                if bar:
                    bar.update(blk.stop - blk.start)
    finally:
        if bar:
            bar.close()
    blocks.sort(key=lambda blk: blk.start)
    counts: dict[str, int] = {}
    for blk in blocks:
        for k, v in blk.counts.items():
            counts[k] = counts.get(k, 0) + v
    member_ds = None
    if full is not None:
        assert full_s is not None
        allv, stats = _reduce_kept(full, full_s, quantiles)
        mdata = {
            k: (
                ("time", *_keep_dims(k, outputs), "member")
                if v.ndim == 2 + len(_keep_dims(k, outputs))
                else (*_keep_dims(k, outputs), "member"),
                v,
            )
            for k, v in allv.items()
        }
        mcoords: dict[str, object] = {
            "member": np.arange(members),
            "time": times,
            **{d: list(v) for d, v in coords.items()},
        }
        values = np.concatenate([b.values for b in blocks])
        if values.shape[1]:
            mdata["draw"] = (("member", "factor"), values)
            mcoords["factor"] = [g.name for g in design.groups]
        member_ds = xr.Dataset(mdata, coords=mcoords)
    else:
        assert sketch is not None
        stats = _reduce_streamed(blocks, sketch, quantiles, members)
    summary = _summary_dataset(stats, outputs, quantiles, times, coords)
    if model.spec.start:
        months_td = np.round(times).astype("int64").astype("timedelta64[M]")
        dates = (np.datetime64(model.spec.start, "M") + months_td).astype("datetime64[ns]")
        summary = summary.assign_coords(date=("time", dates))
    reported = model.reported_data(times)
    for k, (dims, arr, attrs) in reported.items():
        summary[k] = xr.DataArray(arr, dims=dims, attrs=attrs)
    attrs = {
        "name": name,
        "model": model.name,
        "members": members,
        "seed": seed,
        "sampler": "explicit draws" if draws is not None else sampler,
        "dt": dt,
        "method": method,
        "quantiles": "exact" if keep else "sketch (0.5% relative accuracy)",
        **{k: v for k, v in counts.items() if v},
    }
    if model.spec.meta.get("assumed_capacity"):
        attrs["assumed_capacity"] = "; ".join(model.spec.meta["assumed_capacity"])
    summary.attrs = dict(attrs)
    return EnsembleResult(summary, member_ds, keep, attrs)


def _repeat(one: EnsembleResult, members: int, seed: int, sampler: str) -> EnsembleResult:
    """An ensemble of ``members`` identical copies of a one-member result."""
    m = one.members
    assert m is not None
    rep = m.isel(member=np.zeros(members, dtype=int)).assign_coords(member=np.arange(members))
    attrs = {**one.attrs, "members": members, "seed": seed, "sampler": sampler}
    summary = one.summary.copy()
    summary.attrs = dict(attrs)
    return EnsembleResult(summary, rep if members <= KEEP_LIMIT else None, True, attrs)


def scenario_ensemble(scenario, **overrides) -> EnsembleResult:
    """Run a loaded :class:`~simulator.files._scenarios.Scenario` (keyword overrides for run_ensemble)."""
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
