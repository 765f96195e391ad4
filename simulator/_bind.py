"""Binding formulas to spaces: expression trees become numpy evaluation nodes.

Every node holds the :class:`~simulator.spaces.Space` of its result and the
index arrays it needs, computed once here.  Evaluating a node returns a 2-D
array ``(rows, n)``: ``rows`` is 1 when the value is the same for every
ensemble member, or the number of members; numpy broadcasting does the rest.

Nodes also record what they depend on (parameters, time, state) so the
compiler can evaluate time-independent coefficients once per chunk of members
rather than once per step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .expr import AGGREGATES, Binary, Call, Expr, IfElse, Num, Ref, Unary
from .spaces import SCALAR, Space, SpaceError, aggregation_matrix
from .spec import ModelSpec, SpecError

__all__ = ["Binder", "Context", "Node"]


@dataclass
class Context:
    """What nodes read when evaluated: parameters, time, state and a per-round cache."""

    params: Mapping[str, np.ndarray]
    t: float = 0.0
    x: np.ndarray | None = None
    flow: Callable[[str], np.ndarray] | None = None
    cache: dict[int, np.ndarray] = field(default_factory=dict)
    #: values of nodes that do not change during a run, shared by every step of a chunk
    static: dict[int, np.ndarray] | None = None
    varying: frozenset[str] = frozenset()
    #: the integration step (months), for formulas that use ``dt``
    dt: float = 1.0


class Node:
    """A bound expression node (see the module docstring)."""

    space: Space = SCALAR
    params: frozenset[str] = frozenset()
    time: bool = False
    state: bool = False

    def eval(self, ctx: Context) -> np.ndarray:
        """Value of the node, shape ``(1 or members, len(space))``, with caching."""
        key = id(self)
        store = ctx.cache
        if ctx.static is not None and not self.dynamic(ctx.varying):
            store = ctx.static
        out = store.get(key)
        if out is None:
            out = self._eval(ctx)
            store[key] = out
        return out

    def _eval(self, ctx: Context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inherit(self, *children: Node) -> None:
        self.params = frozenset().union(*(c.params for c in children))
        self.time = any(c.time for c in children)
        self.state = any(c.state for c in children)

    def dynamic(self, varying: frozenset[str] = frozenset()) -> bool:
        """Whether the value changes during a run (time, state or time-varying parameters)."""
        return self.time or self.state or bool(self.params & varying)


class Const(Node):
    def __init__(self, value: float):
        self.value = np.array([[float(value)]])

    def _eval(self, ctx: Context) -> np.ndarray:
        return self.value


class ParamNode(Node):
    def __init__(self, name: str, space: Space):
        self.name, self.space, self.params = name, space, frozenset([name])

    def _eval(self, ctx: Context) -> np.ndarray:
        return ctx.params[self.name]


class SeriesNode(Node):
    """Piecewise-linear interpolation between knots, flat beyond both ends."""

    time = True

    def __init__(self, name: str, space: Space, times: np.ndarray, values: np.ndarray, kind: str = "linear"):
        self.name, self.space, self.kind = name, space, kind
        self.times = np.asarray(times, dtype=float)
        self.values = np.asarray(values, dtype=float)  # (n, K)

    def at(self, t: float) -> np.ndarray:
        """Values at time ``t``, shape ``(1, n)``."""
        ts, v = self.times, self.values
        if t <= ts[0]:
            return v[:, :1].T
        if t >= ts[-1]:
            return v[:, -1:].T
        # step series change at a knot (within 1e-9, so t = k * dt lands on whole months)
        k = int(np.searchsorted(ts, t + (1e-9 if self.kind == "step" else 0.0), side="right")) - 1
        if self.kind == "step":
            return v[:, k : k + 1].T
        x0, x1 = ts[k], ts[k + 1]
        y0, y1 = v[:, k], v[:, k + 1]
        return (y0 + (y1 - y0) * ((t - x0) / (x1 - x0)))[None, :]

    def _eval(self, ctx: Context) -> np.ndarray:
        return self.at(ctx.t)


class TimeNode(Node):
    time = True

    def _eval(self, ctx: Context) -> np.ndarray:
        return np.array([[ctx.t]])


class StepNode(Node):
    """The integration step ``dt`` (months): constant during a run."""

    def _eval(self, ctx: Context) -> np.ndarray:
        return np.array([[ctx.dt]])


class CumSum(Node):
    """Cumulative sum along one dimension, the other labels fixed (``reverse``: from the last label)."""

    def __init__(self, child: Node, dim: str, reverse: bool, order: Sequence[str]):
        from scipy import sparse

        self.child, self.space = child, child.space
        self._inherit(child)
        sp = child.space
        k = sp.dims.index(dim)
        rank = {lab: i for i, lab in enumerate(order)}
        others = [tuple(c[:k] + c[k + 1 :]) for c in sp.coords]
        rows, cols = [], []
        for i, (ci, oi) in enumerate(zip(sp.coords, others)):
            for j, (cj, oj) in enumerate(zip(sp.coords, others)):
                if oi == oj and (rank[cj[k]] >= rank[ci[k]] if reverse else rank[cj[k]] <= rank[ci[k]]):
                    rows.append(i)
                    cols.append(j)
        self.matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sp), len(sp)))

    def _eval(self, ctx: Context) -> np.ndarray:
        v = self.child.eval(ctx)
        return np.asarray(self.matrix @ np.asarray(v).T).T


class StockNode(Node):
    state = True

    def __init__(self, name: str, space: Space, sl: slice):
        self.name, self.space, self.slice = name, space, sl

    def _eval(self, ctx: Context) -> np.ndarray:
        assert ctx.x is not None, "stock values are not available here"
        return ctx.x[:, self.slice]


class FlowNode(Node):
    state = True

    def __init__(self, name: str, space: Space):
        self.name, self.space = name, space

    def _eval(self, ctx: Context) -> np.ndarray:
        assert ctx.flow is not None, "flow values are not available here"
        return ctx.flow(self.name)


class Gather(Node):
    def __init__(self, child: Node, index: np.ndarray, space: Space):
        self.child, self.index, self.space = child, index, space
        self._inherit(child)

    def _eval(self, ctx: Context) -> np.ndarray:
        return self.child.eval(ctx)[:, self.index]


class GatherZero(Node):
    """Gather with zeros where ``index`` is -1: a sum onto elements it has no terms for."""

    def __init__(self, child: Node, index: np.ndarray, space: Space):
        self.child, self.space = child, space
        self.index = np.where(index < 0, 0, index)
        self.missing = np.flatnonzero(index < 0)
        self._inherit(child)

    def _eval(self, ctx: Context) -> np.ndarray:
        out = self.child.eval(ctx)[:, self.index]
        out[:, self.missing] = 0.0
        return out


class Aggregate(Node):
    def __init__(self, fn: str, child: Node, index: np.ndarray, space: Space):
        self.fn, self.child, self.space = fn, child, space
        self._inherit(child)
        n_out = len(space)
        if fn in ("sum", "mean"):
            self.matrix = aggregation_matrix(index, n_out)
            counts = np.bincount(index, minlength=n_out).astype(float)
            self.scale = None if fn == "sum" else 1.0 / np.maximum(counts, 1.0)
        else:
            order = np.argsort(index, kind="stable")
            self.order = order
            self.starts = np.r_[0, np.flatnonzero(np.diff(index[order])) + 1]
            self.ufunc = {"prod": np.multiply, "min": np.minimum, "max": np.maximum}[fn]

    def _eval(self, ctx: Context) -> np.ndarray:
        v = self.child.eval(ctx)
        if self.fn in ("sum", "mean"):
            out = self.matrix(v)
            return out if self.scale is None else out * self.scale
        return self.ufunc.reduceat(v[:, self.order], self.starts, axis=1)


class Apply(Node):
    def __init__(self, fn: Callable[..., np.ndarray], children: list[Node], space: Space, time=False):
        self.fn, self.children, self.space = fn, children, space
        self._inherit(*children)
        self.time = self.time or time

    def _eval(self, ctx: Context) -> np.ndarray:
        args = [c.eval(ctx) for c in self.children]
        if self.fn in _NEEDS_TIME:
            return np.asarray(self.fn(ctx.t, *args), dtype=float)
        return np.asarray(self.fn(*args), dtype=float)


def _xidz(a, b, x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, x, a / np.where(b == 0, 1.0, b))


def _step(t, height, t0):
    return np.where(t >= t0, height, 0.0)


def _ramp(t, slope, start, end):
    return slope * (np.clip(t, start, end) - start)


def _pulse(t, start, width):
    return np.where((t >= start) & (t < start + width), 1.0, 0.0)


def _min(*a):
    return np.minimum.reduce(np.broadcast_arrays(*a))


def _max(*a):
    return np.maximum.reduce(np.broadcast_arrays(*a))


_NEEDS_TIME = {_step, _ramp, _pulse}
_ELEMENTWISE: dict[str, Callable[..., np.ndarray]] = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "min": _min,
    "max": _max,
    "clip": np.clip,
    "where": lambda c, a, b: np.where(c != 0, a, b),
    "xidz": _xidz,
    "zidz": lambda a, b: _xidz(a, b, 0.0),
    "step": _step,
    "ramp": _ramp,
    "pulse": _pulse,
}
_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
    "<": lambda a, b: (a < b).astype(float),
    "<=": lambda a, b: (a <= b).astype(float),
    ">": lambda a, b: (a > b).astype(float),
    ">=": lambda a, b: (a >= b).astype(float),
    "==": lambda a, b: (a == b).astype(float),
    "!=": lambda a, b: (a != b).astype(float),
    "and": lambda a, b: ((a != 0) & (b != 0)).astype(float),
    "or": lambda a, b: ((a != 0) | (b != 0)).astype(float),
}


def _join(a: Space, b: Space, order: Mapping[str, Sequence[str]]) -> Space:
    """Elements of ``a`` and ``b`` combined where they agree on shared dimensions.

    A term over (service) times a term over (stage) lives on every (service,
    stage) pair of the services and stages the terms actually have, not on
    every label of the model.
    """
    dims = tuple(d for d in order if d in a.dims or d in b.dims)
    shared = [d for d in a.dims if d in b.dims]
    ia = [a.dims.index(d) for d in shared]
    ib = [b.dims.index(d) for d in shared]
    by_key: dict[tuple, list[tuple[str, ...]]] = {}
    for cb in b.coords:
        by_key.setdefault(tuple(cb[i] for i in ib), []).append(cb)
    coords = []
    for ca in a.coords:
        for cb in by_key.get(tuple(ca[i] for i in ia), []):
            labels = dict(zip(a.dims, ca)) | dict(zip(b.dims, cb))
            coords.append(tuple(labels[d] for d in dims))
    rank = [{lab: i for i, lab in enumerate(order[d])} for d in dims]
    coords.sort(key=lambda c: tuple(r[x] for r, x in zip(rank, c)))
    return Space(dims, tuple(coords))


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
        """The node a bare name refers to."""
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
        """Bring nodes onto one common space by gathering (xarray-like broadcasting)."""
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
                target = _join(target, s, self.spec.dims)
        return [self.onto(n, target, "formula") for n in nodes], target

    def onto(self, node: Node, space: Space, owner: str) -> Node:
        """Gather ``node`` onto ``space`` (its dimensions must be a subset of ``space``'s)."""
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
        """Bind an expression tree; raises :class:`SpecError` with a readable message."""
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
            return Apply(_BINARY[e.op], [a, b], space)
        if isinstance(e, IfElse):
            nodes, space = self.align([self.bind(e.cond), self.bind(e.a), self.bind(e.b)])
            return Apply(lambda c, a, b: np.where(c != 0, a, b), nodes, space)
        if isinstance(e, Call):
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
            fn = _ELEMENTWISE[e.fn]
            return Apply(fn, nodes, space, time=fn in _NEEDS_TIME)
        raise SpecError([f"cannot bind {e!r}"])
