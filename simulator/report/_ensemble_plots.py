"""Figures of ensembles and analyses: fan charts, scenario comparisons and sensitivity.

Figures of intervention appraisals are in :mod:`~simulator.report._appraisal_plots`
(re-exported here).  Every function returns a :class:`matplotlib.figure.Figure`
on the user's backend (none is forced); colours are the Okabe-Ito palette.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simulator.report._appraisal_plots import plot_averted_over_time, plot_frontier
from simulator.report._figures import (
    CYCLE,
    GREYS,
    OKABE_ITO,
    band_label,
    choose,
    finish,
    grid,
    legend_below,
    new_figure,
    thousands,
    time_axis,
    title_words,
    unit_words,
)

__all__ = [
    "plot_averted_over_time",
    "plot_compare",
    "plot_fan",
    "plot_frontier",
    "plot_heatmap",
    "plot_ranking",
]

#: most bars (factors) in a ranking or rows in a heat map, whatever ``top`` asks
MAX_FACTORS = 25
#: the main index of each method, in words
INDEX_WORDS = {
    "ST": "total-order Sobol index (share of variance)",
    "S1": "first-order Sobol index (share of variance)",
    "mu_star": "Morris mu* (mean absolute effect, output's unit)",
    "delta_raw": "delta moment-independent index",
    "delta": "delta moment-independent index",
}


def _fan_panel(ax, s, d, svc: str, x, qs: list[str], base_on: bool, members) -> None:
    """Quantile bands and median of ``d`` on a service's underlying referrals (if ``base_on``)."""
    base = np.zeros(len(x))
    if base_on:
        under = s["underlying"].sel(service=svc).fillna(0).to_numpy()
        supp = s["suppressed"].sel(service=svc).fillna(0).to_numpy()
        ax.stackplot(x, under, supp, colors=list(GREYS), labels=["underlying", "suppressed returning"], lw=0)
        base = under + supp
    what = "surge " if base_on else ""
    pairs = [(qs[i], qs[-1 - i]) for i in range(len(qs) // 2)]
    for k, (lo, hi) in enumerate(pairs):
        ax.fill_between(
            x,
            base + d.sel(stat=lo).to_numpy(),
            base + d.sel(stat=hi).to_numpy(),
            color=OKABE_ITO["orange"],
            alpha=0.3 + 0.3 * k / max(1, len(pairs) - 1),
            lw=0,
            label=f"{what}{band_label(lo, hi, members)}",
        )
    ax.plot(x, base + d.sel(stat="p50").to_numpy(), color=OKABE_ITO["vermillion"], lw=1.5,
            label=f"{what}median")  # fmt: skip


def plot_fan(
    result, services: Sequence[str] | None = None, output: str = "referrals", top: int = 6, title: str = ""
):
    """Fan chart per service: median and quantile bands of an ensemble output over time.

    For referrals, the bands sit on top of the service's underlying (and
    returning suppressed) referrals, drawn beneath in grey, so the surge is
    seen against the load the service already has.  Never more than twelve
    panels (the title says how many of how many are shown).

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
        Number of panels drawn by default (0: as many as fit).
    title
        Figure title (default: the scenario name and the output in words).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    s = result.summary
    da = s[output]
    qs = result.quantile_names()
    selectors = None
    if "service" not in da.dims:  # a model's own variable: one panel per element
        from simulator.analysis._ensembles import elements

        panels = elements(da)
        selectors = {(label or output): sel for label, sel in panels}
        order = list(selectors)
        services = [p for p in services or () if p in selectors] or None
    else:
        order = list(s[f"{output}_total"].sel(stat="p50").to_series().sort_values(ascending=False).index)
    shown, note = choose(order, top, services)
    fig, axes = grid(len(shown))
    x, xlabel = time_axis(s)
    base_on = output == "referrals" and "underlying" in s
    members = result.attrs.get("members")
    unit = unit_words(output, da.attrs.get("units"))
    for ax, svc in zip(axes, shown):
        d = da.sel(service=svc) if selectors is None else da.sel(selectors[svc])
        _fan_panel(ax, s, d, svc, x, qs, base_on, members)
        ax.set_title(svc, fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        thousands(ax)
    legend_below(fig, axes, ncol=5)
    name = result.attrs.get("name") or result.attrs.get("model") or ""
    words = title or f"{name + ': ' if name else ''}{title_words(output)}"
    finish(fig, words + note, dates="date" in s.coords)
    return fig


def plot_ranking(sens, output: str | None = None, service: str | None = None, top: int = 15):
    """Ranked bars of the main sensitivity index with confidence intervals.

    Default: referrals of the first service analysed, or the final value of the
    first variable of a model that is not a surge model.  Never more than 25
    bars (the title says how many of how many are shown).

    Parameters
    ----------
    sens
        A sensitivity result (:func:`~simulator.analysis.sensitivity_analysis`).
    output
        The output ranked (e.g. ``referrals_total``, ``<variable>_final``).
    service
        The service whose output is ranked.
    top
        Number of factors drawn (0: as many as fit).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    if sens.meta.get("variables"):
        output = output or f"{sens.meta['variables'][0]}_final"
        service = ""
    else:
        output = output or "referrals_total"
        service = service or sens.meta["services"][0]
    every = sens.ranking(output, service)
    r = every.head(min(top, MAX_FACTORS) if top and top > 0 else MAX_FACTORS)
    fig = new_figure(8, 0.32 * max(len(r), 3) + 2.0)
    ax = fig.subplots()
    y = np.arange(len(r))[::-1]
    ax.barh(y, r["value"], xerr=r["conf"].fillna(0), color=OKABE_ITO["blue"], alpha=0.85,
            ecolor=OKABE_ITO["black"], label="main index (bar: 95% interval)")  # fmt: skip
    ax.set_yticks(y, r["factor"], fontsize=8)
    key = str(r["index"].iloc[0]) if len(r) else ""
    ax.set_xlabel(f"{INDEX_WORDS.get(key, f'{sens.method} {key}')}, 95% interval", fontsize=9)
    ax.set_ylabel("uncertainty group", fontsize=9)
    if sens.method == "sobol":
        s1 = sens.indices
        s1 = s1[
            (s1["output"] == output) & (s1["service"] == service) & s1["month"].isna() & (s1["index"] == "S1")
        ]
        s1 = s1.set_index("factor").reindex(r["factor"])
        ax.scatter(s1["value"], y, color=OKABE_ITO["orange"], zorder=3, s=14, label="S1 (first order)")
    if len(r):
        ax.legend(fontsize=8)
    note = f" ({len(r)} of {len(every)} shown)" if len(r) < len(every) else ""
    what = title_words(output)
    fig.suptitle(
        f"{service + ': ' if service else ''}what drives {what[:1].lower() + what[1:]}{note}", fontsize=10
    )
    return fig


def plot_heatmap(sens, service: str | None = None, index: str = "ST", top: int = 12):
    """Sobol index of each factor month by month.

    Monthly referrals of one service, or a non-surge model's first variable at
    every reported time.  Never more than 25 rows.

    Parameters
    ----------
    sens
        A Sobol sensitivity result with monthly indices.
    service
        The service (default: the first analysed).
    index
        ``"ST"`` (total) or ``"S1"`` (first order).
    top
        Number of factors drawn (the largest at any month; 0: as many as fit).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    ValueError
        If the result has no month-by-month indices.
    """
    what = "referrals"
    if sens.meta.get("variables"):
        what, service = sens.meta["variables"][0], ""
    service = service if service is not None else sens.meta["services"][0]
    d = sens.indices
    d = d[(d["output"] == what) & (d["service"] == service) & (d["index"] == index) & d["month"].notna()]
    if d.empty:
        raise ValueError("no month-by-month indices: run Sobol with monthly analysis")
    table = d.pivot(index="factor", columns="month", values="value")
    n = min(top, MAX_FACTORS) if top and top > 0 else MAX_FACTORS
    order = table.max(axis=1).sort_values(ascending=False).index[:n]
    note = f" ({len(order)} of {len(table)} shown)" if len(order) < len(table) else ""
    table = table.loc[order]
    fig = new_figure(10, 0.38 * len(table) + 2.2)
    ax = fig.subplots()
    im = ax.imshow(
        table.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=max(1e-9, float(np.nanmax(table)))
    )
    ax.set_yticks(range(len(table)), table.index, fontsize=8)
    step = max(1, table.shape[1] // 12)
    ax.set_xticks(range(0, table.shape[1], step), [f"{m:g}" for m in table.columns[::step]], fontsize=8)
    ax.set_xlabel("month of the model" if what == "referrals" else "time (the model's unit)")
    ax.set_ylabel("uncertainty group")
    bar = fig.colorbar(im, ax=ax, fraction=0.03)
    bar.set_label(INDEX_WORDS.get(index, index), fontsize=8)
    words = f"{service}: monthly referrals" if what == "referrals" else title_words(what)
    fig.suptitle(f"{words}: Sobol {index} month by month{note}", fontsize=10)
    return fig


def plot_compare(cmp, services: Sequence[str] | None = None, output: str | None = None, top: int = 6):
    """Median and outer band of an output over time, one colour per scenario.

    Default output: referrals per service, or the first variable of a model
    that is not a surge model (one panel per element).  Never more than twelve panels.

    Parameters
    ----------
    cmp
        A scenario comparison (:func:`~simulator.analysis.compare_scenarios`).
    services
        Services to draw (default: the ``top`` by median total of the first scenario).
    output
        The monthly output drawn (people per month, or people).
    top
        Number of panels drawn by default (0: as many as fit).

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
        order = list(base[f"{output}_total"].sel(stat="p50").to_series().sort_values(ascending=False).index)
        selectors = {svc: {"service": svc} for svc in order}
    else:
        selectors = {(label or output): sel for label, sel in elements(base[output])}
        order = list(selectors)
        services = [p for p in services or () if p in selectors] or None
    shown, note = choose(order, top, services)
    fig, axes = grid(len(shown))
    x, xlabel = time_axis(base)
    band = band_label(qs[0], qs[-1], cmp.results[0].attrs.get("members"))
    for ax, svc in zip(axes, shown):
        for k, (name, r) in enumerate(zip(cmp.names, cmp.results)):
            d = r.summary[output].sel(selectors[svc])
            c = CYCLE[k % len(CYCLE)]
            ax.fill_between(x, d.sel(stat=qs[0]), d.sel(stat=qs[-1]), color=c, alpha=0.2, lw=0)
            ax.plot(x, d.sel(stat="p50"), color=c, lw=1.5, label=f"{name} (median; shaded: {band})")
        ax.set_title(svc, fontsize=9)
        ax.set_ylabel(unit_words(output, base[output].attrs.get("units")), fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        thousands(ax)
    legend_below(fig, axes, ncol=2)
    finish(fig, f"{title_words(output)}: median and {band} per scenario{note}", dates="date" in base.coords)
    return fig
