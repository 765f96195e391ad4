"""Sensitivity indices against a model whose output is a known additive function of its factors."""

from __future__ import annotations

import pytest
from tiny import write_tiny

from simulator import load_model, simulate
from simulator.analysis import Design, UncertaintyGroup, sensitivity_analysis
from simulator.analysis._distributions import distribution_from_dict as D


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model(write_tiny(tmp_path_factory.mktemp("t") / "tiny.xlsx"))


def groups(dead=True):
    g = [
        UncertaintyGroup(
            "size A", "size", D({"type": "uniform", "low": 0.5, "high": 1.5}), {"group": ("A",)}
        ),
        UncertaintyGroup(
            "size B", "size", D({"type": "uniform", "low": 0.8, "high": 1.2}), {"group": ("B",)}
        ),
    ]
    if dead:  # contacts per person: no effect on referrals at all
        g.append(UncertaintyGroup("contacts", "demand", D({"type": "uniform", "low": 0.5, "high": 1.5})))
    return g


def analytic_shares(tiny):
    """Referrals to S1 over the horizon are k_A size_A + k_B size_B: Sobol S1_i = Var_i / sum Var."""
    ref = {}
    for g, other in (("A", "B"), ("B", "A")):
        sizes = tiny.spec.param("size").values.copy()
        sizes[list(tiny.spec.dims["group"]).index(other)] = 0.0
        ds = simulate(tiny, params={"size": sizes}, record={"new_referral": ["service"]})
        ref[g] = ds["new_referral"].sel(service="S1").sum("time").item()
    var = {"size A": ref["A"] ** 2 * 1.0**2 / 12, "size B": ref["B"] ** 2 * 0.4**2 / 12}
    tot = sum(var.values())
    return {k: v / tot for k, v in var.items()}


def test_sobol_matches_analytic_indices(tiny):
    expected = analytic_shares(tiny)
    res = sensitivity_analysis(
        tiny, Design(tiny.spec, groups()), method="sobol", n=2048, seed=3, services=["S1"]
    )
    assert res.runs == 2048 * (2 * 3 + 2)
    d = res.indices
    d = d[(d["output"] == "referrals_total") & (d["service"] == "S1") & d["month"].isna()]
    for index in ("S1", "ST"):
        got = d[d["index"] == index].set_index("factor")
        for f, e in expected.items():
            assert got.loc[f, "value"] == pytest.approx(e, abs=max(0.02, 2 * got.loc[f, "conf"]))
        assert abs(got.loc["contacts", "value"]) < 0.01
    # additive model: no interaction between the two sizes
    assert abs(res.second_order.loc["size A", "size B"]) < 0.03
    # indices over time exist for every month and are within [~0, ~1]
    monthly = res.indices[res.indices["month"].notna() & (res.indices["index"] == "ST")]
    assert monthly["month"].nunique() == tiny.spec.horizon


def test_morris_ranks_the_dead_parameter_last(tiny):
    res = sensitivity_analysis(
        tiny, Design(tiny.spec, groups()), method="morris", n=40, seed=1, services=["S1"]
    )
    r = res.ranking("referrals_total", "S1")
    assert list(r["factor"]) == ["size A", "size B", "contacts"]
    assert r["value"].iloc[-1] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("method", "n"), [("fast", 400), ("delta", 600)])
def test_fast_and_delta_rank_the_strong_factor_first(tiny, method, n):
    res = sensitivity_analysis(tiny, Design(tiny.spec, groups()), method=method, n=n, seed=2, services=["S1"])
    assert res.ranking("referrals_total", "S1")["factor"].iloc[0] == "size A"


def test_fast_refuses_independent_groups(tiny):
    g = [
        UncertaintyGroup(
            "success", "success", D({"type": "uniform", "low": 0.9, "high": 1.0}), mode="independent"
        )
    ]
    with pytest.raises(ValueError, match="make these groups mode: together or use sobol/morris: success"):
        sensitivity_analysis(tiny, Design(tiny.spec, g), method="fast", n=64)


def test_grouped_independent_factor_is_one_sobol_factor(tiny):
    g = [
        *groups(dead=False),
        UncertaintyGroup(
            "decay", "decay", D({"type": "uniform", "low": 0.5, "high": 1.0}), mode="independent"
        ),
    ]
    res = sensitivity_analysis(
        tiny, Design(tiny.spec, g), method="sobol", n=64, seed=1, services=["S1"], monthly=False
    )
    assert set(res.indices["factor"]) == {"size A", "size B", "decay"}
    assert res.runs == 64 * (2 * 3 + 2)


def test_outputs_and_measures_come_from_the_model_kind(tiny):
    """One code path: the kind's outputs, each by its own measures, per service or per variable."""
    from dataclasses import fields

    from simulator.core import OutputDef

    class Measured(type(tiny)):  # a model kind of its own: referrals measured by their final value
        def sensitivity_outputs(self, variables=None):
            if variables:
                return super().sensitivity_outputs(variables)
            return (OutputDef("referrals", "new_referral", ("service",), measures=("final", "peak")),)

    model = Measured(**{f.name: getattr(tiny, f.name) for f in fields(tiny) if f.init})
    design = Design(model.spec, groups())
    res = sensitivity_analysis(model, design, method="morris", n=4, seed=1, services=["S1"])
    assert set(res.indices["output"]) == {"referrals_final", "referrals_peak"}
    assert res.meta["services"] == ["S1"]
    # a surge model's own variables: analysed as any other model's
    res = sensitivity_analysis(tiny, design, method="morris", n=4, seed=1, variables=["new_referral"])
    assert set(res.indices["output"]) == {"new_referral_final", "new_referral_peak", "new_referral_peak_time"}
    assert set(res.indices["service"]) == {""}
    assert res.meta["variables"] == ["new_referral"]
