"""The board report's first sections: headline figures, demand over time, the surge table, capacity.

Each function takes the report's parts and returns one section as plain data for
the page template (:mod:`~simulator.report._board_report_page`): paragraphs,
headline cards, figures and tables, all text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.report._board_report_data import Figure, figure_table, month_date

__all__ = [
    "capacity_section",
    "demand_section",
    "headline_section",
    "para",
    "section",
    "surge_table_section",
    "table",
]

#: ensemble-table figures of the capacity section
CAPACITY_FIGURES = ("peak waiting", "peak waiting month", "peak mean wait", "escalations")
#: captions of the fan charts
FAN_CAPTIONS = {
    "referrals": "Surge referrals per month (people), median and bands over members, above the underlying "
    "(pre-pandemic) referrals each service already receives (grey).",
    "caseload": "People in treatment per month, median and bands over members.",
    "waiting": "People on waiting lists, median and bands over members.",
}


def section(sid: str, heading: str, **parts: Any) -> dict[str, Any]:
    """One section for the page template.

    Parameters
    ----------
    sid, heading
        Element id and heading.
    **parts
        ``paragraphs``, ``cards``, ``figures``, ``tables`` (lists; missing ones are empty).

    Returns
    -------
    dict
    """
    out: dict[str, Any] = {"id": sid, "heading": heading}
    for k in ("paragraphs", "cards", "figures", "tables"):
        out[k] = list(parts.get(k, ()))
    return out


def para(text: str, note: bool = False) -> dict[str, Any]:
    """A paragraph (``note``: in the muted style).

    Parameters
    ----------
    text
        The paragraph.
    note
        Muted (a remark, not a finding).

    Returns
    -------
    dict
    """
    return {"text": text, "note": note}


def table(
    caption: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: Sequence[int] = (),
    cls: str = "",
) -> dict[str, Any]:
    """A table for the page template.

    Parameters
    ----------
    caption
        What it shows (units, intervals).
    header
        Column headings.
    rows
        Cells (text or numbers).
    numeric
        Positions of right-aligned columns.
    cls
        CSS class (``"small"`` for long provenance tables).

    Returns
    -------
    dict
    """
    return {
        "caption": caption,
        "header": list(header),
        "rows": [[str(c) for c in r] for r in rows],
        "numeric": list(numeric),
        "cls": cls,
    }


def headline_section(figures: list[Figure], start: str | None, lead: list[str]) -> dict[str, Any]:
    """Headline cards: median, 90% interval and unit of each whole-system figure.

    Parameters
    ----------
    figures
        :func:`~simulator.report._board_report_data.headline_figures`.
    start
        The model's start (``"2020-05"``) for the peaks' dates.
    lead
        Opening sentences (what was run; the best package).

    Returns
    -------
    dict
    """
    cards = []
    for f in figures:
        name = f.name
        if f.peak_month is not None:
            name += f" (median peak: {month_date(start, f.peak_month)})"
        cards.append(
            {
                "key": f.key,
                "name": name,
                "value": f"{f.median:,.0f}",
                "interval": f"{f.low:,.0f} to {f.high:,.0f}",
                "unit": f.unit,
            }
        )
    return section("headline", "Headline figures", paragraphs=[para(t) for t in lead], cards=cards)


def demand_section(fans: list[tuple[str, str]]) -> dict[str, Any]:
    """Fan charts of referrals and caseload.

    Parameters
    ----------
    fans
        ``(output, data address)`` from :func:`~simulator.report._board_report_figures.ensemble_figures`.

    Returns
    -------
    dict
    """
    figs = [
        {"src": src, "caption": FAN_CAPTIONS.get(key, f"{key}: median and bands over members.")}
        for key, src in fans
        if key != "waiting"
    ]
    note = para("Bands: the darker 25% to 75% and the lighter 5% to 95% of members.", note=True)
    return section("demand", "Demand over time", paragraphs=[note], figures=figs)


def surge_table_section(ensemble: Any) -> dict[str, Any]:
    """The surge table: per service, median and 90% interval of each horizon figure.

    Parameters
    ----------
    ensemble
        An :class:`~simulator.analysis.EnsembleResult`.

    Returns
    -------
    dict
    """
    key = "service" if ensemble.by_service else "variable"
    t = ensemble.table()
    if not ensemble.by_service:
        t = t.assign(variable=[f"{v} {e}".strip() for v, e in zip(t["variable"], t["element"])])
    cells = figure_table(t, key)
    header = [key.capitalize(), *(str(c).capitalize() for c in cells.columns[1:])]
    cap = (
        "Median (5th to 95th percentile) over members; totals in people over the horizon, peaks in people "
        "(caseload, waiting) or people per month, peak months from the start; largest referrals first."
    )
    rows = cells.to_numpy().tolist()
    return section(
        "surge-table", "The surge table", tables=[table(cap, header, rows, range(1, len(header)), "small")]
    )


def capacity_section(ensemble: Any, fans: list[tuple[str, str]], assumed: str) -> dict[str, Any]:
    """Waiting lists, waits and escalations per service (capacity models), or why there are none.

    Parameters
    ----------
    ensemble
        An :class:`~simulator.analysis.EnsembleResult`.
    fans
        The fan charts (the waiting-list chart is shown here).
    assumed
        The ``assumed_capacity`` note: capacities that are Upstream's assumption, not data.

    Returns
    -------
    dict
    """
    heading = "Capacity pressure"
    if "waiting" not in ensemble.summary:
        text = (
            "This model has no service capacities, so every referral accepted starts treatment at once. "
            "Run a capacity model (e.g. scenarios/england-capacity.yaml) for waiting lists, waits and "
            "escalations to crisis services."
        )
        return section("capacity", heading, paragraphs=[para(text, note=True)])
    cells = figure_table(ensemble.table(), "service", CAPACITY_FIGURES)
    cap = (
        "Median (5th to 95th percentile): people waiting at the peak, its month, the mean wait (months) and "
    )
    cap += "people escalating from waiting lists over the horizon."
    header = ["Service", *(str(c).capitalize() for c in cells.columns[1:])]
    figs = [{"src": src, "caption": FAN_CAPTIONS["waiting"]} for key, src in fans if key == "waiting"]
    paras = [para("Waiting lists form where referrals accepted exceed a service's capacity.")]
    if assumed:
        paras.append(
            para(
                "Some capacities are not data: they are Upstream's illustrative assumption (pre-pandemic "
                "throughput x headroom); see Assumptions and provenance.",
                note=True,
            )
        )
    rows = cells.to_numpy().tolist()
    return section(
        "capacity",
        heading,
        paragraphs=paras,
        figures=figs,
        tables=[table(cap, header, rows, range(1, len(header)))],
    )
