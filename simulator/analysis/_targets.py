"""Calibration targets: observed periods, the model quantities that predict them, and how months add up.

A :class:`Target` names recorded model quantities (and labels), the observed values
per :class:`Period`, the observation model and the target's own fitted quantities
(the likelihood's spread, a trend on included data); the helpers here turn a run's
monthly records into each period's prediction with precomputed weight vectors and
period matrices, so a whole generation of particles is aggregated by two matrix
products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from simulator.analysis._distributions import Distribution
from simulator.analysis._likelihoods import Likelihood

__all__ = [
    "AGGREGATES",
    "Period",
    "Target",
    "included_series",
    "period_matrix",
    "selection_items",
    "selection_weights",
]

AGGREGATES = ("sum", "mean", "last")


@dataclass(frozen=True)
class Period:
    """An observed period: a label and its first and last model months (inclusive).

    Attributes
    ----------
    label
        As the data name it (e.g. ``"2021-22"``).
    first, last
        Model months (reported times) the period covers, inclusive.
    scale
        Factor on a ``sum`` over the period: the whole period's months over the months the
        run covers (1 when the run covers it all; above 1 is an assumption the spec states).
    """

    label: str
    first: float
    last: float
    scale: float = 1.0


@dataclass(frozen=True)
class Target:
    """An observed series and the model quantity that predicts it.

    Attributes
    ----------
    name
        Name used in reports.
    variables
        Recorded model quantities summed into the prediction (e.g. ``("new_referral",)``).
    select
        Labels per dimension (e.g. ``{"service": ("IAPT",)}``); unselected dimensions are summed.
    periods
        The observed periods, in order.
    observed
        Observed values ``(k,)``, one per period.
    likelihood
        The observation model.
    include
        Data reported beside the run added to the prediction (``"underlying"``, ``"suppressed"``).
    aggregate
        ``sum`` (a monthly flow over the period), ``mean`` or ``last`` (a stock at the period's end).
    denominator
        Recorded quantities of a ratio's denominator (e.g. recovery = recovered / finished);
        empty for a plain quantity.
    held_out
        ``(k,)`` booleans: periods kept out of the fit and scored afterwards.
    spread_prior
        Prior of the likelihood's dispersion or sigma when it is fitted (``None``: fixed).
    level_prior, growth_prior
        Priors of a fitted trend on the ``include``d data: the data are multiplied by
        ``level * (1 + growth) ** (month / 12)`` (``None``: level 1, no growth).
    extend
        Fill included data missing after the end of their sheet with the value twelve
        months earlier (the last year repeated, then the trend applies), so a run may go
        beyond the demand sheet.
    denominator_select
        Labels per dimension of the denominator when they differ from ``select`` (a stratum's
        share: the same quantity with the stratum's selection dropped); ``None``: ``select``.
    scale
        Factor on the prediction (100 when a ratio is compared with a percentage).
    """

    name: str
    variables: tuple[str, ...]
    periods: tuple[Period, ...]
    observed: np.ndarray
    likelihood: Likelihood
    select: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    aggregate: str = "sum"
    denominator: tuple[str, ...] = ()
    held_out: np.ndarray | None = None
    spread_prior: Distribution | None = None
    level_prior: Distribution | None = None
    growth_prior: Distribution | None = None
    extend: bool = False
    denominator_select: Mapping[str, tuple[str, ...]] | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"{self.name}: aggregate must be one of {', '.join(AGGREGATES)}")
        if len(self.observed) != len(self.periods):
            raise ValueError(
                f"{self.name}: {len(self.observed)} observations for {len(self.periods)} periods"
            )
        if self.spread_prior is None and self.likelihood.spread_name and self.likelihood.spread is None:
            raise ValueError(f"{self.name}: give the {self.likelihood.spread_name} or a prior to fit it")

    def fitted(self) -> list[tuple[str, Distribution]]:
        """The target's own fitted quantities and their priors: spread, trend level, trend growth.

        Returns
        -------
        list of tuple
            ``(key, prior)`` pairs, keys ``dispersion``/``sigma``, ``level``, ``growth``.
        """
        out = []
        if self.spread_prior is not None:
            out.append((str(self.likelihood.spread_name), self.spread_prior))
        if self.level_prior is not None:
            out.append(("level", self.level_prior))
        if self.growth_prior is not None:
            out.append(("growth", self.growth_prior))
        return out

    @property
    def fit_mask(self) -> np.ndarray:
        """``(k,)`` booleans: the periods the fit uses."""
        return np.ones(len(self.periods), bool) if self.held_out is None else ~np.asarray(self.held_out)


def selection_weights(dims: Sequence[str], coords: Sequence[tuple[str, ...]], select: Mapping) -> np.ndarray:
    """0/1 weights of the recorded elements inside ``select``.

    Parameters
    ----------
    dims, coords
        The recorded space's dimensions and element labels.
    select
        Labels per dimension (a dimension not named is summed over).

    Returns
    -------
    numpy.ndarray
        ``(n_out,)`` weights.
    """
    w = np.ones(len(coords))
    for k, d in enumerate(dims):
        if d in select:
            w *= np.array([c[k] in set(select[d]) for c in coords], dtype=float)
    return w


def selection_items(cm, targets: Sequence[Target]) -> tuple[list, dict[tuple[str, str], list[str]]]:
    """What a run records for ``targets``: each target's variables summed over its selection.

    One recorded series per target and variable (and per denominator variable): the variable's
    elements inside the target's selection summed as the run goes, so nothing else is recorded
    (and the compiled kernel computes only the selected elements of a flow).

    Parameters
    ----------
    cm
        The compiled model (:class:`~simulator.core.CompiledModel`).
    targets
        The targets.

    Returns
    -------
    tuple
        The record items, and for ``(target name, "")`` (its variables) and ``(target name, "/")``
        (its denominator) the names of the items to add up.
    """
    from simulator.core._kernel_record import RecordItem
    from simulator.core._spaces import aggregation_matrix

    items: list = []
    names: dict[tuple[str, str], list[str]] = {}
    for t in targets:
        den = t.select if t.denominator_select is None else t.denominator_select
        for key, variables, select in (("", t.variables, t.select), ("/", t.denominator, den)):
            if not variables:
                continue
            names[t.name, key] = []
            for v in variables:
                space = cm.space_of(v)
                w = selection_weights(space.dims, space.coords, select)
                name = f"{t.name}{key or ':'}{v}"
                items.append(
                    RecordItem(name, aggregation_matrix(np.zeros(len(w), np.intp), 1, w), 1, source=v)
                )
                names[t.name, key].append(name)
    return items, names


def period_matrix(times: np.ndarray, periods: Sequence[Period], how: str) -> np.ndarray:
    """The matrix turning a monthly series into each period's sum, mean or last value.

    Parameters
    ----------
    times
        ``(T,)`` reported times (model months).
    periods
        The observed periods.
    how
        ``sum``, ``mean`` or ``last``.

    Returns
    -------
    numpy.ndarray
        ``(T, k)``: a series ``(n, T)`` times it gives ``(n, k)`` period values.
    """
    a = np.zeros((len(times), len(periods)))
    for j, p in enumerate(periods):
        inside = np.flatnonzero((times >= p.first - 1e-9) & (times <= p.last + 1e-9))
        if how == "sum":
            a[inside, j] = p.scale
        elif how == "mean":
            a[inside, j] = 1.0 / len(inside)
        else:
            a[inside[-1], j] = 1.0
    return a


def included_series(
    reported: Mapping[str, tuple], labels: Mapping[str, Sequence[str]], t: Target, n_t: int
) -> np.ndarray | None:
    """The target's data reported beside the run, summed over its selection (extended if asked).

    Parameters
    ----------
    reported
        :meth:`~simulator.core.Model.reported_data` of the run's times.
    labels
        Labels of each dimension (the model's ``spec.dims``).
    t
        The target.
    n_t
        Number of reported times.

    Returns
    -------
    numpy.ndarray or None
        ``(T,)`` values in the observed unit per month (0 where the data have none), or ``None``
        if the target includes nothing.
    """
    if not t.include:
        return None
    total = np.zeros(n_t)
    for name in t.include:
        if name not in reported:
            raise ValueError(f"target {t.name}: the model reports no {name!r} beside its runs")
        dims, arr, _ = reported[name]
        arr = np.asarray(arr, dtype=float)  # (time, ...)
        for k, d in enumerate(dims[1:], start=1):
            if d in t.select:
                keep = np.isin(np.asarray(labels[d], dtype=object), list(t.select[d]))
                arr = np.compress(keep, arr, axis=k)
        flat = arr.reshape(n_t, -1)
        empty = np.all(np.isnan(flat), axis=1)
        total = total + np.where(empty, np.nan, np.nansum(flat, axis=1))
    if t.extend:
        for j in range(12, n_t):
            if np.isnan(total[j]):
                total[j] = total[j - 12]
    return np.nan_to_num(total)
