"""Stratified capacity models: a waiting list per (service, stratum), the service's capacity shared.

Checked: with every multiplier 1 the strata add up to the unstratified capacity model (to
1e-12, one stratifier and two); people are conserved stratum by stratum and each stratum's
wait bands hold the same people as its waiting lists; drop-out and escalation multipliers act
on their stratum's list and the guard (escalation + drop-out) x dt <= 1 holds per stratum;
the experience metrics (waits, share over 18 weeks, drop-outs and escalations per 100,000)
come by stratum, equal the unstratified model's where the strata are alike, and reach the
``equity`` command.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from simulator.analysis._equity_run import run_equity
from simulator.analysis._uncertainty import Design
from simulator.cli import main
from simulator.core._kernel import fallback_reason
from simulator.core._problems import InputError
from simulator.core._run import simulate
from simulator.core._strata import ILLUSTRATIVE, StrataDecl, StratumMultiplier
from simulator.files._loading import load_model, with_strata

QUINT = ("Q1", "Q2", "Q3", "Q4", "Q5")
SHARES = (0.3, 0.25, 0.2, 0.15, 0.1)
CRISIS_LINE = "24/7 Crisis Response Line"  # escalation 0.05 + drop-out 0.5 per month (england-capacity)
IAPT = "IAPT"
PEOPLE = ("at_risk", "treatment", "waiting", "background_waiting", "background_treatment", "background_left")


def _decl(multipliers=(), shares=None) -> StrataDecl:
    return StrataDecl(
        "deprivation",
        QUINT,
        True,
        shares or {"all": SHARES},
        "test shares (illustrative assumption)",
        tuple(multipliers),
        population="size",
    )


def _one(param: str, values) -> StratumMultiplier:
    return StratumMultiplier(param, tuple(float(v) for v in values), ILLUSTRATIVE)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-300))


@pytest.fixture(scope="module")
def plain():
    return load_model("england-capacity")


@pytest.fixture(scope="module")
def unit_runs(plain):
    units = [_one(p, [1] * 5) for p in ("escalation_rate", "dropout_rate", "treat_pcnt", "g2c_pcnt")]
    m = with_strata(plain, [_decl(units)])
    return simulate(plain), simulate(m), m


def test_unit_multipliers_reproduce_the_capacity_model(unit_runs):
    a, b, _ = unit_runs
    # every people stock and the wait bands are divided by stratum; capacity is one per service
    for v in (*PEOPLE[:-1], "wait_band", "waiting_all", "starts_from_waiting", "dropouts_from_waiting"):
        assert "deprivation" in b[v].dims, v
    assert "deprivation" not in b["capacity_now"].dims
    shared = [v for v in a.data_vars if v in b.data_vars and a[v].dtype.kind == "f"]
    assert len(shared) >= 30
    for v in shared:
        got = b[v].sum("deprivation") if "deprivation" in b[v].dims else b[v]
        assert _rel(got.transpose(*a[v].dims), a[v]) < 1e-12, v


def test_two_stratifiers_reproduce_the_capacity_model(plain):
    sex = StrataDecl("sex", ("female", "male"), False, {"all": (0.51, 0.49)}, ILLUSTRATIVE)
    m = with_strata(plain, [_decl([_one("dropout_rate", [1] * 5)]), sex])
    a, b = simulate(plain), simulate(m)
    assert b["wait_band"].dims[-2:] == ("deprivation", "sex")
    for v in ("waiting_all", "wait_band", "treatment", "background_treatment", "escalations_from_waiting"):
        assert _rel(b[v].sum(["deprivation", "sex"]).transpose(*a[v].dims), a[v]) < 1e-12, v


def _conservation(r, dim="deprivation"):
    """Held people of each stratum, and people who arrived less those who left, month by month."""
    held = sum(r[v].sum([d for d in r[v].dims if d not in ("member", "time", dim)]) for v in PEOPLE)
    inflow = r["new_at_risk"].sum("group") + r["background_arrivals"].sum("service")
    inflow = inflow + r["background_arrivals_now"].sum("service")
    outflow = r["no_needs"].sum("group") + r["recovered"].sum(
        [d for d in r["recovered"].dims if d not in ("member", "time", dim)]
    )
    return held, (inflow - outflow).cumsum("time").shift(time=1, fill_value=0.0) + held.isel(time=0)


def test_people_are_conserved_stratum_by_stratum(plain):
    # groups mixed differently in each stratum, and the strata's rates differ
    shares = {g: SHARES[::-1] if i % 2 else SHARES for i, g in enumerate(plain.spec.dims["group"])}
    mult = [_one("dropout_rate", [1.6, 1.3, 1, 0.8, 0.5]), _one("g2c_pcnt", [1.3, 1.1, 1, 0.9, 0.7])]
    m = with_strata(plain, [_decl(mult, shares)])
    record = [
        *PEOPLE,
        "new_at_risk",
        "no_needs",
        "recovered",
        "background_arrivals",
        "background_arrivals_now",
    ]
    r = simulate(m, record=[*record, "wait_band", "waiting_all"])
    held, balance = _conservation(r)
    assert _rel(held, balance) < 1e-12
    # the wait bands count the same people as the waiting lists, in each stratum
    assert _rel(r["wait_band"].sum("stage"), r["waiting_all"]) < 1e-12


def test_dropout_multiplier_acts_on_its_stratum(plain):
    base = simulate(with_strata(plain, [_decl()]))
    m = with_strata(plain, [_decl([_one("dropout_rate", [1.5, 1, 1, 1, 1])])])
    r = simulate(m, record=["wait_band", "waiting_all", "dropouts_from_waiting"])
    # each stratum's drop-outs are its own wait bands x the service's rate x its multiplier
    rate = dict(zip(plain.spec.param("dropout_rate").space.coords, plain.spec.param("dropout_rate").values))
    band = plain.spec.param("dropout_multiplier")
    by_band = xr.DataArray(band.values, dims="stage", coords={"stage": [c[0] for c in band.space.coords]})
    for q, k in (("Q1", 1.5), ("Q3", 1.0)):
        want = (r["wait_band"].sel(service=IAPT, deprivation=q) * by_band).sum("stage") * rate[(IAPT,)] * k
        assert _rel(r["dropouts_from_waiting"].sel(service=IAPT, deprivation=q), want) < 1e-12
    # month 0: the other strata's lists are untouched until capacity is re-shared
    first = {"time": 0.0, "deprivation": list(QUINT[1:])}
    assert _rel(r["dropouts_from_waiting"].sel(first), base["dropouts_from_waiting"].sel(first)) == 0.0
    # more Q1 people drop out: fewer of them wait
    q1 = {"deprivation": "Q1", "service": IAPT}
    assert float(r["waiting_all"].sel(q1).sum()) < 0.99 * float(base["waiting_all"].sel(q1).sum())


def test_guard_holds_per_stratum(plain):
    # crisis line, first wait band (x 0.5 and x 1.2): 0.05 x 0.5 + 0.5 x 1.2 x 2 = 1.225 > 1, in Q2
    with pytest.raises(InputError) as err:
        with_strata(plain, [_decl([_one("dropout_rate", [1, 2, 1, 1, 1])])])
    text = str(err.value)
    assert "multipliers[0].values" in text and "deprivation 'Q2'" in text and CRISIS_LINE in text
    assert "add to 1.225 per step of 1 month" in text and "wait band '0-1 months'" in text
    assert "at most 1" in text and "deprivation 'Q1'" not in text
    # below the limit (0.025 + 0.6 x 1.6 = 0.985; general emergency lines 0.6 x 1.6 = 0.96) is allowed
    with_strata(plain, [_decl([_one("dropout_rate", [1, 1.6, 1, 1, 1])])])


@pytest.mark.parametrize("param", ["capacity_scale", "extra_capacity"])
def test_capacity_is_shared_so_it_takes_no_multiplier(plain, param):
    with pytest.raises(InputError, match=f"multipliers on '{param}' cannot apply: the model shares it"):
        with_strata(plain, [_decl([_one(param, [1] * 5)])])


def test_experience_metrics_by_stratum(plain, unit_runs):
    _, _, m = unit_runs
    res = run_equity(m, Design(m.spec, []), months=24, dt=1.0)
    for k in ("mean_wait", "share_over_18_weeks", "dropouts_per_100k", "escalations_per_100k"):
        assert k in res.metrics, k
    h = res.horizon.isel(member=0)
    # alike strata (unit multipliers, the same shares in every group): every stratum's waits
    # are the unstratified model's, and drop-outs per head are the total over the population
    plain_run = simulate(plain, months=24, dt=1.0)
    waiting = float(plain_run["waiting_all"].sum())
    exits = float(
        (
            plain_run["starts_from_waiting"]
            + plain_run["escalations_from_waiting"]
            + plain_run["dropouts_from_waiting"]
        ).sum()
    )
    np.testing.assert_allclose(h["mean_wait"], waiting / exits, rtol=1e-9)
    over = float(plain_run["waiting_over_18_weeks"].sum()) / waiting
    np.testing.assert_allclose(h["share_over_18_weeks"], over, rtol=1e-9)
    pop = float(np.sum(res.population))
    per_100k = float(plain_run["dropouts_from_waiting"].sum()) / pop * 1e5
    np.testing.assert_allclose(h["dropouts_per_100k"], per_100k, rtol=1e-9)
    g = res.gradient()
    np.testing.assert_allclose(g["mean_wait_sii"].isel(member=0), 0.0, atol=1e-9)


def test_equity_command_reports_experience(tmp_path):
    path = tmp_path / "strat.yaml"
    path.write_text(
        "upstream: model\nkind: surge\nextends: england-capacity\nname: capacity by IMD (test)\n"
        "strata:\n  - name: deprivation\n    ordered: true\n    categories: [Q1, Q2, Q3, Q4, Q5]\n"
        "    shares:\n      source: unequal shares, for the test\n      all: [0.3, 0.25, 0.2, 0.15, 0.1]\n"
        "    multipliers:\n      - parameter: dropout_rate\n        values: [1.5, 1.2, 1, 1, 0.8]\n"
        "        assumption: illustrative\ntables: {}\n"
    )
    res = CliRunner().invoke(main, ["equity", str(path), "-q", "--members", "2"])
    assert res.exit_code == 0, res.output
    assert "EXPERIENCE" in res.output and "drop-outs while waiting per 100,000" in res.output
    assert "one queue" not in res.output


def test_compiled_kernel_runs_the_stratified_capacity_model(plain):
    m = with_strata(plain, [_decl([_one("dropout_rate", [1.5, 1.2, 1, 1, 0.8])])])
    assert fallback_reason(m.compiled) is None  # every construct lowers: no silent numpy fallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = simulate(m, backend="compiled", dt=0.5, months=24, record="all")
        b = simulate(m, backend="numpy", dt=0.5, months=24, record="all")
    for v in b.data_vars:
        assert _rel(a[v], b[v]) < 1e-12, v


def test_access_weights_share_each_band_and_cap_at_who_waits(plain):
    weights = (1.5, 1, 1, 1, 0.5)
    m = with_strata(plain, [_decl([_one("start_access", weights)], {"all": (0.2,) * 5})])
    r = simulate(m, record=["band_start_rate", "other_exit_rate", "waiting_all", "wait_band"])
    rate = r["band_start_rate"].sel(service=IAPT)
    most = np.maximum(0.0, 1.0 - r["other_exit_rate"].sel(service=IAPT))  # dt = 1 month
    q3 = rate.sel(deprivation="Q3")
    for q, w in (("Q1", 1.5), ("Q5", 0.5)):
        mine = rate.sel(deprivation=q)
        free = (mine < most * (1 - 1e-9)) & (q3 < most * (1 - 1e-9)) & (q3 > 1e-9)
        assert int(free.sum()) > 10
        # uncapped: the stratum's people start at its weight times the others' rate
        np.testing.assert_allclose(mine.where(free, drop=True), w * q3.where(free, drop=True), rtol=1e-9)
        # never more than who is in the band (after drop-outs and escalations)
        assert bool((mine <= most * (1 + 1e-12)).all())
    wait = r["waiting_all"].sel(service=IAPT).sum(["member", "time"])
    assert (
        float(wait.sel(deprivation="Q1"))
        < float(wait.sel(deprivation="Q3"))
        < float(wait.sel(deprivation="Q5"))
    )
    assert _rel(r["wait_band"].sum("stage"), r["waiting_all"]) < 1e-12
