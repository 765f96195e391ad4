"""Strata: the population divided along one more dimension (deprivation, ethnic group, age band, sex).

A *stratifier* is declared once (a model file's ``strata`` entry, a workbook
sheet ``strata``, or Python) as a :class:`StrataDecl`: its categories, whether
they are ordered, each population group's share in each category (with the
source of the shares) and multipliers per category on any parameter (each
with its source, or the label :data:`ILLUSTRATIVE`).
:func:`simulator.core._strata_transform.stratify` compiles it into the same
:class:`~simulator.core._spec.ModelSpec` as a new dimension named after the
stratifier; no second engine.

After stratifying, the spec describes its strata for analyses as a tuple of
:class:`Stratifier` (``spec.meta["strata"]``, read with
:func:`simulator.core._strata_transform.strata_of`): name, categories, whether
ordered, and the people in each category.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from simulator.core._spec_parts import RESERVED, SpecError

__all__ = [
    "ALL_GROUPS",
    "ILLUSTRATIVE",
    "StrataDecl",
    "StrataError",
    "StrataProblem",
    "Stratifier",
    "StratumMultiplier",
    "decl_problems",
]

#: the label a multiplier or share without a published source must carry
ILLUSTRATIVE = "illustrative assumption"
#: the key of a share row that applies to every population group
ALL_GROUPS = "all"
#: how far a row of shares may be from summing to 1
SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class StratumMultiplier:
    """A multiplier per category on one parameter of the model.

    Attributes
    ----------
    param
        The parameter's name (e.g. ``g2c_pcnt``, ``treat_pcnt``, ``success``, ``months``).
    values
        One multiplier per category, in the stratifier's category order (dimensionless, >= 0).
    source
        Where the multipliers come from, or :data:`ILLUSTRATIVE`.
    """

    param: str
    values: tuple[float, ...]
    source: str


@dataclass(frozen=True)
class StrataDecl:
    """The declaration of one stratifying dimension.

    Attributes
    ----------
    name
        Dimension name, e.g. ``deprivation``, ``ethnicity``, ``age``, ``sex``.
    categories
        Category labels, in order (for ordered strata, from one end of the gradient to the other).
    ordered
        Whether the categories are ordered (deprivation, age) or not (ethnic group, sex).
    shares
        Share of each population group in each category (each row sums to 1): by group label,
        or :data:`ALL_GROUPS` for every group not listed.
    shares_source
        Where the shares come from (or :data:`ILLUSTRATIVE`).
    multipliers
        Multipliers per category on parameters.
    population
        The parameter holding the people in each population group (surge models: ``size``),
        used to count the people in each category; ``None`` if the model has none.
    total
        People in the whole modelled population, used when ``population`` is ``None``.
    pool_over
        Dimensions whose sums in formulas also sum over the strata (people from every
        stratum share a service's capacity); default ``("group",)`` where the model has groups.
    group_dim
        The dimension the shares are given by (default ``group``).
    label
        Words for the dimension (e.g. "IMD 2019 quintile, Q1 = most deprived").
    targets
        Parameters that get the dimension without a multiplier (each category keeps the
        parameter's value), so that interventions can change them stratum by stratum.
    lines
        Where each part was declared (file line by key, e.g. ``"multipliers[0].parameter"``),
        filled by file readers so problems can name their place.
    """

    name: str
    categories: tuple[str, ...]
    ordered: bool
    shares: Mapping[str, tuple[float, ...]]
    shares_source: str
    multipliers: tuple[StratumMultiplier, ...] = ()
    population: str | None = None
    total: float | None = None
    pool_over: tuple[str, ...] | None = None
    group_dim: str = "group"
    label: str = ""
    targets: tuple[str, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Stratifier:
    """A stratifying dimension of a built model, as analyses see it.

    Attributes
    ----------
    name
        The dimension's name in specs and results (e.g. ``deprivation``).
    categories
        Category labels, in order (the dimension's coordinates).
    ordered
        Whether the categories are ordered (slope and relative index of inequality apply).
    population
        People in each category (NaN where the model does not say how many people it covers).
    label
        Words for the dimension.
    source
        Where the shares come from.
    multipliers
        The multipliers applied, by parameter name: (values per category, source).
    """

    name: str
    categories: tuple[str, ...]
    ordered: bool
    population: tuple[float, ...]
    label: str = ""
    source: str = ""
    multipliers: Mapping[str, tuple[tuple[float, ...], str]] = field(default_factory=dict)

    @property
    def shares(self) -> tuple[float, ...]:
        """Share of the population in each category (sums to 1)."""
        pop = np.asarray(self.population, dtype=float)
        return tuple(float(x) for x in pop / pop.sum())


@dataclass(frozen=True)
class StrataProblem:
    """One problem of a strata declaration: which stratifier, which part, what, what is allowed."""

    stratifier: str
    key: str
    message: str
    allowed: str | None = None

    def words(self) -> str:
        """The problem in words, with its place.

        Returns
        -------
        str
            E.g. ``"strata 'deprivation', multipliers[1].parameter: unknown parameter 'x'"``.
        """
        where = f"strata {self.stratifier!r}" + (f", {self.key}" if self.key else "")
        tail = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{where}: {self.message}{tail}"


class StrataError(SpecError):
    """A strata declaration does not fit the model; ``items`` holds every :class:`StrataProblem`."""

    def __init__(self, items: list[StrataProblem]):
        self.items = items
        super().__init__([p.words() for p in items])


def _category_problems(d: StrataDecl, out: list[StrataProblem]) -> None:
    if not d.name.isidentifier() or d.name in RESERVED:
        out.append(
            StrataProblem(d.name, "name", f"{d.name!r} is not a usable dimension name", "letters, digits, _")
        )
    if not d.categories:
        out.append(StrataProblem(d.name, "categories", "no categories", "a list of two or more labels"))
    repeated = sorted({c for c in d.categories if d.categories.count(c) > 1})
    if repeated:
        out.append(StrataProblem(d.name, "categories", f"repeated categories {repeated}", "distinct labels"))


def _share_problems(d: StrataDecl, groups: tuple[str, ...] | None, out: list[StrataProblem]) -> None:
    n = len(d.categories)
    if not d.shares_source.strip():
        out.append(
            StrataProblem(
                d.name, "shares.source", "the shares have no source", f"a source, or '{ILLUSTRATIVE}'"
            )
        )
    if not d.shares:
        out.append(StrataProblem(d.name, "shares", "no shares given", f"'{ALL_GROUPS}' or one row per group"))
    for key, row in d.shares.items():
        place = f"shares.{key}"
        if key != ALL_GROUPS and groups is not None and key not in groups:
            out.append(
                StrataProblem(d.name, place, f"unknown group {key!r}", f"{ALL_GROUPS}, " + ", ".join(groups))
            )
        if len(row) != n:
            out.append(StrataProblem(d.name, place, f"{len(row)} shares for {n} categories", f"{n} numbers"))
            continue
        arr = np.asarray(row, dtype=float)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            out.append(StrataProblem(d.name, place, "shares must be numbers >= 0", "shares from 0 to 1"))
        elif abs(arr.sum() - 1.0) > SHARE_TOLERANCE:
            out.append(
                StrataProblem(d.name, place, f"shares sum to {arr.sum():.6g}, not 1", "shares summing to 1")
            )
    if groups is not None and ALL_GROUPS not in d.shares:
        missing = [g for g in groups if g not in d.shares]
        if missing:
            out.append(
                StrataProblem(
                    d.name,
                    "shares",
                    f"no shares for groups {missing}",
                    f"a row '{ALL_GROUPS}' or one per group",
                )
            )


def _multiplier_problems(d: StrataDecl, params: Mapping, out: list[StrataProblem]) -> None:
    n = len(d.categories)
    seen: set[str] = set()
    for i, m in enumerate(d.multipliers):
        place = f"multipliers[{i}]"
        if m.param not in params:
            out.append(
                StrataProblem(
                    d.name, place + ".parameter", f"unknown parameter {m.param!r}", ", ".join(sorted(params))
                )
            )
        elif m.param in seen:
            out.append(
                StrataProblem(d.name, place + ".parameter", f"parameter {m.param!r} given twice", "once")
            )
        seen.add(m.param)
        if not m.source.strip():
            out.append(
                StrataProblem(
                    d.name,
                    place + ".source",
                    f"the multipliers on {m.param!r} have no source",
                    "source: ..., or assumption: illustrative",
                )
            )
        arr = np.asarray(m.values, dtype=float)
        if arr.shape != (n,):
            out.append(
                StrataProblem(
                    d.name, place + ".values", f"{arr.size} values for {n} categories", f"{n} numbers"
                )
            )
        elif not np.all(np.isfinite(arr)) or np.any(arr < 0):
            out.append(
                StrataProblem(d.name, place + ".values", "multipliers must be numbers >= 0", "numbers >= 0")
            )
        elif m.param in params:
            _bound_problems(d, m, params[m.param], place, out)


def _bound_problems(d: StrataDecl, m: StratumMultiplier, p, place: str, out: list[StrataProblem]) -> None:
    hi = p.bounds[1]
    if hi is None:
        return
    scaled = np.outer(p.values, np.asarray(m.values, dtype=float))
    bad = scaled > hi + 1e-12
    if np.any(bad):
        k = int(np.argwhere(bad)[0][1])
        out.append(
            StrataProblem(
                d.name,
                place + ".values",
                f"{m.param} x {m.values[k]:g} in category {d.categories[k]!r} reaches {scaled[bad].max():g}, "
                f"above the parameter's maximum {hi:g}",
                f"multipliers keeping {m.param} at most {hi:g} for every element",
            )
        )


def decl_problems(d: StrataDecl, spec) -> list[StrataProblem]:
    """Every problem of declaration ``d`` on model ``spec`` (empty: none).

    Parameters
    ----------
    d
        The declaration.
    spec
        The (unstratified, or already stratified by other dimensions) model spec.

    Returns
    -------
    list of StrataProblem
        Shares that do not sum to 1, unknown groups, categories or parameters, missing
        sources, clashing names, multiplied values out of a parameter's bounds.
    """
    out: list[StrataProblem] = []
    _category_problems(d, out)
    if d.name in spec.dims:
        out.append(
            StrataProblem(d.name, "name", f"the model already has a dimension {d.name!r}", "a new name")
        )
    groups = tuple(spec.dims[d.group_dim]) if d.group_dim in spec.dims else None
    _share_problems(d, groups, out)
    params = {p.name: p for p in spec.params}
    _multiplier_problems(d, params, out)
    for name in d.targets:
        if name not in params:
            out.append(
                StrataProblem(d.name, "targets", f"unknown parameter {name!r}", ", ".join(sorted(params)))
            )
    if d.population is not None and d.population not in params:
        out.append(
            StrataProblem(
                d.name, "population", f"unknown parameter {d.population!r}", "a parameter of people per group"
            )
        )
    for dim in d.pool_over or ():
        if dim not in spec.dims:
            out.append(StrataProblem(d.name, "pool_over", f"unknown dimension {dim!r}", ", ".join(spec.dims)))
    return out
