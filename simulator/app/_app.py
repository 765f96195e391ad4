"""The app: the pages put together, one :class:`~simulator.app._state.AppState` per browser session.

:func:`create_app` returns a Shiny ``App``; ``upstream app`` serves it with uvicorn on
127.0.0.1 unless told otherwise.  Each session gets its own state (model, edits,
results, temporary folder); the folder is removed when the session ends.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import Future, ThreadPoolExecutor

from shiny import App, reactive, req, ui

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


def _no_name_inference() -> None:
    """Stop Shiny guessing each reactive value's variable name from the call stack.

    Shiny 1.x names every ``reactive.Value`` made without ``name=`` (its own extended
    tasks' and data grids' too) for OpenTelemetry spans, by calling ``inspect.stack()``,
    which reads the source of every frame of the server's deep async stack: profiled
    with py-spy, about 2.5 s of the first page on the shared 2-core machine, for names
    this app never exports.  Values keep ``None`` as their name; nothing else changes.
    Guarded: a Shiny without that method is left alone.
    """
    if callable(getattr(reactive.Value, "_try_infer_name", None)):
        reactive.Value._try_infer_name = lambda self: None  # type: ignore[method-assign]


def first_page_then_runs() -> reactive.Value[bool]:
    """A flag that turns ``True`` in the flush after the session's first page went out.

    The first flush sends the page with the model named and its inputs filled, without a run
    or a figure; the flag then turns, and the run and the charts follow in the next flush (a
    timer flush, as :func:`shiny.reactive.invalidate_later` gives).  So the page is ready
    before the first run imports the integrator's pieces and matplotlib.

    Returns
    -------
    shiny.reactive.Value of bool
    """
    served = reactive.value(False)
    passes = [0]

    @reactive.effect
    def _turn():
        passes[0] += 1
        if passes[0] == 1:
            reactive.invalidate_later(0.01)  # once the first page is sent
        else:
            served.set(True)

    return served


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
    _no_name_inference()
    # Shiny draws figures with the tight layout whatever they ask for, and says so each time
    warnings.filterwarnings("ignore", message=".*layout engine is not compatible with shiny.*")

    if model in BUILTINS:
        # read beside the server's start and the browser's first request (a built-in model is
        # known to be valid); the first session waits for it
        pool = ThreadPoolExecutor(1, thread_name_prefix="upstream-load")
        loading = pool.submit(builtin_model, model)
        pool.shutdown(wait=False)  # the reading goes on; the thread ends with it
    else:  # a file's problems are the command's to report, before anything is served
        loading = Future()
        loading.set_result(load_model(model))
    label = f"built-in model {model}" if model in BUILTINS else f"file {model}"

    def server(input, output, session):
        st = AppState(loading.result(), label)
        session.on_ended(st.files.cleanup)
        st.served = first_page_then_runs()

        @reactive.calc
        def run():
            req(st.served())  # outputs needing a run wait (silently) for the page's second flush
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
