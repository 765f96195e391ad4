"""A hand-made surge workbook: 2 groups, 2 conditions, 3 services, 4 months.

Used by the hand-computed Euler test and, broken one rule at a time, by the
validation tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

SHEETS = {
    "curves": [["month", "c1", "c2"], [0, 0.1, 0.25], [1, 0.4, 0.25], [2, 0.3, 0.25], [3, 0.2, 0.25]],
    "groups": [["group", "curve", "size", "pcnt"], ["A", "c1", 1000, 50], ["B", "c1", 2000, 10]],
    "g2c": [["group", "condition", "pcnt"], ["A", "X", 0.2], ["A", "Y", 0.1], ["B", "X", 0.3]],
    "c2t": [
        ["group", "condition", "treatment", "split"],
        ["A", "X", "S1", 1],
        ["A", "X", "S2", 3],
        ["A", "Y", "S3", 2],
        ["B", "X", "S1", 1],
        ["B", "X", "S3", 1],
        ["B", "Y", "S2", 4],  # no g2c row for (B, Y): not a path, warned about
    ],
    "treatments": [
        ["treatment", "success", "months", "decay", "demand", "treat_pcnt"],
        ["S1", 0.5, 1, 0.5, 2, 0.8],
        ["S2", 0.2, 2, 0.75, 1, 1.0],
        ["S3", 1.0, 1, 1.0, 3, 0.5],
    ],
    "demand": [["service", "month", "underlying", "suppressed"]]
    + [
        [s, dt.datetime(2020, 5 + m, 1), u + m, 0]
        for s, u in (("S1", 100), ("S2", 50), ("S3", 10))
        for m in range(4)
    ],
}


def tiny_sheets() -> dict[str, list[list[object]]]:
    """A deep copy of the sheets, to break."""
    return {k: [list(r) for r in v] for k, v in SHEETS.items()}


def write_tiny(path: Path, sheets: dict[str, list[list[object]]] | None = None) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in (sheets or SHEETS).items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path
