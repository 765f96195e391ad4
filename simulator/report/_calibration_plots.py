"""Figures of a calibration: observed against predicted, prior against posterior, parameter pairs.

Built with matplotlib's object-oriented API (no backend is chosen here): the
figures display in Jupyter and save with :func:`simulator.report.save_figure`.
Colours are the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["plot_calibration_fit", "plot_marginals", "plot_pairs"]

CALIBRATED = "#0072B2"  # blue
UNCALIBRATED = "#E69F00"  # orange
OBSERVED = "#000000"
HELD_OUT = "#F0E442"  # yellow shading


def _thousands(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


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
    fig = Figure(
        figsize=(6.4 * min(len(targets), 2), 4.2 * math.ceil(len(targets) / 2)), layout="constrained"
    )
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
        ax.set_ylabel(f"{name} (observed unit)")
        _thousands(ax)
        ax.set_title(f"{name}: observed and predicted", fontsize=10)
    handles, labels = next(iter(fig.axes)).get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    fig.legend(uniq.values(), uniq.keys(), loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"{cal.problem.model.name}: calibration by {cal.method} ({len(cal.values):,} draws)")
    return fig


def plot_marginals(cal, bins: int = 40) -> Figure:
    """Prior and posterior of each fitted parameter (histograms on a common range).

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols = cal.problem.columns
    prior = cal.prior_draws()
    ncol = min(3, len(cols))
    nrow = math.ceil(len(cols) / ncol)
    fig = Figure(figsize=(4.2 * ncol, 3.0 * nrow + 0.6), layout="constrained")
    axes = list(fig.subplots(nrow, ncol, squeeze=False).flat)
    for j, (ax, name) in enumerate(zip(axes, cols)):
        lo, hi = np.quantile(np.concatenate([prior[:, j], cal.values[:, j]]), [0.005, 0.995])
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else bins
        ax.hist(prior[:, j], bins=edges, density=True, color=UNCALIBRATED, alpha=0.45, label="prior")
        ax.hist(cal.values[:, j], bins=edges, weights=cal.weights, density=True, color=CALIBRATED, alpha=0.6,
                label="posterior")  # fmt: skip
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("value (the parameter's own unit)")
        ax.set_ylabel("density")
    for ax in axes[len(cols) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle(f"{cal.problem.model.name}: what the data say about each parameter")
    return fig


def plot_pairs(cal, max_points: int = 2000) -> Figure:
    """Posterior draws of every pair of parameters (a scatter per pair; correlations in the titles).

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols = cal.problem.columns
    d = len(cols)
    z = cal.problem.values(cal.resample(min(max_points, len(cal.values))))
    corr = cal.correlation().to_numpy()
    fig = Figure(figsize=(2.6 * d + 0.5, 2.6 * d + 0.5), layout="constrained")
    axes = fig.subplots(d, d, squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if i == j:
                ax.hist(z[:, i], bins=30, color=CALIBRATED, alpha=0.7)
            elif i > j:
                ax.plot(z[:, j], z[:, i], ".", ms=2, color=CALIBRATED, alpha=0.4)
                ax.set_title(f"r = {corr[i, j]:+.2f}", fontsize=8)
            else:
                ax.set_visible(False)
            if i == d - 1:
                ax.set_xlabel(cols[j], fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(cols[i], fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{cal.problem.model.name}: posterior pairs ({len(z):,} draws)")
    return fig
