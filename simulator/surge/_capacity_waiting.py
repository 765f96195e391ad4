"""The waiting chain: wait bands, starts for the longest waiters first, and the list's hazards.

Each month, for a capacitated service ``s`` and wait band ``k``:

* within a step, people first escalate or drop out (rates ``o[s,k]``), then
  start (longest waiters first), and those left age into the next band at
  ``dt / width`` of them per step; so people who can start this step are
  ``A[s,k] = wait_band[s,k] * max(0, 1/dt - o[s,k])`` and the ageing flow is
  ``(wait_band * (1/dt - o) - starts) * dt / width``.  No band is overdrawn
  while ``dt`` is at most the narrowest band (1 month by default), and a
  1-month band with ``dt = 1`` is an exact one-month delay;
* starts, longest waiters first: ``S[s,k] = min(R[s,k], C) - min(R[s,k] - A[s,k], C)``
  with ``R`` the running total of ``A`` from the oldest band down and ``C``
  the capacity (:mod:`._capacity_limit`);
* within a service the waiting list is well mixed: every group's waiting
  people (and the background's) start at the service's rate ``S/W``.

``wait_band[service, stage]`` holds the *same people* as ``waiting`` and
``background_waiting`` (so it is left out of head counts), counted by how long
they have waited; arrivals are tallied into the first band by the flows that
bring them.
"""

from __future__ import annotations

from simulator.core._formulas import Ref, parse
from simulator.core._spec import Aux, Flow, Param, Stock
from simulator.surge._capacity_layout import CapacityLayout, Declarations, param

__all__ = ["SHADOW_FLOW", "waiting_chain"]

#: unit of flows that move people between wait bands (a second count of the same people)
SHADOW_FLOW = "people per month (shadow)"


def _band_params(lay: CapacityLayout) -> list[Param]:
    """Ageing rate, share beyond 18 weeks and first-band flag of each wait band."""
    src = lay.sources["stages"]
    aging = [1.0 / w if w > 0 else 0.0 for w in lay.widths]
    return [
        param("aging_rate", lay.stage, aging, "per month", src, "1 / width of the wait band"),
        param(
            "over_18_weeks",
            lay.stage,
            lay.stage_rows["over_18_weeks"],
            "share",
            src,
            "share of a wait band beyond 18 weeks (uniform ages within the band)",
            (0.0, 1.0),
        ),
        param(
            "stage_is_first",
            lay.stage,
            [1.0] + [0.0] * (len(lay.stages) - 1),
            "flag",
            "Upstream",
            "1 for the first wait band",
        ),
    ]


def _who_can_start(lay: CapacityLayout) -> list[Aux]:
    """Everyone waiting, and who could start this step by band (after escalating and dropping out)."""
    return [
        Aux(
            "waiting_all",
            parse("sum(waiting, over=group) + background_waiting"),
            lay.service,
            "people",
            "everyone waiting for the service, surge and background",
        ),
        Aux(
            "other_exit_rate",
            parse("escalation_rate * escalation_multiplier + dropout_rate * dropout_multiplier"),
            lay.band,
            "per month",
            "escalation and drop-out rate of a wait band",
        ),
        Aux(
            "can_start",
            parse("wait_band * max(0, 1 / dt - other_exit_rate)"),
            lay.band,
            "people per month",
            "people who could start this step",
        ),
        Aux(
            "can_start_from_here_up",
            parse("rcumsum(can_start, over=stage)"),
            lay.band,
            "people per month",
            "people who could start, from this band to the longest waiters",
        ),
    ]


def _starts(lay: CapacityLayout) -> list[Aux]:
    """Starts by band within the capacity, longest waiters first, and their total."""
    return [
        Aux(
            "starts_by_band",
            parse(
                "min(can_start_from_here_up, capacity_now) - min(can_start_from_here_up - can_start, capacity_now)"
            ),
            lay.band,
            "starts per month",
            "starts, longest waiters first",
        ),
        Aux(
            "band_start_rate",
            parse("zidz(starts_by_band, wait_band)"),
            lay.band,
            "per month",
            "monthly rate at which someone in the band starts",
        ),
        Aux(
            "starts_from_waiting",
            parse("sum(starts_by_band, over=stage)"),
            lay.service,
            "starts per month",
            "starts from the waiting list",
        ),
    ]


def _list_measures(lay: CapacityLayout) -> list[Aux]:
    """People waiting beyond 18 weeks, and the rate at which anyone waiting starts."""
    return [
        Aux(
            "waiting_over_18_weeks",
            parse("sum(wait_band * over_18_weeks, over=stage)"),
            lay.service,
            "people",
            "people waiting longer than 18 weeks (uniform ages within a band)",
        ),
        Aux(
            "start_hazard",
            parse("zidz(starts_from_waiting, waiting_all)"),
            lay.service,
            "per month",
            "monthly rate at which anyone waiting starts (the list is well mixed)",
        ),
    ]


def _chain_stocks_and_flows(lay: CapacityLayout) -> Declarations:
    """The surge waiting list and the wait bands; starts from the list, band ageing and exits."""
    stocks = [
        Stock("waiting", lay.waiting, 0.0, "people", "surge referrals waiting, by group and service"),
        Stock(
            "wait_band",
            lay.band,
            parse("initial_waiting * stage_is_first"),
            "people (shadow)",
            "how long the waiting list has waited, by band: the same people as waiting and "
            "background_waiting, so left out of head counts",
        ),
    ]
    start = Flow(
        "start",
        "outflow",
        Ref("start_hazard"),
        source="waiting",
        target="treatment",
        description="starts from the waiting list (capacity-limited, longest waiters first)",
    )
    # the wait bands count the same people by how long they have waited: arrivals are
    # tallied into the first band by the flows that bring them; the bands age and empty here
    band_aging = Flow(
        "band_aging",
        "outflow",
        parse("aging_rate * dt * max(0, 1 / dt - other_exit_rate - band_start_rate)"),
        source="wait_band",
        target="wait_band",
        space=lay.aging,
        relabel={"stage": lay.next_stage},
        unit=SHADOW_FLOW,
    )
    band_exit = Flow(
        "band_exit",
        "outflow",
        parse("band_start_rate + other_exit_rate"),
        source="wait_band",
        unit=SHADOW_FLOW,
        description="people leaving a wait band by starting, escalating or dropping out",
    )
    return Declarations(stocks=stocks, flows=[start, band_aging, band_exit])


def waiting_chain(lay: CapacityLayout) -> Declarations:
    """The waiting lists of capacitated services, by wait band, and who starts from them.

    Parameters
    ----------
    lay
        Wait bands and spaces of the capacitated services.

    Returns
    -------
    Declarations
        Parameters ``aging_rate`` (per month), ``over_18_weeks`` (share),
        ``stage_is_first``; derived values from ``waiting_all`` to ``start_hazard``;
        stocks ``waiting`` and ``wait_band`` (people); flows ``start`` (people per
        month), ``band_aging`` and ``band_exit`` (people per month, shadow).
    """
    chain = _chain_stocks_and_flows(lay)
    return Declarations(
        params=_band_params(lay),
        auxes=[*_who_can_start(lay), *_starts(lay), *_list_measures(lay)],
        stocks=chain.stocks,
        flows=chain.flows,
    )
