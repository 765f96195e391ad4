"""Figures of one run: referrals and caseload per service, waiting lists, scenario curves.

Figures of ensembles and analyses are in :mod:`~simulator.report._ensemble_plots`;
every function returns a :class:`matplotlib.figure.Figure` on the user's backend
(none is forced: they display in Jupyter), and
:func:`~simulator.report._figures.save_figure`, re-exported here, saves it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr
from matplotlib.lines import Line2D

from simulator.report._figures import (
    CYCLE,
    GREYS,
    OKABE_ITO,
    by_service,
    choose,
    finish,
    grid,
    legend_below,
    new_figure,
    save_figure,
    thousands,
    time_axis,
)

__all__ = ["plot_curves", "plot_services", "plot_waiting", "save_figure"]

SURGE = OKABE_ITO["orange"]
CASELOAD = OKABE_ITO["blue"]


def _service_panel(ax, one: xr.Dataset, ref: xr.DataArray, case: xr.DataArray, svc: str, x) -> None:
    """One service's panel: referrals stacked (people per month) and the surge caseload (people, right axis)."""
    under = one["underlying"].sel(service=svc).fillna(0).to_numpy() if "underlying" in one else 0 * x
    supp = one["suppressed"].sel(service=svc).fillna(0).to_numpy() if "suppressed" in one else 0 * x
    surge = ref.sel(service=svc).to_numpy()
    ax.stackplot(
        x,
        under,
        supp,
        surge,
        colors=[*GREYS, SURGE],
        labels=["underlying referrals", "suppressed referrals returning", "surge referrals"],
        linewidth=0,
    )
    ax.set_title(svc, fontsize=9)
    ax.set_ylabel("people referred per month", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_ylim(bottom=0)
    thousands(ax)
    ax2 = ax.twinx()
    ax2.plot(x, case.sel(service=svc).to_numpy(), color=CASELOAD, lw=1.6)
    ax2.set_ylabel("surge caseload (people)", fontsize=8, color=CASELOAD)
    ax2.tick_params(labelsize=7, colors=CASELOAD)
    ax2.set_ylim(bottom=0)
    thousands(ax2)


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
    services by surge referrals; never more than twelve panels (the title
    says how many of how many are shown).

    Parameters
    ----------
    ds
        Results of a surge model run.
    services
        Services to draw (default: the ``top`` by surge referrals).
    top
        Number of services drawn by default (``None`` or 0: as many as fit).
    member
        The ensemble member drawn.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        People referred per month (stacked) and surge caseload (people) per service.

    Raises
    ------
    KeyError
        If a service asked for is not in the results.
    """
    one = ds.isel(member=member)
    ref = by_service(one["new_referral"])
    case = by_service(one["treatment"])
    order = ref.sum("time").to_series().sort_values(ascending=False).index.tolist()
    missing = [s for s in services or () if s not in ref["service"].to_numpy()]
    if missing:
        raise KeyError(f"unknown services {missing}")
    shown, note = choose(order, top, services)
    x, xlabel = time_axis(one)
    fig, axes = grid(len(shown))
    for ax, svc in zip(axes, shown):
        _service_panel(ax, one, ref, case, svc, x)
        ax.set_xlabel(xlabel, fontsize=8)
    legend_below(fig, axes, extra=[(Line2D([0], [0], color=CASELOAD, lw=1.6), "surge caseload (right axis)")])
    name = ds.attrs.get("model", "")
    words = title or f"{name + ': ' if name else ''}referrals and caseload per service"
    finish(fig, words + note, dates="date" in one.coords)
    return fig


def _waiting_panel(ax, one: xr.Dataset, svc: str, x):
    """One service's waiting list (people, stacked by wait) and its flows per month (right axis)."""
    over = one["over_18_weeks"].to_numpy()
    under = one["waiting"].to_numpy() - over
    ax.stackplot(
        x,
        under,
        over,
        colors=[OKABE_ITO["sky blue"], OKABE_ITO["vermillion"]],
        labels=["waiting up to 18 weeks", "waiting over 18 weeks"],
        lw=0,
    )
    ax.set_title(svc, fontsize=9)
    ax.set_ylabel("people waiting", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_ylim(bottom=0)
    thousands(ax)
    ax2 = ax.twinx()
    ax2.plot(
        x,
        one["starts"].to_numpy(),
        color=OKABE_ITO["blue"],
        lw=1.5,
        label="all treatment starts (right axis)",
    )
    ax2.plot(
        x, one["capacity"].to_numpy(), color=OKABE_ITO["blue"], lw=1.2, ls="--", label="capacity (right axis)"
    )
    ax2.plot(x, one["escalations_out"].to_numpy(), color=OKABE_ITO["orange"], lw=1.2,
             label="escalations to crisis services (right axis)")  # fmt: skip
    ax2.set_ylabel("people per month", fontsize=8)
    ax2.set_ylim(bottom=0)
    ax2.tick_params(labelsize=7)
    thousands(ax2)
    return ax2


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
    default the ``top`` services by peak waiting list; never more than twelve
    panels (the title says how many of how many are shown).

    Parameters
    ----------
    ds
        Results of a capacity model run.
    services
        Services to draw (default: the ``top`` by peak waiting list).
    top
        How many services to draw when ``services`` is not given (``None`` or 0: as many as fit).
    member
        Which ensemble member to draw.
    title
        Figure title (default: the model name).

    Returns
    -------
    matplotlib.figure.Figure
        People waiting, and starts, capacity and escalations per month, per service.

    Raises
    ------
    KeyError
        If a service asked for has no waiting list.
    """
    from simulator.surge._waiting import service_load

    load = service_load(ds).isel(member=member)
    order = load["waiting"].max("time").to_series().sort_values(ascending=False).index.tolist()
    missing = [s for s in services or () if s not in load["service"].to_numpy()]
    if missing:
        raise KeyError(f"services without a waiting list: {missing}")
    shown, note = choose(order, top, services)
    fig, axes = grid(len(shown))
    x, xlabel = time_axis(load)
    ax2 = None
    for ax, svc in zip(axes, shown):
        ax2 = _waiting_panel(ax, load.sel(service=svc), svc, x)
        ax.set_xlabel(xlabel, fontsize=8)
    extra = list(zip(*ax2.get_legend_handles_labels())) if ax2 is not None else []
    legend_below(fig, axes, ncol=3, extra=extra)
    name = ds.attrs.get("model", "")
    words = title or f"{name + ': ' if name else ''}waiting lists against capacity"
    if not title and ds.attrs.get("assumed_capacity"):
        words += " (some capacity assumed: pre-pandemic throughput x headroom)"
    finish(fig, words + note, dates="date" in load.coords)
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
        Share per month (0 to 1) of each curve.
    """
    fig = new_figure(9, 4.8)
    ax = fig.subplots()
    styles = ["-", "--", ":", "-."]
    for k, name in enumerate(curves.columns):
        ax.plot(curves.index, curves[name], lw=1.6, label=str(name), color=CYCLE[k % len(CYCLE)],
                ls=styles[(k // len(CYCLE)) % len(styles)])  # fmt: skip
    ax.set_xlabel("month of the scenario")
    ax.set_ylabel("share of at-risk people arriving (per month)")
    ax.set_ylim(bottom=0)
    if len(curves.columns):
        ax.legend(fontsize=8, ncol=2, title="curve", title_fontsize=8)
    fig.suptitle(title, fontsize=11)
    return fig
