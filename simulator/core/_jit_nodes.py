"""Lowering evaluation nodes that change during a run to ops of the compiled kernel.

:func:`lower_node` turns one node of :mod:`simulator.core._nodes` (whose
children are lowered first, through the builder of
:mod:`simulator.core._jit_lower`) into ops of :mod:`simulator.core._jit_ops`
with the same arithmetic as the node's numpy evaluation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import simulator.core._jit_ops as J
from simulator.core._contract import Contract
from simulator.core._elementwise import BINARY, ELEMENTWISE, where
from simulator.core._jit_ops import Unsupported, stride
from simulator.core._nodes import (
    Aggregate,
    Apply,
    AssembleNode,
    CumSum,
    FlowNode,
    Gather,
    GatherZero,
    LookupNode,
    Node,
    ParamNode,
    SeriesNode,
    TimeNode,
)

__all__ = ["classify_apply", "lower_node", "selected_flow"]

_UNARY: dict[Any, str] = {
    np.negative: "neg",
    np.exp: "exp",
    np.log: "log",
    np.sqrt: "sqrt",
    np.abs: "abs",
    np.floor: "floor",
    np.ceil: "ceil",
    np.sin: "sin",
    np.cos: "cos",
    np.tan: "tan",
    np.arcsin: "arcsin",
    np.arccos: "arccos",
    np.arctan: "arctan",
    np.sinh: "sinh",
    np.cosh: "cosh",
    np.tanh: "tanh",
}
_BINARY: dict[Any, str] = {fn: op for op, fn in BINARY.items()}
_BINARY[np.multiply] = "*"
_BINARY[ELEMENTWISE["zidz"]] = "zidz"
_NARY = {ELEMENTWISE["min"]: "min", ELEMENTWISE["max"]: "max"}
_TERNARY = {where: "where", np.clip: "clip", ELEMENTWISE["xidz"]: "xidz"}
_TIMEFN = {ELEMENTWISE["step"]: "step", ELEMENTWISE["ramp"]: "ramp", ELEMENTWISE["pulse"]: "pulse"}


def classify_apply(fn: Any, n_args: int) -> tuple[str, str]:
    """The kind (``unary``, ``binary``, ``nary``, ``ternary``, ``time``) and name of an elementwise function.

    Parameters
    ----------
    fn
        The function of an :class:`~simulator.core._nodes.Apply` node.
    n_args
        Its number of arguments.

    Returns
    -------
    tuple of str

    Raises
    ------
    Unsupported
        For a function the kernel has no op for.
    """
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_qualname == "Binder.bind.<locals>.<lambda>" and n_args == 1:
        return "unary", "not"  # the formula's ``not``
    for kind, table in (
        ("unary", _UNARY),
        ("binary", _BINARY),
        ("nary", _NARY),
        ("ternary", _TERNARY),
        ("time", _TIMEFN),
    ):
        try:
            name = table.get(fn)
        except TypeError:
            name = None
        if name is not None:
            return kind, name
    raise Unsupported(f"the function {getattr(fn, '__name__', fn)!r}")


def lower_node(b: Any, nd: Node, width: int) -> tuple[int, int]:
    """Emit the ops computing ``nd`` (its children first); return its rows ``(row, width)``.

    Parameters
    ----------
    b
        The program builder (:class:`simulator.core._jit_lower._Builder`).
    nd
        A node whose value changes during the run.
    width
        Its number of elements.

    Returns
    -------
    tuple of int
        First row and number of rows of its values.

    Raises
    ------
    Unsupported
        For a node the kernel has no op for.
    """
    if isinstance(nd, FlowNode):
        slot = b.flow(nd.name)
        b.depends(nd, ("flow", nd.name))
        return slot
    if isinstance(nd, Apply):
        return _apply(b, nd, width)
    if isinstance(nd, Contract):
        return _contract(b, nd, width)
    if isinstance(nd, Aggregate):
        return _aggregate(b, nd, width)
    if isinstance(nd, CumSum):
        a, _ = b.node(nd.child)
        b.depends(nd, nd.child)
        return b.spmv(nd, nd.matrix, a, width), width
    row = b.new(width)
    if isinstance(nd, TimeNode):
        b.emit(nd, J.TIME, row, 1)
    elif isinstance(nd, SeriesNode):
        b.emit(nd, J.SERIES, row, width, i0=b.n_series)
        b.series.append((nd, b.n_series, width))
        b.n_series += width
    elif isinstance(nd, ParamNode):
        b.emit(nd, J.VPARAM, row, width, i0=b.vparam(nd.name, width))
    elif isinstance(nd, GatherZero | Gather):
        a, _ = b.node(nd.child)
        index = np.array(nd.index, dtype=np.int64)
        if isinstance(nd, GatherZero):
            index[nd.missing] = -1
        b.emit(nd, J.GATHERZ if isinstance(nd, GatherZero) else J.GATHER, row, width, a=a, i0=b.idx(index))
        b.depends(nd, nd.child)
    elif isinstance(nd, AssembleNode):
        for part, cols in zip(nd.parts, nd.cols):
            a, w = b.node(part)
            sa = stride(w, len(cols), "assembled piece")
            b.emit(nd, J.SCATTER, row, len(cols), a=a, sa=sa, i0=b.idx(cols))
            b.depends(nd, part)
    elif isinstance(nd, LookupNode):
        a, w = b.node(nd.x)
        t, _ = b.param_slot(nd.table, int(b.cm.defaults[nd.table].shape[1]))
        sa = stride(w, width, "lookup")
        b.emit(
            nd, J.LOOKUP, row, width, a=a, sa=sa, b=t, c=len(nd.grid), f0=b.flt(nd.grid), i0=b.idx(nd.base)
        )
        b.depends(nd, nd.x, ("param", nd.table))
    else:
        raise Unsupported(f"a {type(nd).__name__} node")
    return row, width


def _apply(b: Any, nd: Apply, width: int) -> tuple[int, int]:
    kind, name = classify_apply(nd.fn, len(nd.children))
    kids = [b.node(c) for c in nd.children]
    b.depends(nd, *nd.children)
    st = [stride(w, width, f"function {name}") for _, w in kids]
    row = b.new(width)
    if kind == "unary":
        b.emit(nd, J.UNARY, row, width, sub=J.UNARY_OPS.index(name), a=kids[0][0], sa=st[0])
    elif kind == "binary":
        sub = J.BINARY_OPS.index(name)
        b.emit(nd, J.BINARY, row, width, sub=sub, a=kids[0][0], sa=st[0], b=kids[1][0], sb=st[1])
    elif kind == "nary":
        sub = J.BINARY_OPS.index(name)
        if len(kids) == 1:
            b.emit(nd, J.COPY, row, width, a=kids[0][0], sa=st[0])
        else:
            b.emit(nd, J.BINARY, row, width, sub=sub, a=kids[0][0], sa=st[0], b=kids[1][0], sb=st[1])
            for (r, _), s in zip(kids[2:], st[2:]):
                b.emit(nd, J.BINARY, row, width, sub=sub, a=row, sa=1, b=r, sb=s)
    else:
        while len(kids) < 3:
            kids.append(kids[0])
            st.append(st[0])
        code, names = (J.TERNARY, J.TERNARY_OPS) if kind == "ternary" else (J.TIMEFN, J.TIME_OPS)
        sub = names.index(name)
        (a, _), (bb, _), (c, _) = kids
        b.emit(nd, code, row, width, sub=sub, a=a, sa=st[0], b=bb, sb=st[1], c=c, sc=st[2])
    return row, width


def _aggregate(b: Any, nd: Aggregate, width: int) -> tuple[int, int]:
    a, w = b.node(nd.child)
    b.depends(nd, nd.child)
    if nd.fn in ("sum", "mean"):
        row = b.spmv(nd, nd.matrix.matrix, a, width)  # type: ignore[attr-defined]
        if nd.scale is not None:
            b.emit(nd, J.SCALE, row, width, a=row, sa=1, f0=b.flt(nd.scale))
        return row, width
    if w != len(nd.order):
        raise Unsupported(f"{nd.fn} over {w} values for {len(nd.order)} elements")
    row = b.new(width)
    starts = np.r_[nd.starts, len(nd.order)]
    if len(nd.starts) != width:
        raise Unsupported(f"{nd.fn}: {len(nd.starts)} groups for {width} elements")
    sub = ("prod", "min", "max").index(nd.fn)
    b.emit(nd, J.SEGRED, row, width, sub=sub, a=a, i0=b.idx(starts), i1=b.idx(nd.order))
    return row, width


def _contract(b: Any, nd: Contract, width: int) -> tuple[int, int]:
    for fixed, other, full, idx in (
        (nd.a, nd.b, nd.a_full, nd.b_index),
        (nd.b, nd.a, nd.b_full, nd.a_index),
    ):
        if not fixed.dynamic(b.varying) and not (fixed.params & b.member):
            a, w = b.node(other)
            if w != len(other.space):
                break
            off = b.n_shared
            b.shared.append((full, off, len(idx)))
            b.n_shared += len(idx)
            row = b.new(width)
            b.emit(nd, J.CONTRACT, row, width, a=a, c=len(idx), f0=off, i0=b.idx(nd.out_index), i1=b.idx(idx))
            b.depends(nd, other)
            return row, width
    (ra, wa), (rb, wb) = b.node(nd.a_full), b.node(nd.b_full)
    b.depends(nd, nd.a_full, nd.b_full)
    n = len(nd.out_index)
    prod = b.new(n)
    sa, sb = stride(wa, n, "sum of a product"), stride(wb, n, "sum of a product")
    b.emit(nd, J.BINARY, prod, n, sub=2, a=ra, sa=sa, b=rb, sb=sb)
    return b.spmv(nd, nd.segments.matrix, prod, width), width


def selected_flow(b: Any, key: object, var: str, matrix: object) -> tuple[int, int, Any, object]:
    """Rows of flow ``var`` for a recorded reduction: only the elements it uses, when it uses few.

    A target summing one service's referrals reads a handful of a flow's hundreds of elements:
    those alone are computed at report steps (their coefficients gathered, times their stocks).

    Parameters
    ----------
    b
        The program builder.
    key
        The recorded item's key (the ops are its own).
    var
        The flow.
    matrix
        The item's reduction (a :class:`~simulator.core._spaces.SegmentSum`) or ``None``.

    Returns
    -------
    tuple
        First row and width of the values, the reduction's sparse matrix over them (``None``:
        the whole flow, the item's own matrix), and what the item depends on (``None``: set here).
    """
    csr = getattr(matrix, "matrix", None)
    tb = b.transfer(var)
    if csr is not None and tb is not None:
        csc = csr.tocsc()
        csc.eliminate_zeros()
        cols = np.flatnonzero(np.diff(csc.indptr))
        if 2 * len(cols) <= len(tb.of):
            c, cw = b.node(tb.coef)
            n = len(cols)
            if stride(cw, len(tb.of), var):  # a coefficient per element: gather the used ones
                g = b.new(n)
                b.emit(key, J.GATHER, g, n, a=c, i0=b.idx(cols))
                c = g
            row = b.new(n)
            b.emit(key, J.MULGATHER, row, n, a=c, sa=1 if cw > 1 else 0, i0=b.idx(np.asarray(tb.of)[cols]))
            b.depends(key, tb.coef)
            return row, n, csc[:, cols].tocsr(), None
    row, w = b.flow(var)
    return row, w, None, ("flow", var)
