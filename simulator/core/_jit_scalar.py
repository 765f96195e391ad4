"""Scalar functions of the compiled step kernel (:mod:`simulator.core._jit_kernel`), as numpy computes them.

Numba keeps compiled code on disk by source file: after editing this module,
delete ``simulator/core/__pycache__/_jit_kernel*.nb*`` so that the kernel is
compiled again with the change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

__all__ = ["binary", "jit", "lookup_interval", "maximum", "minimum", "ternary", "timefn", "unary"]

#: every function compiled once and kept on disk; floats divide by zero as numpy does
jit: Any = njit(cache=True, error_model="numpy", nogil=True)


@jit
def unary(code: int, v: float) -> float:
    if code == 0:
        return -v
    if code == 1:
        return 1.0 if v == 0.0 else 0.0
    if code == 2:
        return math.exp(v)
    if code == 3:
        return np.log(v)
    if code == 4:
        return np.sqrt(v)
    if code == 5:
        return abs(v)
    if code == 6:
        return math.floor(v)
    if code == 7:
        return math.ceil(v)
    if code == 8:
        return math.sin(v)
    if code == 9:
        return math.cos(v)
    if code == 10:
        return math.tan(v)
    if code == 11:
        return np.arcsin(v)
    if code == 12:
        return np.arccos(v)
    if code == 13:
        return math.atan(v)
    if code == 14:
        return math.sinh(v)
    if code == 15:
        return math.cosh(v)
    return math.tanh(v)


@jit
def minimum(a: float, b: float) -> float:
    if a != a or b != b:
        return np.nan
    return a if a <= b else b


@jit
def maximum(a: float, b: float) -> float:
    if a != a or b != b:
        return np.nan
    return a if a >= b else b


@jit
def binary(code: int, a: float, b: float) -> float:
    if code == 3:
        return a / b
    if code == 4:
        return a**b
    if code == 5:
        return 1.0 if a < b else 0.0
    if code == 6:
        return 1.0 if a <= b else 0.0
    if code == 7:
        return 1.0 if a > b else 0.0
    if code == 8:
        return 1.0 if a >= b else 0.0
    if code == 9:
        return 1.0 if a == b else 0.0
    if code == 10:
        return 1.0 if a != b else 0.0
    if code == 11:
        return 1.0 if (a != 0.0 and b != 0.0) else 0.0
    if code == 12:
        return 1.0 if (a != 0.0 or b != 0.0) else 0.0
    if code == 13:
        return minimum(a, b)
    if code == 14:
        return maximum(a, b)
    return 0.0 if b == 0.0 else a / b  # zidz


@jit
def ternary(code: int, a: float, b: float, c: float) -> float:
    if code == 0:
        return b if a != 0.0 else c
    if code == 1:
        return minimum(maximum(a, b), c)
    return c if b == 0.0 else a / b  # xidz


@jit
def timefn(code: int, t: float, a: float, b: float, c: float) -> float:
    if code == 0:
        return a if t >= b else 0.0
    if code == 1:
        return a * (minimum(maximum(t, b), c) - b)
    return 1.0 if (t >= a and t < a + b) else 0.0


@jit
def lookup_interval(x: float, grid, f0: int, k: int) -> tuple:
    """Interval and weight of ``x`` on the grid (numpy's searchsorted 'right', clipped)."""
    pos = 0
    while pos < k and grid[f0 + pos] <= x:
        pos += 1
    if pos < 1:
        pos = 1
    if pos > k - 1:
        pos = k - 1
    x0, x1 = grid[f0 + pos - 1], grid[f0 + pos]
    w = (x - x0) / (x1 - x0)
    w = minimum(maximum(w, 0.0), 1.0)
    return pos, w
