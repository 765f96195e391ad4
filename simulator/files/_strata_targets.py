"""Calibration targets by stratum: a model dimension's categories matched to observed categories.

A target with ``by: deprivation`` becomes one series per category of the model's
``deprivation`` dimension; the observed data's ``category`` column gives each its
values, and ``by: {deprivation: {"Q1 most deprived": ["10 Most deprived", "09 More
deprived"], ...}}`` merges published categories into the model's (deciles into
quintiles): counts are added, percentages recomputed from their counts (:data:`RATES`).
Selections are checked against the model so a misspelt category is an error, not an
empty series.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from simulator.core._model import Model
from simulator.core._problems import Problems
from simulator.files._yaml import Located

__all__ = ["RATES", "by_dimension", "category_series", "check_select", "filter_rows", "labels_of"]

#: percentages recomputed from their counts when ``by:`` merges data categories (definitions as in
#: calibration/data/README.md): measure -> (numerator, denominator measures added, subtracted)
RATES = {
    "recovery_rate": ("recovered", ("finished_course_treatment",), ("not_at_caseness",)),
    "reliable_recovery_rate": ("reliably_recovered", ("finished_course_treatment",), ("not_at_caseness",)),
}


def labels_of(v: object) -> tuple[str, ...]:
    return tuple(str(x) for x in v) if isinstance(v, list) else (str(v),)


def filter_rows(df: pd.DataFrame, where_: Mapping) -> pd.DataFrame:
    """The rows whose columns hold one of the labels ``where_`` gives them."""
    for col, val in where_.items():
        df = df[df[col].astype(str).isin(labels_of(val))]
    return df


def category_series(df: pd.DataFrame, where_: Mapping, labels: tuple[str, ...]) -> pd.DataFrame | str:
    """One observed row per year for data categories ``labels`` (counts added; rates from their counts)."""
    base = filter_rows(
        df[df["category"].astype(str).isin(labels)], {k: v for k, v in where_.items() if k != "measure"}
    )
    rows = filter_rows(base, {"measure": where_["measure"]} if "measure" in where_ else {})
    if rows.empty:
        return f"no rows of the data for categories {list(labels)}"
    if len(set(rows["measure"])) > 1:
        return "'where' must pick one measure"
    measure = str(rows["measure"].iloc[0])
    value = rows.groupby("year")["value"].sum(min_count=1)
    if rows["unit"].iloc[0] == "percent" and len(labels) > 1:
        if measure not in RATES:
            return f"percentages of {measure!r} cannot be merged over categories {list(labels)}"
        num, plus, minus = RATES[measure]
        tot = base.groupby(["year", "measure"])["value"].sum().unstack()
        value = 100 * tot[num] / (tot[list(plus)].sum(axis=1) - tot[list(minus)].sum(axis=1))
    first = rows.groupby("year")[["period_start", "period_end", "unit"]].first()
    return first.assign(value=value).reset_index().sort_values("period_start")


def by_dimension(item: Located, where: str, model: Model, problems: Problems) -> tuple[str, dict] | None:
    """``by:`` a dimension (data categories named like the model's) or ``{dim: {category: [data ...]}}``."""
    v = item.value.get("by")
    dim, mapping = (v, None) if isinstance(v, str) else (next(iter(v.items())) if isinstance(v, Mapping)
                                                          and len(v) == 1 else (None, None))  # fmt: skip
    if dim is None:
        problems.add(f"by is {v!r}", part=f"{where}.by", line=item.line,
                     allowed="a dimension of the model, or {dimension: {category: [data categories]}}")  # fmt: skip
        return None
    cats = model.spec.dims.get(str(dim))
    if cats is None:
        problems.add(f"the model has no dimension {dim!r}", part=f"{where}.by", line=item.line,
                     allowed=", ".join(model.spec.dims))  # fmt: skip
        return None
    if mapping is None:
        return str(dim), {c: (c,) for c in cats}
    bad = [k for k in (mapping if isinstance(mapping, Mapping) else [None]) if k not in cats]
    missing = [c for c in cats if not isinstance(mapping, Mapping) or c not in mapping]
    for k in bad:
        problems.add(f"{dim} has no category {k!r}", part=f"{where}.by.{dim}", line=item.line,
                     allowed=", ".join(cats))  # fmt: skip
    if missing and not bad:
        problems.add(f"categories {missing} of {dim} have no data categories", part=f"{where}.by.{dim}",
                     line=item.line, allowed="every category of the dimension, each with a list of data categories")  # fmt: skip
    return None if bad or missing else (str(dim), {c: labels_of(mapping[c]) for c in cats})


def check_select(select: Mapping, model: Model, where: str, line: int, problems: Problems) -> bool:
    """Every selected dimension and label exists in the model (a wrong one would silently select nothing)."""
    ok = True
    for dim, labels in select.items():
        have = model.spec.dims.get(dim)
        if have is None:
            problems.add(f"the model has no dimension {dim!r}", part=f"{where}.select", line=line,
                         allowed=", ".join(model.spec.dims))  # fmt: skip
            ok = False
            continue
        for lab in labels:
            if lab not in have:
                problems.add(f"{dim} has no category {lab!r}", part=f"{where}.select.{dim}", line=line,
                             allowed=", ".join(have))  # fmt: skip
                ok = False
    return ok
