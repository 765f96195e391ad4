"""Surge models as human-readable YAML: the six workbook tables, each with its source.

Layout::

    upstream: model
    kind: surge
    name: England
    start: 2020-05            # calendar month of model month 0
    source: ...               # where the numbers come from, and their licence
    tables:
      groups:
        source: ...           # provenance of this table
        columns: [group, curve, size, pcnt]
        rows:
          - [Children & young people, Fluctuating Fears, 8819765, 10]
      ...

Every table has the same columns as the workbook sheet of the same name, so
a planner can move between the two without re-deriving a number
(``upstream convert``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.core._problems import Problems
from simulator.files._strata_write import strata_mapping
from simulator.files._yaml import Located, dump_model_yaml, flow
from simulator.surge._tables import OPTIONAL_SHEETS, SCHEMA, SHEETS, RawTable, SurgeTables, tables_to_raw

__all__ = ["SCHEMA", "read_surge_yaml", "surge_yaml_data", "write_surge_yaml"]


def read_surge_yaml(root: Located, problems: Problems) -> tuple[dict[str, RawTable], dict[str, object]]:
    """Raw tables and top-level metadata from a parsed surge YAML file.

    Parameters
    ----------
    root
        The parsed file, with line numbers (:func:`simulator.files._yaml.load_with_lines`).
    problems
        Where problems of the file's layout are recorded (with their lines).

    Returns
    -------
    tuple
        Raw tables by name (the tables readable as columns and rows), and the
        ``name``, ``description``, ``source``, ``licence`` and ``start`` given.
    """
    meta: dict[str, object] = {}
    for key in ("name", "description", "source", "licence", "start"):
        loc = root.get(key)
        if loc is not None:
            meta[key] = loc.value
    tables = root.get("tables")
    if tables is None or not isinstance(tables.value, dict):
        problems.add(
            "the file has no 'tables' mapping",
            line=root.line,
            allowed="tables: with " + ", ".join(SHEETS),
        )
        return {}, meta
    out: dict[str, RawTable] = {}
    for name, loc in (tables.children or {}).items():
        if name not in SHEETS and name not in OPTIONAL_SHEETS:
            problems.warn(f"unknown table {name!r} ignored", part=name, line=loc.line)
            continue
        table = _read_table(name, loc, problems)
        if table is not None:
            out[name] = table
    return out, meta


def _read_table(name: str, loc: Located, problems: Problems) -> RawTable | None:
    """One table (``source``, ``columns``, ``rows``); ``None`` if it has no columns or rows."""
    if not isinstance(loc.value, dict):
        problems.add("must be a mapping with columns and rows", part=name, line=loc.line)
        return None
    cols = loc.get("columns")
    rows = loc.get("rows")
    src = loc.get("source")
    if cols is None or not isinstance(cols.value, list):
        problems.add("has no 'columns' list", part=name, line=loc.line, allowed="columns: [...]")
        return None
    if rows is None or not isinstance(rows.value, list):
        problems.add("has no 'rows' list", part=name, line=loc.line, allowed="rows: - [...]")
        return None
    if src is None or not str(src.value or "").strip():
        problems.add(
            "has no 'source' note",
            part=name,
            line=loc.line,
            allowed="source: where these numbers come from",
        )
    data: list[list[object]] = []
    numbers: list[int] = []
    lines: list[int | None] = []
    for i, r in enumerate(rows.items(), start=1):
        if isinstance(r.value, dict):
            data.append([r.value.get(c) for c in cols.value])
        elif isinstance(r.value, list):
            if len(r.value) != len(cols.value):
                problems.add(
                    f"has {len(r.value)} values for {len(cols.value)} columns",
                    part=name,
                    row=i,
                    line=r.line,
                    allowed="one value per column",
                )
                continue
            data.append(list(r.value))
        else:
            problems.add("is not a list of values", part=name, row=i, line=r.line)
            continue
        numbers.append(i)
        lines.append(r.line)
    return RawTable(
        name,
        [str(c) for c in cols.value],
        data,
        numbers,
        lines,
        str(src.value) if src is not None and src.value else None,
        cols.line,
    )


def surge_yaml_data(tables: SurgeTables) -> dict:
    """The YAML mapping for surge tables.

    Parameters
    ----------
    tables
        Validated surge tables.

    Returns
    -------
    dict
        ``upstream``, ``kind``, ``name``, the metadata given, ``start`` (``YYYY-MM``)
        and ``tables`` (each with ``source``, ``columns`` and ``rows``).
    """
    raw = tables_to_raw(tables)
    meta = tables.meta
    data: dict[str, object] = {"upstream": "model", "kind": "surge", "name": tables.name}
    for key in ("description", "source", "licence"):
        if meta.get(key):
            data[key] = meta[key]
    if tables.start is not None:
        data["start"] = pd.Timestamp(tables.start).strftime("%Y-%m")
    data["tables"] = {
        name: {
            "source": tables.sources.get(name, "not recorded"),
            "columns": flow(raw[name].columns),
            "rows": [flow(r) for r in raw[name].rows],
        }
        for name in (*SHEETS, *(s for s in OPTIONAL_SHEETS if s in raw))
    }
    if meta.get("strata"):  # a stratified model keeps its strata
        data["strata"] = [strata_mapping(d) for d in meta["strata"]]  # type: ignore[attr-defined]
    return data


def write_surge_yaml(tables: SurgeTables, path: str | Path | None, header: str = "") -> str:
    """Write surge tables as a YAML model file.

    Parameters
    ----------
    tables
        Validated surge tables.
    path
        The file to write (``None``: only return the text).
    header
        Comment lines to put at the top of the file.

    Returns
    -------
    str
        The text written.
    """
    return dump_model_yaml(surge_yaml_data(tables), path, header)
