"""The Results page: one service's referrals, caseload and contacts, surge tables, ensemble fan charts.

The deterministic run follows every edit at once (England runs in tens of
milliseconds); an ensemble runs in a background thread (an ExtendedTask), so the
page, and every other session, keeps answering while it runs and shows how many
members are done (Shiny's progress bar and a line in the sidebar).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shiny import reactive, render, ui

from simulator.app._state import MEMBER_CAP, AppState, cap_members, ensemble_design
from simulator.core._model import Model
from simulator.surge._surge_model import SurgeModel

if TYPE_CHECKING:  # the ensemble engine is imported when an ensemble starts
    from simulator.analysis._ensemble_result import EnsembleResult

__all__ = ["ENSEMBLE_SEED", "FAN_OUTPUTS", "band_summary", "page", "run_members", "server", "services_of"]

#: seed of the app's ensembles (a fixed seed: the same members give the same bands)
ENSEMBLE_SEED = 2020
#: outputs a fan chart can show: name -> words
FAN_OUTPUTS = {
    "referrals": "Referrals per month",
    "caseload": "Caseload (people)",
    "contacts": "Contacts per month",
}


def services_of(model: Model) -> list[str]:
    """The model's services (empty for models without a service dimension).

    Parameters
    ----------
    model
        Any model.

    Returns
    -------
    list of str
    """
    return [str(s) for s in model.spec.dims.get("service", [])]


def run_members(
    model: Model, members: int, progress: Callable[[int, int], None] | None = None
) -> EnsembleResult:
    """An ensemble of ``model`` with the app's design (:func:`~simulator.app._state.ensemble_design`).

    Parameters
    ----------
    model
        The session's model.
    members
        Members (already capped).
    progress
        Told ``(members done, members)`` as chunks finish (called from the running thread).

    Returns
    -------
    EnsembleResult
        Quantiles over members of referrals, caseload and contacts per service per month.
    """
    from simulator.analysis._ensembles import run_ensemble

    design, note = ensemble_design(model)
    return run_ensemble(
        model,
        design,
        members=members,
        seed=ENSEMBLE_SEED,
        sampler="lhs",
        name=f"{model.name}: {note}",
        progress=progress or False,
    )


def band_summary(result: EnsembleResult, service: str, output: str = "referrals") -> dict[str, float]:
    """The ensemble's 5th, 50th and 95th percentiles of ``output`` over the horizon for one service.

    Parameters
    ----------
    result
        An ensemble (:func:`run_members`).
    service
        The service.
    output
        ``referrals`` or ``contacts`` (totals over the horizon) or ``caseload`` (its peak).

    Returns
    -------
    dict
        ``{"p5": ..., "p50": ..., "p95": ...}`` (people, or contacts).
    """
    name = f"{output}_peak" if output == "caseload" else f"{output}_total"
    da = result.summary[name].sel(service=service)
    return {q: float(da.sel(stat=q)) for q in ("p5", "p50", "p95")}


def page():
    """The page's layout (a navigation panel)."""
    sidebar = ui.sidebar(
        ui.input_select("r_service", "Service", choices=[]),
        ui.input_select("r_table_by", "Surge table by", choices=["service", "group", "condition"]),
        ui.hr(),
        ui.input_numeric(
            "r_members", f"Ensemble members (up to {MEMBER_CAP:,})", value=500, min=1, max=MEMBER_CAP
        ),
        ui.input_task_button("r_run", "Run ensemble", label_busy="Running ensemble..."),
        ui.output_ui("r_progress"),
        ui.input_select("r_output", "Fan chart of", choices=FAN_OUTPUTS),
        width=320,
    )
    body = ui.div(
        ui.card(
            ui.card_header("Deterministic run (follows every edit)"),
            ui.output_plot("r_service_plot", height="330px"),
        ),
        ui.card(ui.card_header("Ensemble"), ui.output_ui("r_fan_box")),
        ui.card(
            ui.card_header("Surge table (surge referrals over the horizon)"), ui.output_data_frame("r_table")
        ),
        ui.card(ui.card_header("Surge table per service"), ui.output_data_frame("r_summary")),
    )
    return ui.nav_panel("Results", ui.layout_sidebar(sidebar, body), value="results")


def server(input, output, session, st: AppState, run) -> None:
    """The page's behaviour; ``run`` is the session's deterministic run (a reactive calc)."""
    _deterministic(input, st, run)
    _ensemble(input, session, st)


def _deterministic(input, st: AppState, run) -> None:
    """The service chart and the surge tables, following every edit."""

    @reactive.effect
    def _services():
        st.loaded()  # edits never change the services
        with reactive.isolate():
            svc = services_of(st.model())
        with reactive.isolate():
            keep = input.r_service() if input.r_service() in svc else (svc[0] if svc else None)
        ui.update_select("r_service", choices=svc, selected=keep)

    @render.plot(alt="Referrals, caseload and contacts of the chosen service per month")
    def r_service_plot():
        from simulator.app._app_figures import service_figure  # matplotlib, once a chart is drawn

        svc = input.r_service()
        if not svc or svc not in services_of(st.model()) or not isinstance(st.model(), SurgeModel):
            return None
        return service_figure(run(), svc)

    @render.data_frame
    def r_table():
        from simulator.app._app_figures import surge_by

        if not isinstance(st.model(), SurgeModel):
            return None
        return render.DataGrid(surge_by(run(), input.r_table_by()), height="320px", width="100%")

    @render.data_frame
    def r_summary():
        from simulator.surge._summary import surge_summary

        if not isinstance(st.model(), SurgeModel):
            return None
        return render.DataGrid(surge_summary(run()).round(1), height="320px", width="100%")


def _progress_words(done: int, total: int, seconds: float) -> str:
    """What the page says while an ensemble runs: members done of all, and the time so far."""
    return f"Running the ensemble: {done:,} / {total:,} members done ({seconds:.0f} s so far)"


def _ensemble(input, session, st: AppState) -> None:
    """The ensemble: run in a background thread, members done shown while it runs, then fan charts."""
    started: dict[str, float] = {}
    note: reactive.Value[str] = reactive.value("")

    @reactive.extended_task
    async def ensemble_task(model: Model, members: int) -> EnsembleResult:
        started["done"] = 0

        def tick(done: int, total: int) -> None:  # the worker thread only writes a number
            started["done"] = done

        job = asyncio.ensure_future(asyncio.to_thread(run_members, model, members, tick))
        with ui.Progress(min=0, max=max(members, 1), session=session) as bar:
            while not job.done():
                done = int(started.get("done", 0))
                elapsed = time.monotonic() - started.get("t", time.monotonic())
                bar.set(
                    done, message="Ensemble", detail=f"{done:,} / {members:,} members done ({elapsed:.0f} s)"
                )
                await asyncio.wait({job}, timeout=0.25)
        return job.result()

    @reactive.effect
    @reactive.event(input.r_run)
    def _start():
        members, msg = cap_members(input.r_members())
        note.set(msg or "")
        started.update(t=time.monotonic(), members=members, done=0)
        st.ensemble.set(None)
        ensemble_task(st.model(), members)

    @reactive.effect
    def _finished():
        if ensemble_task.status() == "success":
            started["seconds"] = time.monotonic() - started.get("t", time.monotonic())
            with reactive.isolate():
                st.ensemble.set(ensemble_task.result())

    @render.ui
    def r_progress():
        status, msg, n = ensemble_task.status(), note(), int(started.get("members", 0))
        parts = [ui.div(msg, class_="alert alert-warning", id="r-cap-message")] if msg else []
        if status == "running":
            reactive.invalidate_later(0.5)
            done = int(started.get("done", 0))
            elapsed = time.monotonic() - started.get("t", time.monotonic())
            parts.append(ui.p(_progress_words(done, n, elapsed), id="r-running"))
            parts.append(ui.tags.progress(value=str(done), max=str(max(n, 1)), class_="w-100"))
        elif status == "error":
            parts.append(ui.div(f"The ensemble failed: {ensemble_task.error()}", class_="alert alert-danger"))
        elif status == "success":
            parts.append(
                ui.p(f"Ensemble of {n:,} members finished in {started.get('seconds', 0):.1f} s", id="r-done")
            )
        return ui.div(*parts)

    @render.ui
    def r_fan_box():
        res = st.ensemble()
        if res is None:
            return ui.p("Run an ensemble to see the range of results (fan charts).")
        svc, out = input.r_service(), input.r_output()
        text = ""
        if svc and f"{out}_total" in getattr(res, "summary", {}):
            b = band_summary(res, svc, out)
            what = "peak caseload" if out == "caseload" else f"{out} over the horizon"
            text = f"{svc}: {what} between {b['p5']:,.0f} and {b['p95']:,.0f} in 90% of members (median {b['p50']:,.0f})"
        return ui.div(ui.p(text, id="r-band"), ui.output_plot("r_fan", height="420px"))

    @render.plot(alt="Fan chart: median and bands of the ensemble for the chosen service")
    def r_fan():
        from simulator.report._ensemble_plots import plot_fan

        res, svc = st.ensemble(), input.r_service()
        if res is None or not svc:
            return None
        return plot_fan(res, services=[svc], output=input.r_output())
