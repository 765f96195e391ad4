"""Where a new figure goes: shown once in a notebook, on the user's pyplot, or nowhere (files only).

No backend is ever chosen here.  In a Jupyter kernel on the inline backend a
figure is a plain :class:`matplotlib.figure.Figure` shown once when its cell
ends, whether the cell assigns it (``fig = plot_fan(...)``), ends with it, or
ends with a semicolon.  Where ``matplotlib.pyplot`` is in use on an interactive
backend (a script calling ``plt.show()``, ``%matplotlib widget``) pyplot makes
it, so the user's backend shows it.  Anywhere else (the command line, scripts
that save files) it is a plain figure no backend manages.
"""

from __future__ import annotations

import sys

from matplotlib.figure import Figure

__all__ = ["new_figure"]

#: backends that only write files
FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
#: figures made during the running notebook cell, shown when it ends
_pending: list[Figure] = []
_hooked: list[object] = []


def _kernel():
    """The Jupyter kernel's shell, or ``None`` outside a kernel."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return None
    from ipykernel.zmqshell import ZMQInteractiveShell
    from IPython import get_ipython

    shell = get_ipython()
    return shell if isinstance(shell, ZMQInteractiveShell) else None


def _backend() -> str:
    import matplotlib

    return str(matplotlib.get_backend()).lower()


def _load_inline() -> None:
    """Load the kernel's own inline backend, as pyplot would: it tells IPython how to show a figure."""
    try:
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:  # pragma: no cover - ipykernel depends on it
        pass


def _show_pending(result=None) -> None:
    """After a cell: show each figure it made, unless the cell's own result already showed it."""
    figures = list(_pending)
    _pending.clear()
    if result is not None and not getattr(result, "success", True):
        return
    from IPython.display import display

    shown = getattr(result, "result", None)
    for fig in figures:
        if fig is not shown:
            display(fig)


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches (constrained layout) that displays where the user works.

    Returns
    -------
    matplotlib.figure.Figure
        A plain figure (shown at the end of a notebook cell on the inline backend), or one
        made by pyplot where pyplot is in use on an interactive backend.
    """
    shell = _kernel()
    if shell is not None:
        if "inline" in _backend():
            _load_inline()
            fig = Figure(figsize=(width, height), layout="constrained")
            _pending.append(fig)
            if shell not in _hooked:
                shell.events.register("post_run_cell", _show_pending)
                _hooked.append(shell)
            return fig
    if "matplotlib.pyplot" in sys.modules and _backend() not in FILE_BACKENDS:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(width, height), layout="constrained")
    return Figure(figsize=(width, height), layout="constrained")
