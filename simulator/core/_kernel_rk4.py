"""Classical fourth-order Runge-Kutta (:class:`RK4`): the full derivative four times a step.

The derivative is one constant sparse product plus the inflows when no
coefficient varies by member or in time, family by family otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.core._kernel_blocks import Inflows, Term, apply_all, full
from simulator.core._kernel_chunk import Chunk, Stepper, linear_matrix, loss_of, movers

__all__ = ["RK4"]


class _OperatorDerivative:
    """``dx/dt = J x + inflows`` with one constant sparse ``J`` (per month)."""

    def __init__(self, chunk: Chunk):
        cm = chunk.cm
        self.chunk = chunk
        self.jac = linear_matrix(cm, chunk.static_coef, 1.0, cm.transfers)
        self.inflows = Inflows(cm, tally=False)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        dx = np.asfortranarray((self.jac @ x.T).T)
        pending: list[Term] = []
        self.inflows.terms(self.chunk.context(t, x), None, pending)
        apply_all(pending, dx)
        return dx


class _FamilyDerivative:
    """``dx/dt`` family by family: transfer and inflow terms, then ``- x * loss``."""

    def __init__(self, chunk: Chunk):
        cm = chunk.cm
        self.chunk = chunk
        self.loss_static = loss_of(chunk.static_coef, chunk.static_t, cm.n_stocks)
        self.dyn_loss = [b for b in chunk.dynamic_t if b.loss]
        self.has_loss = bool(np.any(self.loss_static)) or bool(self.dyn_loss)
        self.movers = chunk.add_plans(movers(cm, None), {})
        self.inflows = Inflows(cm)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        chunk = self.chunk
        ctx = chunk.context(t, x)
        coefs = dict(chunk.static_coef)
        for b in chunk.dynamic_t:
            coefs[b.name] = full(b.coef.eval(ctx), len(b.of))
        dx = np.zeros_like(x, order="F")
        xt = x.T
        for plan in self.movers:
            plan.add(plan.values(x, xt, coefs[plan.block.name]), dx)
        pending: list[Term] = []
        self.inflows.terms(ctx, None, pending)
        apply_all(pending, dx)
        if self.has_loss:
            loss = self.loss_static
            if self.dyn_loss:
                loss = loss + loss_of(coefs, self.dyn_loss, chunk.cm.n_stocks)
            dx -= x * loss
        return dx


@dataclass
class RK4State:
    """What :class:`RK4` keeps for a chunk: the step (months) and the derivative ``(x, t) -> dx/dt``."""

    dt: float
    derivative: Callable[[np.ndarray, float], np.ndarray]


class RK4(Stepper[RK4State]):
    """Classical RK4 stepper.

    Parameters
    ----------
    matrix
        Use one constant sparse operator (the chunk must allow it: :attr:`Chunk.constant`).
    """

    def __init__(self, matrix: bool):
        self.matrix = matrix

    def init(self, chunk: Chunk) -> RK4State:
        """Build the derivative: the operator, or the families' plans and losses (see ``Stepper.init``).

        Parameters
        ----------
        chunk
            The chunk of members to run.

        Returns
        -------
        RK4State
        """
        deriv = _OperatorDerivative(chunk) if self.matrix else _FamilyDerivative(chunk)
        return RK4State(chunk.dt, deriv)

    def step(self, state: RK4State, x: np.ndarray, t: float) -> None:
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
        dt, deriv = state.dt, state.derivative
        k1 = deriv(x, t)
        k2 = deriv(x + (0.5 * dt) * k1, t + 0.5 * dt)
        k3 = deriv(x + (0.5 * dt) * k2, t + 0.5 * dt)
        k4 = deriv(x + dt * k3, t + dt)
        x += (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
