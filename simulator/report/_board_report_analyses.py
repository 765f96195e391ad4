"""The board report's later sections: interventions compared, inequality gaps, the map, provenance.

The interventions come from the appraisal API (:class:`~simulator.analysis.Appraisal`:
its table, pairwise probabilities and figures), as ``upstream compare-interventions``
shows them.  Inequality gaps of stratified models come from
:mod:`~simulator.report._board_report_equity`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from simulator.report._board_report_provenance import Source
from simulator.report._board_report_sections import para, section, table

__all__ = ["assumptions_section", "inequalities_section", "interventions_section", "map_section"]


def _money(x: float) -> str:
    return "not defined" if not np.isfinite(x) else f"£{x:,.0f}"


def _package_rows(appraisal: Any) -> tuple[list[str], list[list[str]]]:
    t = appraisal.table()
    main = appraisal.main_outcome
    unit = "referral" if main == "referrals" else main
    labels = list(appraisal.outcomes.values())
    header = ["Package", *(lab.capitalize() for lab in labels), "Cost", f"Cost per {unit} averted"]
    rows = []
    for _, r in t.iterrows():
        cells = [str(r["package"])]
        for lab in labels:
            cells.append(f"{r[f'{lab} median']:,.0f} ({r[f'{lab} low']:,.0f} to {r[f'{lab} high']:,.0f})")
        cells.append(f"{_money(r['cost median'])} ({_money(r['cost low'])} to {_money(r['cost high'])})")
        averted = appraisal.outcomes[main]
        if r[f"{averted} low"] <= 0 <= r[f"{averted} high"]:
            cells.append("not defined (the averted interval includes 0)")
        else:
            per = f"cost per {unit} averted"
            cells.append(
                f"{_money(r[f'{per} median'])} ({_money(r[f'{per} low'])} to {_money(r[f'{per} high'])})"
            )
        rows.append(cells)
    return header, rows


def interventions_section(appraisal: Any, figures: list[tuple[str, str]]) -> dict[str, Any]:
    """Packages against the baseline on common draws: outcomes, costs, who beats whom, the frontier.

    Parameters
    ----------
    appraisal
        An :class:`~simulator.analysis.Appraisal`, or ``None`` when no package was given.
    figures
        ``(key, data address)`` from :func:`~simulator.report._board_report_figures.appraisal_figures`.

    Returns
    -------
    dict
    """
    heading = "Interventions compared"
    if appraisal is None:
        text = "No intervention package was compared: name packages (--package) to compare them here."
        return section("interventions", heading, paragraphs=[para(text, note=True)])
    members = appraisal.meta.get("members")
    header, rows = _package_rows(appraisal)
    cap = (
        f"What each package averts against the baseline over the horizon, median (5th to 95th percentile) over "
        f"{members:,} members sharing the same draws; costs in pounds."
    )
    main = appraisal.main_outcome
    beats = appraisal.beats(main).round(2)
    names = list(beats.columns)
    brows = [[a, *("" if a == b else f"{beats.loc[a, b]:.2f}" for b in names)] for a in names]
    bcap = f"Probability that the row's package averts more {main} than the column's (share of members)."
    captions = {
        "frontier": "Outcome averted against cost per package (median, bars: 90% interval); the efficient "
        "frontier joins the packages no cheaper package beats.",
        "averted": "Referrals averted per month by each package, all services (median and 90% band).",
    }
    figs = [{"src": src, "caption": captions.get(k, k)} for k, src in figures]
    return section(
        "interventions",
        heading,
        paragraphs=[
            para("Effects, coverage and costs of the interventions are listed in Assumptions and provenance.")
        ],
        tables=[
            table(cap, header, rows, cls="small"),
            table(bcap, ["", *names], brows, range(1, len(names) + 1)),
        ],
        figures=figs,
    )


def inequalities_section(hooked: dict[str, Any] | None) -> dict[str, Any]:
    """The inequality section of a stratified model, or a note that the model is not stratified.

    Parameters
    ----------
    hooked
        :func:`~simulator.report._board_report_equity.equity_section`'s section, or ``None``.

    Returns
    -------
    dict
    """
    if hooked is not None:
        return hooked
    text = (
        "This model is not stratified (by deprivation, ethnicity or age), so no inequality gaps are shown. "
        "Gaps between strata appear here for stratified models."
    )
    return section("inequalities", "Inequality gaps", paragraphs=[para(text, note=True)])


def map_section(svg_src: str, notes: Sequence[str]) -> dict[str, Any]:
    """The system map as a static picture.

    Parameters
    ----------
    svg_src
        The map's SVG as a ``data:`` address.
    notes
        The map's notes (what widths mean).

    Returns
    -------
    dict
    """
    caption = (
        "System map: " + " ".join(notes) + " Interventions (purple) are joined to where their lever acts."
    )
    lead = para(
        "Where demand comes from and where it goes: `upstream map MODEL -o map.html` draws the same map "
        "interactively (click a node for its parameters and sources)."
    )
    return section(
        "system-map", "System map", paragraphs=[lead], figures=[{"src": svg_src, "caption": caption}]
    )


def assumptions_section(sources: list[Source]) -> dict[str, Any]:
    """Every parameter's source, and every illustrative assumption listed on its own.

    Parameters
    ----------
    sources
        :func:`~simulator.report._board_report_provenance.provenance`.

    Returns
    -------
    dict
    """
    assumed = [s for s in sources if s.assumption]
    header = ["Kind", "Name", "What", "Source"]
    first = table(
        f"Illustrative assumptions: {len(assumed)} items whose sources say they are assumptions, not data.",
        header,
        [[s.kind, s.name, s.detail, s.source] for s in assumed],
        cls="small",
    )
    rows = [
        [s.kind, s.name, s.detail, s.source, "illustrative assumption" if s.assumption else ""]
        for s in sources
    ]
    every = table(
        f"Every source: {len(sources)} items (model, its tables and parameters, uncertainty ranges, packages and "
        "interventions).",
        [*header, "Marked"],
        rows,
        cls="small",
    )
    return section(
        "assumptions",
        "Assumptions and provenance",
        paragraphs=[para("Numbers are only as good as their sources: these are all of them.")],
        tables=[first, every],
    )
