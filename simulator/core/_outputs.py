"""Reduced outputs: what an ensemble keeps of each member, and ratios defined once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OutputDef", "ratio"]


@dataclass(frozen=True)
class OutputDef:
    """A reduced output: ``variable`` summed to the dimensions ``keep``, reported as ``name``.

    ``variable`` may name several recorded quantities, summed (starts from a waiting
    list plus starts at once ...); ``ratio`` ``(numerator, denominator)`` makes the
    output the ratio of two other outputs, member by member (0 where the denominator
    is at most ``floor``: a waiting list empty up to rounding has no wait).
    """

    name: str
    variable: str | tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    unit: str = ""
    ratio: tuple[str, str] | None = None
    floor: float = 0.0

    @property
    def variables(self) -> tuple[str, ...]:
        """Recorded quantities summed into this output."""
        return (self.variable,) if isinstance(self.variable, str) else tuple(self.variable)


def ratio(num: np.ndarray, den: np.ndarray, floor: float = 0.0, empty: float = 0.0) -> np.ndarray:
    """``num / den`` element by element, ``empty`` where ``den`` is at most ``floor``.

    The one definition of Upstream's ratio figures (utilisation, share over 18 weeks,
    mean wait): a denominator at or below ``floor`` (an empty waiting list up to
    rounding, a service with no capacity) has no ratio.

    Parameters
    ----------
    num, den
        Numerator and denominator, broadcastable.
    floor
        Denominators at or below this count as empty (same unit as ``den``).
    empty
        The value reported where the denominator is empty (``0.0`` in ensembles,
        whose quantiles need numbers; ``nan`` in tables, which show "not defined").

    Returns
    -------
    numpy.ndarray
        The ratio, in ``num``'s unit per ``den``'s unit.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    ok = den > floor
    out = np.full(np.broadcast_shapes(num.shape, den.shape), empty, dtype=float)
    np.divide(num, den, out=out, where=ok)
    return out
