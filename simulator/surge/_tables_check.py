"""The rules of the six required surge tables, each recording every problem it finds.

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

Problems are recorded in the order a planner reads the workbook: curves,
groups, g2c, c2t, treatments, demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.core._problems import Problems
from simulator.surge._tables_parse import (
    check_duplicates,
    check_known_column,
    row_ranges,
    table_frame,
    where,
)
from simulator.surge._tables_schema import CURVE_SUM_TOLERANCE, NONNEG, SCHEMA, SHEETS, RawTable

__all__ = ["TREATMENT", "check_required", "parse_required", "warn_services_without_demand"]

#: what a cell naming a service may hold
TREATMENT = "a treatment of the treatments sheet"


def parse_required(
    raw: dict[str, RawTable], problems: Problems
) -> tuple[dict[str, pd.DataFrame], list[str]] | None:
    """Parse the six required tables and check their keys are unique.

    Parameters
    ----------
    raw
        Tables as read, by name.
    problems
        Where missing tables and columns, cells not allowed and duplicates are recorded.

    Returns
    -------
    tuple or None
        Parsed frames by table name and the names of the curves; ``None`` if
        any error was recorded.
    """
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
        df = table_frame(raw[tname], t, problems)
        if df is not None:
            if len(df) == 0:
                problems.add("has no rows", part=tname)
            frames[tname] = df
    if len(frames) < len(SHEETS):
        return None
    for tname, df in frames.items():
        check_duplicates(tname, df, problems)
    if problems.errors:
        return None
    return frames, curve_cols


def _check_curves(cu: pd.DataFrame, curve_cols: list[str], problems: Problems) -> pd.DataFrame:
    """Months run 0, 1, 2, ...; each curve sums to 1.  Returns the curves sorted by month."""
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
    return cu


def _check_group_curves(gr: pd.DataFrame, curve_cols: list[str], problems: Problems) -> None:
    """Every group's curve is a column of the curves table."""
    curves = set(curve_cols)
    for i in range(len(gr)):
        if gr["curve"].iloc[i] not in curves:
            problems.add(
                f"curve {gr['curve'].iloc[i]!r} is not a column of the curves sheet",
                part="groups",
                column="curve",
                allowed=", ".join(curve_cols),
                **where(gr, i),
            )


def _check_g2c(g2c: pd.DataFrame, gr: pd.DataFrame, problems: Problems) -> None:
    """g2c groups exist, each group's condition rates sum to at most 1, every group has conditions."""
    groups = list(gr["group"])
    gset = set(groups)
    check_known_column(problems, "g2c", g2c, "group", gset, "groups", "a group of the groups sheet")
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
                **where(gr, i),
            )


def _check_c2t_names(
    c2t: pd.DataFrame, g2c: pd.DataFrame, gr: pd.DataFrame, tr: pd.DataFrame, problems: Problems
) -> None:
    """Each c2t row's group, condition and treatment exist."""
    gset, tset, cond_g2c = set(gr["group"]), set(tr["treatment"]), set(g2c["condition"])
    for column, known, sheet, allowed in (
        ("group", gset, "groups", "a group of the groups sheet"),
        ("condition", cond_g2c, "g2c", "a condition of the g2c sheet"),
        ("treatment", tset, "treatments", TREATMENT),
    ):
        check_known_column(problems, "c2t", c2t, column, known, sheet, allowed)


def _check_conditions_sent(c2t: pd.DataFrame, g2c: pd.DataFrame, problems: Problems) -> None:
    """Every g2c condition goes to some service; a (group, condition) without c2t rows is warned about."""
    cond_c2t = set(c2t["condition"])
    for i in range(len(g2c)):
        c = g2c["condition"].iloc[i]
        if c not in cond_c2t:
            problems.add(
                f"condition {c!r} is not sent to any service in the c2t sheet",
                part="g2c",
                column="condition",
                allowed="every condition mapped to at least one treatment",
                **where(g2c, i),
            )
    pair_c2t = set(zip(c2t["group"], c2t["condition"]))
    for i in range(len(g2c)):
        pair = (g2c["group"].iloc[i], g2c["condition"].iloc[i])
        if pair not in pair_c2t and pair[1] in cond_c2t:
            problems.warn(
                f"group {pair[0]!r} with condition {pair[1]!r} has no c2t rows, so nobody in it is "
                "referred; ignored as in the surge model",
                part="g2c",
                column="condition",
                **where(g2c, i),
            )


def _check_paths(ok_paths: pd.DataFrame, g2c: pd.DataFrame, gr: pd.DataFrame, problems: Problems) -> None:
    """Each (group, condition)'s splits sum to more than 0; every group with conditions has a path."""
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
    for i, g in enumerate(gr["group"]):
        if g in set(g2c["group"]) and g not in groups_with_paths:
            problems.add(
                f"group {g!r} has no condition that is sent to a service (no c2t row matches its g2c rows)",
                part="groups",
                column="group",
                allowed="every group with at least one referral path",
                **where(gr, i),
            )


def _warn_not_paths(not_paths: pd.DataFrame, problems: Problems) -> None:
    """Warn about c2t rows that are not referral paths (no g2c row for their group and condition)."""
    if not len(not_paths):
        return
    lines = []
    for (g, c), rows in not_paths.groupby(["group", "condition"], sort=False):
        nums = ", ".join(row_ranges(rows["_row"].tolist()))
        lines.append(f"{g} / {c}: rows {nums} ({len(rows)} services: {', '.join(rows['treatment'])})")
    problems.warn(
        f"{len(not_paths)} c2t rows have no g2c row for their group and condition, so they are "
        "not referral paths and are ignored (as in the surge model):\n    " + "\n    ".join(lines),
        part="c2t",
    )


def _check_demand_services(de: pd.DataFrame, tr: pd.DataFrame, problems: Problems) -> None:
    """Every demand row's service is a treatment."""
    tset = set(tr["treatment"])
    check_known_column(problems, "demand", de, "service", tset, "treatments", TREATMENT)


def check_required(
    frames: dict[str, pd.DataFrame], curve_cols: list[str], problems: Problems
) -> pd.DataFrame:
    """Apply the rules of the six required tables (module docstring), in reading order.

    Parameters
    ----------
    frames
        Parsed tables by name (:func:`parse_required`).
    curve_cols
        Names of the curves.
    problems
        Where every broken rule is recorded (and warnings about rows ignored).

    Returns
    -------
    pandas.DataFrame
        The curves frame sorted by month.
    """
    cu, gr, g2c, c2t, tr, de = (frames[s] for s in SHEETS)
    cu = _check_curves(cu, curve_cols, problems)
    _check_group_curves(gr, curve_cols, problems)
    _check_g2c(g2c, gr, problems)
    _check_c2t_names(c2t, g2c, gr, tr, problems)
    _check_conditions_sent(c2t, g2c, problems)
    pair_g2c = set(zip(g2c["group"], g2c["condition"]))
    is_path = [p in pair_g2c for p in zip(c2t["group"], c2t["condition"])]
    ok_paths = c2t[is_path]
    _check_paths(ok_paths, g2c, gr, problems)
    _warn_not_paths(c2t[[not p for p in is_path]], problems)
    unused = [t for t in tr["treatment"] if t not in set(ok_paths["treatment"])]
    if unused:
        problems.warn(f"treatments that no path uses: {', '.join(unused)}", part="treatments")
    _check_demand_services(de, tr, problems)
    return cu


def warn_services_without_demand(frames: dict[str, pd.DataFrame], problems: Problems) -> None:
    """Warn about treatments with no demand rows (their underlying demand is shown as missing).

    Parameters
    ----------
    frames
        Parsed tables by name.
    problems
        Where the warning is recorded.
    """
    with_demand = set(frames["demand"]["service"])
    no_demand = [t for t in frames["treatments"]["treatment"] if t not in with_demand]
    if no_demand:
        problems.warn(
            "services with no demand rows (underlying demand shown as missing): " + ", ".join(no_demand),
            part="demand",
        )
