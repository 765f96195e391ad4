"""Numerics against closed forms, convergence orders, and scipy's solve_ivp."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from simulator import ModelSpec, simulate


def decay_spec(k: float = 0.3, x0: float = 1000.0) -> ModelSpec:
    return ModelSpec.build(
        "decay",
        stocks=[{"name": "x", "initial": x0}, {"name": "gone", "initial": 0.0}],
        params=[{"name": "k", "values": k, "source": "test"}],
        flows=[{"name": "out", "kind": "outflow", "source": "x", "target": "gone", "rate": "k"}],
        horizon=25,
    )


def test_exponential_decay_euler_is_exactly_geometric():
    # Euler on dx/dt = -k x gives x_n = x0 (1 - k dt)^n exactly
    k, x0, dt = 0.3, 1000.0, 0.25
    ds = simulate(decay_spec(k, x0), dt=dt)
    t = ds["time"].to_numpy()
    expected = x0 * (1 - k * dt) ** (t / dt)
    np.testing.assert_allclose(ds["x"].to_numpy()[0], expected, rtol=1e-12)
    # people are conserved: what left is in "gone"
    np.testing.assert_allclose(ds["gone"].to_numpy()[0], x0 - expected, rtol=1e-12, atol=1e-9)


def test_exponential_decay_rk4_matches_closed_form():
    k, x0 = 0.3, 1000.0
    ds = simulate(decay_spec(k, x0), dt=0.1, method="rk4")
    t = ds["time"].to_numpy()
    np.testing.assert_allclose(ds["x"].to_numpy()[0], x0 * np.exp(-k * t), rtol=2e-7)


def test_outflow_values_are_rate_times_stock():
    ds = simulate(decay_spec(0.3, 1000.0), dt=0.5, record="all")
    np.testing.assert_allclose(ds["out"].to_numpy(), 0.3 * ds["x"].to_numpy(), rtol=1e-14)


def inflow_decay_spec(c: float, k: float) -> ModelSpec:
    return ModelSpec.build(
        "inflow",
        stocks=[{"name": "x", "initial": 0.0}],
        params=[{"name": "c", "values": c, "source": "test"}, {"name": "k", "values": k, "source": "test"}],
        flows=[
            {"name": "in", "kind": "inflow", "target": "x", "rate": "c"},
            {"name": "out", "kind": "outflow", "source": "x", "rate": "k"},
        ],
        horizon=31,
    )


def test_constant_inflow_no_outflow_is_linear():
    ds = simulate(inflow_decay_spec(40.0, 0.0), dt=0.2)
    t = ds["time"].to_numpy()
    np.testing.assert_allclose(ds["x"].to_numpy()[0], 40.0 * t, rtol=1e-12)


def test_constant_inflow_with_decay_approaches_closed_form():
    # x(t) = c/k (1 - exp(-k t))
    c, k = 40.0, 0.2
    ds = simulate(inflow_decay_spec(c, k), dt=0.05, method="rk4")
    t = ds["time"].to_numpy()
    np.testing.assert_allclose(ds["x"].to_numpy()[0], c / k * (1 - np.exp(-k * t)), rtol=1e-8)


def ramp_spec() -> ModelSpec:
    """dx/dt = s(t) - k x with a piecewise-linear series s (knots at whole months)."""
    times = np.arange(0, 13, 1.0)
    vals = 100 + 50 * np.sin(times / 2.0)
    return ModelSpec.build(
        "ramp",
        stocks=[{"name": "x", "initial": 10.0}],
        params=[{"name": "k", "values": 0.4, "source": "test"}],
        series=[{"name": "s", "times": times, "values": vals, "source": "test"}],
        flows=[
            {"name": "in", "kind": "inflow", "target": "x", "rate": "s"},
            {"name": "out", "kind": "outflow", "source": "x", "rate": "k"},
        ],
        horizon=13,
    )


def exact_ramp(t_end: float) -> float:
    times = np.arange(0, 13, 1.0)
    vals = 100 + 50 * np.sin(times / 2.0)
    sol = solve_ivp(
        lambda t, x: np.interp(t, times, vals) - 0.4 * x,
        (0, t_end),
        [10.0],
        rtol=1e-12,
        atol=1e-12,
        method="DOP853",
        max_step=0.01,
    )
    return float(sol.y[0, -1])


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("rk4", 4)])
def test_order_of_accuracy(method, order):
    exact = exact_ramp(12.0)
    dts = [0.5, 0.25, 0.125] if method == "euler" else [1.0, 0.5, 0.25]
    errs = []
    for dt in dts:
        ds = simulate(ramp_spec(), dt=dt, method=method)
        errs.append(abs(float(ds["x"].isel(member=0, time=-1)) - exact))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    # the error shrinks like dt**order
    assert np.all(np.abs(rates - order) < 0.25), (errs, rates)


def test_surge_model_rk4_agrees_with_solve_ivp(england):
    """England with RK4 at small dt against scipy's DOP853 on the same equations."""
    from simulator.core import prepare_params
    from simulator.core._kernel import _linear_matrix

    cm = england.compiled
    months = 12
    ds = simulate(england, dt=0.05, method="rk4", months=months, record=["at_risk", "treatment"])
    params, _ = prepare_params(cm)
    from simulator.core._bind import Context

    ctx = Context(params, 0.0)
    coefs = {b.name: b.coef.eval(ctx) for b in cm.transfers}
    jac = _linear_matrix(cm, coefs, 1.0, cm.transfers).toarray()
    inflow = cm.inflows[0]
    dst = inflow.dst

    def rhs(t, x):
        dx = jac @ x
        np.add.at(dx, dst, inflow.value.eval(Context(params, t))[0])
        return dx

    x0 = np.zeros(cm.n_stocks)
    sol = solve_ivp(
        rhs,
        (0, months - 1),
        x0,
        method="DOP853",
        rtol=1e-11,
        atol=1e-9,
        t_eval=np.arange(months),
        max_step=0.5,
    )
    at_risk = sol.y[cm.slices["at_risk"]].T
    np.testing.assert_allclose(ds["at_risk"].to_numpy()[0], at_risk, rtol=1e-6, atol=1e-6)
    treat = sol.y[cm.slices["treatment"]].T.sum(axis=1)
    np.testing.assert_allclose(
        ds["treatment"].sum(["group", "condition", "service"]).to_numpy()[0], treat, rtol=1e-6
    )
