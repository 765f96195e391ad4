"""The surge table per service: what a capacity planner reads first.

For each service, over the reporting months of a run:

* **referrals**: total surge referrals (sum of monthly ``new_referral``);
* **starts**: total surge referrals starting treatment (``new_treatment``; in a
  capacity model also those starting from the waiting list);
* **peak caseload** and the month it peaks (people in the service from the surge);
* **peak contacts**: the highest monthly contacts the surge caseload needs;
* **surge % of underlying**: total surge referrals as a percentage of the
  service's underlying (pre-pandemic) referrals in the first 12 months of the
  demand sheet: the surge model's "Surge Demand" figure.  Empty when the sheet
  has no underlying referrals for the service.

Sorted by referrals, largest first, as the surge model's own table.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["SUMMARY_COLUMNS", "format_summary", "surge_summary"]

SUMMARY_COLUMNS = {
    "service": "Service",
    "referrals": "Referrals",
    "starts": "Starting treatment",
    "peak_caseload": "Peak caseload",
    "peak_month": "Peak month",
    "peak_date": "Peak date",
    "peak_contacts": "Peak contacts/month",
    "surge_pct_underlying": "Surge % of underlying (yr 1)",
}


def _by_service(da: xr.DataArray) -> xr.DataArray:
    extra = [d for d in da.dims if d not in ("member", "time", "service")]
    return da.sum(extra) if extra else da


def surge_summary(ds: xr.Dataset, member: int | None = 0) -> pd.DataFrame:
    """The surge table per service for one member (or the member mean with ``member=None``).

    Parameters
    ----------
    ds
        Results of a surge model run (needs ``new_referral``, ``new_treatment``,
        ``treatment``; ``contacts`` and ``underlying`` when present).
    member
        Which ensemble member to summarise; ``None`` averages members first.

    Returns
    -------
    pandas.DataFrame
        One row per service, largest referrals first: ``referrals`` and ``starts``
        (people over the run), ``peak_caseload`` (people) and ``peak_month``, and
        where the data allow ``peak_date``, ``peak_contacts`` (contacts per month)
        and ``surge_pct_underlying`` (%).
    """
    one = ds.mean("member") if member is None else ds.isel(member=member)
    ref = _by_service(one["new_referral"])
    # capacity models split starts: at once to unlimited services, at once to capacitated
    # ones with capacity to spare, and from the waiting list
    starts = cast(
        xr.DataArray, sum(_by_service(one[v]) for v in ("new_treatment", "accepted_now", "start") if v in one)
    )
    case = _by_service(one["treatment"])
    peak_idx = case.argmax("time").to_numpy()
    times = one["time"].to_numpy()
    out = pd.DataFrame(
        {
            "service": one["service"].to_numpy().astype(str),
            "referrals": ref.sum("time").to_numpy(),
            "starts": starts.sum("time").to_numpy(),
            "peak_caseload": case.max("time").to_numpy(),
            "peak_month": times[peak_idx].astype(int),
        }
    )
    if "date" in one.coords:
        out["peak_date"] = pd.to_datetime(one["date"].to_numpy()[peak_idx]).strftime("%Y-%m")
    if "contacts" in one:
        out["peak_contacts"] = _by_service(one["contacts"]).max("time").to_numpy()
    if "underlying" in one:
        year1 = one["underlying"].isel(time=slice(0, 12))
        denom = year1.sum("time", min_count=1).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(denom > 0, out["referrals"].to_numpy() / denom * 100.0, np.nan)
        out["surge_pct_underlying"] = pct
    return out.sort_values("referrals", ascending=False, kind="stable").reset_index(drop=True)


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
    cols = [c for c in SUMMARY_COLUMNS if c in d.columns]
    fmt: dict[str, object] = {}
    for c in ("referrals", "starts", "peak_caseload", "peak_contacts"):
        fmt[c] = lambda v: f"{v:,.0f}"
    fmt["surge_pct_underlying"] = lambda v: "n/a" if pd.isna(v) else f"{v:.1f}%"
    fmt["peak_month"] = lambda v: f"{int(v)}"
    text = (
        d[cols]
        .rename(columns=SUMMARY_COLUMNS)
        .to_string(
            index=False,
            formatters={SUMMARY_COLUMNS[k]: f for k, f in fmt.items() if k in cols},
            justify="right",
            na_rep="n/a",
        )
    )
    return text
