"""ABC-SMC on calibration problems: fitted-period runs equal full runs, any chunking gives one posterior.

The model is the constant-inflow stock of ``tests/test_calibration.py``
(``tests/data/constant_inflow.yaml``): a year's arrivals are ``12 x rate``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import simulator as up
from simulator.analysis._calibrate import calibrate
from simulator.analysis._calibration import CalibrationProblem, Period, Target
from simulator.analysis._distributions import distribution_from_dict
from simulator.analysis._likelihoods import Likelihood
from simulator.analysis._uncertainty import UncertaintyGroup

MODEL = Path(__file__).parent / "data" / "constant_inflow.yaml"
OBS = np.array([1300.0, 1150.0, 1250.0])
M0, S0, SIGMA = 100.0, 0.5, 0.1  # prior median and log-sd of the rate; observation log-sd


@pytest.fixture(scope="module")
def model():
    return up.load_model(MODEL)


def problem(model, held_out=(False, False, True), **kw):
    g = UncertaintyGroup(
        "rate", "rate", distribution_from_dict({"type": "lognormal", "median": M0, "sigma": S0}), apply="set"
    )
    periods = tuple(Period(f"y{i}", 12 * i, 12 * i + 11) for i in range(3))
    t = Target(
        "arrivals", ("arrivals",), periods, OBS, Likelihood("lognormal", SIGMA), held_out=np.array(held_out)
    )
    return CalibrationProblem(model, [g], [t], months=36, dt=1.0, **kw)


def test_fitted_periods_run_only_as_far_as_they_need(model):
    prob = problem(model)
    assert prob._fit_len == 24 and len(prob.times) == 36
    z = np.random.default_rng(0).standard_normal((50, 1))
    full, fit = prob.predict(z)["arrivals"], prob.predict(z, fit_only=True)["arrivals"]
    assert np.allclose(full[:, :2], fit[:, :2], rtol=1e-13, atol=0) and np.isnan(fit[:, 2]).all()
    assert np.allclose(full, 12 * prob.values(z))  # a year's arrivals: 12 x rate
    # the log-likelihood of the fitted years from the short run equals the one from the full run (to rounding)
    ll = Likelihood("lognormal", SIGMA).logpdf(OBS[:2], full[:, :2], None)
    assert np.allclose(prob.loglik(z), ll, rtol=1e-12, atol=1e-9)
    assert np.all(np.isfinite(prob.loglik(z, held_out=True)))
    assert problem(model, held_out=(False, True, False))._fit_len == 36  # the last year is fitted


def test_abc_smc_same_posterior_whatever_the_chunking(model):
    kw = {"particles": 300, "generations": 4, "seed": 9}
    a = calibrate(problem(model, chunk_size=7, workers=1), "abc-smc", **kw)
    b = calibrate(problem(model, chunk_size=64, workers=2), "abc-smc", **kw)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.weights, b.weights)
    assert a.population.generations == b.population.generations


def test_abc_smc_calibration_against_the_closed_form(model):
    # log-normal prior on the rate, log-normal observations of 12 x rate: log(rate) is normal
    cal = calibrate(problem(model), "abc-smc", particles=3000, generations=10, seed=2)
    prec = 1 / S0**2 + 2 / SIGMA**2
    mean = (math.log(M0) / S0**2 + np.sum(np.log(OBS[:2]) - math.log(12)) / SIGMA**2) / prec
    x, w = np.log(cal.values[:, 0]), cal.weights
    m = np.average(x, weights=w)
    s = math.sqrt(np.average((x - m) ** 2, weights=w))
    assert abs(m - mean) < 0.15 * prec**-0.5 and abs(s * math.sqrt(prec) - 1) < 0.15
    gens = cal.diagnostics()
    assert gens["simulations"].diff().max() <= 3 * 3000  # the default budget: 3 simulations a particle


def test_an_imported_model_on_its_own_clock_runs_only_the_fitted_days():
    from simulator.files._calibration_spec import load_calibration

    prob = load_calibration(Path(__file__).parents[1] / "calibration" / "sir.yaml").problem
    t = prob.targets[0]
    assert prob.times[prob._fit_len - 1] == max(
        p.last for p, f in zip(t.periods, t.fit_mask, strict=True) if f
    )
    assert prob._fit_len < len(prob.times)
    z = np.random.default_rng(1).standard_normal((20, prob.dims))
    full, fit = prob.predict(z)[t.name], prob.predict(z, fit_only=True)[t.name]
    assert np.allclose(full[:, t.fit_mask], fit[:, t.fit_mask], rtol=1e-13, atol=0)


@pytest.mark.parametrize("kind", ["poisson", "negbin", "lognormal"])
def test_simulated_observations_of_the_fitted_years_only(model, kind):
    prob = problem(model)
    prob.targets[0] = Target(
        "arrivals", ("arrivals",), prob.targets[0].periods, OBS, Likelihood(kind, 0.1 if kind == "lognormal" else 50.0),
        held_out=np.array([False, False, True]),
    )  # fmt: skip
    z = np.random.default_rng(2).standard_normal((400, 1))
    sims = prob.simulate_observations(z, np.random.default_rng(3), fit_only=True)["arrivals"]
    assert np.isnan(sims[:, 2]).all() and np.all(np.isfinite(sims[:, :2]))
    full = prob.simulate_observations(z, np.random.default_rng(3))["arrivals"]
    assert np.all(np.isfinite(full))
    # the distance is the RMS relative error of the fitted years' simulated observations
    d = prob.distance(z, np.random.default_rng(3))
    assert np.allclose(d, np.sqrt(np.mean(((sims[:, :2] - OBS[:2]) / OBS[:2]) ** 2, axis=1)))
