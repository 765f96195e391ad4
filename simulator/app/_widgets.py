"""Small pieces of page shared by the app's pages."""

from __future__ import annotations

from typing import Any

from shiny import ui

__all__ = ["task_status"]


def task_status(task: Any, message: str | None, *, failed: str, done: str, done_id: str) -> ui.Tag:
    """The status line of a background run: a warning, a progress bar, its error, or done.

    Parameters
    ----------
    task
        The page's extended task (``status()`` and ``error()``).
    message
        A warning to show above the status (e.g. members capped), or ``None``.
    failed
        Words before the error when the run failed ("The run failed").
    done
        Words when it finished.
    done_id
        The HTML id of the finished line (the browser tests wait for it).

    Returns
    -------
    shiny.ui.Tag
        The status panel.
    """
    s = task.status()
    parts = [ui.div(message, class_="alert alert-warning")] if message else []
    if s == "running":
        parts.append(ui.tags.progress(class_="w-100"))
    elif s == "error":
        parts.append(ui.div(f"{failed}: {task.error()}", class_="alert alert-danger"))
    elif s == "success":
        parts.append(ui.p(done, id=done_id))
    return ui.div(*parts)
