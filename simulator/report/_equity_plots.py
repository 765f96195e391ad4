"""Figures of inequalities: gradient charts, the slope index over time, the efficiency-equity plane.

Every function returns a :class:`matplotlib.figure.Figure` on the user's backend (none is
forced); colours are the Okabe-Ito palette.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from simulator.analysis._equity import cumulative_midpoints, interval, slope_index
from simulator.analysis._equity_defs import METRICS
from simulator.report._figures import CYCLE, OKABE_ITO, grid, new_figure, thousands

__all__ = ["plot_equity_plane", "plot_gradient", "plot_sii_over_time"]


def _axis_units(ax, unit: str) -> None:
    """Percentages for shares, thousands separators otherwise."""
    if unit == "share":
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        thousands(ax)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _lohi(q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    med = np.asarray(q.sel(stat="median"), dtype=float)
    return med, med - np.asarray(q.sel(stat="low"), float), np.asarray(q.sel(stat="high"), float) - med


def _gradient_panel(ax, result, metric: str) -> None:
    """One metric: each stratum's rate with its interval; PHE's fitted line for ordered strata."""
    m = METRICS[metric]
    q = interval(result.horizon[metric])
    med, lo, hi = _lohi(q)
    cats = [str(c) for c in q[result.dim].to_numpy()]
    ticks = [textwrap.fill(c, 16) for c in cats]
    one = result.horizon.sizes.get("member", 1) == 1
    if result.ordered:
        x = cumulative_midpoints(result.population, result.dim).to_numpy()
        ax.errorbar(
            x,
            med,
            yerr=[lo, hi],
            fmt="o",
            color=OKABE_ITO["blue"],
            capsize=3,
            label="stratum" if one else "stratum (median, 90% interval)",
        )
        fit = slope_index(result.horizon[metric], result.population, result.dim)
        b0, b1 = float(fit["intercept"].median()), float(fit["sii"].median())
        rii = float(fit["rii"].median())
        ax.plot(
            [0, 1],
            [b0, b0 + b1],
            color=OKABE_ITO["vermillion"],
            lw=1.5,
            label=f"fitted: SII {_num(b1)}, RII {rii:.3g}",
        )
        ax.set_xlim(0, 1)
        ax.set_xticks(x, ticks, rotation=0 if len(cats) <= 5 else 45, fontsize=7)
        words = f"{result.meta.get('label') or result.dim}; most disadvantaged left"
        ax.set_xlabel(textwrap.fill(words, 60), fontsize=8)
    else:
        pos = np.arange(len(cats))
        ax.bar(pos, med, color=[CYCLE[i % len(CYCLE)] for i in pos], alpha=0.85)
        if not one:
            ax.errorbar(pos, med, yerr=[lo, hi], fmt="none", color="black", capsize=3, label="90% interval")
        if result.reference in cats:
            ref = med[cats.index(result.reference)]
            ax.axhline(ref, color="grey", ls="--", lw=1, label=f"reference: {result.reference}")
        ax.set_xticks(pos, ticks, fontsize=7)
        ax.set_xlabel(textwrap.fill(str(result.meta.get("label") or result.dim), 60), fontsize=8)
    ax.set_title(m.label[:1].upper() + m.label[1:], fontsize=9)
    ax.set_ylabel(m.unit)
    _axis_units(ax, m.unit)
    ax.legend(fontsize=7, frameon=False)


def plot_gradient(result, metrics: Sequence[str] | None = None):
    """Each stratum's rate over the horizon with its interval, one panel per metric.

    Ordered strata are placed at their relative rank (the midpoint of their cumulative
    population share, most disadvantaged at 0), with PHE's fitted line, whose rise from
    0 to 1 is the SII; unordered strata are bars with the reference stratum marked.

    Parameters
    ----------
    result
        An :class:`~simulator.analysis._equity_metrics.EquityResult`.
    metrics
        Metrics drawn (default every one computed, up to 12).

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = list(metrics) if metrics else result.metrics
    fig, axes = grid(len(chosen), sharex=False)
    for ax, k in zip(axes, chosen):
        _gradient_panel(ax, result, k)
    n = result.horizon.sizes.get("member", 1)
    band = f"median and 90% interval of {n:,} members" if n > 1 else "one run"
    where = "; strata at the midpoint of their cumulative population share" if result.ordered else ""
    fig.suptitle(
        f"{result.meta.get('model', 'Model')}: rates by {result.dim} over the horizon\n({band}{where})",
        fontsize=10,
    )
    return fig


def plot_sii_over_time(result, metrics: Sequence[str] | None = None):
    """The slope index of inequality of each metric, month by month, median and 90% interval.

    Parameters
    ----------
    result
        An :class:`~simulator.analysis._equity_metrics.EquityResult` of ordered strata.
    metrics
        Metrics drawn (default every one computed, up to 12).

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = list(metrics) if metrics else result.metrics
    fig, axes = grid(len(chosen))
    for ax, k in zip(axes, chosen):
        q = result.sii_over_time(k)
        t = q["time"].to_numpy()
        ax.fill_between(
            t,
            q.sel(stat="low"),
            q.sel(stat="high"),
            color=OKABE_ITO["sky blue"],
            alpha=0.5,
            lw=0,
            label="90% interval",
        )
        ax.plot(t, q.sel(stat="median"), color=OKABE_ITO["blue"], lw=1.5, label="median")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(METRICS[k].label[:1].upper() + METRICS[k].label[1:], fontsize=9)
        ax.set_ylabel(f"SII, {'percentage points' if METRICS[k].unit == 'share' else METRICS[k].unit}")
        ax.set_xlabel("month of the model")
        _axis_units(ax, METRICS[k].unit)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(
        f"{result.meta.get('model', 'Model')}: slope index of inequality by {result.dim} over time "
        "(below 0: higher among the more disadvantaged)",
        fontsize=11,
    )
    return fig


def plot_equity_plane(appraisal, outcome: str = "referrals"):
    """Packages on the efficiency-equity plane: outcome averted against the gap closed.

    x: the outcome averted (median and 90% interval); y: the gap closed in the chosen
    metric (the fall in the absolute SII, or in the range for unordered strata; above 0 the
    package narrows the gap).  Both are member-by-member against the baseline.

    Parameters
    ----------
    appraisal
        An :class:`~simulator.analysis._appraisal_result.Appraisal` with equity figures.
    outcome
        The outcome on the x axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    eq = appraisal.equity
    if eq is None:
        raise ValueError("this appraisal has no equity figures: compare packages on a stratified model")
    fig = new_figure(7.5, 5.2)
    ax = fig.subplots()
    closed = appraisal.gap_closed()
    av = appraisal.averted(outcome)
    names = [p for p in appraisal.packages if p in closed["package"].to_numpy() and p != "baseline"]
    for i, p in enumerate(names):
        x = interval(av.sel(package=p))
        y = interval(closed.sel(package=p))
        xm, xl, xh = (float(x.sel(stat=s)) for s in ("median", "low", "high"))
        ym, yl, yh = (float(y.sel(stat=s)) for s in ("median", "low", "high"))
        c = CYCLE[i % len(CYCLE)]
        ax.errorbar(
            [xm], [ym], xerr=[[xm - xl], [xh - xm]], yerr=[[ym - yl], [yh - ym]], fmt="o", color=c, capsize=3
        )
        ax.annotate(p, (xm, ym), textcoords="offset points", xytext=(5, 5), fontsize=8, color=c)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    unit = METRICS[str(eq.attrs["metric"])].unit
    what = "absolute SII" if int(eq.attrs["ordered"]) else "range"
    what_averted = appraisal.outcomes.get(outcome, f"{outcome} averted")
    ax.set_xlabel(f"{what_averted} (median, 90% interval)")
    ax.set_ylabel(f"gap closed: fall in the {what}, {unit}")
    thousands(ax, "x")
    label = METRICS[str(eq.attrs["metric"])].label
    fig.suptitle(
        f"Efficiency and equity\n{what_averted} and the {eq.attrs['dim']} gap in {label}",
        fontsize=10,
    )
    return fig
