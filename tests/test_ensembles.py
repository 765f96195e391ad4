"""Scenario ensembles: samplers, distributions, quantiles, invariance, dask, streaming."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator.analysis import (
    Design,
    DistributionError,
    Sampler,
    UncertaintyGroup,
    distribution_from_dict,
    run_ensemble,
    scenario_ensemble,
)
from simulator.files import load_scenario


def design(model, independent=False):
    D = distribution_from_dict
    groups = [
        UncertaintyGroup("success", "success", D({"type": "pert", "low": 0.8, "mode": 1, "high": 1.2})),
        UncertaintyGroup(
            "LTC rates",
            "g2c_pcnt",
            D({"type": "triangular", "low": 0.7, "mode": 1, "high": 1.3}),
            {"group": ("Pre-existing LTC",)},
        ),
        UncertaintyGroup(
            "decay",
            "decay",
            D({"type": "uniform", "low": 0.8, "high": 1.2}),
            mode="independent" if independent else "together",
        ),
    ]
    return Design(model.spec, groups)


# ---------------------------------------------------------------- samplers and distributions
@pytest.mark.parametrize("method", ["monte-carlo", "lhs", "sobol"])
def test_draws_do_not_depend_on_how_members_are_split(method):
    s = Sampler(method, 42, ("a", "b", "c"), 10_000)
    whole = s.draws(0, 10_000)
    parts = np.concatenate([s.draws(a, min(a + 777, 10_000)) for a in range(0, 10_000, 777)])
    np.testing.assert_array_equal(whole, parts)
    assert whole.min() >= 0 and whole.max() < 1


def test_lhs_is_stratified_and_columns_keyed_by_name():
    n = 1000
    d = Sampler("lhs", 1, ("x", "y"), n).draws(0, n)
    for j in range(2):
        assert np.array_equal(np.sort(np.floor(d[:, j] * n)), np.arange(n))
    # the same column name gives the same draws whatever the other columns are
    other = Sampler("lhs", 1, ("z", "y"), n).draws(0, n)
    np.testing.assert_array_equal(other[:, 1], d[:, 1])
    assert not np.array_equal(other[:, 0], d[:, 0])


def test_seed_changes_draws():
    a = Sampler("monte-carlo", 1, ("x",), 100).draws(0, 100)
    b = Sampler("monte-carlo", 2, ("x",), 100).draws(0, 100)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    ("spec", "dist"),
    [
        ({"type": "uniform", "low": 2, "high": 5}, stats.uniform(2, 3)),
        ({"type": "triangular", "low": 0, "mode": 1, "high": 4}, stats.triang(0.25, 0, 4)),
        ({"type": "beta", "a": 2, "b": 5, "low": 1, "high": 3}, stats.beta(2, 5, loc=1, scale=2)),
        (
            {"type": "normal", "mean": 1, "sd": 0.2, "low": 0.7, "high": 1.5},
            stats.truncnorm(-1.5, 2.5, 1, 0.2),
        ),
        ({"type": "lognormal", "median": 2, "sigma": 0.3}, stats.lognorm(0.3, scale=2)),
    ],
)
def test_distributions_match_scipy(spec, dist):
    u = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(distribution_from_dict(spec).ppf(u), dist.ppf(u), rtol=1e-10)


def test_pert_has_the_pert_mean():
    d = distribution_from_dict({"type": "pert", "low": 1, "mode": 2, "high": 6})
    x = d.ppf((np.arange(200_000) + 0.5) / 200_000)
    assert x.mean() == pytest.approx((1 + 4 * 2 + 6) / 6, rel=1e-4)


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"type": "uniform", "low": 3, "high": 1}, "low (3) must be below high (1)"),
        ({"type": "triangular", "low": 0, "mode": 5, "high": 1}, "mode (5) must lie between"),
        ({"type": "normal", "mean": 1}, "normal needs sd"),
        ({"type": "weibull", "k": 1}, "type 'weibull' is not known"),
        ({"type": "uniform", "low": 0, "high": 1, "mode": 0.5}, "uniform does not take mode"),
        ({"type": "beta", "a": -1, "b": 2}, "a and b must be positive"),
    ],
)
def test_distribution_errors(spec, text):
    with pytest.raises(DistributionError, match=text.replace("(", r"\(").replace(")", r"\)")):
        distribution_from_dict(spec)


# ---------------------------------------------------------------- designs
def test_design_scales_together_or_independently(england):
    d = design(england, independent=True)
    u = np.random.default_rng(0).random((5, len(d.columns)))
    p = d.apply(u)
    base = england.spec.param("success").values
    ratio = p["success"] / base
    assert np.allclose(ratio, ratio[:, :1])  # together: one factor per member
    dec = p["decay"] / np.where(
        england.spec.param("decay").values == 0, 1, england.spec.param("decay").values
    )
    assert not np.allclose(dec, dec[:, :1])  # independent: one factor per service
    ltc = england.spec.param("g2c_pcnt").space.labels("group")
    changed = np.flatnonzero(~np.isclose(p["g2c_pcnt"][0], england.spec.param("g2c_pcnt").values))
    assert {ltc[i] for i in changed} == {"Pre-existing LTC"}


def test_design_clips_to_bounds_and_counts(england):
    d = Design(
        england.spec,
        [UncertaintyGroup("s", "success", distribution_from_dict({"type": "uniform", "low": 3, "high": 4}))],
    )
    counts = {}
    p = d.apply(np.full((2, 1), 0.5), counts)
    assert p["success"].max() == 1.0 and counts["clipped success"] > 0


def test_sum_constraint_rescales_condition_rates(england):
    d = Design(
        england.spec,
        [
            UncertaintyGroup(
                "big", "g2c_pcnt", distribution_from_dict({"type": "uniform", "low": 3, "high": 3.1})
            )
        ],
    )
    counts = {}
    p = d.apply(np.full((1, 1), 0.5), counts)["g2c_pcnt"][0]
    groups = np.array(england.spec.param("g2c_pcnt").space.labels("group"))
    for g in set(groups):
        assert p[groups == g].sum() <= 1 + 1e-12
    assert counts["rescaled g2c_pcnt"] > 0


def test_design_rejects_unknown_names(england):
    D = distribution_from_dict({"type": "uniform", "low": 0.9, "high": 1.1})
    with pytest.raises(ValueError, match="unknown parameter 'sucess'"):
        Design(england.spec, [UncertaintyGroup("x", "sucess", D)])
    with pytest.raises(ValueError, match=r"service \['IAPTT'\] not in parameter success"):
        Design(england.spec, [UncertaintyGroup("x", "success", D, {"service": ("IAPTT",)})])


# ---------------------------------------------------------------- the ensemble runner
@pytest.fixture(scope="module")
def small_ensemble(england):
    return run_ensemble(england, design(england), members=300, seed=5, dt=1.0)


def test_quantiles_equal_numpys_on_stored_members(small_ensemble):
    r = small_ensemble
    qs = [0.05, 0.25, 0.5, 0.75, 0.95]
    for var in ("referrals", "caseload_peak", "starts_total", "caseload_peak_month"):
        stored = r.members[var]
        expected = np.quantile(stored.to_numpy(), qs, axis=stored.get_axis_num("member"))
        got = r.summary[var].sel(stat=[f"p{q * 100:g}" for q in qs]).to_numpy()
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_allclose(r.summary[var].sel(stat="mean"), stored.mean("member"), rtol=1e-12)
        np.testing.assert_allclose(r.summary[var].sel(stat="sd"), stored.std("member", ddof=1), rtol=1e-9)


def test_member_outputs_equal_single_runs(england, small_ensemble):
    from simulator import simulate

    d = design(england)
    u = Sampler("lhs", 5, tuple(d.columns), 300).draws(0, 300)
    params = d.apply(u)
    for i in (0, 137, 299):
        one = simulate(
            england, dt=1.0, params={k: v[i] for k, v in params.items()}, record={"new_referral": ["service"]}
        )
        np.testing.assert_allclose(
            small_ensemble.members["referrals"].isel(member=i).to_numpy(),
            one["new_referral"].isel(member=0).to_numpy(),
            rtol=1e-12,
        )
        peak = one["new_referral"].isel(member=0).max("time")
        np.testing.assert_allclose(small_ensemble.members["referrals_peak"].isel(member=i), peak, rtol=1e-12)


def test_totals_and_peaks_taken_in_chunks_equal_the_kept_months(small_ensemble):
    # totals, peaks and peak months are reduced chunk by chunk where members ran; they
    # must be exactly what the kept monthly values give (month-ordered sum, first peak)
    r = small_ensemble.members
    times = r["time"].to_numpy()
    for name in [str(k) for k in r.data_vars if f"{k}_total" in r]:
        a = r[name].transpose("time", ..., "member").to_numpy()
        total = a[0].copy()
        for k in range(1, a.shape[0]):
            total += a[k]
        np.testing.assert_array_equal(r[f"{name}_total"].to_numpy(), total)
        np.testing.assert_array_equal(r[f"{name}_peak"].to_numpy(), a.max(axis=0))
        np.testing.assert_array_equal(r[f"{name}_peak_month"].to_numpy(), times[a.argmax(axis=0)])
        assert np.any(total != 0)


@pytest.mark.parametrize(
    ("chunk", "workers", "block"), [(7, 1, 4096), (64, 2, 4096), (300, 2, 100), (13, 2, 37)]
)
def test_identical_for_any_chunking_workers_and_blocks(england, small_ensemble, chunk, workers, block):
    r = run_ensemble(
        england,
        design(england),
        members=300,
        seed=5,
        dt=1.0,
        chunk_size=chunk,
        workers=workers,
        block_size=block,
    )
    for v in small_ensemble.summary.data_vars:
        np.testing.assert_array_equal(r.summary[v].to_numpy(), small_ensemble.summary[v].to_numpy())


@pytest.mark.slow
def test_dask_local_cluster_is_bit_identical(england, small_ensemble):
    pytest.importorskip("dask.distributed")
    from simulator.core import dask_client

    with dask_client("local") as client:
        r = run_ensemble(
            england, design(england), members=300, seed=5, dt=1.0, dask_client=client, block_size=100
        )
    for v in small_ensemble.summary.data_vars:
        np.testing.assert_array_equal(r.summary[v].to_numpy(), small_ensemble.summary[v].to_numpy())
    np.testing.assert_array_equal(
        r.members["referrals"].to_numpy(), small_ensemble.members["referrals"].to_numpy()
    )


def test_streamed_quantiles_within_sketch_accuracy(england, small_ensemble):
    r = run_ensemble(england, design(england), members=300, seed=5, dt=1.0, keep_members=False, block_size=64)
    assert r.members is None and not r.exact
    for v in ("referrals_total", "caseload_peak", "referrals"):
        exact = small_ensemble.summary[v].to_numpy()
        got = r.summary[v].to_numpy()
        # means and sds are exact sums; quantiles within the sketch's 0.5% relative accuracy
        np.testing.assert_allclose(got[:2], exact[:2], rtol=1e-9, atol=1e-6)
        big = np.abs(exact[2:]) > 1.0
        assert np.all(np.abs(got[2:][big] - exact[2:][big]) <= 0.011 * np.abs(exact[2:][big]))


def test_uncertainty_widens_with_range(england):
    D = distribution_from_dict
    narrow = Design(
        england.spec, [UncertaintyGroup("s", "size", D({"type": "uniform", "low": 0.95, "high": 1.05}))]
    )
    wide = Design(
        england.spec, [UncertaintyGroup("s", "size", D({"type": "uniform", "low": 0.5, "high": 1.5}))]
    )
    a = run_ensemble(england, narrow, members=200, seed=1)
    b = run_ensemble(england, wide, members=200, seed=1)
    sa = a.summary["referrals_total"].sel(service="IAPT", stat="sd").item()
    sb = b.summary["referrals_total"].sel(service="IAPT", stat="sd").item()
    # referrals are linear in group sizes, so the spread scales with the range (10x here)
    assert sb / sa == pytest.approx(10, rel=1e-6)


def test_scenario_file_runs(tmp_path):
    s = load_scenario("scenarios/england-evidence.yaml")
    assert len(s.groups) == 30 and all(g.source for g in s.groups)
    r = scenario_ensemble(s, members=64)
    t = r.table(["IAPT"])
    assert t["referrals p5"].iloc[0] < t["referrals median"].iloc[0] < t["referrals p95"].iloc[0]
    out = tmp_path / "e.nc"
    r.to_netcdf(out)
    import xarray as xr

    back = xr.open_dataset(out, engine="h5netcdf")
    np.testing.assert_array_equal(back["referrals_total"].to_numpy(), r.summary["referrals_total"].to_numpy())


@pytest.mark.parametrize(
    "curve", ["sudden-shock", "prolonged-pandemic", "even-ebb", "incubating-impact", "fluctuating-fears"]
)
def test_curve_baselines_equal_single_runs(curve):
    from simulator import simulate

    s = load_scenario(f"scenarios/england-{curve}.yaml")
    r = scenario_ensemble(s)
    one = simulate(s.model, dt=s.dt, months=s.months, record={"new_referral": ["service"]})
    np.testing.assert_allclose(
        r.summary["referrals"].sel(stat="p50").to_numpy(),
        one["new_referral"].isel(member=0).to_numpy(),
        rtol=1e-12,
    )
    assert s.model.curve_note.lower().replace(" ", "-") == curve


def test_fast_beta_inverse_matches_scipy():
    from scipy import stats

    from simulator.analysis import beta_ppf

    u = np.random.default_rng(0).random((2000, 7))
    u[0, :4] = [0.0, 1.0, 1e-12, 1 - 1e-12]
    for a, b in [(2.5, 3.1), (1.0, 5.0), (5.0, 1.0), (3.0, 3.0), (4.2, 1.8), (0.5, 0.7), (1.000001, 4.9)]:
        np.testing.assert_allclose(beta_ppf(u, a, b), stats.beta.ppf(u, a, b), rtol=1e-12, atol=1e-13)


def test_ratio_is_defined_once_and_each_view_says_what_empty_gives():
    """Ensembles give 0 where the denominator is at most the floor; the capacity table NaN (utilisation)."""
    from simulator.core import ratio

    num = np.array([1.0, 2.0, 3.0, 4.0])
    den = np.array([0.0, 4.0, 1e-7, np.nan])
    np.testing.assert_array_equal(ratio(num, den, 1e-6), [0.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(ratio(num, den, 0.0, empty=np.nan), [np.nan, 0.5, 3.0 / 1e-7, np.nan])


def test_outputs_default_to_what_the_model_kind_gives(england):
    from dataclasses import fields

    from simulator.core import OutputDef

    class OneOutput(type(england)):  # a model kind of its own: one output, per service
        def ensemble_outputs(self):
            return (OutputDef("starts", "new_treatment", ("service",), "starts per month"),)

    model = OneOutput(**{f.name: getattr(england, f.name) for f in fields(england) if f.init})
    r = run_ensemble(model, design(model), members=4, seed=1)
    assert set(r.summary.data_vars) >= {"starts", "starts_total", "starts_peak", "starts_peak_month"}
    assert "referrals" not in r.summary
