"""Read and write surge model workbooks (``.xlsx``: sheets curves, groups, g2c, c2t, treatments, demand)."""

from __future__ import annotations

from pathlib import Path

from simulator.core._problems import Problems
from simulator.surge._strata_sheet import strata_rows
from simulator.surge._tables import OPTIONAL_SHEETS, SHEETS, RawTable, SurgeTables, tables_to_raw
from simulator.surge._workbook_formulas import mark_formulas

__all__ = ["read_workbook", "write_workbook"]


def read_workbook(path: str | Path, problems: Problems) -> dict[str, RawTable]:
    """Read the surge sheets of a workbook as raw tables (row numbers as Excel shows them).

    Unknown sheets are ignored, fully blank rows skipped; cells are read as
    values (formulas as their last computed result).

    Parameters
    ----------
    path
        An ``.xlsx`` file.
    problems
        Where a file that cannot be read is recorded.

    Returns
    -------
    dict of RawTable
        The surge sheets found (required and optional), by name; empty if the file
        cannot be read.
    """
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a bad file
        problems.add(f"cannot read {path.name} as an Excel workbook: {err}", allowed="an .xlsx file")
        return {}
    out: dict[str, RawTable] = {}
    try:
        for name in wb.sheetnames:
            key = name.strip()
            if key not in (*SHEETS, *OPTIONAL_SHEETS, "strata"):  # strata: read by _strata_sheet.py
                continue
            ws = wb[name]
            header: list[object] | None = None
            rows, numbers = [], []
            for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
                vals = list(values)
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
                    continue
                if header is None:
                    header = vals
                    continue
                rows.append(vals)
                numbers.append(r)
            if header is None:
                header = []
            while header and header[-1] is None:
                header.pop()
            rows = [row[: max(len(header), 1)] for row in rows]
            out[key] = RawTable(key, [str(h) if h is not None else "" for h in header], rows, numbers)
    finally:
        wb.close()
    # formula cells with no saved value read as blank: name them as formulas (issue 12)
    mark_formulas(path, out)
    return out


def write_workbook(tables: SurgeTables, path: str | Path) -> None:
    """Write surge tables as a workbook the surge model (and Upstream) can read.

    Parameters
    ----------
    tables
        Validated surge tables.
    path
        The ``.xlsx`` file to write (replaced if it exists).
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    raw = tables_to_raw(tables)
    for name in (*SHEETS, *(s for s in OPTIONAL_SHEETS if s in raw)):
        ws = wb.create_sheet(name)
        ws.append(raw[name].columns)
        for row in raw[name].rows:
            ws.append(row)
    if tables.meta.get("strata"):  # a stratified model keeps its strata
        ws = wb.create_sheet("strata")
        for row in strata_rows(tables.meta["strata"]):
            ws.append(row)
    wb.save(path)
