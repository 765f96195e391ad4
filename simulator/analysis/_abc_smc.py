"""ABC-SMC with a fixed simulation budget per generation (adaptive SMC-ABC with Metropolis moves).

The sampler follows the adaptive SMC sampler for ABC of Del Moral, Doucet & Jasra
(2012, *Statistics and Computing* 22:1009-1020), with one pseudo-data set per
particle.  Each generation

1. lowers the tolerance to a weighted quantile of the particles' current
   distances (``quantile=0.5``: half the weight survives);
2. reweights: a particle keeps its weight if its distance is within the new
   tolerance, else gets weight 0 (the ABC indicator);
3. resamples (systematic) when the effective sample size falls to half the
   particles;
4. moves every living particle by random-walk Metropolis-Hastings targeting
   the ABC posterior at the new tolerance: the proposal is Gaussian with
   ``(2.38^2 / d)`` times the particles' weighted covariance; a proposal is first
   tested against the prior ratio alone (early rejection, Picchini 2014: a
   proposal it rejects leaves the particle where it is and costs no simulation,
   so in a sweep each particle's chain runs on to its first proposal that passes,
   up to :data:`PRIOR_TRIES`), then simulated, and accepted only if its distance
   is within the tolerance.  All simulated proposals of a sweep are *one* call of
   ``distance`` (one ensemble).  Sweeps repeat until ``moved_share`` of the
   particles have moved or the generation's simulation budget is spent.

The next tolerance is the ``quantile`` rule's, but never below the tolerance
that ``acceptance_floor`` of the last generation's simulated proposals met: as
the tolerance nears the noise floor of the simulated data, fewer and fewer
proposals can meet it and the moves stop mixing, so the schedule waits there
and the remaining generations only move the particles.

So a generation costs at most ``budget x n`` simulations, whatever the
acceptance rate: where an accept-reject ABC-SMC (Beaumont et al. 2009) needs
``n / acceptance`` simulations and collapses as the tolerance nears the noise
floor of the simulated data, this one keeps its cost and reports how well its
particles moved (``acceptance``, ``moved``) instead.  Every Metropolis sweep
leaves the ABC posterior at the current tolerance invariant, so the weighted
particles target it exactly whatever the number of sweeps; fewer moves only
leave more duplicated particles (a smaller effective number of distinct draws).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.analysis._resampling import (
    Population,
    check_values,
    effective_sample_size,
    systematic_resample,
    weighted_cov,
)

__all__ = ["abc_smc"]

#: ``z (n, d) -> distance (n,)`` between simulated and observed data
Distance = Callable[[np.ndarray], np.ndarray]
#: resample when the effective sample size falls to this share of the particles (Del Moral et al. 2012)
RESAMPLE_SHARE = 0.5
#: proposals per particle and sweep tested against the prior ratio before one is simulated
PRIOR_TRIES = 20


def _next_tolerance(dist: np.ndarray, w: np.ndarray, quantile: float) -> float:
    """The weighted ``quantile`` of the distances of particles with positive weight."""
    order = np.argsort(dist, kind="stable")
    cw = np.cumsum(w[order])
    return float(dist[order][min(int(np.searchsorted(cw, quantile * cw[-1])), len(dist) - 1)])


def _prior_screened(z: np.ndarray, chol: np.ndarray, rng: np.random.Generator, tries: int):
    """Each particle's next proposal that passes the prior-ratio test, and which particles got one.

    Per particle, the random-walk chain proposes ``z + chol @ e`` and first tests it against the prior
    ratio alone (early rejection: a proposal it rejects leaves the particle where it is and needs no
    simulation); up to ``tries`` proposals are drawn, and the first to pass is the one to simulate.
    Each round draws for the particles still without one (vectorised across particles).
    """
    m, d = z.shape
    prop = z.copy()
    found = np.zeros(m, dtype=bool)
    todo = np.arange(m)
    sq = np.sum(z * z, 1)
    for _ in range(tries):
        if not len(todo):
            break
        cand = z[todo] + rng.standard_normal((len(todo), d)) @ chol.T
        ok = np.log(rng.random(len(todo))) < -0.5 * (np.sum(cand * cand, 1) - sq[todo])
        prop[todo[ok]] = cand[ok]
        found[todo[ok]] = True
        todo = todo[~ok]
    return prop, found


def _moves(
    distance: Distance,
    z: np.ndarray,
    dist: np.ndarray,
    eps: float,
    chol: np.ndarray,
    rng: np.random.Generator,
    limits: tuple[int, float, int],
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Metropolis sweeps of every particle at once, targeting prior x 1(distance <= eps).

    A sweep advances each particle's chain to its next proposal the prior ratio accepts
    (:func:`_prior_screened`) and simulates all those proposals in one call of ``distance``; a
    proposal is accepted if its distance is within ``eps``.  ``limits`` is
    ``(max_sweeps, moved_share, simulations)``: sweeps stop once that share of the particles has
    moved, or before a sweep would take the simulations past the cap.  Returns the moved particles,
    their distances and the statistics: sweeps, accepted, simulations, moved share and the distances
    of the simulated proposals.
    """
    max_sweeps, moved_share, cap = limits
    m = len(z)
    z, dist = z.copy(), dist.copy()
    moved = np.zeros(m, dtype=bool)
    simulated: list[np.ndarray] = []
    sweeps = sims = accepted = 0
    while sweeps < max_sweeps and moved.mean() < moved_share:
        prop, found = _prior_screened(z, chol, rng, PRIOR_TRIES)
        pre = np.flatnonzero(found)
        if sims + len(pre) > cap:
            break
        dp = check_values(distance(prop[pre]), len(pre), "distance") if len(pre) else np.zeros(0)
        ok = pre[dp <= eps]
        z[ok], dist[ok] = prop[ok], dp[dp <= eps]
        moved[ok] = True
        simulated.append(dp)
        accepted += len(ok)
        sims += len(pre)
        sweeps += 1
    stats = {"sweeps": sweeps, "accepted": accepted, "sims": sims, "moved": float(moved.mean())}
    return z, dist, stats | {"simulated": np.concatenate([np.zeros(0), *simulated])}


def abc_smc(
    distance: Distance,
    d: int,
    n: int,
    generations: int,
    rng: np.random.Generator,
    *,
    quantile: float = 0.5,
    acceptance_floor: float = 0.05,
    budget: float = 3.0,
    moved_share: float = 0.9,
    max_sweeps: int = 10,
    min_acceptance: float = 0.0,
    progress: Callable[[dict], None] | None = None,
) -> Population:
    """Approximate posterior by adaptive ABC-SMC with Metropolis moves (a fixed budget per generation).

    Parameters
    ----------
    distance
        ``z (n, d) -> (n,)`` distance between each particle's simulated data and the observed data;
        called with every simulated proposal of a sweep at once.
    d, n
        Number of parameters and of particles.
    generations
        Number of generations after the prior one.
    rng
        Random generator (the whole run is reproducible from it and ``distance``'s own noise).
    quantile
        The next tolerance is at most this weighted quantile of the current distances (the share of
        the weight that survives it), in (0, 1).
    acceptance_floor
        ... and at least the tolerance that this share of the last generation's simulated proposals
        met, so the moves can still mix; where that is not below the current tolerance, the
        generation keeps it and only moves the particles.  0 lowers the tolerance by ``quantile``
        every generation.
    budget
        Simulations per particle per generation: a generation's moves make at most
        ``budget x n`` simulations.
    moved_share
        Sweeps stop once this share of the particles has moved in the generation.
    max_sweeps
        Cap on sweeps per generation; a sweep simulates at most one proposal per particle (those the
        prior ratio rejects first cost no simulation).
    min_acceptance
        Stop early when a generation's Metropolis acceptance rate falls below this.
    progress
        Called with each generation's diagnostics.

    Returns
    -------
    Population
        Weighted particles of the last generation and their distances; per generation the
        ``tolerance``, ``acceptance`` (the share of simulated proposals within it), ``ess`` after the new
        tolerance's reweighting, ``sweeps``, ``moved`` (share of particles that moved) and
        ``simulations`` so far.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be between 0 and 1 (exclusive), not {quantile}")
    if budget < 1:
        raise ValueError(f"budget must be at least 1 simulation per particle, not {budget}")
    z = rng.standard_normal((n, d))
    dist = check_values(distance(z), n, "distance")
    w = np.full(n, 1.0 / n)
    gens = [
        {"tolerance": np.inf, "acceptance": 1.0, "ess": float(n), "sweeps": 0, "moved": 1.0, "simulations": n}
    ]
    if progress:
        progress(gens[0])
    eps, simulated = np.inf, np.zeros(0)
    for _ in range(generations):
        floor = (
            float(np.quantile(simulated, acceptance_floor)) if len(simulated) and acceptance_floor else 0.0
        )
        eps = min(eps, max(_next_tolerance(dist, w, quantile), floor))
        w = np.where(dist <= eps, w, 0.0)
        w /= w.sum()
        ess = round(effective_sample_size(w), 6)  # 1000, not 999.9999999
        if ess <= RESAMPLE_SHARE * n:
            idx = systematic_resample(w, rng)
            z, dist, w = z[idx], dist[idx], np.full(n, 1.0 / n)
        live = w > 0
        chol = 2.38 / np.sqrt(d) * np.linalg.cholesky(weighted_cov(z[live], w[live]))
        limits = (max_sweeps, moved_share, int(budget * n))
        z[live], dist[live], st = _moves(distance, z[live], dist[live], eps, chol, rng, limits)
        simulated = st["simulated"]
        acc = st["accepted"] / max(st["sims"], 1)
        row = {"tolerance": eps, "acceptance": acc, "ess": ess, "sweeps": st["sweeps"], "moved": st["moved"]}
        gens.append(row | {"simulations": gens[-1]["simulations"] + st["sims"]})
        if progress:
            progress(gens[-1])
        if acc < min_acceptance:
            break
    return Population(z, w, distance=dist, generations=gens)
