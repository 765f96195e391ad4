"""Forecast scores for held-out data: interval coverage, PIT values and the CRPS of an ensemble.

All take an ensemble of equally weighted predictive draws per observation (the
posterior predictive of a calibrated model, or the prior predictive of an
uncalibrated one) and score it against what was observed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crps_ensemble", "pit", "predictive_summary", "weighted_quantiles"]


def crps_ensemble(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Continuous ranked probability score of ensemble forecasts (lower is better).

    ``CRPS = E|X - y| - E|X - X'| / 2`` over the ensemble's empirical distribution
    (Gneiting & Raftery 2007, eq. 20), computed from the sorted draws in
    ``O(n log n)``.

    Parameters
    ----------
    draws
        ``(n, k)``: ``n`` equally weighted draws for each of ``k`` observations.
    y
        ``(k,)`` observed values.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` scores, in the unit of ``y``.
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    n = x.shape[0]
    first = np.mean(np.abs(x - np.asarray(y, dtype=float)[None, :]), axis=0)
    i = np.arange(n, dtype=float)[:, None]
    spread = 2.0 * np.sum((2.0 * i - n + 1.0) * x, axis=0) / (n * n)
    return first - 0.5 * spread


def pit(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Probability integral transform: the predictive CDF at the observation (ties split evenly).

    Parameters
    ----------
    draws
        ``(n, k)`` equally weighted predictive draws.
    y
        ``(k,)`` observed values.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` values in ``[0, 1]``; uniform over many observations when forecasts are calibrated.
    """
    x = np.asarray(draws, dtype=float)
    y = np.asarray(y, dtype=float)[None, :]
    return np.mean(x < y, axis=0) + 0.5 * np.mean(x == y, axis=0)


def predictive_summary(draws: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Median, 50% and 90% intervals, coverage, PIT and CRPS of predictive draws against ``y``.

    Parameters
    ----------
    draws
        ``(n, k)`` equally weighted predictive draws.
    y
        ``(k,)`` observed values.

    Returns
    -------
    dict
        ``median``, ``p5``, ``p25``, ``p75``, ``p95``, ``in_50``, ``in_90`` (booleans),
        ``pit`` and ``crps``, each ``(k,)``.
    """
    q = np.quantile(np.asarray(draws, dtype=float), [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    y = np.asarray(y, dtype=float)
    return {
        "median": q[2],
        "p5": q[0],
        "p25": q[1],
        "p75": q[3],
        "p95": q[4],
        "in_50": (y >= q[1]) & (y <= q[3]),
        "in_90": (y >= q[0]) & (y <= q[4]),
        "pit": pit(draws, y),
        "crps": crps_ensemble(draws, y),
    }


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: list[float]) -> np.ndarray:
    """Quantiles ``qs`` of the columns of ``x (n, d)`` under weights ``w (n,)`` (inverted weighted CDF).

    Parameters
    ----------
    x, w
        Values ``(n, d)``, and weights ``(n,)`` (not necessarily normalised).
    qs
        Probabilities, each in 0..1.

    Returns
    -------
    numpy.ndarray
        ``(len(qs), d)``.
    """
    x = np.asarray(x, dtype=float)
    out = np.empty((len(qs), x.shape[1]))
    for j in range(x.shape[1]):
        order = np.argsort(x[:, j], kind="stable")
        cw = np.cumsum(w[order])
        cw /= cw[-1]
        pos = np.clip(np.searchsorted(cw, qs), 0, len(cw) - 1)
        out[:, j] = x[order, j][pos]
    return out
