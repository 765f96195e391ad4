"""The one recording step every stepper shares (:class:`Recorder`).

At each requested report step the recorded quantities are evaluated from the
state (stocks, flows, outputs, auxiliaries), already reduced to the kept
dimensions, into arrays ``(members, reports, n_out)``.  The context used is
left on the chunk, so that the Euler step at the same time reuses what it
cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._guard import check_state
from simulator.core._kernel_blocks import Plan, full
from simulator.core._kernel_chunk import Chunk, CoefCache
from simulator.core._nodes import Context, Node

__all__ = ["RecordItem", "Recorder"]


@dataclass(frozen=True)
class RecordItem:
    """One recorded quantity: its name and an optional segment sum to the kept dimensions.

    With ``base`` set, the value is ``record[base] * factor`` on the kept elements:
    ``factor`` (a parameter-only node) gathered by ``factor_index``.  ``hidden``
    items are computed (as bases) but not returned.
    """

    name: str
    matrix: object | None
    n_out: int
    base: str | None = None
    factor: Node | None = None
    factor_index: np.ndarray | None = None
    hidden: bool = False
    source: str | None = None

    @property
    def variable(self) -> str:
        """The model quantity evaluated for this item."""
        return self.source or self.name


class _FlowValues:
    """A flow's values in a context (people per month), cached in the context.

    Set as the context's ``flow``; it refers to nothing that holds a context,
    so contexts stay free of reference cycles.
    """

    def __init__(
        self,
        cm: CompiledModel,
        m: int,
        plans: dict[str, Plan],
        static_coef: Mapping[str, np.ndarray],
        last: CoefCache,
    ):
        self.cm, self.m, self.plans, self.static_coef, self.last = cm, m, plans, static_coef, last
        self.inflows = {b.name: b for b in cm.inflows}

    def __call__(self, ctx: Context, name: str) -> np.ndarray:
        key = hash(("flow", name))
        v = ctx.cache.get(key)
        if v is not None:
            return v
        cm = self.cm
        plan = self.plans.get(name)
        if plan is None and name in cm.flow_spaces and name not in self.inflows:
            block = next(b for b in cm.transfers if b.name == name)
            plan = self.plans[name] = Plan(block, self.m, None)
        if plan is not None:
            x = ctx.x
            assert x is not None, "flow values need the state"
            c = self.static_coef.get(name)
            if c is None:
                c = self.last.get(ctx.params, name)
            if c is None:
                c = full(plan.block.coef.eval(ctx), len(plan.block.of))
            v = plan.values(x, x.T, c)
        else:
            b = self.inflows[name]
            v = full(b.value.eval(ctx), len(cm.flow_spaces[name]))
        ctx.cache[key] = v
        return v


class Recorder:
    """Records the chunk's quantities at the report steps.

    Parameters
    ----------
    chunk
        The chunk whose state is recorded.
    record
        What to record and how to reduce it.
    n_reports
        Number of report steps.
    dest
        Arrays ``(members, n_reports, n_out)`` to record into (views of a caller's
        storage, saving a copy); others are allocated.
    """

    def __init__(
        self,
        chunk: Chunk,
        record: Sequence[RecordItem],
        n_reports: int,
        dest: Mapping[str, np.ndarray] | None,
    ):
        self.chunk = chunk
        dest = dest or {}
        m = chunk.m
        self.out = {
            r.name: dest[r.name] if r.name in dest else np.empty((m, n_reports, r.n_out)) for r in record
        }
        self.ordered = [r for r in record if r.base is None] + [r for r in record if r.base is not None]
        self.flows = _FlowValues(chunk.cm, m, chunk.plans, chunk.static_coef, chunk.last)
        check_state(chunk, None)  # the initial state: no stock negative, every value finite

    def capture(self, j: int, t: float) -> None:
        """Record the state at time ``t`` (months) into report slot ``j``.

        A sink recovered from conservation is written into the state first; a stock
        that is negative or not finite stops the run (:func:`~simulator.core._guard.check_state`).
        """
        chunk = self.chunk
        cm, x, out = chunk.cm, chunk.x, self.out
        if chunk.sink is not None:
            chunk.sink.recover(x)
        check_state(chunk, t)
        ctx = chunk.context(t, x)
        ctx.flow = self.flows
        chunk.reported = ctx
        for r in self.ordered:
            if r.base is not None:
                assert r.factor is not None
                f = r.factor.eval(ctx)
                f = f if r.factor_index is None else f[:, r.factor_index]
                np.multiply(out[r.base][:, j, :], f, out=out[r.name][:, j, :])
                continue
            var = r.variable
            if var in cm.slices:
                v = x[:, cm.slices[var]]
            elif var in cm.flow_spaces:
                v = self.flows(ctx, var)
            elif var in cm.outputs:
                v = cm.outputs[var].eval(ctx)
            else:
                v = cm.auxes[var].eval(ctx)
            if r.matrix is not None:
                v = r.matrix(v)  # type: ignore[operator]
            out[r.name][:, j, :] = v
