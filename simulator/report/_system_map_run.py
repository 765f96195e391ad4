"""The run a system map reads: the flows at one reported month, and that month as a date."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from simulator.core._model import Model

__all__ = ["graph_date", "pick_month", "run_for_map"]


def run_for_map(model: Model, record: Sequence[str], results: xr.Dataset | None, dt: float | None):
    """The run the map reads: ``results`` if it records ``record``, else a fresh deterministic run.

    Parameters
    ----------
    model
        The model.
    record
        Variables the map needs (flows and stocks).
    results
        A run given by the caller, or ``None``.
    dt
        Integration step for a fresh run, months.

    Returns
    -------
    xarray.Dataset
        Those variables, the mean over members if the run has several.
    """
    if results is not None and all(v in results for v in record):
        ds = results
    else:  # none given, or not recording what the map needs: one deterministic run (milliseconds)
        from simulator.core._run import simulate

        ds = simulate(model, dt=dt, record=list(record))
    ds = ds[list(record)]
    return ds.mean("member") if "member" in ds.dims else ds


def pick_month(ds: xr.Dataset, month: float | None, totals: xr.DataArray) -> float:
    """The month asked for, checked against the reported months, or the month of the largest flows.

    Parameters
    ----------
    ds
        The run.
    month
        The month asked for, or ``None``.
    totals
        Total flow shown per reported time.

    Returns
    -------
    float
        A reported time.

    Raises
    ------
    ValueError
        If ``month`` is not a reported time, naming the allowed range.
    """
    times = ds["time"].to_numpy()
    if month is None:
        return float(times[int(np.argmax(totals.to_numpy()))])
    hit = np.flatnonzero(np.isclose(times, float(month)))
    if not len(hit):
        step = f" in steps of {times[1] - times[0]:g}" if len(times) > 1 else ""
        raise ValueError(
            f"month {float(month):g} is not a reported month of this run: allowed {times[0]:g} to "
            f"{times[-1]:g}{step}"
        )
    return float(times[hit[0]])


def graph_date(ds: xr.Dataset, month: float) -> str:
    """The reported month as text (``"Feb 2021"``), or ``""`` without dates.

    Parameters
    ----------
    ds
        The run.
    month
        A reported time.

    Returns
    -------
    str
    """
    if "date" not in ds.coords:
        return ""
    return pd.Timestamp(ds["date"].sel(time=month).item()).strftime("%b %Y")
