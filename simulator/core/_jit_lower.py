"""Lowering a compiled model to a program of the compiled step kernel.

The program (:class:`Program`) is the model's evaluation nodes and flow blocks
as a table of ops over one workspace (see :mod:`simulator.core._jit_ops`):
rows ``0 .. S-1`` hold the state (a stock node reads them in place), rows
``S .. 2S-1`` the derivative, then (RK4) two more state-sized areas, then one
row range per node.  Nodes that do not change during a run (parameters and
what is computed from them only) are evaluated once per chunk by numpy
(:class:`~simulator.core._nodes.Node`) and copied into their rows once per
block: they are the *static* slots.  Everything else becomes ops, marked for
the step (bit 1: the derivative) and for recording (bit 2).  A construct
without an op raises :class:`Unsupported`; the model then runs on the numpy
kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import simulator.core._jit_ops as J
from simulator.core._compiler import CompiledModel
from simulator.core._jit_nodes import lower_node, selected_flow
from simulator.core._jit_ops import Unsupported, stride
from simulator.core._jit_program import Program
from simulator.core._kernel_record import RecordItem
from simulator.core._nodes import Const, Node, ParamNode, SeriesNode, StockNode

__all__ = ["Program", "Unsupported", "lower"]


class _Builder:
    def __init__(self, cm: CompiledModel, varying: frozenset[str], member: frozenset[str], rk4: bool):
        self.cm, self.varying, self.member = cm, varying, member
        self.s = self.d = cm.n_stocks
        self.rows = self.s * (4 if rk4 else 2)
        self.lrow = -1  # first row of the per-stock loss rates (per month), or -1
        self.ops: list[list[int]] = []
        self.ix: list[np.ndarray] = []
        self.fl: list[np.ndarray] = []
        self.n_ix = self.n_fl = self.n_shared = self.n_series = self.n_vp = 0
        self.slots: dict[object, tuple[int, int]] = {}
        #: ops of each slot and the slots it reads, for marking what a phase needs
        self.deps: dict[object, tuple[list[int], list[object]]] = {}
        self.static: list[tuple[Node, int, int]] = []
        self.tables: dict[str, tuple[int, int]] = {}
        self.shared: list[tuple[Node, int, int]] = []
        self.series: list[tuple[SeriesNode, int, int]] = []
        self.vparams: dict[str, tuple[int, int]] = {}

    # ------------------------------------------------------------------ storage
    def new(self, n: int) -> int:
        r = self.rows
        self.rows += n
        return r

    def idx(self, a: np.ndarray) -> int:
        off = self.n_ix
        self.ix.append(np.asarray(a, dtype=np.int64).ravel())
        self.n_ix += len(self.ix[-1])
        return off

    def flt(self, a: np.ndarray) -> int:
        off = self.n_fl
        self.fl.append(np.asarray(a, dtype=float).ravel())
        self.n_fl += len(self.fl[-1])
        return off

    def emit(self, key: object, code: int, out: int, n: int, sub: int = 0, **kw: int) -> None:
        row = [code, 0, sub, out, n, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        for name, v in kw.items():
            row[J.COLUMNS.index(name)] = int(v)
        self.deps.setdefault(key, ([], []))[0].append(len(self.ops))
        self.ops.append(row)

    def depends(self, key: object, *children: object) -> None:
        self.deps.setdefault(key, ([], []))[1].extend(children)

    def mark(self, key: object, bit: int) -> None:
        stack = [key]
        seen: set[int] = set()
        while stack:
            k = stack.pop()
            if id(k) in seen:
                continue
            seen.add(id(k))
            ops, children = self.deps.get(k, ([], []))
            for q in ops:
                self.ops[q][1] |= bit
            stack.extend(children)

    # ------------------------------------------------------------------ nodes
    def node(self, nd: Node) -> tuple[int, int]:
        """The rows ``(row, width)`` of a node's values, lowering it on first use."""
        hit = self.slots.get(nd)
        if hit is not None:
            return hit
        width = len(nd.space)
        if isinstance(nd, StockNode):
            slot = (nd.slice.start, nd.slice.stop - nd.slice.start)
        elif not nd.dynamic(self.varying):
            slot = self._static(nd, width)
        else:
            slot = self._dynamic(nd, width)
        self.slots[nd] = slot
        return slot

    def _static(self, nd: Node, width: int) -> tuple[int, int]:
        """A value fixed for the run: computed by ops once per block when it varies by member.

        Member-varying values computed from parameters run in the kernel, where each block's
        members are (their ops run once per block: mask 4, set by ``_segment_only``), so only
        the member parameters themselves are copied in; values shared by every member,
        and constructs without ops, are evaluated by numpy once per chunk (static slots).
        """
        if isinstance(nd, ParamNode) and nd.name in self.member:
            row, _ = self.param_slot(nd.name, width)
            return row, width
        if nd.params & self.member and not isinstance(nd, ParamNode | Const):
            try:
                return lower_node(self, nd, width)
            except Unsupported:
                # numpy evaluates it; ops already emitted for it are dropped (no bits, never run)
                self.deps.pop(nd, None)
        row = self.new(width)
        self.static.append((nd, row, width))
        return row, width

    def _dynamic(self, nd: Node, width: int) -> tuple[int, int]:
        return lower_node(self, nd, width)

    def param_slot(self, name: str, width: int) -> tuple[int, int]:
        """Rows holding a parameter (a lookup's table): static, or from the time-varying table."""
        key = ("param", name)
        hit = self.slots.get(key)
        if hit is not None:
            return hit
        row = self.new(width)
        if name in self.varying:
            col = self.vparam(name, width)
            self.emit(key, J.VPARAM, row, width, i0=col)
        else:
            self.tables[name] = (row, width)
        self.slots[key] = (row, width)
        return row, width

    def vparam(self, name: str, width: int) -> int:
        if name not in self.vparams:
            self.vparams[name] = (self.n_vp, width)
            self.n_vp += width
        return self.vparams[name][0]

    # ------------------------------------------------------------------ flows
    def transfer(self, name: str):
        """The transfer block of flow ``name``, or ``None`` (an inflow)."""
        return next((b for b in self.cm.transfers if b.name == name), None)

    def flow(self, name: str) -> tuple[int, int]:
        """Rows of a flow's values (people per month), ``(row, width)``."""
        key = ("flow", name)
        hit = self.slots.get(key)
        if hit is not None:
            return hit
        cm = self.cm
        n = len(cm.flow_spaces[name])
        tb = self.transfer(name)
        if tb is not None:
            c, cw = self.node(tb.coef)
            row = self.new(n)
            self.emit(key, J.MULGATHER, row, n, a=c, sa=stride(cw, n, name), i0=self.idx(tb.of))
            self.depends(key, tb.coef)
        else:
            ib = next(b for b in cm.inflows if b.name == name)
            v, vw = self.node(ib.value)
            self.depends(key, ib.value)
            if vw == n:
                row = v
            else:
                row = self.new(n)
                self.emit(key, J.COPY, row, n, a=v, sa=stride(vw, n, name))
        self.slots[key] = (row, n)
        return row, n

    def moves(self) -> None:
        """Ops adding every flow into the derivative rows (the numpy kernel's semantics)."""
        cm = self.cm
        losses = [b for b in cm.transfers if b.moves and b.loss and not b.tally]
        if losses:
            # per-stock loss rates: once per block when static, else every derivative
            dynamic = any(b.coef.dynamic(self.varying) for b in losses)
            self.lrow = self.new(self.s)
            key = ("loss",)
            self.emit(key, J.ZERO, self.lrow, self.s)
            for b in losses:
                c, cw = self.node(b.coef)
                sa = stride(cw, len(b.of), b.name)
                self.emit(key, J.LOSSADD, self.lrow, len(b.of), a=c, sa=sa, i0=self.idx(b.of))
                self.depends(key, b.coef)
            self.mark(key, 1 if dynamic else 4)
        for b in cm.transfers:
            if not b.moves:
                continue
            if not b.tally:
                self._transfer(b)
                continue
            row, n = self.flow(b.name)
            targets = [(t, 0) for t in ([b.dst] if b.dst is not None else [])]
            targets += [(b.src, 1)] if b.src is not None else []
            targets += [(t, 0) for t in b.tally]
            self._adds(("move", b.name), ("flow", b.name), row, n, targets)
        for ib in cm.inflows:
            if not ib.moves:
                continue  # an inflow's source is not drained (as in the numpy kernel)
            v, vw = self.node(ib.value)
            n = len(cm.flow_spaces[ib.name])
            targets = [(t, 0) for t in ([ib.dst] if ib.dst is not None else [])]
            targets += [(t, 0) for t in ib.tally]
            sa = stride(vw, n, ib.name)
            for t, sign in targets:
                self.emit(("move", ib.name), J.FLOWADD, 0, n, sub=sign, a=v, sa=sa, c=self.d, i0=self.idx(t))
            self.depends(("move", ib.name), ib.value)
            self.mark(("move", ib.name), 1)

    def _transfer(self, tb) -> None:
        """One fused op: each element's flow into its target and out of its source."""
        key = ("move", tb.name)
        c, cw = self.node(tb.coef)
        n = len(tb.of)
        sub = (1 if tb.dst is not None else 0) | (2 if tb.src is not None and not tb.loss else 0)
        dst = self.idx(tb.dst) if tb.dst is not None else 0
        src = self.idx(tb.src) if tb.src is not None else 0
        sa = stride(cw, n, tb.name)
        self.emit(key, J.FLOW, 0, n, sub=sub, a=c, sa=sa, b=self.d, c=src, i0=self.idx(tb.of), i1=dst)
        self.depends(key, tb.coef)
        self.mark(key, 1)

    def _adds(self, key: object, dep: object, row: int, n: int, targets: list) -> None:
        for t, sign in targets:
            self.emit(key, J.FLOWADD, 0, n, sub=sign, a=row, sa=1, c=self.d, i0=self.idx(t))
        self.depends(key, dep)
        self.mark(key, 1)

    # ------------------------------------------------------------------ recording
    def recorded(self, record: Sequence[RecordItem]) -> list[tuple[str, int, int, bool]]:
        cm = self.cm
        ordered = [r for r in record if r.base is None] + [r for r in record if r.base is not None]
        rows: dict[str, int] = {}
        out = []
        for r in ordered:
            key = ("record", r.name)
            if r.base is not None:
                if r.factor is None:
                    raise Unsupported(f"recorded {r.name}: a base without a factor")
                f, fw = self.node(r.factor)
                self.depends(key, r.factor, ("record", r.base))
                if r.factor_index is not None:
                    g = self.new(len(r.factor_index))
                    self.emit(key, J.GATHER, g, len(r.factor_index), a=f, i0=self.idx(r.factor_index))
                    f, fw = g, len(r.factor_index)
                row = self.new(r.n_out)
                sa = stride(fw, r.n_out, r.name)
                self.emit(key, J.BINARY, row, r.n_out, sub=2, a=rows[r.base], sa=1, b=f, sb=sa)
            else:
                var = r.variable
                picked = None
                if var in cm.slices:
                    sl = cm.slices[var]
                    src, w = sl.start, sl.stop - sl.start
                    dep: object = None
                elif var in cm.flow_spaces:
                    src, w, picked, dep = selected_flow(self, key, var, r.matrix)
                else:
                    node = cm.outputs[var] if var in cm.outputs else cm.auxes[var]
                    src, w = self.node(node)
                    dep = node
                if dep is not None:
                    self.depends(key, dep)
                if r.matrix is not None:
                    csr = getattr(r.matrix, "matrix", None) if picked is None else picked
                    if csr is None:
                        raise Unsupported(f"recorded {r.name}: a reduction without a sparse matrix")
                    row = self.spmv(key, csr, src, r.n_out)
                elif w != r.n_out:
                    row = self.new(r.n_out)
                    self.emit(key, J.COPY, row, r.n_out, a=src, sa=stride(w, r.n_out, r.name))
                else:
                    row = src
            rows[r.name] = row
            self.mark(key, 2)
            out.append((r.name, row, r.n_out, r.hidden))
        return out

    def spmv(self, key: object, csr, src: int, n_out: int) -> int:
        csr = csr.tocsr()
        row = self.new(n_out)
        self.emit(
            key,
            J.SPMV,
            row,
            n_out,
            a=src,
            i0=self.idx(csr.indptr),
            i1=self.idx(csr.indices),
            f0=self.flt(csr.data),
        )
        return row

    def _segment_only(self) -> None:
        """Flag (8) the ops of values that change only with the time-varying parameters' segment.

        The kernel runs them once per segment (their rows keep the values), not every step.
        Ops of values fixed for the run (member values from jittered parameters) run once
        per block (4 alone), not again at each segment.
        """
        for key, (ops, _) in self.deps.items():
            if isinstance(key, Node) and not key.dynamic(self.varying):
                # a member value fixed for the run (from jittered parameters): once per block, not
                # again at every segment of the time-varying parameters (an intervention's ramp)
                for q in ops:
                    self.ops[q][1] = 4 if self.ops[q][1] else 0
                continue
            if isinstance(key, Node):
                only = not (key.time or key.state)
            elif isinstance(key, tuple) and key[0] == "param":
                only = True
            elif key == ("loss",):
                coefs = [b.coef for b in self.cm.transfers if b.moves and b.loss and not b.tally]
                only = not any(c.time or c.state for c in coefs)
            else:
                only = False
            if only:
                for q in ops:
                    self.ops[q][1] |= 8

    def program(self, record: list[tuple[str, int, int, bool]]) -> Program:
        rec, off = [], 0
        for _name, row, n, _hidden in record:
            rec.append((row, off, n))
            off += n
        self._segment_only()
        ops = np.array([o for o in self.ops if o[1]], dtype=np.int64).reshape(-1, len(J.COLUMNS))
        return Program(
            ops=np.ascontiguousarray(ops),
            ix=np.concatenate([*self.ix, np.zeros(1, np.int64)]),
            fl=np.concatenate([*self.fl, np.zeros(1)]),
            rows=self.rows,
            s=self.s,
            d=self.d,
            lrow=self.lrow,
            static=self.static,
            tables=[(k, r, w) for k, (r, w) in self.tables.items()],
            shared=self.shared,
            shared_size=self.n_shared,
            series=self.series,
            series_width=self.n_series,
            vparams=[(k, c, w) for k, (c, w) in self.vparams.items()],
            vparam_width=self.n_vp,
            record=record,
            rec=np.array(rec, dtype=np.int64).reshape(-1, 3),
            rec_width=off,
        )


def lower(
    cm: CompiledModel,
    record: Sequence[RecordItem],
    varying: frozenset[str],
    member: frozenset[str],
    method: str,
) -> Program:
    """Lower a compiled model and a recording plan to a kernel program.

    Parameters
    ----------
    cm
        The compiled model.
    record
        What the run records.
    varying
        Parameters that change during the run (read per time segment).
    member
        Parameters with a member axis (a contraction folds only a factor shared by every member).
    method
        ``"euler"`` or ``"rk4"``.

    Returns
    -------
    Program

    Raises
    ------
    Unsupported
        Naming the construct the kernel cannot run.
    """
    b = _Builder(cm, varying, member, method == "rk4")
    b.moves()
    rec = b.recorded(record)
    return b.program(rec)
