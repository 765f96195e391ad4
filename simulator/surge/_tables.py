"""The surge model's tables: the typed :class:`SurgeTables`, checking raw tables into them, and back.

Workbooks (:mod:`._workbook`) and YAML files (:mod:`._yamlfile`) are both read
into :class:`RawTable` objects (header, cells, and where each row came from);
:func:`check_tables` then parses every cell, applies the surge model's rules
(:mod:`._tables_check` for the six required tables, :mod:`._tables_check_optional`
for capacity, waiting and stages) and returns typed :class:`SurgeTables`, or
records every problem it found.  :func:`tables_to_raw` turns typed tables back
into raw ones for writing.  The schema (sheet names, columns and cell types)
is in :mod:`._tables_schema`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.core._problems import Problems
from simulator.surge._tables_check import check_required, parse_required, warn_services_without_demand
from simulator.surge._tables_check_optional import check_optional
from simulator.surge._tables_schema import (
    DEFAULT_HEADROOM,
    DEFAULT_STAGES,
    EIGHTEEN_WEEKS,
    OPTIONAL_SHEETS,
    SCHEMA,
    SHEETS,
    RawTable,
)

__all__ = [
    "DEFAULT_HEADROOM",
    "DEFAULT_STAGES",
    "EIGHTEEN_WEEKS",
    "OPTIONAL_SHEETS",
    "SCHEMA",
    "SHEETS",
    "RawTable",
    "Reader",
    "SurgeTables",
    "check_tables",
    "tables_to_raw",
]


@dataclass
class SurgeTables:
    """The validated tables of a surge model.

    Attributes
    ----------
    curves
        Index ``month`` (0, 1, ...), one column per curve: share of a group's
        at-risk people arriving in that month.
    groups, g2c, c2t, treatments, demand
        As in the workbook (``demand.month`` as timestamps); c2t keeps every
        row, including those that are not paths.
    sources
        Provenance note per table.
    start
        Calendar month of model month 0 (first month of the demand sheet by default).
    """

    name: str
    curves: pd.DataFrame
    groups: pd.DataFrame
    g2c: pd.DataFrame
    c2t: pd.DataFrame
    treatments: pd.DataFrame
    demand: pd.DataFrame
    sources: dict[str, str] = field(default_factory=dict)
    start: pd.Timestamp | None = None
    meta: dict[str, object] = field(default_factory=dict)
    capacity: pd.DataFrame | None = None
    waiting: pd.DataFrame | None = None
    stages: pd.DataFrame | None = None

    @property
    def has_capacity(self) -> bool:
        """Whether the model limits some service's starts or caseload."""
        return self.capacity is not None and len(self.capacity) > 0

    def paths(self) -> pd.DataFrame:
        """c2t rows that are paths (their (group, condition) has a g2c row), in model order.

        Returns
        -------
        pandas.DataFrame
            Those rows of :attr:`c2t`, sorted by group, condition and treatment in
            the order of the groups table, g2c and the treatments table.
        """
        pairs = self.g2c[["group", "condition"]]
        p = self.c2t.merge(pairs, on=["group", "condition"], how="inner")
        g_order = {g: i for i, g in enumerate(self.groups["group"])}
        c_order = {c: i for i, c in enumerate(self.conditions)}
        s_order = {s: i for i, s in enumerate(self.treatments["treatment"])}
        p = p.assign(
            _g=p["group"].map(g_order),
            _c=p["condition"].map(c_order),
            _s=p["treatment"].map(s_order),
        )
        return p.sort_values(["_g", "_c", "_s"]).drop(columns=["_g", "_c", "_s"]).reset_index(drop=True)

    def ignored_c2t(self) -> pd.DataFrame:
        """c2t rows that are not paths (no g2c row for their group and condition).

        Returns
        -------
        pandas.DataFrame
            Those rows of :attr:`c2t`, in their order.
        """
        pairs = self.g2c[["group", "condition"]].assign(_hit=True)
        m = self.c2t.merge(pairs, on=["group", "condition"], how="left")
        return self.c2t[m["_hit"].isna().to_numpy()]

    @property
    def conditions(self) -> list[str]:
        """Conditions in order of first appearance in g2c."""
        return list(dict.fromkeys(self.g2c["condition"]))

    @property
    def months(self) -> int:
        """Number of months the curves cover (the default horizon)."""
        return len(self.curves)

    def with_curve(self, curve: str) -> SurgeTables:
        """A copy with every group on ``curve``.

        Parameters
        ----------
        curve
            A column of :attr:`curves`.

        Returns
        -------
        SurgeTables
            The same tables with the groups table's ``curve`` column set to ``curve``.

        Raises
        ------
        KeyError
            If there is no such curve.
        """
        if curve not in self.curves.columns:
            raise KeyError(f"no curve {curve!r}; curves: {list(self.curves.columns)}")
        groups = self.groups.assign(curve=curve)
        return SurgeTables(**{**self.__dict__, "groups": groups})


def check_tables(
    raw: dict[str, RawTable],
    problems: Problems,
    name: str = "model",
    sources: dict[str, str] | None = None,
    start: pd.Timestamp | None = None,
    meta: dict[str, object] | None = None,
) -> SurgeTables | None:
    """Parse and check the six tables (and the optional ones); return typed tables.

    Parameters
    ----------
    raw
        Tables as read, by name.
    problems
        Where every problem found is recorded (errors, and warnings about rows ignored).
    name
        The model's name.
    sources
        Provenance note per table.
    start
        Calendar month of model month 0; ``None``: the first month of the demand sheet.
    meta
        Top-level metadata of the model file (description, source, licence).

    Returns
    -------
    SurgeTables or None
        The typed tables, or ``None`` if errors were recorded.
    """
    parsed = parse_required(raw, problems)
    if parsed is None:
        return None
    frames, curve_cols = parsed
    cu = check_required(frames, curve_cols, problems)
    optional = check_optional(raw, problems, set(frames["treatments"]["treatment"]), frames["demand"])
    warn_services_without_demand(frames, problems)
    if problems.errors:
        return None

    def clean(df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=["_ok", "_line"]).reset_index(drop=True)

    curves_df = cu.set_index("month")[curve_cols].astype(float)
    curves_df.index.name = "month"
    demand_df = clean(frames["demand"]).sort_values(["service", "month"]).reset_index(drop=True)
    if start is None and len(demand_df):
        start = pd.Timestamp(demand_df["month"].min()).to_period("M").to_timestamp()
    return SurgeTables(
        name=name,
        curves=curves_df,
        groups=clean(frames["groups"]),
        g2c=clean(frames["g2c"]),
        c2t=clean(frames["c2t"]),
        treatments=clean(frames["treatments"]),
        demand=demand_df,
        sources=dict(sources or {}),
        start=start,
        meta=dict(meta or {}),
        **{k: (None if v is None else clean(v)) for k, v in optional.items()},
    )


def tables_to_raw(t: SurgeTables) -> dict[str, RawTable]:
    """Typed tables back to raw tables (for writing a workbook or YAML file).

    Parameters
    ----------
    t
        Validated surge tables.

    Returns
    -------
    dict of RawTable
        The six tables, then the optional ones given, by name; whole numbers as ints,
        demand months as ``YYYY-MM-DD`` text, blanks as ``None``.
    """
    out: dict[str, RawTable] = {}
    cu = t.curves.reset_index()
    out["curves"] = _raw("curves", cu, t.sources)
    for name in ("groups", "g2c", "c2t", "treatments"):
        df = getattr(t, name)
        out[name] = _raw(name, df[list(SCHEMA[name])], t.sources)
    de = t.demand[list(SCHEMA["demand"])].copy()
    de["month"] = [pd.Timestamp(m).strftime("%Y-%m-%d") for m in de["month"]]
    out["demand"] = _raw("demand", de, t.sources)
    for name in OPTIONAL_SHEETS:
        df = getattr(t, name)
        if df is not None:
            cols = df[list(SCHEMA[name])].astype(object)
            out[name] = _raw(name, cols.where(cols.notna(), None), t.sources)
    return out


def _raw(name: str, df: pd.DataFrame, sources: dict[str, str]) -> RawTable:
    """A frame as a raw table, rows numbered from 2 as in a sheet under its header."""
    rows = [[_plain(v) for v in r] for r in df.itertuples(index=False, name=None)]
    return RawTable(
        name,
        [str(c) for c in df.columns],
        rows,
        list(range(2, len(rows) + 2)),
        [],
        sources.get(name),
    )


def _plain(v: object) -> object:
    """A cell as a plain Python value (whole floats as ints)."""
    if v is None:
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        f = float(v)
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


#: a reader of a model file: path -> raw tables by name
Reader = Callable[[str], dict[str, RawTable]]
