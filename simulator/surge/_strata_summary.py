"""The surge table by stratum: referrals and starts per stratum of a stratified model, and the gap.

For a model stratified by deprivation, ethnic group, age band or sex (:mod:`simulator.core._strata`),
:func:`stratum_summary` gives, for every service and for all services together, each stratum's
people, total referrals and treatment starts over the horizon and the same per 100,000 people of
the stratum; :func:`stratum_gap` gives the gap in referrals per 100,000 between strata: PHE's slope
and relative indices of inequality for ordered strata, the range and the ratio of the highest to
the lowest stratum (and ratios to the most populous) for unordered ones.  Both use the equity
metrics of :mod:`simulator.analysis._equity_metrics` (the same definitions as ``upstream
equity``), and the per-stratum counts add up to the columns of the usual surge table
(:mod:`simulator.surge._summary`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._equity_metrics import EquityResult, equity_metrics
from simulator.core._strata import Stratifier
from simulator.surge._surge_outputs import CAPACITY_OUTPUTS, SURGE_OUTPUTS

__all__ = ["ALL_SERVICES", "format_stratum_gap", "format_stratum_summary", "stratum_gap", "stratum_summary"]

#: the ``service`` label of the rows for all services together
ALL_SERVICES = "All services"


def choose(strata: Sequence[Stratifier], by: str | None) -> Stratifier:
    """The stratifier named ``by`` (default the first).

    Parameters
    ----------
    strata
        The model's stratifiers.
    by
        A stratifier's name, or ``None``.

    Returns
    -------
    Stratifier
        The one chosen.

    Raises
    ------
    ValueError
        If the model is not stratified, or not by ``by``.
    """
    if not strata:
        raise ValueError(
            "this model is not stratified: declare 'strata' in the model file or give --strata FILE "
            "(see README, 'Inequalities')"
        )
    if by is None:
        return strata[0]
    for s in strata:
        if s.name == by:
            return s
    raise ValueError(f"the model is not stratified by {by!r}; it is by {', '.join(s.name for s in strata)}")


def _per_service(one: xr.Dataset, name: str, dim: str) -> xr.DataArray | None:
    """Output ``name`` per time, service and stratum, summed over the other dimensions (None: not by stratum)."""
    outputs = CAPACITY_OUTPUTS if "background_treatment" in one else SURGE_OUTPUTS
    found = [o for o in outputs if o.name == name]
    present = [v for v in found[0].variables if v in one] if found else []
    if not present or any(dim not in one[v].dims for v in present):
        return None
    total = None
    for v in present:
        da = one[v]
        extra = [d for d in da.dims if d not in ("time", "service", dim)]
        da = da.sum(extra) if extra else da
        total = da if total is None else total + da
    return total


def _equity(one: xr.Dataset, s: Stratifier) -> tuple[EquityResult, EquityResult] | None:
    """Equity metrics of referrals and starts per service, and for all services (None: no such outputs)."""
    q = {k: _per_service(one, k, s.name) for k in ("referrals", "starts")}
    given = {k: v for k, v in q.items() if v is not None}
    if not given:
        return None
    pop = [float(x) for x in s.population]
    if not np.isfinite(pop).all():
        raise ValueError(f"the model does not say how many people are in each {s.name} stratum")
    # services ride on equity_metrics' ensemble axis (it keeps ``member`` and sums other dimensions)
    per = equity_metrics(
        {k: v.rename(service="member") for k, v in given.items()}, pop, s.name, ordered=s.ordered
    )
    total = equity_metrics(given, pop, s.name, ordered=s.ordered)
    return per, total


def stratum_summary(ds: xr.Dataset, strata: Sequence[Stratifier], by: str | None = None) -> pd.DataFrame:
    """Referrals and treatment starts per stratum, for every service and for all services together.

    Parameters
    ----------
    ds
        Results of one run of a stratified surge model (member 0 is summarised).
    strata
        The model's stratifiers (:func:`simulator.core._strata_transform.strata_of`).
    by
        The stratifier (default the first).

    Returns
    -------
    pandas.DataFrame
        One row per service (first :data:`ALL_SERVICES`) and stratum: ``service``, the
        stratum (column named after the stratifier), ``population`` (people),
        ``referrals`` and ``starts`` (people over the horizon) and ``referrals_per_100k``
        and ``starts_per_100k`` (per 100,000 people of the stratum).  Starts are left out
        when they are not by stratum (a capacity model's shared waiting lists).
    """
    s = choose(strata, by)
    one = ds.isel(member=0, drop=True)
    pair = _equity(one, s)
    if pair is None:
        raise ValueError("these results lack new_referral: the table by stratum needs a surge model run")
    per, total = pair
    counts = {k: _per_service(one, k, s.name) for k in ("referrals", "starts")}
    rows = [_frame(ALL_SERVICES, total.horizon, counts, s)]
    for svc in one["service"].to_numpy():
        src = per.horizon.sel(member=svc, drop=True)
        sub = {k: (v.sel(service=svc, drop=True) if v is not None else None) for k, v in counts.items()}
        rows.append(_frame(str(svc), src, sub, s))
    return pd.concat(rows, ignore_index=True)


def _frame(
    label: str, rates: xr.Dataset, counts: dict[str, xr.DataArray | None], s: Stratifier
) -> pd.DataFrame:
    """The rows of one service: people, counts and rates per stratum."""
    out = pd.DataFrame({"service": label, s.name: list(s.categories), "population": list(s.population)})
    for k in ("referrals", "starts"):
        da = counts[k]
        if da is None:
            continue
        extra = [d for d in da.dims if d != s.name]
        out[k] = (da.sum(extra) if extra else da).to_numpy()  # totals over time, as the surge table's
        out[f"{k}_per_100k"] = rates[f"{k}_per_100k"].to_numpy()
    return out


def stratum_gap(ds: xr.Dataset, strata: Sequence[Stratifier], by: str | None = None) -> pd.DataFrame:
    """The gap in referrals (and starts) per 100,000 between strata, over all services.

    Parameters
    ----------
    ds
        Results of one run of a stratified surge model (member 0).
    strata
        The model's stratifiers.
    by
        The stratifier (default the first).

    Returns
    -------
    pandas.DataFrame
        One row per figure: ``metric``, ``measure`` (``sii``, ``rii`` and ``intercept`` for
        ordered strata, PHE's method; ``range``, ``extreme_ratio`` and ``ratio to <stratum>``
        for unordered ones, the reference the most populous stratum) and ``value`` (per
        100,000 people, or a ratio).
    """
    s = choose(strata, by)
    pair = _equity(ds.isel(member=0, drop=True), s)
    if pair is None:
        raise ValueError("these results lack new_referral: the gap needs a surge model run")
    res = pair[1]
    grad = res.gradient()
    rows = []
    for k in res.metrics:
        for name, da in grad.data_vars.items():
            measure = str(name).removeprefix(f"{k}_")
            if not str(name).startswith(f"{k}_"):
                continue
            if s.name in da.dims:
                for c in da[s.name].to_numpy():
                    if str(c) != res.reference:
                        rows.append(
                            {"metric": k, "measure": f"{measure} {c}", "value": float(da.sel({s.name: c}))}
                        )
            else:
                rows.append({"metric": k, "measure": measure, "value": float(da)})
    out = pd.DataFrame(rows)
    out.attrs.update(dim=s.name, ordered=s.ordered, reference=res.reference or "")
    return out


def format_stratum_summary(df: pd.DataFrame, dim: str, services: bool = False) -> str:
    """The table by stratum as aligned text (all services, or every service with ``services``).

    Parameters
    ----------
    df
        A table from :func:`stratum_summary`.
    dim
        The stratifier's name (the stratum column).
    services
        Show every service's rows, not only all services together.

    Returns
    -------
    str
        The table as text.
    """
    d = df if services else df[df["service"] == ALL_SERVICES].drop(columns="service")
    titles = {
        dim: dim.capitalize(),
        "population": "People",
        "referrals": "Referrals",
        "starts": "Starts",
        "referrals_per_100k": "Referrals per 100,000",
        "starts_per_100k": "Starts per 100,000",
    }
    fmt = {titles[c]: (lambda v: f"{v:,.0f}") for c in titles if c in d.columns and c != dim}
    return d.rename(columns=titles).to_string(index=False, formatters=fmt, justify="right")


def format_stratum_gap(gap: pd.DataFrame) -> str:
    """One line per figure of :func:`stratum_gap`: SII and RII, or range and ratios.

    Parameters
    ----------
    gap
        A table from :func:`stratum_gap`.

    Returns
    -------
    str
        Lines of text.
    """
    words = {"referrals_per_100k": "referrals per 100,000", "starts_per_100k": "starts per 100,000"}
    lines = []
    for metric, rows in gap.groupby("metric", sort=False):
        v = dict(zip(rows["measure"], rows["value"], strict=True))
        if gap.attrs.get("ordered"):
            lines.append(
                f"{words.get(str(metric), metric)}: SII {v['sii']:,.1f} (most advantaged minus most "
                f"disadvantaged, PHE), RII {v['rii']:.3f}"
            )
        else:
            ratios = "; ".join(
                f"{k.removeprefix('ratio ')} {x:.3f}" for k, x in v.items() if k.startswith("ratio ")
            )
            lines.append(
                f"{words.get(str(metric), metric)}: range {v['range']:,.1f}, highest / lowest "
                f"{v['extreme_ratio']:.3f}; ratio to {gap.attrs.get('reference')}: {ratios}"
            )
    return "\n".join(lines)
