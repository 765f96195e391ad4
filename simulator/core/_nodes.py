"""Evaluation nodes: a bound formula is a tree of these, each evaluating to a ``(rows, n)`` array.

Every node holds the :class:`~simulator.core._spaces.Space` of its result and the
index arrays it needs, computed once when bound.  Evaluating a node returns a 2-D
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

from simulator.core._elementwise import NEEDS_TIME
from simulator.core._spaces import SCALAR, Space, aggregation_matrix

__all__ = [
    "Aggregate",
    "Apply",
    "AssembleNode",
    "Const",
    "Context",
    "CumSum",
    "FlowNode",
    "Gather",
    "GatherZero",
    "LookupNode",
    "Node",
    "ParamNode",
    "Placeholder",
    "SeriesNode",
    "StepNode",
    "StockNode",
    "TimeNode",
]


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
        """Value of the node, shape ``(1 or members, len(space))``, with caching.

        Parameters
        ----------
        ctx
            Parameters, time (months), state and caches of this evaluation.

        Returns
        -------
        numpy.ndarray
            The values, in the units of the formula.
        """
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
        """Whether the value changes during a run (time, state or time-varying parameters).

        Parameters
        ----------
        varying
            Parameters that vary in time in this run.

        Returns
        -------
        bool
            ``True`` if the node must be evaluated at every step.
        """
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
        """Values at time ``t``, shape ``(1, n)``.

        Parameters
        ----------
        t
            Time, months.

        Returns
        -------
        numpy.ndarray
            The interpolated values, in the series' unit.
        """
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
        if self.fn in NEEDS_TIME:
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


class Placeholder(Node):
    """A stand-in with a space only, used to work out alignments."""

    def __init__(self, space: Space):
        self.space = space

    def _eval(self, ctx: Context) -> np.ndarray:  # pragma: no cover - never evaluated
        raise RuntimeError("placeholder")
