"""The surge model's stocks, flows and output, declared once for both spec builders.

The surge model (:mod:`._build`) and the capacity model (:mod:`._capacity`)
both take :func:`surge_stocks` and :func:`surge_flows`; they differ in the
caseload stock (by path, or by group and service) and in ``new_treatment``
(every path, or the paths to unlimited services only).  The equations are
listed in :mod:`._surge_parts`.
"""

from __future__ import annotations

from simulator.core._formulas import Ref, parse
from simulator.core._spaces import Space
from simulator.core._spec import Flow, Output, Stock
from simulator.surge._surge_parts import SurgeSpaces

__all__ = ["contacts_output", "new_treatment_flow", "surge_flows", "surge_stocks"]


def _no_mh_needs_stock() -> Stock:
    """The stock of people with no (further) mental health needs (a scalar, people)."""
    return Stock(
        "no_mh_needs", Space((), ((),)), 0.0, "people", "people with no (further) mental health needs"
    )


def _at_risk_stock(sp: SurgeSpaces) -> Stock:
    """The stock of people at risk by group (people), including those referred but untreated."""
    return Stock("at_risk", sp.group, 0.0, "people", "people at risk, including those referred but untreated")


def _new_at_risk_flow() -> Flow:
    """People becoming at risk: ``size * pcnt / 100 * curve`` (people per month) into ``at_risk``."""
    return Flow(
        "new_at_risk",
        "inflow",
        parse("size * pcnt / 100 * curve"),
        target="at_risk",
        description="people becoming at risk",
    )


def _new_referral_flow(sp: SurgeSpaces) -> Flow:
    """Referrals along each path (people per month), measured: referred people stay at risk."""
    return Flow(
        "new_referral",
        "outflow",
        Ref("referral_fraction"),
        source="at_risk",
        space=sp.path,
        moves=False,
        description="referrals; referred people stay at risk until they start treatment",
    )


def new_treatment_flow(
    space: Space | None = None, description: str = "referrals that start the service"
) -> Flow:
    """Accepted referrals that start the service at once: ``treat_pcnt`` of ``new_referral``.

    Parameters
    ----------
    space
        The paths the flow runs on; ``None``: every path (those of ``new_referral``).
    description
        What the flow is, for the spec.

    Returns
    -------
    Flow
        A fraction flow from ``at_risk`` to ``treatment`` (people per month).
    """
    return Flow(
        "new_treatment",
        "fraction",
        Ref("treat_pcnt"),
        source="at_risk",
        target="treatment",
        of="new_referral",
        space=space,
        description=description,
    )


def _no_needs_flow() -> Flow:
    """At-risk people leaving risk without referral (people per month) to ``no_mh_needs``."""
    return Flow(
        "no_needs",
        "outflow",
        Ref("no_needs_rate"),
        source="at_risk",
        target="no_mh_needs",
        description="at-risk people who leave risk without referral",
    )


def _relapse_flow() -> Flow:
    """People leaving treatment still in need, back to ``at_risk`` (people per month)."""
    return Flow(
        "relapse",
        "outflow",
        parse("(1 - success) * exit_rate"),
        source="treatment",
        target="at_risk",
        description="people leaving the service still in need (back at risk)",
    )


def _recovered_flow() -> Flow:
    """People leaving treatment with no further needs, to ``no_mh_needs`` (people per month)."""
    return Flow(
        "recovered",
        "outflow",
        parse("success * exit_rate"),
        source="treatment",
        target="no_mh_needs",
        description="people leaving the service with no further needs",
    )


def contacts_output(description: str) -> Output:
    """Contacts the surge caseload needs: ``treatment * demand`` (contacts per month).

    Parameters
    ----------
    description
        What the output is, for the spec.

    Returns
    -------
    Output
        The output ``contacts``.
    """
    return Output("contacts", parse("treatment * demand"), "contacts per month", description)


def surge_stocks(sp: SurgeSpaces, caseload: Stock) -> tuple[Stock, ...]:
    """The surge model's stocks: ``no_mh_needs``, ``at_risk[group]`` and the caseload ``treatment``.

    Parameters
    ----------
    sp
        The model's spaces.
    caseload
        The stock ``treatment`` (people), on the builder's own space.

    Returns
    -------
    tuple of Stock
        The three stocks (people).
    """
    return (_no_mh_needs_stock(), _at_risk_stock(sp), caseload)


def surge_flows(sp: SurgeSpaces, new_treatment: Flow) -> tuple[Flow, ...]:
    """The surge model's six flows, in its order (module docstring of :mod:`._surge_parts`).

    Parameters
    ----------
    sp
        The model's spaces.
    new_treatment
        The builder's treatment starts at once (:func:`new_treatment_flow`).

    Returns
    -------
    tuple of Flow
        ``new_at_risk``, ``new_referral``, ``new_treatment``, ``no_needs``, ``relapse``
        and ``recovered`` (people per month).
    """
    return (
        _new_at_risk_flow(),
        _new_referral_flow(sp),
        new_treatment,
        _no_needs_flow(),
        _relapse_flow(),
        _recovered_flow(),
    )
