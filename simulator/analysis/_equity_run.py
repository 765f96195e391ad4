"""Running a stratified model for its equity metrics, alone or with intervention packages.

:func:`run_equity` runs an ensemble of a stratified model keeping, per member and month,
each quantity of :mod:`simulator.analysis._equity_metrics` summed to the stratum
dimension, and returns the rates per stratum and their gaps.  :func:`equity_of_packages`
does the same for the baseline and each intervention package on the draws
:func:`~simulator.analysis._appraisal.appraise` uses (same members, seed and sampler: common
random numbers), and returns each member's gap (SII and RII, or range and extreme ratio) of
one metric per package, for the equity columns of an appraisal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from simulator.analysis._appraisal_engine import InterventionEngine
from simulator.analysis._appraisal_levers import Package
from simulator.analysis._appraisal_result import BASELINE
from simulator.analysis._ensembles import run_ensemble
from simulator.analysis._equity_metrics import EquityResult, equity_metrics
from simulator.analysis._sampling import Sampler
from simulator.analysis._uncertainty import Design
from simulator.core._model import Model
from simulator.core._outputs import OutputDef

__all__ = ["EQUITY_QUANTITIES", "equity_of_packages", "equity_outputs", "run_equity", "stratifier"]

#: quantity -> the model's ensemble output it is taken from (summed to the stratum dimension)
FROM_OUTPUTS = {
    "referrals": "referrals",
    "starts": "starts",
    "waiting": "waiting",
    "over_18_weeks": "over_18_weeks",
    "dropouts": "dropouts",
    "escalations": "escalations",
    "exits": "waiting_list_exits",
}
#: quantity -> recorded variable of the model, where it records it
FROM_RECORDED = {"need": "new_at_risk", "at_risk": "at_risk", "recovered": "recovered", "relapse": "relapse"}
EQUITY_QUANTITIES = (*FROM_OUTPUTS, *FROM_RECORDED)


def stratifier(model: Model, by: str | None = None):
    """The model's stratifier named ``by`` (default its first).

    Parameters
    ----------
    model
        A stratified model.
    by
        The stratifying dimension (e.g. ``deprivation``).

    Returns
    -------
    Stratifier
        Name, categories, whether ordered, people per category.

    Raises
    ------
    ValueError
        If the model is not stratified, or not by ``by``.
    """
    strata = getattr(model, "strata", None)
    if strata is None:
        strata = model.spec.meta.get("strata", ()) if isinstance(model.spec.meta, dict) else ()
    strata = tuple(strata or ())
    if not strata:
        raise ValueError(
            f"model {model.name!r} is not stratified: declare 'strata' in the model file "
            "(deprivation, ethnicity, age or sex; see README, 'Inequalities')"
        )
    if by is None:
        return strata[0]
    for s in strata:
        if s.name == by:
            return s
    raise ValueError(
        f"model {model.name!r} is not stratified by {by!r}; it is by {', '.join(s.name for s in strata)}"
    )


def equity_outputs(model: Model, dim: str) -> tuple[OutputDef, ...]:
    """What an equity run keeps: every quantity the model gives, summed to ``dim``.

    Parameters
    ----------
    model
        The stratified model.
    dim
        The stratum dimension.

    Returns
    -------
    tuple of OutputDef
        One per quantity of :data:`EQUITY_QUANTITIES` the model gives by stratum (quantities
        pooled across strata, such as a model's shared capacity, are left out; a capacity
        model's waiting lists, drop-outs and escalations come by stratum).
    """
    cm = model.compiled
    recordable = set(cm.recordable)

    def by_stratum(variables: Sequence[str]) -> bool:
        # pooled quantities (e.g. a service's capacity, shared by every stratum) have no stratum dimension
        return bool(variables) and all(v in recordable and dim in cm.space_of(v).dims for v in variables)

    outs = {o.name: o for o in model.ensemble_outputs() if not o.ratio}
    defs = [
        OutputDef(q, outs[o].variables, (dim,), outs[o].unit)
        for q, o in FROM_OUTPUTS.items()
        if o in outs and by_stratum(outs[o].variables)
    ]
    defs += [OutputDef(q, v, (dim,)) for q, v in FROM_RECORDED.items() if by_stratum((v,))]
    return tuple(defs)


def _quantities(members: xr.Dataset, defs: Sequence[OutputDef], dim: str) -> dict[str, xr.DataArray]:
    return {d.name: members[d.name].transpose("member", "time", dim) for d in defs}


def run_equity(
    model: Model,
    design: Design,
    *,
    by: str | None = None,
    members: int = 1,
    metrics: Sequence[str] | None = None,
    reference: str | None = None,
    param_hook=None,
    **ensemble,
) -> EquityResult:
    """Equity metrics of a stratified model over an ensemble.

    Parameters
    ----------
    model, design
        The stratified model and the scenario's uncertainty.
    by
        The stratifying dimension (default the model's first).
    members
        Ensemble size (every member is kept: memory ``members x months x strata x`` about 10 numbers).
    metrics
        Keys of :data:`~simulator.analysis._equity_metrics.METRICS` (default all the model gives).
    reference
        Unordered strata: the stratum gaps are taken to (default the most populous).
    param_hook
        Changes parameters per block (intervention packages).
    **ensemble
        ``seed``, ``sampler``, ``months``, ``dt``, ``method``, ``progress``, ``workers`` ... for
        :func:`~simulator.analysis._ensembles.run_ensemble`.

    Returns
    -------
    EquityResult
        Rates per stratum by month and over the horizon, per member.
    """
    s = stratifier(model, by)
    defs = equity_outputs(model, s.name)
    res = run_ensemble(
        model, design, members=members, outputs=defs, keep_members=True, param_hook=param_hook, **ensemble
    )
    assert res.members is not None
    q = _quantities(res.members, defs, s.name)
    pop = np.asarray(s.population, dtype=float)
    if not np.isfinite(pop).all():
        raise ValueError(f"the model does not say how many people are in each {s.name} stratum")
    out = equity_metrics(
        q, [float(x) for x in pop], s.name, ordered=s.ordered, reference=reference, metrics=metrics
    )
    out.meta.update(model=model.name, label=s.label or s.name, source=s.source, members=members)
    return out


def equity_of_packages(
    model: Model,
    packages: Sequence[Package],
    *,
    design: Design | None = None,
    metric: str = "referrals_per_100k",
    by: str | None = None,
    members: int = 1000,
    seed: int = 0,
    sampler: str = "lhs",
    **ensemble,
) -> xr.Dataset:
    """Each member's gap in ``metric`` over the horizon, for the baseline and every package.

    Members are those of :func:`~simulator.analysis._appraisal.appraise` with the same
    ``members``, ``seed`` and ``sampler`` (the scenario's draws and each intervention's
    effect and coverage draws are keyed by name), so gaps and costs pair member by member.

    Parameters
    ----------
    model, packages, design
        The stratified model, the packages and the scenario's uncertainty.
    metric
        The metric whose gap is measured.
    by
        The stratifying dimension (default the model's first).
    members, seed, sampler
        As the appraisal's.
    **ensemble
        ``months``, ``dt``, ``method``, ``progress``, ``workers`` for the runs.

    Returns
    -------
    xarray.Dataset
        ``(package, member)``: ``sii`` and ``rii`` (ordered strata) or ``range`` and
        ``extreme_ratio`` (unordered); ``rate`` ``(package, member, DIM)``; attributes
        ``metric``, ``dim``, ``ordered``.
    """
    all_iv = [iv for p in packages for iv in p.interventions]
    prepared = model.with_diversion_paths(all_iv)
    engine = InterventionEngine(prepared, all_iv)
    design = Design(prepared.spec, design.groups if design is not None else [])
    u = Sampler(sampler, seed, tuple(engine.columns()), members)
    amp, _ = engine.amplitudes(u.draws(0, members))
    runs = [Package(BASELINE, ()), *packages]
    per = []
    for pkg in runs:
        res = run_equity(
            prepared,
            design,
            by=by,
            members=members,
            metrics=[metric],
            seed=seed,
            sampler=sampler,
            param_hook=engine.hook(pkg, amp) if pkg.interventions else None,
            name=pkg.name,
            **ensemble,
        )
        gap = res.gradient()
        keep = ("sii", "rii") if res.ordered else ("range", "extreme_ratio")
        ds = xr.Dataset({k: gap[f"{metric}_{k}"] for k in keep})
        ds["rate"] = res.horizon[metric]
        per.append(ds)
    out = xr.concat(per, "package").assign_coords(package=[p.name for p in runs])
    out.attrs.update(metric=metric, dim=res.dim, ordered=int(res.ordered), reference=res.reference or "")
    return out
