"""The board report's pictures, as SVG images embedded in the page (``data:`` addresses).

Each figure is drawn by the package's own plots (fan charts, the frontier, averted
referrals over time, the system map), saved as SVG with its text kept as text, and
embedded as a ``data:image/svg+xml;base64`` image: the page needs no file and no
network, the figure prints sharp, and figures cannot clash (each SVG is its own
document, so matplotlib's element ids never meet).  Figures made here are never
shown in a notebook and never left open in pyplot.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["appraisal_figures", "ensemble_figures", "figure_uri", "svg_uri"]


def _release(fig) -> None:
    """Forget a figure: not shown at the end of a notebook cell, not kept by pyplot."""
    from simulator.report._display import _pending

    if fig in _pending:
        _pending.remove(fig)
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close(fig)


def svg_uri(svg: str) -> str:
    """An SVG document as a ``data:`` address for an ``<img src>``.

    Parameters
    ----------
    svg
        SVG text.

    Returns
    -------
    str
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def figure_uri(fig) -> str:
    """A matplotlib figure as an embedded SVG image (text kept as text), then released.

    Parameters
    ----------
    fig
        The figure.

    Returns
    -------
    str
        A ``data:image/svg+xml;base64,...`` address.
    """
    import matplotlib

    from simulator.report._system_map_svg import strip_metadata

    buf = io.StringIO()
    try:
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format="svg", metadata={"Date": None})
    finally:
        _release(fig)
    return svg_uri(strip_metadata(buf.getvalue()))


def ensemble_figures(ensemble, services: Sequence[str] | None) -> list[tuple[str, str]]:
    """Fan charts of an ensemble: referrals and caseload (and waiting lists with capacity).

    Parameters
    ----------
    ensemble
        An :class:`~simulator.analysis.EnsembleResult`.
    services
        Services drawn (default the six largest by median referrals).

    Returns
    -------
    list of (str, str)
        ``(key, data address)``: ``referrals``, ``caseload``, ``waiting`` where present
        (other models: their first monthly output).
    """
    from simulator.report._ensemble_plots import plot_fan

    s = ensemble.summary
    if ensemble.by_service:
        outputs = [o for o in ("referrals", "caseload", "waiting") if o in s and "time" in s[o].dims]
    else:
        outputs = [str(k) for k, v in s.data_vars.items() if "stat" in v.dims and "time" in v.dims][:2]
        services = None
    return [(o, figure_uri(plot_fan(ensemble, services or None, output=o, top=6))) for o in outputs]


def appraisal_figures(appraisal: Any, surge: bool) -> list[tuple[str, str]]:
    """The frontier (outcome against cost) and, for surge models, referrals averted over time.

    Parameters
    ----------
    appraisal
        An :class:`~simulator.analysis.Appraisal`.
    surge
        Whether the model is a surge model (referrals averted per month exist).

    Returns
    -------
    list of (str, str)
        ``(key, data address)``: ``frontier`` and ``averted``.
    """
    from simulator.report._appraisal_plots import plot_averted_over_time, plot_frontier

    out = [("frontier", figure_uri(plot_frontier(appraisal, appraisal.main_outcome)))]
    if surge and "referrals_monthly" in appraisal.members:
        out.append(("averted", figure_uri(plot_averted_over_time(appraisal))))
    return out
