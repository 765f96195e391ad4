"""Figures of a calibration: observed against predicted, prior against posterior, parameter pairs.

Built with matplotlib's object-oriented API (no backend is chosen here): the
figures display in Jupyter and save with :func:`simulator.report.save_figure`.
Colours are the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from simulator.report._figures import MAX_PANELS, OKABE_ITO, new_figure, thousands

__all__ = ["plot_calibration_fit", "plot_marginals", "plot_pairs"]

CALIBRATED = OKABE_ITO["blue"]
UNCALIBRATED = OKABE_ITO["orange"]
OBSERVED = OKABE_ITO["black"]
HELD_OUT = OKABE_ITO["yellow"]  # shading
#: most parameters in a pairs plot (the first ones; the title says how many are shown)
MAX_PAIRS = 8


def _shown(cols, cap: int) -> tuple[list, str]:
    """The first ``cap`` of ``cols`` and a note for the title when some are left out."""
    cols = list(cols)
    return cols[:cap], (f" ({cap} of {len(cols)} parameters shown)" if len(cols) > cap else "")


def _unit(cal, name: str) -> str:
    """What an observed target measures, for its axis label."""
    target = next((t for t in cal.problem.targets if t.name == name), None)
    if target is None:
        return "observed unit"
    if target.denominator:
        return "percent" if getattr(target, "scale", 1.0) == 100 else "share (0 to 1)"
    return {"sum": "total over the period", "mean": "mean over the period"}.get(
        target.aggregate, "value at the period's end"
    )


def plot_calibration_fit(cal, n: int = 1000) -> Figure:
    """Observed values against the predictive 50% and 90% intervals, calibrated and uncalibrated.

    One panel per target; periods held out of the fit are shaded.  The intervals are of
    simulated *observations* (model plus observation noise), so an observed point
    outside the 90% band is a real miss.

    Parameters
    ----------
    cal
        A :class:`~simulator.analysis.Calibration`.
    n
        Predictive draws per model.

    Returns
    -------
    matplotlib.figure.Figure
    """
    scores = cal.scores(n)
    targets = list(dict.fromkeys(scores["target"]))
    targets, note = (
        targets[:MAX_PANELS],
        (f" ({MAX_PANELS} of {len(targets)} targets shown)" if len(targets) > MAX_PANELS else ""),
    )
    fig = new_figure(6.4 * min(len(targets), 2), 4.2 * math.ceil(len(targets) / 2) + 0.8)
    axes = fig.subplots(math.ceil(len(targets) / 2), min(len(targets), 2), squeeze=False).flat
    for ax, name in zip(axes, targets):
        rows = scores[scores["target"] == name]
        periods = list(dict.fromkeys(rows["period"]))
        x = np.arange(len(periods))
        for k, (model, colour, shift) in enumerate(
            (("uncalibrated", UNCALIBRATED, -0.12), ("calibrated", CALIBRATED, 0.12))
        ):
            r = rows[rows["model"] == model].set_index("period").loc[periods]
            ax.vlines(
                x + shift, r["p5"], r["p95"], color=colour, lw=2, alpha=0.5, label=f"{model}: 90% interval"
            )
            ax.vlines(
                x + shift, r["p25"], r["p75"], color=colour, lw=6, alpha=0.8, label=f"{model}: 50% interval"
            )
            ax.plot(x + shift, r["median"], "o", color=colour, ms=5, mfc="white", label=f"{model}: median")
            if k == 1:
                held = r["held_out"].to_numpy()
                for j in np.flatnonzero(held):
                    ax.axvspan(j - 0.45, j + 0.45, color=HELD_OUT, alpha=0.35, lw=0)
                ax.plot(x, r["observed"], "D", color=OBSERVED, ms=6, label="observed")
        ax.set_xticks(x, periods)
        ax.set_xlabel("period (shaded: held out of the fit)")
        ax.set_ylabel(f"{name} ({_unit(cal, name)})")
        thousands(ax)
        ax.set_title(f"{name}: observed and predicted", fontsize=10)
    handles, labels = next(iter(fig.axes)).get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    fig.legend(uniq.values(), uniq.keys(), loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    for ax in list(fig.axes)[len(targets) :]:
        fig.delaxes(ax)
    fig.suptitle(f"{cal.problem.model.name}: calibration by {cal.method} ({len(cal.values):,} draws){note}")
    return fig


def plot_marginals(cal, bins: int = 40) -> Figure:
    """Prior and posterior of each fitted parameter (histograms on a common range).

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols, note = _shown(cal.problem.columns, MAX_PANELS)
    prior = cal.prior_draws()
    ncol = min(3, len(cols))
    nrow = math.ceil(len(cols) / ncol)
    fig = new_figure(4.2 * ncol, 3.0 * nrow + 0.6)
    axes = list(fig.subplots(nrow, ncol, squeeze=False).flat)
    for j, (ax, name) in enumerate(zip(axes, cols)):
        lo, hi = np.quantile(np.concatenate([prior[:, j], cal.values[:, j]]), [0.005, 0.995])
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else bins
        ax.hist(prior[:, j], bins=edges, density=True, color=UNCALIBRATED, alpha=0.45, label="prior")
        ax.hist(cal.values[:, j], bins=edges, weights=cal.weights, density=True, color=CALIBRATED, alpha=0.6,
                label="posterior")  # fmt: skip
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("value (the parameter's own unit)")
        ax.set_ylabel("probability density (per unit)")
    for ax in axes[len(cols) :]:
        fig.delaxes(ax)
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle(f"{cal.problem.model.name}: what the data say about each parameter{note}")
    return fig


def plot_pairs(cal, max_points: int = 2000) -> Figure:
    """Posterior draws of every pair of parameters (a scatter per pair; correlations in the titles).

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols, note = _shown(cal.problem.columns, MAX_PAIRS)
    d = len(cols)
    z = cal.problem.values(cal.resample(min(max_points, len(cal.values))))[:, :d]
    corr = cal.correlation().to_numpy()[:d, :d]
    fig = new_figure(2.6 * d + 0.5, 2.6 * d + 0.5)
    axes = fig.subplots(d, d, squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if i < j:
                fig.delaxes(ax)
                continue
            if i == j:
                ax.hist(z[:, i], bins=30, color=CALIBRATED, alpha=0.7)
                ax.set_ylabel("draws", fontsize=7)
            else:
                ax.plot(z[:, j], z[:, i], ".", ms=2, color=CALIBRATED, alpha=0.4)
                ax.set_title(f"r = {corr[i, j]:+.2f}", fontsize=8)
                ax.set_ylabel(cols[i], fontsize=7)
            ax.set_xlabel(cols[j], fontsize=7)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{cal.problem.model.name}: posterior pairs ({len(z):,} draws){note}")
    return fig
