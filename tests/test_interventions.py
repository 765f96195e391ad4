"""Interventions: exactness of the levers, timing, diversion, costs and common random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import write_tiny

from simulator import InputError, load_model
from simulator.analysis import (
    Design,
    Intervention,
    InterventionEngine,
    Package,
    UncertaintyGroup,
    appraise,
    ramp,
    simulate_package,
)
from simulator.analysis._distributions import distribution_from_dict as D
from simulator.files import load_intervention, load_package

FIXED = lambda v: D({"type": "fixed", "value": v})  # noqa: E731


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model(write_tiny(tmp_path_factory.mktemp("t") / "tiny.xlsx"))


def iv(name="x", lever="conversion", effect=0.0, **kw):
    return Intervention(name=name, lever=lever, effect=FIXED(effect), **kw)


ALL = ["at_risk", "treatment", "new_referral", "new_treatment", "no_mh_needs", "contacts"]


def test_null_intervention_changes_nothing_exactly(tiny, england):
    for model, scope in ((tiny, {"group": ("A",)}), (england, {"group": ("Parents",)})):
        base = simulate_package(model, Package("baseline", ()), dt=0.5, record=ALL)
        nulls = Package(
            "null",
            (
                iv("c", "conversion", 0.0, scope=scope, start=1, ramp_months=2),
                iv("a", "access", 0.0),
                iv("e", "exposure", 0.0, effect_type="absolute"),
            ),
        )
        got = simulate_package(model, nulls, dt=0.5, record=ALL)
        for v in ALL:
            np.testing.assert_array_equal(got[v].to_numpy(), base[v].to_numpy())


def test_halving_a_conversion_rate_halves_that_paths_referrals(tiny):
    half = Package("half", (iv("h", "conversion", -0.5, scope={"group": ("A",), "condition": ("X",)}),))
    base = simulate_package(tiny, Package("baseline", ()), dt=1.0, record=["new_referral"])
    got = simulate_package(tiny, half, dt=1.0, record=["new_referral"])
    b = base["new_referral"].isel(member=0, time=1)
    g = got["new_referral"].isel(member=0, time=1)
    # month 1: at-risk people are the month-0 arrivals in both runs (nobody referred yet)
    for s in ("S1", "S2"):
        assert (
            g.sel(group="A", condition="X", service=s).item()
            == 0.5 * b.sel(group="A", condition="X", service=s).item()
        )
    np.testing.assert_array_equal(
        g.sel(group="A", condition="Y").to_numpy(), b.sel(group="A", condition="Y").to_numpy()
    )
    np.testing.assert_array_equal(g.sel(group="B").to_numpy(), b.sel(group="B").to_numpy())


def test_overlapping_effects_multiply(tiny):
    one = iv("one", "conversion", -0.5, scope={"group": ("A",)})
    two = iv("two", "conversion", -0.5, scope={"group": ("A",), "condition": ("X",)})
    both = simulate_package(tiny, Package("both", (one, two)), dt=1.0, record=["new_referral"])
    base = simulate_package(tiny, Package("baseline", ()), dt=1.0, record=["new_referral"])
    r = both["new_referral"].isel(member=0, time=1) / base["new_referral"].isel(member=0, time=1)
    assert r.sel(group="A", condition="X", service="S1").item() == pytest.approx(0.25, abs=1e-15)
    assert r.sel(group="A", condition="Y", service="S3").item() == pytest.approx(0.5, abs=1e-15)


def test_no_effect_before_start_and_a_linear_ramp(tiny):
    access = iv("acc", "access", 0.5, scope={"service": ("S1",)}, start=2, ramp_months=4)
    engine = InterventionEngine(tiny, [access])
    amp, _ = engine.amplitudes(np.full((1, 1), 0.5))
    _, extra = engine.hook(Package("p", (access,)), amp)({}, 0, 1)
    base = {p.name: p.values[None, :] for p in tiny.spec.params}
    sub = {**base, **extra["arrays"]}
    i = list(tiny.spec.dims["service"]).index("S1")
    t0 = base["treat_pcnt"][0, i]
    for t, r in ((0, 0), (1.9, 0), (2, 0), (3, 0.25), (4, 0.5), (6, 1), (30, 1)):
        got = extra["param_at"](sub, t)["treat_pcnt"][0, i]
        assert got == pytest.approx(min(1.0, t0 * (1 + 0.5 * r)), rel=1e-15)
    assert ramp(5.0, 2, 4, end=5) == 0.0  # after the end the effect stops
    runs = [
        simulate_package(tiny, p, dt=0.25, record=ALL) for p in (Package("b", ()), Package("p", (access,)))
    ]
    before = {"time": slice(0, 2)}  # months 0, 1, 2: the state at month 2 predates any effect
    for v in ALL:
        np.testing.assert_array_equal(
            runs[0][v].isel(**before).to_numpy(), runs[1][v].isel(**before).to_numpy()
        )
    assert not np.array_equal(runs[0]["new_treatment"].to_numpy(), runs[1]["new_treatment"].to_numpy())


def test_diversion_conserves_referrals(england):
    hubs = load_package("community-hubs")
    div = hubs.interventions[0]
    rec = ["new_referral", "at_risk"]
    base = simulate_package(england, Package("baseline", ()), dt=1.0, record=rec, diversions_of=[hubs])
    got = simulate_package(england, hubs, dt=1.0, record=rec, quantile=0.9)
    t = div.start + div.ramp_months + 2  # full effect
    b = base.isel(member=0).sel(time=t)
    g = got.isel(member=0).sel(time=t)
    moved = list(div.divert_from) + list(div.divert_to)

    def per_at_risk(ds, services=None):
        ref = ds["new_referral"] if services is None else ds["new_referral"].sel(service=services)
        return (ref.sum("service") / ds["at_risk"]).fillna(0).to_numpy()

    # every (group, condition) refers the same share of its at-risk people: nothing is lost or created
    np.testing.assert_allclose(per_at_risk(g), per_at_risk(b), rtol=1e-11, atol=1e-15)
    # the share that went to the from- and to-services together is unchanged too: weight only moved
    np.testing.assert_allclose(per_at_risk(g, moved), per_at_risk(b, moved), rtol=1e-11, atol=1e-15)
    # and it moved from the crisis lines to primary care
    frm, to = per_at_risk(g, list(div.divert_from)), per_at_risk(b, list(div.divert_from))
    assert np.all(frm <= to + 1e-15) and frm.sum() < to.sum()
    assert per_at_risk(g, list(div.divert_to)).sum() > per_at_risk(b, list(div.divert_to)).sum()


def test_costs_add_up_by_hand(tiny):
    fixed = iv(
        "fixed",
        "conversion",
        -0.1,
        scope={"group": ("A",)},
        start=2,
        fixed_per_month=1000.0,
        per_person=10.0,
        coverage=0.5,
        reach="population",
    )
    refs = iv(
        "refs",
        "access",
        0.2,
        scope={"service": ("S3",)},
        start=1,
        ramp_months=2,
        per_person=2.0,
        reach="referrals",
    )
    a = appraise(tiny, [Package("p", (fixed, refs))], members=3, seed=1, dt=1.0)
    # fixed: 1000 x (4 months - start 2); population: 10 x 0.5 x size_A 1000 x 50%
    expected_fixed = 1000 * 2 + 10 * 0.5 * 1000 * 0.5
    # referrals reach: 2 x coverage 1 x sum over months of ramp(t) x referrals to S3 in the package run
    run = simulate_package(tiny, Package("p", (fixed, refs)), dt=1.0, record=["new_referral"])
    s3 = run["new_referral"].sel(service="S3").sum(["group", "condition"]).isel(member=0).to_numpy()
    r = np.array([0, 0, 0.5, 1])
    expected = expected_fixed + 2 * (s3 * r).sum()
    np.testing.assert_allclose(a.members["cost"].sel(package="p").to_numpy(), expected, rtol=1e-12)
    assert a.members["cost"].sel(package="baseline").to_numpy().max() == 0


def test_common_random_numbers_narrow_pairwise_differences(england):
    groups = [UncertaintyGroup("sizes", "size", D({"type": "uniform", "low": 0.4, "high": 1.6}))]
    design = Design(england.spec, groups)
    one = Package("one", (iv("one", "conversion", -0.2, scope={"group": ("Parents",)}),))
    two = Package("two", (iv("two", "conversion", -0.3, scope={"group": ("Elderly alone",)}),))
    a = appraise(england, [one, two], design=design, members=200, seed=1, sampler="monte-carlo")
    b = appraise(england, [one, two], design=design, members=200, seed=2, sampler="monte-carlo")
    paired = a.averted().sel(package="one") - a.averted().sel(package="two")
    independent = a.averted().sel(package="one") - b.averted().sel(package="two")
    assert float(paired.std()) < 0.5 * float(independent.std())
    assert a.beats().loc["one", "two"] == pytest.approx(float((paired > 0).mean()))


def test_library_loads_and_every_effect_names_its_source():
    from pathlib import Path

    files = sorted(Path("scenarios/interventions").glob("*.yaml"))
    assert len(files) >= 10
    tiers = set()
    for f in files:
        x = load_intervention(f)
        assert x.source and ("illustrative assumption" in x.source or "EV" in x.source)
        tiers.add(x.tier)
    assert tiers == {"upstream", "midstream", "downstream"}
    for p in Path("scenarios/packages").glob("*.yaml"):
        assert load_package(p).interventions


@pytest.mark.parametrize(
    ("text", "field", "msg"),
    [
        ("lever: conversion", "lever", "is 'telepathy'"),
        ("tier: upstream", "tier", "is 'sideways'"),
        ("coverage: 0.5", "coverage", "is 1.5"),
    ],
)
def test_bad_intervention_files_name_the_field(tmp_path, text, field, msg):
    good = (
        "upstream: intervention\nname: t\ntier: upstream\nlever: conversion\nscope: {group: [Parents]}\n"
        "effect: {type: relative, distribution: {type: uniform, low: -0.2, high: 0}, source: assumption}\n"
        "coverage: 0.5\n"
    )
    bad = good.replace(
        text, {"lever": "lever: telepathy", "tier": "tier: sideways", "coverage": "coverage: 1.5"}[field]
    )
    p = tmp_path / "i.yaml"
    p.write_text(bad)
    with pytest.raises(InputError) as info:
        load_intervention(p)
    hit = [e for e in info.value.problems if msg in e.message]
    assert hit and hit[0].part == field


def test_added_starts_cost_only_the_extra_starts(tiny):
    more = iv("more", "access", 0.3, scope={"service": ("S1",)}, per_person=100.0, reach="added_starts")
    a = appraise(tiny, [Package("more", (more,))], members=2, seed=1, dt=1.0)
    extra = a.members["starts"].sel(package="more", service="S1") - a.members["starts"].sel(
        package="baseline", service="S1"
    )
    assert float(extra.min()) > 0
    np.testing.assert_allclose(
        a.members["cost"].sel(package="more").to_numpy(), 100 * extra.to_numpy(), rtol=1e-12
    )


def test_one_appraisal_loop_for_every_model_kind(tiny):
    """Network models run the surge models' loop: chunk reductions, blocks and kind-provided measures."""
    wl = load_model("models/examples/waiting-list.yaml")
    faster = iv("faster", "parameter", 0.2, parameter="start_rate", start=1, fixed_per_month=5.0)
    pkgs = [Package("faster", (faster,))]
    whole = appraise(wl, pkgs, members=5, seed=4)
    for kw in ({"block_size": 2}, {"chunk_size": 2, "workers": 1}):
        got = appraise(wl, pkgs, members=5, seed=4, **kw)
        assert got.members.identical(whole.members)
    assert list(whole.members.data_vars) == [f"total_{s.name}" for s in wl.spec.stocks] + ["cost"]
    assert whole.meta["variables"] == [s.name for s in wl.spec.stocks] and whole.crisis == []
    np.testing.assert_array_equal(whole.members["cost"].sel(package="faster"), 5.0 * (wl.spec.horizon - 1))
    # a surge model's figures come from its kind; the loop adds crisis referrals, cost and population
    a = appraise(tiny, pkgs[:0], members=2, seed=1, dt=1.0)
    assert list(a.members.data_vars) == [
        *tiny.appraisal_measures().figures,
        "crisis_referrals",
        "cost",
        "population",
    ]


def test_diversion_needs_a_surge_model():
    wl = load_model("models/examples/waiting-list.yaml")
    div = iv("d", "diversion", 0.1, divert_from=("A",), divert_to=("B",))
    for run in (
        lambda: simulate_package(wl, Package("d", (div,))),
        lambda: appraise(wl, [Package("d", (div,))], members=2),
    ):
        with pytest.raises(ValueError, match="diversion needs a surge model"):
            run()
