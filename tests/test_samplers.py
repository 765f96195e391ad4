"""Calibration samplers against exact posteriors (conjugate normal models in probit space)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

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


def test_abc_smc_approaches_the_conjugate_posterior():
    # the sample mean is sufficient: simulate it and compare
    ybar = Y.mean()
    noise = np.random.default_rng(3)

    def distance(z):
        sim = MU + S * z[:, 0] + SIGMA / np.sqrt(len(Y)) * noise.standard_normal(len(z))
        return np.abs(sim - ybar)

    pop = abc_smc(distance, 1, 2000, 8, np.random.default_rng(4))
    m, sd = exact_posterior()
    z = pop.z[:, 0]
    w = pop.weights
    mean = np.average(z, weights=w)
    std = np.sqrt(np.average((z - mean) ** 2, weights=w))
    assert pop.generations[-1]["tolerance"] < 0.05 * sd * S
    assert abs(mean - m) < 0.1 * sd + 4 * sd / np.sqrt(pop.ess)
    assert abs(std / sd - 1) < 0.12
    tolerances = [g["tolerance"] for g in pop.generations]
    assert all(b < a for a, b in itertools.pairwise(tolerances))


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
