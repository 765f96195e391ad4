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

__all__ = ["equity_section", "report_equity"]


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


def equity_section(res: Any) -> dict[str, Any]:
    """Every equity metric per stratum and its gaps, median and 90% interval, and the gradient chart.

    Parameters
    ----------
    res
        An :class:`~simulator.analysis.EquityResult`.

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
    return section(
        "inequalities",
        "Inequality gaps",
        paragraphs=[para(how), para(f"Population by stratum: {res.meta.get('source', '')}", note=True)],
        tables=[table(cap, ["Domain", "Metric", "Stratum", "Median", "90% interval"], rows, (3, 4), "small")],
        figures=[{"src": figure_uri(plot_gradient(res)), "caption": "Each stratum's rate per metric."}],
    )
