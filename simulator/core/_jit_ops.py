"""Op codes of the compiled step kernel's programs (:mod:`simulator.core._jit_kernel`).

A lowered model (:mod:`simulator.core._jit_lower`) is a table of ops, one row
each, with the columns below.  Every op reads and writes rows of one
workspace ``W`` ``(rows, members)`` (members innermost, contiguous): an op
loops over its ``n`` elements and, inside, over the block's members.  ``sa``,
``sb``, ``sc`` are element strides of the inputs (1, or 0 for a value shared
by every element); ``I`` holds the index arrays and ``F`` the constants the
ops refer to by offset.
"""

from __future__ import annotations

__all__ = [
    "BINARY_OPS",
    "COLUMNS",
    "TERNARY_OPS",
    "TIME_OPS",
    "UNARY_OPS",
    "Unsupported",
    "stride",
]

#: columns of an op row
COLUMNS = ("code", "mask", "sub", "out", "n", "a", "sa", "b", "sb", "c", "sc", "i0", "i1", "f0")
CODE, MASK, SUB, OUT, N, A, SA, B, SB, C, SC, I0, I1, F0 = range(14)

# op codes
COPY = 1  # out[i] = a[i*sa]
GATHER = 2  # out[i] = a[I[i0+i]]
GATHERZ = 3  # out[i] = a[I[i0+i]], 0 where the index is -1
UNARY = 4  # out[i] = f(a[i*sa])
BINARY = 5  # out[i] = f(a[i*sa], b[i*sb])
TERNARY = 6  # out[i] = f(a, b, c)
TIMEFN = 7  # out[i] = f(t, a, b[, c])
TIME = 8  # out[0] = t
SERIES = 9  # out[i] = TS[time, i0+i]
VPARAM = 10  # out[i] = VP[segment(time), i0+i]
SPMV = 11  # out[r] = sum_p F[f0+p] * a[I[i1+p]], p in I[i0+r] .. I[i0+r+1]
SEGRED = 12  # out[s] = prod/min/max of a[I[i1+p]], p in I[i0+s] .. I[i0+s+1]
SCALE = 13  # out[i] = a[i*sa] * F[f0+i]
SCATTER = 14  # out[I[i0+i]] = a[i*sa]
LOOKUP = 15  # out[i] = table b interpolated at a[i*sa] (grid F[f0:f0+c], element base I[i0+i])
MULGATHER = 16  # out[i] = a[i*sa] * W[I[i0+i]] (a flow: coefficient x stock)
FLOWADD = 17  # W[c+I[i0+i]] += (+/-) a[i*sa] (a flow into / out of the derivative rows)
CONTRACT = 18  # out[I[i0+p]] += U[f0+p] * a[I[i1+p]] over p < c (weights shared by members)
ZERO = 19  # out[i] = 0
LOSSADD = 21  # out[I[i0+i]] += a[i*sa] (per-stock loss rates of flows leaving the stock they follow)
FLOW = 20  # a transfer: f = a[i*sa] * W[I[i0+i]]; W[b+I[i1+i]] += f (sub bit 1); W[b+I[c+i]] -= f (bit 2)

#: elementwise functions of one argument, by sub code
UNARY_OPS = (
    "neg",
    "not",
    "exp",
    "log",
    "sqrt",
    "abs",
    "floor",
    "ceil",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
)
#: binary operators and functions, by sub code
BINARY_OPS = ("+", "-", "*", "/", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or", "min", "max", "zidz")
#: functions of three arguments, by sub code
TERNARY_OPS = ("where", "clip", "xidz")
#: functions of time, by sub code
TIME_OPS = ("step", "ramp", "pulse")


class Unsupported(Exception):
    """A construct the compiled kernel has no op for (the model runs on the numpy kernel)."""


def stride(width: int, n: int, what: str) -> int:
    """Element stride of an input of ``width`` values read for ``n`` elements (1, or 0 if shared).

    Parameters
    ----------
    width, n
        Values the input has, and elements read from it.
    what
        The quantity, for the message.

    Returns
    -------
    int
        1 or 0.

    Raises
    ------
    Unsupported
        When the widths do not broadcast.
    """
    if width == n:
        return 1
    if width == 1:
        return 0
    raise Unsupported(f"{what}: {width} values for {n} elements")
