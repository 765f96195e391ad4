"""Figures of ensembles and analyses: fan charts, scenario comparisons, sensitivity and appraisal."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulator.report._figures import grid, pyplot

__all__ = [
    "plot_averted_over_time",
    "plot_compare",
    "plot_fan",
    "plot_frontier",
    "plot_heatmap",
    "plot_ranking",
]


def _fan_panel(ax, s, d, svc: str, x, qs: list[str], base_on: bool) -> None:
    """Quantile bands and median of ``d`` on a service's underlying referrals (if ``base_on``)."""
    base = np.zeros(len(x))
    if base_on:
        under = s["underlying"].sel(service=svc).fillna(0).to_numpy()
        supp = s["suppressed"].sel(service=svc).fillna(0).to_numpy()
        ax.stackplot(
            x, under, supp, colors=["#c8d3e0", "#8fa8c8"], labels=["underlying", "suppressed returning"]
        )
        base = under + supp
    what = "surge " if base_on else ""
    if base_on:
        ax.fill_between(
            x, base, base + d.sel(stat="p50").to_numpy(), color="#f6d3bd", lw=0, label="surge (median)"
        )
    pairs = [(qs[i], qs[-1 - i]) for i in range(len(qs) // 2)]
    for k, (lo, hi) in enumerate(pairs):
        ax.fill_between(
            x,
            base + d.sel(stat=lo).to_numpy(),
            base + d.sel(stat=hi).to_numpy(),
            color="#e07b39",
            alpha=0.25 + 0.25 * k,
            lw=0,
            label=f"{what}{lo}-{hi}",
        )
    ax.plot(x, base + d.sel(stat="p50").to_numpy(), color="#8a3b0f", lw=1.5, label=f"{what}median")


def plot_fan(
    result, services: Sequence[str] | None = None, output: str = "referrals", top: int = 6, title: str = ""
):
    """Fan chart per service: median and quantile bands of an ensemble output over time.

    For referrals, the bands sit on top of the service's underlying (and
    returning suppressed) referrals, drawn beneath in grey, so the surge is
    seen against the load the service already has.

    Parameters
    ----------
    result
        An ensemble result (:func:`~simulator.analysis.scenario_ensemble`).
    services
        Services to draw (default: the ``top`` by median total); for a model without
        services, the elements of ``output`` are drawn instead.
    output
        The monthly output drawn (people per month, or people for stocks such as caseload).
    top
        Number of panels drawn by default.
    title
        Figure title (default: the scenario name and the output).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    s = result.summary
    da = s[output]
    qs = result.quantile_names()
    if "service" not in da.dims:  # a model's own variable: one panel per element
        from simulator.analysis._ensembles import elements

        panels = elements(da)[: top or None]
        services = [label or output for label, _ in panels]
        selectors = {(label or output): sel for label, sel in panels}
    else:
        selectors = None
    if services is None:
        order = s[f"{output}_total"].sel(stat="p50").to_series().sort_values(ascending=False).index
        services = list(order[:top])
    fig, axes = grid(len(services))
    x = pd.to_datetime(s["date"].to_numpy()) if "date" in s.coords else s["time"].to_numpy()
    base_on = output == "referrals" and "underlying" in s
    for ax, svc in zip(axes, services):
        d = da.sel(service=svc) if selectors is None else s[output].sel(selectors[svc])
        _fan_panel(ax, s, d, svc, x, qs, base_on)
        ax.set_title(svc, fontsize=9)
        unit = s[output].attrs.get("unit") or (
            ("people" if output == "caseload" else f"{output} / month") if selectors is None else output
        )
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False)
    fig.suptitle(title or f"{result.attrs.get('name') or result.attrs.get('model')}: {output}", fontsize=11)
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def plot_ranking(sens, output: str | None = None, service: str | None = None, top: int = 15):
    """Ranked bars of the main sensitivity index with confidence intervals.

    Default: referrals of the first service analysed, or the final value of the
    first variable of a model that is not a surge model.

    Parameters
    ----------
    sens
        A sensitivity result (:func:`~simulator.analysis.sensitivity_analysis`).
    output
        The output ranked (e.g. ``referrals_total``, ``<variable>_final``).
    service
        The service whose output is ranked.
    top
        Number of factors drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    plt = pyplot()

    if sens.meta.get("variables"):
        output = output or f"{sens.meta['variables'][0]}_final"
        service = ""
    else:
        output = output or "referrals_total"
        service = service or sens.meta["services"][0]
    r = sens.ranking(output, service).head(top)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(r) + 1.5))
    y = np.arange(len(r))[::-1]
    ax.barh(y, r["value"], xerr=r["conf"].fillna(0), color="#1f3b63", alpha=0.85, ecolor="#888")
    ax.set_yticks(y, r["factor"], fontsize=8)
    key = r["index"].iloc[0] if len(r) else ""
    ax.set_xlabel(f"{sens.method} {key} (95% interval)")
    ax.set_title(f"{service}: {output}" if service else output, fontsize=10)
    if sens.method == "sobol":
        s1 = sens.indices
        s1 = s1[
            (s1["output"] == output) & (s1["service"] == service) & s1["month"].isna() & (s1["index"] == "S1")
        ]
        s1 = s1.set_index("factor").reindex(r["factor"])
        ax.scatter(s1["value"], y, color="#e07b39", zorder=3, s=14, label="S1 (first order)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_heatmap(sens, service: str | None = None, index: str = "ST", top: int = 12):
    """Sobol index of each factor month by month.

    Monthly referrals of one service, or a non-surge model's first variable at
    every reported time.

    Parameters
    ----------
    sens
        A Sobol sensitivity result with monthly indices.
    service
        The service (default: the first analysed).
    index
        ``"ST"`` (total) or ``"S1"`` (first order).
    top
        Number of factors drawn (the largest at any month).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    plt = pyplot()

    what = "referrals"
    if sens.meta.get("variables"):
        what, service = sens.meta["variables"][0], ""
    service = service if service is not None else sens.meta["services"][0]
    d = sens.indices
    d = d[(d["output"] == what) & (d["service"] == service) & (d["index"] == index) & d["month"].notna()]
    if d.empty:
        raise ValueError("no month-by-month indices: run Sobol with monthly analysis")
    table = d.pivot(index="factor", columns="month", values="value")
    order = table.max(axis=1).sort_values(ascending=False).index[:top]
    table = table.loc[order]
    fig, ax = plt.subplots(figsize=(10, 0.4 * len(table) + 1.8))
    im = ax.imshow(
        table.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=max(1e-9, float(np.nanmax(table)))
    )
    ax.set_yticks(range(len(table)), table.index, fontsize=8)
    ax.set_xticks(range(0, table.shape[1], 3), [f"{int(m)}" for m in table.columns[::3]], fontsize=8)
    ax.set_xlabel("month" if what == "referrals" else "time")
    title = f"{service}: monthly referrals" if what == "referrals" else what
    ax.set_title(f"{title}, Sobol {index} by {'month' if what == 'referrals' else 'time'}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def plot_compare(cmp, services: Sequence[str] | None = None, output: str | None = None, top: int = 6):
    """Median and outer band of an output over time, one colour per scenario.

    Default output: referrals per service, or the first variable of a model
    that is not a surge model (one panel per element).

    Parameters
    ----------
    cmp
        A scenario comparison (:func:`~simulator.analysis.compare_scenarios`).
    services
        Services to draw (default: the ``top`` by median total of the first scenario).
    output
        The monthly output drawn (people per month, or people).
    top
        Number of panels drawn by default.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from simulator.analysis._ensembles import elements

    base = cmp.results[0].summary
    qs = cmp.results[0].quantile_names()
    if output is None:
        output = (
            "referrals"
            if "service" in base.dims
            else next(k for k, v in base.data_vars.items() if "time" in v.dims)
        )
    if "service" in base[output].dims:
        if services is None:
            order = base[f"{output}_total"].sel(stat="p50").to_series().sort_values(ascending=False).index
            services = list(order[:top])
        selectors = {svc: {"service": svc} for svc in services}
    else:
        selectors = {(label or output): sel for label, sel in elements(base[output])[:top]}
        services = list(selectors)
    fig, axes = grid(len(services))
    x = pd.to_datetime(base["date"].to_numpy()) if "date" in base.coords else base["time"].to_numpy()
    colours = ["#1f3b63", "#e07b39", "#3a9a5b", "#9b4dca", "#c0392b", "#7f8c8d"]
    for ax, svc in zip(axes, services):
        for k, (name, r) in enumerate(zip(cmp.names, cmp.results)):
            d = r.summary[output].sel(selectors[svc])
            c = colours[k % len(colours)]
            ax.fill_between(x, d.sel(stat=qs[0]), d.sel(stat=qs[-1]), color=c, alpha=0.15, lw=0)
            ax.plot(x, d.sel(stat="p50"), color=c, lw=1.5, label=name)
        ax.set_title(svc, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.suptitle(f"{output}: median and {qs[0]}-{qs[-1]} band per scenario", fontsize=11)
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def plot_frontier(appraisal, outcome: str = "referrals"):
    """Outcome against cost per package with 90% intervals; the efficient frontier marked.

    A package is on the frontier when no cheaper package (by median cost)
    achieves at least as much (by median outcome).

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
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter

    t = appraisal.table()
    label = appraisal.outcomes[outcome]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    x, y = t["cost median"].to_numpy(), t[f"{label} median"].to_numpy()
    xerr = [x - t["cost low"].to_numpy(), t["cost high"].to_numpy() - x]
    yerr = [y - t[f"{label} low"].to_numpy(), t[f"{label} high"].to_numpy() - y]
    ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color="#1f3b63", ecolor="#9aa9bd", capsize=3)
    for xi, yi, name in zip(x, y, t["package"]):
        ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(6, 6), fontsize=8)
    order = np.argsort(x)
    frontier, best = [], 0.0  # the baseline (no cost, nothing averted) starts the frontier
    for i in order:
        if y[i] > best:
            frontier.append(i)
            best = y[i]
    fx, fy = np.r_[0.0, x[frontier]], np.r_[0.0, y[frontier]]
    ax.plot(fx, fy, "--", color="#e07b39", lw=1.5, label="efficient frontier (medians, from the baseline)")
    ax.scatter([0], [0], color="#888", s=18, zorder=3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"£{v / 1e6:,.0f}m"))
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_xlabel("cost over the horizon (median and 90% interval)")
    ax.set_ylabel(f"{label} (median and 90% interval)")
    ax.legend(fontsize=8)
    ax.set_title(f"{label} against cost")
    fig.tight_layout()
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
    plt = pyplot()

    m = appraisal.members["referrals_monthly"]
    base = m.sel(package="baseline")
    fig, ax = plt.subplots(figsize=(9, 5))
    colours = ["#1f3b63", "#e07b39", "#3a9a5b", "#9b4dca", "#c0392b", "#7f8c8d", "#16a085", "#d35400"]
    t = m["time"].to_numpy()
    for k, p in enumerate([p for p in appraisal.packages if p != "baseline"]):
        d = (base - m.sel(package=p)).to_numpy()
        lo, mid, hi = np.quantile(d, [0.05, 0.5, 0.95], axis=0)
        c = colours[k % len(colours)]
        ax.fill_between(t, lo, hi, color=c, alpha=0.15, lw=0)
        ax.plot(t, mid, color=c, lw=1.6, label=p)
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_xlabel("month")
    ax.set_ylabel("referrals averted per month (all services)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
