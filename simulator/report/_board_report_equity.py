"""Inequality gaps in the board report: the equity metrics of a stratified model.

A model stratified by deprivation, ethnicity, age or sex (its ``strata``) is run once
more for its equity metrics (:func:`~simulator.analysis._equity_run.run_equity`, the
same members, seed and sampler as the ensemble) and the report shows every metric per
stratum with its gap (slope and relative index of inequality for ordered strata, range
and ratios to a reference stratum otherwise) and the gradient chart.  A model that is
not stratified gives ``None`` and the report says so.
"""

from __future__ import annotations

from typing import Any

from simulator.report._board_report_figures import figure_uri
from simulator.report._board_report_sections import para, section, table

__all__ = ["equity_section", "package_equity", "report_equity"]

#: the metric whose gap the packages are compared on (who gains): referrals per 100,000 people
GAINS_METRIC = "referrals_per_100k"


def report_equity(scenario: Any, members: int, seed: int, progress: bool = False):
    """The equity metrics of a scenario's stratified model, or ``None`` if it is not stratified.

    Parameters
    ----------
    scenario
        The scenario (model, uncertainty and run settings).
    members, seed
        Ensemble size and seed (those of the report's ensemble).
    progress
        Show a progress bar.

    Returns
    -------
    EquityResult or None
    """
    from simulator.analysis._equity_run import run_equity, stratifier

    try:
        s = stratifier(scenario.model)
    except ValueError:
        return None
    return run_equity(
        scenario.model,
        scenario.design,
        by=s.name,
        members=members,
        seed=seed,
        sampler=scenario.sampler,
        months=scenario.months,
        dt=scenario.dt,
        method=scenario.method,
        progress=progress,
    )


def package_equity(scenario: Any, appraisal: Any, packages: list[Any], progress: bool = False) -> Any:
    """The appraisal with each package's gap in referrals per 100,000 (who gains), on its members.

    Parameters
    ----------
    scenario
        The scenario of a stratified model.
    appraisal
        Its packages compared (an :class:`~simulator.analysis.Appraisal`); returned unchanged if it
        already carries equity figures.
    packages
        The packages compared.
    progress
        Show a progress bar.

    Returns
    -------
    Appraisal
        A copy carrying ``equity`` (the gap per package and member).
    """
    from dataclasses import replace

    from simulator.analysis._equity_run import equity_of_packages

    if getattr(appraisal, "equity", None) is not None:
        return appraisal
    eq = equity_of_packages(
        scenario.model,
        packages,
        design=scenario.design,
        metric=GAINS_METRIC,
        members=int(appraisal.meta["members"]),
        seed=int(appraisal.meta["seed"]),
        sampler=str(appraisal.meta.get("sampler", scenario.sampler)),
        months=scenario.months,
        dt=scenario.dt,
        method=scenario.method,
        progress=progress,
    )
    return replace(appraisal, equity=eq)


def _gains_table(appraisal: Any) -> dict[str, Any]:
    t = appraisal.equity_table()
    labels = [c[: -len(" median")] for c in t.columns if c.endswith(" median")]
    rows = []
    for _, r in t.iterrows():
        cells = [str(r["package"])]
        for lab in labels:
            f = "£{:,.0f}" if lab.startswith("cost") else "{:,.4g}"
            m, a, b = r[f"{lab} median"], r[f"{lab} low"], r[f"{lab} high"]
            cells.append("not defined" if m != m else f"{f.format(m)} ({f.format(a)} to {f.format(b)})")
        cells.append(f"{r['P(narrows the gap)']:.2f}")
        rows.append(cells)
    cap = (
        "Who gains: each package's change in the gap in referrals per 100,000 people between strata "
        "(package minus baseline, member by member), the gap closed, the probability it narrows, and the "
        "cost per unit of gap closed; median (5th to 95th percentile). A narrower referral gap is not "
        "always better: fewer referrals from deprived areas narrow it too."
    )
    header = ["Package", *(lab[:1].upper() + lab[1:] for lab in labels), "P(narrows the gap)"]
    return table(cap, header, rows, range(1, len(header)), "small")


def equity_section(res: Any, appraisal: Any = None) -> dict[str, Any]:
    """Every equity metric per stratum and its gaps, median and 90% interval, and the gradient chart.

    Parameters
    ----------
    res
        An :class:`~simulator.analysis.EquityResult`.
    appraisal
        The packages compared, carrying their equity figures (:func:`package_equity`), or ``None``.

    Returns
    -------
    dict
        The "Inequality gaps" section.
    """
    from simulator.report._equity_plots import plot_gradient

    t = res.table()
    rows = [
        [r["domain"], f"{r['metric']} ({r['unit']})", r["stratum"], f"{r['median']:,.4g}",
         f"{r['low']:,.4g} to {r['high']:,.4g}"]
        for _, r in t.iterrows()
    ]  # fmt: skip
    label = res.meta.get("label") or res.dim
    if res.ordered:
        how = (
            f"Strata: {label}. SII is the fitted rate in the most advantaged minus the most disadvantaged "
            "(PHE's slope index of inequality; below 0: higher among the disadvantaged); RII their ratio."
        )
    else:
        how = f"Strata: {label}. Gaps are to the reference stratum, {res.reference}."
    cap = "Over the horizon, median and 90% interval over members; rates per stratum, then the gaps."
    tables = [table(cap, ["Domain", "Metric", "Stratum", "Median", "90% interval"], rows, (3, 4), "small")]
    if appraisal is not None and getattr(appraisal, "equity", None) is not None:
        tables.insert(0, _gains_table(appraisal))
    return section(
        "inequalities",
        "Inequality gaps",
        paragraphs=[para(how), para(f"Population by stratum: {res.meta.get('source', '')}", note=True)],
        tables=tables,
        figures=[
            {
                "src": figure_uri(plot_gradient(res, keys)),
                "caption": f"Each stratum's rate per metric: {domain}.",
            }
            for domain, keys in _by_domain(res.metrics)
        ],
    )


def _by_domain(metrics: list[str]) -> list[tuple[str, list[str]]]:
    """The metrics in one chart per domain of *Advancing Mental Health Equality* (a chart holds 12 panels)."""
    from simulator.analysis._equity_defs import DOMAINS, METRICS

    parts = [(d, [k for k in metrics if METRICS[k].domain == d]) for d in DOMAINS]
    return [(d, keys) for d, keys in parts if keys]
