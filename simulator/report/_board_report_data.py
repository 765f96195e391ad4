"""The numbers of the board report: headline figures, the surge table, capacity pressure, packages.

Every figure is a median and a 90% interval (5th to 95th percentile) over the
ensemble's members.  Headline figures add services together member by member
before taking quantiles (a sum of medians is not the median of a sum), so they
need every member kept (:attr:`EnsembleResult.members`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "QUANTILES",
    "Figure",
    "figure_table",
    "headline_figures",
    "interval_text",
    "month_date",
]

#: low, middle and high quantile of every interval in the report
QUANTILES = (0.05, 0.5, 0.95)
#: headline rows for surge models: (output, reduction, words, unit)
SURGE_HEADLINES = (
    ("referrals", "total", "Surge referrals over the horizon, all services", "people"),
    ("referrals", "peak", "Peak surge referrals in a month, all services", "people per month"),
    ("caseload", "peak", "Peak caseload, all services", "people in treatment"),
    ("contacts", "peak", "Peak contacts in a month, all services", "contacts per month"),
    ("waiting", "peak", "Peak waiting list, all services", "people waiting"),
    ("escalations", "total", "Escalations from waiting lists to crisis services", "people"),
)


@dataclass(frozen=True)
class Figure:
    """One headline figure: median and 90% interval over members, and when its peak falls.

    Attributes
    ----------
    peak_month
        Median month of the peak (months from the start), for peaks; else ``None``.
    """

    key: str
    name: str
    unit: str
    median: float
    low: float
    high: float
    peak_month: float | None = None


def month_date(start: str | None, month: float) -> str:
    """A month from the model's start as ``"Dec 2020"`` (``"month 7"`` without a start).

    Parameters
    ----------
    start
        The model's start (``"2020-05"``) or ``None``.
    month
        Months from the start.

    Returns
    -------
    str
    """
    if not start:
        return f"month {month:g}"
    return (pd.Timestamp(start) + pd.DateOffset(months=round(month))).strftime("%b %Y")


def _member_series(members: xr.Dataset, output: str) -> xr.DataArray:
    """``(member, time)``: an output summed over every other dimension (services, elements)."""
    da = members[output]
    return da.sum([d for d in da.dims if d not in ("member", "time")])


def _figure(members: xr.Dataset, out: str, how: str, name: str, unit: str) -> Figure:
    """A total (the ensemble's own ``<out>_total`` added over services) or the peak month of the sum."""
    key = f"{out}_{how}"
    lo, mid, hi = QUANTILES
    if how == "total" and key in members:
        total = members[key]
        v = total.sum([d for d in total.dims if d != "member"]).to_numpy()
        return Figure(key, name, unit, *_q(v, mid, lo, hi))
    series = _member_series(members, out)
    x = series.transpose("member", "time").to_numpy()
    if how == "total":
        return Figure(key, name, unit, *_q(x.sum(axis=1), mid, lo, hi))
    v = x.max(axis=1)
    t = series["time"].to_numpy()[x.argmax(axis=1)]
    return Figure(key, name, unit, *_q(v, mid, lo, hi), peak_month=float(np.median(t)))


def _q(v: np.ndarray, mid: float, lo: float, hi: float) -> tuple[float, float, float]:
    m, a, b = np.quantile(v, [mid, lo, hi])
    return float(m), float(a), float(b)


def headline_figures(ensemble) -> list[Figure]:
    """Whole-system figures of an ensemble, services added member by member.

    Surge and capacity models: surge referrals over the horizon and at their peak,
    peak caseload and contacts (and, with capacity, the peak waiting list and the
    escalations).  Other models: each monthly output's total and peak, elements added.

    Parameters
    ----------
    ensemble
        An :class:`~simulator.analysis.EnsembleResult` with its members kept.

    Returns
    -------
    list of Figure
        Medians and 90% intervals; totals in people, peaks in people per month (or people).

    Raises
    ------
    ValueError
        If the members were not kept (streamed ensembles keep only per-service quantiles).
    """
    members = ensemble.members
    if members is None:
        raise ValueError(
            "the board report adds services member by member: run fewer members, so that every member is kept"
        )
    if ensemble.by_service:
        rows = [r for r in SURGE_HEADLINES if r[0] in members and "time" in members[r[0]].dims]
    else:
        monthly = [str(k) for k, v in members.data_vars.items() if "time" in v.dims][:3]
        rows = [(k, how, f"{k}: {how}", "model units") for k in monthly for how in ("total", "peak")]
    return [_figure(members, out, how, name, unit) for out, how, name, unit in rows]


def interval_text(median: float, low: float, high: float, fmt: str = "{:,.0f}") -> str:
    """``median (low to high)`` with one number format.

    Parameters
    ----------
    median, low, high
        The figure and its interval.
    fmt
        A :meth:`str.format` pattern.

    Returns
    -------
    str
    """
    return f"{fmt.format(median)} ({fmt.format(low)} to {fmt.format(high)})"


def figure_table(table: pd.DataFrame, key: str, keep: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A ``<figure> median / <lo> / <hi>`` table as text cells ``median (lo to hi)``.

    Parameters
    ----------
    table
        E.g. :meth:`EnsembleResult.table`: a key column and, per figure, ``median`` and two
        quantile columns (the first and last after the median).
    key
        The key column (``service``, ``variable`` ...).
    keep
        Figures to show (default every figure found).

    Returns
    -------
    pandas.DataFrame
        The key column and one text column per figure.
    """
    figures = [c[: -len(" median")] for c in table.columns if str(c).endswith(" median")]
    if keep is not None:
        figures = [f for f in figures if f in keep]
    out = pd.DataFrame({key: table[key]})
    for f in figures:
        others = [c for c in table.columns if str(c).startswith(f + " ") and c != f"{f} median"]
        others = [c for c in others if c[len(f) + 1 :].startswith("p") or c.endswith(("low", "high"))]
        if len(others) < 2:
            continue
        lo, hi = others[0], others[-1]
        digits = "{:,.1f}" if "wait" in f and "waiting" not in f else "{:,.0f}"  # mean waits in months
        out[f] = [
            interval_text(m, a, b, digits) for m, a, b in zip(table[f"{f} median"], table[lo], table[hi])
        ]
    return out
