"""Weighted particles: the population a sampler returns, effective sample size, resampling.

Shared by the likelihood samplers (:mod:`simulator.analysis._samplers`) and ABC-SMC
(:mod:`simulator.analysis._abc_smc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

__all__ = [
    "Population",
    "check_values",
    "effective_sample_size",
    "normalise",
    "systematic_resample",
    "weighted_cov",
]


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``.

    Parameters
    ----------
    w
        ``(n,)`` non-negative weights (normalised or not).

    Returns
    -------
    float
        Between 1 (one particle carries all the weight) and ``n`` (equal weights); 0 if all are 0.
    """
    w = np.asarray(w, dtype=float)
    s = w.sum()
    return float(s * s / np.dot(w, w)) if s > 0 else 0.0


def systematic_resample(w: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Indices of ``n`` particles drawn by systematic resampling (one uniform draw, evenly spaced).

    Parameters
    ----------
    w
        ``(m,)`` normalised weights.
    rng
        Random generator (one draw).
    n
        How many to draw (default ``m``).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` indices into the particles; particle ``i`` appears ``n w_i`` times, rounded up or down.
    """
    n = len(w) if n is None else n
    edges = np.cumsum(w)
    edges[-1] = 1.0
    return np.searchsorted(edges, (rng.random() + np.arange(n)) / n)


def weighted_cov(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted covariance ``(d, d)`` of particles ``z (n, d)``, with a tiny ridge (always positive definite).

    Parameters
    ----------
    z, w
        Particles and their weights (normalised or not).

    Returns
    -------
    numpy.ndarray
        ``(d, d)``.
    """
    c = np.atleast_2d(np.cov(z, rowvar=False, aweights=w, bias=True))
    return c + 1e-12 * np.eye(len(c))


def normalise(logw: np.ndarray) -> np.ndarray:
    """Normalised weights from log weights (``-inf`` gives weight 0).

    Parameters
    ----------
    logw
        ``(n,)`` log weights, at least one finite.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` weights summing to 1.
    """
    return np.exp(logw - special.logsumexp(logw))


def check_values(v: np.ndarray, n: int, what: str) -> np.ndarray:
    """``v`` as a float vector of ``n`` values; a clear error for a wrong shape or NaN.

    Parameters
    ----------
    v, n
        What a log-likelihood or distance function returned, and how many particles it was given.
    what
        The function's name, for the message.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` floats.
    """
    v = np.asarray(v, dtype=float).reshape(-1)
    if v.shape != (n,):
        raise ValueError(f"{what} returned shape {v.shape}, expected ({n},)")
    if np.isnan(v).any():
        raise ValueError(f"{what} returned NaN for {int(np.isnan(v).sum())} particles")
    return v


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
        return weighted_cov(self.z, self.weights)
