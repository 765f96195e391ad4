"""Assumptions and provenance: where every number of a report comes from.

Rows are gathered from the places sources live: the model file (its own ``source``
and licence, each table's source for surge workbooks and YAML, each parameter's and
series' ``source``), the scenario (each uncertainty group's ``source``), the
intervention files (the effect's ``source`` and the file's own notes, e.g. that
costs are illustrative) and the package files.  A row is an **illustrative
assumption** when its source says so ("illustrative" or "assumption"); those rows
are also listed together, so a board sees at once what is not data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.report._system_map_info import dist_text

__all__ = ["Source", "file_notes", "is_assumption", "provenance"]

#: words that mark a source as an assumption rather than data
ASSUMPTION_WORDS = ("illustrative", "assumption", "assumed")


@dataclass(frozen=True)
class Source:
    """One line of provenance.

    Attributes
    ----------
    kind
        ``model``, ``table``, ``parameter``, ``series``, ``uncertainty``, ``intervention``,
        ``package`` or ``capacity``.
    name
        What it is (a parameter's name, a group's name ...).
    detail
        Its unit, elements, distribution or effect.
    source
        Where it comes from, as the file says.
    """

    kind: str
    name: str
    detail: str
    source: str

    @property
    def assumption(self) -> bool:
        """Whether the source calls it an assumption (illustrative) rather than data."""
        return is_assumption(self.source)


def is_assumption(text: str) -> bool:
    """Whether a source text marks an illustrative assumption.

    Parameters
    ----------
    text
        A source text.

    Returns
    -------
    bool
    """
    low = text.lower()
    return any(w in low for w in ASSUMPTION_WORDS)


def file_notes(path: Path | None) -> str:
    """The comment lines a YAML file opens with (its own notes on what is data and what is not).

    Parameters
    ----------
    path
        The file, or ``None``.

    Returns
    -------
    str
        The notes joined into one text ("" if none or the file is unreadable).
    """
    if path is None:
        return ""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    notes = []
    for line in lines:
        if not line.startswith("#"):
            break
        notes.append(line.lstrip("#").strip())
    return " ".join(n for n in notes if n)


def _model_rows(model: Any) -> list[Source]:
    spec = model.spec
    rows = [Source("model", model.name, spec.description, spec.source or "no source given")]
    tables = getattr(model, "tables", None)
    licence = getattr(tables, "meta", {}).get("licence") if tables is not None else None
    if licence:
        rows.append(Source("model", f"{model.name}: licence", "", str(licence)))
    for name, text in (getattr(tables, "sources", None) or {}).items():
        rows.append(Source("table", name, "table of the model file", text))
    rows += _strata_rows(model)
    for p in spec.params:
        dims = " x ".join(p.space.dims) or "one value"
        rows.append(Source("parameter", p.name, f"{p.unit or 'no unit'}; {dims} ({len(p.space)})", p.source))
    for s in spec.series:
        dims = " x ".join(s.space.dims) or "one series"
        rows.append(
            Source("series", s.name, f"{s.unit or 'no unit'}; {dims}, {len(s.times)} times", s.source)
        )
    return rows


def _strata_rows(model: Any) -> list[Source]:
    """Strata of a stratified model: who is in each stratum, and each parameter's multipliers."""
    strata = getattr(model, "strata", None) or model.spec.meta.get("strata") or ()
    rows = []
    for s in strata:
        rows.append(Source("strata", s.name, f"{s.label}: {', '.join(s.categories)}", s.source))
        for param, (values, text) in (getattr(s, "multipliers", None) or {}).items():
            detail = f"{param} x ({', '.join(f'{v:g}' for v in values)}) by {s.name}"
            rows.append(Source("strata", f"{param} by {s.name}", detail, text))
    return rows


def _scenario_rows(scenario: Any) -> list[Source]:
    rows = []
    if scenario.path is not None:
        rows.append(Source("scenario", scenario.name, str(scenario.path.name), file_notes(scenario.path)))
    for g in scenario.groups:
        sel = "; ".join(f"{d}: {', '.join(v)}" for d, v in g.select.items()) or "every element"
        detail = f"{g.parameter} ({sel}), {g.apply} by {dist_text(g.distribution)}, {g.mode}"
        rows.append(Source("uncertainty", g.name, detail, g.source))
    return rows


def _package_rows(packages: Sequence[Any]) -> list[Source]:
    rows = []
    seen: set[str] = set()
    for pkg in packages:
        names = ", ".join(iv.name for iv in pkg.interventions)
        rows.append(Source("package", pkg.name, f"{pkg.description} Interventions: {names}".strip(), ""))
        for iv in pkg.interventions:
            if iv.name in seen:
                continue
            seen.add(iv.name)
            detail = (
                f"{iv.tier}, lever {iv.lever}; effect {iv.effect_type} {iv.effect}; coverage {iv.coverage}"
            )
            rows.append(Source("intervention", iv.name, detail, iv.source or "no source given"))
            notes = file_notes(iv.path)
            if notes:
                rows.append(Source("intervention", f"{iv.name}: file notes", "costs and effects", notes))
    return rows


def provenance(
    model: Any, scenario: Any = None, packages: Sequence[Any] = (), assumed: str = ""
) -> list[Source]:
    """Every source behind a report: model, tables, parameters, series, uncertainty, interventions.

    Parameters
    ----------
    model
        The model run.
    scenario
        Its scenario (uncertainty groups), or ``None``.
    packages
        Intervention packages compared.
    assumed
        The run's ``assumed_capacity`` note (capacities not given as data), if any.

    Returns
    -------
    list of Source
        In the order model, tables, parameters, series, uncertainty groups, packages and interventions.
    """
    rows = _model_rows(model)
    if assumed:
        rows.append(
            Source(
                "capacity",
                "assumed capacity",
                "; ".join(assumed.split("; ")[:6]) + (" ..." if assumed.count("; ") >= 6 else ""),
                "illustrative assumption (Upstream): no capacity given as data; pre-pandemic throughput x headroom",
            )
        )
    if scenario is not None:
        rows += _scenario_rows(scenario)
    return rows + _package_rows(packages)
