"""Observation models for calibration: log-likelihoods and simulated observations, vectorised.

Each observation model says how an observed count ``y`` arises from the model's
prediction ``mu`` (same unit, e.g. referrals in a financial year):

==============  ==========================================  ============================================
type            parameters                                   variance
==============  ==========================================  ============================================
poisson         (none)                                       ``mu``
negbin          ``dispersion`` k > 0 (may be fitted)         ``mu + mu^2 / k``
lognormal       ``sigma`` > 0 on the log scale (may be       ``log y ~ N(log mu, sigma^2)``
                fitted)
==============  ==========================================  ============================================

Public annual counts of a whole country are far more variable between years than
Poisson noise (hundreds of thousands of referrals have a Poisson sd of a few hundred),
so for them a negative binomial or a log-normal with a fitted spread is the honest
choice; Poisson suits small counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["LIKELIHOODS", "Likelihood"]

LIKELIHOODS = ("poisson", "negbin", "lognormal")
_SPREAD = {"poisson": None, "negbin": "dispersion", "lognormal": "sigma"}


@dataclass(frozen=True)
class Likelihood:
    """An observation model.

    Attributes
    ----------
    type
        ``"poisson"``, ``"negbin"`` or ``"lognormal"``.
    spread
        The dispersion ``k`` (negbin) or ``sigma`` (lognormal) when fixed; ``None`` when fitted
        (then it is passed to :meth:`logpdf` per member) or not used (poisson).
    """

    type: str
    spread: float | None = None

    def __post_init__(self) -> None:
        if self.type not in LIKELIHOODS:
            raise ValueError(f"likelihood type must be one of {', '.join(LIKELIHOODS)}, not {self.type!r}")
        if self.spread is not None and not (np.isfinite(self.spread) and self.spread > 0):
            raise ValueError(
                f"{_SPREAD[self.type] or 'spread'} must be a positive number, not {self.spread!r}"
            )

    @property
    def spread_name(self) -> str | None:
        """Name of the spread parameter (``dispersion``, ``sigma``) or ``None`` for Poisson."""
        return _SPREAD[self.type]

    def _spread(self, spread: np.ndarray | None) -> np.ndarray:
        s = self.spread if spread is None else spread
        if s is None:
            raise ValueError(f"{self.type} likelihood needs its {self.spread_name}")
        return np.asarray(s, dtype=float)

    def logpdf(self, y: np.ndarray, mu: np.ndarray, spread: np.ndarray | None = None) -> np.ndarray:
        """Log-likelihood of observations ``y`` given predictions ``mu``, summed over the last axis.

        Parameters
        ----------
        y
            Observed values ``(k,)`` (counts for poisson and negbin; positive for lognormal).
        mu
            Predictions ``(members, k)`` in the same unit; must be positive.
        spread
            ``(members, 1)`` fitted dispersion or sigma, or ``None`` to use the fixed one.

        Returns
        -------
        numpy.ndarray
            ``(members,)`` log-likelihoods; ``-inf`` where a prediction is not positive.
        """
        y = np.asarray(y, dtype=float)
        mu = np.asarray(mu, dtype=float)
        bad = ~(mu > 0) | ~np.isfinite(mu)
        m = np.where(bad, 1.0, mu)
        if self.type == "poisson":
            lp = y * np.log(m) - m - special.gammaln(y + 1.0)
        elif self.type == "negbin":
            k = self._spread(spread)
            lp = (
                special.gammaln(y + k)
                - special.gammaln(k)
                - special.gammaln(y + 1.0)
                + k * np.log(k / (k + m))
                + y * np.log(m / (k + m))
            )
        else:
            s = self._spread(spread)
            z = (np.log(y) - np.log(m)) / s
            lp = -0.5 * z * z - np.log(s) - 0.5 * np.log(2 * np.pi) - np.log(y)
        lp = np.where(bad, -np.inf, lp)
        return lp.sum(axis=-1)

    def sample(
        self, mu: np.ndarray, rng: np.random.Generator, spread: np.ndarray | None = None
    ) -> np.ndarray:
        """Simulated observations for predictions ``mu`` ``(members, k)`` (same shape).

        Parameters
        ----------
        mu
            Predictions, positive.
        rng
            Random generator.
        spread
            ``(members, 1)`` fitted spread, or ``None`` for the fixed one.

        Returns
        -------
        numpy.ndarray
            One simulated observation per prediction.
        """
        mu = np.maximum(np.asarray(mu, dtype=float), 1e-300)
        if self.type == "poisson":
            return rng.poisson(mu).astype(float)
        if self.type == "negbin":
            k = np.broadcast_to(self._spread(spread), mu.shape)
            return rng.poisson(rng.gamma(k, mu / k)).astype(float)
        s = self._spread(spread)
        return mu * np.exp(s * rng.standard_normal(mu.shape))
