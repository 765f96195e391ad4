"""Parsing a raw table's cells into a typed frame, recording a problem for every cell not allowed.

:func:`table_frame` returns a data frame with the table's columns plus ``_row``
and ``_line`` (where each row came from, for messages) and ``_ok`` (whether
every cell of the row parsed).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TypedDict

import numpy as np
import pandas as pd

from simulator.core._problems import Problems
from simulator.surge._tables_schema import KEYS, ColumnType, RawTable

__all__ = [
    "FormulaCell",
    "Where",
    "check_duplicates",
    "check_known",
    "check_known_column",
    "row_ranges",
    "table_frame",
    "where",
]


class FormulaCell(str):
    """A workbook cell holding a formula with no value saved beside it (the formula's text).

    Upstream reads the values a spreadsheet program saved with the workbook; a workbook
    written by a program that does not compute formulas (openpyxl, a script) saves none,
    so the cell would otherwise look blank.
    """


def _formula(v: object, wanted: str) -> str | None:
    """The problem with a formula in a cell (``None``: not a formula)."""
    if isinstance(v, FormulaCell):
        return (
            f"is a formula ({str(v)[:40]}), not {wanted}: its value was never computed and saved; "
            "type the value, or open and save the workbook in a spreadsheet program"
        )
    if isinstance(v, str) and v.strip().startswith("=") and wanted != "text":
        return f"is a formula ({v.strip()[:40]}), not {wanted}: type the value itself"
    return None


def _number(v: object) -> tuple[float | None, str | None]:
    """Parse a numeric cell: (value, problem)."""
    formula = _formula(v, "a number")
    if formula:
        return None, formula
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, "is blank"
    if isinstance(v, bool):
        return None, f"is {v!r}, not a number"
    if isinstance(v, int | float | np.integer | np.floating):
        f = float(v)
        if math.isnan(f):
            return None, "is NaN"
        if math.isinf(f):
            return None, "is infinite"
        return f, None
    if isinstance(v, str):
        try:
            f = float(v.strip().replace(",", ""))
        except ValueError:
            return None, f"is the text {v!r}, not a number"
        if not math.isfinite(f):
            return None, f"is {v!r}, not a finite number"
        return f, None
    return None, f"is {type(v).__name__} {v!r}, not a number"


def _date(v: object) -> tuple[pd.Timestamp | None, str | None]:
    formula = _formula(v, "a date")
    if formula:
        return None, formula
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, "is blank"
    if isinstance(v, _dt.datetime | _dt.date | pd.Timestamp):
        return pd.Timestamp(v), None
    if isinstance(v, str):
        try:
            return pd.Timestamp(v.strip()), None
        except (ValueError, TypeError):
            return None, f"is {v!r}, not a date"
    return None, f"is {v!r}, not a date"


def _parse_cell(ct: ColumnType, v: object) -> tuple[object, str | None]:
    if ct.optional and (
        v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))
    ):
        return None, None
    if ct.optional and isinstance(v, str) and v.strip().lower() == "default":
        return None, None
    if ct.kind == "name":
        formula = _formula(v, "text")
        if formula:
            return None, formula
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None, "is blank"
        s = str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v))
        return (s, None) if s else (None, "is blank")
    if ct.kind == "date":
        return _date(v)
    f, err = _number(v)
    if err:
        return None, err
    assert f is not None
    if ct.kind == "month":
        if f < 0 or not float(f).is_integer():
            return None, f"is {f:g}"
        return int(f), None
    if ct.low is not None and (f < ct.low or (ct.low_open and f <= ct.low)):
        return None, f"is {f:g}" + (" (negative)" if f < 0 else "")
    if ct.high is not None and f > ct.high:
        return None, ct.too_high(f)
    return f, None


def table_frame(raw: RawTable, types: dict[str, ColumnType], problems: Problems) -> pd.DataFrame | None:
    """Parse the columns of ``types`` from ``raw``; ``None`` if columns are missing.

    Parameters
    ----------
    raw
        The table as read.
    types
        Column name -> how to parse its cells (other columns are ignored).
    problems
        Where missing or repeated columns and cells not allowed are recorded.

    Returns
    -------
    pandas.DataFrame or None
        The parsed columns (``None`` in cells not allowed) plus ``_row``, ``_line``
        and ``_ok``; ``None`` if a column is missing or repeated.
    """
    header = [str(c).strip() if c is not None else "" for c in raw.columns]
    missing = [c for c in types if c not in header]
    for c in missing:
        problems.add(
            f"column {c!r} is missing",
            part=raw.name,
            line=raw.header_line,
            allowed="columns " + ", ".join(types),
        )
    dup = sorted({c for c in header if c and header.count(c) > 1})
    for c in dup:
        problems.add(f"column {c!r} appears more than once", part=raw.name, line=raw.header_line)
    if missing or dup:
        return None
    pos = {c: header.index(c) for c in types}
    data: dict[str, list[object]] = {c: [] for c in types}
    ok = []
    for i, row in enumerate(raw.rows):
        good = True
        for c, ct in types.items():
            v = row[pos[c]] if pos[c] < len(row) else None
            val, err = _parse_cell(ct, v)
            if err:
                good = False
                problems.add(
                    err if ct.what is not None and err.startswith(ct.what) else f"value {err}",
                    part=raw.name,
                    row=raw.row_numbers[i],
                    column=c,
                    allowed=ct.allowed(),
                    line=raw.lines[i] if raw.lines else None,
                )
            data[c].append(val)
        ok.append(good)
    df = pd.DataFrame(data)
    df["_row"] = raw.row_numbers
    df["_line"] = raw.lines if raw.lines else [None] * len(raw.rows)
    df["_ok"] = ok
    return df


class Where(TypedDict):
    """Where a row came from, as keywords of :meth:`Problems.add`."""

    row: int
    line: int | None


def where(df: pd.DataFrame, i: int) -> Where:
    """Where row ``i`` of a parsed frame came from: ``row`` and ``line`` keywords for a problem.

    Parameters
    ----------
    df
        A frame from :func:`table_frame`.
    i
        Position of the row in ``df``.

    Returns
    -------
    Where
        ``row`` (the user-visible row number) and ``line`` (the text line, or ``None``).
    """
    line = df["_line"].iloc[i]
    return Where(
        row=int(df["_row"].iloc[i]),
        line=None if line is None or pd.isna(line) else int(line),
    )


def check_duplicates(name: str, df: pd.DataFrame, problems: Problems) -> None:
    """Record a problem for every parsed row whose key (:data:`KEYS`) an earlier row has.

    Parameters
    ----------
    name
        The table's name.
    df
        Its frame from :func:`table_frame`.
    problems
        Where duplicates are recorded.
    """
    keys = list(KEYS[name])
    d = df[df["_ok"]]
    dup = d.duplicated(keys, keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        first = d[(d[keys] == d[keys].iloc[i]).all(axis=1)]["_row"].iloc[0]
        key = ", ".join(f"{k}={d[k].iloc[i]!s}" for k in keys)
        problems.add(
            f"duplicate row ({key}); first given in row {first}",
            part=name,
            column=keys[-1],
            allowed="one row per " + " and ".join(keys),
            **where(d, int(i)),
        )


def check_known(
    problems: Problems,
    part: str,
    df: pd.DataFrame,
    i: int,
    column: str,
    known: set[str],
    sheet: str,
    allowed: str | None,
) -> bool:
    """Record a problem if the name in row ``i`` of ``column`` is not one of another sheet's.

    Parameters
    ----------
    problems
        Where the problem is recorded.
    part
        The table ``df`` is.
    df
        A frame from :func:`table_frame`.
    i
        Position of the row in ``df``.
    column
        The column holding the name (also the word for it in the message).
    known
        The names the other sheet has.
    sheet
        The other sheet's name.
    allowed
        What the cell may hold, for the message (``None``: not said).

    Returns
    -------
    bool
        Whether the name is known.
    """
    v = df[column].iloc[i]
    if v in known:
        return True
    problems.add(
        f"{column} {v!r} is not in the {sheet} sheet",
        part=part,
        column=column,
        allowed=allowed,
        **where(df, i),
    )
    return False


def check_known_column(
    problems: Problems,
    part: str,
    df: pd.DataFrame,
    column: str,
    known: set[str],
    sheet: str,
    allowed: str | None,
) -> None:
    """:func:`check_known` for every row of ``column`` (the column read once, not cell by cell).

    Parameters
    ----------
    problems, part, df, column, known, sheet, allowed
        As for :func:`check_known`.
    """
    for i, v in enumerate(df[column].tolist()):
        if v not in known:
            check_known(problems, part, df, i, column, known, sheet, allowed)


def row_ranges(nums: list[int]) -> list[str]:
    """Row numbers as runs for a message: ``[3, 4, 5, 9]`` -> ``["3-5", "9"]``.

    Parameters
    ----------
    nums
        Row numbers, increasing.

    Returns
    -------
    list of str
        One item per run of consecutive numbers.
    """
    out: list[str] = []
    for n in nums:
        if out and "-" not in out[-1] and int(out[-1]) == n - 1:
            out[-1] = f"{out[-1]}-{n}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) == n - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return out
