"""Observed service data: tidy CSV files of what happened, validated like model files.

An observed-data file is a CSV with one value per row, led by ``#`` comment lines
naming its source and licence (readers skip them; pandas users pass
``comment="#"``)::

    # Source: NHS Talking Therapies annual reports ...
    # Licence: Open Government Licence v3.0 ...
    year,period_start,period_end,geography_level,area_code,area_name,measure,value,unit,flag
    2020-21,2020-04-01,2021-03-31,England,E92000001,England,referrals_received,1456446,referrals,

Columns (``flag``, ``breakdown``, ``category``, ``subcategory`` and ``note`` are optional):

``year``
    Financial year, ``2020-21`` (April 2020 to March 2021).
``period_start``, ``period_end``
    First and last day the value covers (``YYYY-MM-DD``, inside the financial year).
``geography_level``
    One of :data:`GEOGRAPHY_LEVELS`.
``area_code``, ``area_name``
    The area's code and name as published.
``measure``, ``unit``
    One of :data:`MEASURES`; the unit must be that measure's unit.
``value``
    A number, at least 0 (whole for counts, at most 100 for percentages); empty
    only where ``flag`` is ``suppressed``.
``flag``
    Empty, or ``suppressed`` (the publisher withheld a small number).
``breakdown``, ``category``, ``subcategory``
    For breakdowns of an area's total: the breakdown (one of :data:`BREAKDOWNS`),
    the category as published and, where the publisher nests categories, the
    subcategory (``All`` for the category's own total).
``note``
    Free text.

:func:`read_observed` collects every problem (file, row, column, line, what is
wrong and what is allowed) and raises :class:`~simulator.core._problems.InputError`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

from simulator.core._problems import Problems

__all__ = [
    "BREAKDOWNS",
    "COLUMNS",
    "GEOGRAPHY_LEVELS",
    "MEASURES",
    "OPTIONAL_COLUMNS",
    "financial_year_bounds",
    "read_observed",
]

#: measure -> (unit, what it counts)
MEASURES: dict[str, tuple[str, str]] = {
    "referrals_received": ("referrals", "referrals received in the period"),
    "finished_course_treatment": (
        "referrals",
        "referrals ended in the period after at least two treatment appointments",
    ),
    "at_caseness": ("referrals", "finished a course of treatment and were at caseness at the start"),
    "not_at_caseness": ("referrals", "finished a course of treatment and were not at caseness at the start"),
    "recovered": ("referrals", "finished a course of treatment at caseness and moved to recovery"),
    "recovery_rate": ("percent", "recovered / (finished_course_treatment - not_at_caseness) x 100"),
    "reliably_recovered": ("referrals", "recovered and showed reliable improvement"),
    "reliable_recovery_rate": (
        "percent",
        "reliably_recovered / (finished_course_treatment - not_at_caseness) x 100",
    ),
}

GEOGRAPHY_LEVELS = ("England", "Region", "ICB", "Sub-ICB", "STP", "CCG", "Provider")
BREAKDOWNS = ("deprivation_decile", "ethnic_group")
FLAGS = ("", "suppressed")

#: required columns, in the order the extracts write them
COLUMNS = (
    "year",
    "period_start",
    "period_end",
    "geography_level",
    "area_code",
    "area_name",
    "measure",
    "value",
    "unit",
)
OPTIONAL_COLUMNS = ("flag", "breakdown", "category", "subcategory", "note")
_KEY = ("year", "geography_level", "area_code", "breakdown", "category", "subcategory", "measure")
_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_PROBLEMS = 100


def financial_year_bounds(year: str) -> tuple[date, date] | None:
    """First and last day of a financial year written ``2020-21``; ``None`` if not one."""
    m = _YEAR.match(year)
    if not m:
        return None
    first = int(m.group(1))
    if int(m.group(2)) != (first + 1) % 100:
        return None
    return date(first, 4, 1), date(first + 1, 3, 31)


def _iso_date(text: str) -> date | None:
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class _Full(Exception):
    """Too many problems to go on listing."""


def read_observed(path: str | Path) -> pd.DataFrame:
    """Read and validate an observed-data CSV; raises :class:`InputError` listing every problem.

    Returns one row per value with the file's columns (optional ones filled
    with ``""``), ``period_start``/``period_end`` as timestamps, ``value`` as
    float (NaN where suppressed) and, in ``attrs``, the file's ``path`` and its
    ``#`` comment lines (``header``).
    """
    p = Path(path)
    problems = Problems(file=p.name, part_kind="table")
    if not p.is_file():
        problems.add(f"file {str(p)!r} does not exist", allowed="an observed-data .csv file")
        problems.raise_if_errors()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        problems.add(f"is not UTF-8 text ({err.reason} at byte {err.start})", allowed="a UTF-8 CSV file")
        problems.raise_if_errors()
        raise AssertionError from None  # unreachable
    try:
        return _parse(text, p, problems)
    except _Full:
        problems.add(f"stopped after {_MAX_PROBLEMS} problems; fix these and read the file again")
        problems.raise_if_errors()
        raise AssertionError from None  # unreachable


_Add = Callable[..., None]
_Bad = Callable[..., None]


def _parse(text: str, p: Path, problems: Problems) -> pd.DataFrame:
    def add(message: str, **where) -> None:
        problems.add(message, **where)
        if len(problems.errors) >= _MAX_PROBLEMS:
            raise _Full

    header_comments, records = _records(text, add, problems)
    header_line, header = records[0]
    names = [h.strip() for h in header or []]
    _check_header(names, header_line, add, problems)
    index = {n: i for i, n in enumerate(names)}
    rows: list[dict[str, object]] = []
    seen: dict[tuple[str, ...], tuple[int, int]] = {}
    for row_number, (line, fields) in enumerate(records[1:], start=1):
        if fields is None:  # reported above
            continue
        if len(fields) != len(names):
            add(
                f"has {len(fields)} fields",
                row=row_number,
                line=line,
                allowed=f"{len(names)} fields, one per column of the header (line {header_line})",
            )
            continue
        cell = {n: fields[i].strip() for n, i in index.items()}
        for n in OPTIONAL_COLUMNS:
            cell.setdefault(n, "")
        bad = _row_reporter(add, row_number, line)
        ok, dates, value = _check_row(cell, index, bad)
        # ---- duplicates
        key = tuple(cell[k] for k in _KEY)
        if key in seen:
            first_row, first_line = seen[key]
            add(
                f"repeats row {first_row} (line {first_line}): same "
                + ", ".join(k for k in _KEY if k in index),
                row=row_number,
                column="measure",
                line=line,
                allowed="one row per year, area, breakdown category and measure",
            )
            ok = False
        else:
            seen[key] = (row_number, line)
        if ok:
            rows.append({**cell, **dates, "value": value})
    if not records[1:]:
        add("has no data rows", line=header_line, allowed="one row per value under the header")
    problems.raise_if_errors()
    return _frame(rows, p, header_comments)


def _records(
    text: str, add: _Add, problems: Problems
) -> tuple[list[str], list[tuple[int, list[str] | None]]]:
    """The ``#`` comment lines before the header, and every other non-blank line's fields."""
    header_comments: list[str] = []
    records: list[tuple[int, list[str] | None]] = []  # (line, fields; None where unreadable)
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("#"):
            if not records:
                header_comments.append(raw[1:].strip())
            continue
        if not raw.strip():
            continue
        try:
            fields = next(csv.reader([raw], strict=True))
        except csv.Error as err:
            add(
                f"cannot be read as CSV: {err}",
                line=number,
                allowed="comma-separated fields, quoted with '\"'",
            )
            if not records:  # the header itself: nothing else can be checked
                problems.raise_if_errors()
            fields = None
        records.append((number, fields))
    if not records:
        add("has no header row", allowed="a header row naming the columns, then one row per value")
        problems.raise_if_errors()
    return header_comments, records


def _check_header(names: list[str], header_line: int, add: _Add, problems: Problems) -> None:
    """Report unknown, repeated and missing columns; stop if the header is broken."""
    before = len(problems.errors)
    known = set(COLUMNS) | set(OPTIONAL_COLUMNS)
    for name in names:
        if name not in known:
            add(
                f"unknown column {name!r}",
                column=name,
                line=header_line,
                allowed=", ".join((*COLUMNS, *OPTIONAL_COLUMNS)),
            )
    for name in sorted({n for n in names if names.count(n) > 1}):
        add(f"column {name!r} appears {names.count(name)} times", column=name, line=header_line)
    for name in COLUMNS:
        if name not in names:
            add("is missing", column=name, line=header_line, allowed="the columns " + ", ".join(COLUMNS))
    if "category" in names and "breakdown" not in names:
        add("is missing", column="breakdown", line=header_line, allowed="breakdown beside category")
    if "breakdown" in names and "category" not in names:
        add("is missing", column="category", line=header_line, allowed="category beside breakdown")
    if len(problems.errors) > before:  # rows cannot be checked against a broken header
        problems.raise_if_errors()


def _row_reporter(add: _Add, row: int, line: int) -> _Bad:
    """``bad(column, message, allowed=None)``: report a problem of data row ``row`` (file line ``line``)."""

    def bad(column: str, message: str, allowed: str | None = None) -> None:
        add(message, row=row, column=column, line=line, allowed=allowed)

    return bad


def _check_row(
    cell: dict[str, str], index: dict[str, int], bad: _Bad
) -> tuple[bool, dict[str, date | None], float]:
    """Check one data row's cells; returns whether it is valid, its dates and its value."""
    ok = True
    for n, v in cell.items():
        if "#" in v:
            bad(n, f"{v!r} contains '#'", "text without '#' (readers take '#' as the start of a comment)")
            ok = False
    period_ok, dates = _check_period(cell, bad)
    where_ok = _check_where(cell, index, bad)
    what_ok = _check_measure(cell, bad)
    value_ok, value = _check_value(cell, bad)
    return ok and period_ok and where_ok and what_ok and value_ok, dates, value


def _check_period(cell: dict[str, str], bad: _Bad) -> tuple[bool, dict[str, date | None]]:
    """Check the financial year and the period inside it; returns validity and the two dates."""
    ok = True
    year = cell["year"]
    bounds = financial_year_bounds(year)
    if bounds is None:
        bad("year", f"{year!r} is not a financial year", "a financial year written YYYY-YY, e.g. 2020-21")
        ok = False
    dates: dict[str, date | None] = {}
    for n in ("period_start", "period_end"):
        d = _iso_date(cell[n])
        allowed = "a date YYYY-MM-DD"
        if bounds is not None:
            allowed += f" inside financial year {year} ({bounds[0]} to {bounds[1]})"
        if d is None:
            bad(n, f"{cell[n]!r} is not a date", allowed)
            ok = False
        elif bounds is not None and not bounds[0] <= d <= bounds[1]:
            bad(n, f"{cell[n]} is outside financial year {year}", allowed)
            ok = False
        dates[n] = d
    if dates["period_start"] and dates["period_end"] and dates["period_start"] > dates["period_end"]:
        bad("period_end", f"{cell['period_end']} is before period_start {cell['period_start']}")
        ok = False
    return ok, dates


def _check_where(cell: dict[str, str], index: dict[str, int], bad: _Bad) -> bool:
    """Check the geography level, the area and any breakdown category."""
    ok = True
    if cell["geography_level"] not in GEOGRAPHY_LEVELS:
        bad(
            "geography_level",
            f"unknown geography level {cell['geography_level']!r}",
            ", ".join(GEOGRAPHY_LEVELS),
        )
        ok = False
    for n in ("area_code", "area_name"):
        if not cell[n]:
            bad(n, "is empty", "the area's code" if n == "area_code" else "the area's name")
            ok = False
    if "breakdown" in index:
        if cell["breakdown"] not in BREAKDOWNS:
            bad("breakdown", f"unknown breakdown {cell['breakdown']!r}", ", ".join(BREAKDOWNS))
            ok = False
        if not cell["category"]:
            bad("category", "is empty", "the breakdown's category as published")
            ok = False
    return ok


def _check_measure(cell: dict[str, str], bad: _Bad) -> bool:
    """Check the measure, its unit and the flag."""
    ok = True
    measure, unit = cell["measure"], cell["unit"]
    if measure not in MEASURES:
        bad("measure", f"unknown measure {measure!r}", ", ".join(MEASURES))
        ok = False
    elif unit != MEASURES[measure][0]:
        bad("unit", f"{unit!r} is not the unit of {measure}", repr(MEASURES[measure][0]))
        ok = False
    if cell["flag"] not in FLAGS:
        bad("flag", f"unknown flag {cell['flag']!r}", "empty, or 'suppressed'")
        ok = False
    return ok


def _check_value(cell: dict[str, str], bad: _Bad) -> tuple[bool, float]:
    """Check the value against its measure and flag; returns validity and the value (NaN if none)."""
    measure, unit, raw_value = cell["measure"], cell["unit"], cell["value"]
    value = math.nan
    if cell["flag"] == "suppressed":
        if raw_value:
            bad("value", f"is {raw_value!r} but the row is flagged suppressed", "empty where suppressed")
            return False, value
        return True, value
    percent = measure in MEASURES and MEASURES[measure][0] == "percent"
    allowed = "a number from 0 to 100" if percent else "a whole number, 0 or more"
    allowed += " (or empty, with flag 'suppressed')"
    try:
        value = float(raw_value)
    except ValueError:
        bad("value", f"{raw_value!r} is not a number" if raw_value else "is empty", allowed)
        return False, value
    message = None
    if not math.isfinite(value):
        message = f"{raw_value!r} is not a finite number"
    elif value < 0:
        message = f"{raw_value} is negative"
    elif percent and value > 100:
        message = f"{raw_value} is more than 100 percent"
    elif measure in MEASURES and not percent and not value.is_integer():
        message = f"{raw_value} is not a whole number of {unit}"
    if message is not None:
        bad("value", message, allowed)
        return False, value
    return True, value


def _frame(rows: list[dict[str, object]], p: Path, header_comments: list[str]) -> pd.DataFrame:
    """The valid rows as a table with dates as timestamps and values as floats."""
    columns = [*COLUMNS, *OPTIONAL_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    for n in ("period_start", "period_end"):
        frame[n] = pd.to_datetime(frame[n])
    frame["value"] = frame["value"].astype(float)
    frame.attrs["path"] = str(p)
    frame.attrs["header"] = header_comments
    return frame
