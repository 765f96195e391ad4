"""Contractions: ``sum(a * b, over=...)`` as one sparse product when a factor is fixed."""

from __future__ import annotations

import numpy as np

from simulator.core._nodes import Aggregate, Context, Node
from simulator.core._spaces import Space, aggregation_matrix

__all__ = ["Contract"]


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
