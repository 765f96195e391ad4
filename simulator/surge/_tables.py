"""The surge model's six tables: schema, cell parsing and every validation rule.

Workbooks (:mod:`.workbook`) and YAML files (:mod:`.yamlfile`) are both read
into :class:`RawTable` objects (header, cells, and where each row came from);
:func:`check_tables` then parses every cell, applies the surge model's rules
and returns typed :class:`SurgeTables`, or records every problem it found.

Rules (beyond the types and ranges in :data:`SCHEMA`):

* each curve sums to 1 (within 1e-6); months run 0, 1, 2, ... with no gaps;
* every group's curve exists; every group has g2c rows; a group's g2c
  ``pcnt`` values sum to at most 1;
* c2t names exist (group, treatment); a condition in g2c appears in c2t;
  each (group, condition)'s splits sum to more than 0;
* c2t rows whose (group, condition) has no g2c row are not paths: warned
  about and ignored, as the surge model does;
* demand services exist; a service without demand rows is warned about;
* no duplicate keys; no blanks, text in number columns, NaN or negatives.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from simulator.core._problems import Problems

__all__ = ["SCHEMA", "SHEETS", "RawTable", "SurgeTables", "check_tables"]

SHEETS = ("curves", "groups", "g2c", "c2t", "treatments", "demand")
#: optional sheets: service capacity, waiting-list behaviour, and the wait bands
OPTIONAL_SHEETS = ("capacity", "waiting", "stages")
#: the default wait bands (months); 18 weeks falls inside 3-6
DEFAULT_STAGES = (("0-1", 1.0), ("1-2", 2.0), ("2-3", 3.0), ("3-6", 6.0), ("6-12", 12.0), ("12+", None))
EIGHTEEN_WEEKS = 18 * 7 / (365.25 / 12)  # months
DEFAULT_HEADROOM = 1.1
CURVE_SUM_TOLERANCE = 1e-6


@dataclass
class RawTable:
    """A table as read from a file, before any parsing.

    ``rows[i]`` came from user-visible row ``row_numbers[i]`` (the Excel row,
    or the 1-based data row in YAML) and, in text files, ``lines[i]``.
    """

    name: str
    columns: list[str]
    rows: list[list[object]]
    row_numbers: list[int]
    lines: list[int | None] = field(default_factory=list)
    source: str | None = None
    header_line: int | None = None


@dataclass(frozen=True)
class ColumnType:
    """How to parse a column and what to say when a cell is not allowed."""

    kind: str  # "name", "number", "date", "month"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    optional: bool = False  # a blank cell means "use the default" (None)

    def allowed(self) -> str:
        """Text for the ``allowed`` part of a problem."""
        if self.kind == "name":
            return "non-empty text"
        if self.kind == "date":
            return "a date such as 2020-05-01"
        if self.kind == "month":
            return "a whole number of months from 0"
        if self.optional:
            return ColumnType(self.kind, self.low, self.high, self.low_open).allowed() + " or blank (default)"
        if self.low is not None and self.high is not None:
            return f"a number from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return (
                f"a number greater than {self.low:g}"
                if self.low_open
                else f"a number of at least {self.low:g}"
            )
        return "a number"


NAME = ColumnType("name")
NONNEG = ColumnType("number", 0.0)
SHARE = ColumnType("number", 0.0, 1.0)
PERCENT = ColumnType("number", 0.0, 100.0)
POSITIVE = ColumnType("number", 0.0, low_open=True)

#: columns of each table (``curves`` has ``month`` then one column per curve)
SCHEMA: dict[str, dict[str, ColumnType]] = {
    "curves": {"month": ColumnType("month")},
    "groups": {"group": NAME, "curve": NAME, "size": NONNEG, "pcnt": PERCENT},
    "g2c": {"group": NAME, "condition": NAME, "pcnt": SHARE},
    "c2t": {"group": NAME, "condition": NAME, "treatment": NAME, "split": NONNEG},
    "treatments": {
        "treatment": NAME,
        "success": SHARE,
        "months": POSITIVE,
        "decay": SHARE,
        "demand": NONNEG,
        "treat_pcnt": SHARE,
    },
    "demand": {
        "service": NAME,
        "month": ColumnType("date"),
        "underlying": NONNEG,
        "suppressed": NONNEG,
    },
    "capacity": {
        "service": NAME,
        "month": ColumnType("month"),
        "starts": ColumnType("number", 0.0, optional=True),
        "ceiling": ColumnType("number", 0.0, optional=True),
        "headroom": ColumnType("number", 0.0, low_open=True, optional=True),
    },
    "waiting": {
        "service": NAME,
        "escalates_to": ColumnType("name", optional=True),
        "escalation_rate": ColumnType("number", 0.0, 1.0, optional=True),
        "dropout_rate": ColumnType("number", 0.0, 1.0, optional=True),
        "initial_waiting": ColumnType("number", 0.0, optional=True),
    },
    "stages": {
        "stage": NAME,
        "upper": ColumnType("number", 0.0, low_open=True, optional=True),
        "escalation": ColumnType("number", 0.0, optional=True),
        "dropout": ColumnType("number", 0.0, optional=True),
    },
}
KEYS = {
    "curves": ("month",),
    "groups": ("group",),
    "g2c": ("group", "condition"),
    "c2t": ("group", "condition", "treatment"),
    "treatments": ("treatment",),
    "demand": ("service", "month"),
    "capacity": ("service", "month"),
    "waiting": ("service",),
    "stages": ("stage",),
}


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
        """c2t rows that are paths (their (group, condition) has a g2c row), in model order."""
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
        """c2t rows that are not paths (no g2c row for their group and condition)."""
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
        """A copy with every group on ``curve``."""
        if curve not in self.curves.columns:
            raise KeyError(f"no curve {curve!r}; curves: {list(self.curves.columns)}")
        groups = self.groups.assign(curve=curve)
        return SurgeTables(**{**self.__dict__, "groups": groups})


# ----------------------------------------------------------------------------- parsing
def _number(v: object) -> tuple[float | None, str | None]:
    """Parse a numeric cell: (value, problem)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, "is blank"
    if isinstance(v, bool):
        return None, f"is {v!r}, not a number"
    if isinstance(v, int | float | np.integer | np.floating):
        f = float(v)
        if math.isnan(f):
            return None, "is NaN"
        if math.isinf(f):
            return None, "is infinite"
        return f, None
    if isinstance(v, str):
        try:
            f = float(v.strip().replace(",", ""))
        except ValueError:
            return None, f"is the text {v!r}, not a number"
        if not math.isfinite(f):
            return None, f"is {v!r}, not a finite number"
        return f, None
    return None, f"is {type(v).__name__} {v!r}, not a number"


def _date(v: object) -> tuple[pd.Timestamp | None, str | None]:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, "is blank"
    if isinstance(v, _dt.datetime | _dt.date | pd.Timestamp):
        return pd.Timestamp(v), None
    if isinstance(v, str):
        try:
            return pd.Timestamp(v.strip()), None
        except (ValueError, TypeError):
            return None, f"is {v!r}, not a date"
    return None, f"is {v!r}, not a date"


def _parse_cell(ct: ColumnType, v: object) -> tuple[object, str | None]:
    if ct.optional and (
        v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))
    ):
        return None, None
    if ct.optional and isinstance(v, str) and v.strip().lower() == "default":
        return None, None
    if ct.kind == "name":
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None, "is blank"
        s = str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v))
        return (s, None) if s else (None, "is blank")
    if ct.kind == "date":
        return _date(v)
    f, err = _number(v)
    if err:
        return None, err
    assert f is not None
    if ct.kind == "month":
        if f < 0 or not float(f).is_integer():
            return None, f"is {f:g}"
        return int(f), None
    if ct.low is not None and (f < ct.low or (ct.low_open and f <= ct.low)):
        return None, f"is {f:g}" + (" (negative)" if f < 0 else "")
    if ct.high is not None and f > ct.high:
        return None, f"is {f:g}, above {ct.high:g}"
    return f, None


def _table_frame(raw: RawTable, types: dict[str, ColumnType], problems: Problems) -> pd.DataFrame | None:
    """Parse the columns of ``types`` from ``raw``; ``None`` if columns are missing."""
    header = [str(c).strip() if c is not None else "" for c in raw.columns]
    missing = [c for c in types if c not in header]
    for c in missing:
        problems.add(
            f"column {c!r} is missing",
            part=raw.name,
            line=raw.header_line,
            allowed="columns " + ", ".join(types),
        )
    dup = sorted({c for c in header if c and header.count(c) > 1})
    for c in dup:
        problems.add(f"column {c!r} appears more than once", part=raw.name, line=raw.header_line)
    if missing or dup:
        return None
    pos = {c: header.index(c) for c in types}
    data: dict[str, list[object]] = {c: [] for c in types}
    ok = []
    for i, row in enumerate(raw.rows):
        good = True
        for c, ct in types.items():
            v = row[pos[c]] if pos[c] < len(row) else None
            val, err = _parse_cell(ct, v)
            if err:
                good = False
                problems.add(
                    f"value {err}",
                    part=raw.name,
                    row=raw.row_numbers[i],
                    column=c,
                    allowed=ct.allowed(),
                    line=raw.lines[i] if raw.lines else None,
                )
            data[c].append(val)
        ok.append(good)
    df = pd.DataFrame(data)
    df["_row"] = raw.row_numbers
    df["_line"] = raw.lines if raw.lines else [None] * len(raw.rows)
    df["_ok"] = ok
    return df


def _where(df: pd.DataFrame, i: int) -> dict[str, object]:
    line = df["_line"].iloc[i]
    return {
        "row": int(df["_row"].iloc[i]),
        "line": None if line is None or pd.isna(line) else int(line),
    }


def _duplicates(name: str, df: pd.DataFrame, problems: Problems) -> None:
    keys = list(KEYS[name])
    d = df[df["_ok"]]
    dup = d.duplicated(keys, keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        first = d[(d[keys] == d[keys].iloc[i]).all(axis=1)]["_row"].iloc[0]
        key = ", ".join(f"{k}={d[k].iloc[i]!s}" for k in keys)
        problems.add(
            f"duplicate row ({key}); first given in row {first}",
            part=name,
            column=keys[-1],
            allowed="one row per " + " and ".join(keys),
            **_where(d, i),
        )


# ----------------------------------------------------------------------------- rules
def check_tables(
    raw: dict[str, RawTable],
    problems: Problems,
    name: str = "model",
    sources: dict[str, str] | None = None,
    start: pd.Timestamp | None = None,
    meta: dict[str, object] | None = None,
) -> SurgeTables | None:
    """Parse and check the six tables; return typed tables, or ``None`` if errors were recorded."""
    for sheet in SHEETS:
        if sheet not in raw:
            problems.add(
                f"{problems.part_kind} {sheet!r} is missing",
                allowed="sheets " + ", ".join(SHEETS),
            )
    if any(s not in raw for s in SHEETS):
        return None
    frames: dict[str, pd.DataFrame] = {}
    # curves: month + any number of curve columns
    cr = raw["curves"]
    curve_cols = [str(c).strip() for c in cr.columns if c is not None and str(c).strip() not in ("", "month")]
    if not curve_cols:
        problems.add("no curve columns after 'month'", part="curves", allowed="one column per curve")
    types = {"month": SCHEMA["curves"]["month"], **dict.fromkeys(curve_cols, NONNEG)}
    for tname in SHEETS:
        t = types if tname == "curves" else SCHEMA[tname]
        df = _table_frame(raw[tname], t, problems)
        if df is not None:
            if len(df) == 0:
                problems.add("has no rows", part=tname)
            frames[tname] = df
    if len(frames) < len(SHEETS):
        return None
    for tname, df in frames.items():
        _duplicates(tname, df, problems)
    if problems.errors:
        return None

    cu, gr, g2c, c2t, tr, de = (frames[s] for s in SHEETS)
    # curves
    months = cu["month"].to_numpy()
    expect = np.arange(len(months))
    if not np.array_equal(np.sort(months), expect):
        problems.add(
            f"months are {months.tolist()[:5]}...; they must run 0, 1, 2, ... with no gaps",
            part="curves",
            column="month",
            allowed="0 to number of months - 1",
        )
    cu = cu.sort_values("month")
    for c in curve_cols:
        total = float(cu[c].sum())
        if abs(total - 1.0) > CURVE_SUM_TOLERANCE:
            problems.add(
                f"curve sums to {total:.9g}, not 1",
                part="curves",
                column=c,
                allowed=f"monthly shares that sum to 1 (within {CURVE_SUM_TOLERANCE:g})",
            )
    # groups
    curves = set(curve_cols)
    for i in range(len(gr)):
        if gr["curve"].iloc[i] not in curves:
            problems.add(
                f"curve {gr['curve'].iloc[i]!r} is not a column of the curves sheet",
                part="groups",
                column="curve",
                allowed=", ".join(curve_cols),
                **_where(gr, i),
            )
    groups = list(gr["group"])
    gset = set(groups)
    tset = set(tr["treatment"])
    # g2c
    for i in range(len(g2c)):
        if g2c["group"].iloc[i] not in gset:
            problems.add(
                f"group {g2c['group'].iloc[i]!r} is not in the groups sheet",
                part="g2c",
                column="group",
                allowed="a group of the groups sheet",
                **_where(g2c, i),
            )
    sums = g2c.groupby("group", sort=False)["pcnt"].sum()
    for g, s in sums.items():
        if s > 1.0 + 1e-9:
            rows = g2c[g2c["group"] == g]["_row"].tolist()
            problems.add(
                f"the condition rates of group {g!r} sum to {s:.6g} (rows {rows[0]}-{rows[-1]})",
                part="g2c",
                column="pcnt",
                allowed="a total of at most 1 per group",
                row=int(rows[0]),
            )
    for g in groups:
        if g not in set(g2c["group"]):
            i = groups.index(g)
            problems.add(
                f"group {g!r} has no conditions in the g2c sheet",
                part="groups",
                column="group",
                allowed="every group mapped to at least one condition",
                **_where(gr, i),
            )
    # c2t
    cond_g2c = set(g2c["condition"])
    for i in range(len(c2t)):
        g, c, t = (c2t[k].iloc[i] for k in ("group", "condition", "treatment"))
        if g not in gset:
            problems.add(
                f"group {g!r} is not in the groups sheet",
                part="c2t",
                column="group",
                allowed="a group of the groups sheet",
                **_where(c2t, i),
            )
        if c not in cond_g2c:
            problems.add(
                f"condition {c!r} is not in the g2c sheet",
                part="c2t",
                column="condition",
                allowed="a condition of the g2c sheet",
                **_where(c2t, i),
            )
        if t not in tset:
            problems.add(
                f"treatment {t!r} is not in the treatments sheet",
                part="c2t",
                column="treatment",
                allowed="a treatment of the treatments sheet",
                **_where(c2t, i),
            )
    cond_c2t = set(c2t["condition"])
    for i in range(len(g2c)):
        c = g2c["condition"].iloc[i]
        if c not in cond_c2t:
            problems.add(
                f"condition {c!r} is not sent to any service in the c2t sheet",
                part="g2c",
                column="condition",
                allowed="every condition mapped to at least one treatment",
                **_where(g2c, i),
            )
    pair_g2c = set(zip(g2c["group"], g2c["condition"]))
    pair_c2t = set(zip(c2t["group"], c2t["condition"]))
    for i in range(len(g2c)):
        pair = (g2c["group"].iloc[i], g2c["condition"].iloc[i])
        if pair not in pair_c2t and pair[1] in cond_c2t:
            problems.warn(
                f"group {pair[0]!r} with condition {pair[1]!r} has no c2t rows, so nobody in it is "
                "referred; ignored as in the surge model",
                part="g2c",
                column="condition",
                **_where(g2c, i),
            )
    ok_paths = c2t[[p in pair_g2c for p in zip(c2t["group"], c2t["condition"])]]
    split_sum = ok_paths.groupby(["group", "condition"], sort=False)["split"].sum()
    for (g, c), s in split_sum.items():
        if s <= 0:
            rows = ok_paths[(ok_paths["group"] == g) & (ok_paths["condition"] == c)]["_row"].tolist()
            problems.add(
                f"the splits of group {g!r}, condition {c!r} sum to 0",
                part="c2t",
                column="split",
                row=int(rows[0]),
                allowed="at least one positive split per group and condition",
            )
    groups_with_paths = set(ok_paths["group"])
    for i, g in enumerate(groups):
        if g in set(g2c["group"]) and g not in groups_with_paths:
            problems.add(
                f"group {g!r} has no condition that is sent to a service (no c2t row matches its g2c rows)",
                part="groups",
                column="group",
                allowed="every group with at least one referral path",
                **_where(gr, i),
            )
    not_paths = c2t[[p not in pair_g2c for p in zip(c2t["group"], c2t["condition"])]]
    if len(not_paths):
        lines = []
        for (g, c), rows in not_paths.groupby(["group", "condition"], sort=False):
            nums = ", ".join(_ranges(rows["_row"].tolist()))
            lines.append(f"{g} / {c}: rows {nums} ({len(rows)} services: {', '.join(rows['treatment'])})")
        problems.warn(
            f"{len(not_paths)} c2t rows have no g2c row for their group and condition, so they are "
            "not referral paths and are ignored (as in the surge model):\n    " + "\n    ".join(lines),
            part="c2t",
        )
    unused = [t for t in tr["treatment"] if t not in set(ok_paths["treatment"])]
    if unused:
        problems.warn(f"treatments that no path uses: {', '.join(unused)}", part="treatments")
    # demand
    for i in range(len(de)):
        s = de["service"].iloc[i]
        if s not in tset:
            problems.add(
                f"service {s!r} is not in the treatments sheet",
                part="demand",
                column="service",
                allowed="a treatment of the treatments sheet",
                **_where(de, i),
            )
    optional = _check_capacity(raw, problems, tset, de)
    no_demand = [t for t in tr["treatment"] if t not in set(de["service"])]
    if no_demand:
        problems.warn(
            "services with no demand rows (underlying demand shown as missing): " + ", ".join(no_demand),
            part="demand",
        )
    if problems.errors:
        return None

    def clean(df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=["_ok", "_line"]).reset_index(drop=True)

    curves_df = cu.set_index("month")[curve_cols].astype(float)
    curves_df.index.name = "month"
    demand_df = clean(de).sort_values(["service", "month"]).reset_index(drop=True)
    if start is None and len(demand_df):
        start = pd.Timestamp(demand_df["month"].min()).to_period("M").to_timestamp()
    return SurgeTables(
        name=name,
        curves=curves_df,
        groups=clean(gr),
        g2c=clean(g2c),
        c2t=clean(c2t),
        treatments=clean(tr),
        demand=demand_df,
        sources=dict(sources or {}),
        start=start,
        meta=dict(meta or {}),
        **{k: (None if v is None else clean(v)) for k, v in optional.items()},
    )


def _ranges(nums: list[int]) -> list[str]:
    """``[3, 4, 5, 9]`` -> ``["3-5", "9"]``."""
    out: list[str] = []
    for n in nums:
        if out and "-" not in out[-1] and int(out[-1]) == n - 1:
            out[-1] = f"{out[-1]}-{n}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) == n - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return out


def _check_capacity(
    raw: dict[str, RawTable], problems: Problems, services: set[str], demand: pd.DataFrame
) -> dict[str, pd.DataFrame | None]:
    """Parse and check the optional capacity, waiting and stages tables."""
    out: dict[str, pd.DataFrame | None] = {"capacity": None, "waiting": None, "stages": None}
    for name in OPTIONAL_SHEETS:
        if name in raw:
            df = _table_frame(raw[name], SCHEMA[name], problems)
            if df is not None:
                _duplicates(name, df, problems)
                out[name] = df
    cap, wait, st = out["capacity"], out["waiting"], out["stages"]
    if cap is not None:
        with_demand = set(demand.loc[demand["underlying"] > 0, "service"])
        for i in range(len(cap)):
            s = cap["service"].iloc[i]
            if s not in services:
                problems.add(
                    f"service {s!r} is not in the treatments sheet",
                    part="capacity",
                    column="service",
                    allowed="a treatment of the treatments sheet",
                    **_where(cap, i),
                )
            elif pd.isna(cap["starts"].iloc[i]) and s not in with_demand:
                problems.add(
                    f"starts is blank (default) but {s!r} has no underlying demand to derive it from",
                    part="capacity",
                    column="starts",
                    allowed="a number of starts per month",
                    **_where(cap, i),
                )
        for s, rows in cap.groupby("service", sort=False):
            if 0 not in set(rows["month"]):
                problems.add(
                    f"service {s!r} has no row for month 0",
                    part="capacity",
                    column="month",
                    allowed="a month 0 row giving the starting capacity",
                    row=int(rows["_row"].iloc[0]),
                )
    capacitated = set(cap["service"]) if cap is not None else set()
    if wait is not None:
        for i in range(len(wait)):
            s, to = wait["service"].iloc[i], wait["escalates_to"].iloc[i]
            to = None if pd.isna(to) else to
            if s not in services:
                problems.add(
                    f"service {s!r} is not in the treatments sheet",
                    part="waiting",
                    column="service",
                    **_where(wait, i),
                )
            elif s not in capacitated:
                problems.warn(
                    f"service {s!r} has no capacity row, so nobody waits for it; row ignored",
                    part="waiting",
                    column="service",
                    **_where(wait, i),
                )
            if to is not None and (to not in services or to == s):
                problems.add(
                    f"escalates_to {to!r} is not another service of the treatments sheet",
                    part="waiting",
                    column="escalates_to",
                    **_where(wait, i),
                )
            rate = wait["escalation_rate"].iloc[i]
            if to is None and not pd.isna(rate) and rate > 0:
                problems.add(
                    "escalation_rate is given but escalates_to is blank",
                    part="waiting",
                    column="escalates_to",
                    allowed="the crisis service people escalate to",
                    **_where(wait, i),
                )
    if st is not None:
        uppers = [None if pd.isna(u) else float(u) for u in st["upper"]]
        if not uppers or uppers[-1] is not None or any(u is None for u in uppers[:-1]):
            problems.add(
                "every stage but the last needs an upper bound, and the last none",
                part="stages",
                column="upper",
                allowed="increasing months, blank for the last stage",
            )
        elif any(b <= a for a, b in pairwise(uppers[:-1])):
            problems.add(f"upper bounds {uppers[:-1]} must increase", part="stages", column="upper")
    return out


def tables_to_raw(t: SurgeTables) -> dict[str, RawTable]:
    """Typed tables back to raw tables (for writing a workbook or YAML file)."""
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


Reader = Callable[[str], dict[str, RawTable]]
