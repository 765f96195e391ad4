"""Derive the shipped stratified England models and their data files from the published sources.

Run from the project root (needs the shared data folder beside the project)::

    python models/data/derive_strata.py [--shared ../shared/data]

Writes, in ``models/data/``:

* ``imd2019_population_by_decile.csv``: English LSOAs and mid-2019 population by
  IMD 2019 decile and quintile (``../shared/data/population/``);
* ``talking_therapies_by_imd_2022-23.csv`` and ``talking_therapies_by_ethnicity_2022-23.csv``:
  NHS Talking Therapies referrals, finished courses and recovery, England, 2022-23
  (from ``calibration/data/``, itself extracted from the published annual data);
* ``census2021_ethnicity_england.csv``: broad ethnic groups of England's population;

and the model files ``models/england-imd.yaml`` and ``models/england-ethnicity.yaml``,
every number with its source.  Rerunning reproduces the files exactly.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "data"
CAL = ROOT / "calibration" / "data"
YEAR = "2022-23"

OGL = "Open Government Licence v3.0"
IMD_SOURCE = (
    "English Indices of Deprivation 2019 (MHCLG, OGL v3) LSOA deciles and ONS mid-2019 LSOA population "
    "estimates (OGL v3), via mySociety composite_uk_imd (CC-BY-4.0, attribute mySociety)"
)
TT_SOURCE = (
    "NHS England, NHS Talking Therapies for anxiety and depression annual report, England, 2022-23 "
    "(Copyright NHS England, OGL v3), via calibration/data"
)
CENSUS = {  # ONS, Census 2021, England: ethnic group (../shared/data/README.md), percent
    "White": 81.0,
    "Asian or Asian British": 9.6,
    "Black, Black British, Caribbean or African": 4.2,
    "Mixed or Multiple": 3.0,
    "Other": 2.2,
}
#: Census 2021 broad group -> NHS Talking Therapies category as published
CENSUS_TO_TT = {
    "White": "White",
    "Asian or Asian British": "Asian or Asian British",
    "Black, Black British, Caribbean or African": "Black or Black British",
    "Mixed or Multiple": "Mixed",
    "Other": "Other Ethnic Groups",
}
QUINTILES = ("Q1 most deprived", "Q2", "Q3", "Q4", "Q5 least deprived")


def _header(lines: list[str]) -> str:
    return "".join(f"# {x}\n" for x in lines)


def _write_csv(frame: pd.DataFrame, name: str, header: list[str]) -> None:
    (OUT / name).write_text(
        _header(header) + frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
    )


def population_by_decile(shared: Path) -> pd.DataFrame:
    """English LSOAs and their mid-2019 population by IMD 2019 decile (1 = most deprived)."""
    imd = pd.read_csv(shared / "population" / "lsoa_imd2019_england.csv")
    imd = imd[imd["nation"] == "E"]
    pop = pd.read_csv(shared / "population" / "lsoa_population_2019.csv", thousands=",", encoding="utf-8-sig")
    m = imd.merge(pop, on="lsoa", how="left", validate="one_to_one")
    if m["pop"].isna().any():
        raise ValueError("an English LSOA has no population")
    d = m.groupby("original_decile").agg(lsoas=("lsoa", "size"), population=("pop", "sum")).reset_index()
    d = d.rename(columns={"original_decile": "imd_decile"})
    d["imd_quintile"] = (d["imd_decile"] + 1) // 2
    d["share"] = (d["population"] / d["population"].sum()).round(6)
    return d


def talking_therapies(path: Path, breakdown_filter) -> pd.DataFrame:
    """Counts of one year's breakdown, one row per category."""
    raw = pd.read_csv(path, comment="#", dtype={"year": str})
    raw = raw[(raw["year"] == YEAR) & breakdown_filter(raw)]
    wide = raw.pivot(index="category", columns="measure", values="value")
    keep = [
        "referrals_received",
        "finished_course_treatment",
        "not_at_caseness",
        "recovered",
        "recovery_rate",
    ]
    out = wide[keep].reset_index()
    for c in keep[:-1]:
        out[c] = out[c].astype(int)
    return out


def imd_tables(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population by decile and NHS Talking Therapies by IMD decile (publisher's decile reversed)."""
    pop = population_by_decile(shared)
    tt = talking_therapies(CAL / "talking_therapies_england_deprivation.csv", lambda r: r["category"] != "")
    tt = tt[tt["category"].str[:2].str.isdigit()].copy()
    tt["imd_decile"] = 11 - tt["category"].str[:2].astype(int)  # calibration/data/README.md, caveats
    tt = tt.sort_values("imd_decile")
    cols = ["imd_decile", "category"] + [c for c in tt.columns if c not in ("imd_decile", "category")]
    return pop, tt[cols]


def _recovery(frame: pd.DataFrame) -> np.ndarray:
    """Recovery rate from counts: recovered / (finished - not at caseness)."""
    return (frame["recovered"] / (frame["finished_course_treatment"] - frame["not_at_caseness"])).to_numpy()


def imd_multipliers(pop: pd.DataFrame, tt: pd.DataFrame) -> dict[str, np.ndarray]:
    """Shares, referral-per-head and recovery multipliers by IMD quintile (population-weighted mean 1)."""
    p = pop.groupby("imd_quintile")["population"].sum().to_numpy(dtype=float)
    q = tt.assign(imd_quintile=(tt["imd_decile"] + 1) // 2).groupby("imd_quintile").sum(numeric_only=True)
    share = p / p.sum()
    per_head = q["referrals_received"].to_numpy() / p
    referral = per_head / (share @ per_head)
    rec = _recovery(q)
    pooled = q["recovered"].sum() / (q["finished_course_treatment"] - q["not_at_caseness"]).sum()
    return {"share": share, "referral": referral, "recovery": rec / pooled, "per_head": per_head, "rate": rec}


def ethnicity_multipliers(tt: pd.DataFrame) -> dict[str, np.ndarray]:
    """Census shares, and referral-propensity and recovery multipliers by broad ethnic group."""
    share = np.array(list(CENSUS.values())) / 100.0
    share = share / share.sum()
    rows = tt.set_index("category").loc[[CENSUS_TO_TT[g] for g in CENSUS]]
    refs = rows["referrals_received"].to_numpy(dtype=float)
    per_share = refs / share
    referral = per_share / (share @ per_share)  # referrals with no ethnic group recorded left out
    rec = _recovery(rows)
    pooled = rows["recovered"].sum() / (rows["finished_course_treatment"] - rows["not_at_caseness"]).sum()
    return {"share": share, "referral": referral, "recovery": rec / pooled, "rate": rec}


def _r(x: np.ndarray, n: int = 4) -> list[float]:
    return [round(float(v), n) for v in x]


def _flow(xs: list) -> str:
    return "[" + ", ".join(json.dumps(x) if isinstance(x, str) else str(x) for x in xs) + "]"


def imd_yaml(m: dict[str, np.ndarray]) -> str:
    """The England by IMD quintile model file."""
    per_head = ", ".join(f"{x * 1000:.1f}" for x in m["per_head"])
    rates = ", ".join(f"{x * 100:.1f}%" for x in m["rate"])
    return f"""# Upstream surge model: England stratified by deprivation (IMD 2019 quintile).
# Made by models/data/derive_strata.py from the files in models/data/ (see models/data/README.md);
# rerun it rather than editing the numbers here.
upstream: model
kind: surge
name: England by IMD quintile
extends: england.yaml
tables: {{}}  # every table as in england.yaml
description: >-
  The England surge model with every population group divided into the five quintiles of the English Index of
  Multiple Deprivation 2019 (Q1 = the most deprived fifth of neighbourhoods). Referral propensity and treatment
  success differ by quintile as NHS Talking Therapies observed in 2022-23.
strata:
  - name: deprivation
    label: English IMD 2019 quintile of the home neighbourhood (LSOA); Q1 = most deprived
    ordered: true
    categories: {_flow(list(QUINTILES))}
    population: size
    shares:
      source: >-
        {IMD_SOURCE}: share of England's mid-2019 population living in LSOAs of each IMD 2019 quintile
        (models/data/imd2019_population_by_decile.csv). Every population group is given England's mix: the
        project has no breakdown of the groups by deprivation (illustrative assumption for the groups).
      all: {_flow(_r(m["share"], 6))}
    multipliers:
      - parameter: g2c_pcnt
        values: {_flow(_r(m["referral"]))}
        source: >-
          {TT_SOURCE}: referrals received per head of mid-2019 population by IMD quintile ({per_head} per
          1,000), relative to the population-weighted mean (models/data/talking_therapies_by_imd_2022-23.csv).
          Referrals measure demand met by services (need x access x recording), not need; referrals with no
          recorded decile (0.7%) left out. Applied to every condition's referral rate.
      - parameter: success
        values: {_flow(_r(m["recovery"]))}
        source: >-
          {TT_SOURCE}: recovery rate by IMD quintile ({rates}; recovered / (finished course - not at caseness)),
          relative to the pooled rate. Measured in NHS Talking Therapies and applied to every service's share
          discharged needing no further care (an extension beyond the data).
"""


def ethnicity_yaml(m: dict[str, np.ndarray]) -> str:
    """The England by broad ethnic group model file."""
    rates = ", ".join(f"{x * 100:.1f}%" for x in m["rate"])
    cats = list(CENSUS)
    return f"""# Upstream surge model: England stratified by broad ethnic group (Census 2021).
# Made by models/data/derive_strata.py from the files in models/data/ (see models/data/README.md);
# rerun it rather than editing the numbers here.
upstream: model
kind: surge
name: England by ethnic group
extends: england.yaml
tables: {{}}  # every table as in england.yaml
description: >-
  The England surge model with every population group divided into the five broad ethnic groups of the 2021
  Census. Referral propensity and treatment success differ by group as NHS Talking Therapies observed in 2022-23.
strata:
  - name: ethnicity
    label: broad ethnic group (ONS Census 2021 categories)
    ordered: false
    categories: {_flow(cats)}
    population: size
    shares:
      source: >-
        ONS, Census 2021, England: ethnic group of usual residents (OGL v3), as given in the project's shared data
        README (models/data/census2021_ethnicity_england.csv). Every population group is given England's mix
        (illustrative assumption for the groups: the project has no breakdown of the groups by ethnic group).
      all: {_flow(_r(m["share"], 6))}
    multipliers:
      - parameter: g2c_pcnt
        values: {_flow(_r(m["referral"]))}
        source: >-
          {TT_SOURCE}: referrals received per Census 2021 population share by broad ethnic group, relative to the
          population-weighted mean (models/data/talking_therapies_by_ethnicity_2022-23.csv). Referrals with no
          ethnic group recorded (10.4%) are left out, which assumes they are spread like the recorded ones.
          Referrals measure demand met by services (need x access x recording), not need; Census 2021 (March 2021)
          is the denominator for 2022-23 referrals.
      - parameter: success
        values: {_flow(_r(m["recovery"]))}
        source: >-
          {TT_SOURCE}: recovery rate by broad ethnic group ({rates}; recovered / (finished course - not at
          caseness)), relative to the pooled rate of the five groups. Measured in NHS Talking Therapies and applied
          to every service's share discharged needing no further care (an extension beyond the data).
"""


def main() -> None:
    """Write the data files and the two model files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"), help="the shared data folder")
    shared = Path(ap.parse_args().shared)
    OUT.mkdir(exist_ok=True)
    pop, tt = imd_tables(shared)
    _write_csv(pop, "imd2019_population_by_decile.csv", [IMD_SOURCE, "imd_decile 1 = most deprived"])
    _write_csv(
        tt, "talking_therapies_by_imd_2022-23.csv", [TT_SOURCE, "imd_decile = 11 - publisher's decile"]
    )
    eth = talking_therapies(
        CAL / "talking_therapies_england_ethnicity.csv", lambda r: r["subcategory"].fillna("") == "All"
    )
    _write_csv(eth, "talking_therapies_by_ethnicity_2022-23.csv", [TT_SOURCE, "broad groups' own totals"])
    census = pd.DataFrame({"ethnic_group": list(CENSUS), "percent": list(CENSUS.values())})
    _write_csv(census, "census2021_ethnicity_england.csv", [f"ONS, Census 2021, England ({OGL})"])
    (ROOT / "models" / "england-imd.yaml").write_text(imd_yaml(imd_multipliers(pop, tt)), encoding="utf-8")
    (ROOT / "models" / "england-ethnicity.yaml").write_text(
        ethnicity_yaml(ethnicity_multipliers(eth)), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
