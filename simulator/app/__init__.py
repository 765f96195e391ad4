"""The planner's web app (``upstream app``): Upstream in a browser, on Shiny for Python.

One page per private module (``_page_*.py``), each a thin layer over the library
(model editing, runs, ensembles, appraisals, downloads); :func:`create_app` puts
them together and :mod:`._state` holds what one browser session owns (its model,
its edits and a temporary folder removed when the session ends).  Nothing in
``simulator`` imports this package except the ``upstream app`` command.
"""

from __future__ import annotations

from simulator._lazy import lazy_names

_LAZY = {
    "MEMBER_CAP": "simulator.app._state",
    "UPLOAD_LIMIT_BYTES": "simulator.app._state",
    "create_app": "simulator.app._app",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = ["MEMBER_CAP", "UPLOAD_LIMIT_BYTES", "create_app"]
