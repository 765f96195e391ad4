"""Compile a :class:`~simulator.core._spec.ModelSpec` once into index arrays and evaluation nodes.

The state of a run is one array ``x`` of shape ``(members, stocks)``; every
stock family occupies a contiguous slice of the stock axis.  Each flow family
becomes one *block*:

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

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from simulator.core._bind import Binder, Const, Gather, Node
from simulator.core._formulas import Binary, Ref
from simulator.core._spaces import Space, SpaceError, aggregation_matrix
from simulator.core._spec import Flow, ModelSpec, SpecError

__all__ = ["CompiledModel", "InflowBlock", "Scatter", "TransferBlock", "compile_spec"]


def _as_slice(idx: np.ndarray) -> slice | None:
    """``idx`` as a slice when it is a contiguous increasing range."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return slice(int(idx[0]), int(idx[0]) + len(idx))
    return None


class Scatter:
    """Add per-element values into the state columns ``idx`` (duplicates summed).

    Strategies, chosen once: ``slice`` (contiguous targets), ``single`` (all
    into one stock), ``unique`` (distinct targets, fancy index), ``segments``
    (repeated targets: one matrix product into the distinct targets).
    """

    def __init__(self, idx: np.ndarray):
        self.idx = np.asarray(idx, dtype=np.intp)
        self.slice = _as_slice(self.idx)
        uniq = np.unique(self.idx)
        if self.slice is not None:
            self.kind = "slice"
        elif len(uniq) == 1:
            self.kind, self.target = "single", int(uniq[0])
        elif len(uniq) == len(self.idx):
            self.kind = "unique"
        else:
            self.kind = "segments"
            self.targets = uniq
            local = np.searchsorted(uniq, self.idx)
            self.matrix = aggregation_matrix(local, len(uniq))
            self.local = local

    def add(self, out: np.ndarray, v: np.ndarray) -> None:
        """``out[:, idx] += v`` with repeated indices summed."""
        if self.kind == "slice":
            out[:, self.slice] += v
        elif self.kind == "single":
            out[:, self.target] += v.sum(axis=1)
        elif self.kind == "unique":
            out[:, self.idx] += v
        else:
            out[:, self.targets] += self.matrix(v)


@dataclass
class TransferBlock:
    """A first-order flow family (outflow or fraction): value = coef * x[:, of]."""

    name: str
    coef: Node
    of: np.ndarray
    src: np.ndarray | None
    dst: np.ndarray | None
    of_slice: slice | None = None
    dst_scatter: Scatter | None = None
    src_scatter: Scatter | None = None
    loss: bool = False  # people leave exactly the stock the flow is proportional to
    tally: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tally_scatters = [Scatter(t) for t in self.tally]
        self.of_slice = _as_slice(self.of)
        self.of_scatter = Scatter(self.of)
        if self.dst is not None:
            self.dst_scatter = Scatter(self.dst)
        if self.src is not None:
            self.loss = bool(np.array_equal(self.src, self.of))
            if not self.loss:
                self.src_scatter = Scatter(self.src)

    def levels(self, x: np.ndarray) -> np.ndarray:
        """The stock level each element is proportional to, ``(members, n)``."""
        return x[:, self.of_slice] if self.of_slice is not None else x[:, self.of]

    @property
    def moves(self) -> bool:
        """Whether the flow moves people (rather than only being measured)."""
        return self.src is not None or self.dst is not None or bool(self.tally)


@dataclass
class InflowBlock:
    """An exogenous flow family: ``value(t)`` people per month (may depend on state)."""

    name: str
    value: Node
    src: np.ndarray | None
    dst: np.ndarray | None
    dst_scatter: Scatter | None = None
    src_scatter: Scatter | None = None
    tally: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tally_scatters = [Scatter(t) for t in self.tally]
        if self.dst is not None:
            self.dst_scatter = Scatter(self.dst)
        if self.src is not None:
            self.src_scatter = Scatter(self.src)

    @property
    def moves(self) -> bool:
        """Whether the flow moves people (or is tallied)."""
        return self.src is not None or self.dst is not None or bool(self.tally)


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
        """Space of any recordable quantity (stock, flow, output or derived value)."""
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


def _flow_space(f: Flow, spec: ModelSpec, flows: Mapping[str, Flow], cache: dict[str, Space]) -> Space:
    if f.name in cache:
        return cache[f.name]
    if f.space is not None:
        sp = f.space
    elif f.kind == "outflow":
        sp = spec.stock(f.of or f.source).space  # type: ignore[arg-type]
    elif f.kind == "fraction":
        sp = _flow_space(flows[f.of], spec, flows, cache)  # type: ignore[index]
    else:
        sp = spec.stock(f.target).space  # type: ignore[arg-type]
    cache[f.name] = sp
    return sp


def compile_spec(spec: ModelSpec) -> CompiledModel:
    """Validate and compile a spec.

    Raises
    ------
    SpecError
        Listing every structural problem (unknown names, dimension clashes, cycles).
    """
    spec.validate()
    slices: dict[str, slice] = {}
    offset = 0
    for s in spec.stocks:
        slices[s.name] = slice(offset, offset + len(s.space))
        offset += len(s.space)
    binder = Binder(spec, slices)
    flows = {f.name: f for f in spec.flows}
    spaces: dict[str, Space] = {}
    problems: list[str] = []
    for f in spec.flows:
        try:
            spaces[f.name] = _flow_space(f, spec, flows, spaces)
        except (SpaceError, KeyError) as err:
            problems.append(f"flow {f.name}: {err}")
    if problems:
        raise SpecError(problems)

    def stock_index(stock: str, space: Space, owner: str, flow: Flow | None = None) -> np.ndarray:
        st = spec.stock(stock)
        if flow is not None and (flow.relabel or flow.target_at):
            return slices[stock].start + _mapped_index(space, st.space, flow, owner)
        try:
            local = space.projection(st.space)
        except SpaceError as err:
            raise SpecError([f"{owner}: elements do not map onto stock {stock}: {err}"]) from None
        return slices[stock].start + local

    transfers: dict[str, TransferBlock] = {}
    inflows: dict[str, InflowBlock] = {}

    def build(f: Flow) -> None:
        if f.name in transfers or f.name in inflows:
            return
        sp = spaces[f.name]
        owner = f"flow {f.name}"
        rate = binder.onto(binder.bind(f.rate), sp, owner)
        src = stock_index(f.source, sp, owner) if (f.source and f.moves) else None
        dst = stock_index(f.target, sp, owner, f) if (f.target and f.moves) else None
        tally = [
            slices[stock].start + _mapped_index(sp, spec.stock(stock).space, _Relabel(relabel, at), owner)
            for stock, relabel, at in f.tally
        ]
        if f.kind == "outflow":
            of = stock_index(f.of or f.source, sp, owner)  # type: ignore[arg-type]
            transfers[f.name] = TransferBlock(f.name, rate, of, src, dst, tally=tally)
        elif f.kind == "inflow":
            inflows[f.name] = InflowBlock(f.name, rate, src, dst, tally=tally)
        else:
            parent = flows[f.of]  # type: ignore[index]
            build(parent)
            psp = spaces[parent.name]
            try:
                proj = sp.projection(psp)
            except SpaceError as err:
                raise SpecError([f"{owner}: elements do not map onto flow {parent.name}: {err}"]) from None
            if parent.name in transfers:
                pb = transfers[parent.name]
                pc = pb.coef if np.array_equal(proj, np.arange(len(psp))) else Gather(pb.coef, proj, sp)
                coef = _mul(rate, pc, sp)
                transfers[f.name] = TransferBlock(f.name, coef, pb.of[proj], src, dst, tally=tally)
            else:
                ib = inflows[parent.name]
                pv = ib.value if np.array_equal(proj, np.arange(len(psp))) else Gather(ib.value, proj, sp)
                inflows[f.name] = InflowBlock(f.name, _mul(rate, pv, sp), src, dst, tally=tally)

    for f in spec.flows:
        try:
            build(f)
        except SpecError as err:
            problems.extend(err.problems)
    if problems:
        raise SpecError(problems)

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
    binder.flow_spaces = dict(spaces)
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
    if problems:
        raise SpecError(problems)
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
    order = [f.name for f in spec.flows]
    sink = _find_sink(spec, slices, list(transfers.values()), list(inflows.values()))
    return CompiledModel(
        spec=spec,
        slices=slices,
        n_stocks=offset,
        initial=initial,
        transfers=[transfers[n] for n in order if n in transfers],
        inflows=[inflows[n] for n in order if n in inflows],
        flow_spaces=spaces,
        outputs=outputs,
        auxes=auxes,
        defaults={p.name: p.values[None, :] for p in spec.params},
        sink=sink,
        factors=factors,
    )


def _find_sink(
    spec: ModelSpec,
    slices: Mapping[str, slice],
    transfers: list[TransferBlock],
    inflows: list[InflowBlock],
) -> str | None:
    """The single absorbing one-element stock of a closed system, if there is exactly one.

    Closed: every people-moving first-order flow has both a source and a
    target, and inflows do not depend on stock levels; absorbing: no flow
    leaves the stock or is proportional to it.  Its level is then people at
    the start + cumulative inflow - every other stock.
    """
    if any(b.tally for b in (*transfers, *inflows)):
        return None  # shadow counts are not people
    if any(b.moves and (b.src is None or b.dst is None) for b in transfers):
        return None
    if any(b.value.state for b in inflows):
        return None
    found = []
    for s in spec.stocks:
        if len(s.space) != 1:
            continue
        col = slices[s.name].start
        if any(col in b.of or (b.src is not None and col in b.src) for b in transfers):
            continue
        if any(b.dst is not None and col in b.dst for b in transfers):
            found.append(s.name)
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class _Relabel:
    relabel: Mapping[str, Mapping[str, str]]
    target_at: Mapping[str, str]


def _mapped_index(space: Space, target: Space, flow: Flow | _Relabel, owner: str) -> np.ndarray:
    """Target elements of a flow whose labels are relabelled or fixed (``relabel``, ``target_at``)."""
    pos = target.position
    out = np.empty(len(space), dtype=np.intp)
    for i, c in enumerate(space.coords):
        labels = dict(zip(space.dims, c))
        for dim, mapping in flow.relabel.items():
            if dim in labels:
                labels[dim] = mapping.get(labels[dim], labels[dim])
        labels.update(flow.target_at)
        try:
            key = tuple(labels[d] for d in target.dims)
        except KeyError as err:
            raise SpecError(
                [f"{owner}: target dimension {err.args[0]!r} has no label (use target_at)"]
            ) from None
        j = pos.get(key)
        if j is None:
            raise SpecError([f"{owner}: no target element {dict(zip(target.dims, key))}"])
        out[i] = j
    return out


def _mul(a: Node, b: Node, space: Space) -> Node:
    from simulator.core._bind import Apply

    return Apply(np.multiply, [a, b], space)
