"""Figures of an intervention appraisal: outcome against cost with the frontier, averted over time.

Every function returns a :class:`matplotlib.figure.Figure` on the user's backend
(none is forced); colours are the Okabe-Ito palette.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from simulator.report._figures import CYCLE, OKABE_ITO, date_ticks, new_figure, thousands, time_axis

__all__ = ["plot_averted_over_time", "plot_frontier"]

#: the unit of each outcome averted
OUTCOME_UNITS = {
    "referrals": "people",
    "starts": "people",
    "at_risk": "people-months",
    "contacts": "contacts",
    "crisis": "people",
    "waiting": "person-months",
    "escalations": "people",
}
#: a label's height and width (points) when labels are kept apart
LABEL_HEIGHT, LABEL_WIDTH = 12.0, 90.0


def _pounds(v: float, scale: float) -> str:
    if abs(v) < 0.5:
        return "£0"
    return f"£{v / 1e6:,.1f}m" if scale >= 1e6 else f"£{v:,.0f}"


def _label_offsets(ax, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Vertical offsets (points) that keep package labels apart.

    Each label, lowest point first, moves up until it clears every label already
    placed near it (a leader line then shows its point).
    """
    ax.autoscale_view()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    bbox = ax.get_position()
    w, h = bbox.width * ax.figure.get_figwidth() * 72, bbox.height * ax.figure.get_figheight() * 72
    px = (x - x0) / ((x1 - x0) or 1.0) * w
    py = (y - y0) / ((y1 - y0) or 1.0) * h
    placed: list[tuple[float, float]] = []
    offsets = np.zeros(len(x))
    for i in np.lexsort((px, py)):
        ly = py[i] + 4.0
        moved = True
        while moved:
            moved = False
            for qx, qy in placed:
                if abs(px[i] - qx) < LABEL_WIDTH and abs(ly - qy) < LABEL_HEIGHT:
                    ly, moved = qy + LABEL_HEIGHT, True
        placed.append((px[i], ly))
        offsets[i] = ly - py[i]
    return offsets


def _frontier(x: np.ndarray, y: np.ndarray) -> list[int]:
    """Packages no cheaper package beats (by medians), from the baseline (no cost, nothing averted)."""
    frontier, best = [], 0.0
    for i in np.argsort(x, kind="stable"):
        if y[i] > best:
            frontier.append(int(i))
            best = y[i]
    return frontier


def plot_frontier(appraisal, outcome: str = "referrals"):
    """Outcome against cost per package with 90% intervals; the efficient frontier marked.

    A package is on the frontier when no cheaper package (by median cost)
    achieves at least as much (by median outcome).  Labels of packages close
    together are moved apart (a thin line then joins a label to its point).

    Parameters
    ----------
    appraisal
        An appraisal of intervention packages (:func:`~simulator.analysis.appraise`).
    outcome
        The outcome averted (people over the horizon) drawn against cost (pounds).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    t = appraisal.table()
    label = appraisal.outcomes[outcome]
    members = appraisal.meta.get("members")
    band = f"90% interval of {members:,} members" if isinstance(members, int) else "90% interval"
    fig = new_figure(8.5, 6)
    ax = fig.subplots()
    x, y = t["cost median"].to_numpy(), t[f"{label} median"].to_numpy()
    xerr = [x - t["cost low"].to_numpy(), t["cost high"].to_numpy() - x]
    yerr = [y - t[f"{label} low"].to_numpy(), t[f"{label} high"].to_numpy() - y]
    ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color=OKABE_ITO["blue"], ecolor=OKABE_ITO["sky blue"],
                capsize=3, label=f"package: median (bars: {band})")  # fmt: skip
    frontier = _frontier(x, y)
    fx, fy = np.r_[0.0, x[frontier]], np.r_[0.0, y[frontier]]
    ax.plot(fx, fy, "--", color=OKABE_ITO["vermillion"], lw=1.5,
            label="efficient frontier (medians, from the baseline)")  # fmt: skip
    ax.scatter([0], [0], color=OKABE_ITO["black"], s=18, zorder=3, label="baseline (no package)")
    for i, dy in enumerate(_label_offsets(ax, x, y)):
        arrow = {"arrowstyle": "-", "color": "#888888", "lw": 0.6} if dy > 8 else None
        ax.annotate(str(t["package"].iloc[i]), (x[i], y[i]), textcoords="offset points", xytext=(8, dy),
                    fontsize=8, va="bottom", arrowprops=arrow)  # fmt: skip
    scale = float(np.nanmax(np.abs(t["cost high"].to_numpy()))) if len(t) else 0.0
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _pounds(v, scale)))
    thousands(ax)
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_xlabel("cost over the horizon (pounds; median and 90% interval)")
    unit = OUTCOME_UNITS.get(outcome, "the variable's unit")
    ax.set_ylabel(f"{label} ({unit}; median and 90% interval)")
    ax.legend(fontsize=8)
    fig.suptitle(f"{label[:1].upper() + label[1:]} against cost, per package", fontsize=11)
    return fig


def plot_averted_over_time(appraisal):
    """Referrals averted per month by each package (median and 90% band), all services.

    Parameters
    ----------
    appraisal
        An appraisal of intervention packages on a surge model.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    m = appraisal.members["referrals_monthly"]
    base = m.sel(package="baseline")
    fig = new_figure(9.5, 5.5)
    ax = fig.subplots()
    x, xlabel = time_axis(m)
    packages = [p for p in appraisal.packages if p != "baseline"]
    for k, p in enumerate(packages):
        d = (base - m.sel(package=p)).to_numpy()
        lo, mid, hi = np.quantile(d, [0.05, 0.5, 0.95], axis=0)
        c = CYCLE[k % len(CYCLE)]
        ax.fill_between(x, lo, hi, color=c, alpha=0.2, lw=0)
        ax.plot(x, mid, color=c, lw=1.6, label=f"{p} (median)")
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("referrals averted (people per month, all services)")
    thousands(ax)
    handles, labels = ax.get_legend_handles_labels()
    members = m.sizes.get("member", 0)
    handles.append(Patch(color="#888888", alpha=0.3))
    labels.append(f"shaded: 90% interval of {members:,} members")
    ax.legend(handles, labels, fontsize=8)
    fig.suptitle("Referrals averted per month by each package, against the baseline", fontsize=11)
    if "date" in m.coords:
        date_ticks(ax)
    return fig
