"""The app: the pages put together, one :class:`~simulator.app._state.AppState` per browser session.

:func:`create_app` returns a Shiny ``App``; ``upstream app`` serves it with uvicorn on
127.0.0.1 unless told otherwise.  Each session gets its own state (model, edits,
results, temporary folder); the folder is removed when the session ends.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings

from shiny import App, reactive, ui

import simulator.app._page_calibration as _page_calibration
import simulator.app._page_capacity as _page_capacity
import simulator.app._page_downloads as _page_downloads
import simulator.app._page_inequalities as _page_inequalities
import simulator.app._page_interventions as _page_interventions
import simulator.app._page_map as _page_map
import simulator.app._page_model as _page_model
import simulator.app._page_results as _page_results
from simulator.app._state import BUILTINS, AppState, builtin_model
from simulator.core._run import simulate

__all__ = ["PAGES", "create_app"]

#: the pages in the order of the navigation bar
PAGES = (
    _page_model,
    _page_results,
    _page_capacity,
    _page_interventions,
    _page_map,
    _page_calibration,
    _page_inequalities,
    _page_downloads,
)

_log = logging.getLogger(__name__)

#: sliders send their value 80 ms after the last move instead of Shiny's 250 ms (a deterministic
#: rerun takes about a tenth of a second, so the chart can follow the hand); set before Shiny binds
_SLIDER_RATE = """
(function () {
  var b = window.Shiny && Shiny.inputBindings && Shiny.inputBindings.bindingNames["shiny.sliderInput"];
  if (b) { b.binding.getRatePolicy = function () { return {policy: "debounce", delay: 80}; }; }
})();
"""

_STYLE = """
.navbar-brand { font-weight: 600; }
.card { margin-bottom: 0.75rem; }
"""


def app_ui():
    """The layout: one navigation panel per page."""
    return ui.page_navbar(
        *(p.page() for p in PAGES),
        title="Upstream",
        id="nav",
        header=ui.TagList(ui.tags.style(_STYLE), ui.tags.script(_SLIDER_RATE)),
        footer=ui.div(
            "Upstream: post-Covid mental health demand. Built-in models from the Strategy Unit's surge model "
            "(MIT licence); every range is sourced or labelled an illustrative assumption.",
            class_="text-muted small p-2",
        ),
    )


def _warm_up(model, done: threading.Event) -> None:
    """Run the model once and load the figure library while the first browser connects.

    The first run of a process imports the integrator's pieces (and compiles them where a
    compiler is used); done here, the first page does not wait for it.
    """
    try:
        simulate(model)
        from simulator.app._app_figures import group_figure  # matplotlib, the figures' plumbing

        _ = group_figure
    except Exception:  # a failed warm-up only loses time; the session reports real errors
        _log.exception("warm-up run failed")
    finally:
        done.set()


def create_app(model: str = "england"):
    """The Shiny app, starting every session on ``model``.

    Parameters
    ----------
    model
        A built-in model name (:data:`~simulator.app._state.BUILTINS`) or a model file path,
        read once when the app is created (problems raise :class:`~simulator.core.InputError`).

    Returns
    -------
    shiny.App
    """
    from simulator.files._loading import load_model

    # the server is multi-threaded (ensembles run beside the event loop): forking worker processes
    # from it is unsafe, and two sessions' ensembles would share the forked workers' job slot,
    # so chunks run on threads in this process (simulator.core._workers reads this at each run)
    os.environ.setdefault("UPSTREAM_PARALLEL", "threads")
    # Shiny draws figures with the tight layout whatever they ask for, and says so each time
    warnings.filterwarnings("ignore", message=".*layout engine is not compatible with shiny.*")

    first = builtin_model(model) if model in BUILTINS else load_model(model)
    label = f"built-in model {model}" if model in BUILTINS else f"file {model}"

    warmed = threading.Event()
    threading.Thread(target=_warm_up, args=(first, warmed), daemon=True, name="upstream-warm-up").start()

    def server(input, output, session):
        st = AppState(first, label)
        session.on_ended(st.files.cleanup)

        @reactive.calc
        def run():
            warmed.wait(120)  # a first run beside the warm-up's would only slow both down
            return simulate(st.model())

        _page_model.server(input, output, session, st, run)
        _page_results.server(input, output, session, st, run)
        _page_capacity.server(input, output, session, st, run)
        _page_interventions.server(input, output, session, st)
        _page_map.server(input, output, session, st, run)
        _page_calibration.server(input, output, session, st)
        _page_inequalities.server(input, output, session, st)
        _page_downloads.server(input, output, session, st, run)

    return App(app_ui(), server)
