"""The ``strata`` sheet of a surge workbook: strata declarations as a long table.

Columns ``stratifier``, ``setting``, ``name``, ``category``, ``value``, ``source``; one
row per fact, rows of one stratifier together:

============  ==========  ====================  =============  =====  =====================
stratifier    setting     name                  category       value  source
============  ==========  ====================  =============  =====  =====================
deprivation   category                          Q1                     (one row per category, in order)
deprivation   ordered                                          yes
deprivation   label                                            IMD 2019 quintile
deprivation   share       all                   Q1             0.22   ONS mid-2019 ...
deprivation   share       Older adults          Q1             0.17   ONS mid-2019 ...
deprivation   multiplier  g2c_pcnt              Q1             1.4    NHS Talking Therapies ...
deprivation   multiplier  success               Q1             0.9    illustrative assumption
============  ==========  ====================  =============  =====  =====================

The sheet is turned into the same declarations as a YAML ``strata`` entry
(:mod:`simulator.files._strata_spec`), with Excel row numbers as places.
"""

from __future__ import annotations

from simulator.core._problems import Problems
from simulator.core._strata import ILLUSTRATIVE, StrataDecl
from simulator.files._strata_spec import SURGE_TARGETS, read_strata
from simulator.files._yaml import Located
from simulator.surge._tables import RawTable

__all__ = ["STRATA_COLUMNS", "strata_rows", "strata_sheet"]

STRATA_COLUMNS = ("stratifier", "setting", "name", "category", "value", "source")
_SETTINGS = ("category", "ordered", "label", "population", "share", "multiplier")


def _text(v: object) -> str:
    return "" if v is None else str(v).strip()


def _row_problems(table: RawTable, problems: Problems) -> list[tuple[int, dict[str, object]]]:
    missing = [c for c in (*STRATA_COLUMNS[:4], "value") if c not in table.columns]
    if missing:
        problems.add(f"missing columns {missing}", part="strata", row=1, allowed=", ".join(STRATA_COLUMNS))
        return []
    out = []
    for r, row in zip(table.row_numbers, table.rows):
        rec = dict(zip(table.columns, row))
        if _text(rec.get("setting")) not in _SETTINGS:
            problems.add(
                f"setting {rec.get('setting')!r} is not known",
                part="strata",
                row=r,
                column="setting",
                allowed=", ".join(_SETTINGS),
            )
            continue
        out.append((r, rec))
    return out


def _entry(name: str, rows: list[tuple[int, dict[str, object]]]) -> Located:
    """One stratifier's rows as a located mapping (lines are Excel rows)."""
    first = rows[0][0]
    kids: dict[str, Located] = {"name": Located(name, first)}
    cats = [(r, _text(rec["category"])) for r, rec in rows if rec["setting"] == "category"]
    kids["categories"] = Located([c for _, c in cats], cats[0][0] if cats else first)
    for key in ("ordered", "label", "population"):
        for r, rec in rows:
            if rec["setting"] == key:
                v = rec["value"]
                if key == "ordered":
                    v = _text(v).lower() in ("yes", "true", "1", "y")
                kids[key] = Located(v, r)
    kids["shares"] = _block(rows, "share", nested=False)
    mult = _block(rows, "multiplier", nested=True)
    kids["multipliers"] = Located([c.value for c in mult.children], first, list(mult.children))
    return Located({k: v.value for k, v in kids.items()}, first, kids)


def _block(rows: list[tuple[int, dict[str, object]]], setting: str, nested: bool) -> Located:
    """Share rows as ``{source, GROUP: {category: value}}``, or multipliers as a list of entries."""
    by_name: dict[str, list[tuple[int, dict[str, object]]]] = {}
    for r, rec in rows:
        if rec["setting"] == setting:
            by_name.setdefault(_text(rec["name"]) or "all", []).append((r, rec))
    entries: dict[str, Located] = {}
    sources: list[tuple[int, str]] = []
    for key, items in by_name.items():
        values = {_text(rec["category"]): rec["value"] for _, rec in items}
        entries[key] = Located(values, items[0][0])
        sources += [(r, _text(rec.get("source"))) for r, rec in items if _text(rec.get("source"))]
        if nested:
            entries[key] = _multiplier(key, entries[key], items)
    if nested:
        return Located(None, 0, list(entries.values()))
    kids = dict(entries)
    if sources:
        kids.update(_source(sources[0][1], sources[0][0]))
    return Located({k: v.value for k, v in kids.items()}, rows[0][0], kids)


def _source(text: str, r: int) -> dict[str, Located]:
    if text.lower() in ("illustrative", ILLUSTRATIVE):
        return {"assumption": Located("illustrative", r)}
    return {"source": Located(text, r)}


def _multiplier(param: str, values: Located, items: list[tuple[int, dict[str, object]]]) -> Located:
    r = items[0][0]
    kids = {"parameter": Located(param, r), "values": values}
    src = next((_text(rec.get("source")) for _, rec in items if _text(rec.get("source"))), "")
    if src:
        kids.update(_source(src, r))
    return Located({k: v.value for k, v in kids.items()}, r, kids)


def strata_sheet(table: RawTable | None, problems: Problems) -> tuple[StrataDecl, ...]:
    """Declarations from a workbook's ``strata`` sheet (none if the workbook has no such sheet).

    Parameters
    ----------
    table
        The sheet as read, or ``None``.
    problems
        Where problems are recorded, with the sheet's row numbers.

    Returns
    -------
    tuple of StrataDecl
        One per stratifier, in the order of their first rows (population: ``size``).
    """
    if table is None:
        return ()
    rows = _row_problems(table, problems)
    groups: dict[str, list[tuple[int, dict[str, object]]]] = {}
    for r, rec in rows:
        groups.setdefault(_text(rec["stratifier"]), []).append((r, rec))
    entries = [_entry(name, items) for name, items in groups.items()]
    sub = Problems(file=problems.file, part_kind="sheet")
    decls = read_strata(
        Located([e.value for e in entries], 1, entries), sub, population="size", targets=SURGE_TARGETS
    )
    for p in sub.items:  # lines of the synthetic tree are sheet rows
        problems.add(p.message, part="strata", row=p.line, allowed=p.allowed, severity=p.severity)
    return decls


def strata_rows(decls) -> list[list[object]]:
    """The ``strata`` sheet of declarations (header first), read back by :func:`strata_sheet`.

    Parameters
    ----------
    decls
        The declarations (population ``size`` and the surge targets are the sheet's defaults).

    Returns
    -------
    list of list
        Rows of ``stratifier, setting, name, category, value, source``.
    """
    rows: list[list[object]] = [list(STRATA_COLUMNS)]
    for d in decls:
        rows += [[d.name, "category", None, c, None, None] for c in d.categories]
        rows.append([d.name, "ordered", None, None, "yes" if d.ordered else "no", None])
        if d.label:
            rows.append([d.name, "label", None, None, d.label, None])
        for key, row in d.shares.items():
            rows += [[d.name, "share", key, c, v, d.shares_source] for c, v in zip(d.categories, row)]
        for m in d.multipliers:
            rows += [[d.name, "multiplier", m.param, c, v, m.source] for c, v in zip(d.categories, m.values)]
    return rows
