"""Shared figure plumbing: new figures on the user's backend, panel grids, words, units and saving.

No backend is ever chosen here: :func:`~simulator.report._display.new_figure`
makes each figure so that it displays where the user works (once per notebook
cell in Jupyter) and saves anywhere.  The command line, which only saves files,
may call :func:`use_file_backend`.
Colours are the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.ticker import FuncFormatter

from simulator.report._display import new_figure

__all__ = [
    "CYCLE",
    "GREYS",
    "MAX_PANELS",
    "OKABE_ITO",
    "band_label",
    "by_service",
    "choose",
    "date_ticks",
    "finish",
    "grid",
    "legend_below",
    "new_figure",
    "save_figure",
    "thousands",
    "time_axis",
    "title_words",
    "unit_words",
    "use_file_backend",
]

#: Okabe & Ito (2008), colour-blind safe: black first, then the seven colours
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
#: colours of series drawn one after another (packages, scenarios)
CYCLE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: light greys for what a service already carries (underlying, returning suppressed referrals)
GREYS = ("#DDDDDD", "#BBBBBB")
#: most panels drawn in one figure, whatever ``top`` asks (the title says how many are shown)
MAX_PANELS = 12

#: variable and output names in words, for titles
WORDS = {
    "new_referral": "Referrals",
    "referrals": "Referrals",
    "new_treatment": "Treatment starts",
    "starts": "Treatment starts",
    "surge_starts": "Treatment starts from the surge",
    "surge_caseload": "Caseload from the surge",
    "surge_contacts": "Contacts from the surge",
    "treatment": "Caseload",
    "caseload": "Caseload",
    "contacts": "Contacts",
    "waiting": "Waiting list",
    "waiting_all": "Waiting list",
    "over_18_weeks": "People waiting over 18 weeks",
    "share_over_18_weeks": "Share of the waiting list waiting over 18 weeks",
    "mean_wait": "Mean wait",
    "escalations": "Escalations to crisis services",
    "dropouts": "Drop-outs from waiting lists",
    "unmet_need": "People joining waiting lists",
    "capacity": "Capacity",
    "utilisation": "Utilisation",
    "waiting_list_exits": "People leaving waiting lists",
    "referrals_total": "Referrals over the horizon",
    "caseload_peak": "Peak caseload",
    "caseload_peak_month": "Month of the peak caseload",
}
#: suffixes of measured outputs (sensitivity, ensemble tables), in words
SUFFIXES = {"_peak_month": "month of the peak", "_total": "total", "_peak": "peak", "_final": "final value"}
#: units of outputs, for axis labels
UNITS = {
    "referrals": "people referred per month",
    "starts": "treatment starts per month",
    "surge_starts": "treatment starts per month",
    "surge_caseload": "people in treatment",
    "surge_contacts": "contacts per month",
    "caseload": "people in treatment",
    "contacts": "contacts per month",
    "waiting": "people waiting",
    "over_18_weeks": "people waiting",
    "escalations": "people per month",
    "dropouts": "people per month",
    "unmet_need": "people per month",
    "capacity": "treatment starts per month",
    "waiting_list_exits": "people per month",
    "share_over_18_weeks": "share (0 to 1)",
    "utilisation": "share (0 to 1)",
    "mean_wait": "months",
}


def use_file_backend() -> None:
    """Choose matplotlib's Agg backend: for programs that only save figures (the command line)."""
    import matplotlib

    matplotlib.use("Agg")


def grid(n: int, width: float = 5.2, height: float = 3.3, sharex: bool = True):
    """A figure with ``n`` panels (at most :data:`MAX_PANELS`), three a row, no empty panel.

    Parameters
    ----------
    n
        Number of panels.
    width, height
        Size of one panel, inches.
    sharex
        Whether the panels share their x axis.

    Returns
    -------
    tuple of (matplotlib.figure.Figure, list of matplotlib.axes.Axes)
        The figure and its ``n`` panels.
    """
    n = max(1, min(n, MAX_PANELS))
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig = new_figure(width * ncol, height * nrow + 0.9)
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=sharex)
    for ax in list(axes.flat)[n:]:
        fig.delaxes(ax)
    if sharex:  # hidden tick labels above a deleted panel: show them again
        for ax in list(axes.flat)[:n]:
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, list(axes.flat)[:n]


def choose(order: Sequence[str], top: int | None, chosen: Sequence[str] | None = None):
    """The panels drawn: ``chosen`` or the first ``top`` of ``order``, never more than :data:`MAX_PANELS`.

    Parameters
    ----------
    order
        Every candidate, most important first.
    top
        How many to draw (``None``, 0 or negative: as many as fit).
    chosen
        Panels asked for by name (then ``top`` is ignored).

    Returns
    -------
    tuple of (list of str, str)
        The panels, and a note for the title when some are left out (``""`` otherwise).
    """
    pool = list(chosen) if chosen else list(order)
    n = len(pool) if not top or top < 0 or chosen else min(top, len(pool))
    shown = pool[: min(n, MAX_PANELS)]
    note = f" ({len(shown)} of {len(pool)} shown)" if len(shown) < len(pool) else ""
    return shown, note


def thousands(ax, axis: str = "y", prefix: str = "") -> None:
    """Tick labels with thousands separators (``12,500``); small values keep three figures."""
    fmt = FuncFormatter(lambda v, _: f"{prefix}{v:,.0f}" if abs(v) >= 100 or v == 0 else f"{prefix}{v:.3g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def time_axis(ds: xr.Dataset | xr.DataArray):
    """The x values and label of a time axis: calendar dates if ``ds`` has a ``date`` coordinate.

    Returns
    -------
    tuple of (array, str)
        Dates (``"month"``) or model times (``"month of the model"``).
    """
    if "date" in ds.coords:
        return pd.to_datetime(np.asarray(ds["date"].to_numpy())), "month"
    return ds["time"].to_numpy(), "month of the model"


def title_words(name: str) -> str:
    """A variable or output name in words (``new_referral`` -> ``Referrals``, ``x_peak`` -> ``X (peak)``)."""
    if name in WORDS:
        return WORDS[name]
    for suffix, words in SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{title_words(name[: -len(suffix)])} ({words})"
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def unit_words(name: str, unit: str | None = None) -> str:
    """The unit of an output for an axis label: its own unit if known, else a known one, else a value."""
    if unit and unit not in ("", "1", "dimensionless"):
        return unit
    return UNITS.get(name, "value (the model's unit)")


def band_label(lo: str, hi: str, members: object | None) -> str:
    """What a band is: ``"90% interval of 10,000 members"`` from stat names ``p5`` and ``p95``."""
    try:
        width = float(hi.lstrip("p")) - float(lo.lstrip("p"))
        what = f"{width:g}% interval"
    except ValueError:
        what = f"{lo} to {hi}"
    try:
        return f"{what} of {int(members):,} members"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return what


def by_service(da: xr.DataArray) -> xr.DataArray:
    """``da`` summed over every dimension but member, time and service.

    Parameters
    ----------
    da
        A recorded variable.

    Returns
    -------
    xarray.DataArray
        Per service (same units as ``da``).
    """
    extra = [d for d in da.dims if d not in ("member", "time", "service")]
    return da.sum(extra) if extra else da


def legend_below(fig, axes, ncol: int = 4, extra: Sequence = ()) -> None:
    """One legend under the panels, from the first panel's labelled artists (and ``extra`` pairs)."""
    handles, labels = axes[0].get_legend_handles_labels()
    for h, label in extra:
        handles.append(h)
        labels.append(label)
    uniq = dict(zip(labels, handles))
    if uniq:
        fig.legend(
            list(uniq.values()), list(uniq), loc="outside lower center", ncol=min(ncol, len(uniq)), fontsize=8,
            frameon=False,
        )  # fmt: skip


def finish(fig, title: str, dates: bool = False) -> None:
    """Title the figure (the constrained layout leaves room for it and for a legend underneath)."""
    fig.suptitle(title, fontsize=11)
    if dates:
        for ax in fig.axes:
            date_ticks(ax)


def date_ticks(ax) -> None:
    """Concise calendar dates on a time axis (``2021``, ``Apr``, ``Jul`` ...), never overlapping."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def save_figure(fig, path: str | Path) -> None:
    """Save a figure atomically (PNG, SVG or PDF by the file's suffix).

    Parameters
    ----------
    fig
        A matplotlib figure.
    path
        The image file (``.png``, ``.svg`` or ``.pdf``).
    """
    from simulator.core._atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format=path.suffix.lstrip(".") or "png")
