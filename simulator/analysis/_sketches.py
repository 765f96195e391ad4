"""Mergeable quantile sketches for streaming ensembles too large to keep every member.

A :class:`LogHistogram` counts values of many series at once in
logarithmically spaced bins (the DDSketch idea): bin ``k`` holds values in
``(gamma**(k-1), gamma**k]`` with ``gamma = (1 + a) / (1 - a)``, so any
quantile it returns is within relative accuracy ``a`` of the true sample
quantile.  Counts are integers, so merging blocks in any order gives the same
sketch: streamed results do not depend on chunking or workers.  Values of
magnitude below ``tiny`` count as zero; negative values are counted
separately by magnitude.

A value's bin is found without a logarithm: its float's exponent and leading
``B`` mantissa bits (``2**-B`` below ``(gamma - 1) / 2``, so such a range
crosses at most one bin edge) index a table of the bin at the start of the
range, and one comparison with that bin's upper edge finishes it.  The
compiled pass (:mod:`simulator.core._jit_sketch`, used where numba is
installed) and the numpy one here compute the same bins.  :meth:`LogHistogram.tally`
counts a block's rows of members and takes each row's mean and sum of
squared deviations in the same pass.
"""

from __future__ import annotations

import os
from itertools import pairwise

import numpy as np

from simulator.core._jit_backend import compiled_available

__all__ = ["LogHistogram"]

#: rows of a block counted per thread at least (smaller blocks run on one thread)
ROWS_PER_THREAD = 256


class LogHistogram:
    """Counts for ``n_series`` series in log bins covering ``[tiny, huge]``.

    Parameters
    ----------
    n_series
        Number of independent series (e.g. output x month x service).
    accuracy
        Relative accuracy ``a`` of returned quantiles (default 0.5%; at least 1e-5).
    tiny, huge
        Range of magnitudes resolved; outside it values are clamped to the end bins.
    """

    def __init__(self, n_series: int, accuracy: float = 0.005, tiny: float = 1e-6, huge: float = 1e12):
        if not 1e-5 <= accuracy < 1:
            raise ValueError(f"sketch accuracy must be in [1e-5, 1), not {accuracy}")
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
        # the bins each series has counts in (positive values): merging adds only those
        self.lo = np.full(n_series, self.n_bins, dtype=np.int64)
        self.hi = np.full(n_series, -1, dtype=np.int64)
        self._edges()

    def _edges(self) -> None:
        """Upper bin edges and the table from a float's leading bits to a bin."""
        self.upper = self.gamma ** (np.arange(self.n_bins, dtype=float) + self.k_min)
        bits = int(np.ceil(np.log2(2.0 / (self.gamma - 1.0))))
        self.shift = 52 - bits
        self.key0 = int(np.array(self.tiny).view(np.int64)) >> self.shift
        key_end = int(np.array(self.upper[-1]).view(np.int64)) >> self.shift
        start = (np.arange(self.key0, key_end + 1, dtype=np.int64) << self.shift).view(float)
        self.table = np.minimum(np.searchsorted(self.upper, start, side="left"), self.n_bins - 1)
        # the last edge infinite: one comparison moves a value up a bin, never past the last
        self.edges = self.upper.copy()
        self.edges[-1] = np.inf

    def _bins(self, mag: np.ndarray) -> np.ndarray:
        """Bins of magnitudes ``mag`` (all above ``tiny``), as the compiled pass finds them."""
        key = (np.ascontiguousarray(mag).view(np.int64) >> self.shift) - self.key0
        past = key >= len(self.table)
        k = self.table[np.clip(key, 0, len(self.table) - 1)]
        k = k + (mag > self.edges[k])
        k[past] = self.n_bins - 1
        return k

    def add(self, values: np.ndarray) -> None:
        """Count ``values`` of shape ``(members, n_series)``.

        Parameters
        ----------
        values
            ``(members, n_series)`` values (reshaped to it).
        """
        v = np.asarray(values, dtype=float).reshape(-1, self.n_series)
        self.tally(v.T, 0)
        self.count += v.shape[0]

    def tally(
        self, rows: np.ndarray, first: int, mean: np.ndarray | None = None, m2: np.ndarray | None = None
    ) -> None:
        """Count ``rows`` ``(r, members)`` into series ``first .. first + r - 1``; their means and m2.

        Rows are split between threads (the compiled pass releases the GIL);
        counts are integers, so the result is the same however they are split.
        The caller adds the number of members to :attr:`count` once all series
        of those members are counted.

        Parameters
        ----------
        rows
            One row per series, members along the row (rows may be strided).
        first
            The series of the first row.
        mean, m2
            If given, ``(r,)`` arrays that receive each row's mean and sum of squared
            deviations from it (in member order).
        """
        rows = np.asarray(rows, dtype=float)
        r, m = rows.shape
        mean = np.empty(r) if mean is None else mean
        m2 = np.empty(r) if m2 is None else m2
        if r == 0 or m == 0:
            return
        if rows.strides[1] != rows.itemsize:
            rows = np.ascontiguousarray(rows)
        parts = max(1, min(os.cpu_count() or 1, r // ROWS_PER_THREAD))
        cuts = np.linspace(0, r, parts + 1).astype(int)
        jobs = [(rows[a:b], first + a, mean[a:b], m2[a:b]) for a, b in pairwise(cuts)]
        if parts == 1:
            negs = [self._tally(*jobs[0])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(parts) as pool:
                negs = list(pool.map(lambda job: self._tally(*job), jobs))
        if sum(negs):
            self._tally_neg(rows, first)

    def _tally(self, x: np.ndarray, first: int, mean: np.ndarray, m2: np.ndarray) -> int:
        """One thread's rows: the compiled pass, or numpy's; the number of negative values."""
        if compiled_available():
            from simulator.core._jit_sketch import tally_rows

            args = (self.shift, self.key0, self.table, self.edges, self.tiny)
            out = (self.pos, self.zero, self.lo, self.hi, mean, m2)
            return int(tally_rows(x, x.view(np.int64), first, *args, *out))
        mean[:] = x.mean(axis=1)
        m2[:] = np.square(x - mean[:, None]).sum(axis=1)
        s = np.arange(first, first + x.shape[0])
        self.zero[s] += np.sum(np.abs(x) <= self.tiny, axis=1)
        where = x > self.tiny
        k = np.full(x.shape, -1, dtype=np.int64)
        k[where] = self._bins(x[where])
        for i in range(x.shape[0]):
            ks = k[i][where[i]]
            if ks.size:
                self.pos[s[i]] += np.bincount(ks, minlength=self.n_bins).astype(np.int32)
                self.lo[s[i]] = min(self.lo[s[i]], ks.min())
                self.hi[s[i]] = max(self.hi[s[i]], ks.max())
        return int(np.sum(x < -self.tiny))

    def _tally_neg(self, rows: np.ndarray, first: int) -> None:
        """Count the negative values of ``rows`` by magnitude."""
        if self.neg is None:
            self.neg = np.zeros_like(self.pos)
        if compiled_available():
            from simulator.core._jit_sketch import tally_neg

            args = (self.shift, self.key0, self.table, self.edges, self.tiny)
            tally_neg(rows, rows.view(np.int64), first, *args, self.neg)
            return
        for i in range(rows.shape[0]):
            below = rows[i][rows[i] < -self.tiny]
            if below.size:
                self.neg[first + i] += np.bincount(self._bins(-below), minlength=self.n_bins).astype(np.int32)

    def merge(self, other: LogHistogram) -> None:
        """Add another sketch's counts (same shape and accuracy).

        Parameters
        ----------
        other
            The sketch whose counts to add.
        """
        if compiled_available():
            from simulator.core._jit_sketch import merge_windows

            merge_windows(self.pos, self.lo, self.hi, other.pos, other.lo, other.hi)
        else:
            self.pos += other.pos
            self.lo = np.minimum(self.lo, other.lo)
            self.hi = np.maximum(self.hi, other.hi)
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
        if compiled_available():
            from simulator.core._jit_sketch import window_quantiles

            got = np.empty((len(qs), self.n_series))
            neg = self.neg if self.neg is not None else np.zeros((0, self.n_bins), dtype=np.int32)
            window_quantiles(self.pos, self.lo, self.hi, neg, self.zero, self.count, qs, mids, got)
            return got
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
