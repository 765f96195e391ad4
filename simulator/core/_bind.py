"""Binding formulas to spaces: expression trees become numpy evaluation nodes.

:class:`Binder` resolves the names in a formula against a spec, aligns terms
over different dimensions (xarray-like broadcasting, by gathering) and builds
the tree of :mod:`~simulator.core._nodes` that evaluates it.  The nodes and the
elementwise functions live in :mod:`~simulator.core._nodes` and
:mod:`~simulator.core._elementwise`; their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from simulator.core._contract import Contract
from simulator.core._elementwise import BINARY, ELEMENTWISE, NEEDS_TIME, where
from simulator.core._formulas import AGGREGATES, Assemble, Binary, Call, Expr, IfElse, Num, Ref, Take, Unary
from simulator.core._nodes import (
    Aggregate,
    Apply,
    AssembleNode,
    Const,
    Context,
    CumSum,
    FlowNode,
    Gather,
    GatherZero,
    LookupNode,
    Node,
    ParamNode,
    Placeholder,
    SeriesNode,
    StepNode,
    StockNode,
    TimeNode,
)
from simulator.core._spaces import SCALAR, Space, SpaceError, joined_space
from simulator.core._spec import ModelSpec, SpecError

__all__ = [
    "BINARY",
    "ELEMENTWISE",
    "Apply",
    "Binder",
    "Const",
    "Context",
    "Gather",
    "Node",
    "Placeholder",
]

# the names these had before the nodes and functions moved out (simulator.vensim imports them)
_BINARY = BINARY
_ELEMENTWISE = ELEMENTWISE
_NEEDS_TIME = NEEDS_TIME
_Placeholder = Placeholder


class Binder:
    """Resolve names in formulas against a spec and bind them to spaces.

    Parameters
    ----------
    spec
        The model.
    stock_slices
        Position of each stock family in the state vector (for stock references).
    """

    def __init__(self, spec: ModelSpec, stock_slices: Mapping[str, slice] | None = None):
        self.spec = spec
        self.params = {p.name: p for p in spec.params}
        self.series = {s.name: s for s in spec.series}
        self.auxes = {a.name: a for a in spec.auxes}
        self.stocks = {s.name: s for s in spec.stocks}
        self.flows = {f.name: f for f in spec.flows}
        self.stock_slices = dict(stock_slices or {})
        self.flow_spaces: dict[str, Space] = {}
        self._aux_nodes: dict[str, Node] = {}
        self._series_nodes: dict[str, SeriesNode] = {}
        self._param_nodes: dict[str, ParamNode] = {}
        self._active: list[str] = []
        self._time = TimeNode()
        self._dt = StepNode()

    # -------------------------------------------------------------- names
    def ref(self, name: str) -> Node:
        """The node a bare name refers to.

        Parameters
        ----------
        name
            A parameter, series, derived value, stock or flow, or ``time``/``t``/``dt``.

        Returns
        -------
        Node
            Its evaluation node (one per name, shared by every formula that uses it).
        """
        if name in ("time", "t"):
            return self._time
        if name == "dt":
            return self._dt
        if name in self.params:
            if name not in self._param_nodes:
                self._param_nodes[name] = ParamNode(name, self.params[name].space)
            return self._param_nodes[name]
        if name in self.series:
            if name not in self._series_nodes:
                s = self.series[name]
                self._series_nodes[name] = SeriesNode(name, s.space, s.times, s.values, s.kind)
            return self._series_nodes[name]
        if name in self.auxes:
            if name not in self._aux_nodes:
                if name in self._active:
                    raise SpecError([f"derived values {' -> '.join([*self._active, name])} form a cycle"])
                self._active.append(name)
                try:
                    aux = self.auxes[name]
                    node = self.bind(aux.expr)
                    if aux.space is not None:
                        node = self.onto(node, aux.space, f"derived value {name}")
                finally:
                    self._active.pop()
                self._aux_nodes[name] = node
            return self._aux_nodes[name]
        if name in self.stocks:
            if name not in self.stock_slices:
                raise SpecError([f"stock {name!r} cannot be used here"])
            return StockNode(name, self.stocks[name].space, self.stock_slices[name])
        if name in self.flows:
            if name not in self.flow_spaces:
                raise SpecError([f"flow {name!r} cannot be used here (only in outputs)"])
            return FlowNode(name, self.flow_spaces[name])
        raise SpecError([f"unknown name {name!r}"])

    # -------------------------------------------------------------- alignment
    def align(self, nodes: list[Node]) -> tuple[list[Node], Space]:
        """Bring nodes onto one common space by gathering (xarray-like broadcasting).

        Parameters
        ----------
        nodes
            Terms of one formula.

        Returns
        -------
        tuple of (list of Node, Space)
            The terms gathered onto the common space, and that space.
        """
        spaces = [n.space for n in nodes]
        non_scalar = [s for s in spaces if s.dims]
        if not non_scalar:
            return nodes, SCALAR
        target = None
        for s in sorted(non_scalar, key=lambda s: (-len(s.dims), len(s))):
            if all(o.is_subspace_of(s) for o in non_scalar):
                target = s
                break
        if target is None:
            target = non_scalar[0]
            for s in non_scalar[1:]:
                target = joined_space(target, s, self.spec.dims)
        return [self.onto(n, target, "formula") for n in nodes], target

    def onto(self, node: Node, space: Space, owner: str) -> Node:
        """Gather ``node`` onto ``space`` (its dimensions must be a subset of ``space``'s).

        Parameters
        ----------
        node
            The node.
        space
            The elements wanted.
        owner
            What the formula belongs to, for error messages.

        Returns
        -------
        Node
            ``node`` itself when it is already on ``space``, otherwise a gather.
        """
        if not node.space.dims:
            return node
        if node.space == space:
            return node
        if not node.space.is_subspace_of(space):
            raise SpecError(
                [
                    f"{owner}: a term over {list(node.space.dims)} does not fit "
                    f"elements over {list(space.dims)}"
                ]
            )
        try:
            index = space.projection(node.space)
        except SpaceError as err:
            if isinstance(node, Aggregate) and node.fn == "sum" and node.space.dims == space.dims:
                # a sum over no terms is 0: elements the sum has no terms for get zeros
                pos = node.space.position
                index = np.asarray([pos.get(c, -1) for c in space.coords], dtype=np.intp)
                return GatherZero(node, index, space)
            raise SpecError([f"{owner}: {err}"]) from None
        if np.array_equal(index, np.arange(len(node.space))) and len(index) == len(node.space):
            return node
        return Gather(node, index, space)

    # -------------------------------------------------------------- binding
    def bind(self, e: Expr) -> Node:
        """Bind an expression tree; raises :class:`SpecError` with a readable message.

        Parameters
        ----------
        e
            A parsed formula.

        Returns
        -------
        Node
            The node evaluating it.
        """
        if isinstance(e, Num):
            return Const(e.value)
        if isinstance(e, Ref):
            return self.ref(e.name)
        if isinstance(e, Unary):
            a = self.bind(e.a)
            fn = np.negative if e.op == "-" else (lambda v: (v == 0).astype(float))
            return Apply(fn, [a], a.space)
        if isinstance(e, Binary):
            (a, b), space = self.align([self.bind(e.a), self.bind(e.b)])
            return Apply(BINARY[e.op], [a, b], space)
        if isinstance(e, IfElse):
            nodes, space = self.align([self.bind(e.cond), self.bind(e.a), self.bind(e.b)])
            return Apply(where, nodes, space)
        if isinstance(e, Take):
            return self._take(e)
        if isinstance(e, Assemble):
            return self._assemble(e)
        if isinstance(e, Call):
            if e.fn == "lookup" and e.over is None:
                return self._lookup(e)
            if e.over is not None and e.fn == "sum":
                contracted = self._contract(e)
                if contracted is not None:
                    return contracted
            if e.fn in ("cumsum", "rcumsum"):
                child = self.bind(e.args[0])
                if not e.over or len(e.over) != 1 or e.over[0] not in child.space.dims:
                    raise SpecError([f"{e}: {e.fn} needs over= one dimension of its argument"])
                dim = e.over[0]
                return CumSum(child, dim, e.fn == "rcumsum", self.spec.dims[dim])
            if e.over is not None and e.fn in AGGREGATES:
                child = self.bind(e.args[0])
                over = e.over or child.space.dims
                missing = [d for d in over if d not in child.space.dims]
                if missing:
                    raise SpecError([f"{e}: {missing} are not dimensions of its argument"])
                keep = tuple(d for d in child.space.dims if d not in over)
                target = child.space.sub(keep) if keep else SCALAR
                index = child.space.projection(target) if keep else np.zeros(len(child.space), np.intp)
                return Aggregate(e.fn, child, index, target)
            nodes, space = self.align([self.bind(a) for a in e.args])
            fn = ELEMENTWISE[e.fn]
            return Apply(fn, nodes, space, time=fn in NEEDS_TIME)
        raise SpecError([f"cannot bind {e!r}"])

    # -------------------------------------------------------------- subscripts and tables
    def _take(self, e: Take) -> Node:
        child = self.bind(e.a)
        sp = child.space
        if e.dim not in sp.dims:
            raise SpecError([f"{e}: {e.dim!r} is not a dimension of its argument ({list(sp.dims)})"])
        k = sp.dims.index(e.dim)
        if e.to is None:
            if len(e.labels) != 1:
                raise SpecError([f"{e}: selecting takes one label"])
            keep = [i for i, c in enumerate(sp.coords) if c[k] == e.labels[0]]
            coords = tuple(sp.coords[i][:k] + sp.coords[i][k + 1 :] for i in keep)
            dims = sp.dims[:k] + sp.dims[k + 1 :]
        else:
            new = e.relabel if e.relabel is not None else e.labels
            if len(new) != len(e.labels):
                raise SpecError([f"{e}: {len(e.labels)} labels mapped onto {len(new)}"])
            if e.to != e.dim and e.to in sp.dims:
                raise SpecError([f"{e}: its argument already has dimension {e.to!r}"])
            relabel = dict(zip(e.labels, new))
            keep = [i for i, c in enumerate(sp.coords) if c[k] in relabel]
            coords = tuple(
                (*sp.coords[i][:k], relabel[sp.coords[i][k]], *sp.coords[i][k + 1 :]) for i in keep
            )
            dims = (*sp.dims[:k], e.to, *sp.dims[k + 1 :])
        if not keep:
            raise SpecError([f"{e}: no element of its argument has these labels"])
        try:
            space = Space(dims, coords) if dims else SCALAR
        except SpaceError as err:
            raise SpecError([f"{e}: {err}"]) from None
        return Gather(child, np.asarray(keep, dtype=np.intp), space)

    def _assemble(self, e: Assemble) -> Node:
        if not e.spaces:
            raise SpecError(["assemble() needs at least one piece"])
        dims = e.spaces[0].dims
        if any(s.dims != dims for s in e.spaces):
            raise SpecError([f"{e}: pieces over different dimensions"])
        coords = tuple(c for s in e.spaces for c in s.coords)
        try:
            space = Space(dims, coords) if dims else SCALAR
        except SpaceError as err:
            raise SpecError([f"{e}: pieces overlap: {err}"]) from None
        parts, cols, offset = [], [], 0
        for part, sp in zip(e.parts, e.spaces):
            node = self.onto(self.bind(part), sp, "assembled piece")
            if not node.space.dims and sp.dims and len(sp) > 1:
                node = Gather(node, np.zeros(len(sp), np.intp), sp)
            parts.append(node)
            cols.append(np.arange(offset, offset + len(sp)))
            offset += len(sp)
        # pieces that each pick elements of one and the same node are one gather
        children = {id(p.child) if isinstance(p, Gather) else id(p) for p in parts}
        if len(children) == 1 and len(parts) > 1:
            first = parts[0].child if isinstance(parts[0], Gather) else parts[0]
            if all(len(p.space) == len(sp) and p.space.dims == dims for p, sp in zip(parts, e.spaces)):
                index = np.concatenate(
                    [p.index if isinstance(p, Gather) else np.arange(len(p.space)) for p in parts]
                )
                if len(index) == len(space):
                    return Gather(first, index, space)
        if len(parts) == 1:
            return parts[0] if parts[0].space == space else Gather(parts[0], np.arange(len(space)), space)
        return AssembleNode(parts, cols, space)

    def _lookup(self, e: Call) -> Node:
        table = e.args[0]
        if not isinstance(table, Ref) or table.name not in self.params:
            raise SpecError([f"{e}: the first argument of lookup() must name a table parameter"])
        sp = self.params[table.name].space
        if not sp.dims:
            raise SpecError([f"{e}: table {table.name} needs an x dimension (its last dimension)"])
        axis = sp.dims[-1]
        try:
            grid = np.array([float(v) for v in self.spec.dims[axis]])
        except (KeyError, ValueError):
            raise SpecError(
                [f"{e}: the labels of {axis!r} (x values of {table.name}) must be numbers"]
            ) from None
        if len(grid) == 0 or np.any(np.diff(grid) <= 0):
            raise SpecError([f"{e}: the x values of {table.name} must increase"])
        elems = sp.sub(sp.dims[:-1]) if len(sp.dims) > 1 else SCALAR
        expected = tuple((*c, x) for c in elems.coords for x in self.spec.dims[axis])
        if sp.coords != expected:
            raise SpecError([f"{e}: table {table.name} must give a y value at every x of each element"])
        (ex, xnode), space = self.align([Placeholder(elems), self.bind(e.args[1])])
        if isinstance(ex, Gather):
            element = ex.index
        elif elems.dims:
            element = np.arange(len(elems))
        else:
            element = np.zeros(len(space), np.intp)
        return LookupNode(table.name, grid, np.asarray(element, np.intp), xnode, space)

    def _contract(self, e: Call) -> Node | None:
        """Bind ``sum(a * b, over=...)`` as a :class:`Contract` (see there)."""
        arg = e.args[0]
        if not (isinstance(arg, Binary) and arg.op == "*"):
            return None
        a, b = self.bind(arg.a), self.bind(arg.b)
        if not a.space.dims or not b.space.dims:
            return None
        (a_full, b_full), prod = self.align([a, b])
        over = e.over or prod.dims
        if any(d not in prod.dims for d in over):
            return None
        keep = tuple(d for d in prod.dims if d not in over)
        target = prod.sub(keep) if keep else SCALAR
        out_index = prod.projection(target) if keep else np.zeros(len(prod), np.intp)
        return Contract(
            a, b, a_full, b_full, prod.projection(a.space), prod.projection(b.space), out_index, target
        )
