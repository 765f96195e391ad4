"""The surge table per service: what a capacity planner reads first.

For each service, over the reporting months of a run:

* **referrals**: total surge referrals (sum of monthly ``new_referral``);
* **starts**: total treatment starts;
* **peak caseload** and the month it peaks (people in treatment);
* **peak contacts**: the highest monthly contacts the caseload needs;
* **surge % of underlying**: total surge referrals as a percentage of the
  service's underlying (pre-pandemic) referrals in the first 12 months of the
  demand sheet: the surge model's "Surge Demand" figure.  Empty when the sheet
  has no underlying referrals for the service.

Each figure has the definition of the ensemble output of the same name
(:mod:`simulator.surge._surge_outputs`), so ``summary`` and ``sweep`` agree: in a
surge model everything is the surge's; in a capacity model ``starts``, ``peak_caseload``
and ``peak_contacts`` are the **whole load** (surge and pre-pandemic referrals
together) and the surge's part is ``surge_starts``, ``peak_surge_caseload`` (peaking in
``surge_peak_month``) and ``peak_surge_contacts``.

Sorted by referrals, largest first, as the surge model's own table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from simulator.core._outputs import OutputDef
from simulator.surge._surge_outputs import CAPACITY_OUTPUTS, SURGE_OUTPUTS

__all__ = ["SUMMARY_COLUMNS", "SUMMARY_FIGURES", "format_summary", "surge_summary"]

SUMMARY_COLUMNS = {
    "service": "Service",
    "referrals": "Referrals",
    "surge_starts": "Surge starts",
    "peak_surge_caseload": "Peak surge caseload",
    "surge_peak_month": "Surge peak month",
    "surge_peak_date": "Surge peak date",
    "peak_surge_contacts": "Peak surge contacts/month",
    "starts": "Starting treatment",
    "peak_caseload": "Peak caseload",
    "peak_month": "Peak month",
    "peak_date": "Peak date",
    "peak_contacts": "Peak contacts/month",
    "surge_pct_underlying": "Surge % of underlying (yr 1)",
}
#: titles of a capacity model's whole-load columns (surge and pre-pandemic referrals together)
WHOLE_LOAD_COLUMNS = {
    "referrals": "Surge referrals",
    "starts": "All starts",
    "peak_caseload": "Peak caseload (all)",
    "peak_date": "Peak date (all)",
    "peak_contacts": "Peak contacts/month (all)",
}
#: each column and the ensemble figure (``sweep``, ``compare``) with the same definition
SUMMARY_FIGURES = {
    "referrals": "referrals_total",
    "starts": "starts_total",
    "peak_caseload": "caseload_peak",
    "peak_month": "caseload_peak_month",
    "peak_contacts": "contacts_peak",
    "surge_starts": "surge_starts_total",
    "peak_surge_caseload": "surge_caseload_peak",
    "surge_peak_month": "surge_caseload_peak_month",
    "peak_surge_contacts": "surge_contacts_peak",
}


def _output(one: xr.Dataset, outputs: Sequence[OutputDef], name: str) -> xr.DataArray | None:
    """Output ``name`` per service and month, summed as the ensemble sums it (``None``: not recorded)."""
    found = [o for o in outputs if o.name == name]
    present = [v for v in found[0].variables if v in one] if found else []
    if not present:
        return None
    total = None
    for v in present:
        da = one[v]
        extra = [d for d in da.dims if d not in ("time", "service")]
        da = da.sum(extra) if extra else da
        total = da if total is None else total + da
    return total


def _peaks(
    out: pd.DataFrame, one: xr.Dataset, series: xr.DataArray, prefix: str, month: str, date: str
) -> None:
    """Add ``<prefix>`` (the peak) and the month (and date) it comes in."""
    idx = series.argmax("time").to_numpy()
    out[prefix] = series.max("time").to_numpy()
    out[month] = one["time"].to_numpy()[idx].astype(int)
    if "date" in one.coords:
        out[date] = pd.to_datetime(one["date"].to_numpy()[idx]).strftime("%Y-%m")


def surge_summary(ds: xr.Dataset, member: int | None = 0) -> pd.DataFrame:
    """The surge table per service for one member (or the member mean with ``member=None``).

    Parameters
    ----------
    ds
        Results of a surge model run (needs ``new_referral``, the treatment starts and
        ``treatment``; ``contacts`` and ``underlying`` when present).
    member
        Which ensemble member to summarise; ``None`` averages members first.

    Returns
    -------
    pandas.DataFrame
        One row per service, largest referrals first: ``referrals`` and ``starts``
        (people over the run), ``peak_caseload`` (people) and ``peak_month``, and
        where the data allow ``peak_date``, ``peak_contacts`` (contacts per month)
        and ``surge_pct_underlying`` (%).  For a capacity model ``starts``,
        ``peak_caseload`` and ``peak_contacts`` count the whole load, and
        ``surge_starts``, ``peak_surge_caseload``, ``surge_peak_month`` (and
        ``surge_peak_date``) and ``peak_surge_contacts`` the surge's part (see the
        module notes); each column is the ensemble figure of :data:`SUMMARY_FIGURES`.
    """
    one = ds.mean("member") if member is None else ds.isel(member=member)
    capacity = "background_treatment" in one
    outputs = CAPACITY_OUTPUTS if capacity else SURGE_OUTPUTS
    series = {name: _output(one, outputs, name) for name in ("referrals", "starts", "caseload", "contacts")}
    out = pd.DataFrame({"service": one["service"].to_numpy().astype(str)})
    out["referrals"] = _need(series["referrals"], "new_referral").sum("time").to_numpy()
    if capacity:
        surge = {k: _output(one, outputs, f"surge_{k}") for k in ("starts", "caseload", "contacts")}
        out["surge_starts"] = _need(surge["starts"], "the treatment starts").sum("time").to_numpy()
        caseload = _need(surge["caseload"], "treatment")
        _peaks(out, one, caseload, "peak_surge_caseload", "surge_peak_month", "surge_peak_date")
        if surge["contacts"] is not None:
            out["peak_surge_contacts"] = surge["contacts"].max("time").to_numpy()
    out["starts"] = _need(series["starts"], "the treatment starts").sum("time").to_numpy()
    _peaks(out, one, _need(series["caseload"], "treatment"), "peak_caseload", "peak_month", "peak_date")
    if series["contacts"] is not None:
        out["peak_contacts"] = series["contacts"].max("time").to_numpy()
    if "underlying" in one:
        year1 = one["underlying"].isel(time=slice(0, 12))
        denom = year1.sum("time", min_count=1).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(denom > 0, out["referrals"].to_numpy() / denom * 100.0, np.nan)
        out["surge_pct_underlying"] = pct
    return out.sort_values("referrals", ascending=False, kind="stable").reset_index(drop=True)


def _thousands(v: float) -> str:
    return f"{v:,.0f}"


def _need(da: xr.DataArray | None, what: str) -> xr.DataArray:
    if da is None:
        raise ValueError(f"these results lack {what}: the surge table needs a surge model run")
    return da


def format_summary(df: pd.DataFrame, top: int | None = None) -> str:
    """The table as aligned text with readable headers and thousands separators.

    Parameters
    ----------
    df
        A table from :func:`surge_summary`.
    top
        Show only the first ``top`` services (``None``: all).

    Returns
    -------
    str
        The table as text.
    """
    d = df.head(top) if top else df
    titles = dict(SUMMARY_COLUMNS)
    cols = [c for c in SUMMARY_COLUMNS if c in d.columns]
    if "surge_starts" in d.columns:  # a capacity model: say which columns add pre-pandemic load
        titles.update(WHOLE_LOAD_COLUMNS)
        cols = [c for c in cols if not (c.endswith("peak_month") and c.replace("month", "date") in cols)]
    people = ("referrals", "starts", "peak_caseload", "peak_contacts")
    fmt: dict[str, object] = {c: _thousands for c in (*people, "surge_starts")}
    fmt.update({c: _thousands for c in ("peak_surge_caseload", "peak_surge_contacts")})
    fmt["surge_pct_underlying"] = lambda v: "n/a" if pd.isna(v) else f"{v:.1f}%"
    fmt["peak_month"] = fmt["surge_peak_month"] = lambda v: f"{int(v)}"
    return (
        d[cols]
        .rename(columns=titles)
        .to_string(
            index=False,
            formatters={titles[k]: f for k, f in fmt.items() if k in cols},
            justify="right",
            na_rep="n/a",
        )
    )
