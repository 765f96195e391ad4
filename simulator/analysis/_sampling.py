"""Uniform draws for ensemble members, reproducible from a seed whatever the chunking.

A sampler gives, for any range of members ``[start, stop)``, a matrix of
uniform draws ``(stop - start, dims)``.  The same member always gets the same
draws, however the ensemble is split into chunks, blocks or workers:

* ``monte-carlo``: each column (a named uncertain quantity) and each block of
  :data:`BLOCK` members has its own stream, ``SeedSequence(seed,
  spawn_key=(column key, block))``;
* ``lhs``: Latin hypercube; each column is stratified over designs of up to
  :data:`LHS_BLOCK` members (a true Latin hypercube for ensembles up to that
  size), with the strata permuted by its own stream;
* ``sobol``: a scrambled Sobol sequence (``scipy.stats.qmc``) over all columns
  jointly, read from position ``start`` (balance needs a power-of-two number
  of members);
* ``posterior:FILE``: members are a calibration's posterior draws, resampled by
  weight (systematic resampling from the seed), so the columns the calibration
  fitted are drawn *jointly* (their correlations kept); any other column (an
  intervention's effect, an unfitted uncertainty) is drawn as ``lhs``.

Columns are keyed by name, so two scenarios that share an uncertain quantity
give it the same draws (common random numbers), even if their other
uncertainties differ (except for Sobol, whose columns are joint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

__all__ = ["BLOCK", "LHS_BLOCK", "SAMPLERS", "Sampler"]

SAMPLERS = ("monte-carlo", "lhs", "sobol")
BLOCK = 4096
LHS_BLOCK = 65536


def _key(name: str) -> int:
    """A stable 63-bit integer for a column name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little") >> 1


@dataclass(frozen=True)
class Sampler:
    """Uniform draws for named columns.

    Parameters
    ----------
    method
        ``monte-carlo``, ``lhs`` or ``sobol``.
    seed
        Any non-negative integer.
    columns
        Names of the draw columns (one per independently drawn quantity).
    members
        Total ensemble size (LHS strata and Sobol balance depend on it).
    """

    method: str
    seed: int
    columns: tuple[str, ...]
    members: int

    def __post_init__(self) -> None:
        if self.method not in SAMPLERS and not self.method.startswith("posterior:"):
            raise ValueError(f"sampler {self.method!r} is not one of {', '.join(SAMPLERS)} or posterior:FILE")
        if self.seed < 0:
            raise ValueError("seed must be a non-negative integer")

    @property
    def dims(self) -> int:
        """Number of columns."""
        return len(self.columns)

    def draws(self, start: int, stop: int) -> np.ndarray:
        """Uniform draws for members ``start .. stop - 1``, shape ``(stop - start, dims)``.

        Parameters
        ----------
        start, stop
            The members' range, ``stop`` excluded.

        Returns
        -------
        numpy.ndarray
            ``(stop - start, dims)`` draws in 0..1.
        """
        n = stop - start
        out = np.empty((n, self.dims))
        if self.dims == 0 or n == 0:
            return out
        if self.method.startswith("posterior:"):
            return self._posterior(start, stop, out)
        if self.method == "sobol":
            eng = qmc.Sobol(self.dims, scramble=True, seed=np.random.default_rng(self.seed))
            if start:
                eng.fast_forward(start)
            return eng.random(n)
        block = BLOCK if self.method == "monte-carlo" else min(LHS_BLOCK, self.members)
        for j, name in enumerate(self.columns):
            out[:, j] = self._column(name, start, stop, block)
        return out

    def _posterior(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        from simulator.analysis._posterior import posterior_draws

        fitted = posterior_draws(self.method.split(":", 1)[1], self.seed, self.members)
        block = min(LHS_BLOCK, self.members)
        for j, name in enumerate(self.columns):
            col = fitted.get(name)
            out[:, j] = col[start:stop] if col is not None else self._column(name, start, stop, block)
        return out

    def _column(self, name: str, start: int, stop: int, block: int) -> np.ndarray:
        vals = []
        b0, b1 = start // block, (stop - 1) // block
        for b in range(b0, b1 + 1):
            lo, hi = b * block, min((b + 1) * block, self.members)
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(_key(name), b)))
            if self.method == "monte-carlo":
                col = rng.random(hi - lo)
            else:  # one Latin hypercube column: a random stratum per member, jittered
                size = hi - lo
                col = (rng.permutation(size) + rng.random(size)) / size
            vals.append(col[max(start, lo) - lo : min(stop, hi) - lo])
        return np.concatenate(vals)


def unit_columns(names: Sequence[str]) -> tuple[str, ...]:
    """Column names as a tuple (helper for building samplers).

    Parameters
    ----------
    names
        Column names.

    Returns
    -------
    tuple of str
    """
    return tuple(names)
