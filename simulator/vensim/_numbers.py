"""Numbers in Vensim files, and the digits PySD 3.14 keeps of them.

PySD writes the array constants and lookups of a model into its Python
translation with ``numpy.array2string`` (8 digits after the point, or 9
significant digits in scientific notation), so ``0.005449591280653951``
becomes ``0.00544959``; single numbers keep every digit.  The writer uses
these functions to decide when a table can stay a table.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NumberError", "fmt", "pysd_exact", "pysd_printed", "pysd_terms"]


class NumberError(ValueError):
    """A number a Vensim file cannot hold (infinite or not a number)."""


def pysd_printed(values: np.ndarray) -> np.ndarray:
    """The numbers PySD 3.14 keeps of a table.

    PySD writes arrays and lookups into its Python model with ``np.array2string``:
    8 digits after the point, or 9 significant digits in scientific notation.

    Parameters
    ----------
    values
        A table of numbers (any shape).

    Returns
    -------
    numpy.ndarray
        The numbers as PySD prints them, the shape of ``values``.
    """
    v = np.asarray(values, dtype=float)
    text = np.array2string(v, separator=",", threshold=max(v.size, 1))
    tokens = text.replace("[", " ").replace("]", " ").replace(",", " ").split()
    return np.array([float(t) for t in tokens]).reshape(v.shape)


def pysd_exact(values: np.ndarray) -> bool:
    """Whether PySD keeps every digit of this table.

    Parameters
    ----------
    values
        A table of numbers.

    Returns
    -------
    bool
    """
    return bool(np.array_equal(pysd_printed(values), np.asarray(values, dtype=float)))


def pysd_terms(values: np.ndarray, most: int = 3) -> list[np.ndarray]:
    """Tables PySD keeps exactly whose sum is ``values`` (one table when no digits are lost).

    Parameters
    ----------
    values
        A table of numbers.
    most
        The most terms to use.

    Returns
    -------
    list of numpy.ndarray
        Tables the shape of ``values``.
    """
    rest = np.asarray(values, dtype=float)
    terms = []
    for _ in range(most):
        p = pysd_printed(rest)
        terms.append(p)
        rest = rest - p
        if not np.any(rest):
            break
    return terms


def fmt(x: float) -> str:
    """A number as written in the file: integers without a point, others with every digit.

    Parameters
    ----------
    x
        A finite number.

    Returns
    -------
    str
    """
    x = float(x)
    if not math.isfinite(x):
        raise NumberError(f"{x} cannot be written in a Vensim model")
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)
