"""Formula cells without a saved value, told apart from blank cells.

A workbook is read as the values a spreadsheet program saved beside its formulas
(:func:`~simulator.surge._workbook.read_workbook`).  A workbook written by a program that
does not compute formulas (openpyxl, a script) saves none, so such a cell reads as blank
and would be reported as "blank".  :func:`mark_formulas` reads the workbook a second time,
as formulas, only when the tables have blank cells in rows that are not blank, and puts a
:class:`~simulator.surge._tables_parse.FormulaCell` (the formula's text) in every blank
cell that holds a formula, so the message says "a formula, not a number".
"""

from __future__ import annotations

from pathlib import Path

from simulator.surge._tables_parse import FormulaCell
from simulator.surge._tables_schema import RawTable

__all__ = ["mark_formulas"]


def _blank_cells(tables: dict[str, RawTable]) -> dict[str, set[tuple[int, int]]]:
    """``sheet -> {(Excel row, column index)}`` of the cells read as blank."""
    out: dict[str, set[tuple[int, int]]] = {}
    for key, t in tables.items():
        cells = {(r, j) for row, r in zip(t.rows, t.row_numbers) for j, v in enumerate(row) if v is None}
        if cells:
            out[key] = cells
    return out


def mark_formulas(path: str | Path, tables: dict[str, RawTable]) -> None:
    """Put the formula's text (a :class:`FormulaCell`) in every blank cell that holds a formula.

    Parameters
    ----------
    path
        The ``.xlsx`` file the tables were read from (values only).
    tables
        Its tables by sheet name (stripped), as read; changed in place.
    """
    blank = _blank_cells(tables)
    if not blank:
        return
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception:  # the values were readable; a second read failing changes nothing
        return
    try:
        for name in wb.sheetnames:
            cells = blank.get(name.strip())
            if not cells:
                continue
            t = tables[name.strip()]
            where = {r: i for i, r in enumerate(t.row_numbers)}
            for r, values in enumerate(wb[name].iter_rows(values_only=True), start=1):
                if r not in where:
                    continue
                for j, v in enumerate(values):
                    if (r, j) in cells and isinstance(v, str) and v.startswith("="):
                        t.rows[where[r]][j] = FormulaCell(v)
    finally:
        wb.close()
