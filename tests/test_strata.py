"""Strata: any model divided by deprivation, ethnic group, age or sex compiles to the same engine.

Checked: with every multiplier 1 the sum over strata equals the unstratified model (surge,
capacity, network and imported Vensim models); each stratum holds its share of the people; a
multiplier on one stratum changes only that stratum's flows (before shared capacity is re-shared;
capacity models in detail: tests/test_capacity_strata.py); the shipped England models carry their
sourced numbers; bad declarations name their place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tiny import tiny_sheets, write_tiny

from simulator.cli import main
from simulator.core._problems import InputError
from simulator.core._run import simulate
from simulator.core._strata import ILLUSTRATIVE, StrataDecl, StrataError, StratumMultiplier
from simulator.core._strata_transform import strata_of, stratify
from simulator.files._loading import load_model, with_strata

ROOT = Path(__file__).resolve().parents[1]
QUINT = ("Q1", "Q2", "Q3", "Q4", "Q5")
SHARES = (0.3, 0.25, 0.2, 0.15, 0.1)


def _decl(multipliers=(), shares=None, **kw) -> StrataDecl:
    return StrataDecl(
        "deprivation",
        QUINT,
        True,
        shares or {"all": SHARES},
        "test shares (illustrative assumption)",
        tuple(multipliers),
        population=kw.pop("population", "size"),
        **kw,
    )


def _units(params) -> list[StratumMultiplier]:
    return [StratumMultiplier(p, (1.0,) * 5, ILLUSTRATIVE) for p in params]


def _rel(a, b) -> float:
    return float(
        np.abs(np.asarray(a) - np.asarray(b)).max() / max(float(np.abs(np.asarray(b)).max()), 1e-300)
    )


@pytest.fixture(scope="module")
def england():
    return load_model("england")


def _compare_sum(plain, stratified, dim="deprivation") -> None:
    a, b = simulate(plain, record="all" if False else None), simulate(stratified)
    shared = [v for v in a.data_vars if v in b.data_vars and a[v].dtype.kind == "f"]
    assert len(shared) >= 5
    for v in shared:
        got = b[v].sum(dim) if dim in b[v].dims else b[v]
        assert _rel(got.transpose(*a[v].dims), a[v]) < 1e-12, v


def test_unit_multipliers_reproduce_the_surge_model(england):
    names = ["pcnt", "g2c_pcnt", "treat_pcnt", "success", "months"]
    per_group = {g: SHARES[::-1] if i % 2 else SHARES for i, g in enumerate(england.spec.dims["group"])}
    m = with_strata(england, [_decl(_units(names), shares=per_group)])
    assert m.spec.dims["deprivation"] == QUINT
    _compare_sum(england, m)


def test_unit_multipliers_reproduce_the_capacity_model():
    plain = load_model("england-capacity")
    names = ["g2c_pcnt", "treat_pcnt", "success", "months"]
    _compare_sum(plain, with_strata(plain, [_decl(_units(names))]))


def test_unit_multipliers_reproduce_a_network_model():
    plain = load_model(ROOT / "models" / "examples" / "waiting-list.yaml")
    m = with_strata(plain, [_decl(_units(["start_rate"]), population=None, total=1000.0)])
    _compare_sum(plain, m)
    (st,) = strata_of(m)
    assert np.allclose(st.population, np.array(SHARES) * 1000.0)


def test_strata_stratified_twice_still_add_up(england):
    sex = StrataDecl("sex", ("female", "male"), False, {"all": (0.51, 0.49)}, ILLUSTRATIVE)
    m = with_strata(england, [_decl(), sex])
    r = simulate(m)
    assert r["at_risk"].dims[-2:] == ("deprivation", "sex")
    assert _rel(r["treatment"].sum(["deprivation", "sex"]), simulate(england)["treatment"]) < 1e-12


def test_each_stratum_holds_its_share_of_the_people(england):
    per_group = {g: SHARES[::-1] if i % 3 else SHARES for i, g in enumerate(england.spec.dims["group"])}
    m = with_strata(england, [_decl(shares=per_group)])
    a, b = simulate(england), simulate(m)
    share = np.array([per_group[g] for g in england.spec.dims["group"]])
    for v in ("at_risk", "new_at_risk"):
        want = a[v].values[..., None] * share  # (member, time, group) x (group, stratum)
        assert _rel(b[v].transpose("member", "time", "group", "deprivation").values, want) < 1e-12
    # people conserved: everyone who arrived is at risk, in treatment or left, stratum by stratum
    full = simulate(m, record=["at_risk", "treatment", "new_at_risk", "no_needs", "recovered", "no_mh_needs"])
    arrived = full["new_at_risk"].sum("group").cumsum("time").shift(time=1, fill_value=0.0)
    left = (full["no_needs"].sum("group") + full["recovered"].sum(["group", "condition", "service"])).cumsum(
        "time"
    )
    held = full["at_risk"].sum("group") + full["treatment"].sum(["group", "condition", "service"])
    assert _rel(held + left.shift(time=1, fill_value=0.0), arrived) < 1e-12
    total = held.sum("deprivation") + full["no_mh_needs"]
    assert _rel(total, arrived.sum("deprivation")) < 1e-12


def test_a_multiplier_on_one_stratum_changes_only_that_stratum(england):
    base = simulate(with_strata(england, [_decl()]))
    one = with_strata(england, [_decl([StratumMultiplier("g2c_pcnt", (1, 1, 1.5, 1, 1), ILLUSTRATIVE)])])
    r = simulate(one)
    for v in ("new_referral", "new_treatment", "treatment", "at_risk"):
        others = [q for q in QUINT if q != "Q3"]
        assert _rel(r[v].sel(deprivation=others), base[v].sel(deprivation=others)) == 0.0, v
        assert _rel(r[v].sel(deprivation="Q3"), base[v].sel(deprivation="Q3")) > 0.01, v


def test_with_shared_capacity_other_strata_change_only_after_the_queue():
    plain = load_model("england-capacity")
    base = simulate(with_strata(plain, [_decl()]))
    r = simulate(
        with_strata(plain, [_decl([StratumMultiplier("g2c_pcnt", (1, 1, 1.5, 1, 1), ILLUSTRATIVE)])])
    )
    others = [q for q in QUINT if q != "Q3"]
    assert _rel(r["new_at_risk"].sel(deprivation=others), base["new_at_risk"].sel(deprivation=others)) == 0.0
    # month 1's referrals come from people at risk before anyone could be re-referred
    first = {"deprivation": others, "time": [0.0, 1.0]}
    assert _rel(r["new_referral"].sel(first), base["new_referral"].sel(first)) == 0.0
    assert _rel(r["new_referral"].sel(deprivation="Q3"), base["new_referral"].sel(deprivation="Q3")) > 0.01


def test_shipped_imd_model_carries_sourced_gradients():
    m = load_model("england-imd")
    (st,) = strata_of(m)
    assert st.name == "deprivation" and st.ordered and len(st.categories) == 5
    # people by quintile: England's mid-2019 LSOA populations in IMD 2019 quintiles, within 3%
    assert np.allclose(np.array(st.shares), 0.2, atol=0.01)
    ref, src = st.multipliers["g2c_pcnt"]
    assert "Talking Therapies" in src and "not need" in src
    assert np.all(np.diff(ref) < 0)  # referrals per head fall from most to least deprived
    # population-weighted mean 1: England's referrals unchanged in total
    assert abs(np.dot(st.shares, ref) - 1) < 1e-3
    rec, _ = st.multipliers["success"]
    assert np.all(np.diff(rec) > 0)  # recovery rises towards the least deprived
    # 2022-23: most deprived decile 235,496 referrals against 118,036 in the least (README)
    r = simulate(m)["new_referral"].sum(["group", "condition", "service", "member", "time"])
    assert 1.5 < float(r[0] / r[-1]) < 2.2


def test_shipped_ethnicity_model_uses_census_shares():
    m = load_model("england-ethnicity")
    (st,) = strata_of(m)
    assert not st.ordered
    assert np.allclose(st.shares, (0.81, 0.096, 0.042, 0.03, 0.022), atol=1e-9)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "model.yaml"
    p.write_text("upstream: model\nkind: surge\nextends: england\ntables: {}\n" + text)
    return p


GOOD = """strata:
  - name: deprivation
    categories: [Q1, Q2]
    shares:
      source: test
      all: [0.5, 0.5]
    multipliers:
      - parameter: success
        values: {Q1: 0.9, Q2: 1.0}
        source: test
"""


@pytest.mark.parametrize(
    ("old", "new", "message", "line"),
    [
        ("all: [0.5, 0.5]", "all: [0.5, 0.6]", "shares sum to 1.1, not 1", 10),
        ("{Q1: 0.9, Q2: 1.0}", "{Q1: 0.9, Q9: 1.0}", "unknown categories ['Q9']", 13),
        ("parameter: success", "parameter: sucess", "unknown parameter 'sucess'", 12),
        ("        source: test\n", "", "the multipliers on 'success' have no source", 12),
        ("all: [0.5, 0.5]", "Nobody: [0.5, 0.5]", "unknown group 'Nobody'", 10),
        ("values: {Q1: 0.9, Q2: 1.0}", "values: [9, 1]", "above the parameter's maximum 1", 13),
    ],
)
def test_bad_declarations_name_their_place(tmp_path, old, new, message, line):
    p = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(InputError) as err:
        load_model(p)
    hits = [x for x in err.value.problems if message in x.message]
    assert hits, err.value
    assert hits[0].line == line and hits[0].part == "strata"
    r = CliRunner().invoke(main, ["validate", str(p)])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_good_declaration_loads_and_keeps_strata_through_curve_edits(tmp_path):
    m = load_model(_write(tmp_path, GOOD))
    assert strata_of(m.with_curve("Sudden Shock"))[0].categories == ("Q1", "Q2")


def test_core_errors_list_every_problem(england):
    bad = StrataDecl(
        "deprivation", ("a", "a"), True, {"all": (0.7, 0.7)}, "", (StratumMultiplier("nope", (1, 1), ""),)
    )
    with pytest.raises(StrataError) as err:
        stratify(england.spec, bad)
    words = " ".join(err.value.problems)
    for text in (
        "repeated categories",
        "sum to 1.4",
        "shares have no source",
        "unknown parameter",
        "no source",
    ):
        assert text in words


def test_workbook_strata_sheet_equals_the_yaml_entry(tmp_path):
    rows = [["stratifier", "setting", "name", "category", "value", "source"]]
    rows += [["deprivation", "category", None, q, None, None] for q in ("Q1", "Q2")]
    rows += [["deprivation", "ordered", None, None, "yes", None]]
    rows += [["deprivation", "share", "all", q, 0.5, "test"] for q in ("Q1", "Q2")]
    rows += [["deprivation", "multiplier", "success", q, v, "test"] for q, v in (("Q1", 0.9), ("Q2", 1.0))]
    sheets = {**tiny_sheets(), "strata": rows}
    path = write_tiny(tmp_path / "tiny.xlsx", sheets)
    strata = tmp_path / "strata.yaml"
    strata.write_text(GOOD)
    from_sheet = load_model(path)
    from_yaml = load_model(write_tiny(tmp_path / "plain.xlsx"), strata=strata)
    assert strata_of(from_sheet)[0].ordered
    assert _rel(simulate(from_sheet)["treatment"], simulate(from_yaml)["treatment"]) == 0.0
    rows += [["deprivation", "share", "B", "Q1", 1.0, None], ["deprivation", "share", "B", "Q2", 0.5, None]]
    rows[6][5] = rows[7][5] = None  # the multipliers lose their source
    with pytest.raises(InputError) as err:
        load_model(write_tiny(tmp_path / "bad.xlsx", {**tiny_sheets(), "strata": rows}))
    got = [(p.message, p.row, p.part) for p in err.value.problems]
    assert any("shares.B: shares sum to 1.5" in m and r == 9 and part == "strata" for m, r, part in got), got
    assert any("no source" in m and r == 7 for m, r, _ in got), got
    rows += [["deprivation", "colour", None, None, None, None]]
    with pytest.raises(InputError) as err:
        load_model(write_tiny(tmp_path / "bad2.xlsx", {**tiny_sheets(), "strata": rows}))
    got = [(p.message, p.row, p.column) for p in err.value.problems]
    assert ("setting 'colour' is not known", 11, "setting") in got


MDL = """{UTF-8}
Population= INTEG (births - deaths, 100)
\t~\tpeople
\t~\t|
births= 10
\t~\tpeople/Month
\t~\t|
deaths= Population * death rate
\t~\tpeople/Month
\t~\t|
death rate= 0.1
\t~\t1/Month
\t~\t|
INITIAL TIME = 0
\t~\tMonth
\t~\t|
FINAL TIME = 12
\t~\tMonth
\t~\t|
TIME STEP = 1
\t~\tMonth
\t~\t|
SAVEPER = TIME STEP
\t~\tMonth
\t~\t|
"""

STRATA_FILE = """strata:
  - name: sex
    categories: [female, male]
    total: 100
    shares: {source: test, all: [0.6, 0.4]}
    multipliers:
      - {parameter: death_rate, values: [1, 1], assumption: illustrative}
"""


def test_vensim_model_takes_a_strata_file(tmp_path):
    mdl, strata = tmp_path / "pop.mdl", tmp_path / "strata.yaml"
    mdl.write_text(MDL)
    strata.write_text(STRATA_FILE)
    plain, m = load_model(mdl), load_model(mdl, strata=strata)
    (st,) = strata_of(m)
    assert st.population == (60.0, 40.0)
    a, b = simulate(plain), simulate(m)
    var = next(v for v in a.data_vars if "population" in v.lower())
    assert _rel(b[var].sum("sex"), a[var]) < 1e-12
    assert _rel(b[var].sel(sex="female"), 0.6 * a[var]) < 1e-12
    strata.write_text(STRATA_FILE.replace("death_rate", "birth_rate"))
    with pytest.raises(InputError, match="unknown parameter 'birth_rate'"):
        load_model(mdl, strata=strata)


def test_converting_a_stratified_model_keeps_its_strata(tmp_path):
    m = load_model("england-imd")
    want = simulate(m)["treatment"]
    xlsx, yaml_file = tmp_path / "imd.xlsx", tmp_path / "imd.yaml"
    for args in (["convert", "england-imd", "-o", xlsx], ["convert", xlsx, "-o", yaml_file]):
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 0, r.output
    for path in (xlsx, yaml_file):
        back = load_model(path)
        (st,) = strata_of(back)
        assert st == strata_of(m)[0]
        assert _rel(simulate(back)["treatment"], want) < 1e-12
