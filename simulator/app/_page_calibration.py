"""The Calibration page: a calibration from ``calibration/`` fitted in the background, observed against fitted.

Each calibration file names its model, priors, observed data and held-out years
(:func:`simulator.files.load_calibration`); the page runs it (SMC by default) with
the particles the user chooses, shows progress generation by generation, the
posterior table and the observed values against the predictive bands, held-out
years shaded (:func:`simulator.report.plot_calibration_fit`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from shiny import reactive, render, ui

from simulator.app._state import AppState

if TYPE_CHECKING:  # the calibration engine (scipy) is imported when a fit starts
    from simulator.analysis._calibrate import Calibration

__all__ = ["PARTICLE_CAP", "calibration_files", "fit", "page", "server"]

#: most particles the app fits with (illustrative assumption: 2,000 particles of England take
#: about 25 s on a 2-core machine; the command line has no cap)
PARTICLE_CAP = 2000


def calibration_files() -> dict[str, str]:
    """Calibrations shipped with Upstream: path -> name shown.

    Returns
    -------
    dict
        ``{".../calibration/england-iapt.yaml": "england-iapt", ...}``.
    """
    root = Path(__file__).resolve().parents[2] / "calibration"
    return {str(p): p.stem for p in sorted(root.glob("*.yaml"))}


def fit(path: str, particles: int, progress=None) -> Calibration:
    """Fit one calibration file by SMC.

    Parameters
    ----------
    path
        A calibration file.
    particles
        Particles per generation (1 to :data:`PARTICLE_CAP`).
    progress
        Called after each generation with its diagnostics.

    Returns
    -------
    Calibration
    """
    from simulator.analysis._calibrate import calibrate
    from simulator.files._calibration_spec import load_calibration

    spec = load_calibration(path)
    particles = max(50, min(int(particles), PARTICLE_CAP))
    return calibrate(spec.problem, "smc", particles=particles, seed=1, progress=progress)


def page():
    """The page's layout (a navigation panel)."""
    sidebar = ui.sidebar(
        ui.input_select("k_file", "Calibration", choices=calibration_files()),
        ui.input_numeric(
            "k_particles", f"Particles (50 to {PARTICLE_CAP:,})", value=500, min=50, max=PARTICLE_CAP
        ),
        ui.input_task_button("k_run", "Fit", label_busy="Fitting..."),
        ui.output_ui("k_status"),
        width=320,
    )
    body = ui.div(
        ui.card(
            ui.card_header("Observed against fitted (held-out years shaded)"),
            ui.output_plot("k_fit", height="420px"),
        ),
        ui.card(ui.card_header("Posterior of the fitted parameters"), ui.output_data_frame("k_table")),
    )
    return ui.nav_panel("Calibration", ui.layout_sidebar(sidebar, body), value="calibration")


def server(input, output, session, st: AppState) -> None:
    """The page's behaviour."""
    generations: list[dict] = []

    @reactive.extended_task
    async def task(path: str, particles: int) -> Calibration:
        return await asyncio.to_thread(fit, path, particles, generations.append)

    @reactive.effect
    @reactive.event(input.k_run)
    def _run():
        generations.clear()
        task(input.k_file(), int(input.k_particles() or 500))

    @render.ui
    def k_status():
        s = task.status()
        if s == "running":
            reactive.invalidate_later(0.5)
            done = len(generations)
            last = generations[-1] if generations else {}
            temp = last.get("temperature", last.get("beta"))
            extra = f", tempering {float(temp):.2f} of 1" if isinstance(temp, int | float) else ""
            return ui.div(
                ui.p(f"Fitting: {done} generation{'s' if done != 1 else ''} done{extra}"),
                ui.tags.progress(class_="w-100"),
            )
        if s == "error":
            return ui.div(f"The fit failed: {task.error()}", class_="alert alert-danger")
        if s == "success":
            return ui.p(f"Fitted in {len(generations)} generations", id="k-done")
        return ui.div()

    @render.plot(alt="Observed values against the calibrated and uncalibrated predictive bands")
    def k_fit():
        from simulator.report._calibration_plots import plot_calibration_fit

        if task.status() != "success":
            return None
        return plot_calibration_fit(task.result(), n=500)

    @render.data_frame
    def k_table():
        if task.status() != "success":
            return None
        return render.DataGrid(task.result().table().round(3).reset_index(), width="100%")
