"""Fused explicit Euler: every first-order flow of a chunk in one buffer (:class:`EulerFused`).

For models with many transfer families a step is one gather, one multiply and
one sparse product for all of them, plus the inflows, instead of a few numpy
calls per family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._flow_blocks import TransferBlock
from simulator.core._kernel_blocks import Inflows, Term, apply_all
from simulator.core._kernel_chunk import Chunk, Stepper

__all__ = ["FUSE_FAMILIES", "EulerFused"]

#: models with more transfer families than this step with :class:`EulerFused` (one gather, one
#: multiply and one sparse product per step) instead of family by family
FUSE_FAMILIES = 8


class _Fused:
    """Every first-order flow of a chunk in one buffer: an Euler step in a handful of calls.

    ``coef`` ``(m, K)`` holds every flow element's coefficient x dt (column-major);
    a step gathers the stock each element is proportional to, multiplies, and
    adds the products into their targets with one sparse matrix ``G (S x K)``
    (+1 at the target, -1 at a source other than the one it is proportional
    to).  Losses ``x * dt * rate`` from the source it is proportional to are
    ``L (S x K) @ coef``, one product in a fixed order whether coefficients are
    static or change during the run.

    Parameters
    ----------
    cm
        The compiled model.
    m
        Members in the chunk.
    dt
        The step (months).
    static
        Coefficients (per month) of the families that do not change during the run.
    dynamic
        The families whose coefficients change during the run.
    """

    def __init__(
        self,
        cm: CompiledModel,
        m: int,
        dt: float,
        static: Mapping[str, np.ndarray],
        dynamic: Sequence[TransferBlock],
    ):
        from scipy import sparse

        blocks = [b for b in cm.transfers if b.dst is not None or b.src is not None or b.tally]
        self.dt = dt
        self.of = np.concatenate([b.of for b in blocks])
        self.cols: dict[str, slice] = {}
        k = 0
        rows_g: list[np.ndarray] = []
        cols_g: list[np.ndarray] = []
        vals_g: list[np.ndarray] = []
        rows_l: list[np.ndarray] = []
        cols_l: list[np.ndarray] = []
        for b in blocks:
            n = len(b.of)
            self.cols[b.name] = slice(k, k + n)
            idx = np.arange(k, k + n)
            if b.dst is not None:
                rows_g.append(b.dst)
                cols_g.append(idx)
                vals_g.append(np.ones(n))
            if b.src is not None and not b.loss:
                rows_g.append(b.src)
                cols_g.append(idx)
                vals_g.append(-np.ones(n))
            for extra in b.tally:
                rows_g.append(extra)
                cols_g.append(idx)
                vals_g.append(np.ones(n))
            if b.loss and b.src is not None:
                rows_l.append(b.src)
                cols_l.append(idx)
            k += n
        s_total = cm.n_stocks
        self.G = sparse.csr_matrix(
            (np.concatenate(vals_g), (np.concatenate(rows_g), np.concatenate(cols_g))), shape=(s_total, k)
        )
        if rows_l:
            rl, cl = np.concatenate(rows_l), np.concatenate(cols_l)
            self.L = sparse.csr_matrix((np.ones(len(rl)), (rl, cl)), shape=(s_total, k))
        else:
            self.L = sparse.csr_matrix((s_total, k))
        rows = max([1, *(v.shape[0] for v in static.values())])
        rows = m if dynamic else rows
        self.coef = np.zeros((rows, k), order="F")
        for b in blocks:
            c = static.get(b.name)
            if c is not None:
                self.coef[:, self.cols[b.name]] = c * dt
        self.buf = np.empty((m, k), order="F")
        self.names = {b.name for b in blocks}
        self._keep()

    def _keep(self) -> None:
        self.keep = np.asfortranarray(1.0 - np.asarray(self.L @ self.coef.T).T)

    def update(self, coef: Mapping[str, np.ndarray]) -> None:
        """New coefficients (per month) for some flows; refreshes the losses."""
        for name, c in coef.items():
            if name in self.names:
                self.coef[:, self.cols[name]] = c * self.dt
        self._keep()

    def write(self, name: str, c: np.ndarray) -> None:
        """A flow's new coefficient (per month, any broadcastable shape) straight into the buffer.

        One pass, no intermediate copies; call :meth:`refresh` after the last one.
        """
        if name in self.names:
            np.multiply(c, self.dt, out=self.coef[:, self.cols[name]])

    def refresh(self) -> None:
        """Recompute the losses after :meth:`write`."""
        self._keep()

    def gains(self, x: np.ndarray) -> np.ndarray:
        """People moved into each stock this step, ``(m, S)`` (losses from sources excluded)."""
        np.take(x.T, self.of, axis=0, out=self.buf.T)
        np.multiply(self.buf, self.coef, out=self.buf)
        return np.asfortranarray(np.asarray(self.G @ self.buf.T).T)


@dataclass
class FusedState:
    """What :class:`EulerFused` keeps for a chunk: the fused buffers and the inflows."""

    chunk: Chunk
    fused: _Fused
    inflows: Inflows


class EulerFused(Stepper[FusedState]):
    """Euler step with every first-order flow fused (models with many transfer families).

    A sink recovered from conservation counts the inflows; its stepped level is
    overwritten when recorded.
    """

    recovers_sink = True

    def init(self, chunk: Chunk) -> FusedState:
        """Build the fused buffers with the static coefficients x dt (see :meth:`Stepper.init`).

        Parameters
        ----------
        chunk
            The chunk of members to run.

        Returns
        -------
        FusedState
        """
        fused = _Fused(chunk.cm, chunk.m, chunk.dt, chunk.static_coef, chunk.dynamic_t)
        return FusedState(chunk, fused, Inflows(chunk.cm, sink=chunk.sink))

    def step(self, state: FusedState, x: np.ndarray, t: float) -> None:
        """Advance ``x`` (people) in place from ``t`` to ``t + dt`` (months); see :meth:`Stepper.step`.

        Parameters
        ----------
        state
            From :meth:`init`.
        x
            The state ``(members, stocks)`` (people).
        t
            Time at the start of the step (months).
        """
        chunk, fused = state.chunk, state.fused
        p, ctx = chunk.step_context(x, t)
        dynamic_t, last = chunk.dynamic_t, chunk.last
        if dynamic_t and last.alone:  # coefficients follow the state: written in place
            for b in dynamic_t:
                fused.write(b.name, b.coef.eval(ctx))
            fused.refresh()
        elif dynamic_t and last.params is not p:  # kept: recording reuses them until params change
            coef = chunk.dynamic_coef(ctx)
            fused.update(coef)
            last.params, last.coef = p, coef
        gains = fused.gains(x)
        pending: list[Term] = []
        state.inflows.terms(ctx, chunk.dt, pending)
        apply_all(pending, gains)
        x *= fused.keep
        x += gains
