"""What an ensemble gives back: quantiles and means, every kept member, and their tables.

:class:`EnsembleResult` holds the summary dataset (a ``stat`` dimension: ``mean``,
``sd``, then the quantiles) and, when members were kept, every member's reduced
outputs.  Its tables show medians and outer intervals of the horizon figures:
per service for surge and capacity models, per variable and element otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._ensemble_stats import base_name, keep_dims, stat_name, unit_of
from simulator.core._atomic import atomic_path
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._results import netcdf_ready

__all__ = ["SERVICE_COLUMNS", "EnsembleResult", "elements", "member_dataset", "summary_of"]

#: columns of the per-service table: title, summary variable, text format (shown where present).
#: ``surge_*`` figures exist where the bare ones count more than the surge (a capacity model's
#: whole load, surge and pre-pandemic referrals together); the titles then say so
#: (:data:`WHOLE_LOAD_TITLES`)
SERVICE_COLUMNS = (
    ("referrals", "referrals_total", "{:,.0f}"),
    ("surge starts", "surge_starts_total", "{:,.0f}"),
    ("peak surge caseload", "surge_caseload_peak", "{:,.0f}"),
    ("starts", "starts_total", "{:,.0f}"),
    ("peak caseload", "caseload_peak", "{:,.0f}"),
    ("peak month", "caseload_peak_month", "{:.0f}"),
    ("peak contacts", "contacts_peak", "{:,.0f}"),
    ("peak waiting", "waiting_peak", "{:,.0f}"),
    ("peak waiting month", "waiting_peak_month", "{:.0f}"),
    ("peak mean wait", "mean_wait_peak", "{:.1f}"),
    ("escalations", "escalations_total", "{:,.0f}"),
)
#: titles of the table's columns when the summary also has the surge's part (``surge_*``)
WHOLE_LOAD_TITLES = {
    "referrals": "surge referrals",
    "starts": "all starts",
    "peak caseload": "peak caseload (all)",
    "peak month": "peak month (all)",
    "peak contacts": "peak contacts (all)",
}


@dataclass
class EnsembleResult:
    """Quantiles and means of an ensemble, and (if kept) every member's reduced outputs.

    Attributes
    ----------
    summary
        Dataset with a ``stat`` dimension (``mean``, ``sd``, ``p5``, ``p50`` ...):
        ``<output>`` over ``(stat, time, service)`` and ``<output>_total``,
        ``<output>_peak``, ``<output>_peak_month`` over ``(stat, service)``.
    members
        Dataset of every member's reduced outputs (dims ``time``, ``service``,
        ``member``: members last, the layout the reductions run on) and the drawn
        value of each uncertainty group (``draw``, dims ``member, factor``), or
        ``None`` if streamed.
    exact
        Whether quantiles are exact (members kept) or from the sketch.
    """

    summary: xr.Dataset
    members: xr.Dataset | None
    exact: bool
    attrs: dict[str, object] = field(default_factory=dict)

    def quantile_names(self) -> list[str]:
        """Stat labels of the quantiles, ascending.

        Returns
        -------
        list of str
            E.g. ``["p5", "p50", "p95"]``.
        """
        return [s for s in self.summary["stat"].to_numpy() if str(s).startswith("p")]

    @property
    def by_service(self) -> bool:
        """Whether the outputs are per service (surge models) rather than a model's own variables."""
        return "service" in self.summary.dims

    def table(self, services: Sequence[str] | None = None) -> pd.DataFrame:
        """Median and outer interval per service of horizon totals, peaks and peak month.

        For models that are not surge models: per variable and element, its
        total over the reported times, its peak and the time of the peak
        (``services`` then selects variables).

        Parameters
        ----------
        services
            Services (or, for other models, variables) to show; default all.

        Returns
        -------
        pandas.DataFrame
            One row per service (or variable and element): median and outer quantiles of each figure,
            totals in people, peaks in people per month, peak month in months.
        """
        qs = self.quantile_names()
        lo, hi = qs[0], qs[-1]
        s = self.summary
        if not self.by_service:
            return self._variable_table(services, lo, hi)
        svc = list(services) if services else list(s["service"].to_numpy())
        rows = []
        for name in svc:
            row: dict[str, object] = {"service": name}
            for col, var, _ in SERVICE_COLUMNS:
                if var not in s:
                    continue
                da = s[var].sel(service=name)
                row[f"{col} median"] = float(da.sel(stat="p50"))
                row[f"{col} {lo}"] = float(da.sel(stat=lo))
                row[f"{col} {hi}"] = float(da.sel(stat=hi))
            rows.append(row)
        df = pd.DataFrame(rows)
        if "referrals median" in df:
            df = df.sort_values("referrals median", ascending=False, kind="stable")
        return df.reset_index(drop=True)

    def _variable_table(self, variables: Sequence[str] | None, lo: str, hi: str) -> pd.DataFrame:
        s = self.summary
        names = [str(k)[: -len("_total")] for k in s.data_vars if str(k).endswith("_total")]
        if variables:
            names = [n for n in names if n in set(variables)]
        rows = []
        for name in names:
            for label, sel in elements(s[f"{name}_total"]):
                row: dict[str, object] = {"variable": name, "element": label}
                for col, var in (("total", "_total"), ("peak", "_peak"), ("peak time", "_peak_month")):
                    da = s[name + var].sel(sel)
                    row[f"{col} median"] = float(da.sel(stat="p50"))
                    row[f"{col} {lo}"] = float(da.sel(stat=lo))
                    row[f"{col} {hi}"] = float(da.sel(stat=hi))
                rows.append(row)
        return pd.DataFrame(rows)

    def format_table(self, services: Sequence[str] | None = None, top: int | None = None) -> str:
        """The table as text: ``median [low - high]`` per figure.

        Parameters
        ----------
        services
            Services (or variables) to show; default all.
        top
            Show only the first ``top`` rows.

        Returns
        -------
        str
        """
        df = self.table(services)
        if top:
            df = df.head(top)
        qs = self.quantile_names()
        lo, hi = qs[0], qs[-1]
        if not self.by_service:
            out = pd.DataFrame({"Variable": df["variable"], "Element": df["element"]})
            for col in ("total", "peak", "peak time"):
                out[f"{col.capitalize()} (median [{lo}-{hi}])"] = [
                    f"{m:.4g} [{a:.4g}-{b:.4g}]"
                    for m, a, b in zip(df[f"{col} median"], df[f"{col} {lo}"], df[f"{col} {hi}"])
                ]
            if not df["element"].astype(bool).any():
                out = out.drop(columns="Element")
            return out.to_string(index=False)
        out = pd.DataFrame({"Service": df["service"]})
        titles = WHOLE_LOAD_TITLES if "surge starts median" in df else {}
        for col, _, fmt in SERVICE_COLUMNS:
            if f"{col} median" not in df:
                continue
            out[f"{titles.get(col, col).capitalize()} (median [{lo}-{hi}])"] = [
                f"{fmt.format(m)} [{fmt.format(a)}-{fmt.format(b)}]"
                for m, a, b in zip(df[f"{col} median"], df[f"{col} {lo}"], df[f"{col} {hi}"])
            ]
        return out.to_string(index=False)

    def to_netcdf(self, path: str | Path) -> None:
        """Write the summary (and kept members, as ``member_<name>``) to one NetCDF file, atomically.

        Parameters
        ----------
        path
            The file to write.
        """
        ds = self.summary.copy()
        if self.members is not None:
            ds = xr.merge([ds, self.members.rename({v: f"member_{v}" for v in self.members.data_vars})])
        ds.attrs = dict(self.attrs)
        ds = netcdf_ready(ds)  # NetCDF attributes are numbers or text
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf")

    def tidy(self) -> pd.DataFrame:
        """Long table of the summary: ``variable, stat, time, service``, the stratum (if any), ``value``.

        Returns
        -------
        pandas.DataFrame
        """
        frames = []
        for v in self.summary.data_vars:
            df = self.summary[v].to_dataframe(name="value").reset_index()
            df.insert(0, "variable", v)
            frames.append(df)
        out = pd.concat(frames, ignore_index=True)
        # a stratified sweep's stratum dimension (``strata`` attribute, e.g. ``deprivation``) after time and service
        dims = [d for d in str(self.summary.attrs.get("strata", "")).split(",") if d in self.summary.dims]
        cols = ["variable", "stat", *[c for c in ("time", "service", *dims) if c in out], "value"]
        return out[[c for c in cols if c in out]]


def member_dataset(
    allv: dict[str, np.ndarray],
    outputs: Sequence[OutputDef],
    times: np.ndarray,
    coords: Mapping[str, Sequence[str]],
    values: np.ndarray,
    factors: Sequence[str],
) -> xr.Dataset:
    """Every kept member's reduced outputs (members last) and the groups' drawn values.

    Parameters
    ----------
    allv
        Kept arrays by summary name, members last.
    outputs
        The reduced outputs they belong to.
    times
        Report times (months).
    coords
        Labels of every kept dimension.
    values
        Each member's drawn value of each uncertainty group ``(M, G)``.
    factors
        The groups' names.

    Returns
    -------
    xarray.Dataset
        Dims ``time``, the kept dimensions and ``member``; ``draw`` over ``(member, factor)``.
    """
    mdata: dict[str, tuple] = {
        k: (
            ("time", *keep_dims(k, outputs), "member")
            if v.ndim == 2 + len(keep_dims(k, outputs))
            else (*keep_dims(k, outputs), "member"),
            v,
        )
        for k, v in allv.items()
    }
    members = values.shape[0]
    mcoords: dict[str, object] = {
        "member": np.arange(members),
        "time": times,
        **{d: list(v) for d, v in coords.items()},
    }
    if values.shape[1]:
        mdata["draw"] = (("member", "factor"), values)
        mcoords["factor"] = list(factors)
    return xr.Dataset(mdata, coords=mcoords)


def summary_of(
    model: Model,
    stats: dict[str, np.ndarray],
    outputs: Sequence[OutputDef],
    quantiles: Sequence[float],
    times: np.ndarray,
    coords: Mapping[str, Sequence[str]],
) -> xr.Dataset:
    """The summary dataset, with calendar dates and the data the model reports beside a run.

    Parameters
    ----------
    model
        The model (its start date and :meth:`~simulator.core.Model.reported_data`).
    stats
        Summary variable -> ``(stat, [time,] *keep)`` statistics (mean, sd, quantiles).
    outputs
        The reduced outputs they belong to.
    quantiles
        Quantiles in ``[0, 1]`` (the stat labels ``p5``, ``p50`` ...).
    times
        Report times (months).
    coords
        Labels of every kept dimension.

    Returns
    -------
    xarray.Dataset
        One variable per statistic, each with its unit (``units`` attribute), a
        ``date`` coordinate if the model has a start date, and what the model
        reports beside a run.
    """
    data = {}
    for k, arr in stats.items():
        keep = keep_dims(k, outputs)
        dims = ("stat", "time", *keep) if arr.ndim == 2 + len(keep) else ("stat", *keep)
        data[k] = (dims, arr, {"units": unit_of(k, outputs), "computed_from": _source(k, outputs)})
    crd: dict[str, object] = {"stat": ["mean", "sd", *[stat_name(q) for q in quantiles]], "time": times}
    crd.update({d: list(v) for d, v in coords.items()})
    summary = xr.Dataset(data, coords=crd)
    if model.spec.start:
        months_td = np.round(times).astype("int64").astype("timedelta64[M]")
        dates = (np.datetime64(model.spec.start, "M") + months_td).astype("datetime64[ns]")
        summary = summary.assign_coords(date=("time", dates))
    reported = model.reported_data(times)
    for k, (dims, arr, attrs) in reported.items():
        summary[k] = xr.DataArray(arr, dims=dims, attrs=attrs)
    return summary


def _source(k: str, outputs: Sequence[OutputDef]) -> str:
    """What summary variable ``k`` is computed from: the model quantities summed, or a ratio.

    Exports carry it (``computed_from``), so two figures' definitions can be told apart (a
    capacity model's ``starts`` add pre-pandemic starts to the surge's ``surge_starts``).
    """
    o = next(o for o in outputs if o.name == base_name(k))
    if o.ratio:
        return f"{o.ratio[0]} / {o.ratio[1]} (outputs of this ensemble, member by member)"
    return " + ".join(o.variables) + (f", summed over all but {', '.join(o.keep)}" if o.keep else "")


def elements(da: xr.DataArray, skip: Sequence[str] = ("stat", "time", "member")) -> list[tuple[str, dict]]:
    """``(label, selection)`` of every element of ``da`` over its dimensions other than ``skip``.

    Parameters
    ----------
    da
        A summary or members variable.
    skip
        Dimensions that are not elements.

    Returns
    -------
    list of tuple
        ``(label, {dim: label})`` per element (labels joined by ``", "``); a scalar
        output has one element, labelled ``""``.
    """
    dims = [d for d in da.dims if d not in skip]
    if not dims:
        return [("", {})]
    labels = [[str(v) for v in da[d].to_numpy()] for d in dims]
    return [(", ".join(combo), dict(zip(dims, combo))) for combo in product(*labels)]
