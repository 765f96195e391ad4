"""The member axis: an ensemble of k members equals k single runs, whatever the chunking."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import simulate
from simulator.core import RunError


def member_params(model, k, seed=7):
    rng = np.random.default_rng(seed)
    spec = model.spec
    out = {}
    for name in ("success", "decay", "treat_pcnt"):
        v = spec.param(name).values
        out[name] = np.clip(v * rng.uniform(0.8, 1.2, (k, v.size)), 0, 1)
    out["split"] = spec.param("split").values * rng.uniform(0.8, 1.2, (k, spec.param("split").values.size))
    out["size"] = spec.param("size").values * rng.uniform(0.9, 1.1, (k, 16))
    return out


def test_ensemble_equals_single_runs(england):
    k = 5
    params = member_params(england, k)
    ens = simulate(england, dt=0.5, params=params, record=["treatment", "new_referral", "no_mh_needs"])
    assert ens.sizes["member"] == k
    for i in range(k):
        single = simulate(
            england,
            dt=0.5,
            params={n: v[i] for n, v in params.items()},
            record=["treatment", "new_referral", "no_mh_needs"],
        )
        for var in ("treatment", "new_referral", "no_mh_needs"):
            np.testing.assert_allclose(
                ens[var].isel(member=i).to_numpy(),
                single[var].isel(member=0).to_numpy(),
                rtol=1e-11,
                atol=1e-6,
            )


@pytest.mark.parametrize(("chunk", "workers"), [(1, 1), (3, 1), (7, 2), (64, 2)])
def test_chunking_and_workers_do_not_change_results(england, chunk, workers):
    params = member_params(england, 11)
    rec = {"treatment": ["service"], "new_referral": ["service"]}
    ref = simulate(england, dt=1.0, params=params, record=rec, chunk_size=11, workers=1)
    got = simulate(england, dt=1.0, params=params, record=rec, chunk_size=chunk, workers=workers)
    for v in rec:
        np.testing.assert_array_equal(got[v].to_numpy(), ref[v].to_numpy())


def test_recording_by_service_equals_summing_paths(england):
    params = member_params(england, 3)
    full = simulate(england, dt=1.0, params=params, record=["treatment"])
    svc = simulate(england, dt=1.0, params=params, record={"treatment": ["service"]})
    np.testing.assert_allclose(
        svc["treatment"].to_numpy(), full["treatment"].sum(["group", "condition"]).to_numpy(), rtol=1e-12
    )
    assert svc["treatment"].dims == ("member", "time", "service")


def test_parameter_errors(england):
    with pytest.raises(RunError, match="unknown parameter 'nope'"):
        simulate(england, params={"nope": 1.0})
    with pytest.raises(RunError, match="above the allowed maximum 1"):
        simulate(england, params={"success": 1.5})
    with pytest.raises(RunError, match="3 members, but others have 2"):
        simulate(england, params={"success": np.full((2, 34), 0.5), "decay": np.full((3, 34), 0.5)})


@pytest.mark.parametrize("keep", [["service"], ["group"], ["group", "service"], []])
def test_factored_recording_equals_summing_full_results(england, keep):
    """starts = referrals x treat_pcnt and contacts = caseload x demand are recorded by summing first."""
    params = member_params(england, 3)
    names = ["new_treatment", "contacts", "new_referral"]
    full = simulate(england, dt=0.5, params=params, record=names)
    part = simulate(england, dt=0.5, params=params, record={n: keep for n in names[:2]})
    assert set(part.data_vars) >= {"new_treatment", "contacts"} and "new_referral" not in part
    for n in names[:2]:
        drop = [d for d in ("group", "condition", "service") if d not in keep]
        np.testing.assert_allclose(
            part[n].to_numpy(), full[n].sum(drop).transpose(*part[n].dims).to_numpy(), rtol=1e-12
        )
    # a base recorded at other dimensions than the factored quantity
    mixed = simulate(
        england, dt=0.5, params=params, record={"new_referral": ["group"], "new_treatment": ["service"]}
    )
    np.testing.assert_allclose(
        mixed["new_treatment"].to_numpy(),
        full["new_treatment"].sum(["group", "condition"]).to_numpy(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        mixed["new_referral"].to_numpy(),
        full["new_referral"].sum(["condition", "service"]).to_numpy(),
        rtol=1e-12,
    )
