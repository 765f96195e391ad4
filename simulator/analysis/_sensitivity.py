"""Global sensitivity analysis through SALib: which uncertainty groups drive the answer.

The factors are a scenario's uncertainty groups, each on the unit interval:
SALib samples ``u`` in ``[0, 1]^k`` (Saltelli/Sobol, Morris trajectories, FAST,
or Latin hypercube for the delta method), Upstream maps each column through
its group's distribution (an ``independent`` group's elements move as one
SALib group), and every row of the sample runs as one ensemble member in a
single vectorised batch.

What is analysed is what the model's kind says
(:meth:`~simulator.core.Model.sensitivity_outputs`): each output, and each of its
``measures`` taken of every member's series, is analysed as ``<output>_<measure>``.
Outputs kept per service are analysed service by service; scalar outputs one by
one.  For a surge model:

* ``referrals_total``: surge referrals per service over the horizon;
* ``caseload_peak``: peak caseload per service;
* ``caseload_peak_month``: the month of that peak;

for any other model, each variable's ``_final`` value, ``_peak`` and
``_peak_time``.  Sobol also analyses the first output of the first service (or
variable) at every reported time (an index-over-time heat map); the delta method
skips the timing of peaks (kernel-density bootstraps are slow).

Second-order Sobol indices (pairs of factors) are computed for the first
measure of the first service (or variable) only: they cost far more than
first-order and total indices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.analysis._ensemble_blocks import run_block
from simulator.analysis._sampling import BLOCK
from simulator.analysis._sensitivity_salib import (
    COLUMNS,
    MAIN_INDEX,
    METHODS,
    analyze,
    index_rows,
    problem_of,
    sample,
)
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._run import model_grid

__all__ = ["MEASURES", "METHODS", "SensitivityResult", "sensitivity_analysis"]

#: what each measure takes of an output's series ``y`` ``(T, members)`` at report times ``times``
MEASURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "total": lambda y, times: y.sum(axis=0),
    "final": lambda y, times: y[-1],
    "peak": lambda y, times: y.max(axis=0),
    "peak_month": lambda y, times: times[y.argmax(axis=0)],
    "peak_time": lambda y, times: times[y.argmax(axis=0)],
}
#: measures of timing: the delta method skips them (its kernel-density bootstraps are slow)
TIMING = ("peak_month", "peak_time")

#: a unit of analysis: a label (service, or ``""``) and each output's series there ``(T, members)``
Unit = tuple[str, list[tuple[OutputDef, np.ndarray]]]


@dataclass
class SensitivityResult:
    """Indices of a sensitivity analysis.

    Attributes
    ----------
    indices
        Tidy table: ``method, output, service, month, factor, index, value, conf``
        (``month`` empty for horizon outputs; ``conf`` is the half-width of the
        95% confidence interval where SALib gives one).
    second_order
        Sobol S2 indices for the first output and service (factor x factor), or ``None``.
    runs
        Number of model runs (rows of SALib's sample).
    """

    method: str
    indices: pd.DataFrame
    factors: list[str]
    runs: int
    second_order: pd.DataFrame | None = None
    meta: dict[str, object] = field(default_factory=dict)

    def ranking(self, output: str = "referrals_total", service: str | None = None) -> pd.DataFrame:
        """Factors ranked by the method's main index for one output and service.

        Parameters
        ----------
        output
            An analysed output (``referrals_total``, ``infectious_peak`` ...).
        service
            The service (``""`` for a model's own variables); ``None``: every one.

        Returns
        -------
        pandas.DataFrame
            Rows of :attr:`indices`, largest main index first.
        """
        key = MAIN_INDEX[self.method]
        d = self.indices
        d = d[(d["output"] == output) & (d["month"].isna()) & (d["index"] == key)]
        if service is not None:
            d = d[d["service"] == service]
        return d.sort_values("value", ascending=False).reset_index(drop=True)


def _check(method: str, design: Design, problem: dict) -> None:
    """Refuse what cannot be analysed (before anything runs)."""
    if "groups" in problem and method in ("fast", "delta"):
        indep = [g.name for g in design.groups if g.mode == "independent"]
        raise ValueError(
            f"{method} cannot treat a group of draws as one factor; make these groups mode: together "
            f"or use sobol/morris: {', '.join(indep)}"
        )


def _run_series(
    model: Model,
    design: Design,
    u: np.ndarray,
    outputs: Sequence[OutputDef],
    progress_desc: str | None,
    **kw,
) -> dict[str, np.ndarray]:
    """Every row of ``u`` as a member, block by block: each output ``(T, n, runs)``."""
    runs = u.shape[0]
    bar = None
    if progress_desc is not None:
        from tqdm.auto import tqdm

        bar = tqdm(total=runs, unit="run", desc=progress_desc)
    got: dict[str, list[np.ndarray]] = {o.name: [] for o in outputs}
    try:
        for a in range(0, runs, BLOCK):
            b = min(runs, a + BLOCK)
            blk = run_block(model, design, None, u[a:b], a, b, outputs=outputs, keep=True, **kw)
            for o in outputs:
                got[o.name].append(blk.monthly[o.name])  # (T, n, m)
            if bar:
                bar.update(b - a)
    finally:
        if bar:
            bar.close()
    return {k: np.concatenate(v, axis=-1) for k, v in got.items()}


def _units(
    model: Model,
    outputs: Sequence[OutputDef],
    series: dict[str, np.ndarray],
    services: Sequence[str] | None,
) -> tuple[list[Unit], dict[str, object]]:
    """What is analysed together, in order: per service every kept output; then each scalar output.

    Services default to the three where the first kept output's horizon total is
    largest on average.  Returns the units and what the result's ``meta`` says of them.
    """
    units: list[Unit] = []
    meta: dict[str, object] = {}
    kept = [o for o in outputs if o.keep]
    if kept:
        if any(len(o.keep) != 1 or o.keep != kept[0].keep for o in kept):
            raise ValueError("outputs analysed service by service must all keep one and the same dimension")
        labels = list(model.spec.dims[kept[0].keep[0]])
        first = series[kept[0].name]
        if services is None:
            services = [labels[i] for i in np.argsort(-first.sum(axis=0).mean(axis=-1))[:3]]
        bad = [s for s in services if s not in labels]
        if bad:
            raise KeyError(f"unknown services {bad}")
        for svc in services:
            j = labels.index(svc)
            units.append((svc, [(o, series[o.name][:, j, :]) for o in kept]))
        meta["services"] = list(services)
    scalar = [o for o in outputs if not o.keep]
    units += [("", [(o, series[o.name][:, 0, :])]) for o in scalar]
    if scalar:
        meta["variables"] = [o.name for o in scalar]
    return units, meta


def _indices(
    method: str,
    problem: dict,
    factors: list[str],
    x: np.ndarray,
    seed: int,
    units: Sequence[Unit],
    times: np.ndarray,
    over_time: bool,
    second_order: bool,
) -> tuple[list[tuple], pd.DataFrame | None]:
    """Rows of every unit's measures (and, ``over_time``, the first unit's first output at each time)."""
    rows: list[tuple] = []
    s2 = None
    for i, (label, parts) in enumerate(units):
        k = 0
        for o, y in parts:
            for measure in o.measures:
                if method == "delta" and measure in TIMING:
                    continue
                want_s2 = second_order and i == 0 and k == 0
                res = analyze(method, problem, x, MEASURES[measure](y, times), seed, want_s2, second_order)
                rows += index_rows(method, res, factors, f"{o.name}_{measure}", label, None)
                if want_s2 and res:
                    s2 = pd.DataFrame(res["S2"], index=factors, columns=factors)
                k += 1
        if over_time and i == 0:
            o, y = parts[0]
            for t in range(y.shape[0]):
                res = analyze(method, problem, x, y[t], seed, False, second_order)
                rows += index_rows(method, res, factors, o.name, label, float(times[t]))
    return rows, s2


def sensitivity_analysis(
    model: Model,
    design: Design,
    *,
    method: str = "sobol",
    n: int = 1024,
    seed: int = 0,
    months: int | None = None,
    dt: float | None = None,
    run_method: str = "euler",
    services: Sequence[str] | None = None,
    monthly: bool = True,
    second_order: bool = True,
    variables: Sequence[str] | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> SensitivityResult:
    """Sample with SALib, run every row as an ensemble member, analyse each output.

    Parameters
    ----------
    model, design
        The model and its uncertainty groups (the factors).
    method
        ``sobol``, ``morris``, ``fast`` or ``delta``.
    n
        SALib's base sample size (Sobol: ``n * (2k + 2)`` runs with second order,
        ``n * (k + 2)`` without; Morris: ``n`` trajectories of ``k + 1`` runs;
        FAST: ``n * k``; delta: ``n``).
    seed
        Seed of the sample and the bootstraps.
    months, dt, run_method
        Horizon (reporting months), step (months) and integration method of the runs.
    services
        Services to analyse (default: the three with most referrals in the base run).
    monthly
        Sobol only: also analyse monthly referrals of the first service (indices over time).
    second_order
        Sobol only: second-order indices of the first output.
    variables
        Models that are not surge models (network models, Vensim imports): the
        variables to analyse, each summed over its dimensions (default every
        stock), by its final value, its peak and the time of the peak (and,
        Sobol, the first variable at every reported time).
    chunk_size, workers
        Members per chunk and worker processes (results do not depend on them).
    progress
        Show a progress bar.

    Returns
    -------
    SensitivityResult
        The indices, the factors, the number of runs and the second-order indices.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not design.groups:
        raise ValueError("sensitivity analysis needs at least one uncertainty group")
    problem, factors = problem_of(design)
    _check(method, design, problem)
    if method != "sobol":
        second_order = False
    x = sample(method, problem, n, seed, second_order)
    u = np.clip(x, 1e-9, 1 - 1e-9)
    months = months or model.spec.horizon
    outputs = model.sensitivity_outputs(variables)
    grid, _ = model_grid(model.spec, months, dt)
    run_kw = dict(months=months, dt=grid.dt, method=run_method, chunk_size=chunk_size, workers=workers)
    desc = f"{method} runs" if progress else None
    series = _run_series(model, design, u, outputs, desc, **run_kw)
    units, meta = _units(model, outputs, series, services)
    times = np.asarray(grid.report_times)
    over_time = monthly and method == "sobol"
    rows, s2 = _indices(method, problem, factors, x, seed, units, times, over_time, second_order)
    return SensitivityResult(
        method, pd.DataFrame(rows, columns=COLUMNS), factors, u.shape[0], s2, {"n": n, "seed": seed, **meta}
    )
