"""Plots of surge results (matplotlib, no screen needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import xarray as xr

__all__ = ["plot_services"]


def _by_service(da: xr.DataArray) -> xr.DataArray:
    extra = [d for d in da.dims if d not in ("member", "time", "service")]
    return da.sum(extra) if extra else da


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

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    one = ds.isel(member=member)
    ref = _by_service(one["new_referral"])
    case = _by_service(one["treatment"])
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


def save_figure(fig, path) -> None:
    """Save a figure atomically (PNG, SVG or PDF by the file's suffix)."""
    from pathlib import Path

    from .export import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format=path.suffix.lstrip(".") or "png")
