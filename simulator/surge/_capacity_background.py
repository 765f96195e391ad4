"""The background load: a capacitated service's underlying and returning suppressed referrals.

The demand sheet's referrals (``underlying + suppressed``, by calendar month)
compete with the surge for the same capacity.  Accepted background referrals
start at once while capacity is left after the waiting list, else join
``background_waiting``; the background caseload ``background_treatment``
starts at its pre-pandemic steady state and discharges into
``background_left``.  An unlimited service that people escalate to also has a
``background_treatment`` element, holding only the background people
escalated to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.core._formulas import Ref, parse
from simulator.core._spaces import Space
from simulator.core._spec import Flow, Series, Stock
from simulator.surge._capacity_layout import CapacityLayout, Declarations, param, waiting_column
from simulator.surge._tables import SurgeTables

__all__ = ["background_load", "background_referrals"]


def background_referrals(t: SurgeTables, capped: tuple[str, ...]) -> np.ndarray:
    """Background referrals per capacitated service and model month (underlying plus suppressed).

    Parameters
    ----------
    t
        Validated surge tables.
    capped
        Capacitated services, in model order.

    Returns
    -------
    numpy.ndarray
        Referrals per month, shape ``(len(capped), t.months)``; 0 for months the
        demand sheet does not cover, and everywhere if the model has no start month.
    """
    bg = np.zeros((len(capped), t.months))
    if t.start is not None:
        d = t.demand[t.demand["service"].isin(capped)]
        for s_, m_, u_, p_ in zip(
            d["service"], pd.DatetimeIndex(d["month"]), d["underlying"], d["suppressed"]
        ):
            mo = (m_.year - t.start.year) * 12 + (m_.month - t.start.month)
            if 0 <= mo < t.months:
                bg[capped.index(s_), mo] = float(u_) + float(p_)
    return bg


def _background_stocks(lay: CapacityLayout) -> list[Stock]:
    """The background waiting list, caseload (at its steady state) and those who left."""
    return [
        Stock(
            "background_waiting",
            lay.service,
            Ref("initial_waiting"),
            "people",
            "background (pre-pandemic) referrals waiting; month 0 from the waiting table",
        ),
        Stock(
            "background_treatment",
            lay.background,
            parse("min(background_referrals_0 * treat_pcnt, capacity_0, ceiling_0 * exit_rate) / exit_rate"),
            "people",
            "background caseload, starting at its pre-pandemic steady state",
        ),
        Stock("background_left", Space((), ((),)), 0.0, "people", "background people who left the services"),
    ]


def _background_flows(lay: CapacityLayout) -> list[Flow]:
    """Background arrivals (onto the list or at once), starts from the list and discharges."""
    return [
        Flow(
            "background_arrivals",
            "inflow",
            parse("background_referrals * treat_pcnt * (1 - start_now_share)"),
            target="background_waiting",
            space=lay.service,
            tally=(("wait_band", {}, lay.to_first_band),),
            description="accepted background referrals joining the waiting list",
        ),
        Flow(
            "background_arrivals_now",
            "inflow",
            parse("background_referrals * treat_pcnt * start_now_share"),
            target="background_treatment",
            space=lay.service,
            description="accepted background referrals that start at once",
        ),
        Flow(
            "background_start",
            "outflow",
            Ref("start_hazard"),
            source="background_waiting",
            target="background_treatment",
            description="background starts from the waiting list",
        ),
        Flow(
            "background_discharge",
            "outflow",
            Ref("exit_rate"),
            source="background_treatment",
            target="background_left",
        ),
    ]


def background_load(t: SurgeTables, lay: CapacityLayout) -> Declarations:
    """The background referrals, waiting list and caseload of capacitated services.

    Parameters
    ----------
    t
        Validated surge tables (the demand sheet and the start month).
    lay
        The model's layout.

    Returns
    -------
    Declarations
        Parameters ``initial_waiting`` (people) and ``background_referrals_0``
        (referrals per month); series ``background_referrals``; stocks
        ``background_waiting``, ``background_treatment``, ``background_left``
        (people); flows ``background_arrivals``, ``background_arrivals_now``,
        ``background_start`` and ``background_discharge`` (people per month).
    """
    bg = background_referrals(t, lay.capped)
    params = [
        param(
            "initial_waiting",
            lay.service,
            waiting_column(lay, "initial_waiting", 0.0),
            "people",
            lay.sources["waiting"],
            "background people waiting at month 0 (in the first wait band)",
        ),
        param(
            "background_referrals_0",
            lay.background,
            [*bg[:, 0], *[0.0] * lay.n_extra],
            "referrals per month",
            "demand table, month 0",
            "background referrals in month 0 (sets the starting background caseload)",
        ),
    ]
    series = Series(
        "background_referrals",
        lay.service,
        np.arange(t.months, dtype=float),
        bg,
        "referrals per month",
        t.sources.get("demand", "demand table"),
        "underlying plus returning suppressed referrals (the demand sheet)",
        kind="step",
    )
    return Declarations(
        params=params, series=[series], stocks=_background_stocks(lay), flows=_background_flows(lay)
    )
