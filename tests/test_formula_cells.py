"""A formula cell in a workbook is reported as a formula, not as blank (issue 12).

A workbook written by a program that does not compute formulas (openpyxl here, as a
script would) saves no value beside a formula, so reading values alone sees a blank cell.
"""

from __future__ import annotations

from tiny import tiny_sheets, write_tiny

from simulator.core._problems import Problems
from simulator.surge._tables import check_tables
from simulator.surge._tables_parse import FormulaCell, table_frame
from simulator.surge._tables_schema import SCHEMA, RawTable
from simulator.surge._workbook import read_workbook
from simulator.surge._workbook_formulas import mark_formulas


def _errors(path) -> list[str]:
    problems = Problems(file=path.name, part_kind="sheet")
    raw = read_workbook(path, problems)
    mark_formulas(path, raw)
    check_tables(raw, problems, name=path.stem, sources={s: f"{path.name}, sheet {s}" for s in raw})
    return [str(p) for p in problems.errors]


def test_formula_cells_are_named_as_formulas_not_blanks(tmp_path):
    sheets = tiny_sheets()
    head = sheets["groups"][0]
    sheets["groups"][1][head.index("size")] = "=1000*2"
    sheets["groups"][2][head.index("group")] = '=UPPER("b")'
    sheets["treatments"][2][sheets["treatments"][0].index("success")] = None  # a real blank
    errors = _errors(write_tiny(tmp_path / "formulas.xlsx", sheets))
    size = [e for e in errors if "row 2, column 'size'" in e]
    assert size and "is a formula (=1000*2), not a number" in size[0], errors
    assert "open and save the workbook" in size[0] and "blank" not in size[0]
    name = [e for e in errors if "row 3, column 'group'" in e]
    assert name and 'is a formula (=UPPER("b")), not text' in name[0], errors
    # a cell that really is blank is still called blank
    assert any("row 3, column 'success'" in e and "value is blank" in e for e in errors), errors


def test_a_workbook_without_blank_cells_is_read_once(tmp_path, monkeypatch):
    path = write_tiny(tmp_path / "good.xlsx")
    raw = read_workbook(path, Problems())
    import openpyxl

    def no_second_read(*a, **k):
        raise AssertionError("read again although no cell is blank")

    monkeypatch.setattr(openpyxl, "load_workbook", no_second_read)
    mark_formulas(path, raw)  # nothing blank: the workbook is not opened again
    assert not any(isinstance(v, FormulaCell) for t in raw.values() for row in t.rows for v in row)


def test_formula_text_in_a_number_cell_of_any_file():
    # YAML or CSV text that is a formula: the same words, without the workbook advice
    raw = RawTable("groups", ["group", "curve", "size", "pcnt"], [["A", "c1", "=B2*2", 10]], [2])
    problems = Problems(file="m.yaml", part_kind="table")
    table_frame(raw, SCHEMA["groups"], problems)
    msgs = [str(p) for p in problems.errors]
    assert any("is a formula (=B2*2), not a number: type the value itself" in m for m in msgs), msgs


def test_check_model_names_a_formula_cell(tmp_path):
    from simulator import check_model

    sheets = tiny_sheets()
    sheets["groups"][1][sheets["groups"][0].index("size")] = "=1000*2"
    model, problems = check_model(write_tiny(tmp_path / "f.xlsx", sheets))
    assert model is None
    assert any("is a formula (=1000*2), not a number" in str(p) for p in problems.errors)
