"""Ensemble statistics: per-member horizon figures, means, sds and quantiles, kept or streamed.

Each reduced output (see :class:`~simulator.core._outputs.OutputDef`) is kept month by
month and condensed, member by member, into three *scalars*: its horizon total
(``<name>_total``), its peak (``<name>_peak``) and the month of the peak
(``<name>_peak_month``).  Kept members are reduced exactly (:func:`member_stats`);
streamed blocks carry sums and a quantile sketch, merged in block order
(:func:`reduce_streamed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from simulator.analysis._sketches import LogHistogram
from simulator.core._outputs import OutputDef
from simulator.core._workers import parallel_map

__all__ = [
    "SCALARS",
    "STATS_ROWS",
    "absorb",
    "base_name",
    "chunk_scalars",
    "keep_dims",
    "member_stats",
    "reduce_kept",
    "reduce_streamed",
    "scalar_names",
    "stat_name",
    "unit_of",
]

#: suffixes of the per-member figures taken of every output, in summary order
SCALARS = ("_total", "_peak", "_peak_month")
#: series sorted at a time by :func:`member_stats` (bounded scratch memory, reused)
STATS_ROWS = 64


def stat_name(q: float) -> str:
    """The stat label of quantile ``q``.

    Parameters
    ----------
    q
        A quantile in ``[0, 1]``.

    Returns
    -------
    str
        ``0.05`` -> ``"p5"``, ``0.5`` -> ``"p50"``.
    """
    return f"p{q * 100:g}"


def scalar_names(outputs: Sequence[OutputDef]) -> list[str]:
    """Names of the per-member figures of ``outputs``: ``<name>_total``, ``_peak``, ``_peak_month``.

    Parameters
    ----------
    outputs
        The outputs an ensemble reduces.

    Returns
    -------
    list of str
    """
    return [f"{o.name}{s}" for o in outputs for s in SCALARS]


def base_name(k: str) -> str:
    """The output a summary variable ``k`` belongs to (``caseload_peak_month`` -> ``caseload``).

    Parameters
    ----------
    k
        A summary variable's name.

    Returns
    -------
    str
    """
    for suffix in ("_total", "_peak_month", "_peak"):
        if k.endswith(suffix):
            return k[: -len(suffix)]
    return k


def keep_dims(k: str, outputs: Sequence[OutputDef]) -> tuple[str, ...]:
    """Dimensions kept by the output that summary variable ``k`` belongs to.

    Parameters
    ----------
    k, outputs
        A summary variable's name, and the outputs reduced.

    Returns
    -------
    tuple of str
    """
    return next(o.keep for o in outputs if o.name == base_name(k))


def unit_of(k: str, outputs: Sequence[OutputDef]) -> str:
    """Unit of summary variable ``k``: months for peak months, people (-months) for totals.

    Parameters
    ----------
    k, outputs
        A summary variable's name, and the outputs reduced.

    Returns
    -------
    str
        ``"month"``, ``"people"``, ``"people-months"`` or the output's own unit.
    """
    o = next(o for o in outputs if o.name == base_name(k))
    if k.endswith("_peak_month"):
        return "month"
    if k.endswith("_total"):
        return "people" if "per month" in o.unit else "people-months"
    return o.unit


def chunk_scalars(
    name: str, v: np.ndarray, times: np.ndarray, members_last: bool = False
) -> dict[str, np.ndarray]:
    """Totals, peaks and peak months of one output's members ``v`` (m, T, ...).

    The total is the sum over months in month order (the same additions
    whatever the chunking); the peak month is the first month at the peak.

    Parameters
    ----------
    name
        The output's name.
    v
        Its values, members first, then report times.
    times
        Report times (months).
    members_last
        Return arrays with members on the last axis.

    Returns
    -------
    dict
        ``<name>_total``, ``<name>_peak``, ``<name>_peak_month``: ``(m, ...)``, or
        ``(..., m)`` with ``members_last``.
    """
    total = v.sum(axis=1)
    peak = v.max(axis=1)
    when = times[v.argmax(axis=1)]
    res = {f"{name}_total": total, f"{name}_peak": peak, f"{name}_peak_month": when}
    return {k: np.moveaxis(a, 0, -1) for k, a in res.items()} if members_last else res


def member_stats(a: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Mean, sample sd and ``np.quantile(a, qs, axis=-1)`` (linear) for members on the last axis.

    Series are copied a few at a time into one scratch buffer (memory stays
    bounded, whatever the ensemble), sorted (several times faster than numpy's
    partition along a strided axis) and interpolated with numpy's own ``_lerp``
    formula, so quantiles are identical to ``np.quantile``.

    Parameters
    ----------
    a
        Values, members on the last axis.
    qs
        Quantiles in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        ``(2 + len(qs), *a.shape[:-1])``: mean, sd, then the quantiles, in ``a``'s unit.
    """
    m = a.shape[-1]
    src = np.reshape(a, (-1, m))  # a view where it can be (the rows are copied below anyway)
    n = src.shape[0]
    pos = np.asarray(qs, dtype=float) * (m - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, m - 1)
    t = (pos - lo)[:, None]
    upper = np.broadcast_to(t >= 0.5, (len(qs), min(n, STATS_ROWS)))
    out = np.empty((2 + len(qs), n))
    buf = np.empty((min(n, STATS_ROWS), m))
    for r0 in range(0, n, STATS_ROWS):
        r1 = min(n, r0 + STATS_ROWS)
        rows = buf[: r1 - r0]
        rows[...] = src[r0:r1]
        mean = rows.mean(axis=1)
        rows.sort(axis=1)
        x0, x1 = rows[:, lo].T, rows[:, hi].T
        diff = x1 - x0
        q = np.add(x0, diff * t)
        np.subtract(x1, diff * (1 - t), out=q, where=upper[:, : r1 - r0])
        rows -= mean[:, None]
        out[0, r0:r1] = mean
        out[1, r0:r1] = np.sqrt(np.einsum("ij,ij->i", rows, rows) / max(m - 1, 1))
        out[2:, r0:r1] = q
    return out.reshape(2 + len(qs), *a.shape[:-1])


def reduce_kept(
    full: Mapping[str, np.ndarray], scalars: Mapping[str, np.ndarray], quantiles: Sequence[float]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every kept array (monthly outputs, then their scalars) and its mean, sd and quantiles.

    Parameters
    ----------
    full, scalars
        Kept monthly outputs and their per-member figures, members last.
    quantiles
        Quantiles in ``[0, 1]``.

    Returns
    -------
    tuple of dict
        The kept arrays by name, and their statistics (see :func:`member_stats`).
    """
    allv: dict[str, np.ndarray] = {**full, **scalars}
    names = list(allv)
    # arrays reduce independently: on forked workers (the members are inherited, not copied,
    # and only the small statistics travel back)
    stats = parallel_map(lambda k: member_stats(allv[k], quantiles), names)
    return allv, dict(zip(names, stats))


class Streamed(Protocol):
    """What :func:`reduce_streamed` reads of a streamed block."""

    start: int
    stop: int
    means: dict[str, np.ndarray]
    m2: dict[str, np.ndarray]
    sketch: LogHistogram | None


def absorb(running: LogHistogram | None, blk: Streamed) -> LogHistogram | None:
    """Merge a finished block's sketch into the running one and drop it (memory stays bounded).

    Parameters
    ----------
    running
        The sketch of the blocks merged so far (``None`` before the first).
    blk
        A finished block; its sketch is released.

    Returns
    -------
    LogHistogram or None
        The running sketch.
    """
    if blk.sketch is None:
        return running
    if running is None:
        running, blk.sketch = blk.sketch, None
        return running
    running.merge(blk.sketch)
    blk.sketch = None
    return running


def reduce_streamed(
    blocks: Sequence[Streamed], sketch: LogHistogram, quantiles: Sequence[float], members: int
) -> dict[str, np.ndarray]:
    """Mean, sd and sketched quantiles of streamed blocks (merged in block order).

    Parameters
    ----------
    blocks
        Every streamed block (any order).
    sketch
        The merged quantile sketch of all blocks.
    quantiles
        Quantiles in ``[0, 1]``.
    members
        Ensemble size.

    Returns
    -------
    dict
        Name -> ``(2 + len(quantiles), ...)`` statistics, as :func:`member_stats`.
    """
    blocks = sorted(blocks, key=lambda b: b.start)
    names = list(blocks[0].means)
    flat = sketch.quantiles(np.asarray(quantiles))
    out, pos = {}, 0
    for k in names:
        # Chan et al.'s pairwise update: stable, and deterministic in block order
        n = blocks[0].stop - blocks[0].start
        mean = blocks[0].means[k].copy()
        m2 = blocks[0].m2[k].copy()
        for b in blocks[1:]:
            nb = b.stop - b.start
            delta = b.means[k] - mean
            tot = n + nb
            mean += delta * (nb / tot)
            m2 += b.m2[k] + delta**2 * (n * nb / tot)
            n = tot
        sd = np.sqrt(m2 / max(n - 1, 1))
        size = mean.size
        q = flat[:, pos : pos + size].reshape(len(quantiles), *mean.shape)
        pos += size
        out[k] = np.concatenate([mean[None], sd[None], q], axis=0)
    return out
