"""Shared figure plumbing: a headless pyplot, panel grids and atomic saving."""

from __future__ import annotations

import math
from pathlib import Path

import xarray as xr

__all__ = ["by_service", "grid", "pyplot", "save_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend unless one is chosen already (no screen needed).

    Returns
    -------
    module
        ``matplotlib.pyplot``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def by_service(da: xr.DataArray) -> xr.DataArray:
    """``da`` summed over every dimension but member, time and service.

    Parameters
    ----------
    da
        A recorded variable.

    Returns
    -------
    xarray.DataArray
        Per service (same units as ``da``).
    """
    extra = [d for d in da.dims if d not in ("member", "time", "service")]
    return da.sum(extra) if extra else da


def grid(n: int, width: float = 5.2, height: float = 3.3):
    """A figure with ``n`` panels, three a row, the unused ones hidden.

    Parameters
    ----------
    n
        Number of panels.
    width, height
        Size of one panel, inches.

    Returns
    -------
    tuple of (matplotlib.figure.Figure, list of matplotlib.axes.Axes)
        The figure and its ``n`` panels.
    """
    plt = pyplot()
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(width * ncol, height * nrow), squeeze=False, sharex=True)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)[:n]


def save_figure(fig, path: str | Path) -> None:
    """Save a figure atomically (PNG, SVG or PDF by the file's suffix).

    Parameters
    ----------
    fig
        A matplotlib figure.
    path
        The image file (``.png``, ``.svg`` or ``.pdf``).
    """
    from simulator.core._atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format=path.suffix.lstrip(".") or "png")
