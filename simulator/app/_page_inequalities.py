"""The Inequalities page: gaps between strata (deprivation, ethnic group ...) of a stratified model.

For a stratified model (``england-imd``, ``england-ethnicity`` or any model with strata) the
page runs an ensemble in the background and shows access, experience and outcome rates per
stratum with the slope index of inequality (:func:`simulator.analysis.run_equity`,
:func:`simulator.report.plot_gradient`, :func:`simulator.report.plot_sii_over_time`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shiny import reactive, render, ui

from simulator.app._state import MEMBER_CAP, AppState, cap_members, ensemble_design
from simulator.app._widgets import task_status
from simulator.core._model import Model

if TYPE_CHECKING:  # the equity engine is imported when a run starts
    from simulator.analysis._equity_metrics import EquityResult

__all__ = ["equity_run", "page", "server", "stratified"]


def stratified(model: Model) -> bool:
    """Whether the model divides its population into strata.

    Parameters
    ----------
    model
        Any model.

    Returns
    -------
    bool
    """
    return bool(model.strata)


def equity_run(model: Model, members: int) -> EquityResult:
    """Equity metrics of a stratified model over an ensemble of the app's design.

    Parameters
    ----------
    model
        A stratified model.
    members
        Members (already capped).

    Returns
    -------
    EquityResult
        Rates per stratum (per 100,000 people) by month and over the horizon, per member.
    """
    from simulator.analysis._equity_run import run_equity

    design, _ = ensemble_design(model)
    return run_equity(model, design, members=members, seed=2020)


def page():
    """The page's layout (a navigation panel)."""
    sidebar = ui.sidebar(
        ui.input_numeric("q_members", f"Members (up to {MEMBER_CAP:,})", value=100, min=1, max=MEMBER_CAP),
        ui.input_task_button("q_run", "Measure the gaps", label_busy="Running..."),
        ui.output_ui("q_status"),
        width=320,
    )
    body = ui.div(
        ui.output_ui("q_note"),
        ui.card(
            ui.card_header("Rates per stratum and the slope index"),
            ui.output_plot("q_gradient", height="420px"),
        ),
        ui.card(ui.card_header("The slope index over time"), ui.output_plot("q_sii", height="360px")),
        ui.card(
            ui.card_header("Gaps (median and 95% interval over members)"), ui.output_data_frame("q_table")
        ),
    )
    return ui.nav_panel("Inequalities", ui.layout_sidebar(sidebar, body), value="inequalities")


def server(input, output, session, st: AppState) -> None:
    """The page's behaviour."""
    msg: reactive.Value[str] = reactive.value("")

    @reactive.extended_task
    async def task(model: Model, members: int) -> EquityResult:
        return await asyncio.to_thread(equity_run, model, members)

    @reactive.effect
    @reactive.event(input.q_run)
    def _run():
        if not stratified(st.model()):
            msg.set("this model has no strata: load england-imd or england-ethnicity on the Model page")
            return
        members, note = cap_members(input.q_members())
        msg.set(note or "")
        task(st.model(), members)

    @render.ui
    def q_note():
        if stratified(st.model()):
            return ui.div()
        return ui.div(
            "This model has no strata. Load 'england-imd' (deprivation quintiles) or 'england-ethnicity' "
            "on the Model page, or a model with a strata sheet.",
            class_="alert alert-info",
            id="q-none",
        )

    @render.ui
    def q_status():
        return task_status(task, msg(), failed="The run failed", done="Finished", done_id="q-done")

    @render.plot(alt="Rates per stratum with the fitted slope of inequality")
    def q_gradient():
        from simulator.report._equity_plots import plot_gradient

        return plot_gradient(task.result()) if task.status() == "success" else None

    @render.plot(alt="The slope index of inequality per month with its interval")
    def q_sii():
        from simulator.report._equity_plots import plot_sii_over_time

        return plot_sii_over_time(task.result()) if task.status() == "success" else None

    @render.data_frame
    def q_table():
        if task.status() != "success":
            return None
        return render.DataGrid(task.result().table().round(3), width="100%")
