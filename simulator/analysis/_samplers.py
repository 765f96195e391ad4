"""Population samplers for calibration: each generation is one vectorised evaluation.

The samplers work in *probit space*: a parameter vector is ``z`` in ``R^d`` whose
prior is the standard normal, and the model's parameters are
``ppf(Phi(z))`` column by column (any prior a scenario's ``uncertainty:`` groups
can state, see :mod:`simulator.analysis._calibration`).  A sampler never loops in
Python over particles: it calls ``loglik(z)`` or ``distance(z)`` with every
particle of a generation at once, ``z`` of shape ``(n, d)``, and the caller runs
them as one ensemble.

* :func:`smc` - likelihood-based sequential Monte Carlo with adaptive tempering
  (Del Moral, Doucet & Jasra 2006; the next temperature keeps the effective
  sample size at a fixed share), systematic resampling and random-walk
  Metropolis moves whose covariance is the particles' own; returns the
  posterior and the log evidence.
* :func:`abc_smc` - approximate Bayesian computation by adaptive SMC with
  Metropolis moves and a fixed simulation budget per generation (Del Moral,
  Doucet & Jasra 2012; in :mod:`simulator.analysis._abc_smc`).
* :func:`point_estimate` - the posterior mode by scipy's vectorised
  differential evolution and an L-BFGS-B polish (a first look, no posterior).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from simulator.analysis._abc_smc import abc_smc
from simulator.analysis._resampling import (
    Population,
    check_values,
    effective_sample_size,
    normalise,
    systematic_resample,
    weighted_cov,
)

__all__ = ["Population", "abc_smc", "effective_sample_size", "point_estimate", "smc", "systematic_resample"]

#: ``z (n, d) -> log-likelihood (n,)``, every particle at once
LogLik = Callable[[np.ndarray], np.ndarray]
#: called after each generation with its diagnostics row
Progress = Callable[[dict], None]


# ---------------------------------------------------------------------------------------- tempering SMC
def _next_temperature(ll: np.ndarray, beta: float, target: float) -> float:
    """The largest temperature in ``(beta, 1]`` whose reweighting keeps the ESS at ``target``."""
    ll = np.where(np.isfinite(ll), ll, -np.inf)

    def ess(b: float) -> float:
        return effective_sample_size(normalise((b - beta) * ll))

    if ess(1.0) >= target:
        return 1.0
    lo, hi = beta, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ess(mid) >= target else (lo, mid)
    return max(lo, beta + 1e-12)


def _mh_moves(
    z: np.ndarray, ll: np.ndarray, beta: float, loglik: LogLik, rng: np.random.Generator, max_steps: int
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Random-walk Metropolis moves of every particle at once, targeting N(0, I) x L^beta."""
    n, d = z.shape
    chol = np.linalg.cholesky(weighted_cov(z, np.full(n, 1.0 / n)))
    scale = 2.38 / np.sqrt(d)
    moved = np.zeros(n, dtype=bool)
    accepted = steps = 0
    while steps < max_steps:
        prop = z + scale * rng.standard_normal((n, d)) @ chol.T
        llp = check_values(loglik(prop), n, "loglik")
        log_ratio = beta * (llp - ll) - 0.5 * (np.sum(prop**2, 1) - np.sum(z**2, 1))
        ok = np.log(rng.random(n)) < np.where(np.isfinite(log_ratio), log_ratio, -np.inf)
        z = np.where(ok[:, None], prop, z)
        ll = np.where(ok, llp, ll)
        moved |= ok
        accepted += int(ok.sum())
        steps += 1
        rate = ok.mean()
        scale *= 1.2 if rate > 0.3 else (0.8 if rate < 0.15 else 1.0)
        if steps >= 2 and moved.mean() >= 0.95:
            break
    return z, ll, accepted / (steps * n), steps


def smc(
    loglik: LogLik,
    d: int,
    n: int,
    rng: np.random.Generator,
    *,
    ess_share: float = 0.5,
    max_moves: int = 20,
    max_generations: int = 200,
    progress: Progress | None = None,
) -> Population:
    """Posterior by SMC with adaptive tempering, from the prior N(0, I) to the posterior.

    Parameters
    ----------
    loglik
        ``z (n, d) -> (n,)`` log-likelihood of every particle, evaluated at once.
    d, n
        Number of parameters and of particles.
    rng
        Random generator (the whole run is reproducible from it).
    ess_share
        Each temperature step keeps the effective sample size at this share of ``n``.
    max_moves
        Cap on Metropolis sweeps per temperature (sweeps stop once 95% of particles moved).
    max_generations
        Cap on temperature steps.
    progress
        Called with each generation's diagnostics.

    Returns
    -------
    Population
        Equally weighted posterior particles, their log-likelihoods, the log evidence and the
        temperature schedule (``temperature``, ``ess``, ``acceptance``, ``sweeps``, ``simulations``).
    """
    z = rng.standard_normal((n, d))
    ll = check_values(loglik(z), n, "loglik")
    beta, log_z, sims = 0.0, 0.0, n
    gens: list[dict] = []
    for _ in range(max_generations):
        nb = _next_temperature(ll, beta, ess_share * n)
        inc = np.where(np.isfinite(ll), (nb - beta) * ll, -np.inf)
        log_z += float(special.logsumexp(inc) - np.log(n))
        w = normalise(inc)
        ess = effective_sample_size(w)
        idx = systematic_resample(w, rng)
        z, ll, beta = z[idx], ll[idx], nb
        z, ll, acc, steps = _mh_moves(z, ll, beta, loglik, rng, max_moves)
        sims += steps * n
        row = {"temperature": beta, "ess": ess, "acceptance": acc, "sweeps": steps, "simulations": sims}
        gens.append(row)
        if progress:
            progress(row)
        if beta >= 1.0:
            break
    else:
        raise RuntimeError(f"tempering did not reach temperature 1 in {max_generations} generations")
    return Population(z, np.full(n, 1.0 / n), loglik=ll, log_evidence=log_z, generations=gens)


# ---------------------------------------------------------------------------------------- point estimate
def point_estimate(
    loglik: LogLik,
    d: int,
    rng: np.random.Generator,
    *,
    popsize: int = 32,
    maxiter: int = 200,
    bound: float = 5.0,
) -> tuple[np.ndarray, float]:
    """The posterior mode in probit space: vectorised differential evolution, then an L-BFGS-B polish.

    Parameters
    ----------
    loglik
        ``z (n, d) -> (n,)`` log-likelihood; differential evolution evaluates a whole population at once.
    d
        Number of parameters.
    rng
        Random generator (seeds scipy's optimiser).
    popsize, maxiter
        Differential evolution's population multiplier and generations.
    bound
        Search box ``[-bound, bound]^d`` in prior standard deviations.

    Returns
    -------
    tuple
        The mode ``z (d,)`` and its log posterior (log-likelihood plus the standard normal log prior,
        up to a constant).
    """

    def neg_post(x: np.ndarray) -> np.ndarray:  # x (d, S) as scipy's vectorised mode passes it
        zz = np.atleast_2d(x.T)
        ll = check_values(loglik(zz), len(zz), "loglik")
        v = -(ll - 0.5 * np.sum(zz * zz, 1))
        return np.where(np.isfinite(v), v, 1e300)

    res = optimize.differential_evolution(
        neg_post,
        [(-bound, bound)] * d,
        popsize=popsize,
        maxiter=maxiter,
        vectorized=True,
        updating="deferred",
        polish=False,
        seed=np.random.default_rng(rng.integers(2**63)),
        tol=1e-10,
    )
    pol = optimize.minimize(
        lambda x: float(neg_post(x[:, None])[0]), res.x, method="L-BFGS-B", bounds=[(-bound, bound)] * d
    )
    best = pol.x if pol.fun <= res.fun else res.x
    return best, -float(min(pol.fun, res.fun))
