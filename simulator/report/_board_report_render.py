"""Draw a board report: its sections in order, then the page."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from simulator.report._board_report_analyses import (
    assumptions_section,
    inequalities_section,
    interventions_section,
    map_section,
)
from simulator.report._board_report_data import month_date
from simulator.report._board_report_equity import equity_section
from simulator.report._board_report_figures import appraisal_figures, ensemble_figures, svg_uri
from simulator.report._board_report_page import render_page
from simulator.report._board_report_provenance import provenance
from simulator.report._board_report_sections import (
    capacity_section,
    demand_section,
    headline_section,
    surge_table_section,
)
from simulator.report._system_map import system_map

__all__ = ["render_report"]


def _version() -> str:
    try:
        return version("upstream")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _lead(report: Any) -> list[str]:
    sc, a = report.scenario, report.appraisal
    n = report.ensemble.attrs.get("members")
    text = [
        f"{sc.model.name} over {sc.months} months from {month_date(sc.model.spec.start, 0)}: "
        f"{n:,} equally likely futures drawn from {len(sc.groups)} uncertain quantities; every figure below is "
        "the median future with the range 90% of futures fall in."
    ]
    if a is not None:
        main = a.main_outcome
        av = a.averted(main)
        best = max(
            (p for p in a.packages if p != "baseline"), key=lambda p: float(av.sel(package=p).median())
        )
        text.append(
            f"Of the {len(a.packages) - 1} packages compared, {best} averts the most {main} "
            f"(median {float(av.sel(package=best).median()):,.0f})."
        )
    return text


def _method(report: Any) -> str:
    sc, attrs = report.scenario, report.ensemble.attrs
    return (
        f"Scenario: {sc.name}. {attrs.get('members', 0):,} members, seed {attrs.get('seed')}, "
        f"{attrs.get('sampler')} sampler, step {sc.dt:g} month(s), {sc.method}. Generated {report.created} by "
        f"Upstream {_version()}."
    )


def render_report(report: Any) -> str:
    """The HTML of a :class:`~simulator.report.BoardReport`.

    Parameters
    ----------
    report
        The report's parts.

    Returns
    -------
    str
        The self-contained document.
    """
    sc, ens, a = report.scenario, report.ensemble, report.appraisal
    assumed = str(ens.summary.attrs.get("assumed_capacity", ""))
    services = sc.services or None
    fans = ensemble_figures(ens, services)
    smap = system_map(sc.model, report.month, packages=report.packages, dt=sc.dt)
    body = [
        headline_section(report.headline, sc.model.spec.start, _lead(report)),
        demand_section(fans),
        surge_table_section(ens),
        capacity_section(ens, fans, assumed),
        interventions_section(a, appraisal_figures(a, ens.by_service) if a is not None else []),
        inequalities_section(equity_section(report.equity, a) if report.equity is not None else None),
        map_section(svg_uri(smap.to_svg()), smap.notes),
        assumptions_section(provenance(sc.model, sc, report.packages, assumed)),
    ]
    return render_page(
        {
            "title": f"{sc.name}: board report",
            "subtitle": sc.description or sc.model.spec.description,
            "method": _method(report),
            "footer": "Upstream: system dynamics of post-Covid mental health demand. Figures are model "
            "projections under the assumptions listed, not forecasts.",
            "body": body,
        }
    )
