"""The rules of the optional capacity, waiting and stages tables.

* capacity services exist and have a month-0 row; a blank ``starts`` needs
  underlying demand to derive the default capacity from;
* waiting services exist (a service without capacity rows is warned about and
  ignored); ``escalates_to`` is another service, and given whenever
  ``escalation_rate`` is;
* every stage but the last has an increasing upper bound, and the last none;
* a service's escalation and drop-out rates (times each wait band's
  multipliers) add to at most 1 per step at the model's step (1 month): more
  would take more people off the list in a step than are on it.
"""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from simulator.core._problems import Problems
from simulator.surge._tables_check import TREATMENT
from simulator.surge._tables_parse import check_duplicates, check_known, table_frame, where
from simulator.surge._tables_schema import DEFAULT_DT, OPTIONAL_SHEETS, SCHEMA, RawTable

__all__ = ["check_optional"]


def _check_capacity_rows(
    cap: pd.DataFrame, services: set[str], demand: pd.DataFrame, problems: Problems
) -> None:
    """Capacity services exist, a blank ``starts`` can be derived, and every service has a month-0 row."""
    with_demand = set(demand.loc[demand["underlying"] > 0, "service"])
    for i in range(len(cap)):
        s = cap["service"].iloc[i]
        if not check_known(problems, "capacity", cap, i, "service", services, "treatments", TREATMENT):
            continue
        # a cell not allowed (e.g. negative) is reported already: it is not "blank"
        if pd.isna(cap["starts"].iloc[i]) and cap["_ok"].iloc[i] and s not in with_demand:
            problems.add(
                f"starts is blank (default) but {s!r} has no underlying demand to derive it from",
                part="capacity",
                column="starts",
                allowed="a number of starts per month",
                **where(cap, i),
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


def _check_waiting_rows(
    wait: pd.DataFrame, services: set[str], capacitated: set[str], problems: Problems
) -> None:
    """Waiting services exist and are capacitated; escalation goes to another service, and is named."""
    for i in range(len(wait)):
        s, to = wait["service"].iloc[i], wait["escalates_to"].iloc[i]
        to = None if pd.isna(to) else to
        known = check_known(problems, "waiting", wait, i, "service", services, "treatments", None)
        if known and s not in capacitated:
            problems.warn(
                f"service {s!r} has no capacity row, so nobody waits for it; row ignored",
                part="waiting",
                column="service",
                **where(wait, i),
            )
        if to is not None and (to not in services or to == s):
            problems.add(
                f"escalates_to {to!r} is not another service of the treatments sheet",
                part="waiting",
                column="escalates_to",
                **where(wait, i),
            )
        rate = wait["escalation_rate"].iloc[i]
        if to is None and not pd.isna(rate) and rate > 0:
            problems.add(
                "escalation_rate is given but escalates_to is blank",
                part="waiting",
                column="escalates_to",
                allowed="the crisis service people escalate to",
                **where(wait, i),
            )


def _check_stage_bounds(st: pd.DataFrame, problems: Problems) -> None:
    """Every stage but the last has an upper bound, increasing, and the last none."""
    uppers = [None if pd.isna(u) else float(u) for u in st["upper"]]
    if not uppers or uppers[-1] is not None or any(u is None for u in uppers[:-1]):
        problems.add(
            "every stage but the last needs an upper bound, and the last none",
            part="stages",
            column="upper",
            allowed="increasing months, blank for the last stage",
        )
    elif any(b <= a for a, b in pairwise(u for u in uppers[:-1] if u is not None)):
        problems.add(f"upper bounds {uppers[:-1]} must increase", part="stages", column="upper")


def _multipliers(st: pd.DataFrame | None) -> list[tuple[str, float, float]]:
    """Each wait band's name and escalation and drop-out multipliers (1 where blank or without a table)."""
    if st is None or not len(st):
        return [("every band", 1.0, 1.0)]

    def one(v: object) -> float:
        return 1.0 if v is None or pd.isna(v) else float(v)  # type: ignore[arg-type]

    return [(str(k), one(e), one(d)) for k, e, d in zip(st["stage"], st["escalation"], st["dropout"])]


def _check_leaving_rates(
    wait: pd.DataFrame, st: pd.DataFrame | None, problems: Problems, dt: float = DEFAULT_DT
) -> None:
    """Escalation + drop-out (x a band's multipliers) x dt is at most 1 for every service and band."""
    bands = _multipliers(st)
    for i in range(len(wait)):
        if not wait["_ok"].iloc[i]:
            continue
        e, d = (wait[c].iloc[i] for c in ("escalation_rate", "dropout_rate"))
        e = 0.0 if pd.isna(e) else float(e)
        d = 0.0 if pd.isna(d) else float(d)
        total, band, me, md = max(((e * me + d * md) * dt, band, me, md) for band, me, md in bands)
        if total <= 1.0 + 1e-12:
            continue
        mult = (
            "" if (me, md) == (1.0, 1.0) else f" x the multipliers of wait band {band!r} ({me:g} and {md:g})"
        )
        problems.add(
            f"service {wait['service'].iloc[i]!r}: escalation_rate {e:g} + dropout_rate {d:g}{mult} "
            f"add to {total:.4g} per step of {dt:g} month, more than 1: more people would leave the "
            "waiting list in a step than are on it, and it would go negative",
            part="waiting",
            column="dropout_rate",
            allowed="escalation and drop-out rates (x the wait bands' multipliers) adding to at most 1 per month",
            **where(wait, i),
        )


def check_optional(
    raw: dict[str, RawTable], problems: Problems, services: set[str], demand: pd.DataFrame
) -> dict[str, pd.DataFrame | None]:
    """Parse and check the optional capacity, waiting and stages tables.

    Parameters
    ----------
    raw
        Tables as read, by name (the optional ones may be absent).
    problems
        Where problems are recorded.
    services
        The treatments of the model.
    demand
        The parsed demand table (``service``, ``underlying``).

    Returns
    -------
    dict
        ``capacity``, ``waiting`` and ``stages`` frames; ``None`` for a table not given
        (or whose columns are missing).
    """
    out: dict[str, pd.DataFrame | None] = {"capacity": None, "waiting": None, "stages": None}
    for name in OPTIONAL_SHEETS:
        if name in raw:
            df = table_frame(raw[name], SCHEMA[name], problems)
            if df is not None:
                check_duplicates(name, df, problems)
                out[name] = df
    cap, wait, st = out["capacity"], out["waiting"], out["stages"]
    if cap is not None:
        _check_capacity_rows(cap, services, demand, problems)
    capacitated = set(cap["service"]) if cap is not None else set()
    if wait is not None:
        _check_waiting_rows(wait, services, capacitated, problems)
    if st is not None:
        _check_stage_bounds(st, problems)
    if wait is not None:
        _check_leaving_rates(wait, st, problems)
    return out
