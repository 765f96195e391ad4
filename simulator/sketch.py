"""Mergeable quantile sketches for streaming ensembles too large to keep every member.

A :class:`LogHistogram` counts values of many series at once in
logarithmically spaced bins (the DDSketch idea): bin ``k`` holds values in
``(gamma**(k-1), gamma**k]`` with ``gamma = (1 + a) / (1 - a)``, so any
quantile it returns is within relative accuracy ``a`` of the true sample
quantile.  Counts are integers, so merging blocks in any order gives the same
sketch: streamed results do not depend on chunking or workers.  Values of
magnitude below ``tiny`` count as zero; negative values are counted
separately by magnitude.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LogHistogram"]


class LogHistogram:
    """Counts for ``n_series`` series in log bins covering ``[tiny, huge]``.

    Parameters
    ----------
    n_series
        Number of independent series (e.g. output x month x service).
    accuracy
        Relative accuracy ``a`` of returned quantiles (default 0.5%).
    tiny, huge
        Range of magnitudes resolved; outside it values are clamped to the end bins.
    """

    def __init__(self, n_series: int, accuracy: float = 0.005, tiny: float = 1e-6, huge: float = 1e12):
        self.n_series = n_series
        self.accuracy = accuracy
        self.gamma = (1 + accuracy) / (1 - accuracy)
        self.log_gamma = np.log(self.gamma)
        self.k_min = int(np.floor(np.log(tiny) / self.log_gamma))
        self.k_max = int(np.ceil(np.log(huge) / self.log_gamma))
        self.n_bins = self.k_max - self.k_min + 1
        self.tiny = tiny
        self.pos = np.zeros((n_series, self.n_bins), dtype=np.int64)
        self.neg = np.zeros((n_series, self.n_bins), dtype=np.int64)
        self.zero = np.zeros(n_series, dtype=np.int64)
        self.count = 0

    def _bins(self, mag: np.ndarray) -> np.ndarray:
        k = np.ceil(np.log(np.maximum(mag, self.tiny)) / self.log_gamma).astype(np.int64)
        return np.clip(k, self.k_min, self.k_max) - self.k_min

    def add(self, values: np.ndarray) -> None:
        """Count ``values`` of shape ``(members, n_series)``."""
        v = np.asarray(values, dtype=float).reshape(-1, self.n_series)
        series = np.broadcast_to(np.arange(self.n_series), v.shape)
        for sign, store in ((1.0, self.pos), (-1.0, self.neg)):
            sel = (sign * v) > self.tiny
            if sel.any():
                flat = series[sel] * self.n_bins + self._bins(sign * v[sel])
                store += np.bincount(flat, minlength=store.size).reshape(store.shape)
        self.zero += np.sum(np.abs(v) <= self.tiny, axis=0)
        self.count += v.shape[0]

    def merge(self, other: LogHistogram) -> None:
        """Add another sketch's counts (same shape and accuracy)."""
        self.pos += other.pos
        self.neg += other.neg
        self.zero += other.zero
        self.count += other.count

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        """Quantiles ``(len(qs), n_series)`` (rank ``q * (count - 1)``, nearest bin's value)."""
        qs = np.asarray(qs, dtype=float)
        mids = 2 * self.gamma ** (np.arange(self.n_bins) + self.k_min) / (self.gamma + 1)
        # order: negatives (largest magnitude first), zeros, positives (ascending)
        counts = np.concatenate([self.neg[:, ::-1], self.zero[:, None], self.pos], axis=1)
        values = np.concatenate([-mids[::-1], [0.0], mids])
        cum = np.cumsum(counts, axis=1)
        out = np.empty((len(qs), self.n_series))
        for i, q in enumerate(qs):
            rank = q * (self.count - 1)
            idx = np.argmax(cum > rank, axis=1)
            out[i] = values[idx]
        return out
