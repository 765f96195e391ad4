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

import os
from itertools import pairwise

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
        # int32 counts (up to 2**31 members) halve the memory of a sketch of many series;
        # negative values are rare in people counts: their bins appear when first needed
        self.pos = np.zeros((n_series, self.n_bins), dtype=np.int32)
        self.neg: np.ndarray | None = None
        self.zero = np.zeros(n_series, dtype=np.int64)
        self.count = 0

    def _bins(self, mag: np.ndarray) -> np.ndarray:
        k = np.ceil(np.log(np.maximum(mag, self.tiny)) / self.log_gamma).astype(np.int64)
        return np.clip(k, self.k_min, self.k_max) - self.k_min

    def add(self, values: np.ndarray) -> None:
        """Count ``values`` of shape ``(members, n_series)``.

        Large blocks are counted in parts on threads (numpy releases the GIL);
        counts are integers, so the result is the same however they are split.

        Parameters
        ----------
        values
            ``(members, n_series)`` values (reshaped to it).
        """
        v = np.asarray(values, dtype=float).reshape(-1, self.n_series)
        parts = max(1, min(os.cpu_count() or 1, v.shape[0] // 512))
        if parts == 1:
            pos, neg, zero = self._count(v)
        else:
            from concurrent.futures import ThreadPoolExecutor

            cuts = np.linspace(0, v.shape[0], parts + 1).astype(int)
            with ThreadPoolExecutor(parts) as pool:
                got = list(pool.map(self._count, [v[a:b] for a, b in pairwise(cuts)]))
            pos, neg, zero = got[0]
            for p_, n_, z_ in got[1:]:
                pos += p_
                zero += z_
                if n_ is not None:
                    neg = n_ if neg is None else neg + n_
        self.pos += pos
        if neg is not None:
            if self.neg is None:
                self.neg = np.zeros_like(self.pos)
            self.neg += neg
        self.zero += zero
        self.count += v.shape[0]

    def _signed(self, v: np.ndarray) -> np.ndarray:
        """Counts ``(n_series, n_bins)`` of the values above ``tiny`` in one pass of bincount.

        Values at or below ``tiny`` go to a spare bin per series that is dropped.
        """
        spare = self.n_bins
        k = np.maximum(v, self.tiny)
        np.log(k, out=k)
        k *= 1.0 / self.log_gamma
        np.ceil(k, out=k)
        np.clip(k, self.k_min, self.k_max, out=k)
        k -= self.k_min
        idx = k.astype(np.int64)
        idx[v <= self.tiny] = spare
        idx += np.arange(self.n_series, dtype=np.int64) * (self.n_bins + 1)
        counts = np.bincount(idx.ravel(), minlength=self.n_series * (self.n_bins + 1))
        return counts.reshape(self.n_series, self.n_bins + 1)[:, :spare].astype(np.int32)

    def _count(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        zero = np.sum(np.abs(v) <= self.tiny, axis=0)
        pos = self._signed(v)
        neg = self._signed(-v) if bool((v < -self.tiny).any()) else None
        return pos, neg, zero

    def merge(self, other: LogHistogram) -> None:
        """Add another sketch's counts (same shape and accuracy).

        Parameters
        ----------
        other
            The sketch whose counts to add.
        """
        self.pos += other.pos
        if other.neg is not None:
            if self.neg is None:
                self.neg = np.zeros_like(self.pos)
            self.neg += other.neg
        self.zero += other.zero
        self.count += other.count

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        """Quantiles ``(len(qs), n_series)`` (rank ``q * (count - 1)``, nearest bin's value).

        Parameters
        ----------
        qs
            Probabilities in 0..1.

        Returns
        -------
        numpy.ndarray
            ``(len(qs), n_series)``.
        """
        qs = np.asarray(qs, dtype=float)
        mids = 2 * self.gamma ** (np.arange(self.n_bins) + self.k_min) / (self.gamma + 1)
        # order: negatives (largest magnitude first), zeros, positives (ascending)
        neg = self.neg if self.neg is not None else np.zeros_like(self.pos)
        counts = np.concatenate([neg[:, ::-1], self.zero[:, None], self.pos], axis=1)
        values = np.concatenate([-mids[::-1], [0.0], mids])
        cum = np.cumsum(counts, axis=1)
        out = np.empty((len(qs), self.n_series))
        for i, q in enumerate(qs):
            rank = q * (self.count - 1)
            idx = np.argmax(cum > rank, axis=1)
            out[i] = values[idx]
        return out
