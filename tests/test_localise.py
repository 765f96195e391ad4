"""Local models: population tables add up, an area's deprivation mix, the written model and the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.files._loading import load_model
from simulator.files._localise import AreaError, build_population_tables, find_area, population_tables
from simulator.files._localise_model import localise_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "population"
needs_shared = pytest.mark.skipif(
    not (SHARED / "lsoa_population_2019.csv").exists(), reason="shared data absent"
)

#: ONS mid-2019 population of England (as published; the sum of its LSOAs)
ENGLAND_MID_2019 = 56_286_961
#: ONS mid-2022 population of England (the sum of its 42 ICBs)
ENGLAND_MID_2022 = 57_106_398


def test_local_authorities_add_up_to_england():
    la, icb = population_tables()
    assert len(la) == 309 and la["code"].is_unique
    assert int(la["population"].sum()) == ENGLAND_MID_2019
    deciles = la[[f"d{i}" for i in range(1, 11)]]
    assert (deciles.sum(axis=1) == la["population"]).all()
    assert len(icb) == 42 and int(icb["population"].sum()) == ENGLAND_MID_2022
    bands = icb[[c for c in icb.columns if c.startswith(("female_", "male_"))]].sum(axis=1)
    assert (bands == icb["population"]).all()


@needs_shared
def test_shipped_tables_are_the_shared_data_derived():
    la, icb = build_population_tables(SHARED)
    ship_la, ship_icb = population_tables()
    pd.testing.assert_frame_equal(la, ship_la, check_dtype=False)
    pd.testing.assert_frame_equal(icb, ship_icb, check_dtype=False)
    pop = pd.read_csv(SHARED / "lsoa_population_2019.csv", encoding="utf-8-sig", thousands=",")
    assert int(pop.loc[pop["lsoa"].str.startswith("E"), "pop"].sum()) == ENGLAND_MID_2019


@needs_shared
@pytest.mark.parametrize("area", ["Bury", "E09000001", "Cornwall"])
def test_decile_mix_equals_direct_computation_from_lsoas(area):
    look = pd.read_csv(SHARED / "lsoa11_lsoa21_lad22_lookup.csv", encoding="utf-8-sig")
    imd = pd.read_csv(SHARED / "lsoa_imd2019_england.csv")
    pop = pd.read_csv(SHARED / "lsoa_population_2019.csv", encoding="utf-8-sig", thousands=",")
    a = find_area(area)
    lsoas = set(look.loc[look["LAD22CD"] == a.code, "LSOA11CD"])
    rows = imd[imd["lsoa"].isin(lsoas)].merge(pop, on="lsoa")
    direct = rows.groupby("original_decile")["pop"].sum().reindex(range(1, 11), fill_value=0)
    np.testing.assert_array_equal(np.asarray(a.deciles), direct.to_numpy())
    assert a.population == direct.sum()
    np.testing.assert_allclose(a.mix(10), direct.to_numpy() / direct.sum(), rtol=1e-12)
    q = direct.to_numpy().reshape(5, 2).sum(axis=1)
    np.testing.assert_allclose(a.mix(5), q / q.sum(), rtol=1e-12)


def test_bury_by_name_and_code():
    a, b = find_area("bury"), find_area("E08000002")
    assert a == b and a.kind == "local authority" and a.population == 190_990
    assert a.factor == pytest.approx(190_990 / ENGLAND_MID_2019)


def test_icb_by_short_name_with_age_bands():
    a = find_area("Greater Manchester")
    assert a.kind == "ICB" and a.code == "E54000057" and a.deciles is None and a.mix(10) is None
    assert sum(here for here, _ in a.ages.values()) == a.population
    assert sum(eng for _, eng in a.ages.values()) == ENGLAND_MID_2022


def test_unknown_area_suggests_close_matches():
    with pytest.raises(AreaError, match="did you mean: Bury"):
        find_area("Burry")


def test_localised_model_scales_people_exactly(tmp_path):
    area = find_area("Bury")
    path, rec = localise_model("england", area, tmp_path / "bury.yaml")
    eng, bury = load_model("england"), load_model(path)
    f = area.factor
    np.testing.assert_allclose(bury.tables.groups["size"], eng.tables.groups["size"] * f, rtol=1e-12)
    np.testing.assert_allclose(
        bury.tables.demand["underlying"], eng.tables.demand["underlying"] * f, rtol=1e-12
    )
    assert rec["population"] == 190_990 and rec["population_factor"] == pytest.approx(f)
    assert sum(rec["deprivation"]["people"]) == 190_990
    assert "LOCALISED to Bury" in bury.tables.sources["groups"]
    # the surge model is linear in its people: every referral scales by the same factor
    from simulator.core._run import simulate

    r_eng, r_bury = simulate(eng), simulate(bury)
    np.testing.assert_allclose(r_bury["new_referral"].sum(), r_eng["new_referral"].sum() * f, rtol=1e-9)


def test_icb_groups_scaled_by_age_band(tmp_path):
    area = find_area("E54000057")
    path, rec = localise_model("england", area, tmp_path / "gm.yaml")
    here, eng = area.ages["age_0_17"]
    assert rec["group_factors"]["Children & young people"]["factor"] == pytest.approx(here / eng)
    assert rec["group_factors"]["General population"]["factor"] == pytest.approx(area.factor)
    sizes = load_model(path).tables.groups.set_index("group")["size"]
    base = load_model("england").tables.groups.set_index("group")["size"]
    assert sizes["Elderly alone"] == pytest.approx(
        base["Elderly alone"] * np.divide(*area.ages["age_65_plus"])
    )


STRATIFIED = """\
upstream: model
kind: surge
extends: england
name: England by IMD quintile (test)
strata:
  - name: deprivation
    label: IMD 2019 quintile
    ordered: true
    categories: [Q1, Q2, Q3, Q4, Q5]
    shares:
      source: equal shares, for the test
      all: [0.2, 0.2, 0.2, 0.2, 0.2]
tables: {}
"""


def test_stratified_model_gets_the_area_mix(tmp_path):
    pytest.importorskip("simulator.files._strata_spec")
    src = tmp_path / "strat.yaml"
    src.write_text(STRATIFIED)
    area = find_area("Bury")
    path, rec = localise_model(src, area, tmp_path / "bury-strat.yaml")
    m = load_model(path)
    s = m.spec.meta["strata"][0]
    np.testing.assert_allclose(s.shares, area.mix(5), atol=1e-9)
    assert rec["strata_changed"]


def test_command_writes_and_refuses(tmp_path):
    out = tmp_path / "bury.yaml"
    res = CliRunner().invoke(main, ["localise", "england", "--area", "Bury", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "190,990 people" in res.output and out.exists()
    bad = tmp_path / "x.yaml"
    res = CliRunner().invoke(main, ["localise", "england", "--area", "Burry", "-o", str(bad)])
    assert res.exit_code == 2 and "did you mean: Bury" in res.output and "Traceback" not in res.output
    assert not bad.exists()
    res = CliRunner().invoke(main, ["localise", "england", "--area", "Bury", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and ".yaml" in res.output
