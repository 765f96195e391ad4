"""Arrivals at capacitated services: who starts at once and who joins the waiting list.

Accepted referrals to a capacitated service, surge and background, start at
once while capacity is left after the waiting list's starts; the rest join
the waiting list (and its first wait band).  Surge referrals are taken per
(group, service) pair, summed over conditions: the waiting list and caseload
do not depend on the condition, so a step moves one element per pair rather
than one per path.
"""

from __future__ import annotations

from simulator.core._formulas import parse
from simulator.core._spec import Aux, Flow
from simulator.surge._capacity_layout import CapacityLayout, Declarations

__all__ = ["arrivals"]


def _arrival_auxes(lay: CapacityLayout) -> list[Aux]:
    """Referral rate per pair, accepted arrivals, and the share of them that start at once."""
    return [
        Aux(
            "pair_referral_fraction",
            parse("sum(referral_fraction, over=condition)"),
            lay.referred,
            "per month",
            "monthly share of the group's at-risk people referred to the capacitated service",
        ),
        Aux(
            "surge_arrivals",
            parse("sum(at_risk * pair_referral_fraction * treat_pcnt, over=group)"),
            lay.service,
            "people per month",
            "accepted surge referrals arriving this step (0 for a service only reached by escalation)",
        ),
        Aux(
            "arrivals_now",
            parse("surge_arrivals + background_referrals * treat_pcnt"),
            lay.service,
            "people per month",
            "accepted referrals arriving this step, surge and background",
        ),
        Aux(
            "start_now_share",
            parse("min(1, xidz(max(0, capacity_now - starts_from_waiting), arrivals_now, 1))"),
            lay.service,
            "share",
            "share of this step's arrivals that start at once (capacity left after the waiting list)",
        ),
        Aux(
            "starts_at_once",
            parse("arrivals_now * start_now_share"),
            lay.service,
            "starts per month",
            "arrivals starting at once (surge and background)",
        ),
        Aux(
            "joined_waiting_list",
            parse("arrivals_now * (1 - start_now_share)"),
            lay.service,
            "people per month",
            "arrivals joining the waiting list (surge and background): unmet need",
        ),
    ]


def arrivals(lay: CapacityLayout) -> Declarations:
    """Accepted surge referrals to capacitated services, split into starts at once and joiners.

    Parameters
    ----------
    lay
        Capacitated services and the (group, service) pairs referred to them.

    Returns
    -------
    Declarations
        Derived values from ``pair_referral_fraction`` (per month) to
        ``joined_waiting_list`` (people per month), and the flows ``accepted_now``
        (to ``treatment``) and ``accepted`` (to ``waiting``), people per month.
    """
    accepted_now = Flow(
        "accepted_now",
        "outflow",
        parse("pair_referral_fraction * treat_pcnt * start_now_share"),
        source="at_risk",
        target="treatment",
        space=lay.referred,
        description="accepted referrals to capacitated services that start at once (capacity to spare)",
    )
    accepted = Flow(
        "accepted",
        "outflow",
        parse("pair_referral_fraction * treat_pcnt * (1 - start_now_share)"),
        source="at_risk",
        target="waiting",
        space=lay.referred,
        tally=(("wait_band", {}, lay.to_first_band),),
        description="accepted referrals to capacitated services that join the waiting list",
    )
    return Declarations(auxes=_arrival_auxes(lay), flows=[accepted_now, accepted])
