"""Figures of one run: referrals and caseload per service, waiting lists, scenario curves.

Figures of ensembles and analyses are in :mod:`~simulator.report._ensemble_plots`;
every function returns a :class:`matplotlib.figure.Figure` drawn without a screen
(:func:`~simulator.report._figures.save_figure`, re-exported here, saves it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import xarray as xr

from simulator.report._figures import by_service, grid, pyplot, save_figure

__all__ = ["plot_curves", "plot_services", "plot_waiting", "save_figure"]


def _service_panel(ax, one: xr.Dataset, ref: xr.DataArray, case: xr.DataArray, svc: str, x, colours) -> None:
    """One service's panel: referrals stacked (per month) and the surge caseload (people, right axis)."""
    under = one["underlying"].sel(service=svc).fillna(0).to_numpy() if "underlying" in one else 0 * x
    supp = one["suppressed"].sel(service=svc).fillna(0).to_numpy() if "suppressed" in one else 0 * x
    surge = ref.sel(service=svc).to_numpy()
    ax.stackplot(
        x,
        under,
        supp,
        surge,
        colors=[colours["underlying"], colours["suppressed"], colours["surge"]],
        labels=["underlying referrals", "suppressed referrals returning", "surge referrals"],
        linewidth=0,
    )
    ax.set_title(svc, fontsize=9)
    ax.set_ylabel("referrals / month", fontsize=8)
    ax.tick_params(labelsize=7)
    ax2 = ax.twinx()
    ax2.plot(
        x,
        case.sel(service=svc).to_numpy(),
        color=colours["caseload"],
        lw=1.6,
        label="surge caseload",
    )
    ax2.set_ylabel("caseload (people)", fontsize=8, color=colours["caseload"])
    ax2.tick_params(labelsize=7, colors=colours["caseload"])
    ax2.set_ylim(bottom=0)


def plot_services(
    ds: xr.Dataset,
    services: Sequence[str] | None = None,
    top: int | None = 12,
    member: int = 0,
    title: str | None = None,
):
    """Monthly referrals and caseload per service, with underlying demand beneath.

    One panel per service: underlying referrals (and returning suppressed
    referrals) as stacked areas, surge referrals stacked on top, and the surge
    caseload as a line on the right-hand axis.  By default the ``top``
    services by surge referrals.

    Parameters
    ----------
    ds
        Results of a surge model run.
    services
        Services to draw (default: the ``top`` by surge referrals).
    top
        Number of services drawn by default (``None``: all).
    member
        The ensemble member drawn.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Referrals per month (stacked) and surge caseload (people) per service.
    """
    plt = pyplot()

    one = ds.isel(member=member)
    ref = by_service(one["new_referral"])
    case = by_service(one["treatment"])
    if services is None:
        order = ref.sum("time").to_series().sort_values(ascending=False).index.tolist()
        services = order[:top] if top else order
    missing = [s for s in services if s not in ref["service"].to_numpy()]
    if missing:
        raise KeyError(f"unknown services {missing}")
    x = pd.to_datetime(one["date"].to_numpy()) if "date" in one.coords else one["time"].to_numpy()
    n = len(services)
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.3 * nrow), squeeze=False, sharex=True)
    colours = {
        "underlying": "#c8d3e0",
        "suppressed": "#8fa8c8",
        "surge": "#e07b39",
        "caseload": "#1f3b63",
    }
    for ax, svc in zip(axes.flat, services):
        _service_panel(ax, one, ref, case, svc, x, colours)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([0], [0], color=colours["caseload"], lw=1.6))
    labels.append("surge caseload (right axis)")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(
        title or f"{ds.attrs.get('model', '')}: monthly referrals and caseload per service",
        fontsize=11,
    )
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig


def plot_waiting(
    ds: xr.Dataset,
    services: Sequence[str] | None = None,
    top: int | None = 9,
    member: int = 0,
    title: str | None = None,
):
    """Waiting list against capacity per service, for a run of a capacity model.

    One panel per service: the waiting list split by time waited (under and
    over 18 weeks) as stacked areas; on the right-hand axis, starts per month
    against the capacity (dashed) and escalations to crisis services.  By
    default the ``top`` services by peak waiting list.

    Parameters
    ----------
    ds
        Results of a capacity model run.
    services
        Services to draw (default: the ``top`` by peak waiting list).
    top
        How many services to draw when ``services`` is not given (``None``: every one).
    member
        Which ensemble member to draw.
    title
        Figure title (default: the model name).

    Returns
    -------
    matplotlib.figure.Figure
        People waiting, and starts, capacity and escalations per month, per service.
    """
    from simulator.surge._waiting import service_load

    load = service_load(ds).isel(member=member)
    if services is None:
        order = load["waiting"].max("time").to_series().sort_values(ascending=False).index.tolist()
        services = order[:top] if top else order
    missing = [s for s in services if s not in load["service"].to_numpy()]
    if missing:
        raise KeyError(f"services without a waiting list: {missing}")
    fig, axes = grid(len(services))
    x = pd.to_datetime(load["date"].to_numpy()) if "date" in load.coords else load["time"].to_numpy()
    for ax, svc in zip(axes, services):
        one = load.sel(service=svc)
        over = one["over_18_weeks"].to_numpy()
        under = one["waiting"].to_numpy() - over
        ax.stackplot(
            x,
            under,
            over,
            colors=["#9fc3e6", "#c0504d"],
            labels=["waiting up to 18 weeks", "waiting over 18 weeks"],
            lw=0,
        )
        ax.set_title(svc, fontsize=9)
        ax.set_ylabel("people waiting", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax2 = ax.twinx()
        ax2.plot(x, one["starts"].to_numpy(), color="#1f3b63", lw=1.5, label="starts / month")
        ax2.plot(x, one["capacity"].to_numpy(), color="#1f3b63", lw=1.2, ls="--", label="capacity / month")
        ax2.plot(x, one["escalations_out"].to_numpy(), color="#e07b39", lw=1.2, label="escalations / month")
        ax2.set_ylim(bottom=0)
        ax2.tick_params(labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="lower center", ncol=5, fontsize=8, frameon=False)
    note = ds.attrs.get("assumed_capacity")
    fig.suptitle(
        title
        or f"{ds.attrs.get('model', '')}: waiting lists against capacity"
        + ("  (some capacity assumed: pre-pandemic throughput x headroom)" if note else ""),
        fontsize=11,
    )
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def plot_curves(curves: pd.DataFrame, title: str = "Scenario curves"):
    """Each curve's share of a group's at-risk people arriving per month.

    Parameters
    ----------
    curves
        One column per curve, one row per month (shares, 0..1).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name in curves.columns:
        ax.plot(curves.index, curves[name], lw=1.6, label=name)
    ax.set_xlabel("month")
    ax.set_ylabel("share of at-risk people arriving")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig
