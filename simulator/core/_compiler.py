"""Compile a :class:`~simulator.core._spec.ModelSpec` once into index arrays and evaluation nodes.

The state of a run is one array ``x`` of shape ``(members, stocks)``; every
stock family occupies a contiguous slice of the stock axis.  Each flow family
becomes one *block* (:mod:`~simulator.core._flow_blocks`):

* a **transfer** block (outflows and fractions): value ``= coef * x[:, of]``,
  where ``coef`` (per month) is a bound formula over parameters and perhaps
  time, and ``of`` holds the global stock index each flow element is
  proportional to; people leave ``src`` and join ``dst``;
* an **inflow** block: value ``= rate(t)`` people per month into ``dst``.

Moving people out of the stock a flow is proportional to is the common case;
those flows are folded into one per-stock *loss rate*, so that an Euler step
is ``x <- x * (1 - dt * loss) + dt * gains``.  Gains are added with the
cheapest scatter the target indices allow (a slice, a single stock, a fancy
index, or a segment sum as one matrix product).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.core._bind import Binder
from simulator.core._flow_blocks import (
    InflowBlock,
    Scatter,
    TransferBlock,
    find_sink,
    flow_blocks,
    flow_spaces,
)
from simulator.core._formulas import Binary, Ref
from simulator.core._nodes import Const, Node
from simulator.core._spaces import Space
from simulator.core._spec import ModelSpec, SpecError

__all__ = ["CompiledModel", "InflowBlock", "Scatter", "TransferBlock", "compile_spec"]


@dataclass
class CompiledModel:
    """A spec compiled into index arrays and nodes; the integrator's only input besides values."""

    spec: ModelSpec
    slices: dict[str, slice]
    n_stocks: int
    initial: dict[str, Node]
    transfers: list[TransferBlock]
    inflows: list[InflowBlock]
    flow_spaces: dict[str, Space]
    outputs: dict[str, Node]
    auxes: dict[str, Node]
    defaults: dict[str, np.ndarray] = field(default_factory=dict)
    #: a one-element stock that only receives people in an otherwise closed system
    #: (recoverable from conservation of people), or ``None``
    sink: str | None = None
    #: quantities equal to ``base * factor`` elementwise on the same elements, where
    #: ``factor`` uses parameters only: a fraction flow of its parent, an output
    #: ``stock * parameter``.  Recording them summed over dimensions the factor does
    #: not have, sum the base first and multiply after (fewer operations, same value).
    factors: dict[str, tuple[str, Node]] = field(default_factory=dict)

    @property
    def stock_spaces(self) -> dict[str, Space]:
        """Space of each stock family."""
        return {s.name: s.space for s in self.spec.stocks}

    def space_of(self, name: str) -> Space:
        """Space of any recordable quantity (stock, flow, output or derived value).

        Parameters
        ----------
        name
            The quantity.

        Returns
        -------
        Space
            Its elements.
        """
        if name in self.slices:
            return self.spec.stock(name).space
        if name in self.flow_spaces:
            return self.flow_spaces[name]
        if name in self.outputs:
            return self.outputs[name].space
        if name in self.auxes:
            return self.auxes[name].space
        raise KeyError(f"nothing called {name!r} can be recorded; choose from {self.recordable}")

    @property
    def recordable(self) -> list[str]:
        """Names of every quantity a run can record."""
        return [*self.slices, *self.flow_spaces, *self.outputs, *self.auxes]


def _stock_slices(spec: ModelSpec) -> tuple[dict[str, slice], int]:
    """Position of each stock family in the state vector, and the number of stocks."""
    slices: dict[str, slice] = {}
    offset = 0
    for s in spec.stocks:
        slices[s.name] = slice(offset, offset + len(s.space))
        offset += len(s.space)
    return slices, offset


def _initial_values(spec: ModelSpec, binder: Binder, problems: list[str]) -> dict[str, Node]:
    """The bound initial value of each stock family (parameters only)."""
    initial: dict[str, Node] = {}
    for s in spec.stocks:
        init = s.initial
        node = Const(init) if isinstance(init, float | int) else binder.bind(init)
        if node.state or node.time:
            problems.append(f"stock {s.name}: the initial value may use parameters only")
        try:
            initial[s.name] = binder.onto(node, s.space, f"stock {s.name} initial")
        except SpecError as err:
            problems.extend(err.problems)
    return initial


def _outputs_and_auxes(
    spec: ModelSpec, binder: Binder, problems: list[str]
) -> tuple[dict[str, Node], dict[str, Node]]:
    """The bound outputs and derived values of the spec."""
    outputs: dict[str, Node] = {}
    for o in spec.outputs:
        try:
            outputs[o.name] = binder.bind(o.expr)
        except SpecError as err:
            problems.extend(f"output {o.name}: {p}" for p in err.problems)
    auxes: dict[str, Node] = {}
    for a in spec.auxes:
        try:
            auxes[a.name] = binder.ref(a.name)
        except SpecError as err:
            problems.extend(err.problems)
    return outputs, auxes


def _factors(
    spec: ModelSpec,
    binder: Binder,
    slices: dict[str, slice],
    spaces: dict[str, Space],
    outputs: dict[str, Node],
) -> dict[str, tuple[str, Node]]:
    """Quantities equal to ``base * factor`` with a parameter-only factor (see :class:`CompiledModel`)."""
    factors: dict[str, tuple[str, Node]] = {}
    for f in spec.flows:
        if f.kind == "fraction" and f.of in spaces and spaces[f.of] == spaces[f.name]:
            rate = binder.bind(f.rate)
            if not (rate.state or rate.time):
                factors[f.name] = (f.of, rate)
    for o in spec.outputs:
        e = o.expr
        if isinstance(e, Binary) and e.op == "*":
            for base, other in ((e.a, e.b), (e.b, e.a)):
                if isinstance(base, Ref) and (base.name in slices or base.name in spaces):
                    node = binder.bind(other)
                    if not (node.state or node.time) and outputs[o.name].space == (
                        spec.stock(base.name).space if base.name in slices else spaces[base.name]
                    ):
                        factors[o.name] = (base.name, node)
                        break
    return factors


def compile_spec(spec: ModelSpec) -> CompiledModel:
    """Validate and compile a spec.

    Parameters
    ----------
    spec
        The model.

    Returns
    -------
    CompiledModel
        Stock slices, flow blocks and bound nodes, ready for the integrator.

    Raises
    ------
    SpecError
        Listing every structural problem (unknown names, dimension clashes, cycles).
    """
    spec.validate()
    slices, n_stocks = _stock_slices(spec)
    binder = Binder(spec, slices)
    spaces = flow_spaces(spec)
    transfers, inflows = flow_blocks(spec, slices, spaces, binder)
    problems: list[str] = []
    initial = _initial_values(spec, binder, problems)
    binder.flow_spaces = dict(spaces)
    outputs, auxes = _outputs_and_auxes(spec, binder, problems)
    if problems:
        raise SpecError(problems)
    return CompiledModel(
        spec=spec,
        slices=slices,
        n_stocks=n_stocks,
        initial=initial,
        transfers=transfers,
        inflows=inflows,
        flow_spaces=spaces,
        outputs=outputs,
        auxes=auxes,
        defaults={p.name: p.values[None, :] for p in spec.params},
        sink=find_sink(spec, slices, transfers, inflows),
        factors=_factors(spec, binder, slices, spaces, outputs),
    )
