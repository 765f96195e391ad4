"""Edits a planner makes on the Model page, as pure functions of a surge model.

Each returns a new :class:`~simulator.surge.SurgeModel` (the old one is never
changed) or raises :class:`EditError` naming what is allowed.  The rules are the
workbook's (:mod:`simulator.surge._tables_schema`), checked here before the model
is rebuilt so the page can say at once what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pandas as pd

from simulator.core._spec import Param
from simulator.surge._curves import CurveError, generate
from simulator.surge._surge_model import SurgeModel
from simulator.surge._surge_parts import TREATMENT_PARAMS
from simulator.surge._tables import SurgeTables
from simulator.surge._tables_schema import MAX_MONTHS, MAX_PEOPLE

__all__ = [
    "GENERATOR_PARAMS",
    "SERVICE_FIELDS",
    "EditError",
    "condition_rates",
    "curve_definition",
    "define_curve",
    "edit_group",
    "edit_service",
    "rate_limit",
    "set_condition_rate",
    "set_split",
    "with_values",
]

#: the service parameters a planner edits: column -> (label with unit, low, high)
SERVICE_FIELDS: dict[str, tuple[str, float, float]] = {
    "treat_pcnt": ("share of referrals treated (0-1)", 0.0, 1.0),
    "success": ("share treated successfully (0-1)", 0.0, 1.0),
    "months": ("treatment length (months)", 1e-9, float(MAX_MONTHS)),
    "decay": ("share discharged per month after treatment (0-1)", 0.0, 1.0),
    "demand": ("contacts per person per month", 0.0, 1e4),
}


#: each generator's parameters on the page: name -> (label, default, low, high); defaults as in _curves.py
GENERATOR_PARAMS: dict[str, dict[str, tuple[str, float, float, float]]] = {
    "sudden_shock": {
        "peak_month": ("peak month", 5, 0, 120),
        "decay_months": ("decay (months)", 4, 0.1, 120),
    },
    "prolonged_wave": {"peak_month": ("peak month", 12, 0, 120), "width": ("width (months)", 6, 0.1, 120)},
    "plateau": {
        "rise_months": ("rise (months)", 6, 0, 120),
        "hold_months": ("hold (months)", 12, 0, 120),
        "fall_months": ("fall (months)", 6, 0, 120),
    },
    "repeating_waves": {
        "first_peak": ("first peak (month)", 4, 0, 120),
        "period": ("months between waves", 9, 0.1, 120),
        "waves": ("number of waves", 3, 1, 20),
        "decay": ("each wave relative to the last (0-1)", 0.6, 0.01, 1),
        "width": ("wave width (months)", 2, 0.1, 60),
    },
}


def curve_definition(generator: str, values: dict[str, object]) -> dict[str, object]:
    """A generator definition from the page's inputs (missing values take the defaults).

    Parameters
    ----------
    generator
        A name of :data:`GENERATOR_PARAMS`.
    values
        Parameter -> what the page holds.

    Returns
    -------
    dict
        ``{"generator": name, parameter: number, ...}`` for :func:`simulator.surge._curves.generate`.
    """
    params = GENERATOR_PARAMS[generator]
    out: dict[str, object] = {"generator": generator}
    for k, (_, default, _, _) in params.items():
        v = values.get(k)
        out[k] = float(default) if v is None or v == "" else float(str(v))
    if generator == "repeating_waves":
        out["waves"] = int(float(str(out["waves"])))
    return out


class EditError(ValueError):
    """An edit that the model's rules do not allow (the message says what is allowed)."""


def _with(model: SurgeModel, **tables: pd.DataFrame) -> SurgeModel:
    """The model rebuilt with some tables replaced."""
    t = model.tables
    return model.with_tables(SurgeTables(**{**t.__dict__, **tables}))


def with_values(model: SurgeModel, **tables: pd.DataFrame) -> SurgeModel:
    """The model with new parameter values only: its compiled index arrays are kept.

    For edits that change numbers in the tables but no row and no curve (group size and
    %, condition rates, splits, service parameters): every row keeps its place, so the
    spec has the same stocks, flows and spaces and only its parameters' values differ.
    The new model shares the compiled model's arrays and nodes with fresh defaults, so a
    rerun after a slider move skips building and compiling the spec (the run takes the
    parameters as values, as an ensemble's members do).  Capacity and stratified models
    are rebuilt (:func:`_with`): their specs derive more from the tables.

    Parameters
    ----------
    model
        The current model.
    **tables
        Replaced tables with the same rows, in the same order, as the model's.

    Returns
    -------
    SurgeModel
        A model whose simulation equals the rebuilt model's.
    """
    t = model.tables
    new_t = SurgeTables(**{**t.__dict__, **tables})
    if t.has_capacity or t.meta.get("strata"):
        return model.with_tables(new_t)
    try:
        params = tuple(_new_values(p, new_t, set(tables)) for p in model.spec.params)
    except KeyError:  # rows changed after all: build it afresh
        return model.with_tables(new_t)
    spec = replace(model.spec, params=params)
    compiled = replace(model.compiled, spec=spec, defaults={p.name: p.values[None, :] for p in params})
    return replace(model, spec=spec, tables=new_t, _compiled=compiled)


def _number(value: object, what: str, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high]``, or :class:`EditError`."""
    try:
        v = float(str(value))
    except ValueError:
        raise EditError(
            f"{what}: {value!r} is not a number; allowed: a number from {low:g} to {high:g}"
        ) from None
    if not low <= v <= high:
        raise EditError(f"{what}: {v:g} is not allowed; allowed: a number from {low:g} to {high:g}")
    return v


#: the tables a surge parameter's values come from: parameter -> (table, key columns, value column)
_SOURCES = {
    "size": ("groups", ("group",), "size"),
    "pcnt": ("groups", ("group",), "pcnt"),
    "g2c_pcnt": ("g2c", ("group", "condition"), "pcnt"),
    "split": ("c2t", ("group", "condition", "treatment"), "split"),
    **{name: ("treatments", ("treatment",), name) for name, *_ in TREATMENT_PARAMS},
}


def _new_values(p: Param, t: SurgeTables, changed: set[str]) -> Param:
    """``p`` with its values read from the tables ``t`` if its table is among ``changed``."""
    if p.name not in _SOURCES or _SOURCES[p.name][0] not in changed:
        return p
    table, keys, col = _SOURCES[p.name]
    df = getattr(t, table)
    index = pd.MultiIndex.from_frame(df[list(keys)].astype(object))
    at = index.get_indexer(pd.MultiIndex.from_tuples(p.space.coords, names=list(keys)))
    if (at < 0).any():
        raise KeyError(f"{table} has no row for an element of {p.name}")
    return replace(p, values=df[col].to_numpy(dtype=float)[at])


def edit_group(
    model: SurgeModel, group: str, *, size: object = None, pcnt: object = None, curve: str | None = None
) -> SurgeModel:
    """A population group's size (people), % at risk and curve.

    Parameters
    ----------
    model
        The current model.
    group
        The group's name.
    size, pcnt, curve
        New values (``None``: unchanged): people, percent from 0 to 100, a curve name.

    Returns
    -------
    SurgeModel
        The edited model (the same object when nothing changed).
    """
    g = model.tables.groups.copy()
    rows = g["group"] == group
    if not rows.any():
        raise EditError(f"unknown group {group!r}; groups: {', '.join(g['group'])}")
    changed = False
    if size is not None:
        v = _number(size, "group size (people)", 0.0, MAX_PEOPLE)
        changed |= bool((g.loc[rows, "size"] != v).any())
        g.loc[rows, "size"] = v
    if pcnt is not None:
        v = _number(pcnt, "% of the group at risk", 0.0, 100.0)
        changed |= bool((g.loc[rows, "pcnt"] != v).any())
        g.loc[rows, "pcnt"] = v
    if curve is not None:
        if curve not in model.tables.curves.columns:
            raise EditError(f"unknown curve {curve!r}; curves: {', '.join(model.tables.curves.columns)}")
        changed |= bool((g.loc[rows, "curve"] != curve).any())
        g.loc[rows, "curve"] = curve
    if not changed:
        return model
    return _with(model, groups=g) if curve is not None else with_values(model, groups=g)


def define_curve(model: SurgeModel, name: str, definition: Mapping[str, object], group: str) -> SurgeModel:
    """A curve made by a generator (:mod:`simulator.surge._curves`), followed by ``group``.

    Parameters
    ----------
    model
        The current model.
    name
        The new curve's name (replaces a curve of that name).
    definition
        ``generator`` and its parameters (months).
    group
        The group put on the curve.

    Returns
    -------
    SurgeModel
    """
    try:
        generate(definition, model.tables.months)  # checks the definition, says what is allowed
    except CurveError as err:
        raise EditError(str(err)) from None
    try:
        return model.with_curves(assign={group: name}, define={name: dict(definition)})
    except KeyError as err:
        raise EditError(str(err.args[0])) from None


def condition_rates(model: SurgeModel, group: str) -> pd.DataFrame:
    """A group's condition rates (share of its at-risk people per month), with their sum.

    Parameters
    ----------
    model
        The current model.
    group
        The group.

    Returns
    -------
    pandas.DataFrame
        Columns ``condition`` and ``pcnt``.
    """
    g2c = model.tables.g2c
    return g2c.loc[g2c["group"] == group, ["condition", "pcnt"]].reset_index(drop=True)


def rate_limit(model: SurgeModel, group: str, condition: str) -> float:
    """The largest rate ``condition`` may take so the group's rates still sum to at most 1.

    Parameters
    ----------
    model
        The current model.
    group, condition
        The rate's group and condition.

    Returns
    -------
    float
        ``1 - (sum of the group's other condition rates)``, at least 0.
    """
    r = condition_rates(model, group)
    others = float(r.loc[r["condition"] != condition, "pcnt"].sum())
    return max(0.0, 1.0 - others)


def set_condition_rate(model: SurgeModel, group: str, condition: str, value: object) -> SurgeModel:
    """Set one condition rate, keeping the group's rates at most 1 in sum.

    Parameters
    ----------
    model
        The current model.
    group, condition
        Which rate (the pair must be in the model's g2c table).
    value
        Share of the group's at-risk people per month referred with the condition.

    Returns
    -------
    SurgeModel
    """
    g2c = model.tables.g2c.copy()
    rows = (g2c["group"] == group) & (g2c["condition"] == condition)
    if not rows.any():
        raise EditError(f"group {group!r} has no rate for {condition!r}")
    limit = rate_limit(model, group, condition)
    v = _number(value, f"rate of {condition!r} in {group!r}", 0.0, 1.0)
    if v > limit + 1e-12:
        raise EditError(
            f"rate of {condition!r} in {group!r}: {v:g} would make the group's rates sum to more than 1; "
            f"allowed: at most {limit:.6g} (1 minus the group's other rates)"
        )
    g2c.loc[rows, "pcnt"] = v
    return with_values(model, g2c=g2c)


def set_split(model: SurgeModel, group: str, condition: str, service: str, value: object) -> SurgeModel:
    """The relative weight of ``service`` among the services a group's condition is referred to.

    Parameters
    ----------
    model
        The current model.
    group, condition, service
        Which path.
    value
        Weight (any non-negative number; the weights of a group's condition are shared out in proportion).

    Returns
    -------
    SurgeModel
    """
    c2t = model.tables.c2t.copy()
    rows = (c2t["group"] == group) & (c2t["condition"] == condition) & (c2t["treatment"] == service)
    if not rows.any():
        raise EditError(f"no path from {group!r}, {condition!r} to {service!r}")
    v = _number(value, "split (a weight)", 0.0, 1e9)
    others = c2t.loc[(c2t["group"] == group) & (c2t["condition"] == condition) & ~rows, "split"].sum()
    if v == 0 and others <= 0:
        raise EditError(f"the splits of {group!r}, {condition!r} would sum to 0; allowed: a weight above 0")
    c2t.loc[rows, "split"] = v
    return with_values(model, c2t=c2t)


def edit_service(model: SurgeModel, service: str, values: Mapping[str, object]) -> SurgeModel:
    """A service's treat %, success, months, decay and contacts (:data:`SERVICE_FIELDS`).

    Parameters
    ----------
    model
        The current model.
    service
        The service.
    values
        Column -> new value (columns of :data:`SERVICE_FIELDS`).

    Returns
    -------
    SurgeModel
    """
    t = model.tables.treatments.copy()
    rows = t["treatment"] == service
    if not rows.any():
        raise EditError(f"unknown service {service!r}")
    for col, value in values.items():
        label, low, high = SERVICE_FIELDS[col]
        t.loc[rows, col] = _number(value, label, low, high)
    return with_values(model, treatments=t)
