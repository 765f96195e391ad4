"""Escalation and drop-out: people leaving a waiting list before they start.

For a capacitated service ``s``, escalations ``E[s] = sum_k wait_band[s,k] *
escalation_rate[s] * escalation_multiplier[k]`` and drop-outs likewise.  The
list is well mixed, so every group's waiting people (and the background's)
escalate and drop out at the service's rates ``E/W`` and ``D/W``.
Escalations join the waiting list (or the caseload, if unlimited) of the
crisis service the waiting table names; surge drop-outs return to at risk,
background drop-outs leave.
"""

from __future__ import annotations

from simulator.core._formulas import Ref, parse
from simulator.core._spaces import Space
from simulator.core._spec import Aux, Flow
from simulator.surge._capacity_layout import CapacityLayout, Declarations, param, waiting_column

__all__ = ["escalation_and_dropout"]


def _escalate(
    name: str, source: str, target: str, space: Space, lay: CapacityLayout, description: str = ""
) -> Flow:
    """People escalating from ``source`` to the crisis service's ``target``; onto its wait bands if it waits."""
    to_list = target.endswith("waiting")
    return Flow(
        name,
        "outflow",
        Ref("escalation_hazard"),
        source=source,
        target=target,
        space=space,
        relabel={"service": lay.escalates_to},
        tally=(("wait_band", {"service": lay.escalates_to}, lay.to_first_band),) if to_list else (),
        description=description,
    )


def _escalation_flows(lay: CapacityLayout) -> list[Flow]:
    """Escalations and drop-outs of the surge and background waiting lists, in spec order."""
    return [
        _escalate(
            "escalation",
            "waiting",
            "waiting",
            lay.escalation_wait,
            lay,
            "people escalating to a capacitated crisis service",
        ),
        _escalate(
            "escalation_direct",
            "waiting",
            "treatment",
            lay.escalation_direct,
            lay,
            "people escalating to an unlimited crisis service",
        ),
        Flow(
            "dropout",
            "outflow",
            Ref("dropout_hazard"),
            source="waiting",
            target="at_risk",
            description="people giving up waiting (back at risk)",
        ),
        _escalate(
            "background_escalation",
            "background_waiting",
            "background_waiting",
            lay.background_escalation_wait,
            lay,
        ),
        _escalate(
            "background_escalation_direct",
            "background_waiting",
            "background_treatment",
            lay.background_escalation_direct,
            lay,
            "background people escalating to an unlimited crisis service (they start at once)",
        ),
        Flow(
            "background_dropout",
            "outflow",
            Ref("dropout_hazard"),
            source="background_waiting",
            target="background_left",
        ),
    ]


def _leaving(lay: CapacityLayout) -> list[Aux]:
    """Escalations and drop-outs from each waiting list, and the rates at which anyone waiting leaves."""
    return [
        Aux(
            "escalations_from_waiting",
            parse("sum(wait_band * escalation_rate * escalation_multiplier, over=stage)"),
            lay.service,
            "people per month",
            "people escalating from the waiting list",
        ),
        Aux(
            "dropouts_from_waiting",
            parse("sum(wait_band * dropout_rate * dropout_multiplier, over=stage)"),
            lay.service,
            "people per month",
            "people dropping out of the waiting list",
        ),
        Aux(
            "escalation_hazard",
            parse("zidz(escalations_from_waiting, waiting_all)"),
            lay.service,
            "per month",
            "monthly rate at which anyone waiting escalates",
        ),
        Aux(
            "dropout_hazard",
            parse("zidz(dropouts_from_waiting, waiting_all)"),
            lay.service,
            "per month",
            "monthly rate at which anyone waiting drops out",
        ),
    ]


def escalation_and_dropout(lay: CapacityLayout) -> Declarations:
    """Rates, multipliers and flows of people escalating or dropping out while they wait.

    Parameters
    ----------
    lay
        Escalation routes, wait bands and spaces of the capacitated services.

    Returns
    -------
    Declarations
        Parameters ``escalation_rate``, ``dropout_rate`` (per month) and their
        multipliers by wait band; derived ``escalations_from_waiting``,
        ``dropouts_from_waiting`` (people per month) and their hazards (per month);
        the flows ``escalation``, ``escalation_direct``, ``dropout`` and their
        ``background_`` counterparts (people per month).
    """
    wsrc, ssrc = lay.sources["waiting"], lay.sources["stages"]
    params = [
        param(
            "escalation_rate",
            lay.service,
            waiting_column(lay, "escalation_rate", 0.0),
            "per month",
            wsrc,
            "monthly share of people waiting who escalate to the crisis service",
        ),
        param(
            "dropout_rate",
            lay.service,
            waiting_column(lay, "dropout_rate", 0.0),
            "per month",
            wsrc,
            "monthly share of people waiting who drop out (back to at risk)",
        ),
        param(
            "escalation_multiplier",
            lay.stage,
            lay.stage_rows["escalation"],
            "multiplier",
            ssrc,
            "escalation rate multiplier by time waited",
        ),
        param(
            "dropout_multiplier",
            lay.stage,
            lay.stage_rows["dropout"],
            "multiplier",
            ssrc,
            "drop-out rate multiplier by time waited",
        ),
    ]
    return Declarations(params=params, auxes=_leaving(lay), flows=_escalation_flows(lay))
