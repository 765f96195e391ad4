"""The equity columns of ``summary``, ``sweep`` and their exports, and ``--strata FILE``.

Checked: the per-stratum referrals and starts of ``summary`` add up, service by service, to
the usual surge table of the same run; the SII printed and exported equals PHE's weighted
regression (``analysis`` and an independent ``numpy.polyfit``) on referrals per 100,000
computed directly from the run; a sweep's exports carry the stratum dimension, its members
are the sweep's own (same draws) and its SII statistics equal a direct computation over the
members; ``--strata FILE`` on the unstratified England model gives the shipped stratified
model's table; bad strata files exit 2 with no traceback; unstratified output is unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from simulator.analysis._ensemble_strata import stratum_figures
from simulator.analysis._equity import slope_index
from simulator.cli import main
from simulator.core._run import simulate
from simulator.core._strata import Stratifier
from simulator.core._strata_transform import strata_of
from simulator.files._loading import builtin_path, load_model
from simulator.surge._strata_summary import ALL_SERVICES, stratum_gap, stratum_summary
from simulator.surge._summary import surge_summary

MONTHS = 24


@pytest.fixture(scope="module")
def imd_run():
    m = load_model("england-imd")
    return m, simulate(m, months=MONTHS)


def _strata_file(tmp_path: Path) -> Path:
    """The shipped IMD model's ``strata:`` entry as a strata file of its own."""
    text = Path(builtin_path("england-imd")).read_text()
    p = tmp_path / "imd-strata.yaml"
    p.write_text(text[text.index("\nstrata:") + 1 :])
    return p


def test_per_stratum_columns_add_up_to_the_surge_table(imd_run):
    m, ds = imd_run
    by = stratum_summary(ds, strata_of(m))
    plain = surge_summary(ds).set_index("service")
    sums = by[by["service"] != ALL_SERVICES].groupby("service")[["referrals", "starts"]].sum()
    np.testing.assert_allclose(sums.loc[plain.index, "referrals"], plain["referrals"], rtol=1e-9)
    np.testing.assert_allclose(sums.loc[plain.index, "starts"], plain["starts"], rtol=1e-9)
    total = by[by["service"] == ALL_SERVICES]
    assert total["referrals"].sum() == pytest.approx(plain["referrals"].sum(), rel=1e-9)
    assert list(total["deprivation"]) == list(strata_of(m)[0].categories)
    # rates are per 100,000 people of each stratum
    np.testing.assert_allclose(total["referrals_per_100k"], total["referrals"] / total["population"] * 1e5)
    assert total["referrals_per_100k"].is_monotonic_decreasing  # the observed gradient: most deprived first


def _direct_rates(ds: xr.Dataset, population) -> xr.DataArray:
    """Referrals per 100,000 by stratum straight from the recorded ``new_referral``."""
    counts = (
        ds["new_referral"]
        .isel(member=0)
        .sum([d for d in ds["new_referral"].dims if d not in ("deprivation", "member")])
    )
    return counts / xr.DataArray(np.asarray(population), dims="deprivation") * 1e5


def test_sii_printed_and_exported_equals_the_slope_index(imd_run, tmp_path):
    m, ds = imd_run
    (st,) = strata_of(m)
    pop = xr.DataArray(np.asarray(st.population), dims="deprivation")
    rates = _direct_rates(ds, st.population)
    fit = slope_index(rates.assign_coords(deprivation=pop["deprivation"]), pop, "deprivation")
    # an independent weighted least squares on the cumulative midpoints
    a = np.asarray(st.population) / np.sum(st.population)
    x = np.cumsum(a) - a / 2
    slope, intercept = np.polyfit(x, rates.to_numpy(), 1, w=np.sqrt(a))
    assert float(fit["sii"]) == pytest.approx(slope, rel=1e-9)
    assert float(fit["rii"]) == pytest.approx((intercept + slope) / intercept, rel=1e-9)
    gap = stratum_gap(ds, [st]).set_index(["metric", "measure"])["value"]
    assert gap[("referrals_per_100k", "sii")] == pytest.approx(slope, rel=1e-9)

    out = tmp_path / "table.csv"
    r = CliRunner().invoke(main, ["summary", "england-imd", "--months", str(MONTHS), "-q", "-o", str(out)])
    assert r.exit_code == 0, r.output
    shown = re.search(r"referrals per 100,000: SII (-?[\d,]+\.\d) .*RII (\d\.\d{3})", r.output)
    assert shown, r.output
    assert float(shown.group(1).replace(",", "")) == pytest.approx(slope, abs=0.05)
    assert float(shown.group(2)) == pytest.approx(float(fit["rii"]), abs=5e-4)
    assert "By deprivation" in r.output
    exported = pd.read_csv(tmp_path / "table-deprivation-gap.csv").set_index(["metric", "measure"])["value"]
    assert exported[("referrals_per_100k", "sii")] == pytest.approx(slope, rel=1e-9)
    by = pd.read_csv(tmp_path / "table-by-deprivation.csv")
    plain = pd.read_csv(out)
    assert by[by["service"] == ALL_SERVICES]["referrals"].sum() == pytest.approx(
        plain["referrals"].sum(), rel=1e-9
    )


def test_strata_file_on_the_plain_model_gives_the_shipped_stratified_model(tmp_path):
    strata = _strata_file(tmp_path)
    runner = CliRunner()
    a = runner.invoke(main, ["summary", "england", "--strata", str(strata), "--months", str(MONTHS), "-q"])
    b = runner.invoke(main, ["summary", "england-imd", "--months", str(MONTHS), "-q"])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    # the same tables; only the first line (the model's name) differs
    assert a.output.splitlines()[1:] == b.output.splitlines()[1:]
    assert "By deprivation" in a.output
    nc = tmp_path / "run.nc"
    r = runner.invoke(main, ["run", "england", "--strata", str(strata), "--months", "3", "-q", "-o", str(nc)])
    assert r.exit_code == 0, r.output
    with xr.open_dataset(nc, engine="h5netcdf") as d:
        assert d["new_referral"].sizes["deprivation"] == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("strata: [1\n", "cannot read the strata file"),
        ("strata:\n  - name: deprivation\n    categories: [Q1, Q2]\n    shares:\n      source: t\n"
         "      all: [0.5, 0.6]\n", "shares sum to 1.1"),
    ],
)  # fmt: skip
def test_bad_strata_file_exits_2(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    r = CliRunner().invoke(main, ["summary", "england", "--strata", str(bad), "--months", "3", "-q"])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output


def test_unstratified_summary_has_no_stratum_table_and_by_is_an_error(tmp_path):
    runner = CliRunner()
    out = tmp_path / "plain.csv"
    r = runner.invoke(main, ["summary", "england", "--months", "3", "-q", "-o", str(out)])
    assert r.exit_code == 0 and "By " not in r.output and "SII" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.csv"]
    r = runner.invoke(main, ["summary", "england", "--months", "3", "-q", "--by", "deprivation"])
    assert r.exit_code == 2 and "not stratified" in r.output and "Service" not in r.output


SCENARIO = """upstream: scenario
name: IMD sweep
model: england-imd
months: 24
dt: 1
method: euler
curves:
  all: Sudden Shock
members: 5
seed: 3
sampler: lhs
uncertainty:
- name: HCW anxiety
  parameter: g2c_pcnt
  select:
    group: Health and care workers
    condition: Anxiety
  apply: scale
  mode: together
  distribution: {type: uniform, low: 0.5, high: 2}
  source: test range (illustrative assumption)
- name: success
  parameter: success
  apply: scale
  distribution: {type: uniform, low: 0.8, high: 1.0}
  source: test range (illustrative assumption)
"""


def test_sweep_exports_carry_the_stratum_and_its_gap(tmp_path):
    sc = tmp_path / "sc.yaml"
    sc.write_text(SCENARIO)
    nc, csv = tmp_path / "sweep.nc", tmp_path / "sweep.csv"
    runner = CliRunner()
    r = runner.invoke(main, ["sweep", str(sc), "-q", "-o", str(nc)])
    assert r.exit_code == 0, r.output
    assert "By deprivation" in r.output and "SII" in r.output
    with xr.open_dataset(nc, engine="h5netcdf") as d:
        d = d.load()
    assert d["referrals_per_100k_by_deprivation"].dims == ("stat", "deprivation")
    # the by-stratum members are the sweep's own members (the same draws): totals agree member by member
    by = d["member_referrals_by_deprivation"].sum(["time", "deprivation"])
    svc = d["member_referrals"].sum(["time", "service"])
    np.testing.assert_allclose(by.to_numpy(), svc.sel(member=by["member"]).to_numpy(), rtol=1e-9)
    # the SII's statistics equal a direct computation from every member's referrals per 100,000
    pop = d["population_by_deprivation"]
    rates = d["member_referrals_by_deprivation"].sum("time") / pop * 1e5
    sii = slope_index(rates, pop, "deprivation")["sii"]
    assert float(d["referrals_per_100k_sii"].sel(stat="p50")) == pytest.approx(
        float(np.quantile(sii, 0.5)), rel=1e-9
    )
    assert float(d["referrals_per_100k_sii"].sel(stat="mean")) == pytest.approx(float(sii.mean()), rel=1e-9)
    low = str(d["stat"].to_numpy()[2])
    assert float(d["referrals_per_100k_sii"].sel(stat=low)) == pytest.approx(
        float(np.quantile(sii, float(low[1:]) / 100)), rel=1e-9
    )
    assert float(d["referrals_per_100k_sii"].sel(stat="p50")) < 0  # higher among the most deprived
    r = runner.invoke(main, ["sweep", str(sc), "-q", "--members", "2", "-o", str(csv)])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(csv)
    rows = table[table["variable"] == "referrals_per_100k_by_deprivation"]
    assert set(rows["deprivation"]) == set(d["deprivation"].to_numpy())


def _members(values: np.ndarray, dim: str, cats: list[str]) -> xr.Dataset:
    """Members' referrals by stratum: ``values`` per (member, stratum), spread evenly over 4 months."""
    monthly = np.repeat(values[:, None, :] / 4, 4, axis=1)  # (member, time, stratum)
    da = xr.DataArray(monthly, dims=("member", "time", dim), coords={"time": np.arange(4.0), dim: cats})
    return xr.Dataset({f"referrals_by_{dim}": da})


def test_ensemble_gap_of_two_equal_strata_is_the_closed_form():
    # two strata of 1,000 people each: ranks 1/4 and 3/4, so SII = 2 x (rate 2 - rate 1) per member,
    # intercept = rate 1 - SII / 4 and RII = (intercept + SII) / intercept
    st = Stratifier("deprivation", ("most", "least"), True, (1000.0, 1000.0))
    counts = np.array([[30.0, 10.0], [40.0, 20.0], [50.0, 10.0]])  # referrals per member and stratum
    figs = stratum_figures(_members(counts, "deprivation", ["most", "least"]), st, ["mean", "sd", "p50"])
    rate = counts / 1000 * 1e5
    sii = 2 * (rate[:, 1] - rate[:, 0])
    intercept = rate[:, 0] - sii / 4
    assert float(figs["referrals_per_100k_sii"].sel(stat="mean")) == pytest.approx(sii.mean())
    assert float(figs["referrals_per_100k_sii"].sel(stat="p50")) == pytest.approx(np.median(sii))
    assert float(figs["referrals_per_100k_sii"].sel(stat="sd")) == pytest.approx(sii.std(ddof=1))
    rii = (intercept + sii) / intercept
    assert float(figs["referrals_per_100k_rii"].sel(stat="p50")) == pytest.approx(np.median(rii))
    np.testing.assert_allclose(
        figs["referrals_per_100k_by_deprivation"].sel(stat="mean"), rate.mean(axis=0), rtol=1e-12
    )


def test_ensemble_gaps_of_unordered_strata_are_ratios_to_the_most_populous():
    st = Stratifier("ethnicity", ("A", "B", "C"), False, (100.0, 300.0, 50.0))
    counts = np.array([[2.0, 3.0, 2.0], [1.0, 6.0, 1.0]])
    figs = stratum_figures(_members(counts, "ethnicity", ["A", "B", "C"]), st, ["mean", "p50"])
    rate = counts / np.array([100.0, 300.0, 50.0]) * 1e5
    assert figs.attrs["reference"] == "B"
    np.testing.assert_allclose(
        figs["referrals_per_100k_ratio"].sel(stat="mean"), (rate / rate[:, [1]]).mean(axis=0), rtol=1e-12
    )
    span = rate.max(axis=1) - rate.min(axis=1)
    assert float(figs["referrals_per_100k_range"].sel(stat="mean")) == pytest.approx(span.mean())
    assert "referrals_per_100k_sii" not in figs


def test_unordered_summary_prints_ratios_to_the_most_populous():
    m = load_model("england-ethnicity")
    ds = simulate(m, months=6)
    (st,) = strata_of(m)
    gap = stratum_gap(ds, [st]).set_index(["metric", "measure"])["value"]
    counts = ds["new_referral"].isel(member=0).sum(["time", "group", "condition", "service"])
    rate = counts.to_numpy() / np.asarray(st.population) * 1e5
    ref = int(np.argmax(st.population))
    for i, c in enumerate(st.categories):
        if i != ref:
            assert gap[("referrals_per_100k", f"ratio {c}")] == pytest.approx(rate[i] / rate[ref], rel=1e-9)
    assert gap[("referrals_per_100k", "range")] == pytest.approx(rate.max() - rate.min(), rel=1e-9)


def test_validate_with_strata_file(tmp_path):
    good = CliRunner().invoke(main, ["validate", "england", "--strata", str(_strata_file(tmp_path))])
    assert good.exit_code == 0 and "5 deprivation categories" in good.output, good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(_strata_file(tmp_path).read_text().replace("Q2", "Q2b", 1))
    r = CliRunner().invoke(main, ["validate", "england", "--strata", str(bad)])
    assert "Traceback" not in r.output
    if r.exit_code == 0:  # renaming a category alone is legal: break the shares instead
        bad.write_text(_strata_file(tmp_path).read_text().replace("share", "shar", 1))
        r = CliRunner().invoke(main, ["validate", "england", "--strata", str(bad)])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
