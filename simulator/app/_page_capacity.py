"""The Capacity page: waiting lists, the share waiting over 18 weeks and escalations, for capacity models.

A capacity model (such as the built-in ``england-capacity``) limits how many people
a service can start each month; people beyond it wait.  For other models the page
says so and how to load one.
"""

from __future__ import annotations

import pandas as pd
import xarray as xr
from shiny import reactive, render, ui

from simulator.app._state import AppState
from simulator.surge._waiting import capacity_summary, has_capacity

__all__ = ["capacity_services", "capacity_table", "page", "server"]


def capacity_services(ds: xr.Dataset) -> list[str]:
    """The services with a waiting list, longest peak list first.

    Parameters
    ----------
    ds
        Results of one run.

    Returns
    -------
    list of str
        Empty when the model has no capacity limits.
    """
    if not has_capacity(ds):
        return []
    return [str(s) for s in capacity_summary(ds)["service"]]


def capacity_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per capacitated service: peak waiting list and month, waits, share over 18 weeks, escalations.

    Parameters
    ----------
    ds
        Results of one run of a capacity model.

    Returns
    -------
    pandas.DataFrame
        :func:`simulator.surge.capacity_summary`, rounded for reading.
    """
    t = capacity_summary(ds)
    return t.round(
        {c: 2 if "share" in c or "utilisation" in c else 1 for c in t.columns if t[c].dtype.kind == "f"}
    )


def page():
    """The page's layout (a navigation panel)."""
    sidebar = ui.sidebar(ui.input_select("c_service", "Service", choices=[]), width=320)
    body = ui.div(
        ui.output_ui("c_note"),
        ui.card(
            ui.card_header("Waiting list, starts and capacity"), ui.output_plot("c_plot", height="380px")
        ),
        ui.card(ui.card_header("Capacity pressure per service"), ui.output_data_frame("c_table")),
    )
    return ui.nav_panel("Capacity", ui.layout_sidebar(sidebar, body), value="capacity")


def server(input, output, session, st: AppState, run) -> None:
    """The page's behaviour; ``run`` is the session's deterministic run."""

    @reactive.calc
    def services() -> list[str]:
        return capacity_services(run())

    shown: list[list[str]] = [[]]

    @reactive.effect
    def _fill():
        svc = services()
        if svc == shown[0]:
            return
        shown[0] = svc
        with reactive.isolate():
            keep = input.c_service() if input.c_service() in svc else (svc[0] if svc else None)
        ui.update_select("c_service", choices=svc, selected=keep)

    @render.ui
    def c_note():
        if services():
            return ui.div()
        return ui.div(
            "This model has no service capacity, so nobody waits. Load the built-in model "
            "'england-capacity' on the Model page (or upload a workbook with a capacity sheet).",
            class_="alert alert-info",
            id="c-none",
        )

    @render.plot(alt="Waiting list by time waited, starts against capacity, and escalations per month")
    def c_plot():
        from simulator.report._plots import plot_waiting

        svc = input.c_service()
        if not svc or svc not in services():
            return None
        return plot_waiting(run(), services=[svc])

    @render.data_frame
    def c_table():
        if not services():
            return pd.DataFrame()
        return render.DataGrid(capacity_table(run()), width="100%")
