"""The surge model's parts: spaces, parameters, series and derived values.

Both spec builders assemble their models from these declarations and the
stocks and flows of :mod:`._surge_flows`: the surge model (:mod:`._build`)
uses all of them; the capacity model (:mod:`._capacity`) keeps the surge
model's parameters, series, derived values, the arrival, referral and
no-needs flows and the exits from treatment, and replaces the treatment
starts of capacitated services by its waiting lists.  These two modules are
the lower layer: they import neither builder.

Stocks (people): ``no_mh_needs``; ``at_risk[group]``; ``treatment[path]``,
where a *path* is a (group, condition, service) row of c2t whose
(group, condition) has a g2c row.

Flows (people per month), exactly the Strategy Unit model's equations:

* ``new_at_risk[g] = size_g * pcnt_g / 100 * curve_g(t)`` into ``at_risk``;
* ``new_referral[p] = at_risk[g] * referral_fraction[p]`` (measured; nobody moves),
  ``referral_fraction[p] = g2c_pcnt[g, c] * split[p] / sum(split over (g, c))``;
* ``new_treatment[p] = new_referral[p] * treat_pcnt[s]`` from ``at_risk`` to ``treatment``;
* ``no_needs[g] = at_risk[g] * (1 - sum of referral_fraction over g's paths)`` to ``no_mh_needs``;
* ``relapse[p] = treatment[p] * (1 - success[s]) * exit_rate[s]`` back to ``at_risk``;
* ``recovered[p] = treatment[p] * success[s] * exit_rate[s]`` to ``no_mh_needs``;

with ``exit_rate[s] = 1 - (1 - decay[s]) ** (1 / months[s])`` (per month).
Output ``contacts[p] = treatment[p] * demand[s]`` (contacts per month).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from simulator.core._formulas import parse
from simulator.core._spaces import Space
from simulator.core._spec import Aux, Param, Series
from simulator.surge._tables import SurgeTables

__all__ = [
    "SURGE_RECORD",
    "SpecHeader",
    "SurgeParts",
    "SurgeSpaces",
    "common_meta",
    "spec_header",
    "surge_auxes",
    "surge_params",
    "surge_parts",
    "surge_series",
    "surge_spaces",
]

#: what a run of a surge model records by default
SURGE_RECORD = (
    "no_mh_needs",
    "at_risk",
    "treatment",
    "new_at_risk",
    "new_referral",
    "new_treatment",
    "contacts",
)
#: the treatments table's parameters: (name, unit, description, bounds), one value per service
TREATMENT_PARAMS: tuple[tuple[str, str, str, tuple[float | None, float | None]], ...] = (
    ("success", "share", "share of people leaving the service who need no further care", (0.0, 1.0)),
    ("months", "months", "months over which the share decay of the caseload is discharged", (1e-9, None)),
    ("decay", "share", "share of the caseload discharged within months", (0.0, 1.0)),
    (
        "demand",
        "contacts per person per month",
        "contacts each person in the service needs per month",
        (0.0, None),
    ),
    ("treat_pcnt", "share", "share of referrals that start the service", (0.0, 1.0)),
)


@dataclass(frozen=True)
class SurgeSpaces:
    """The dimensions of a surge model and the spaces its declarations live on.

    Attributes
    ----------
    groups, conditions, services
        Labels of the three dimensions, in model order.
    paths
        The c2t rows that are paths, in model order (see :meth:`SurgeTables.paths`).
    pair_rows
        The g2c rows whose (group, condition) has a path.
    path, pair, group, service
        Spaces of paths (group, condition, service), of those (group, condition)
        pairs, of groups and of services.
    """

    groups: tuple[str, ...]
    conditions: tuple[str, ...]
    services: tuple[str, ...]
    paths: pd.DataFrame
    pair_rows: pd.DataFrame
    path: Space
    pair: Space
    group: Space
    service: Space

    @property
    def dims(self) -> dict[str, tuple[str, ...]]:
        """The model's dimensions: group, condition and service labels."""
        return {"group": self.groups, "condition": self.conditions, "service": self.services}


def surge_spaces(t: SurgeTables) -> SurgeSpaces:
    """The dimensions and spaces of the surge model of ``t``.

    Parameters
    ----------
    t
        Validated surge tables.

    Returns
    -------
    SurgeSpaces
        Labels and spaces in model order (groups and services as in their tables,
        conditions in order of first appearance in g2c).
    """
    paths = t.paths()
    path_pairs = set(zip(paths["group"], paths["condition"]))
    pair_rows = t.g2c[[(g, c) in path_pairs for g, c in zip(t.g2c["group"], t.g2c["condition"])]]
    groups = tuple(t.groups["group"])
    services = tuple(t.treatments["treatment"])
    return SurgeSpaces(
        groups=groups,
        conditions=tuple(t.conditions),
        services=services,
        paths=paths,
        pair_rows=pair_rows,
        path=Space(
            ("group", "condition", "service"),
            tuple(zip(paths["group"], paths["condition"], paths["treatment"])),
        ),
        pair=Space(("group", "condition"), tuple(zip(pair_rows["group"], pair_rows["condition"]))),
        group=Space(("group",), tuple((g,) for g in groups)),
        service=Space(("service",), tuple((s,) for s in services)),
    )


def _table_source(t: SurgeTables, table: str) -> str:
    """Provenance of a table: as recorded, or the model and table name."""
    return t.sources.get(table, f"{t.name}: {table} table")


def surge_params(t: SurgeTables, sp: SurgeSpaces) -> tuple[Param, ...]:
    """The surge model's parameters: group sizes and susceptibility, referral rates and splits, services.

    Parameters
    ----------
    t
        Validated surge tables.
    sp
        The model's spaces (:func:`surge_spaces`).

    Returns
    -------
    tuple of Param
        ``size`` (people), ``pcnt`` (% of the group), ``g2c_pcnt`` (per month),
        ``split`` (relative weight), then one parameter per service column of
        the treatments table (:data:`TREATMENT_PARAMS`).
    """
    groups_src = _table_source(t, "groups")
    tr_src = _table_source(t, "treatments")
    by_group = (
        Param(
            "size",
            sp.group,
            t.groups["size"].to_numpy(),
            "people",
            groups_src,
            "population of the group",
            (0.0, None),
        ),
        Param(
            "pcnt",
            sp.group,
            t.groups["pcnt"].to_numpy(),
            "% of the group",
            groups_src,
            "susceptibility: share of the group that becomes at risk",
            (0.0, 100.0),
        ),
        Param(
            "g2c_pcnt",
            sp.pair,
            sp.pair_rows["pcnt"].to_numpy(),
            "per month",
            _table_source(t, "g2c"),
            "monthly share of the group's at-risk people referred with the condition",
            (0.0, 1.0),
        ),
        Param(
            "split",
            sp.path,
            sp.paths["split"].to_numpy(),
            "relative weight",
            _table_source(t, "c2t"),
            "relative weight of each service a condition is referred to",
            (0.0, None),
        ),
    )
    by_service = tuple(
        Param(name, sp.service, t.treatments[name].to_numpy(), unit, tr_src, desc, bounds)
        for name, unit, desc, bounds in TREATMENT_PARAMS
    )
    return by_group + by_service


def surge_series(t: SurgeTables, sp: SurgeSpaces) -> tuple[Series, ...]:
    """The arrival curve of each group (share of its at-risk people arriving each month).

    Parameters
    ----------
    t
        Validated surge tables.
    sp
        The model's spaces.

    Returns
    -------
    tuple of Series
        The one series ``curve`` (share per month), knots at the curves' months.
    """
    curve = np.stack([t.curves[c].to_numpy() for c in t.groups["curve"]])
    named = ", ".join(f"{g}: {c}" for g, c in zip(sp.groups, t.groups["curve"]))
    return (
        Series(
            "curve",
            sp.group,
            t.curves.index.to_numpy(dtype=float),
            curve,
            "share per month",
            _table_source(t, "curves"),
            "share of the group's at-risk people arriving each month (curve of each group: " + named + ")",
        ),
    )


def surge_auxes(sp: SurgeSpaces) -> tuple[Aux, ...]:
    """Derived rates: referral fraction per path, exit rate per service, no-needs rate per group.

    Parameters
    ----------
    sp
        The model's spaces.

    Returns
    -------
    tuple of Aux
        ``referral_fraction``, ``exit_rate`` and ``no_needs_rate`` (all per month).
    """
    return (
        Aux(
            "referral_fraction",
            parse("g2c_pcnt * (split / sum(split, over=service))"),
            sp.path,
            "per month",
            "monthly share of the group's at-risk people referred along the path",
        ),
        Aux(
            "exit_rate",
            parse("1 - (1 - decay) ** (1 / months)"),
            sp.service,
            "per month",
            "share of the caseload leaving the service each month",
        ),
        Aux(
            "no_needs_rate",
            parse("1 - sum(referral_fraction, over=[condition, service])"),
            sp.group,
            "per month",
            "share of the at-risk people leaving risk each month without referral",
        ),
    )


class SpecHeader(TypedDict):
    """The keywords of a surge model's :class:`ModelSpec` besides its declarations."""

    name: str
    horizon: int
    start: str | None
    description: str
    source: str


def spec_header(t: SurgeTables) -> SpecHeader:
    """Name, horizon (months), start month and provenance of the spec of ``t``, as ModelSpec keywords.

    Parameters
    ----------
    t
        Validated surge tables.

    Returns
    -------
    SpecHeader
        ``name``, ``horizon`` (months the curves cover), ``start`` (``YYYY-MM`` or
        ``None``), ``description`` and ``source``.
    """
    return SpecHeader(
        name=t.name,
        horizon=t.months,
        start=None if t.start is None else t.start.strftime("%Y-%m"),
        description=str(t.meta.get("description", "")),
        source=str(t.meta.get("source", "")),
    )


def common_meta() -> dict[str, object]:
    """Spec metadata every surge model shares: how path elements are named, and the g2c rule.

    Returns
    -------
    dict
        ``element_names`` and ``constraints`` (a group's monthly condition rates
        total at most 1, the workbook rule; sampled values that break it are
        scaled down proportionally).  A new mapping on every call.
    """
    return {
        "element_names": {"group,condition,service": "path"},
        "constraints": ({"param": "g2c_pcnt", "sum_over": ("condition",), "max": 1.0},),
    }


@dataclass(frozen=True)
class SurgeParts:
    """The surge model's spaces, parameters, series and derived values, and its spec's header.

    Attributes
    ----------
    spaces
        Dimensions and spaces (:func:`surge_spaces`).
    params, series, auxes
        As :func:`surge_params`, :func:`surge_series` and :func:`surge_auxes` declare them.
    header
        Name, horizon, start and provenance (:func:`spec_header`).
    """

    spaces: SurgeSpaces
    params: tuple[Param, ...]
    series: tuple[Series, ...]
    auxes: tuple[Aux, ...]
    header: SpecHeader


def surge_parts(t: SurgeTables) -> SurgeParts:
    """Everything of the surge model of ``t`` but its stocks and flows.

    Parameters
    ----------
    t
        Validated surge tables.

    Returns
    -------
    SurgeParts
        Spaces, parameters, series, derived values and header.
    """
    sp = surge_spaces(t)
    return SurgeParts(sp, surge_params(t, sp), surge_series(t, sp), surge_auxes(sp), spec_header(t))
