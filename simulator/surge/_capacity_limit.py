"""The capacity limit: treatment starts a service can make each step, and its caseload ceiling.

``C[s] = min(capacity(t) * capacity_scale + extra_capacity,
max(0, (ceiling * ceiling_scale - caseload) / dt + exits))``, ``exits`` being
the caseload leaving this step, so a binding ceiling holds the caseload
exactly at it.  Capacity and ceiling change in steps at the months of the
capacity table.  Where ``starts`` is blank the capacity defaults to
pre-pandemic throughput, ``mean underlying referrals over the first 12 months
x treat_pcnt x headroom`` (headroom 1.1 unless given): an assumption, flagged
in results.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from simulator.core._formulas import parse
from simulator.core._spec import Aux, Param, Series
from simulator.surge._capacity_layout import CapacityLayout, Declarations, param
from simulator.surge._tables import DEFAULT_HEADROOM, SurgeTables

__all__ = ["NO_CEILING", "CapacitySteps", "capacity_limit", "capacity_steps", "default_capacity"]

#: a caseload ceiling that never binds (parameters must be finite)
NO_CEILING = 1e15


def default_capacity(t: SurgeTables, service: str, headroom: float | None) -> float:
    """Pre-pandemic throughput x headroom: mean underlying referrals (first 12 months) x treat_pcnt.

    Parameters
    ----------
    t
        Validated surge tables.
    service
        A service of the treatments table with demand rows.
    headroom
        Multiplier on throughput; ``None`` or NaN: the default, 1.1.

    Returns
    -------
    float
        Treatment starts per month.
    """
    d = t.demand[t.demand["service"] == service].sort_values("month").head(12)
    treat = float(t.treatments.set_index("treatment").loc[service, "treat_pcnt"])
    head = DEFAULT_HEADROOM if headroom is None or pd.isna(headroom) else float(headroom)
    return float(d["underlying"].mean()) * treat * head


class CapacitySteps(NamedTuple):
    """Capacity and ceiling of each capacitated service as steps at the months of the capacity table."""

    times: np.ndarray  #: months at which either changes, shape (k,)
    capacity: np.ndarray  #: starts per month, shape (services, k)
    ceilings: np.ndarray  #: people (NO_CEILING: none), shape (services, k)
    assumed: list[str]  #: one note per default capacity ("<service> from month <m>: ...")


def capacity_steps(t: SurgeTables, services: tuple[str, ...]) -> CapacitySteps:
    """Capacity and ceiling of ``services`` from the capacity table, defaults filled in.

    Parameters
    ----------
    t
        Validated surge tables with a capacity table.
    services
        Capacitated services, in model order.

    Returns
    -------
    CapacitySteps
        Step values, and a note for every capacity taken as throughput x headroom.
    """
    cap = t.capacity
    assert cap is not None, "a capacity model needs a capacity table"
    change = sorted({0, *(int(m) for m in cap["month"])})
    values = np.zeros((len(services), len(change)))
    ceilings = np.full((len(services), len(change)), NO_CEILING)
    assumed = []
    for i, s in enumerate(services):
        rows = cap[cap["service"] == s].sort_values("month")
        cur_c, cur_l = None, NO_CEILING
        for j, m in enumerate(change):
            hit = rows[rows["month"] == m]
            if len(hit):
                r = hit.iloc[0]
                if r["starts"] is None or pd.isna(r["starts"]):
                    cur_c = default_capacity(t, s, r["headroom"])
                    head = (
                        DEFAULT_HEADROOM if r["headroom"] is None or pd.isna(r["headroom"]) else r["headroom"]
                    )
                    assumed.append(f"{s} from month {m}: {cur_c:,.0f} starts/month (throughput x {head:g})")
                else:
                    cur_c = float(r["starts"])
                cur_l = NO_CEILING if r["ceiling"] is None or pd.isna(r["ceiling"]) else float(r["ceiling"])
            values[i, j] = cur_c
            ceilings[i, j] = cur_l
    return CapacitySteps(np.asarray(change, dtype=float), values, ceilings, assumed)


def _limit_params(lay: CapacityLayout, steps: CapacitySteps) -> list[Param]:
    """The capacity levers (scales and extra starts) and month-0 capacity and ceiling."""
    n = len(lay.capped)
    src = lay.sources["capacity"]
    return [
        param(
            "capacity_scale",
            lay.service,
            np.ones(n),
            "multiplier",
            "Upstream: 1 (no change)",
            "multiplies the capacity table's starts per month",
        ),
        param(
            "ceiling_scale",
            lay.service,
            np.ones(n),
            "multiplier",
            "Upstream: 1 (no change)",
            "multiplies the capacity table's caseload ceilings",
        ),
        param(
            "extra_capacity",
            lay.service,
            np.zeros(n),
            "starts per month",
            "Upstream: 0 (no change)",
            "starts per month added to capacity (the capacity lever)",
            (None, None),
        ),
        param(
            "capacity_0",
            lay.background,
            [*steps.capacity[:, 0], *[0.0] * lay.n_extra],
            "starts per month",
            src,
            "capacity in month 0",
        ),
        param(
            "ceiling_0",
            lay.background,
            [*steps.ceilings[:, 0], *[NO_CEILING] * lay.n_extra],
            "people",
            src,
            "caseload ceiling in month 0",
        ),
    ]


def capacity_limit(lay: CapacityLayout, steps: CapacitySteps) -> Declarations:
    """Capacity and ceiling series, their levers, and the starts allowed each step.

    Parameters
    ----------
    lay
        The model's layout.
    steps
        Capacity and ceilings by month (:func:`capacity_steps`).

    Returns
    -------
    Declarations
        Parameters ``capacity_scale``, ``ceiling_scale``, ``extra_capacity``,
        ``capacity_0``, ``ceiling_0``; series ``capacity`` (starts per month) and
        ``ceiling`` (people); derived ``caseload_all`` (people), ``caseload_exits``
        (people per month) and ``capacity_now`` (starts per month).
    """
    src = lay.sources["capacity"]
    series = [
        Series(
            "capacity",
            lay.service,
            steps.times,
            steps.capacity,
            "starts per month",
            src,
            "treatment starts each service can make per month (steps at the given months)",
            kind="step",
        ),
        Series(
            "ceiling",
            lay.service,
            steps.times,
            steps.ceilings,
            "people",
            src,
            f"caseload ceiling ({NO_CEILING:g} = none)",
            kind="step",
        ),
    ]
    auxes = [
        Aux(
            "caseload_all",
            parse("sum(treatment, over=group) + background_treatment"),
            lay.service,
            "people",
            "caseload of capacitated services, surge and background",
        ),
        Aux(
            "caseload_exits",
            parse("sum(treatment * exit_rate, over=group) + background_treatment * exit_rate"),
            lay.service,
            "people per month",
            "people leaving the caseload this step (their places free up)",
        ),
        Aux(
            "capacity_now",
            parse(
                "min(max(0, capacity * capacity_scale + extra_capacity), "
                "max(0, (ceiling * ceiling_scale - caseload_all) / dt + caseload_exits))"
            ),
            lay.service,
            "starts per month",
            "starts allowed this step (capacity, and places under the caseload ceiling)",
        ),
    ]
    params = _limit_params(lay, steps)
    return Declarations(params=params, series=series, auxes=auxes)
