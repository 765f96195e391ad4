"""Global sensitivity analysis through SALib: which uncertainty groups drive the answer.

The factors are a scenario's uncertainty groups, each on the unit interval:
SALib samples ``u`` in ``[0, 1]^k`` (Saltelli/Sobol, Morris trajectories, FAST,
or Latin hypercube for the delta method), Upstream maps each column through
its group's distribution (an ``independent`` group's elements move as one
SALib group), and every row of the sample runs as one ensemble member in a
single vectorised batch.  SALib then analyses, per output:

* ``referrals_total``: surge referrals per service over the horizon;
* ``caseload_peak``: peak caseload per service;
* ``caseload_peak_month``: the month of that peak;
* and, for Sobol, ``referrals`` month by month (an index-over-time heat map).

Second-order Sobol indices (pairs of factors) are computed for the first
output and service only: they cost far more than first-order and total
indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.analysis._ensembles import default_outputs, run_block
from simulator.analysis._sampling import BLOCK
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model

__all__ = ["METHODS", "SensitivityResult", "sensitivity_analysis"]

METHODS = ("sobol", "morris", "fast", "delta")
METRICS = ("referrals_total", "caseload_peak", "caseload_peak_month")
#: the index each method ranks factors by
MAIN_INDEX = {"sobol": "ST", "morris": "mu_star", "fast": "ST", "delta": "delta_raw"}
#: bootstrap resamples for confidence intervals (delta's kernel density bootstraps are slow)
RESAMPLES = {"sobol": 100, "morris": 100, "fast": 100, "delta": 20}


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
        """Factors ranked by the method's main index for one output and service."""
        key = MAIN_INDEX[self.method]
        d = self.indices
        d = d[(d["output"] == output) & (d["month"].isna()) & (d["index"] == key)]
        if service is not None:
            d = d[d["service"] == service]
        return d.sort_values("value", ascending=False).reset_index(drop=True)


def _problem(design: Design) -> tuple[dict, list[str]]:
    cols = design.columns
    group_of = {}
    for g, idx in design.group_columns().items():
        for i in idx:
            group_of[i] = g
    problem = {"num_vars": len(cols), "names": cols, "bounds": [[0.0, 1.0]] * len(cols)}
    factors = [g.name for g in design.groups]
    if len(cols) != len(factors):
        problem["groups"] = [group_of[i] for i in range(len(cols))]
    return problem, factors


def _sample(method: str, problem: dict, n: int, seed: int, second_order: bool) -> np.ndarray:
    from SALib.sample import fast_sampler, latin, morris
    from SALib.sample import sobol as sobol_sample

    if method == "sobol":
        return sobol_sample.sample(problem, n, calc_second_order=second_order, seed=seed)
    if method == "morris":
        return morris.sample(problem, n, num_levels=4, seed=seed)
    if method == "fast":
        return fast_sampler.sample(problem, n, seed=seed)
    return latin.sample(problem, n, seed=seed)


def _first_order_rows(n: int, d: int) -> np.ndarray:
    """Rows ``[A, AB_1..AB_d, B]`` of each base point of a second-order Saltelli sample.

    SALib lays a second-order sample out as ``A, AB_1..AB_d, BA_1..BA_d, B``
    per base point; these rows are exactly the first-order sample, so S1 and
    ST of other outputs need not pay for second-order analysis.
    """
    per = 2 * d + 2
    return np.concatenate([np.r_[k * per + np.arange(d + 1), k * per + per - 1] for k in range(n)])


def _analyze(
    method: str,
    problem: dict,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    second_order: bool,
    sampled_second: bool,
) -> dict:
    import contextlib
    import io

    if np.ptp(y) == 0:
        return {}
    with contextlib.redirect_stdout(io.StringIO()):  # SALib prints diagnostics
        return _analyze_quiet(method, problem, x, y, seed, second_order, sampled_second)


def _analyze_quiet(method, problem, x, y, seed, second_order, sampled_second) -> dict:
    from SALib.analyze import delta, fast, morris, sobol

    r = RESAMPLES[method]
    if method == "sobol":
        if sampled_second and not second_order:
            d = len(set(problem.get("groups") or problem["names"]))
            y = y[_first_order_rows(len(y) // (2 * d + 2), d)]
        return sobol.analyze(problem, y, calc_second_order=second_order, num_resamples=r, seed=seed)
    if method == "morris":
        return morris.analyze(problem, x, y, num_levels=4, num_resamples=r, seed=seed)
    if method == "fast":
        return fast.analyze(problem, y, num_resamples=r, seed=seed)
    return delta.analyze(problem, x, y, num_resamples=r, seed=seed, method="all")


_INDEX_KEYS = {
    "sobol": (("S1", "S1_conf"), ("ST", "ST_conf")),
    "morris": (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None)),
    "fast": (("S1", "S1_conf"), ("ST", "ST_conf")),
    "delta": (("delta_raw", "delta_raw_conf"), ("S1", "S1_conf")),
}


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
    method
        ``sobol``, ``morris``, ``fast`` or ``delta``.
    n
        SALib's base sample size (Sobol: ``n * (2k + 2)`` runs with second order,
        ``n * (k + 2)`` without; Morris: ``n`` trajectories of ``k + 1`` runs;
        FAST: ``n * k``; delta: ``n``).
    services
        Services to analyse (default: the three with most referrals in the base run).
    monthly
        Sobol only: also analyse monthly referrals of the first service (indices over time).
    variables
        Models that are not surge models (network models, Vensim imports): the
        variables to analyse, each summed over its dimensions (default every
        stock), by its final value, its peak and the time of the peak (and,
        Sobol, the first variable at every reported time).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not design.groups:
        raise ValueError("sensitivity analysis needs at least one uncertainty group")
    problem, factors = _problem(design)
    if method in ("fast", "delta") and "groups" in problem:
        indep = [g.name for g in design.groups if g.mode == "independent"]
        raise ValueError(
            f"{method} cannot treat a group of draws as one factor; make these groups mode: together "
            f"or use sobol/morris: {', '.join(indep)}"
        )
    if method != "sobol":
        second_order = False
    x = _sample(method, problem, n, seed, second_order)
    u = np.clip(x, 1e-9, 1 - 1e-9)
    months = months or model.spec.horizon
    if getattr(model, "tables", None) is None:
        return _variables_analysis(
            model, design, method, problem, factors, x, u, seed, months, dt, run_method,
            variables, monthly, second_order, chunk_size, workers, progress, n,
        )  # fmt: skip
    outputs = tuple(o for o in default_outputs(model) if o.name in ("referrals", "caseload"))
    runs = u.shape[0]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=runs, unit="run", desc=f"{method} runs")
    refs, cases = [], []
    try:
        for a in range(0, runs, BLOCK):
            b = min(runs, a + BLOCK)
            blk = run_block(
                model,
                design,
                None,
                u[a:b],
                a,
                b,
                months=months,
                dt=dt,
                method=run_method,
                outputs=outputs,
                keep=True,
                chunk_size=chunk_size,
                workers=workers,
            )
            refs.append(blk.monthly["referrals"])  # (T, S, m)
            cases.append(blk.monthly["caseload"])
            if bar:
                bar.update(b - a)
    finally:
        if bar:
            bar.close()
    ref = np.concatenate(refs, axis=-1)
    case = np.concatenate(cases, axis=-1)
    svc_all = list(model.spec.dims["service"])
    if services is None:
        services = [svc_all[i] for i in np.argsort(-ref.sum(axis=0).mean(axis=-1))[:3]]
    bad = [s for s in services if s not in svc_all]
    if bad:
        raise KeyError(f"unknown services {bad}")
    times = np.arange(ref.shape[0], dtype=float)
    rows = []
    s2 = None
    for si, svc in enumerate(services):
        j = svc_all.index(svc)
        peak_idx = case[:, j, :].argmax(axis=0)
        metrics = {
            "referrals_total": ref[:, j, :].sum(axis=0),
            "caseload_peak": case[:, j, :].max(axis=0),
            "caseload_peak_month": times[peak_idx],
        }
        if method == "delta":  # kernel-density bootstraps: the two headline outputs only
            metrics.pop("caseload_peak_month")
        for k, (name, y) in enumerate(metrics.items()):
            want_s2 = second_order and si == 0 and k == 0
            res = _analyze(method, problem, x, y, seed, want_s2, second_order)
            rows += _rows(method, res, factors, name, svc, None)
            if want_s2 and res:
                s2 = pd.DataFrame(res["S2"], index=factors, columns=factors)
        if monthly and method == "sobol" and si == 0:
            for t in range(ref.shape[0]):
                res = _analyze(method, problem, x, ref[t, j, :], seed, False, second_order)
                rows += _rows(method, res, factors, "referrals", svc, float(times[t]))
    cols = ["method", "output", "service", "month", "factor", "index", "value", "conf"]
    return SensitivityResult(
        method,
        pd.DataFrame(rows, columns=cols),
        factors,
        runs,
        s2,
        {"n": n, "seed": seed, "services": list(services)},
    )


def _variables_analysis(
    model, design, method, problem, factors, x, u, seed, months, dt, run_method,
    variables, monthly, second_order, chunk_size, workers, progress, n,
) -> SensitivityResult:  # fmt: skip
    """Sensitivity of a non-surge model's variables: final value, peak and time of the peak."""
    from simulator.analysis._ensembles import OutputDef
    from simulator.core._run import model_grid

    names = list(variables) if variables else [s.name for s in model.spec.stocks]
    unknown = [v for v in names if v not in model.compiled.recordable]
    if unknown:
        raise KeyError(f"the model has no variables {unknown}")
    outputs = tuple(OutputDef(v, v, (), "") for v in names)
    grid, _ = model_grid(model.spec, months, dt)
    times = np.asarray(grid.report_times)
    runs = u.shape[0]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=runs, unit="run", desc=f"{method} runs")
    got: dict[str, list[np.ndarray]] = {v: [] for v in names}
    try:
        for a in range(0, runs, BLOCK):
            b = min(runs, a + BLOCK)
            blk = run_block(
                model, design, None, u[a:b], a, b, months=months, dt=grid.dt, method=run_method,
                outputs=outputs, keep=True, chunk_size=chunk_size, workers=workers,
            )  # fmt: skip
            for v in names:
                got[v].append(blk.monthly[v][:, 0, :])  # (T, m)
            if bar:
                bar.update(b - a)
    finally:
        if bar:
            bar.close()
    rows: list[tuple] = []
    s2 = None
    for i, v in enumerate(names):
        y = np.concatenate(got[v], axis=-1)
        metrics = {
            f"{v}_final": y[-1],
            f"{v}_peak": y.max(axis=0),
            f"{v}_peak_time": times[y.argmax(axis=0)],
        }
        if method == "delta":
            metrics.pop(f"{v}_peak_time")
        for k, (name, vals) in enumerate(metrics.items()):
            want_s2 = second_order and i == 0 and k == 0
            res = _analyze(method, problem, x, vals, seed, want_s2, second_order)
            rows += _rows(method, res, factors, name, "", None)
            if want_s2 and res:
                s2 = pd.DataFrame(res["S2"], index=factors, columns=factors)
        if monthly and method == "sobol" and i == 0:
            for t in range(y.shape[0]):
                res = _analyze(method, problem, x, y[t], seed, False, second_order)
                rows += _rows(method, res, factors, v, "", float(times[t]))
    cols = ["method", "output", "service", "month", "factor", "index", "value", "conf"]
    return SensitivityResult(
        method,
        pd.DataFrame(rows, columns=cols),
        factors,
        runs,
        s2,
        {"n": n, "seed": seed, "variables": names},
    )


def _rows(method, res, factors, output, service, month) -> list[tuple]:
    out = []
    if not res:
        return [
            (method, output, service, month, f, key, 0.0, 0.0)
            for f in factors
            for key, _ in _INDEX_KEYS[method]
        ]
    names = list(res.get("names", factors))
    for key, conf in _INDEX_KEYS[method]:
        if key not in res:
            continue
        vals = np.asarray(res[key], dtype=float)
        cis = np.asarray(res[conf], dtype=float) if conf and conf in res else np.full_like(vals, np.nan)
        for f, v, c in zip(names, vals, cis):
            out.append((method, output, service, month, f, key, float(v), float(c)))
    return out
