"""Compiled reductions of streamed ensembles: means, squared deviations and log-bin counts in one pass.

A streamed ensemble keeps, per block of members, each series' mean, its sum of
squared deviations and the counts of a log-histogram quantile sketch
(:class:`simulator.analysis._sketches.LogHistogram`).  :func:`tally_rows`
does all three in one pass over rows of members (members innermost), without
a logarithm: a value's bin comes from its float bits (exponent and leading
mantissa bits index a table of the bin at the start of that range) and one
comparison with the bin's upper edge.  The numpy fallback in
:mod:`simulator.analysis._sketches` computes the same bins the same way, so
counts agree exactly.  Compiled once and kept on disk; releases the GIL, so
series ranges run in parallel on threads.
"""

from __future__ import annotations

import numpy as np

from simulator.core._jit_scalar import jit

__all__ = ["merge_windows", "tally_neg", "tally_rows"]

#: the sign bit cleared: the bits of ``abs(v)``
_MAGNITUDE = np.int64(0x7FFFFFFFFFFFFFFF)


@jit
def _bin(bits: int, v: float, shift: int, key0: int, table, upper) -> int:
    """The bin of magnitude ``v`` (> tiny) whose float bits are ``bits`` (``upper[-1]`` is inf)."""
    key = (bits >> shift) - key0
    if key >= table.shape[0]:
        return upper.shape[0] - 1
    k = table[key]
    return k + np.int64(v > upper[k])  # no branch: half the values cross


@jit
def _moments(x, i: int) -> tuple[float, float]:
    """Mean of row ``i`` and its sum of squared deviations (four partial sums, in a fixed order)."""
    m = x.shape[1]
    m4 = m - m % 4
    a0 = a1 = a2 = a3 = 0.0
    for j in range(0, m4, 4):
        a0 += x[i, j]
        a1 += x[i, j + 1]
        a2 += x[i, j + 2]
        a3 += x[i, j + 3]
    tot = (a0 + a1) + (a2 + a3)
    for j in range(m4, m):
        tot += x[i, j]
    mu = tot / m
    a0 = a1 = a2 = a3 = 0.0
    for j in range(0, m4, 4):
        d0 = x[i, j] - mu
        d1 = x[i, j + 1] - mu
        d2 = x[i, j + 2] - mu
        d3 = x[i, j + 3] - mu
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
    acc = (a0 + a1) + (a2 + a3)
    for j in range(m4, m):
        d = x[i, j] - mu
        acc += d * d
    return mu, acc


@jit
def tally_rows(x, xi, first, shift, key0, table, upper, tiny, pos, zero, lo, hi, mean, m2):
    """Count rows ``x`` ``(r, m)`` into series ``first ..`` of a sketch; each row's mean and m2.

    ``xi`` is ``x`` viewed as int64; ``upper`` the bins' upper edges with the
    last one infinite.  Positive values above ``tiny`` go to ``pos``,
    magnitudes at or below it to ``zero``; ``lo``/``hi`` widen to the bins
    touched.  Returns how many values were below ``-tiny`` (counted by
    :func:`tally_neg`).
    """
    negs = 0
    for i in range(x.shape[0]):
        s = first + i
        mean[i], m2[i] = _moments(x, i)
        row = pos[s]
        vmin, vmax, bmin, bmax, z = np.inf, 0.0, 0, 0, 0
        for j in range(x.shape[1]):
            v = x[i, j]
            if v > tiny:
                row[_bin(xi[i, j], v, shift, key0, table, upper)] += 1
                if v < vmin:
                    vmin, bmin = v, xi[i, j]
                if v > vmax:
                    vmax, bmax = v, xi[i, j]
            elif v < -tiny:
                negs += 1
            else:
                z += 1
        zero[s] += z
        if vmax > 0.0:
            lo[s] = min(lo[s], _bin(bmin, vmin, shift, key0, table, upper))
            hi[s] = max(hi[s], _bin(bmax, vmax, shift, key0, table, upper))
    return negs


@jit
def tally_neg(x, xi, first, shift, key0, table, upper, tiny, neg) -> None:
    """Count the magnitudes of values below ``-tiny`` in rows ``x`` into ``neg``."""
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            if v < -tiny:
                neg[first + i, _bin(xi[i, j] & _MAGNITUDE, -v, shift, key0, table, upper)] += 1


@jit
def merge_windows(pos, lo, hi, other, olo, ohi) -> None:
    """Add ``other``'s counts to ``pos`` only where ``other`` has any (its bins ``olo .. ohi``)."""
    for s in range(pos.shape[0]):
        for k in range(olo[s], ohi[s] + 1):
            pos[s, k] += other[s, k]
        if olo[s] <= ohi[s]:
            lo[s] = min(lo[s], olo[s])
            hi[s] = max(hi[s], ohi[s])


@jit
def window_quantiles(pos, lo, hi, neg, zero, count, qs, mids, out) -> None:
    """Quantiles ``out`` ``(len(qs), series)`` of a sketch, walking only the bins with counts.

    Order: negatives (largest magnitude first; ``neg`` may have no rows), zeros,
    positives ascending; the value of the first bin whose running count exceeds
    rank ``q * (count - 1)``.
    """
    nb = pos.shape[1]
    for s in range(pos.shape[0]):
        for iq in range(qs.shape[0]):
            rank = qs[iq] * (count - 1)
            out[iq, s] = -mids[nb - 1]  # nothing counted: numpy's argmax of no True
            cum = 0
            done = False
            if neg.shape[0] > 0:
                for k in range(nb - 1, -1, -1):
                    cum += neg[s, k]
                    if cum > rank:
                        out[iq, s] = -mids[k]
                        done = True
                        break
            if done:
                continue
            cum += zero[s]
            if cum > rank:
                out[iq, s] = 0.0
                continue
            for k in range(lo[s], hi[s] + 1):
                cum += pos[s, k]
                if cum > rank:
                    out[iq, s] = mids[k]
                    break
