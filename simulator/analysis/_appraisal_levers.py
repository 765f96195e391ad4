"""Interventions and packages: levers that change a model's parameters over time.

The data an intervention file describes (see :mod:`simulator.files._interventions`
for the file format and the levers), and :func:`ramp`, the share of the full effect
over time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.analysis._distributions import Distribution

__all__ = [
    "ALLOCATIONS",
    "LEVERS",
    "TIERS",
    "Allocation",
    "Intervention",
    "Package",
    "allocate",
    "element_weights",
    "gradient_intensity",
    "ramp",
    "scoped_at_risk",
]

TIERS = ("upstream", "midstream", "downstream")
LEVERS = {
    "exposure": ("pcnt", ("group",)),
    "conversion": ("g2c_pcnt", ("group", "condition")),
    "diversion": ("split", ("group", "condition")),
    "access": ("treat_pcnt", ("service",)),
    "effectiveness": ("success", ("service",)),
    "length_of_stay": ("months", ("service",)),
    "capacity": ("extra_capacity", ("service",)),
    "parameter": (None, ()),
}
REACH = ("population", "referrals", "starts", "added_starts")
DEFAULT_REACH = {
    "exposure": "population",
    "conversion": "population",
    "diversion": "referrals",
    "access": "starts",
    "effectiveness": "starts",
    "length_of_stay": "starts",
    "capacity": "added_starts",
    "parameter": "population",
}


#: how an intervention's coverage is shared between the categories of a stratifier
ALLOCATIONS = ("universal", "proportionate")


@dataclass(frozen=True)
class Allocation:
    """How coverage is shared between the categories of a stratifier (proportionate universalism).

    Attributes
    ----------
    by
        The stratifier (a dimension of the model, e.g. ``deprivation``).
    method
        ``universal`` (the same coverage in every category) or ``proportionate``
        (everyone reached, with intensity rising along the categories by ``gradient``).
    gradient
        Intensity in the first category relative to the last (e.g. 2: the most deprived
        quintile, listed first, gets twice the coverage of the least), linear in between.
    weights
        Explicit intensity per category, in the stratifier's order (instead of ``gradient``).
    source
        Why this gradient (evidence, or "illustrative assumption: ...").
    """

    by: str
    method: str = "proportionate"
    gradient: float = 1.0
    weights: tuple[float, ...] | None = None
    source: str = ""

    def intensity(self, n: int) -> np.ndarray:
        """Relative intensity of each of ``n`` categories (before scaling to the total).

        Parameters
        ----------
        n
            Number of categories.

        Returns
        -------
        numpy.ndarray
            ``n`` intensities > 0.
        """
        if self.method == "universal":
            return np.ones(n)
        if self.weights is not None:
            return np.asarray(self.weights, dtype=float)
        return gradient_intensity(n, self.gradient)


def gradient_intensity(n: int, gradient: float) -> np.ndarray:
    """Intensities falling linearly from ``gradient`` (first category) to 1 (last).

    Parameters
    ----------
    n
        Number of categories.
    gradient
        Intensity of the first category relative to the last (> 0).

    Returns
    -------
    numpy.ndarray
        ``n`` intensities.
    """
    return np.linspace(float(gradient), 1.0, n) if n > 1 else np.ones(1)


def allocate(total: float, population: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """Coverage per category: proportional to ``intensity``, at most 1, reaching ``total`` of everyone.

    Coverage ``c_k = min(1, s * intensity_k)`` with ``s`` chosen so that the people
    reached, ``sum_k population_k * c_k``, equal ``total * sum_k population_k``
    (categories that would pass 1 are capped and the rest share what is left).

    Parameters
    ----------
    total
        The stated coverage: share of the whole population reached (0..1).
    population
        People in each category.
    intensity
        Relative intensity of each category (> 0).

    Returns
    -------
    numpy.ndarray
        Coverage of each category (0..1).

    Examples
    --------
    >>> allocate(0.3, np.array([1.0, 1.0]), np.array([2.0, 1.0]))
    array([0.4, 0.2])
    """
    pop = np.asarray(population, dtype=float)
    w = np.asarray(intensity, dtype=float)
    target = float(total) * pop.sum()
    cov = np.zeros_like(w)
    free = np.ones(len(w), dtype=bool)
    for _ in range(len(w)):
        left = target - pop[~free].sum()
        denom = float(pop[free] @ w[free])
        cov[free] = left / denom * w[free] if denom > 0 else 0.0
        over = free & (cov > 1.0)
        if not over.any():
            break
        cov[over] = 1.0
        free &= ~over
    return cov


#: mid-points of 512 equal-probability bins: a distribution's mean by quadrature
_MID = (np.arange(512) + 0.5) / 512


def element_weights(iv: Intervention, space, strata) -> np.ndarray | None:
    """Each parameter element's coverage relative to the intervention's stated coverage.

    Parameters
    ----------
    iv
        The intervention (its :class:`Allocation`, if any; its coverage: a number, or a
        distribution whose mean is used for the shares).
    space
        The space of the parameter it changes.
    strata
        The model's stratifiers (:func:`simulator.core._strata_transform.strata_of`).

    Returns
    -------
    numpy.ndarray or None
        One weight per element (``None``: every element at the stated coverage).

    Raises
    ------
    ValueError
        If the allocation's stratifier is not a dimension of the parameter.
    """
    a = iv.allocation
    if a is None or a.method == "universal":
        return None
    st = next((s for s in strata if s.name == a.by), None)
    if st is None or a.by not in space.dims:
        raise ValueError(f"{iv.name}: coverage allocated by {a.by!r}, which {iv.target} is not stratified by")
    if a.weights is not None and len(a.weights) != len(st.categories):
        raise ValueError(
            f"{iv.name}: {len(a.weights)} allocation weights for {len(st.categories)} categories"
        )
    total = iv.coverage if isinstance(iv.coverage, float) else float(np.mean(iv.coverage.ppf(_MID)))
    cov = allocate(total, np.asarray(st.population), a.intensity(len(st.categories)))
    rel = cov / total if total > 0 else np.ones(len(cov))
    pos = {c: k for k, c in enumerate(st.categories)}
    return np.array([rel[pos[lab]] for lab in space.labels(a.by)])


def scoped_at_risk(spec, values, iv: Intervention) -> np.ndarray:
    """People at risk in an intervention's scope (size x pcnt / 100), per member, strata included.

    In a stratified model ``pcnt`` may carry strata: each element counts its group's size
    times the group's share in its categories; a scope naming strata counts only them, and
    an allocation weighs each category by its share of the coverage.

    Parameters
    ----------
    spec
        The model's spec (``size`` by group; ``pcnt``; ``D_share`` for each stratum ``D``).
    values
        The members' drawn parameter values (``size`` and ``pcnt`` where uncertain).
    iv
        The intervention.

    Returns
    -------
    numpy.ndarray
        People per member ``(m,)``, before coverage.
    """
    size_p, pcnt_p = spec.param("size"), spec.param("pcnt")
    size = values.get("size", size_p.values[None, :])
    pcnt = values.get("pcnt", pcnt_p.values[None, :])
    sp = pcnt_p.space
    people = size[:, sp.projection(size_p.space)]
    for dim in sp.dims:
        if dim == "group" or not _has_param(spec, f"{dim}_share"):
            continue
        share = spec.param(f"{dim}_share")
        people = people * share.values[sp.projection(share.space)][None, :]
    mask = np.ones(len(sp), dtype=bool)
    for dim, labels in iv.scope.items():
        if dim in sp.dims:
            mask &= np.isin(np.asarray(sp.labels(dim), dtype=object), list(labels))
    weights = np.ones(len(sp)) if iv.allocation is None else _alloc_weights(spec, iv, sp)
    return (people * pcnt / 100.0 * (mask * weights)[None, :]).sum(axis=1)


def _has_param(spec, name: str) -> bool:
    return any(p.name == name for p in spec.params)


def _alloc_weights(spec, iv: Intervention, space) -> np.ndarray:
    strata = tuple((spec.meta or {}).get("strata", ()))
    w = element_weights(iv, space, strata)
    return np.ones(len(space)) if w is None else w


@dataclass(frozen=True)
class Intervention:
    """One lever, its scope, uncertain effect, coverage, timing and cost."""

    name: str
    lever: str
    effect: Distribution
    effect_type: str = "relative"
    tier: str = "upstream"
    description: str = ""
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    parameter: str | None = None
    divert_from: tuple[str, ...] = ()
    divert_to: tuple[str, ...] = ()
    coverage: Distribution | float = 1.0
    start: float = 0.0
    ramp_months: float = 0.0
    end: float | None = None
    fixed_per_month: float = 0.0
    per_person: float = 0.0
    reach: str = "population"
    source: str = ""
    path: Path | None = None
    allocation: Allocation | None = None

    @property
    def target(self) -> str:
        """The model parameter this lever changes."""
        return self.parameter or LEVERS[self.lever][0]  # type: ignore[return-value]

    def active_months(self, months: int) -> float:
        """Months the intervention runs within a horizon of ``months`` months (fixed costs).

        Parameters
        ----------
        months
            The horizon (months).

        Returns
        -------
        float
            Months, 0 or more.
        """
        end = months if self.end is None else min(self.end, months)
        return max(0.0, end - self.start)


@dataclass(frozen=True)
class Package:
    """A named combination of interventions."""

    name: str
    interventions: tuple[Intervention, ...]
    description: str = ""

    @property
    def tiers(self) -> list[str]:
        """Tiers of its interventions."""
        return sorted({i.tier for i in self.interventions})


def ramp(t: float | np.ndarray, start: float, months: float, end: float | None) -> np.ndarray:
    """Share of the full effect at time ``t``: 0 before ``start``, linear over ``months``, 0 after ``end``.

    Parameters
    ----------
    t
        Time (months).
    start, months, end
        When the effect starts, how long it takes to reach full effect, and when it stops
        (months; ``end`` None: never).

    Returns
    -------
    numpy.ndarray
        Share of the full effect, 0..1, shaped like ``t``.
    """
    t = np.asarray(t, dtype=float)
    r = np.clip((t - start) / months, 0.0, 1.0) if months > 0 else (t >= start).astype(float)
    if end is not None:
        r = np.where(t >= end, 0.0, r)
    return r
