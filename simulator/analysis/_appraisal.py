"""Comparing intervention packages on the same ensemble draws.

Every package and the baseline run on the *same* members (common random
numbers): each block of members draws the scenario's uncertainty once, and the
interventions' effects and coverage once (keyed by intervention name), then
runs the baseline and every package.  Outcomes are differences from the
baseline member by member:

* referrals averted, per service and in total;
* treatment starts averted;
* people-months at risk averted (the at-risk stock summed over months);
* contacts saved;
* crisis-service referrals averted;
* cost, and cost per referral averted;
* for capacity models, person-months on waiting lists averted and
  escalations from waiting lists to crisis services averted, so extra
  capacity (downstream) and prevention (upstream) compare on one footing;
* for inequalities: people-months at risk per 1,000 population by group, and
  the gap and ratio between the highest and lowest group.

Interventions act as time-varying multipliers on parameters inside the
compiled model (see :mod:`simulator.files._interventions`).  Every model kind
runs the same loop (:mod:`simulator.analysis._appraisal_runs`); what it measures
is the kind's answer (:meth:`~simulator.core.Model.appraisal_measures`): a surge
model the outcomes above, any other model its own variables' totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from simulator.analysis._appraisal_engine import InterventionEngine
from simulator.analysis._appraisal_levers import Package
from simulator.analysis._appraisal_result import BASELINE, Appraisal
from simulator.analysis._appraisal_runs import APPRAISE_BLOCK, PackageRuns
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model
from simulator.core._results import to_dataset
from simulator.core._run import make_record, model_grid, prepare_params, run_arrays

__all__ = [
    "CRISIS_WORDS",
    "Appraisal",
    "InterventionEngine",
    "appraise",
    "crisis_services",
    "simulate_package",
]

#: words in a service's name that mark it as a crisis service (override with ``crisis_services``)
CRISIS_WORDS = ("crisis", "emergency", "999", "a&e", "liaison", "home treatment", "triage")
#: figures of capacity models, kept after the others in an appraisal's dataset
_LAST = ("waiting_months", "escalations")


def crisis_services(services: Sequence[str]) -> list[str]:
    """Services whose names mark them as crisis services.

    Parameters
    ----------
    services
        Service names.

    Returns
    -------
    list of str
        Those containing one of :data:`CRISIS_WORDS` (case-insensitive).
    """
    return [s for s in services if any(w in s.lower() for w in CRISIS_WORDS)]


def appraise(
    model: Model,
    packages: Sequence[Package],
    *,
    design: Design | None = None,
    members: int = 1000,
    seed: int = 0,
    sampler: str = "lhs",
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    crisis: Sequence[str] | None = None,
    block_size: int | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: bool = False,
    outcomes: Sequence[str] | None = None,
) -> Appraisal:
    """Run the baseline and every package on common draws; per-member outcomes.

    Parameters
    ----------
    model
        Any model; its kind says what is measured (:meth:`~simulator.core.Model.appraisal_measures`).
    packages
        The packages compared (distinct names) with the baseline.
    design
        The scenario's uncertainty (its groups are resolved on the model again,
        because diversions may add paths).
    members, seed, sampler
        Ensemble size, random seed and sampler (``lhs``, ``monte-carlo``, ``sobol``).
    months, dt, method
        Horizon (months, default the model's), time step (months) and integration method.
    crisis
        Crisis services (default: by name, :data:`CRISIS_WORDS`); models measured by services only.
    block_size, chunk_size, workers
        Members per block of draws, per chunk run and the number of worker processes.
    progress
        Show a progress bar.
    outcomes
        Variables measured on models that are not surge models (default every stock);
        ignored by surge models.

    Returns
    -------
    Appraisal
        Per-member outcomes of the baseline and every package, and their costs (pounds).
    """
    all_iv = [iv for p in packages for iv in p.interventions]
    model.appraisal_check(all_iv)
    model = model.with_diversion_paths(all_iv)
    engine = InterventionEngine(model, all_iv)
    design = Design(model.spec, design.groups if design is not None else [])
    months = months or model.spec.horizon
    grid, _ = model_grid(model.spec, months, dt)
    measures = model.appraisal_measures(outcomes)
    crisis_idx: list[int] = []
    if "service" in measures.figures.get("referrals", ()):
        services = list(model.spec.dims["service"])
        crisis = list(crisis) if crisis is not None else crisis_services(services)
        crisis_idx = [services.index(s) for s in crisis]
    else:
        crisis = []
    runs = [Package(BASELINE, ()), *packages]
    names = [p.name for p in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"package names must differ: {names}")
    pr = PackageRuns(model, engine, design, runs, measures, members, months, grid, sampler, seed)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=members * len(runs), unit="run", desc="packages")
    try:
        block = max(1, min(members, APPRAISE_BLOCK)) if block_size is None else block_size
        pr.run(block, bar.update if bar else None, method=method, chunk_size=chunk_size, workers=workers)
    finally:
        if bar:
            bar.close()
    ds = _dataset(pr, names, crisis_idx)
    meta = {"members": members, "seed": seed, "sampler": sampler, "months": months, "dt": grid.dt}
    if measures.variables:
        meta["variables"] = list(measures.variables)
    return Appraisal(ds, names, list(crisis), meta)


def _dataset(pr: PackageRuns, names: list[str], crisis_idx: list[int]) -> xr.Dataset:
    """The appraisal's dataset: the kind's figures, crisis referrals, cost, then member figures."""
    store, figures = pr.store, pr.measures.figures
    dims = {k: ("package", "member", *d) for k, d in figures.items()}
    data = {k: (dims[k], store[k]) for k in figures if k not in _LAST}
    if "service" in figures.get("referrals", ()):
        data["crisis_referrals"] = (("package", "member"), store["referrals"][:, :, crisis_idx].sum(axis=2))
    data["cost"] = (("package", "member"), store["cost"])
    for name, d in pr.member_dims.items():
        data[name] = (("member", *d), store[name])
    data.update({k: (dims[k], store[k]) for k in _LAST if k in figures})
    used = [d for v in data.values() for d in v[0] if d not in ("package", "member", "time")]
    coords = {"package": names, "member": np.arange(pr.members)}
    coords.update({d: list(pr.model.spec.dims[d]) for d in dict.fromkeys(used)})
    if any("time" in v[0] for v in data.values()):
        coords["time"] = pr.report_times
    return xr.Dataset(data, coords=coords)


def simulate_package(
    model: Model,
    package: Package,
    *,
    params: Mapping[str, object] | None = None,
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    record=None,
    quantile: float = 0.5,
    diversions_of: Sequence[Package] = (),
) -> xr.Dataset:
    """One run with ``package`` applied, its effects and coverage at a quantile (default the median).

    Runs on the per-member kernel (as :func:`appraise` does for surge models), so an
    empty package is the exact baseline to compare against.

    Parameters
    ----------
    model
        The model.
    package
        The package applied.
    params
        Parameter values replacing the model's.
    months, dt, method
        Horizon (months, default the model's), time step (months) and integration method.
    record
        Variables recorded (default as :func:`~simulator.core.make_record` chooses).
    quantile
        Quantile of every effect and coverage distribution.
    diversions_of
        Other packages whose diversion paths the model should also carry (to compare
        runs on identical path sets).

    Returns
    -------
    xarray.Dataset
        The run's results, attribute ``package`` naming the package.
    """
    all_iv = [*package.interventions, *(iv for p in diversions_of for iv in p.interventions)]
    prepared = model.with_diversion_paths(all_iv)
    cm = prepared.compiled
    engine = InterventionEngine(prepared, all_iv)
    amp, _ = engine.amplitudes(np.full((1, len(engine.columns())), quantile))
    base, _ = prepare_params(cm, params)
    values = {k: v for k, v in base.items() if params and k in params}
    vals, extra = engine.hook(package, amp)(dict(values), 0, 1)
    arrays = extra.pop("arrays", {})
    p, _ = prepare_params(cm, vals)
    p.update(arrays)
    grid, _ = model_grid(prepared.spec, months or prepared.spec.horizon, dt)
    items, spaces = make_record(cm, record)
    out = run_arrays(cm, p, 1, grid, items, method=method, allow_matrix=False, **extra)
    return to_dataset(
        cm, out, spaces, grid, prepared, attrs={"dt": grid.dt, "method": method, "package": package.name}
    )
