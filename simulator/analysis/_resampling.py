"""Weights and resampling of weighted particles (effective sample size, systematic resampling)."""

from __future__ import annotations

import numpy as np

__all__ = ["effective_sample_size", "systematic_resample"]


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
