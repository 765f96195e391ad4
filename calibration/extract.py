"""Tidy CSV extracts of observed NHS Talking Therapies (formerly IAPT) activity.

Run from the repository root (needs the shared data folder, which a clone of
the project does not have; the extracts it writes are checked in)::

    python -m calibration.extract --source ../shared/data --out calibration/data

It reads ``talking-therapies/measures_annual.parquet`` under ``--source`` and
writes, for financial years 2017-18 to 2022-23:

``talking_therapies_england.csv``, ``talking_therapies_regions.csv``,
``talking_therapies_icb.csv``, ``talking_therapies_stp.csv``, ``talking_therapies_ccg.csv``
    Totals per area: referrals received, finished courses of treatment, those at
    and not at caseness, recovered and reliably recovered, and the published
    recovery rates.
``talking_therapies_england_deprivation.csv``, ``talking_therapies_england_ethnicity.csv``
    The same measures for England by deprivation decile and by ethnic group.

Every file starts with ``#`` lines naming its source, licence, the extraction
date and this script; the columns are those of
:func:`simulator.files._observed.read_observed`, which validates them.  Rerunning
on the same parquet reproduces the files exactly apart from the date line
(``--date`` fixes it).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from simulator.files._observed import COLUMNS, MEASURES

__all__ = ["SOURCE_FILE", "extract", "main"]

SOURCE_FILE = Path("talking-therapies") / "measures_annual.parquet"

#: (published measure_name, measure_statistic) -> our measure
_MEASURE_MAP = {
    ("referrals_received", "count"): "referrals_received",
    ("finished_course_treatment", "count"): "finished_course_treatment",
    ("at_caseness", "count"): "at_caseness",
    ("not_at_caseness", "count"): "not_at_caseness",
    ("recovery", "count"): "recovered",
    ("recovery", "percentage"): "recovery_rate",
    ("reliable_recovery", "count"): "reliably_recovered",
    ("reliable_recovery", "percentage"): "reliable_recovery_rate",
}
_MEASURE_ORDER = {m: i for i, m in enumerate(MEASURES)}

#: published org_type -> (our geography_level, file stem)
_LEVELS = {
    "England": ("England", "england"),
    "Commissioning Region": ("Region", "regions"),
    "ICB": ("ICB", "icb"),
    "STP": ("STP", "stp"),
    "CCG": ("CCG", "ccg"),
}
_BREAKDOWNS = {
    "Indices of Deprivation Decile": ("deprivation_decile", "england_deprivation"),
    "Ethnic Group": ("ethnic_group", "england_ethnicity"),
}
ENGLAND_CODE, ENGLAND_NAME = "E92000001", "England"

_SOURCE_LINES = (
    "Source: NHS England (formerly NHS Digital), NHS Talking Therapies for anxiety and depression",
    "  (formerly Psychological Therapies: Annual report on the use of IAPT services), annual",
    "  'measures' data, financial years 2017-18 to 2022-23; tidied by the nhstt R package",
    "  (https://github.com/bennettoxford/nhstt, MIT) and",
    "  https://github.com/bennettoxford/mental-health-open-data; read from the project's shared",
    "  copy ../shared/data/talking-therapies/measures_annual.parquet (see ../shared/data/README.md).",
    "Licence: Open Government Licence v3.0",
    "  (https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/).",
    "  All NHS Talking Therapies data is Copyright NHS England.",
    "  Contains public sector information licensed under the Open Government Licence v3.0.",
)


def _header(title: str, notes: tuple[str, ...], when: str) -> str:
    lines = [
        f"Upstream observed data: {title}",
        *_SOURCE_LINES,
        f"Extracted: {when} by calibration/extract.py",
        "  (python -m calibration.extract --source ../shared/data --out calibration/data).",
        "Columns and caveats: calibration/data/README.md. Read with",
        "  simulator.files.read_observed(path), or pandas.read_csv(path, comment='#').",
        *notes,
    ]
    return "".join(f"# {line}\n" for line in lines)


_ROUNDING = (
    "Counts below England level are rounded by the publisher to the nearest 5 and small",
    "  numbers are suppressed (empty value, flag 'suppressed'); England counts are exact.",
    "  Rates are published to 1 decimal place for England and as whole numbers below it.",
)
_NOTES = {
    "england": (),
    "regions": (
        *_ROUNDING,
        "Regions: 4 NHS commissioning regions in 2017-18 (Y54-Y57), 5 in 2018-19, 7 from 2019-20",
        "  (Y56, Y58-Y63); area_code UNKNOWN holds referrals not assigned to a region.",
    ),
    "icb": (
        *_ROUNDING,
        "ICBs (42, from 1 July 2022) are published for 2022-23 only; earlier years are by STP and",
        "  CCG. area_code UNKNOWN holds referrals not assigned to an ICB.",
    ),
    "stp": (
        *_ROUNDING,
        "STPs/ICSs, 2017-18 to 2021-22 (ICBs from 2022-23): 44 in 2017-18, 42 from 2018-19;",
        "  boundaries and codes changed between years. area_code UNKNOWN holds referrals not",
        "  assigned to an STP.",
    ),
    "ccg": (
        *_ROUNDING,
        "CCGs, 2017-18 to 2021-22 (ICBs from 2022-23); CCGs merged between years (210 in",
        "  2017-18, 108 in 2021-22), so an area's series may break. area_code UNKNOWN holds",
        "  referrals not assigned to a CCG.",
    ),
    "england_deprivation": (
        "Deprivation decile of the patient's home area (English Indices of Deprivation) as",
        "  published: '01 Least deprived' .. '10 Most deprived', the reverse of the IMD",
        "  convention (IMD decile 1 = most deprived = '10 Most deprived' here).",
        "  'Not stated/Not known/Invalid' is a category; the categories sum to England's total.",
    ),
    "england_ethnicity": (
        "Ethnic group as recorded (NHS data dictionary categories): category is the broad group,",
        "  subcategory 'All' its total and the other subcategories its parts (do not add 'All'",
        "  to its parts). 'Any Other ... Background' (to 2019-20) is spelled 'Any other ...",
        "  background' throughout. The broad groups' 'All' rows sum to England's total.",
    ),
}
_TITLES = {
    "england": "NHS Talking Therapies activity, England, by financial year",
    "regions": "NHS Talking Therapies activity, NHS commissioning regions, by financial year",
    "icb": "NHS Talking Therapies activity, Integrated Care Boards, by financial year",
    "stp": "NHS Talking Therapies activity, STPs/ICSs, by financial year",
    "ccg": "NHS Talking Therapies activity, CCGs, by financial year",
    "england_deprivation": "NHS Talking Therapies activity, England, by deprivation decile and financial year",
    "england_ethnicity": "NHS Talking Therapies activity, England, by ethnic group and financial year",
}


def _read(source: Path) -> pd.DataFrame:
    path = source / SOURCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (--source is the shared data folder)")
    wanted = [k[0] for k in _MEASURE_MAP]
    frame = pd.read_parquet(
        path,
        filters=[
            ("measure_name", "in", sorted(set(wanted))),
            ("variable_type", "in", ["Total", *_BREAKDOWNS]),
        ],
    )
    frame = frame[(frame["variable_type"] == "Total") | (frame["org_type"] == "England")]
    key = list(zip(frame["measure_name"], frame["measure_statistic"]))
    frame = frame.assign(measure=[_MEASURE_MAP.get(k) for k in key])
    return frame[frame["measure"].notna() & frame["org_type"].isin(list(_LEVELS))].copy()


def _value(text: str, unit: str) -> tuple[str, str]:
    """Published value text -> (value, flag)."""
    text = text.strip()
    if text in ("*", "NULL", ""):
        return "", "suppressed"
    number = float(text)
    if unit == "referrals":
        if not number.is_integer():
            raise ValueError(f"count {text!r} is not whole")
        return str(int(number)), ""
    return format(number, "g"), ""


def _ethnic_label(text: str) -> str:
    """'Any Other Asian Background' -> 'Any other Asian background' (the later spelling)."""
    if text.startswith("Any Other ") and text.endswith(" Background"):
        return "Any other " + text[len("Any Other ") : -len(" Background")] + " background"
    return text


def _tidy(frame: pd.DataFrame, breakdown: str | None) -> pd.DataFrame:
    level = frame["org_type"].map(lambda t: _LEVELS[t][0])
    england = frame["org_type"] == "England"
    out = pd.DataFrame(
        {
            "year": frame["reporting_period"].astype(str),
            "period_start": frame["start_date"].astype(str).str[:10],
            "period_end": frame["end_date"].astype(str).str[:10],
            "geography_level": level,
            "area_code": frame["org_code"].where(~england, ENGLAND_CODE).str.strip(),
            "area_name": frame["org_name"].where(~england, ENGLAND_NAME).str.strip(),
            "measure": frame["measure"],
        }
    )
    units = out["measure"].map(lambda m: MEASURES[m][0])
    pairs = [_value(v, u) for v, u in zip(frame["value"].astype(str), units)]
    out["value"] = [v for v, _ in pairs]
    out["unit"] = units
    out["flag"] = [f for _, f in pairs]
    sort = ["year", "area_code", "measure_order"]
    if breakdown is not None:
        out["breakdown"] = breakdown
        out["category"] = frame["variable_a"].str.strip()
        sub = frame["variable_b"].str.strip()
        if breakdown == "ethnic_group":
            out["subcategory"] = sub.map(_ethnic_label)
            # the broad group's own total first, then its parts
            out["sub_order"] = (out["subcategory"] != "All").astype(int)
            sort = ["year", "category", "sub_order", "subcategory", "measure_order"]
        else:
            out["subcategory"] = ""
            sort = ["year", "category", "measure_order"]
    out["measure_order"] = out["measure"].map(_MEASURE_ORDER)
    out = out.sort_values(sort, kind="stable")
    where = list(COLUMNS[: COLUMNS.index("measure")])
    keep = (
        where
        + (["breakdown", "category", "subcategory"] if breakdown else [])
        + ["measure", "value", "unit", "flag"]
    )
    return out[keep].reset_index(drop=True)


def _write(path: Path, header: str, table: pd.DataFrame) -> None:
    buffer = io.StringIO()
    buffer.write(header)
    table.to_csv(buffer, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    text = buffer.getvalue()
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)


def extract(source: str | Path, out: str | Path, when: str | None = None) -> list[Path]:
    """Write the extracts from the shared data folder ``source`` into ``out``; returns their paths."""
    from simulator.files._observed import read_observed

    source, out = Path(source), Path(out)
    when = when or date.today().isoformat()
    frame = _read(source)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, pd.DataFrame] = {}
    totals = frame[frame["variable_type"] == "Total"]
    for org_type, (_, stem) in _LEVELS.items():
        tables[stem] = _tidy(totals[totals["org_type"] == org_type], None)
    england = frame[frame["org_type"] == "England"]
    for variable_type, (breakdown, stem) in _BREAKDOWNS.items():
        tables[stem] = _tidy(england[england["variable_type"] == variable_type], breakdown)
    written = []
    for stem, table in tables.items():
        if table.empty:
            raise ValueError(f"no rows for {stem} in {source / SOURCE_FILE}")
        path = out / f"talking_therapies_{stem}.csv"
        _write(path, _header(_TITLES[stem], _NOTES[stem], when), table)
        read_observed(path)  # what we write must pass the reader's checks
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m calibration.extract --source DIR --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m calibration.extract",
        description="Tidy CSV extracts of NHS Talking Therapies activity from the shared parquet.",
    )
    parser.add_argument("--source", required=True, help="the shared data folder (holds talking-therapies/)")
    parser.add_argument("--out", default="calibration/data", help="folder for the CSV files")
    parser.add_argument("--date", default=None, help="extraction date to record (default: today)")
    args = parser.parse_args(argv)
    try:
        paths = extract(args.source, args.out, args.date)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
