"""The functions formulas call elementwise, and the binary operators, as numpy functions.

:data:`FUNCTIONS` names the functions formula text may call (with their arity)
and :data:`AGGREGATES` the aggregates over dimensions (both re-exported by
:mod:`~simulator.core._formulas`).

:data:`ELEMENTWISE` maps a formula function name (``exp``, ``min``, ``xidz``,
``step`` ...) to the numpy function that evaluates it on ``(rows, n)`` arrays;
:data:`BINARY` maps an operator (``+``, ``<=``, ``and`` ...) likewise.  Comparisons
and logic give 1.0 or 0.0.  Functions in :data:`NEEDS_TIME` take the time (months)
as their first argument.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["AGGREGATES", "BINARY", "ELEMENTWISE", "FUNCTIONS", "NEEDS_TIME", "where"]

#: elementwise functions and their arity (``None``: two or more)
FUNCTIONS: dict[str, int | None] = {
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "abs": 1,
    "floor": 1,
    "ceil": 1,
    "min": None,
    "max": None,
    "clip": 3,
    "where": 3,
    "xidz": 3,
    "zidz": 2,
    "step": 2,
    "ramp": 3,
    "pulse": 2,
    # lookup(table, x): the parameter ``table`` interpolated along its last dimension,
    # whose labels are the x values (a Vensim lookup); flat beyond both ends
    "lookup": 2,
}
#: aggregates over dimensions (``over=``); ``min``/``max`` with one argument aggregate too;
#: ``cumsum``/``rcumsum`` keep the dimension (running total from the first / the last label)
AGGREGATES = {"sum", "mean", "prod", "min", "max", "cumsum", "rcumsum"}


def _xidz(a, b, x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, x, a / np.where(b == 0, 1.0, b))


def _step(t, height, t0):
    return np.where(t >= t0, height, 0.0)


def _ramp(t, slope, start, end):
    return slope * (np.clip(t, start, end) - start)


def _pulse(t, start, width):
    return np.where((t >= start) & (t < start + width), 1.0, 0.0)


def where(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` where ``c`` is not 0, else ``b`` (the formula ``where(c, a, b)`` and ``a if c else b``).

    Parameters
    ----------
    c
        Condition values (non-zero: true).
    a, b
        Values taken where the condition holds and where it does not.

    Returns
    -------
    numpy.ndarray
        The chosen values, broadcast together.
    """
    return np.where(c != 0, a, b)


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


NEEDS_TIME = {_step, _ramp, _pulse}
ELEMENTWISE: dict[str, Callable[..., np.ndarray]] = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "min": _min,
    "max": _max,
    "clip": np.clip,
    "where": where,
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
BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
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
