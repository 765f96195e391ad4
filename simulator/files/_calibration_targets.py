"""The targets of a calibration spec: observed series, the model quantities and observation models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.analysis._calibration import AGGREGATES, Period, Target
from simulator.analysis._distributions import Distribution, DistributionError, distribution_from_dict
from simulator.analysis._likelihoods import LIKELIHOODS, Likelihood
from simulator.core._model import Model
from simulator.core._problems import InputError, Problems
from simulator.files._observed import read_observed
from simulator.files._strata_targets import (
    by_dimension,
    category_series,
    check_select,
    filter_rows,
    labels_of,
)
from simulator.files._yaml import Located

__all__ = ["TARGET_FIELDS", "read_target"]

TARGET_FIELDS = {
    "name", "data", "where", "variable", "denominator", "select", "include", "aggregate",
    "partial", "likelihood", "trend", "source", "by", "as",
}  # fmt: skip


def _month_of(d: date, start: pd.Timestamp) -> int:
    return (d.year - start.year) * 12 + (d.month - start.month)


def _likelihood(
    loc: Located | None, where: str, problems: Problems
) -> tuple[Likelihood | None, Distribution | None]:
    if loc is None or not isinstance(loc.value, Mapping):
        problems.add("is missing", part=f"{where}.likelihood", line=None if loc is None else loc.line,
                     allowed="a mapping with type: " + ", ".join(LIKELIHOODS))  # fmt: skip
        return None, None
    d = loc.value
    kind = d.get("type")
    if kind not in LIKELIHOODS:
        problems.add(
            f"type is {kind!r}", part=f"{where}.likelihood", line=loc.line, allowed=", ".join(LIKELIHOODS)
        )
        return None, None
    key = {"negbin": "dispersion", "lognormal": "sigma"}.get(kind)
    extra = [k for k in d if k not in ("type", key)]
    if extra:
        problems.add(f"unknown field {extra[0]!r}", part=f"{where}.likelihood", line=loc.line,
                     allowed="type" + (f", {key}" if key else ""))  # fmt: skip
        return None, None
    if key is None:
        return Likelihood(kind), None
    spread = d.get(key)
    if isinstance(spread, int | float) and not isinstance(spread, bool) and spread > 0:
        return Likelihood(kind, float(spread)), None
    if isinstance(spread, Mapping):
        try:
            return Likelihood(kind), distribution_from_dict(spread)
        except DistributionError as err:
            problems.add(str(err), part=f"{where}.likelihood.{key}", line=loc.line)
            return None, None
    problems.add(f"{key} is {spread!r}", part=f"{where}.likelihood", line=loc.line,
                 allowed=f"a positive number, or a distribution (its prior) to fit the {key}")  # fmt: skip
    return None, None


def _trend(item: Located, where: str, problems: Problems) -> dict:
    loc = item.get("trend")
    if loc is None:
        return {}
    d = loc.value
    if not isinstance(d, Mapping) or any(k not in ("level", "growth", "extend") for k in d):
        problems.add("must be a mapping of level, growth (priors) and extend (true/false)",
                     part=f"{where}.trend", line=loc.line)  # fmt: skip
        return {}
    out: dict = {"extend": bool(d.get("extend", False))}
    for key in ("level", "growth"):
        if d.get(key) is None:
            continue
        try:
            out[f"{key}_prior"] = distribution_from_dict(d[key])
        except (DistributionError, TypeError, AttributeError) as err:
            problems.add(str(err), part=f"{where}.trend.{key}", line=loc.line)
    return out


def _read_series(path: Path, where: str, item: Located, problems: Problems) -> pd.DataFrame | None:
    """A plain time series in model time: columns ``time`` and ``value`` (rows are points)."""
    try:
        df = pd.read_csv(path, comment="#")
    except (OSError, ValueError) as err:
        problems.add(f"data {path.name!r} cannot be read: {err}", part=where, line=item.line)
        return None
    bad = []
    for col in ("time", "value"):
        if col not in df.columns:
            problems.add(f"data {path.name!r} has no column {col!r}", part=where, line=item.line,
                         allowed="columns time, value (model time, observed value)")  # fmt: skip
            return None
        vals = pd.to_numeric(df[col], errors="coerce")
        for i in np.flatnonzero(~np.isfinite(vals.to_numpy(dtype=float))):
            bad.append(f"row {i + 2}, column {col}: {df[col].iloc[i]!r} is not a number")
        df[col] = vals
    if not bad and (df["value"] < 0).any():
        k = int(np.flatnonzero(df["value"].to_numpy() < 0)[0])
        bad.append(f"row {k + 2}, column value: {df['value'].iloc[k]:g} is negative")
    if not bad and not df["time"].is_monotonic_increasing:
        bad.append("column time: times must increase row by row")
    for b in bad[:10]:
        problems.add(f"data {path.name!r} {b}", part=where, line=item.line)
    if bad:
        return None
    return df.assign(year=[f"t={v:g}" for v in df["time"]])


def _observed(item: Located, where: str, p: Path, problems: Problems) -> pd.DataFrame | None:
    d = item.value
    if not isinstance(d.get("data"), str):
        problems.add("'data' is missing", part=where, line=item.line, allowed="a CSV of observed data")
        return None
    path = (p.parent / d["data"]).resolve()
    if not path.is_file():
        problems.add(f"data file {d['data']!r} does not exist", part=where, line=item.line)
        return None
    with path.open(encoding="utf-8") as fh:
        header = next((ln for ln in fh if not ln.startswith("#")), "")
    if "time" in [c.strip() for c in header.split(",")]:
        return _read_series(path, where, item, problems)
    try:
        df = read_observed(path)
    except InputError as err:
        problems.add(
            f"data {d['data']!r}: " + "; ".join(str(e) for e in err.problems[:5]), part=where, line=item.line
        )
        return None
    where_ = d.get("where") or {}
    if not isinstance(where_, Mapping):
        problems.add("'where' must map columns to values", part=where, line=item.line)
        return None
    for col in where_:
        if col not in df.columns:
            problems.add(f"where: no column {col!r} in {d['data']}", part=where, line=item.line,
                         allowed=", ".join(df.columns))  # fmt: skip
            return None
    if d.get("by") is not None:
        return df  # filtered per category by _category_series
    df = filter_rows(df, where_)
    if df.empty:
        problems.add(f"no rows of {d['data']} match where: {dict(where_)}", part=where, line=item.line)
        return None
    if df["year"].duplicated().any():
        dup = sorted(set(df["year"][df["year"].duplicated()]))
        problems.add(
            f"several rows for years {dup}: narrow 'where' to one series", part=where, line=item.line
        )
        return None
    return df.sort_values("period_start")


def _periods(
    df: pd.DataFrame, model: Model, months: int, partial: str, where: str, item: Located, problems: Problems
) -> tuple[list[Period], list[str]]:
    if "time" in df.columns:  # points in model time
        return [Period(str(r.year), float(r.time), float(r.time)) for r in df.itertuples()], []
    start = pd.Timestamp(model.spec.start) if model.spec.start else None
    if start is None:
        problems.add("the model has no start date, so its months cannot be matched to observed periods",
                     part=where, line=item.line)  # fmt: skip
        return [], []
    out, notes = [], []
    for _, row in df.iterrows():
        first = _month_of(pd.Timestamp(row["period_start"]).date(), start)
        last = _month_of(pd.Timestamp(row["period_end"]).date(), start)
        lo, hi = max(first, 0), min(last, months - 1)
        if hi < lo:
            continue  # the period lies wholly outside the run: not a target
        if (lo, hi) != (first, last):
            if partial != "scale":
                problems.add(
                    f"period {row['year']} covers model months {first}..{last} but the run has months 0..{months - 1}",
                    part=where, line=item.line,
                    allowed="partial: scale (scale the covered months up to the whole period, an assumption) "
                    "or a longer run (months:)",
                )  # fmt: skip
                continue
            share = (last - first + 1) / (hi - lo + 1)
            notes.append(f"{where}: period {row['year']} has {hi - lo + 1} of {last - first + 1} months in the run; "
                         f"the model's sum is scaled by {share:.3f} (assumption)")  # fmt: skip
        else:
            share = 1.0
        out.append(Period(str(row["year"]), float(lo), float(hi), share))
    return out, notes


def read_target(
    item: Located, i: int, model: Model, months: int, p: Path, problems: Problems
) -> tuple[list[Target], list[str]] | None:
    """The ``i``-th target of a spec, validated against the model and its data.

    A target with ``by: DIMENSION`` becomes one target per category of that model dimension
    (named ``name[category]``, selecting the category; the data's ``category`` column gives each
    its series, data categories merged as ``by: {DIMENSION: {category: [data categories]}}``
    says: counts added, percentages recomputed from their counts). ``as: share`` compares each
    category's share of the total over the categories, observed and predicted.

    Parameters
    ----------
    item
        The target's YAML node.
    i
        Its position (problems name ``targets[i]``).
    model
        The spec's model.
    months
        The run's horizon (model months).
    p
        The spec file (data paths start from its folder).
    problems
        Where problems are collected.

    Returns
    -------
    tuple or None
        The targets and the assumptions they make (notes), or ``None`` after problems were added.
    """
    where = f"targets[{i}]"
    d = item.value
    if not isinstance(d, Mapping):
        problems.add("must be a mapping", part=where, line=item.line)
        return None
    for k in d:
        if k not in TARGET_FIELDS:
            problems.add(
                f"unknown field {k!r}", part=where, line=item.line, allowed=", ".join(sorted(TARGET_FIELDS))
            )
    variables = labels_of(d.get("variable")) if d.get("variable") else ()
    if not variables:
        problems.add(
            "'variable' is missing", part=where, line=item.line, allowed="a quantity the model records"
        )
    for v in (*variables, *labels_of(d.get("denominator") or [])):
        if v not in model.compiled.recordable:
            problems.add(f"the model records no {v!r}", part=where, line=item.line,
                         allowed=", ".join(model.compiled.recordable[:30]))  # fmt: skip
    common = _common(item, where, model, problems)
    lik, spread_prior = _likelihood(item.get("likelihood"), where, problems)
    trend = _trend(item, where, problems)
    by = by_dimension(item, where, model, problems) if d.get("by") is not None else None
    df = _observed(item, where, p, problems)
    if (
        df is None
        or lik is None
        or not variables
        or common is None
        or (d.get("by") is not None and by is None)
    ):
        return None
    kw = dict(likelihood=lik, include=labels_of(d.get("include") or []), aggregate=common["aggregate"],
              denominator=labels_of(d.get("denominator") or []), spread_prior=spread_prior, **trend)  # fmt: skip
    name = str(d.get("name") or f"target{i}")
    if by is None:
        got = _one(df, name, variables, common["select"], kw, model, months, where, item, problems)
        return None if got is None else ([got[0]], got[1])
    return _each(df, by, name, variables, common, kw, model, months, where, item, problems)


def _common(item: Located, where: str, model: Model, problems: Problems) -> dict | None:
    """``select``, ``aggregate``, ``partial`` and ``as``, checked."""
    d = item.value
    aggregate = d.get("aggregate", "sum" if model.spec.start else "last")
    if aggregate not in AGGREGATES:
        problems.add(f"aggregate is {aggregate!r}", part=where, line=item.line, allowed=", ".join(AGGREGATES))
    partial = d.get("partial", "error")
    if partial not in ("error", "scale"):
        problems.add(f"partial is {partial!r}", part=where, line=item.line, allowed="error, scale")
    as_ = d.get("as", "value")
    if as_ not in ("value", "share"):
        problems.add(f"as is {as_!r}", part=f"{where}.as", line=item.line,
                     allowed="value, or share (each category's share of the total over a by: dimension)")  # fmt: skip
    elif as_ == "share" and (d.get("by") is None or d.get("denominator") or d.get("include")):
        problems.add("as: share needs by: and no denominator or include", part=f"{where}.as", line=item.line,
                     allowed="by: a dimension, the variable counted, no denominator or include")  # fmt: skip
        as_ = None
    sel = d.get("select") or {}
    if not isinstance(sel, Mapping):
        problems.add("must map dimensions to labels", part=f"{where}.select", line=item.line)
        return None
    select = {str(k): labels_of(v) for k, v in sel.items()}
    ok = check_select(select, model, where, item.line, problems)
    if (
        not ok
        or aggregate not in AGGREGATES
        or partial not in ("error", "scale")
        or as_ not in ("value", "share")
    ):
        return None
    return {"select": select, "aggregate": aggregate, "partial": partial, "as": as_}


def _one(
    df, name, variables, select, kw, model, months, where, item, problems
) -> tuple[Target, list[str]] | None:
    periods, notes = _periods(df, model, months, item.value.get("partial", "error"), where, item, problems)
    if not periods:
        problems.add("no observed period falls inside the run", part=where, line=item.line)
        return None
    obs = df.set_index("year").loc[[q.label for q in periods], "value"].to_numpy(dtype=float)
    if kw["denominator"] and "unit" in df.columns and (df["unit"] == "percent").all():
        kw = {**kw, "scale": 100.0}
        notes = [*notes, f"{where}: the model's ratio is compared with a percentage (x 100)"]
    return Target(name, variables, tuple(periods), obs, select=select, **kw), notes


def _each(df, by, name, variables, common, kw, model, months, where, item, problems):
    """One target per category of a ``by:`` dimension; shares of the categories' total if asked."""
    dim, mapping = by
    where_ = item.value.get("where") or {}
    if "category" not in df.columns:
        problems.add(f"by: {dim} needs data with a category column", part=f"{where}.by", line=item.line,
                     allowed="an observed-data CSV with breakdown and category columns")  # fmt: skip
        return None
    targets, notes, series = [], [], {}
    for cat, labels in mapping.items():
        got = category_series(df, where_, labels)
        if isinstance(got, str):
            problems.add(f"{dim} {cat!r}: {got}", part=f"{where}.by", line=item.line,
                         allowed="data categories: " + ", ".join(sorted(set(df["category"].astype(str)))))  # fmt: skip
            return None
        series[cat] = got
    if common["as"] == "share":
        years = sorted(set.intersection(*(set(s["year"]) for s in series.values())))
        total = sum(s.set_index("year").loc[years, "value"] for s in series.values())
        series = {c: s.set_index("year").loc[years].assign(value=lambda x: x["value"] / total).reset_index()
                  for c, s in series.items()}  # fmt: skip
        kw = {**kw, "denominator": variables, "denominator_select": dict(common["select"])}
        notes.append(
            f"{where}: each {dim} category's share of the total over the categories, observed and predicted"
        )
    for cat, s in series.items():
        sel = {**common["select"], dim: (cat,)}
        got = _one(s, f"{name}[{cat}]", variables, sel, kw, model, months, f"{where}[{cat}]", item, problems)
        if got is None:
            return None
        targets.append(got[0])
        notes += got[1]
    return targets, notes
