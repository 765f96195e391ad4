"""Flow families as blocks: the index arrays and nodes the integrator moves people with.

Each flow family of a spec becomes one block (see :mod:`~simulator.core._compiler`):
a :class:`TransferBlock` (first-order: ``coef * x[:, of]``) or an
:class:`InflowBlock` (``value(t)`` people per month).  :func:`flow_blocks` builds
them, a fraction flow from the block of the flow it is a fraction of;
:class:`Scatter` adds a block's values into the state columns it moves people to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from simulator.core._bind import Binder
from simulator.core._nodes import Apply, Gather, Node
from simulator.core._spaces import Space, SpaceError, aggregation_matrix
from simulator.core._spec import Flow, ModelSpec, SpecError

__all__ = [
    "InflowBlock",
    "Scatter",
    "TransferBlock",
    "find_sink",
    "flow_blocks",
    "flow_spaces",
]


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
        """``out[:, idx] += v`` with repeated indices summed.

        Parameters
        ----------
        out
            State-shaped array ``(members, stocks)``, changed in place.
        v
            Values per element ``(members, len(idx))`` (people, or people per month).
        """
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
        """The stock level each element is proportional to, ``(members, n)``.

        Parameters
        ----------
        x
            The state ``(members, stocks)``, people.

        Returns
        -------
        numpy.ndarray
            The levels, people.
        """
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


def flow_spaces(spec: ModelSpec) -> dict[str, Space]:
    """The space of every flow family, in spec order.

    Parameters
    ----------
    spec
        The model whose flows are placed.

    Returns
    -------
    dict of str to Space
        Elements of each flow (its own, or those of the stock or flow it is proportional to).

    Raises
    ------
    SpecError
        Listing every flow whose space cannot be worked out.
    """
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
    return spaces


class _BlockBuilder:
    """Builds the block of each flow family, a fraction's parent first."""

    def __init__(
        self, spec: ModelSpec, slices: Mapping[str, slice], spaces: Mapping[str, Space], binder: Binder
    ):
        self.spec, self.slices, self.spaces, self.binder = spec, slices, spaces, binder
        self.flows = {f.name: f for f in spec.flows}
        self.transfers: dict[str, TransferBlock] = {}
        self.inflows: dict[str, InflowBlock] = {}

    def stock_index(self, stock: str, space: Space, owner: str, flow: Flow | None = None) -> np.ndarray:
        """Global state columns of ``stock`` that the elements of ``space`` map onto."""
        st = self.spec.stock(stock)
        if flow is not None and (flow.relabel or flow.target_at):
            return self.slices[stock].start + _mapped_index(space, st.space, flow, owner)
        try:
            local = space.projection(st.space)
        except SpaceError as err:
            raise SpecError([f"{owner}: elements do not map onto stock {stock}: {err}"]) from None
        return self.slices[stock].start + local

    def build(self, f: Flow) -> None:
        """Build the block of flow ``f`` (and of the flow it is a fraction of)."""
        if f.name in self.transfers or f.name in self.inflows:
            return
        sp = self.spaces[f.name]
        owner = f"flow {f.name}"
        rate = self.binder.onto(self.binder.bind(f.rate), sp, owner)
        src = self.stock_index(f.source, sp, owner) if (f.source and f.moves) else None
        dst = self.stock_index(f.target, sp, owner, f) if (f.target and f.moves) else None
        tally = [
            self.slices[stock].start
            + _mapped_index(sp, self.spec.stock(stock).space, _Relabel(relabel, at), owner)
            for stock, relabel, at in f.tally
        ]
        if f.kind == "outflow":
            of = self.stock_index(f.of or f.source, sp, owner)  # type: ignore[arg-type]
            self.transfers[f.name] = TransferBlock(f.name, rate, of, src, dst, tally=tally)
        elif f.kind == "inflow":
            self.inflows[f.name] = InflowBlock(f.name, rate, src, dst, tally=tally)
        else:
            self._fraction(f, sp, owner, rate, src, dst, tally)

    def _fraction(self, f: Flow, sp: Space, owner: str, rate: Node, src, dst, tally) -> None:
        parent = self.flows[f.of]  # type: ignore[index]
        self.build(parent)
        psp = self.spaces[parent.name]
        try:
            proj = sp.projection(psp)
        except SpaceError as err:
            raise SpecError([f"{owner}: elements do not map onto flow {parent.name}: {err}"]) from None
        same = np.array_equal(proj, np.arange(len(psp)))
        if parent.name in self.transfers:
            pb = self.transfers[parent.name]
            pc = pb.coef if same else Gather(pb.coef, proj, sp)
            coef = _mul(rate, pc, sp)
            self.transfers[f.name] = TransferBlock(f.name, coef, pb.of[proj], src, dst, tally=tally)
        else:
            ib = self.inflows[parent.name]
            pv = ib.value if same else Gather(ib.value, proj, sp)
            self.inflows[f.name] = InflowBlock(f.name, _mul(rate, pv, sp), src, dst, tally=tally)


def flow_blocks(
    spec: ModelSpec, slices: Mapping[str, slice], spaces: Mapping[str, Space], binder: Binder
) -> tuple[list[TransferBlock], list[InflowBlock]]:
    """Build the block of every flow family.

    Parameters
    ----------
    spec
        The model whose flows are built.
    slices
        Where each stock family sits in the state vector.
    spaces
        Space of each flow family (see :func:`flow_spaces`).
    binder
        The binder of the spec's formulas.

    Returns
    -------
    tuple of (list of TransferBlock, list of InflowBlock)
        First-order blocks and inflow blocks, each in spec order.

    Raises
    ------
    SpecError
        Listing every flow that cannot be built.
    """
    builder = _BlockBuilder(spec, slices, spaces, binder)
    problems: list[str] = []
    for f in spec.flows:
        try:
            builder.build(f)
        except SpecError as err:
            problems.extend(err.problems)
    if problems:
        raise SpecError(problems)
    order = [f.name for f in spec.flows]
    return (
        [builder.transfers[n] for n in order if n in builder.transfers],
        [builder.inflows[n] for n in order if n in builder.inflows],
    )


def find_sink(
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

    Parameters
    ----------
    spec
        The compiled model's spec.
    slices
        The state columns of each stock family.
    transfers, inflows
        The flow blocks (see :func:`flow_blocks`).

    Returns
    -------
    str or None
        The sink stock's name, or ``None``.
    """
    if any(b.tally for b in transfers) or any(b.tally for b in inflows):
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
    return Apply(np.multiply, [a, b], space)
