"""Binding formulas to spaces: expression trees become numpy evaluation nodes.

Every node holds the :class:`~simulator.core._spaces.Space` of its result and the
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

from simulator.core._formulas import AGGREGATES, Assemble, Binary, Call, Expr, IfElse, Num, Ref, Take, Unary
from simulator.core._spaces import SCALAR, Space, SpaceError, aggregation_matrix
from simulator.core._spec import ModelSpec, SpecError

__all__ = ["Binder", "Context", "Node"]


@dataclass
class Context:
    """What nodes read when evaluated: parameters, time, state and a per-round cache."""

    params: Mapping[str, np.ndarray]
    t: float = 0.0
    x: np.ndarray | None = None
    #: ``flow(ctx, name)``: a flow's values in this context (taking the context as an
    #: argument, rather than closing over it, keeps contexts free of reference cycles, so
    #: each step's cached arrays are freed at once instead of by the cyclic collector)
    flow: Callable[[Context, str], np.ndarray] | None = None
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
            if store is ctx.static and out.ndim == 2 and out.shape[0] > 1 and not out.flags.f_contiguous:
                # member-varying values kept for the whole run: store them in the state's
                # column-major layout, so every step's arithmetic with stocks stays contiguous
                out = np.asfortranarray(out)
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
        return ctx.flow(ctx, self.name)


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


class AssembleNode(Node):
    """Pieces written into their columns of the union space: ``out[:, cols[k]] = part_k``."""

    def __init__(self, parts: list[Node], cols: list[np.ndarray], space: Space):
        self.parts, self.cols, self.space = parts, cols, space
        self._inherit(*parts)

    def _eval(self, ctx: Context) -> np.ndarray:
        vals = [p.eval(ctx) for p in self.parts]
        rows = max(v.shape[0] for v in vals)
        out = np.empty((rows, len(self.space)))
        for v, c in zip(vals, self.cols):
            out[:, c] = v
        return out


class LookupNode(Node):
    """Piecewise-linear interpolation of a table parameter, flat beyond both ends.

    The table ``(rows, n_elements * K)`` holds ``K`` y values per element at the
    shared x values ``grid``; ``element[i]`` is the table element each output
    element reads and ``x`` gives the argument on the output space.
    """

    def __init__(self, table: str, grid: np.ndarray, element: np.ndarray, x: Node, space: Space):
        self.table, self.grid, self.element, self.x, self.space = table, grid, element, x, space
        self._inherit(x)
        self.params = self.params | {table}
        self.base = element * len(grid)

    def _eval(self, ctx: Context) -> np.ndarray:
        y = ctx.params[self.table]
        g = self.grid
        xv = self.x.eval(ctx)
        xv = np.broadcast_to(xv, (xv.shape[0], len(self.space)))
        if len(g) == 1:
            return np.broadcast_to(y[:, self.base], (max(y.shape[0], xv.shape[0]), len(self.space)))
        k = np.clip(np.searchsorted(g, xv, side="right"), 1, len(g) - 1)
        x0, x1 = g[k - 1], g[k]
        w = np.clip((xv - x0) / (x1 - x0), 0.0, 1.0)
        i1 = self.base + k
        if y.shape[0] == 1:
            y0, y1 = y[0][i1 - 1], y[0][i1]
        elif xv.shape[0] == 1:
            y0, y1 = y[:, i1[0] - 1], y[:, i1[0]]
        else:
            y0, y1 = np.take_along_axis(y, i1 - 1, axis=1), np.take_along_axis(y, i1, axis=1)
        return y0 + w * (y1 - y0)


class Contract(Aggregate):
    """``sum(a * b, over=...)`` as one sparse matrix product when a factor is the same for all members.

    The factor that does not change during the run and has one row (no member
    axis) is folded, once per chunk of members, into a sparse
    ``(n_other, n_out)`` matrix, so a contraction such as
    ``sum(map[path, group] * at_risk[group], over=group)`` costs one sparse
    product per step instead of a dense product over ``path x group``.
    Otherwise it is the plain product followed by a segment sum.
    """

    def __init__(
        self,
        a: Node,
        b: Node,
        a_full: Node,
        b_full: Node,
        a_index: np.ndarray,
        b_index: np.ndarray,
        out_index: np.ndarray,
        space: Space,
    ):
        # a sum (an Aggregate of fn "sum") whose product is never formed when a factor folds
        self.fn = "sum"
        self.a, self.b, self.a_full, self.b_full, self.space = a, b, a_full, b_full, space
        self.a_index, self.b_index, self.out_index = a_index, b_index, out_index
        self._inherit(a, b)
        self.segments = aggregation_matrix(out_index, len(space))

    def _fold(self, ctx: Context, full: Node, other_index: np.ndarray, n_other: int, key: int):
        store = ctx.static if ctx.static is not None else {}
        m = store.get(key)
        if m is None:
            from scipy import sparse

            w = np.broadcast_to(full.eval(ctx), (1, len(other_index)))[0]
            nz = w != 0  # a 0/1 membership table folds into one entry per member
            m = sparse.csr_matrix(
                (w[nz], (self.out_index[nz], other_index[nz])), shape=(len(self.space), n_other)
            )
            store[key] = m
        return m

    def _eval(self, ctx: Context) -> np.ndarray:
        for fixed, other, full, idx, key in (
            (self.a, self.b, self.a_full, self.b_index, -2 * id(self)),
            (self.b, self.a, self.b_full, self.a_index, -2 * id(self) - 1),
        ):
            if not fixed.dynamic(ctx.varying) and fixed.eval(ctx).shape[0] == 1:
                m = self._fold(ctx, full, idx, len(other.space) if other.space.dims else 1, key)
                v = other.eval(ctx)
                return np.asarray(m @ v.T).T
        return self.segments(self.a_full.eval(ctx) * self.b_full.eval(ctx))


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
    """Elementwise minimum of any number of arrays (pairwise, left to right: no stacked copy)."""
    out = np.minimum(a[0], a[1]) if len(a) > 1 else np.array(a[0], dtype=float)
    for b in a[2:]:
        np.minimum(out, b, out=out)
    return out


def _max(*a):
    """Elementwise maximum of any number of arrays (pairwise, left to right)."""
    out = np.maximum(a[0], a[1]) if len(a) > 1 else np.array(a[0], dtype=float)
    for b in a[2:]:
        np.maximum(out, b, out=out)
    return out


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
    # trigonometry for imported Vensim/XMILE models (formula text does not offer these)
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
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
            fn = _ELEMENTWISE[e.fn]
            return Apply(fn, nodes, space, time=fn in _NEEDS_TIME)
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
        (ex, xnode), space = self.align([_Placeholder(elems), self.bind(e.args[1])])
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


class _Placeholder(Node):
    """A stand-in with a space only, used to work out alignments."""

    def __init__(self, space: Space):
        self.space = space

    def _eval(self, ctx: Context) -> np.ndarray:  # pragma: no cover - never evaluated
        raise RuntimeError("placeholder")
