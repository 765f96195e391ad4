"""Calibration samplers against exact posteriors (conjugate normal models in probit space)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from simulator.analysis._samplers import (
    abc_smc,
    effective_sample_size,
    point_estimate,
    smc,
    systematic_resample,
)

# y_i ~ N(mu + s z, sigma^2), z ~ N(0, 1): the posterior of z is normal with these moments
MU, S, SIGMA = 2.0, 1.5, 0.8
Y = np.array([3.1, 2.4, 3.6, 2.9, 3.3, 2.2])


def exact_posterior(y=Y):
    prec = 1.0 + len(y) * S**2 / SIGMA**2
    mean = S / SIGMA**2 * np.sum(y - MU) / prec
    return mean, 1.0 / np.sqrt(prec)


def loglik(z):
    pred = MU + S * z[:, 0]
    return -0.5 * np.sum((Y[None, :] - pred[:, None]) ** 2, axis=1) / SIGMA**2


def test_smc_matches_the_conjugate_posterior():
    n = 4000
    pop = smc(loglik, 1, n, np.random.default_rng(1))
    m, sd = exact_posterior()
    z = pop.z[:, 0]
    assert abs(np.average(z, weights=pop.weights) - m) < 4 * sd / np.sqrt(pop.ess / 5)
    assert abs(z.std() / sd - 1) < 0.08
    assert pop.generations[-1]["temperature"] == 1.0
    # log evidence against the closed form: y ~ N(mu 1, sigma^2 I + s^2 11')
    cov = SIGMA**2 * np.eye(len(Y)) + S**2
    r = Y - MU
    exact = -0.5 * (r @ np.linalg.solve(cov, r) + np.linalg.slogdet(2 * np.pi * cov)[1])
    const = -0.5 * len(Y) * np.log(2 * np.pi * SIGMA**2)  # loglik() leaves out its normalising constant
    assert abs(pop.log_evidence + const - exact) < 0.15


def test_smc_two_correlated_parameters():
    # y ~ N(z1 + z2, 0.1^2) identifies only the sum: posterior correlation near -1, exact normal
    y = 1.0

    def ll(z):
        return -0.5 * (y - z[:, 0] - z[:, 1]) ** 2 / 0.01

    pop = smc(ll, 2, 4000, np.random.default_rng(2))
    a = np.array([[1.0, 1.0]])
    cov_post = np.linalg.inv(np.eye(2) + a.T @ a / 0.01)
    mean_post = cov_post @ a.T[:, 0] * y / 0.01
    assert np.allclose(pop.mean(), mean_post, atol=0.06)
    assert np.allclose(pop.cov(), cov_post, atol=0.06)


def exact_abc_posterior(eps, y=Y):
    """Mean and sd of z under the ABC posterior prior(z) P(|ybar_sim - ybar| <= eps | z), by quadrature."""
    se = SIGMA / np.sqrt(len(y))
    g = np.linspace(-8, 8, 160001)
    m = MU + S * g
    p = stats.norm.pdf(g) * (
        stats.norm.cdf((y.mean() + eps - m) / se) - stats.norm.cdf((y.mean() - eps - m) / se)
    )
    p /= p.sum()
    mean = float(g @ p)
    return mean, float(np.sqrt(((g - mean) ** 2) @ p))


def abc_normal_mean(seed, n=4000, generations=8, **kw):
    # the sample mean is sufficient: simulate it (known variance) and compare
    noise = np.random.default_rng([seed, 3])
    se = SIGMA / np.sqrt(len(Y))

    def distance(z):
        return np.abs(MU + S * z[:, 0] + se * noise.standard_normal(len(z)) - Y.mean())

    return abc_smc(distance, 1, n, generations, np.random.default_rng(seed), **kw)


def test_abc_smc_matches_the_exact_abc_posterior_and_approaches_the_posterior():
    pop = abc_normal_mean(4)
    eps = pop.generations[-1]["tolerance"]
    z, w = pop.z[:, 0], pop.weights
    mean = np.average(z, weights=w)
    std = np.sqrt(np.average((z - mean) ** 2, weights=w))
    # the ABC posterior at the final tolerance, exactly (10 seeds: rms errors 0.04 sd and 2% of the sd)
    m_eps, sd_eps = exact_abc_posterior(eps)
    assert abs(mean - m_eps) < 0.12 * sd_eps
    assert abs(std / sd_eps - 1) < 0.07
    # a small tolerance (a fifth of the sample mean's standard error): close to the exact posterior
    m, sd = exact_posterior()
    assert eps < SIGMA / np.sqrt(len(Y)) / 5
    assert abs(mean - m) < 0.12 * sd and abs(std / sd - 1) < 0.08
    tolerances = [g["tolerance"] for g in pop.generations]
    assert all(b <= a for a, b in itertools.pairwise(tolerances)) and tolerances[4] < tolerances[1] / 4


def test_abc_smc_spends_a_fixed_budget_per_generation():
    n, budget = 1000, 2.0
    pop = abc_normal_mean(5, n=n, generations=10, budget=budget, acceptance_floor=0.0)
    sims = np.diff([g["simulations"] for g in pop.generations])
    assert np.all(sims <= budget * n) and pop.generations[0]["simulations"] == n
    # without the acceptance floor the tolerance halves every generation, whatever the acceptance
    acc = [g["acceptance"] for g in pop.generations]
    assert acc[-1] < 0.02 < acc[1]
    tolerances = [g["tolerance"] for g in pop.generations[1:]]
    assert all(b < 0.7 * a for a, b in itertools.pairwise(tolerances))


def test_abc_smc_waits_at_the_acceptance_floor():
    pop = abc_normal_mean(6, n=1000, generations=12, acceptance_floor=0.2)
    # once the proposals cannot meet a lower tolerance often enough, it stops falling
    tolerances = [g["tolerance"] for g in pop.generations[1:]]
    assert tolerances[-1] == tolerances[-2]
    assert min(g["acceptance"] for g in pop.generations) > 0.1


def test_abc_smc_same_seed_same_population():
    a, b = abc_normal_mean(7, n=500), abc_normal_mean(7, n=500)
    assert np.array_equal(a.z, b.z) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.z, abc_normal_mean(8, n=500).z)


def test_point_estimate_finds_the_mode():
    z, lp = point_estimate(loglik, 1, np.random.default_rng(5))
    m, _ = exact_posterior()
    assert abs(z[0] - m) < 1e-5
    assert lp == pytest.approx(float(loglik(z[None, :])[0] - 0.5 * z[0] ** 2))


def test_same_seed_same_population():
    a = smc(loglik, 1, 500, np.random.default_rng(7))
    b = smc(loglik, 1, 500, np.random.default_rng(7))
    assert np.array_equal(a.z, b.z)


def test_resampling_and_ess():
    w = np.array([0.5, 0.25, 0.25, 0.0])
    idx = systematic_resample(w, np.random.default_rng(0), 8)
    assert np.bincount(idx, minlength=4).tolist() == [4, 2, 2, 0]
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(w) == pytest.approx(1 / (0.25 + 2 * 0.0625))


def test_nan_loglik_is_an_error():
    with pytest.raises(ValueError, match="NaN"):
        smc(lambda z: np.full(len(z), np.nan), 1, 10, np.random.default_rng(0))
