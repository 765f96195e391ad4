"""Per-service load of a capacity model: waiting lists, starts, waits, escalation and drop-out.

A run of a surge model with a ``capacity`` table records its waiting lists
(see :mod:`simulator.surge._capacity`).  :func:`service_load` turns those
records into the figures a capacity planner reads, per capacitated service
and month, for the *whole* load (surge and pre-pandemic referrals together):

=====================  ====================  ==========================================================
variable               unit                  meaning
=====================  ====================  ==========================================================
``arrivals``           people per month      accepted referrals arriving (surge and background)
``starts``             starts per month      treatment starts: from the waiting list plus arrivals who
                                             start at once
``starts_from_waiting`` starts per month     starts from the waiting list (longest waiters first)
``capacity``           starts per month      starts the service can make this month (after any
                                             caseload ceiling)
``utilisation``        share                 ``starts / capacity`` (NaN where capacity is 0)
``waiting``            people                everyone on the waiting list
``over_18_weeks``      people                people waiting longer than 18 weeks (uniform ages within
                                             a wait band)
``share_over_18_weeks`` share                ``over_18_weeks / waiting`` (0 with nobody waiting)
``mean_wait``          months                expected wait by Little's law, ``waiting / exits`` with
                                             exits = starts, escalations and drop-outs from the list
                                             (0 with nobody waiting)
``escalations_out``    people per month      people leaving the list for a crisis service
``escalations_in``     people per month      people arriving from other services' lists
``dropouts``           people per month      people giving up waiting
``unmet_need``         people per month      accepted referrals who could not start when they
                                             arrived and joined the list
``caseload``           people                people in treatment (surge and background)
``wait_band``          people                the list by time waited (extra ``stage`` dimension)
=====================  ====================  ==========================================================

:func:`capacity_summary` condenses them into one row per service; both are
pure functions of the results dataset.

The ratios (utilisation, share over 18 weeks, mean wait) are
:func:`simulator.core._outputs.ratio`, the definition ensembles use too; this
table reports NaN utilisation where capacity is 0 (``empty=nan``), where an
ensemble reports 0 (its quantiles need numbers).  Share over 18 weeks is 0 with
nobody waiting (at most :data:`EMPTY` people) in both; mean wait is 0 here with
nobody waiting or no exits, in an ensemble where exits are at most 1e-6 a month.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from simulator.core._outputs import ratio

__all__ = ["CAPACITY_COLUMNS", "capacity_summary", "format_capacity_summary", "has_capacity", "service_load"]

#: a waiting list smaller than this (people) is empty up to rounding
EMPTY = 1e-6
#: column titles of :func:`capacity_summary`
CAPACITY_COLUMNS = {
    "service": "Service",
    "capacity": "Capacity/month (month 0)",
    "assumed": "Assumed",
    "peak_waiting": "Peak waiting list",
    "peak_date": "Peak date",
    "end_waiting": "Waiting at end",
    "peak_mean_wait": "Peak mean wait (months)",
    "peak_share_over_18_weeks": "Peak % over 18 weeks",
    "mean_utilisation": "Mean utilisation %",
    "unmet_need": "Joined list",
    "escalations_out": "Escalated out",
    "escalations_in": "Escalated in",
    "dropouts": "Dropped out",
}


def has_capacity(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a run of a model with waiting lists.

    Parameters
    ----------
    ds
        A run's results dataset.

    Returns
    -------
    bool
    """
    return "waiting_all" in ds


def _to(da: xr.DataArray, services: xr.DataArray) -> xr.DataArray:
    """Sum ``da`` to (member, time, service) and align it to the capacitated services (0 if absent)."""
    extra = [d for d in da.dims if d not in ("member", "time", "service")]
    out = da.sum(extra) if extra else da
    return out.reindex(service=services, fill_value=0.0)


def _sum(ds: xr.Dataset, names: tuple[str, ...], services: xr.DataArray) -> xr.DataArray:
    zero = xr.zeros_like(ds["waiting_all"])
    parts = [_to(ds[n], services) for n in names if n in ds]
    return sum(parts, zero)


def _ratio(num: xr.DataArray, den: xr.DataArray, floor: float, empty: float) -> xr.DataArray:
    """:func:`~simulator.core._outputs.ratio` of two aligned data arrays (``empty`` at or below ``floor``)."""
    return xr.apply_ufunc(ratio, num, den, kwargs={"floor": floor, "empty": empty})


def escalation_map(ds: xr.Dataset) -> dict[str, str]:
    """Which service each capacitated service's waiters escalate to (from the run's attributes).

    Parameters
    ----------
    ds
        A run's results dataset.

    Returns
    -------
    dict
        Service -> the service its waiters escalate to.
    """
    raw = ds.attrs.get("escalates_to")
    return json.loads(raw) if raw else {}


def service_load(ds: xr.Dataset) -> xr.Dataset:
    """Waiting lists, starts, waits, escalation, drop-out and utilisation per capacitated service.

    Parameters
    ----------
    ds
        Results of a capacity model run recorded with the model's default
        record (``simulate(model)``); every member is kept.

    Returns
    -------
    xarray.Dataset
        Dims ``(member, time, service)`` over the capacitated services (and
        ``stage`` for ``wait_band``); the variables of the module table, each
        with its unit in ``attrs``.

    Raises
    ------
    ValueError
        If ``ds`` is not a run of a model with waiting lists.
    """
    if not has_capacity(ds):
        raise ValueError("these results have no waiting lists: the model has no capacity table")
    services = ds["waiting_all"]["service"]
    capped = json.loads(ds.attrs.get("capacitated") or "null")
    if capped is not None:  # results are laid out over every service: keep the capacitated ones
        services = services.sel(service=[s for s in services.to_numpy() if s in set(capped)])
    waiting = _to(ds["waiting_all"], services)
    at_once = _to(ds["starts_at_once"], services)
    from_list = _to(ds["starts_from_waiting"], services)
    starts = from_list + at_once
    capacity = _to(ds["capacity_now"], services)
    esc = _to(ds["escalations_from_waiting"], services)
    drop = _to(ds["dropouts_from_waiting"], services)
    exits = from_list + esc + drop
    listed = waiting > EMPTY  # below this the list is empty up to rounding: no wait to report
    over = _to(ds["waiting_over_18_weeks"], services)
    esc_in = xr.zeros_like(esc)
    labels = [str(s) for s in services.to_numpy()]
    for src, dst in escalation_map(ds).items():
        if src in labels and dst in labels:
            esc_in.loc[{"service": dst}] = esc_in.sel(service=dst) + esc.sel(service=src)
    parts = {
        "arrivals": (_to(ds["arrivals_now"], services), "people per month"),
        "starts": (starts, "starts per month"),
        "starts_from_waiting": (from_list, "starts per month"),
        "capacity": (capacity, "starts per month"),
        "utilisation": (_ratio(starts, capacity, 0.0, np.nan), "share"),
        "waiting": (waiting, "people"),
        "over_18_weeks": (over, "people"),
        "share_over_18_weeks": (_ratio(over, waiting, EMPTY, 0.0), "share"),
        "mean_wait": (_ratio(waiting.where(listed, 0.0), exits, 0.0, 0.0), "months"),
        "escalations_out": (esc, "people per month"),
        "escalations_in": (esc_in, "people per month"),
        "dropouts": (drop, "people per month"),
        "unmet_need": (_to(ds["joined_waiting_list"], services), "people per month"),
        "caseload": (_sum(ds, ("treatment", "background_treatment"), services), "people"),
        "wait_band": (ds["wait_band"].reindex(service=services, fill_value=0.0), "people"),
    }
    out = xr.Dataset({name: da.drop_attrs() for name, (da, _) in parts.items()})
    for name, (_, unit) in parts.items():
        out[name].attrs = {"unit": unit}
    if "date" in ds.coords:
        out = out.assign_coords(date=ds["date"])
    out.attrs = {k: v for k, v in ds.attrs.items() if k in ("model", "curve", "start", "assumed_capacity")}
    return out


def capacity_summary(ds: xr.Dataset, member: int | None = 0) -> pd.DataFrame:
    """One row per capacitated service: peak waiting list and when, waits, escalation, drop-out.

    Parameters
    ----------
    ds
        Results of a capacity model run (see :func:`service_load`).
    member
        Which member to summarise; ``None`` averages the members first.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`CAPACITY_COLUMNS` (totals over the horizon for the
        flows: people), sorted by peak waiting list, largest first.  ``assumed``
        is true where the capacity is Upstream's default (pre-pandemic
        throughput x headroom), not data.
    """
    load = service_load(ds)
    one = load.mean("member") if member is None else load.isel(member=member)
    times = one["time"].to_numpy()
    peak = one["waiting"].argmax("time").to_numpy()
    util = one["utilisation"].mean("time", skipna=True).to_numpy()
    df = pd.DataFrame(
        {
            "service": one["service"].to_numpy().astype(str),
            "capacity": one["capacity"].isel(time=0).to_numpy(),
            "peak_waiting": one["waiting"].max("time").to_numpy(),
            "peak_month": times[peak].astype(int),
            "end_waiting": one["waiting"].isel(time=-1).to_numpy(),
            "peak_mean_wait": one["mean_wait"].max("time").to_numpy(),
            "peak_share_over_18_weeks": one["share_over_18_weeks"].max("time").to_numpy() * 100.0,
            "mean_utilisation": util * 100.0,
            "unmet_need": one["unmet_need"].sum("time").to_numpy(),
            "escalations_out": one["escalations_out"].sum("time").to_numpy(),
            "escalations_in": one["escalations_in"].sum("time").to_numpy(),
            "dropouts": one["dropouts"].sum("time").to_numpy(),
        }
    )
    assumed = set(json.loads(ds.attrs.get("assumed_services") or "[]"))
    df.insert(2, "assumed", [s in assumed for s in df["service"]])
    if "date" in one.coords:
        df.insert(5, "peak_date", pd.to_datetime(one["date"].to_numpy()[peak]).strftime("%Y-%m"))
    return df.sort_values("peak_waiting", ascending=False, kind="stable").reset_index(drop=True)


def format_capacity_summary(df: pd.DataFrame, top: int | None = None) -> str:
    """The capacity table as aligned text (thousands separators, one decimal for waits and shares).

    Parameters
    ----------
    df
        The capacity table (one row per capacitated service).
    top
        Show only the first ``top`` rows.

    Returns
    -------
    str
    """
    show = df.head(top) if top else df
    cols = [c for c in CAPACITY_COLUMNS if c in show.columns]
    fmt = {}
    for c in cols:
        if c in ("service", "peak_date"):
            continue
        if c in ("peak_mean_wait", "peak_share_over_18_weeks", "mean_utilisation"):
            fmt[c] = lambda v: "" if v is None or not np.isfinite(v) else f"{v:,.1f}"
        else:
            fmt[c] = lambda v: f"{0.0 if abs(v) < 0.5 else v:,.0f}"
    fmt.pop("assumed", None)
    out = show[cols].copy()
    for c, f in fmt.items():
        out[c] = [f(v) for v in out[c]]
    if "assumed" in out:
        out["capacity"] = [f"{c} *" if a else f"{c}  " for c, a in zip(out["capacity"], out["assumed"])]
        out = out.drop(columns="assumed")
    text = out.rename(columns=CAPACITY_COLUMNS).to_string(index=False)
    if "assumed" in show and show["assumed"].any():
        text += "\n* assumed capacity: pre-pandemic throughput x headroom (no capacity data given)"
    return text
