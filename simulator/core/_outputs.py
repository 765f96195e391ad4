"""Reduced outputs: what an ensemble keeps of each member, and ratios defined once.

An :class:`OutputDef` names what an analysis keeps of a run (a recorded quantity, or a
sum or ratio of them); a model kind gives its defaults
(:meth:`~simulator.core.Model.ensemble_outputs`,
:meth:`~simulator.core.Model.sensitivity_outputs`).

:func:`ratio` is the one definition of Upstream's ratio figures (utilisation, share
over 18 weeks, mean wait).  Two views read them, and differ only in what an empty
denominator gives (``empty``):

* ensembles (:mod:`simulator.analysis._ensemble_blocks`, outputs with ``ratio`` set)
  give **0** where the denominator is at most the output's ``floor``: share over 18
  weeks where at most 1e-6 people wait, mean wait where at most 1e-6 people a month
  leave the list, utilisation where capacity is 0 (quantiles need numbers);
* the capacity table of one run (:func:`simulator.surge.service_load`) gives **NaN**
  for utilisation where capacity is 0 (a service with no capacity has no utilisation,
  and the table's mean skips it), and 0 for share over 18 weeks (at most 1e-6 people
  waiting) and mean wait (at most 1e-6 people waiting, or no exits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OutputDef", "ratio"]


@dataclass(frozen=True)
class OutputDef:
    """A reduced output: ``variable`` summed to the dimensions ``keep``, reported as ``name``.

    ``variable`` may name several recorded quantities, summed (starts from a waiting
    list plus starts at once ...); ``ratio`` ``(numerator, denominator)`` makes the
    output the ratio of two other outputs, member by member (:func:`ratio` with
    ``empty=0`` where the denominator is at most ``floor``: a waiting list empty up
    to rounding has no wait).

    ``measures`` are what a sensitivity analysis takes of each member's series,
    analysed as ``<name>_<measure>``: ``total`` (sum over the reported times),
    ``final`` (value at the last one), ``peak``, and the time of the peak, named
    ``peak_month`` or ``peak_time`` as the kind speaks of time.  The default is
    what an ensemble reports of every output (total, peak and peak month).
    """

    name: str
    variable: str | tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    unit: str = ""
    ratio: tuple[str, str] | None = None
    floor: float = 0.0
    measures: tuple[str, ...] = ("total", "peak", "peak_month")

    @property
    def variables(self) -> tuple[str, ...]:
        """Recorded quantities summed into this output."""
        return (self.variable,) if isinstance(self.variable, str) else tuple(self.variable)


def ratio(num: np.ndarray, den: np.ndarray, floor: float = 0.0, empty: float = 0.0) -> np.ndarray:
    """``num / den`` element by element, ``empty`` where ``den`` is at most ``floor``.

    The one definition of Upstream's ratio figures (utilisation, share over 18 weeks,
    mean wait): a denominator at or below ``floor`` (an empty waiting list up to
    rounding, a service with no capacity) has no ratio.  A NaN denominator counts as
    empty.  Ensembles pass ``empty=0.0``; the capacity table of a run passes
    ``empty=nan`` for utilisation (see the module notes).

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
