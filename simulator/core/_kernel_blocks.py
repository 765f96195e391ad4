"""Flow families as the integrator's steppers see them.

A step turns flow families into *terms* ``(scatter, values, sign)``: values
already reduced to what the scatter adds (see :func:`compact`), added into
(or, with ``sign`` -1, subtracted from) the state columns by :func:`apply`.
:class:`Plan` makes the terms of a first-order (transfer) family,
:class:`Inflows` those of every exogenous (inflow) family: the one loop over
inflows that every stepper uses.  All values are people per month, or people
per step once multiplied by the step ``dt`` (months).
"""

from __future__ import annotations

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._flow_blocks import Scatter, TransferBlock
from simulator.core._nodes import Context

__all__ = ["Inflows", "Plan", "Sink", "Term", "apply", "apply_all", "col_major", "compact", "full"]

#: ``(scatter, values, sign)``: values (people per step, or per month in a derivative)
#: added into the state columns of ``scatter`` (subtracted when ``sign`` is -1)
Term = tuple[Scatter, np.ndarray, float]


def col_major(a: np.ndarray) -> np.ndarray:
    """Column-major copy of a member-varying 2-D array (matches the state layout).

    Parameters
    ----------
    a
        Values, ``(members, n)`` or a shared row ``(1, n)``.

    Returns
    -------
    numpy.ndarray
        ``a`` itself when it has one row or is not 2-D, else a Fortran-ordered copy.
    """
    return np.asfortranarray(a) if a.ndim == 2 and a.shape[0] > 1 else a


def full(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` ``(rows, 1 or n)`` broadcast to ``(rows, n)``.

    Parameters
    ----------
    a, n
        Values ``(rows, 1)`` or ``(rows, n)``, and the number of columns wanted.

    Returns
    -------
    numpy.ndarray
        ``(rows, n)``, a read-only broadcast view when ``a`` has one column.
    """
    a = np.asarray(a, dtype=float)
    return a if a.shape[1] == n else np.broadcast_to(a, (a.shape[0], n))


def compact(scatter: Scatter, v: np.ndarray) -> np.ndarray:
    """Reduce per-element values ``(members, n)`` to what ``scatter`` adds.

    Parameters
    ----------
    scatter
        Where the values go in the state.
    v
        Per-element values ``(members, n)`` (people, or people per step).

    Returns
    -------
    numpy.ndarray
        ``(members,)`` for a single target, ``(members, segments)`` for segments, else ``v``.
    """
    if scatter.kind == "single":
        return v.sum(axis=1)
    if scatter.kind == "segments":
        return scatter.matrix(v)
    return v


def apply(scatter: Scatter, out: np.ndarray, c: np.ndarray, sign: float = 1.0) -> None:
    """Add (``sign`` 1) or subtract (-1) compact values into the state columns of ``scatter``.

    Parameters
    ----------
    scatter
        Where the values go in the state.
    out
        The state or its increment ``(members, stocks)`` (people), changed in place.
    c
        Compact values from :func:`compact`.
    sign
        ``1.0`` to add, ``-1.0`` to subtract.
    """
    if scatter.kind == "slice":
        if sign > 0:
            out[:, scatter.slice] += c
        else:
            out[:, scatter.slice] -= c
        return
    if sign < 0:
        c = -c
    if scatter.kind == "single":
        out[:, scatter.target] += c
    elif scatter.kind == "unique":
        out[:, scatter.idx] += c
    else:
        out[:, scatter.targets] += c


def apply_all(pending: list[Term], out: np.ndarray) -> None:
    """Apply every term of ``pending`` to ``out`` ``(members, stocks)``, in order.

    Parameters
    ----------
    pending
        Terms ``(scatter, values, sign)`` waiting to be applied.
    out
        The state or its increment (people), changed in place.
    """
    for sc, c, sign in pending:
        apply(sc, out, c, sign)


class Plan:
    """A transfer family's per-chunk plan: a buffer and pre-folded weights.

    Parameters
    ----------
    block
        The transfer family.
    m
        Members in the chunk.
    static_c
        The family's coefficient x dt (people moved per person per step), when it
        is constant during the run; with a single row and only a target, it is
        folded into the target's aggregation weights once.
    """

    def __init__(self, block: TransferBlock, m: int, static_c: np.ndarray | None):
        self.block = block
        self.buf = np.empty((m, len(block.of)), order="F")
        self.gather = block.of_slice is None
        self.only_dst = block.src_scatter is None and block.dst_scatter is not None and not block.tally
        self.weighted = None
        #: where the values go, in order: ``(scatter, sign, copied for a deferred Euler term)``
        self.scatters: list[tuple[Scatter, float, bool]] = []
        if block.dst_scatter is not None:
            self.scatters.append((block.dst_scatter, 1.0, False))
        if block.src_scatter is not None:
            self.scatters.append((block.src_scatter, -1.0, True))
        self.scatters += [(t, 1.0, True) for t in block.tally_scatters]
        sc = block.dst_scatter
        if self.only_dst and static_c is not None and static_c.shape[0] == 1:
            assert sc is not None
            if sc.kind == "segments":
                self.weighted = sc.matrix.scaled(static_c[0])
            elif sc.kind == "single":
                self.weighted = static_c[0].copy()

    def levels(self, x: np.ndarray, xt: np.ndarray) -> np.ndarray:
        """The stock levels the flow is proportional to, ``(members, n)`` (people).

        A gather writes into the buffer (a block copy per element in the
        column-major layout ``x``; ``xt`` is ``x.T``); a contiguous range is a view.

        Parameters
        ----------
        x, xt
            The state ``(members, stocks)`` in column-major layout, and its transpose.

        Returns
        -------
        numpy.ndarray
            ``(members, n)`` (people): the plan's buffer or a view of ``x``.
        """
        if self.gather:
            np.take(xt, self.block.of, axis=0, out=self.buf.T)
            return self.buf
        return x[:, self.block.of_slice]

    def values(self, x: np.ndarray, xt: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Flow values ``c * level`` in the plan's buffer (people per month, or per step for ``c`` x dt).

        Parameters
        ----------
        x, xt
            The state ``(members, stocks)`` and its transpose.
        c
            Coefficients ``(1 or members, n)`` (per month, or per step when multiplied by dt).

        Returns
        -------
        numpy.ndarray
            ``(members, n)``, the plan's buffer.
        """
        return np.multiply(self.levels(x, xt), c, out=self.buf)

    def terms(self, v: np.ndarray, pending: list[Term]) -> None:
        """Append the terms of flow values ``v``: into the target, out of the source, into tallies.

        The source and tally values are copies, apart from the buffer: the Euler
        step's recording context may evaluate the flow again before the terms are
        applied.

        Parameters
        ----------
        v
            Flow values ``(members, n)`` (people per step).
        pending
            Terms ``(scatter, values, sign)``, appended to.
        """
        for sc, sign, copy in self.scatters:
            c = compact(sc, v)
            pending.append((sc, c.copy() if copy else c, sign))

    def add(self, v: np.ndarray, out: np.ndarray) -> None:
        """Add flow values ``v`` into ``out`` at once: into the target, out of the source, into tallies.

        Parameters
        ----------
        v
            Flow values ``(members, n)`` (people per step).
        out
            The state increment ``(members, stocks)`` (people), changed in place.
        """
        for sc, sign, _ in self.scatters:
            apply(sc, out, compact(sc, v), sign)

    def contributions(self, x: np.ndarray, xt: np.ndarray, c: np.ndarray, pending: list[Term]) -> None:
        """Append the Euler step's terms, computed from the state before the step.

        ``c`` is the coefficient x dt; a family with only a target is summed
        straight into it (a dot product or the pre-weighted aggregation).

        Parameters
        ----------
        x, xt
            The state ``(members, stocks)`` before the step, and its transpose.
        c
            Coefficients x dt, ``(1 or members, n)`` (per step).
        pending
            Terms ``(scatter, values, sign)``, appended to.
        """
        sc = self.block.dst_scatter
        if self.only_dst and sc is not None:
            if sc.kind == "single":
                lv = self.levels(x, xt)
                if self.weighted is not None:
                    s = lv @ self.weighted
                elif c.shape[0] == 1:
                    s = lv @ c[0]
                else:
                    s = np.einsum("ij,ij->i", lv, c)
                pending.append((sc, s, 1.0))
                return
            if self.weighted is not None:
                pending.append((sc, self.weighted(self.levels(x, xt)), 1.0))
                return
        self.terms(self.values(x, xt, c), pending)


class Sink:
    """A single absorbing stock recovered from conservation of people, not stepped.

    Its level is people at the start + cumulative inflow - every other stock
    (Euler preserves linear invariants, so this is the stepped number to rounding).

    Parameters
    ----------
    col
        The sink's state column.
    x
        The state at the start of the run ``(members, stocks)`` (people).
    """

    def __init__(self, col: int, x: np.ndarray):
        self.col = col
        self.people0 = x.sum(axis=1)
        self.cum_in = np.zeros(x.shape[0])

    def add(self, v: np.ndarray) -> None:
        """Count people flowing in this step, ``v`` ``(members, n)`` (people per step).

        Parameters
        ----------
        v
            ``(members, n)`` (people per step).
        """
        self.cum_in = self.cum_in + v.sum(axis=1)

    def recover(self, x: np.ndarray) -> None:
        """Write the sink's level into ``x`` from conservation of people.

        Parameters
        ----------
        x
            The state ``(members, stocks)`` (people), changed in place.
        """
        x[:, self.col] = 0.0
        x[:, self.col] = self.people0 + self.cum_in - x.sum(axis=1)


class Inflows:
    """Every people-moving inflow family of a chunk: the one loop that evaluates and scatters them.

    Parameters
    ----------
    cm
        The compiled model.
    tally
        Also add the values into the families' tally stocks.
    sink
        A sink recovered from conservation: every inflow is counted into it.
    skip_sink
        Leave out families whose only target is the sink (its level is not stepped).
    """

    def __init__(
        self, cm: CompiledModel, *, tally: bool = True, sink: Sink | None = None, skip_sink: bool = False
    ):
        self.sink = sink
        self.families = []
        for b in cm.inflows:
            if not b.moves:
                continue
            dst = b.dst_scatter
            scatters = ([dst] if dst is not None else []) + (list(b.tally_scatters) if tally else [])
            skip = (
                skip_sink
                and sink is not None
                and dst is not None
                and dst.kind == "single"
                and dst.target == sink.col
            )
            self.families.append((b.value, len(cm.flow_spaces[b.name]), scatters, skip))

    def terms(self, ctx: Context, scale: float | None, pending: list[Term]) -> None:
        """Append every inflow's terms in context ``ctx``.

        Parameters
        ----------
        ctx
            Where the values are evaluated (people per month).
        scale
            Multiplies the values: the step ``dt`` (months) for people per step,
            ``None`` for people per month (a derivative).
        pending
            Receives the terms, family by family: target first, then tallies.
        """
        sink = self.sink
        for value, n, scatters, skip in self.families:
            v = full(value.eval(ctx), n)
            if scale is not None:
                v = v * scale
            if sink is not None:
                sink.add(v)
                if skip:
                    continue
            for sc in scatters:
                pending.append((sc, compact(sc, v), 1.0))
