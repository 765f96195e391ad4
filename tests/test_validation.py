"""Every validation rule, triggered by a broken workbook (or YAML file), with its message checked."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tiny import tiny_sheets, write_tiny

from simulator import InputError, check_model, load_model


def problems_for(tmp_path, breaker):
    sheets = tiny_sheets()
    breaker(sheets)
    path = write_tiny(tmp_path / "broken.xlsx", sheets)
    model, problems = check_model(path)
    assert model is None, "a broken workbook must not load"
    return problems.errors


def one(errors, text):
    hits = [p for p in errors if text in p.message]
    assert hits, f"no problem mentions {text!r}: {[str(p) for p in errors]}"
    return hits[0]


def set_cell(sheet, row, col, value):
    def f(s):
        header = s[sheet][0]
        s[sheet][row - 1][header.index(col)] = value

    return f


CASES = [
    # (breaker, text in message, sheet, row, column, text in allowed)
    (lambda s: s.pop("g2c"), "sheet 'g2c' is missing", None, None, None, "sheets curves"),
    (lambda s: [r.pop(3) for r in s["c2t"]], "column 'split' is missing", "c2t", None, None, "columns group"),
    (
        set_cell("groups", 2, "size", "lots"),
        "is the text 'lots', not a number",
        "groups",
        2,
        "size",
        "at least 0",
    ),
    (set_cell("treatments", 3, "success", None), "value is blank", "treatments", 3, "success", "from 0 to 1"),
    (set_cell("groups", 3, "size", -5), "is -5 (negative)", "groups", 3, "size", "at least 0"),
    (set_cell("c2t", 4, "split", -1), "(negative)", "c2t", 4, "split", "at least 0"),
    (set_cell("demand", 2, "underlying", -3), "(negative)", "demand", 2, "underlying", "at least 0"),
    (set_cell("groups", 2, "pcnt", 150), "is 150, above 100", "groups", 2, "pcnt", "from 0 to 100"),
    (set_cell("g2c", 2, "pcnt", 1.3), "is 1.3, above 1", "g2c", 2, "pcnt", "from 0 to 1"),
    (set_cell("treatments", 2, "success", 1.2), "above 1", "treatments", 2, "success", "from 0 to 1"),
    (set_cell("treatments", 2, "decay", 2), "above 1", "treatments", 2, "decay", "from 0 to 1"),
    (
        set_cell("treatments", 2, "treat_pcnt", -0.1),
        "(negative)",
        "treatments",
        2,
        "treat_pcnt",
        "from 0 to 1",
    ),
    (set_cell("treatments", 2, "months", 0), "is 0", "treatments", 2, "months", "greater than 0"),
    (set_cell("curves", 3, "c1", 0.5), "curve sums to 1.1, not 1", "curves", None, "c1", "sum to 1"),
    (set_cell("curves", 3, "month", 7), "they must run 0, 1, 2", "curves", None, "month", None),
    (
        set_cell("g2c", 2, "pcnt", 0.95),
        "condition rates of group 'A' sum to 1.05",
        "g2c",
        2,
        "pcnt",
        "at most 1",
    ),
    (set_cell("groups", 2, "curve", "zz"), "curve 'zz' is not a column", "groups", 2, "curve", "c1, c2"),
    (set_cell("g2c", 4, "group", "Q"), "group 'Q' is not in the groups sheet", "g2c", 4, "group", None),
    (set_cell("c2t", 5, "group", "Q"), "group 'Q' is not in the groups sheet", "c2t", 5, "group", None),
    (
        set_cell("c2t", 2, "treatment", "S9"),
        "treatment 'S9' is not in the treatments sheet",
        "c2t",
        2,
        "treatment",
        None,
    ),
    (
        set_cell("c2t", 4, "condition", "Z"),
        "condition 'Z' is not in the g2c sheet",
        "c2t",
        4,
        "condition",
        None,
    ),
    (
        lambda s: s.__setitem__("c2t", [r for r in s["c2t"] if r[1] != "Y"]),
        "condition 'Y' is not sent to any service",
        "g2c",
        3,
        "condition",
        None,
    ),
    (
        lambda s: s["groups"].append(["C", "c1", 10, 10]),
        "group 'C' has no conditions",
        "groups",
        4,
        "group",
        None,
    ),
    (
        set_cell("demand", 3, "service", "S9"),
        "service 'S9' is not in the treatments",
        "demand",
        3,
        "service",
        None,
    ),
    (set_cell("demand", 3, "month", "notadate"), "is 'notadate', not a date", "demand", 3, "month", "a date"),
    (
        lambda s: s["groups"].append(["A", "c1", 5, 5]),
        "duplicate row (group=A); first given in row 2",
        "groups",
        4,
        "group",
        None,
    ),
    (lambda s: s["c2t"].append(["A", "X", "S1", 9]), "duplicate row", "c2t", 8, "treatment", None),
    (
        lambda s: [s["c2t"][i].__setitem__(3, 0) for i in (4, 5)],
        "the splits of group 'B', condition 'X' sum to 0",
        "c2t",
        5,
        "split",
        "at least one positive",
    ),
]


@pytest.mark.parametrize(("breaker", "text", "sheet", "row", "column", "allowed"), CASES)
def test_rule(tmp_path, breaker, text, sheet, row, column, allowed):
    p = one(problems_for(tmp_path, breaker), text)
    assert p.file == "broken.xlsx"
    assert p.part == sheet
    assert p.row == row
    assert p.column == column
    if allowed:
        assert allowed in (p.allowed or ""), p
    if sheet:
        assert f"sheet {sheet!r}" in str(p)


def test_pair_without_services_is_a_warning(tmp_path):
    """A g2c (group, condition) with no c2t rows, while the condition is used elsewhere: ignored as in R."""
    sheets = tiny_sheets()
    sheets["g2c"].append(["B", "Y", 0.05])
    sheets["c2t"] = [r for r in sheets["c2t"] if r[:2] != ["B", "Y"]]
    model, problems = check_model(write_tiny(tmp_path / "w.xlsx", sheets))
    assert model is not None
    w = one(problems.warnings, "has no c2t rows, so nobody in it is referred")
    assert (w.part, w.row) == ("g2c", 5)
    assert ("B", "Y") not in set(zip(model.tables.paths()["group"], model.tables.paths()["condition"]))


def test_every_problem_is_reported_at_once(tmp_path):
    def many(s):
        set_cell("groups", 2, "pcnt", 150)(s)
        set_cell("g2c", 3, "pcnt", "x")(s)
        set_cell("treatments", 4, "decay", -1)(s)

    errors = problems_for(tmp_path, many)
    assert {(p.part, p.row, p.column) for p in errors} >= {
        ("groups", 2, "pcnt"),
        ("g2c", 3, "pcnt"),
        ("treatments", 4, "decay"),
    }


def test_nan_in_yaml_is_rejected(tmp_path):
    from simulator.files import convert_model

    src = write_tiny(tmp_path / "tiny.xlsx")
    dst = tmp_path / "tiny.yaml"
    convert_model(src, dst)
    text = dst.read_text().replace("[S1, 0.5, 1, 0.5, 2, 0.8]", "[S1, .nan, 1, 0.5, 2, 0.8]")
    assert ".nan" in text
    dst.write_text(text)
    model, problems = check_model(dst)
    assert model is None
    p = one(problems.errors, "is NaN")
    assert (p.part, p.row, p.column) == ("treatments", 1, "success")
    assert p.line is not None and "line" in str(p)


def test_yaml_table_without_source_is_an_error(tmp_path):
    from simulator.files import convert_model

    dst = tmp_path / "tiny.yaml"
    convert_model(write_tiny(tmp_path / "tiny.xlsx"), dst)
    lines = dst.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip() == "groups:")
    assert lines[i + 1].strip().startswith("source:")
    del lines[
        i + 1 : i + 1 + next(j for j, x in enumerate(lines[i + 1 :]) if x.strip().startswith("columns"))
    ]
    dst.write_text("\n".join(lines))
    _, problems = check_model(dst)
    assert one(problems.errors, "has no 'source' note").part == "groups"


def test_bad_yaml_syntax_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("upstream: model\nkind: surge\ntables: [unclosed\n")
    _, problems = check_model(p)
    assert problems.errors[0].line is not None and "not valid YAML" in problems.errors[0].message


def test_unreadable_workbook(tmp_path):
    p = tmp_path / "junk.xlsx"
    p.write_text("not a zip file")
    _, problems = check_model(p)
    assert "cannot read junk.xlsx as an Excel workbook" in problems.errors[0].message


def test_load_model_raises_input_error_listing_problems(tmp_path):
    sheets = tiny_sheets()
    set_cell("groups", 2, "pcnt", 150)(sheets)
    with pytest.raises(InputError) as info:
        load_model(write_tiny(tmp_path / "b.xlsx", sheets))
    assert "sheet 'groups', row 2, column 'pcnt'" in str(info.value)


@pytest.mark.parametrize("command", ["run", "summary", "validate"])
def test_cli_exits_2_without_traceback_or_output(tmp_path, command):
    sheets = tiny_sheets()
    set_cell("groups", 2, "pcnt", 150)(sheets)
    set_cell("g2c", 3, "pcnt", 1.5)(sheets)
    bad = write_tiny(tmp_path / "bad.xlsx", sheets)
    out = tmp_path / "out.csv"
    args = [sys.executable, "-m", "simulator.cli", command, str(bad)]
    if command != "validate":
        args += ["-o", str(out)]
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "sheet 'groups', row 2, column 'pcnt'" in r.stderr
    assert "sheet 'g2c', row 3, column 'pcnt'" in r.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv*")), "no partial output file may be left"
