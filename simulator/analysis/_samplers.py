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
* :func:`abc_smc` - approximate Bayesian computation by sequential Monte Carlo
  (Beaumont, Cornuet, Marin & Robert 2009) with adaptive tolerances (a quantile
  of the last generation's distances), a Gaussian perturbation kernel of twice
  the weighted covariance, and importance weights prior / mixture of kernels.
* :func:`point_estimate` - the posterior mode by scipy's vectorised
  differential evolution and an L-BFGS-B polish (a first look, no posterior).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from simulator.analysis._resampling import effective_sample_size, systematic_resample

__all__ = ["Population", "abc_smc", "effective_sample_size", "point_estimate", "smc", "systematic_resample"]

#: ``z (n, d) -> log-likelihood (n,)``, every particle at once
LogLik = Callable[[np.ndarray], np.ndarray]
#: ``z (n, d) -> distance (n,)`` between simulated and observed data
Distance = Callable[[np.ndarray], np.ndarray]
#: called after each generation with its diagnostics row
Progress = Callable[[dict], None]


@dataclass
class Population:
    """Weighted particles in probit space and how the sampler got there.

    Attributes
    ----------
    z
        Particles ``(n, d)``; the prior of each column is the standard normal.
    weights
        Normalised importance weights ``(n,)`` (equal after resampling).
    loglik
        The log-likelihood of each particle (``smc``), or ``None``.
    distance
        The distance of each particle (``abc_smc``), or ``None``.
    log_evidence
        Estimate of the log marginal likelihood (``smc`` only).
    generations
        One diagnostics row per generation: temperature or tolerance,
        acceptance rate, effective sample size, simulations so far.
    """

    z: np.ndarray
    weights: np.ndarray
    loglik: np.ndarray | None = None
    distance: np.ndarray | None = None
    log_evidence: float = float("nan")
    generations: list[dict] = field(default_factory=list)

    @property
    def ess(self) -> float:
        """Effective sample size of the weights (Kish)."""
        return effective_sample_size(self.weights)

    def mean(self) -> np.ndarray:
        """Weighted mean of ``z`` ``(d,)``.

        Returns
        -------
        numpy.ndarray
            ``(d,)``, probit space.
        """
        return self.weights @ self.z

    def cov(self) -> np.ndarray:
        """Weighted covariance of ``z`` ``(d, d)``.

        Returns
        -------
        numpy.ndarray
            ``(d, d)``, probit space.
        """
        return _weighted_cov(self.z, self.weights)


def _weighted_cov(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    c = np.atleast_2d(np.cov(z, rowvar=False, aweights=w, bias=True))
    return c + 1e-12 * np.eye(len(c))


def _normalise(logw: np.ndarray) -> np.ndarray:
    return np.exp(logw - special.logsumexp(logw))


def _check_values(v: np.ndarray, n: int, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=float).reshape(-1)
    if v.shape != (n,):
        raise ValueError(f"{what} returned shape {v.shape}, expected ({n},)")
    if np.isnan(v).any():
        raise ValueError(f"{what} returned NaN for {int(np.isnan(v).sum())} particles")
    return v


# ---------------------------------------------------------------------------------------- tempering SMC
def _next_temperature(ll: np.ndarray, beta: float, target: float) -> float:
    """The largest temperature in ``(beta, 1]`` whose reweighting keeps the ESS at ``target``."""
    ll = np.where(np.isfinite(ll), ll, -np.inf)

    def ess(b: float) -> float:
        return effective_sample_size(_normalise((b - beta) * ll))

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
    chol = np.linalg.cholesky(_weighted_cov(z, np.full(n, 1.0 / n)))
    scale = 2.38 / np.sqrt(d)
    moved = np.zeros(n, dtype=bool)
    accepted = steps = 0
    while steps < max_steps:
        prop = z + scale * rng.standard_normal((n, d)) @ chol.T
        llp = _check_values(loglik(prop), n, "loglik")
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
    ll = _check_values(loglik(z), n, "loglik")
    beta, log_z, sims = 0.0, 0.0, n
    gens: list[dict] = []
    for _ in range(max_generations):
        nb = _next_temperature(ll, beta, ess_share * n)
        inc = np.where(np.isfinite(ll), (nb - beta) * ll, -np.inf)
        log_z += float(special.logsumexp(inc) - np.log(n))
        w = _normalise(inc)
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


# ---------------------------------------------------------------------------------------- ABC-SMC
def _kernel_weights(z: np.ndarray, prev: np.ndarray, w_prev: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Importance weights prior(z) / sum_j w_j K(z | prev_j), normalised (Gaussian K, covariance ``cov``)."""
    inv = np.linalg.inv(np.linalg.cholesky(cov))
    a, b = z @ inv.T, prev @ inv.T
    bb = np.sum(b * b, 1)
    log_mix = np.empty(len(z))
    log_wp = np.log(np.maximum(w_prev, 1e-300))
    for s in range(0, len(z), 1024):  # bounded memory: 1024 x n distances at a time
        aa = a[s : s + 1024]
        d2 = np.sum(aa * aa, 1)[:, None] + bb[None, :] - 2.0 * aa @ b.T
        log_mix[s : s + 1024] = special.logsumexp(log_wp[None, :] - 0.5 * d2, axis=1)
    return _normalise(-0.5 * np.sum(z * z, 1) - log_mix)


def _propose(
    distance: Distance,
    prev: np.ndarray,
    w: np.ndarray,
    chol: np.ndarray,
    eps: float,
    n: int,
    rng,
    budget: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Batches of perturbed ancestors, every batch one evaluation, until ``n`` fall within ``eps``."""
    d = prev.shape[1]
    kept_z, kept_d = [], []
    got = sims = 0
    rate = 0.5
    while got < n:
        if sims >= budget:
            raise RuntimeError(
                f"ABC-SMC stopped: {sims:,} simulations at tolerance {eps:.4g} gave {got} of {n}"
            )
        size = int(min(budget - sims, max(n // 4, 1.2 * (n - got) / max(rate, 1e-3))))
        anc = systematic_resample(w, rng, size)
        cand = prev[anc] + rng.standard_normal((size, d)) @ chol.T
        dist = _check_values(distance(cand), size, "distance")
        ok = dist <= eps
        sims += size
        rate = max(ok.mean(), 1.0 / size)
        kept_z.append(cand[ok])
        kept_d.append(dist[ok])
        got += int(ok.sum())
    return np.concatenate(kept_z)[:n], np.concatenate(kept_d)[:n], sims


def abc_smc(
    distance: Distance,
    d: int,
    n: int,
    generations: int,
    rng: np.random.Generator,
    *,
    quantile: float = 0.5,
    min_acceptance: float = 0.0,
    max_simulations: int = 10**8,
    progress: Progress | None = None,
) -> Population:
    """Approximate posterior by ABC-SMC with adaptive tolerances.

    Parameters
    ----------
    distance
        ``z (n, d) -> (n,)`` distance between each particle's simulated data and the observed data.
    d, n
        Number of parameters and of particles per generation.
    generations
        Number of generations after the prior one (each lowers the tolerance).
    rng
        Random generator.
    quantile
        The next tolerance is this weighted quantile of the current generation's distances.
    min_acceptance
        Stop early when a generation's acceptance rate falls below this.
    max_simulations
        Cap on simulations in one generation (a clear error beyond it).
    progress
        Called with each generation's diagnostics.

    Returns
    -------
    Population
        Weighted particles of the last generation, their distances, and per generation the
        ``tolerance``, ``acceptance``, ``ess`` and ``simulations``.
    """
    z = rng.standard_normal((n, d))
    dist = _check_values(distance(z), n, "distance")
    w = np.full(n, 1.0 / n)
    sims = n
    gens = [{"tolerance": float("inf"), "acceptance": 1.0, "ess": float(n), "simulations": sims}]
    if progress:
        progress(gens[0])
    for _ in range(generations):
        order = np.argsort(dist)
        cw = np.cumsum(w[order])
        eps = float(dist[order][min(int(np.searchsorted(cw, quantile)), n - 1)])
        cov = 2.0 * _weighted_cov(z, w)
        chol = np.linalg.cholesky(cov)
        z_new, d_new, used = _propose(distance, z, w, chol, eps, n, rng, max_simulations)
        w = _kernel_weights(z_new, z, w, cov)
        z, dist = z_new, d_new
        sims += used
        row = {"tolerance": eps, "acceptance": n / used, "ess": effective_sample_size(w), "simulations": sims}
        gens.append(row)
        if progress:
            progress(row)
        if n / used < min_acceptance:
            break
    return Population(z, w, distance=dist, generations=gens)


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
        ll = _check_values(loglik(zz), len(zz), "loglik")
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
