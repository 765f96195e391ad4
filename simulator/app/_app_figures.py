"""The app's own small figures: one service's referrals, caseload and contacts; a curve; surge tables.

Figures for people (units, dates, words, the Okabe-Ito palette), drawn with the
plumbing of :mod:`simulator.report._figures`; the report's fan, frontier and waiting
figures are used as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.layout_engine import LayoutEngine

from simulator.report._figures import CYCLE, GREYS, date_ticks, finish, new_figure, thousands, time_axis
from simulator.surge._surge_model import SurgeModel

__all__ = ["FixedMargins", "curve_figure", "group_figure", "service_figure", "service_series", "surge_by"]


def service_series(ds: xr.Dataset, service: str) -> pd.DataFrame:
    """One service's monthly figures from a deterministic run.

    Parameters
    ----------
    ds
        Results of one run of a surge model (member 0 is used).
    service
        The service.

    Returns
    -------
    pandas.DataFrame
        Index ``date`` (or model month); columns ``underlying`` and ``suppressed`` (people per
        month, the service's pre-pandemic referrals), ``surge referrals`` (people per month),
        ``caseload`` (people) and ``contacts`` (contacts per month).
    """
    one = ds.isel(member=0).sel(service=service)
    x, _ = time_axis(ds)

    def total(name: str) -> np.ndarray:
        if name not in one:
            return np.zeros(len(x))
        da = one[name]
        extra = [d for d in da.dims if d != "time"]
        return (da.sum(extra) if extra else da).to_numpy()

    return pd.DataFrame(
        {
            "underlying": total("underlying"),
            "suppressed": total("suppressed"),
            "surge referrals": total("new_referral"),
            "caseload": total("treatment"),
            "contacts": total("contacts"),
        },
        index=pd.Index(x, name="date"),
    )


def service_figure(ds: xr.Dataset, service: str):
    """Referrals (surge on top of underlying demand), caseload and contacts of one service per month.

    Parameters
    ----------
    ds
        Results of one run of a surge model.
    service
        The service drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = service_series(ds, service)
    x = s.index
    fig = new_figure(10.5, 3.6)
    axes = fig.subplots(1, 3, sharex=True)
    ax = axes[0]
    ax.stackplot(
        x,
        s["underlying"],
        s["suppressed"],
        s["surge referrals"],
        colors=[GREYS[1], GREYS[0], CYCLE[0]],
        labels=["underlying (pre-pandemic)", "returning suppressed", "surge"],
    )
    ax.set_ylabel("referrals per month")
    ax.set_title("Referrals", fontsize=10)
    top = float((s["underlying"] + s["suppressed"] + s["surge referrals"]).max())
    ax.set_ylim(0, 1.35 * top if top > 0 else 1)  # room for the legend above the curves
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    axes[1].plot(x, s["caseload"], color=CYCLE[1])
    axes[1].set_ylabel("people in treatment (surge)")
    axes[1].set_title("Caseload", fontsize=10)
    axes[2].plot(x, s["contacts"], color=CYCLE[2])
    axes[2].set_ylabel("contacts per month (surge)")
    axes[2].set_title("Contacts", fontsize=10)
    for a in axes:
        thousands(a)
        if a is not ax:
            a.set_ylim(bottom=0)
        if "date" in ds.coords:
            date_ticks(a)
        else:
            a.set_xlabel("month of the model")
    finish(fig, service)
    return fig


class FixedMargins(LayoutEngine):
    """Margins in inches, kept whatever size the page draws a figure at (a matplotlib layout engine).

    Shiny sizes a figure to its box and lays out any figure without a compatible layout
    engine with the tight layout, which measures every label first (about half the
    drawing time of a small chart).  A chart redrawn on every slider move keeps fixed
    margins instead: room for the axis labels and a two-line title.

    Parameters
    ----------
    left, right, bottom, top
        Margins (inches); at most 45% of the figure's width or height each.
    """

    _adjust_compatible = True  # what Shiny asks before it replaces a layout engine
    _colorbar_gridspec = True

    def __init__(self, left: float = 0.8, right: float = 0.15, bottom: float = 0.45, top: float = 0.5):
        super().__init__()
        self.margins = (left, right, bottom, top)

    def execute(self, fig) -> None:
        """Place the axes inside the margins at the figure's present size."""
        w, h = fig.get_size_inches()
        left, right, bottom, top = self.margins
        fig.subplots_adjust(
            left=min(0.45, left / w), right=max(0.55, 1 - right / w),
            bottom=min(0.45, bottom / h), top=max(0.55, 1 - top / h),
        )  # fmt: skip


def curve_figure(model: SurgeModel, curve: str):
    """A scenario curve: the share of a group's at-risk people arriving each month.

    Parameters
    ----------
    model
        A surge model.
    curve
        One of its curves.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = model.tables
    values = t.curves[curve].to_numpy()
    start = t.start if t.start is not None else None
    fig = new_figure(6.5, 2.4)
    ax = fig.subplots()
    if start is not None:
        x = pd.date_range(start, periods=len(values), freq="MS")
        ax.plot(x, values * 100, color=CYCLE[0])
        date_ticks(ax)
    else:
        ax.plot(np.arange(len(values)), values * 100, color=CYCLE[0])
        ax.set_xlabel("month of the model")
    ax.set_ylabel("% arriving per month")
    ax.set_ylim(bottom=0)
    ax.set_title(curve, fontsize=10)
    return fig


def group_figure(ds: xr.Dataset, group: str):
    """Surge referrals from one population group per month, all conditions and services together.

    Parameters
    ----------
    ds
        Results of one run of a surge model.
    group
        The group.

    Returns
    -------
    matplotlib.figure.Figure
    """
    da = ds["new_referral"].isel(member=0).sel(group=group)
    y = da.sum([d for d in da.dims if d != "time"]).to_numpy()
    x, xlabel = time_axis(ds)
    fig = new_figure(6.5, 2.4)
    fig.set_layout_engine(FixedMargins())  # redrawn on every slider move: no layout pass
    ax = fig.subplots()
    ax.plot(x, y, color=CYCLE[0])
    ax.set_ylabel("referrals per month")
    ax.set_ylim(bottom=0)
    thousands(ax)
    if "date" in ds.coords:
        date_ticks(ax)
    else:
        ax.set_xlabel(xlabel)
    ax.set_title(f"Surge referrals from {group}\n{float(y.sum()):,.0f} over the horizon", fontsize=9)
    return fig


def surge_by(ds: xr.Dataset, dim: str) -> pd.DataFrame:
    """Surge referrals over the horizon by ``dim`` (group, condition or service), largest first.

    Parameters
    ----------
    ds
        Results of one run of a surge model (member 0).
    dim
        ``"group"``, ``"condition"`` or ``"service"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``dim``, ``surge referrals`` (people over the horizon) and ``share (%)``.
    """
    da = ds["new_referral"].isel(member=0)
    tot = da.sum([d for d in da.dims if d != dim]).to_series()
    out = tot.sort_values(ascending=False).rename("surge referrals").reset_index()
    whole = float(tot.sum())
    out["share (%)"] = 100 * out["surge referrals"] / whole if whole > 0 else 0.0
    return out.round({"surge referrals": 0, "share (%)": 1})
