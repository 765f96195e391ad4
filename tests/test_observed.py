"""Observed-data files: the checked-in NHS Talking Therapies extracts and the validated reader."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.core._problems import InputError
from simulator.files._observed import COLUMNS, MEASURES, read_observed

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "calibration" / "data"
SHARED = ROOT.parent / "shared" / "data"
PARQUET = SHARED / "talking-therapies" / "measures_annual.parquet"
YEARS = ["2017-18", "2018-19", "2019-20", "2020-21", "2021-22", "2022-23"]
FILES = {
    "england": "talking_therapies_england.csv",
    "regions": "talking_therapies_regions.csv",
    "icb": "talking_therapies_icb.csv",
    "stp": "talking_therapies_stp.csv",
    "ccg": "talking_therapies_ccg.csv",
    "deprivation": "talking_therapies_england_deprivation.csv",
    "ethnicity": "talking_therapies_england_ethnicity.csv",
}
COUNTS = [m for m, (unit, _) in MEASURES.items() if unit == "referrals"]
# published in ../shared/data/README.md (NHS Digital, IAPT annual referrals)
ENGLAND_REFERRALS = {
    "2017-18": 1_439_957,
    "2018-19": 1_603_643,
    "2019-20": 1_694_790,
    "2020-21": 1_456_446,
    "2021-22": 1_812_596,
    "2022-23": 1_759_581,
}
needs_shared = pytest.mark.skipif(
    not PARQUET.is_file(),
    reason=f"the shared data folder ({PARQUET}) is not here: a clone of the project has no ../shared",
)


@pytest.fixture(scope="module")
def observed() -> dict[str, pd.DataFrame]:
    return {name: read_observed(DATA / file) for name, file in FILES.items()}


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot(index="year", columns="measure", values="value")


# ---------------------------------------------------------------- the extracts


def test_extracts_exist_with_source_and_licence(observed):
    total = 0
    for name, file in FILES.items():
        path = DATA / file
        total += path.stat().st_size
        head = path.read_text(encoding="utf-8").splitlines()[:30]
        text = "\n".join(line for line in head if line.startswith("#"))
        assert text.startswith("# Upstream observed data:"), file
        assert "Source: NHS England" in text and "bennettoxford/nhstt" in text, file
        assert "Open Government Licence v3.0" in text, file
        assert "Contains public sector information licensed under the Open Government Licence v3.0" in text
        assert re.search(r"Extracted: \d{4}-\d{2}-\d{2} by calibration/extract\.py", text), file
        frame = observed[name]
        assert len(frame) > 0 and frame.attrs["header"][0].startswith("Upstream observed data")
        # pandas with comment="#" reads the same rows and values
        plain = pd.read_csv(path, comment="#", dtype={"year": str}, keep_default_na=False)
        assert len(plain) == len(frame), file
        assert set(COLUMNS) <= set(plain.columns)
        values = pd.to_numeric(plain["value"].replace("", np.nan))
        np.testing.assert_array_equal(values.to_numpy(), frame["value"].to_numpy())
    assert total < 3_000_000
    assert (DATA / "README.md").is_file()


def test_coverage(observed):
    for name in ("england", "regions", "deprivation", "ethnicity"):
        assert sorted(observed[name]["year"].unique()) == YEARS, name
    assert sorted(observed["icb"]["year"].unique()) == ["2022-23"]
    for name in ("stp", "ccg"):
        assert sorted(observed[name]["year"].unique()) == YEARS[:-1], name
    icb = observed["icb"]
    assert icb.loc[icb["area_code"] != "UNKNOWN", "area_code"].nunique() == 42
    for frame in observed.values():
        assert set(frame["measure"]) == set(MEASURES)
        per_area = frame.groupby(["year", "area_code", "category", "subcategory"])["measure"].count()
        assert (per_area == len(MEASURES)).all()
        assert (frame["period_start"].dt.strftime("%m-%d") == "04-01").all()
        assert (frame["period_end"].dt.strftime("%m-%d") == "03-31").all()
        assert (frame["period_end"].dt.year == frame["year"].str[:4].astype(int) + 1).all()


def test_england_matches_published_totals(observed):
    england = _wide(observed["england"])
    assert england["referrals_received"].to_dict() == {y: float(v) for y, v in ENGLAND_REFERRALS.items()}
    # the published recovery rate is recovered / (finished - not at caseness), to 1 decimal place
    rate = england["recovered"] / (england["finished_course_treatment"] - england["not_at_caseness"])
    np.testing.assert_allclose((100 * rate).round(1), england["recovery_rate"])
    rate = england["reliably_recovered"] / (england["finished_course_treatment"] - england["not_at_caseness"])
    np.testing.assert_allclose((100 * rate).round(1), england["reliable_recovery_rate"])
    assert (england["at_caseness"] + england["not_at_caseness"] <= england["finished_course_treatment"]).all()
    assert (england["recovered"] <= england["at_caseness"]).all()


@pytest.mark.parametrize("level", ["regions", "icb", "stp", "ccg"])
def test_areas_add_up_to_england(observed, level):
    """Areas (with UNKNOWN) sum to England within the publisher's rounding to 5 and suppression."""
    england = _wide(observed["england"])
    areas = observed[level]
    areas = areas[areas["measure"].isin(COUNTS)]
    for (year, measure), group in areas.groupby(["year", "measure"]):
        n = len(group)
        suppressed = int(group["value"].isna().sum())
        assert (group["value"].dropna() % 5 == 0).all(), (level, year, measure)
        total = group["value"].sum()
        gap = england.loc[year, measure] - total
        # each rounded count is within 2.5 of the true one; a suppressed count is under 10
        assert -2.5 * n <= gap <= 2.5 * n + 10 * suppressed, (level, year, measure, gap)
        # and the rounding errors (sd 5 / sqrt(12) each) largely cancel: within 4 sd of their sum
        assert abs(gap) <= 4 * 5 / np.sqrt(12) * np.sqrt(n) + 10 * suppressed, (level, year, measure, gap)


def test_breakdowns_add_up_to_england_exactly(observed):
    england = _wide(observed["england"])[COUNTS].stack().sort_index()
    deprivation = observed["deprivation"]
    assert deprivation["category"].nunique() == 11
    deciles = deprivation[deprivation["measure"].isin(COUNTS)].groupby(["year", "measure"])["value"].sum()
    pd.testing.assert_series_equal(deciles.sort_index(), england, check_names=False)

    ethnicity = observed["ethnicity"]
    counts = ethnicity[ethnicity["measure"].isin(COUNTS)]
    broad = counts[counts["subcategory"] == "All"]
    assert broad["category"].nunique() == 6
    groups = broad.groupby(["year", "measure"])["value"].sum()
    pd.testing.assert_series_equal(groups.sort_index(), england, check_names=False)
    parts = counts[counts["subcategory"] != "All"].groupby(["year", "measure", "category"])["value"].sum()
    whole = broad.set_index(["year", "measure", "category"])["value"].loc[parts.index]
    pd.testing.assert_series_equal(parts, whole, check_names=False)
    # one spelling of each part across the years
    assert not ethnicity["subcategory"].str.contains("Other .* Background", regex=True).any()
    assert ethnicity.groupby("subcategory")["year"].nunique().eq(len(YEARS)).all()


def test_deprivation_gradient_2022_23(observed):
    """../shared/data/README.md: referrals 118,036 (least deprived) to 235,496; recovery 55.2% to 41.6%."""
    d = observed["deprivation"]
    d = d[d["year"] == "2022-23"].pivot(index="category", columns="measure", values="value")
    assert d.loc["01 Least deprived", "referrals_received"] == 118_036
    assert d.loc["10 Most deprived", "referrals_received"] == 235_496
    assert d.loc["01 Least deprived", "recovery_rate"] == 55.2
    assert d.loc["10 Most deprived", "recovery_rate"] == 41.6


# ---------------------------------------------------------------- against the shared source


@pytest.fixture(scope="module")
def source_referrals() -> pd.DataFrame:
    """Referrals received, every area total, straight from the shared parquet."""
    frame = pd.read_parquet(
        PARQUET,
        columns=["reporting_period", "org_type", "org_code", "measure_name", "measure_statistic", "value"],
        filters=[("variable_type", "==", "Total"), ("measure_name", "==", "referrals_received")],
    )
    return frame[frame["measure_statistic"] == "count"]


@needs_shared
def test_england_referrals_equal_the_parquet(observed, source_referrals):
    england = source_referrals[source_referrals["org_type"] == "England"]
    direct = england.set_index("reporting_period")["value"].astype(float).sort_index()
    assert len(direct) == len(YEARS)
    extract = _wide(observed["england"])["referrals_received"].sort_index()
    pd.testing.assert_series_equal(extract, direct, check_names=False)


@needs_shared
@pytest.mark.parametrize(
    ("level", "org_type"), [("icb", "ICB"), ("ccg", "CCG"), ("regions", "Commissioning Region")]
)
def test_area_referrals_equal_the_parquet(observed, source_referrals, level, org_type):
    areas = source_referrals[source_referrals["org_type"] == org_type]
    direct = pd.to_numeric(areas.set_index(["reporting_period", "org_code"])["value"], errors="coerce")
    direct = direct.astype(float)
    frame = observed[level]
    frame = frame[frame["measure"] == "referrals_received"].set_index(["year", "area_code"])["value"]
    pd.testing.assert_series_equal(frame.sort_index(), direct.sort_index(), check_names=False)


@needs_shared
def test_rerun_reproduces_the_checked_in_files(tmp_path):
    from calibration.extract import main

    assert main(["--source", str(SHARED), "--out", str(tmp_path), "--date", "2000-01-01"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES.values())
    for file in FILES.values():
        new = (tmp_path / file).read_text(encoding="utf-8").splitlines()
        old = (DATA / file).read_text(encoding="utf-8").splitlines()
        undated = [i for i, line in enumerate(new) if not line.startswith("# Extracted:")]
        assert len(new) == len(old), file
        assert [new[i] for i in undated] == [old[i] for i in undated], file


def test_extract_without_source_fails_cleanly(tmp_path, capsys):
    from calibration.extract import main

    assert main(["--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "measures_annual.parquet not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the reader's checks

HEADER = "year,period_start,period_end,geography_level,area_code,area_name,measure,value,unit,flag"
GOOD = "2020-21,2020-04-01,2021-03-31,England,E92000001,England,referrals_received,1456446,referrals,"
RATE = "2020-21,2020-04-01,2021-03-31,England,E92000001,England,recovery_rate,51.4,percent,"


def _write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "observed.csv"
    text = "# Source: a test\n# Licence: OGL v3\n" + header + "\n" + "\n".join(rows) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list:
    with pytest.raises(InputError) as info:
        read_observed(path)
    return info.value.problems


def test_good_file_reads(tmp_path):
    frame = read_observed(
        _write(
            tmp_path,
            GOOD,
            RATE,
            GOOD.replace("1456446,referrals,", ",referrals,suppressed").replace(
                "England,E92000001,England", "ICB,QE1,Lancashire"
            ),
        )
    )
    assert list(frame["value"][:2]) == [1456446.0, 51.4]
    assert np.isnan(frame["value"][2]) and frame["flag"][2] == "suppressed"
    assert frame["period_start"][0] == pd.Timestamp("2020-04-01")
    assert frame.attrs["header"] == ["Source: a test", "Licence: OGL v3"]


@pytest.mark.parametrize(
    ("row", "column", "message", "allowed"),
    [
        (
            GOOD.replace("referrals_received", "referals_received"),
            "measure",
            "unknown measure",
            "referrals_received",
        ),
        (GOOD.replace("1456446", "1,456,446"), None, "has 12 fields", "10 fields"),
        (GOOD.replace("1456446", "lots"), "value", "'lots' is not a number", "a whole number"),
        (GOOD.replace("1456446", "-5"), "value", "-5 is negative", "0 or more"),
        (GOOD.replace("1456446", "12.5"), "value", "not a whole number", "a whole number"),
        (GOOD.replace("1456446", ""), "value", "is empty", "suppressed"),
        (RATE.replace("51.4", "151.4"), "value", "more than 100 percent", "from 0 to 100"),
        (GOOD.replace("1456446", "nan"), "value", "not a finite number", "a whole number"),
        (GOOD + "suppressed", "value", "flagged suppressed", "empty where suppressed"),
        (GOOD.replace("2020-21,", "2020/21,", 1), "year", "'2020/21' is not a financial year", "2020-21"),
        (GOOD.replace("2020-21,", "2020-22,", 1), "year", "is not a financial year", "YYYY-YY"),
        (GOOD.replace("2020-21,", "2020,", 1), "year", "is not a financial year", "YYYY-YY"),
        (GOOD.replace("2020-04-01", "2020-13-01"), "period_start", "is not a date", "YYYY-MM-DD"),
        (
            GOOD.replace("2021-03-31", "2021-04-30"),
            "period_end",
            "outside financial year 2020-21",
            "2020-04-01",
        ),
        (
            GOOD.replace("2020-04-01,2021-03-31", "2021-03-01,2020-05-01"),
            "period_end",
            "before period_start",
            None,
        ),
        (
            GOOD.replace("England,E92000001", "Country,E92000001"),
            "geography_level",
            "unknown geography",
            "ICB",
        ),
        (GOOD.replace("E92000001", ""), "area_code", "is empty", "code"),
        (GOOD.replace("referrals,", "people,"), "unit", "'people' is not the unit", "'referrals'"),
        (RATE.replace("percent,", "referrals,"), "unit", "is not the unit of recovery_rate", "'percent'"),
        (GOOD.replace("referrals,", "referrals,maybe"), "flag", "unknown flag", "suppressed"),
        (GOOD.replace(",England,referrals", ",England #1,referrals"), "area_name", "contains '#'", "comment"),
    ],
)
def test_bad_rows_are_named(tmp_path, row, column, message, allowed):
    first = GOOD if "recovery_rate" in row else RATE  # a good row that is no duplicate of this one
    problems = _problems(_write(tmp_path, first, row))
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file == "observed.csv"
    assert problem.row == 2 and problem.line == 5  # two comment lines, the header, then the rows
    assert problem.column == column
    assert message in problem.message
    if allowed is not None:
        assert allowed in problem.allowed
    text = str(problem)
    assert "observed.csv" in text and "row 2" in text and "line 5" in text
    if column:
        assert f"column {column!r}" in text


def test_duplicate_row_key_names_both_rows(tmp_path):
    problems = _problems(_write(tmp_path, GOOD, RATE, GOOD.replace("1456446", "1456000")))
    assert len(problems) == 1
    assert problems[0].row == 3 and problems[0].line == 6
    assert "repeats row 1 (line 4)" in problems[0].message
    assert "one row per year, area" in problems[0].allowed


def test_missing_and_unknown_columns(tmp_path):
    header = HEADER.replace(",unit,flag", ",units,flag")
    problems = _problems(_write(tmp_path, GOOD, header=header))
    text = [str(p) for p in problems]
    assert any("unknown column 'units'" in t and "line 3" in t for t in text), text
    assert any("column 'unit'" in t and "is missing" in t and "line 3" in t for t in text), text
    problems = _problems(_write(tmp_path, GOOD, header=HEADER.replace(",value", "")))
    assert [p.column for p in problems] == ["value"]


def test_breakdown_columns(tmp_path):
    header = HEADER.replace(",measure", ",breakdown,category,subcategory,measure")
    row = GOOD.replace(",referrals_received", ",deprivation_decile,01 Least deprived,,referrals_received")
    frame = read_observed(_write(tmp_path, row, header=header))
    assert frame["category"][0] == "01 Least deprived"
    problems = _problems(_write(tmp_path, row.replace("deprivation_decile", "income"), header=header))
    assert problems[0].column == "breakdown" and "deprivation_decile" in problems[0].allowed
    problems = _problems(_write(tmp_path, row.replace("01 Least deprived", ""), header=header))
    assert problems[0].column == "category"
    # the same measure in two categories is no duplicate; in one category it is
    other = row.replace("01 Least", "10 Most")
    assert len(read_observed(_write(tmp_path, row, other, header=header))) == 2
    assert "repeats row 1" in _problems(_write(tmp_path, row, row, header=header))[0].message


def test_every_problem_is_listed(tmp_path):
    rows = [
        GOOD.replace("1456446", "x"),
        GOOD.replace("2020-21,", "21,", 1),
        RATE.replace("recovery", "cure"),
    ]
    problems = _problems(_write(tmp_path, *rows))
    assert [(p.row, p.line, p.column) for p in problems] == [
        (1, 4, "value"),
        (2, 5, "year"),
        (3, 6, "measure"),
    ]
    assert str(InputError(problems)).startswith("3 problems found")


def test_many_problems_stop_at_a_hundred(tmp_path):
    rows = [GOOD.replace("1456446", "x").replace("E92000001", f"A{i}") for i in range(150)]
    problems = _problems(_write(tmp_path, *rows))
    assert len(problems) == 101 and "stopped after 100 problems" in problems[-1].message


def test_file_level_problems(tmp_path):
    assert "does not exist" in _problems(tmp_path / "absent.csv")[0].message
    empty = tmp_path / "empty.csv"
    empty.write_text("# only comments\n", encoding="utf-8")
    assert "no header row" in _problems(empty)[0].message
    assert "no data rows" in _problems(_write(tmp_path))[0].message
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00year")
    assert "not UTF-8" in _problems(binary)[0].message
    broken = _write(tmp_path, GOOD.replace("England,E92000001,England", 'England,E92000001,"Eng"land'))
    problems = _problems(broken)
    assert problems[0].line == 4 and "cannot be read as CSV" in problems[0].message
    # an unreadable row still counts: the next row's number is the one the user sees
    bad_after = _write(
        tmp_path, GOOD.replace("England,E92000001,England", '"Eng"land'), RATE.replace("51.4", "x")
    )
    assert [(p.row, p.line, p.column) for p in _problems(bad_after)] == [(None, 4, None), (2, 5, "value")]
    broken_header = _write(tmp_path, GOOD, header='"year"x,' + HEADER)
    problems = _problems(broken_header)
    assert len(problems) == 1 and problems[0].line == 3
