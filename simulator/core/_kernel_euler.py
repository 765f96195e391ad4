"""Explicit Euler, family by family (:class:`EulerGeneric`) or by one constant matrix (:class:`EulerMatrix`).

Every gain is computed from the state at the start of the step, then
``x *= 1 - dt * loss`` (the per-stock loss rate of the families that leave the
stock they are proportional to) and the gains are added.  With no coefficient
varying by member or in time, a step is one sparse product ``x <- (I + dt J) x``
plus the inflows.  For many families see :mod:`simulator.core._kernel_fused`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.core._flow_blocks import TransferBlock
from simulator.core._kernel_blocks import Inflows, Plan, Term, apply_all, col_major
from simulator.core._kernel_chunk import Chunk, Stepper, linear_matrix, loss_of, movers

__all__ = ["EulerGeneric", "EulerMatrix"]


@dataclass
class EulerState:
    """What :class:`EulerGeneric` keeps for a chunk.

    ``movers`` pairs each moving family's plan with its static coefficient x dt
    (``None`` when it changes during the run: then it is taken from ``dyn``);
    ``keep0`` is ``1 - dt * loss`` of the static families and ``keep`` the
    current step's (with the time-varying families' losses when there are any).
    """

    chunk: Chunk
    movers: list[tuple[Plan, np.ndarray | None, str]]
    inflows: Inflows
    keep0: np.ndarray
    has_loss: bool
    dyn_loss: bool
    loss_blocks: list[TransferBlock]
    keep: np.ndarray
    dyn: dict[str, np.ndarray] = field(default_factory=dict)


class EulerGeneric(Stepper[EulerState]):
    """Euler step family by family: a few numpy operations per transfer and inflow family."""

    recovers_sink = True

    def init(self, chunk: Chunk) -> EulerState:
        """Fold static coefficients x dt into plans, their losses into ``keep`` (see :meth:`Stepper.init`).

        Parameters
        ----------
        chunk
            The chunk of members to run.

        Returns
        -------
        EulerState
        """
        cm, dt = chunk.cm, chunk.dt
        loss_static = loss_of(chunk.static_coef, chunk.static_t, cm.n_stocks)
        dyn_loss = any(b.loss for b in chunk.dynamic_t)
        keep = col_major(1.0 - dt * loss_static)
        dt_coef = {k: col_major(v * dt) for k, v in chunk.static_coef.items()}
        blocks = movers(cm, chunk.sink)
        plans = chunk.add_plans(blocks, dt_coef)
        return EulerState(
            chunk=chunk,
            movers=[(p, dt_coef.get(p.block.name), p.block.name) for p in plans],
            inflows=Inflows(cm, sink=chunk.sink, skip_sink=True),
            keep0=keep,
            has_loss=bool(np.any(loss_static)) or dyn_loss,
            dyn_loss=dyn_loss,
            loss_blocks=[b for b in cm.transfers if b.loss],
            keep=keep,
        )

    def step(self, state: EulerState, x: np.ndarray, t: float) -> None:
        """Advance ``x`` (people) in place from ``t`` to ``t + dt`` (months); see :meth:`Stepper.step`.

        Parameters
        ----------
        state
            From :meth:`init`.
        x
            The state ``(members, stocks)`` (people), column-major.
        t
            Time at the start of the step (months).
        """
        chunk = state.chunk
        dt = chunk.dt
        p, ctx = chunk.step_context(x, t)
        last = chunk.last
        if last.alone or last.params is not p:
            coef = chunk.dynamic_coef(ctx)
            state.dyn = {k: v * dt for k, v in coef.items()}
            if state.dyn_loss:
                # the same sum, in the same order, as the static case: a time-varying parameter
                # that does not move gives bit-identical results
                loss = loss_of({**chunk.static_coef, **coef}, state.loss_blocks, chunk.cm.n_stocks)
                state.keep = col_major(1.0 - dt * loss)
            last.params, last.coef = p, coef
        dyn = state.dyn
        xt = chunk.xt
        pending: list[Term] = []
        for plan, c, name in state.movers:
            plan.contributions(x, xt, dyn[name] if c is None else c, pending)
        state.inflows.terms(ctx, dt, pending)
        if state.has_loss:
            x *= state.keep
        apply_all(pending, x)


@dataclass
class MatrixState:
    """What :class:`EulerMatrix` keeps for a chunk: the step matrix ``I + dt J`` and the inflows."""

    chunk: Chunk
    step_matrix: Any
    inflows: Inflows


class EulerMatrix(Stepper[MatrixState]):
    """Euler step by one constant sparse matrix (no coefficient varies by member or in time)."""

    def init(self, chunk: Chunk) -> MatrixState:
        """Build ``I + dt J`` (:attr:`Chunk.constant` must hold; see :meth:`Stepper.init`).

        Parameters
        ----------
        chunk
            The chunk of members to run.

        Returns
        -------
        MatrixState
        """
        from scipy import sparse

        cm = chunk.cm
        jac = linear_matrix(cm, chunk.static_coef, 1.0, cm.transfers)
        step_matrix = (sparse.identity(cm.n_stocks, format="csr") + chunk.dt * jac).tocsr()
        return MatrixState(chunk, step_matrix, Inflows(cm, tally=False))

    def step(self, state: MatrixState, x: np.ndarray, t: float) -> None:
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
        chunk = state.chunk
        ctx = chunk.context(t, x)
        # inflows may depend on the state: evaluate them all before the state changes
        pending: list[Term] = []
        state.inflows.terms(ctx, chunk.dt, pending)
        x[...] = (state.step_matrix @ chunk.xt).T
        apply_all(pending, x)
