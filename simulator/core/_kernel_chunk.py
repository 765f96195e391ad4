"""One chunk of ensemble members as the steppers and the recording step share it.

:class:`Chunk` holds the state ``x`` ``(members, stocks)`` (people, column-major),
the values that do not change during the run and the little that steps and
recordings pass to each other: the last recording's context (a step at the
same time reuses its cached values), the coefficients last evaluated for a
parameter set, and the sink recovered from conservation.  :class:`Stepper` is
the interface of an integration method, in the spirit of diffrax's
``AbstractSolver``: :meth:`Stepper.init` builds the method's per-chunk state,
:meth:`Stepper.step` advances the state by one ``dt`` in place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._flow_blocks import TransferBlock
from simulator.core._kernel_blocks import Plan, Sink, col_major, full
from simulator.core._nodes import Context

__all__ = ["Chunk", "CoefCache", "Stepper", "linear_matrix", "loss_of", "movers"]

S = TypeVar("S")


class CoefCache:
    """Coefficients of time-varying transfer families, kept while the parameter set stays the same.

    ``params`` is the parameter set they were evaluated for (compared by
    identity), ``coef`` maps family -> coefficient ``(1 or members, n)`` (per
    month).  ``alone`` says whether some coefficient moves on its own (time or
    state), in which case nothing is reused.
    """

    def __init__(self, alone: bool):
        self.alone = alone
        self.params: Mapping[str, np.ndarray] | None = None
        self.coef: dict[str, np.ndarray] = {}

    def get(self, params: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
        """The kept coefficient of ``name`` if it is valid for ``params``, else ``None``.

        Parameters
        ----------
        params, name
            The parameters ``(members, ...)`` of the step, and a transfer family's name.

        Returns
        -------
        numpy.ndarray or None
            ``(1 or members, n)`` (per month).
        """
        if self.alone or self.params is not params:
            return None
        return self.coef.get(name)


class Chunk:
    """The shared state of one chunk of members (see the module docstring).

    Parameters
    ----------
    cm
        The compiled model.
    params
        Every parameter as a 2-D array ``(1 or members, n)``.
    m
        Members in the chunk.
    t0, dt
        Start time and step (months).
    varying, param_at
        Names of parameters that change during the run, and a function returning
        every parameter at time ``t`` (months).
    """

    def __init__(
        self,
        cm: CompiledModel,
        params: Mapping[str, np.ndarray],
        m: int,
        t0: float,
        dt: float,
        varying: frozenset[str],
        param_at: Callable[[float], Mapping[str, np.ndarray]] | None,
    ):
        self.cm, self.params, self.m, self.dt = cm, params, m, dt
        self.varying, self.param_at = varying, param_at
        self.x = np.zeros((m, cm.n_stocks), order="F")
        self.xt = self.x.T
        #: values of nodes that do not change during the run, shared by every context
        self.static: dict[int, np.ndarray] = {}
        ctx0 = Context(params, t0, static=self.static, varying=varying, dt=dt)
        for name, node in cm.initial.items():
            self.x[:, cm.slices[name]] = node.eval(ctx0)
        self.static_t = [b for b in cm.transfers if not b.coef.dynamic(varying)]
        self.dynamic_t = [b for b in cm.transfers if b.coef.dynamic(varying)]
        #: coefficients (per month) of the families that do not change during the run
        self.static_coef = {b.name: col_major(full(b.coef.eval(ctx0), len(b.of))) for b in self.static_t}
        #: one constant linear operator can step every member (no coefficient varies)
        self.constant = not self.dynamic_t and all(c.shape[0] == 1 for c in self.static_coef.values())
        #: coefficients coming and going with the parameter set
        self.last = CoefCache(any(b.coef.time or b.coef.state for b in self.dynamic_t))
        #: transfer plans by family, shared with the recording (which adds what it needs)
        self.plans: dict[str, Plan] = {}
        #: the context of the last recording, taken by a step at the same time
        self.reported: Context | None = None
        #: a sink recovered from conservation of people, set before the stepper's ``init``
        self.sink: Sink | None = None

    def params_at(self, t: float) -> Mapping[str, np.ndarray]:
        """Every parameter at time ``t`` (months).

        Parameters
        ----------
        t
            Time (months).

        Returns
        -------
        Mapping
            Parameter name -> values ``(1 or members, ...)``.
        """
        return self.params if self.param_at is None else self.param_at(t)

    def context(self, t: float, x: np.ndarray) -> Context:
        """A new context at time ``t`` (months) for state ``x``.

        Parameters
        ----------
        t, x
            Time (months) and the state ``(members, stocks)`` (people).

        Returns
        -------
        Context
        """
        return Context(self.params_at(t), t, x, static=self.static, varying=self.varying, dt=self.dt)

    def step_context(self, x: np.ndarray, t: float) -> tuple[Mapping[str, np.ndarray], Context]:
        """The parameters and context of a step at ``t`` (months).

        The context the recording just used at this time, if any (its cached
        auxiliaries and coefficients are this step's too), else a new one.

        Parameters
        ----------
        x, t
            The state ``(members, stocks)`` (people) and the time (months).

        Returns
        -------
        tuple
            ``(params, context)``.
        """
        p = self.params_at(t)
        ctx, self.reported = self.reported, None
        if ctx is None or ctx.t != t or ctx.params is not p or ctx.x is not x:
            ctx = Context(p, t, x, static=self.static, varying=self.varying, dt=self.dt)
        return p, ctx

    def dynamic_coef(self, ctx: Context) -> dict[str, np.ndarray]:
        """Coefficients (per month) of the families that change during the run, in ``ctx``.

        Parameters
        ----------
        ctx
            The step's context.

        Returns
        -------
        dict
            Family name -> ``(1 or members, n)`` coefficients (per month), column-major.
        """
        return {b.name: col_major(full(b.coef.eval(ctx), len(b.of))) for b in self.dynamic_t}

    def add_plans(self, blocks: Sequence[TransferBlock], dt_coef: Mapping[str, np.ndarray]) -> list[Plan]:
        """Plan every transfer family (folding in ``dt_coef``, static coefficients x dt, where given).

        The plans are kept in :attr:`plans` for the recording; those of ``blocks`` are returned.

        Parameters
        ----------
        blocks
            The families whose plans to return.
        dt_coef
            Family name -> static coefficient x dt (per step).

        Returns
        -------
        list of Plan
            The plans of ``blocks``, in order.
        """
        for b in self.cm.transfers:
            self.plans[b.name] = Plan(b, self.m, dt_coef.get(b.name))
        return [self.plans[b.name] for b in blocks]


def loss_of(coefs: Mapping[str, np.ndarray], blocks: Sequence[TransferBlock], n_stocks: int) -> np.ndarray:
    """Per-stock loss rate ``(rows, stocks)`` (per month) of families leaving the stock they follow.

    A family has a loss when people leave exactly the stock it is proportional to.

    Parameters
    ----------
    coefs
        Family -> coefficient ``(1 or members, n)`` (per month).
    blocks
        The families to sum (those without a loss are skipped), in this order.
    n_stocks
        Stocks in the state.

    Returns
    -------
    numpy.ndarray
        ``(rows, stocks)`` (per month), Fortran-ordered; ``rows`` is 1 or members.
    """
    rows = max([1, *(coefs[b.name].shape[0] for b in blocks if b.loss)])
    loss = np.zeros((rows, n_stocks), order="F")
    for b in blocks:
        if b.loss:
            b.of_scatter.add(loss, np.broadcast_to(coefs[b.name], (rows, len(b.of))))
    return loss


def linear_matrix(
    cm: CompiledModel, coefs: Mapping[str, np.ndarray], scale: float, blocks: Sequence[TransferBlock]
) -> Any:
    """Sparse ``J`` with ``dx = J x`` for first-order flows (rows of ``coefs`` must be 1).

    Built once per chunk: gains ``J[dst, of] += c``, losses ``J[src, of] -= c``.

    Parameters
    ----------
    cm
        The compiled model.
    coefs
        Family -> coefficient ``(1, n)`` (per month).
    scale
        Multiplies every coefficient (e.g. a step in months).
    blocks
        The families to include.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(stocks, stocks)``, per month times ``scale``.
    """
    from scipy import sparse

    rows, cols, vals = [], [], []
    for b in blocks:
        c = np.broadcast_to(coefs[b.name], (1, len(b.of)))[0] * scale
        if b.dst is not None:
            rows.append(b.dst)
            cols.append(b.of)
            vals.append(c)
        if b.src is not None:
            rows.append(b.src)
            cols.append(b.of)
            vals.append(-c)
    n = cm.n_stocks
    if not rows:
        return sparse.csr_matrix((n, n))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def movers(cm: CompiledModel, sink: Sink | None) -> list[TransferBlock]:
    """Transfer families a generic step moves people with, beyond their loss from the source.

    Families whose only effect is a loss into a sink recovered from conservation are left out.

    Parameters
    ----------
    cm
        The compiled model.
    sink
        The sink recovered from conservation of people, if any.

    Returns
    -------
    list of TransferBlock
    """
    return [
        b
        for b in cm.transfers
        if (b.dst is not None or b.src_scatter is not None or b.tally)
        and not (
            sink is not None
            and b.loss
            and b.dst_scatter is not None
            and b.dst_scatter.kind == "single"
            and b.dst_scatter.target == sink.col
        )
    ]


class Stepper(ABC, Generic[S]):
    """An integration method over a :class:`Chunk` (cf. diffrax's ``AbstractSolver``).

    ``recovers_sink`` says whether the method lets a single absorbing sink be
    recovered from conservation of people instead of being stepped.
    """

    recovers_sink: ClassVar[bool] = False

    @abstractmethod
    def init(self, chunk: Chunk) -> S:
        """Build the method's state for ``chunk`` (buffers, folded coefficients).

        Parameters
        ----------
        chunk
            The chunk, its state at ``t0`` already set.

        Returns
        -------
        object
            The state :meth:`step` takes.
        """

    @abstractmethod
    def step(self, state: S, x: np.ndarray, t: float) -> None:
        """Advance ``x`` ``(members, stocks)`` (people) in place from ``t`` to ``t + dt`` (months).

        Parameters
        ----------
        state
            What :meth:`init` returned.
        x
            The chunk's state.
        t
            Time at the start of the step (months).
        """
