"""The System map page: the session's model as a graph, edges as wide as their flows at a chosen month.

The map itself is :func:`simulator.report._system_map.system_map` (vis-network inlined
from an installed package, never a CDN); the page shows its interactive HTML in a
frame, so clicking a node shows its parameters, their values and sources.
"""

from __future__ import annotations

import html

from shiny import reactive, render, ui

from simulator.app._state import AppState
from simulator.core._model import Model

__all__ = ["map_document", "page", "server"]


def map_document(model: Model, month: float | None = None, packages=(), results=None) -> tuple[str, float]:
    """The interactive map of ``model`` as an HTML document, and the month it shows.

    Parameters
    ----------
    model
        The session's model.
    month
        Month from the model's start the edges are measured at (``None``: the busiest month).
    packages
        Intervention packages drawn where their levers act.
    results
        The session's deterministic run (saves running the model again).

    Returns
    -------
    tuple of (str, float)
        The HTML document and the month drawn.
    """
    from simulator.report._system_map import system_map

    m = system_map(model, month, packages=list(packages), results=results)
    return m.to_html(height=640), float(m.month)


def page():
    """The page's layout (a navigation panel)."""
    sidebar = ui.sidebar(
        ui.input_numeric("s_month", "Month from the model's start (blank: the busiest)", value=None, min=0),
        ui.p(
            "Edge width: people per month along the edge at that month. Click a node for its parameters, "
            "their values and sources. Packages compared on the Interventions page are drawn where their "
            "levers act."
        ),
        width=300,
    )
    body = ui.div(ui.output_ui("s_note"), ui.output_ui("s_frame"))
    return ui.nav_panel("System map", ui.layout_sidebar(sidebar, body), value="map")


def server(input, output, session, st: AppState, run) -> None:
    """The page's behaviour; ``run`` is the session's deterministic run."""
    note: reactive.Value[str] = reactive.value("")

    @reactive.calc
    def document() -> str:
        month = input.s_month()
        try:
            doc, shown = map_document(
                st.model(), None if month in (None, "") else float(month), results=run()
            )
        except ValueError as err:
            note.set(f"map not drawn: {err}")
            return ""
        note.set(f"month {shown:g} shown")
        return doc

    @render.ui
    def s_note():
        return ui.p(note(), id="s-note")

    @render.ui
    def s_frame():
        doc = document()
        if not doc:
            return ui.div()
        return ui.HTML(
            f'<iframe id="s-map" title="System map" style="width:100%;height:680px;border:0" '
            f'srcdoc="{html.escape(doc, quote=True)}"></iframe>'
        )
