"""Comparing intervention packages on models that are not surge models (network, Vensim imports).

Such models have no referrals, services or groups to measure, so the outcomes
are the model's own variables: for each named variable (default: every
stock), its total over the reported times (summed over its dimensions), and
the package's effect is the baseline's total minus the package's, member by
member on common draws, as in :func:`simulator.analysis._appraisal.appraise`.  Levers
are ``lever: parameter`` interventions, addressed by the model's parameter
names (an imported model's constants and lookups); costs are the fixed
monthly costs (per-person costs need a surge model's population or flows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from simulator.analysis._sampling import BLOCK, Sampler
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model
from simulator.core._run import make_record, model_grid, prepare_params, run_arrays

__all__ = ["appraise_variables"]


def appraise_variables(
    model: Model,
    packages: Sequence,
    *,
    design: Design | None = None,
    outcomes: Sequence[str] | None = None,
    members: int = 1000,
    seed: int = 0,
    sampler: str = "lhs",
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    block_size: int | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: bool = False,
):
    """Baseline and packages on common draws; totals of ``outcomes`` per package and member.

    Returns an :class:`~simulator.analysis._appraisal.Appraisal` whose outcomes are the
    variables' totals over the reported times (positive averted = the
    package lowers the variable).
    """
    from simulator.analysis._appraisal import BASELINE, Appraisal, InterventionEngine, Package

    all_iv = [iv for p in packages for iv in p.interventions]
    per_person = [iv.name for iv in all_iv if iv.per_person]
    if per_person:
        raise ValueError(
            "per-person costs need a surge model (its population, referrals or starts); "
            f"give these a fixed_per_month cost instead: {', '.join(per_person)}"
        )
    cm = model.compiled
    engine = InterventionEngine(model, all_iv)
    design = Design(model.spec, design.groups if design is not None else [])
    months = months or model.spec.horizon
    grid, _ = model_grid(model.spec, months, dt)
    names_out = list(outcomes) if outcomes else [s.name for s in model.spec.stocks]
    unknown = [v for v in names_out if v not in cm.recordable]
    if unknown:
        raise KeyError(f"the model has no variables {unknown}")
    runs = [Package(BASELINE, ()), *packages]
    labels = [p.name for p in runs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"package names must differ: {labels}")
    smp = Sampler(sampler, seed, tuple(design.columns), members)
    u_iv = Sampler(sampler, seed, tuple(engine.columns()), members).draws(0, members)
    amp, _ = engine.amplitudes(u_iv)
    items, _ = make_record(cm, {v: [] for v in names_out})
    totals = {v: np.zeros((len(runs), members)) for v in names_out}
    cost = np.zeros((len(runs), members))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=members * len(runs), unit="run", desc="packages")
    if block_size is None:
        block_size = max(1, min(members, BLOCK))
    try:
        for a in range(0, members, block_size):
            b = min(members, a + block_size)
            m = b - a
            values = design.apply(smp.draws(a, b))
            for k, pkg in enumerate(runs):
                vals, extra = engine.hook(pkg, amp)(dict(values), a, b)
                arrays = extra.pop("arrays", {})
                params, _ = prepare_params(cm, vals)
                params = {
                    n: np.asfortranarray(np.repeat(v, m, axis=0))
                    if v.shape[0] == 1 and n in vals and m > 1
                    else v
                    for n, v in params.items()
                }
                params.update(arrays)
                raw = run_arrays(
                    cm, params, m, grid, items, method=method, chunk_size=chunk_size, workers=workers, **extra
                )
                for v in names_out:
                    totals[v][k, a:b] = raw[v][:, :, 0].sum(axis=1)
                cost[k, a:b] = sum(iv.fixed_per_month * iv.active_months(months) for iv in pkg.interventions)
                if bar:
                    bar.update(m)
    finally:
        if bar:
            bar.close()
    ds = xr.Dataset(
        {
            **{f"total_{v}": (("package", "member"), totals[v]) for v in names_out},
            "cost": (("package", "member"), cost),
        },
        coords={"package": labels, "member": np.arange(members)},
    )
    meta = {
        "members": members,
        "seed": seed,
        "sampler": sampler,
        "months": months,
        "dt": grid.dt,
        "variables": names_out,
    }
    return Appraisal(ds, labels, [], meta)
