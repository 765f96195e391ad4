"""The equity columns of an ensemble of a stratified model: figures by stratum and their gap, with intervals.

An ensemble (``upstream sweep``) of a model stratified by deprivation, ethnic group, age
band or sex also reduces referrals and treatment starts summed to the stratum dimension
(:func:`stratum_outputs`: ``referrals_by_<dim>``, ``starts_by_<dim>``, over ``time`` and
the stratum, with the ensemble's usual ``_total``, ``_peak`` and ``_peak_month``).  From
every member's series, :func:`stratum_figures` makes the rates per 100,000 people of each
stratum and their gap (PHE's SII and RII for ordered strata; range and ratio of the
highest to the lowest stratum for unordered ones) with
:func:`~simulator.analysis._equity_metrics.equity_metrics`, member by member, and the
ensemble's statistics of them (mean, sd and the quantiles of the rest of the summary):
the intervals of the gap come from the spread of the members' gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from simulator.analysis._ensemble_stats import member_stats
from simulator.analysis._equity_metrics import equity_metrics
from simulator.analysis._equity_run import equity_outputs
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._strata import Stratifier

__all__ = ["STRATUM_QUANTITIES", "format_stratum_figures", "stratum_figures", "stratum_outputs"]

#: the quantities an ensemble keeps by stratum
STRATUM_QUANTITIES = ("referrals", "starts")


def stratum_outputs(model: Model, s: Stratifier) -> tuple[OutputDef, ...]:
    """The outputs by stratum an ensemble adds: ``referrals_by_<dim>`` and ``starts_by_<dim>``.

    Parameters
    ----------
    model
        The stratified model.
    s
        The stratifier.

    Returns
    -------
    tuple of OutputDef
        Referrals and treatment starts (people per month) summed to the stratum dimension,
        those the model gives by stratum (a capacity model's pooled starts are left out).
    """
    found = {o.name: o for o in equity_outputs(model, s.name)}
    return tuple(
        OutputDef(f"{q}_by_{s.name}", found[q].variables, (s.name,), found[q].unit or "people per month")
        for q in STRATUM_QUANTITIES
        if q in found
    )


def stratum_figures(members: xr.Dataset, s: Stratifier, stats: Sequence[str]) -> xr.Dataset:
    """Rates per 100,000 by stratum and their gap, with the ensemble's statistics.

    Parameters
    ----------
    members
        Every member's outputs, with those of :func:`stratum_outputs` (``member`` dim).
    s
        The stratifier.
    stats
        The summary's stat labels (``mean``, ``sd``, ``p5``, ``p50`` ...).

    Returns
    -------
    xarray.Dataset
        Over ``stat`` (and the stratum): ``<q>_per_100k_by_<dim>`` (per 100,000 people of
        the stratum, over the horizon) and ``<q>_per_100k_sii``, ``_rii`` and ``_intercept``
        (ordered strata) or ``_range``, ``_extreme_ratio`` and ``_ratio`` (over the strata: to
        the most populous, attribute ``reference``; unordered), for ``q`` in
        referrals and starts where kept; ``population_by_<dim>`` (people).
    """
    q = {
        k: members[f"{k}_by_{s.name}"].transpose("member", "time", s.name)
        for k in STRATUM_QUANTITIES
        if f"{k}_by_{s.name}" in members
    }
    pop = [float(x) for x in s.population]
    res = equity_metrics(q, pop, s.name, ordered=s.ordered, metrics=[f"{k}_per_100k" for k in q])
    grad = res.gradient()
    keep = ("sii", "rii", "intercept") if s.ordered else ("range", "extreme_ratio", "ratio")
    figures = {f"{k}_by_{s.name}": res.horizon[k] for k in res.metrics}
    figures.update({f"{k}_{g}": grad[f"{k}_{g}"] for k in res.metrics for g in keep})
    qs = [float(x[1:]) / 100 for x in stats if x.startswith("p")]
    out = xr.Dataset({k: _stats(v, stats, qs) for k, v in figures.items()})
    out[f"population_by_{s.name}"] = res.population
    if not s.ordered:
        out.attrs["reference"] = res.reference or ""  # the stratum of ``_ratio`` 1 (the most populous)
    out.attrs["equity"] = (
        f"by {s.name}: rates per 100,000 people of each stratum over the horizon; "
        + (
            "SII and RII by PHE's method"
            if s.ordered
            else "range and ratio of the highest to the lowest stratum"
        )
        + "; statistics over members"
    )
    return out


def _stats(da: xr.DataArray, stats: Sequence[str], qs: Sequence[float]) -> xr.DataArray:
    """``da``'s mean, sd and quantiles over ``member`` as a ``stat`` dimension labelled ``stats``."""
    da = da.transpose(..., "member")
    values = member_stats(np.asarray(da.to_numpy(), dtype=float), qs)
    labels = ["mean", "sd", *(f"p{x * 100:g}" for x in qs)]
    out = xr.DataArray(
        values, dims=("stat", *da.dims[:-1]), coords={"stat": labels, **{d: da[d] for d in da.dims[:-1]}}
    )
    return out.sel(stat=[x for x in stats if x in labels])


def format_stratum_figures(summary: xr.Dataset, dim: str, lo: str, hi: str) -> str:
    """The table by stratum of an ensemble, ``median [lo-hi]`` per figure, and the gap lines.

    Parameters
    ----------
    summary
        The ensemble summary with the figures of :func:`stratum_figures` merged in.
    dim
        The stratum dimension.
    lo, hi
        Stat labels of the interval (e.g. ``p5``, ``p95``).

    Returns
    -------
    str
        The table as text, then one line per gap figure.
    """
    import pandas as pd

    def cell(da: xr.DataArray, fmt: str) -> str:
        return f"{fmt.format(float(da.sel(stat='p50')))} [{fmt.format(float(da.sel(stat=lo)))} to " + (
            f"{fmt.format(float(da.sel(stat=hi)))}]"
        )

    cats = summary[dim].to_numpy()
    table = pd.DataFrame({dim.capitalize(): [str(c) for c in cats]})
    for k in STRATUM_QUANTITIES:
        for var, title in (
            (f"{k}_by_{dim}_total", k.capitalize()),
            (f"{k}_per_100k_by_{dim}", f"{k.capitalize()} per 100,000"),
        ):
            if var in summary:
                table[f"{title} (median [{lo} to {hi}])"] = [
                    cell(summary[var].sel({dim: c}), "{:,.0f}") for c in cats
                ]
    lines = [table.to_string(index=False)]
    for k in STRATUM_QUANTITIES:
        if f"{k}_per_100k_sii" in summary:
            lines.append(
                f"{k} per 100,000: SII {cell(summary[f'{k}_per_100k_sii'], '{:,.1f}')} (most advantaged minus "
                f"most disadvantaged, PHE), RII {cell(summary[f'{k}_per_100k_rii'], '{:.3f}')}"
            )
        elif f"{k}_per_100k_range" in summary:
            lines.append(
                f"{k} per 100,000: range {cell(summary[f'{k}_per_100k_range'], '{:,.1f}')}, highest / lowest "
                f"{cell(summary[f'{k}_per_100k_extreme_ratio'], '{:.3f}')}"
            )
            ratio = summary[f"{k}_per_100k_ratio"]
            lines.append(
                "  ratio to the most populous stratum: "
                + "; ".join(f"{c} {cell(ratio.sel({dim: c}), '{:.3f}')}" for c in cats)
            )
    return "\n".join(lines)
