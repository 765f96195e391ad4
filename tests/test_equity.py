"""Equity metrics: PHE's slope and relative indices, gaps between strata, and the three domains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from simulator.analysis._equity import (
    cumulative_midpoints,
    group_gaps,
    interval,
    poisson_se,
    simulated_interval,
    slope_index,
)
from simulator.analysis._equity_metrics import equity_metrics

Q = [1, 2, 3, 4, 5]


def _strata(values, dim="deprivation", cats=Q) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, float), dims=dim, coords={dim: cats})


def test_hand_computed_quintiles():
    # equal populations: ranks 0.1, 0.3, 0.5, 0.7, 0.9; mean rank 0.5, mean rate 6.4
    # slope = sum (x - 0.5)(y - 6.4) / sum (x - 0.5)^2 = -0.76 / 0.08 = -9.5
    # intercept = 6.4 + 9.5 * 0.5 = 11.15; RII = (11.15 - 9.5) / 11.15
    fit = slope_index(_strata([10, 8, 7, 5, 2]), _strata([1, 1, 1, 1, 1]), "deprivation")
    assert float(fit["sii"]) == pytest.approx(-9.5, rel=1e-12)
    assert float(fit["intercept"]) == pytest.approx(11.15, rel=1e-12)
    assert float(fit["rii"]) == pytest.approx(1.65 / 11.15, rel=1e-12)


def test_ranks_are_cumulative_midpoints():
    # PHE's own illustration: a first quantile of 12% has rank 0.06, a second of 10% rank 0.17
    pop = _strata([12, 10, 30, 28, 20])
    x = cumulative_midpoints(pop, "deprivation").to_numpy()
    np.testing.assert_allclose(x, [0.06, 0.17, 0.37, 0.66, 0.90], rtol=1e-12)


@pytest.mark.parametrize("alpha,beta", [(55.2, -13.6), (2.0, 0.5), (100.0, 0.0)])
def test_linear_gradient_closed_form(alpha, beta):
    # rates exactly on a line in the relative rank: SII = slope, RII = (alpha + beta) / alpha,
    # whatever the populations
    pop = _strata([5000, 9000, 12000, 7000, 3000])
    y = alpha + beta * cumulative_midpoints(pop, "deprivation")
    fit = slope_index(y, pop, "deprivation")
    assert float(fit["sii"]) == pytest.approx(beta, abs=1e-10)
    assert float(fit["intercept"]) == pytest.approx(alpha, rel=1e-12)
    assert float(fit["rii"]) == pytest.approx((alpha + beta) / alpha, rel=1e-12)


def test_equals_phe_regression_without_constant():
    # PHE fits y sqrt(a) ~ sqrt(a) + x sqrt(a) with no constant; solve that by least squares
    rng = np.random.default_rng(3)
    pop = rng.uniform(1000, 9000, 10)
    y = rng.uniform(60, 90, 10)
    a = pop / pop.sum()
    x = np.cumsum(a) - a / 2
    design = np.column_stack([np.sqrt(a), x * np.sqrt(a)])
    (b0, b1), *_ = np.linalg.lstsq(design, y * np.sqrt(a), rcond=None)
    cats = list(range(1, 11))
    fit = slope_index(_strata(y, cats=cats), _strata(pop, cats=cats), "deprivation")
    assert float(fit["sii"]) == pytest.approx(b1, rel=1e-10)
    assert float(fit["rii"]) == pytest.approx((b0 + b1) / b0, rel=1e-10)


def test_sign_convention_more_deprived_higher():
    # referrals twice as high in the most deprived decile: negative SII, RII below 1
    fit = slope_index(_strata([2.0, 1.75, 1.5, 1.25, 1.0]), _strata([1] * 5), "deprivation")
    assert float(fit["sii"]) < 0 < float(fit["rii"]) < 1


def test_vectorised_over_members_and_time_equals_one_by_one():
    rng = np.random.default_rng(1)
    vals = xr.DataArray(
        rng.uniform(1, 5, (4, 3, 5)), dims=("member", "time", "deprivation"), coords={"deprivation": Q}
    )
    pop = _strata([3, 4, 5, 4, 3])
    fit = slope_index(vals, pop, "deprivation")
    for m in range(4):
        for t in range(3):
            one = slope_index(vals.isel(member=m, time=t), pop, "deprivation")
            assert float(fit["sii"][m, t]) == pytest.approx(float(one["sii"]), rel=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="positive population"):
        slope_index(_strata([1, 2, 3, 4, 5]), _strata([1, 0, 1, 1, 1]), "deprivation")
    with pytest.raises(ValueError, match="at least two"):
        slope_index(_strata([1], cats=[1]), _strata([1], cats=[1]), "deprivation")
    with pytest.raises(ValueError, match="no 'deprivation'"):
        slope_index(_strata([1, 2, 3, 4, 5]), _strata([1] * 5, dim="age"), "deprivation")


def test_simulated_interval_matches_normal_theory():
    # the SII is linear in the rates: SII = sum c_i y_i, so its sd is sqrt(sum c_i^2 se_i^2)
    pop = _strata([1, 2, 3, 2, 1])
    se = _strata([0.5, 0.4, 0.3, 0.4, 0.6])
    y = _strata([10, 8, 7, 5, 2])
    a = pop.to_numpy() / pop.sum().item()
    x = np.cumsum(a) - a / 2
    c = a * (x - (a * x).sum()) / (a * (x - (a * x).sum()) ** 2).sum()
    sd = np.sqrt((c**2 * se.to_numpy() ** 2).sum())
    sii = float(slope_index(y, pop, "deprivation")["sii"])
    ci = simulated_interval(y, se, pop, "deprivation", repetitions=100_000, confidence=0.95, seed=7)
    assert float(ci["sii_low"]) == pytest.approx(sii - 1.959964 * sd, rel=0.01)
    assert float(ci["sii_high"]) == pytest.approx(sii + 1.959964 * sd, rel=0.01)
    assert float(ci["rii_low"]) < float(slope_index(y, pop, "deprivation")["rii"]) < float(ci["rii_high"])
    with pytest.raises(ValueError, match="1,000"):
        simulated_interval(y, se, pop, "deprivation", repetitions=10)


def test_poisson_se():
    # 400 events in 100,000 people: rate 400 per 100,000, se sqrt(400) = 20 per 100,000
    se = poisson_se(_strata([400.0], cats=[1]), _strata([1e5], cats=[1]), 1e5)
    assert float(se[0]) == pytest.approx(20.0)


def test_group_gaps_to_reference():
    cats = ["White", "Asian", "Black", "Mixed", "Other"]
    y = _strata([50.0, 40.0, 25.0, 45.0, 30.0], "ethnicity", cats)
    g = group_gaps(y, "ethnicity", reference="White")
    np.testing.assert_allclose(g["ratio"], [1.0, 0.8, 0.5, 0.9, 0.6])
    np.testing.assert_allclose(g["difference"], [0.0, -10.0, -25.0, -5.0, -20.0])
    assert float(g["range"]) == 25.0
    assert float(g["extreme_ratio"]) == 2.0
    with pytest.raises(KeyError, match="not a ethnicity stratum"):
        group_gaps(y, "ethnicity", reference="Nobody")


def test_interval_over_members():
    da = xr.DataArray(np.arange(101.0), dims="member")
    q = interval(da)
    assert [float(q.sel(stat=s)) for s in ("median", "low", "high")] == [50.0, 5.0, 95.0]


def _quantities(members=20, months=12):
    """Referrals per month 2:1 from most to least deprived quintile, recovery rising 42% -> 55%."""
    rng = np.random.default_rng(0)
    dims = ("member", "time", "deprivation")
    coords = {"deprivation": Q, "time": np.arange(float(months))}
    grad = np.array([2.0, 1.75, 1.5, 1.25, 1.0])
    noise = rng.uniform(0.9, 1.1, (members, months, 1))
    ref = xr.DataArray(noise * grad * 100, dims=dims, coords=coords)
    need = xr.DataArray(np.full((members, months, 5), 400.0), dims=dims, coords=coords)
    rec = np.array([0.42, 0.45, 0.48, 0.52, 0.55])
    finished = xr.DataArray(np.full((members, months, 5), 50.0), dims=dims, coords=coords)
    return {
        "referrals": ref,
        "starts": ref * 0.6,
        "need": need,
        "at_risk": need * 3,
        "recovered": finished * rec,
        "relapse": finished * (1 - rec),
    }


def test_metrics_rates_and_domains():
    q = _quantities()
    pop = [100_000.0, 100_000.0, 100_000.0, 100_000.0, 100_000.0]
    res = equity_metrics(q, pop, "deprivation", ordered=True)
    # horizon referrals per 100,000 = total over 12 months / 100,000 x 100,000
    expect = q["referrals"].sum("time") / 1e5 * 1e5
    xr.testing.assert_allclose(res.horizon["referrals_per_100k"], expect)
    # per person in need to date: cumulative referrals over cumulative need
    np.testing.assert_allclose(
        res.monthly["referrals_per_need"].isel(time=-1), q["referrals"].sum("time") / (400.0 * 12)
    )
    np.testing.assert_allclose(res.horizon["recovery_rate"].isel(member=0), [0.42, 0.45, 0.48, 0.52, 0.55])
    # people at risk 1,200 a month in 100,000 for 12 months: 144 people-months per 1,000
    np.testing.assert_allclose(res.horizon["at_risk_per_1000"], 144.0)
    t = res.table()
    assert list(dict.fromkeys(t["domain"])) == ["access", "outcome"]  # no waiting lists: no experience
    sii = t[(t["metric"] == "referrals per 100,000") & t["stratum"].str.startswith("SII")]
    assert float(sii["high"].iloc[0]) < 0  # referrals higher among the more deprived
    rec_rii = t[(t["metric"].str.startswith("recovery")) & t["stratum"].str.startswith("RII")]
    assert float(rec_rii["median"].iloc[0]) > 1  # recovery better among the less deprived
    s = res.sii_over_time("referrals_per_100k")
    assert s.dims == ("stat", "time") and bool((s.sel(stat="low") <= s.sel(stat="high")).all())


def test_metrics_horizon_uses_the_time_step():
    q = {
        k: v.isel(time=slice(None, None, 2)).assign_coords(time=np.arange(0.0, 12.0, 2.0))
        for k, v in _quantities().items()
    }
    res = equity_metrics(q, [1e5] * 5, "deprivation", ordered=True, metrics=["at_risk_per_1000"])
    np.testing.assert_allclose(res.horizon["at_risk_per_1000"], 144.0)  # 6 reports, 2 months apart


def test_metrics_experience_in_capacity_models():
    base = _quantities(members=3, months=4)
    dims, coords = base["need"].dims, base["need"].coords

    def full(v):
        return xr.DataArray(np.broadcast_to(np.asarray(v, float), (3, 4, 5)).copy(), dims=dims, coords=coords)

    q = {
        **base,
        "waiting": full([600, 500, 400, 300, 200]),
        "exits": full([100] * 5),
        "over_18_weeks": full([300, 200, 100, 60, 20]),
        "dropouts": full([10, 8, 6, 4, 2]),
        "escalations": full([5, 4, 3, 2, 1]),
    }
    res = equity_metrics(q, [1e5] * 5, "deprivation", ordered=True)
    np.testing.assert_allclose(res.horizon["mean_wait"].isel(member=0), [6, 5, 4, 3, 2])
    np.testing.assert_allclose(res.horizon["share_over_18_weeks"].isel(member=0), [0.5, 0.4, 0.25, 0.2, 0.1])
    assert "experience" in set(res.table()["domain"])


def test_metrics_unordered_reference_and_errors():
    q = {
        k: v.rename(deprivation="ethnicity").assign_coords(
            ethnicity=["White", "Asian", "Black", "Mixed", "Other"]
        )
        for k, v in _quantities().items()
    }
    pop = [810.0, 96.0, 42.0, 30.0, 22.0]
    res = equity_metrics(q, pop, "ethnicity", ordered=False)
    assert res.reference == "White"  # the most populous
    g = res.gradient()
    np.testing.assert_allclose(g["referrals_per_100k_ratio"].sel(ethnicity="White"), 1.0)
    with pytest.raises(ValueError, match="not ordered"):
        res.sii_over_time("referrals_per_100k")
    with pytest.raises(KeyError, match="needs waiting"):
        equity_metrics(q, pop, "ethnicity", ordered=False, metrics=["mean_wait"])
    with pytest.raises(ValueError, match="3 ethnicity strata; the quantities have 5"):
        equity_metrics(q, pop[:3], "ethnicity", ordered=False)


# ---------------------------------------------------------------- stratified models end to end

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
      source: unequal shares, for the test
      all: [0.3, 0.25, 0.2, 0.15, 0.1]
    multipliers:
      - parameter: g2c_pcnt
        values: [MULT]
        assumption: illustrative
tables: {}
"""
SCENARIO = """\
upstream: scenario
name: stratified test
model: strat.yaml
months: 12
dt: 1
members: 12
seed: 3
sampler: lhs
uncertainty:
  - name: CYP depression
    parameter: g2c_pcnt
    select: {group: Children & young people, condition: Depression}
    apply: scale
    distribution: {type: triangular, low: 0.7, mode: 1, high: 1.4}
    source: test
"""


def _stratified(tmp_path, mult="1, 1, 1, 1, 1"):
    pytest.importorskip("simulator.files._strata_spec")
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    (tmp_path / "scenarios" / "strat.yaml").write_text(STRATIFIED.replace("MULT", mult))
    (tmp_path / "scenarios" / "sc.yaml").write_text(SCENARIO)
    return tmp_path / "scenarios" / "strat.yaml", tmp_path / "scenarios" / "sc.yaml"


def test_unit_multipliers_have_no_gradient_and_strata_add_up(tmp_path):
    from simulator.analysis._equity_run import run_equity
    from simulator.analysis._uncertainty import Design
    from simulator.core._run import simulate
    from simulator.files._loading import load_model

    path, _ = _stratified(tmp_path)
    m = load_model(path)
    res = run_equity(m, Design(m.spec, []), months=12, dt=1.0)
    g = res.gradient()
    # every stratum has the same rates: SII 0, RII 1 (closed form of a flat gradient)
    np.testing.assert_allclose(g["referrals_per_100k_sii"], 0.0, atol=1e-6)
    np.testing.assert_allclose(g["referrals_per_100k_rii"], 1.0, rtol=1e-9)
    # people in each stratum times its rate add up to the unstratified model's referrals
    counts = (res.horizon["referrals_per_100k"] * res.population / 1e5).sum("deprivation")
    plain = simulate(load_model("england"), months=12, dt=1.0)["new_referral"].sum()
    np.testing.assert_allclose(float(counts.squeeze()), float(plain), rtol=1e-9)


def test_package_gaps_pair_with_the_appraisal_members(tmp_path):
    from simulator.analysis._appraisal import appraise
    from simulator.analysis._equity_run import equity_of_packages
    from simulator.files._interventions import load_package
    from simulator.files._scenarios import load_scenario

    _, sc_path = _stratified(tmp_path, "1.4, 1.2, 1.0, 0.9, 0.8")
    sc = load_scenario(sc_path)
    pkg = load_package(Path(__file__).resolve().parents[1] / "scenarios" / "packages" / "upstream-mix.yaml")
    kw = dict(design=sc.design, members=sc.members, seed=sc.seed, sampler=sc.sampler, months=12, dt=1.0)
    a = appraise(sc.model, [pkg], **kw)
    eq = equity_of_packages(sc.model, [pkg], metric="referrals_per_100k", **kw)
    # the same members: referrals per stratum add up to each member's appraised referrals
    pop = xr.DataArray(np.asarray(sc.model.spec.meta["strata"][0].population), dims="deprivation")
    counts = (eq["rate"] * pop.values / 1e5).sum("deprivation")
    np.testing.assert_allclose(counts, a.members["referrals"].sum("service"), rtol=1e-8)
    a.equity = eq
    t = a.equity_table()
    closed = a.gap_closed().sel(package=pkg.name)
    assert float(t["P(narrows the gap)"].iloc[0]) == pytest.approx(float((closed > 0).mean()))
    assert float(t["gap closed median"].iloc[0]) == pytest.approx(float(closed.median()))
    assert bool((eq["sii"].sel(package="baseline") < 0).all())  # more referrals among the deprived


def test_equity_command(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import main

    path, _ = _stratified(tmp_path, "1.4, 1.2, 1.0, 0.9, 0.8")
    out, plot, sii = tmp_path / "eq.csv", tmp_path / "g.png", tmp_path / "s.png"
    args = ["equity", str(path), "-o", str(out), "--plot", str(plot), "--plot-sii", str(sii), "-q"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "ACCESS" in res.output and "OUTCOME" in res.output and "SII" in res.output
    t = pd.read_csv(out)
    assert {"access", "outcome"} <= set(t["domain"]) and plot.exists() and sii.exists()
    res = CliRunner().invoke(main, ["equity", "england", "-q"])
    assert res.exit_code == 2 and "not stratified" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["equity", str(path), "--metric", "nonsense", "-q"])
    assert res.exit_code == 2 and "unknown metric" in res.output


def test_single_run_phe_interval_with_poisson_counts():
    q = {k: v.isel(member=[0]) for k, v in _quantities().items()}
    pop = np.array([1e5, 1.2e5, 0.9e5, 1.1e5, 1e5])
    res = equity_metrics(q, pop, "deprivation", ordered=True, metrics=["referrals_per_100k", "recovery_rate"])
    ci = res.simulated_intervals(repetitions=20_000, seed=2)
    assert list(ci["metric"]) == ["referrals per 100,000"]  # only counts per head
    # normal theory: SII = sum c_i y_i, each rate's se = sqrt(count) / pop x 100,000
    a = pop / pop.sum()
    x = np.cumsum(a) - a / 2
    c = a * (x - (a * x).sum()) / (a * (x - (a * x).sum()) ** 2).sum()
    rate = res.horizon["referrals_per_100k"].isel(member=0).to_numpy()
    se = np.sqrt(rate * pop / 1e5) / pop * 1e5
    half = 1.959964 * np.sqrt((c**2 * se**2).sum())
    r = ci.iloc[0]
    assert r["sii_low"] == pytest.approx(r["sii"] - half, rel=0.02)
    assert r["sii_high"] == pytest.approx(r["sii"] + half, rel=0.02)


def test_equity_command_refuses_bad_outputs_before_running(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import main

    for args, needle in (
        (["-o", str(tmp_path / "x.xlsx")], ".csv (the table) or .nc"),
        (["--plot", str(tmp_path / "x.txt")], ".png, .svg or .pdf"),
    ):
        res = CliRunner().invoke(main, ["equity", "england", *args, "-q"])
        assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())


def test_capacity_model_reports_experience_by_stratum(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import main

    path, _ = _stratified(tmp_path, "1.4, 1.2, 1.0, 0.9, 0.8")
    path.write_text(path.read_text().replace("extends: england\n", "extends: england-capacity\n"))
    res = CliRunner().invoke(main, ["equity", str(path), "-q"])
    assert res.exit_code == 0, res.output
    assert "referrals per 100,000" in res.output and "EXPERIENCE" in res.output
    assert "one queue per service" not in res.output
