"""Capacity, waiting lists and escalation: the surge model with services that fill up.

When a surge model has a ``capacity`` table, services listed there have a
limited number of treatment starts per month (changing in steps at given
months) and/or a caseload ceiling.  Their accepted referrals join a waiting
list; starts are limited by capacity and go to the longest waiters first.

Stocks (people):

* ``at_risk[group]``, ``no_mh_needs`` as in the surge model;
* ``treatment[group, service]``: caseload (the surge model's paths summed over
  conditions: a service's exit rates and a group's relapse target do not depend
  on the condition, so nothing else changes);
* ``waiting[group, service]``: surge referrals waiting for a capacitated service;
* ``background_waiting[service]``, ``background_treatment[service]``,
  ``background_left``: the service's underlying and returning suppressed
  referrals (the demand sheet), competing for the same capacity;
* ``wait_band[service, stage]``: how long the service's whole waiting list
  (surge and background) has waited, in bands (0-1, 1-2, 2-3, 3-6, 6-12, 12+
  months by default): the same people as ``waiting`` and ``background_waiting``.

The spec is assembled from named pieces, each in its own module:

* the surge model's parameters and derived values (:mod:`._surge_parts`) and its
  stocks and flows (:mod:`._surge_flows`), with the treatment starts of unlimited
  services kept and those of capacitated ones replaced by
* the arrivals (:mod:`._capacity_arrivals`): start at once, or join the list;
* the capacity limit (:mod:`._capacity_limit`): starts allowed each step;
* the waiting chain (:mod:`._capacity_waiting`): wait bands, longest waiters first;
* escalation and drop-out (:mod:`._capacity_escalation`);
* the background load (:mod:`._capacity_background`).

Services without a capacity row are unlimited: referrals start at once, as in
the surge model, so a model whose capacity table limits nothing reproduces
the surge model (summed over conditions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from simulator.core._formulas import parse
from simulator.core._spec import Flow, ModelSpec, Output, Stock
from simulator.surge._capacity_arrivals import arrivals
from simulator.surge._capacity_background import background_load
from simulator.surge._capacity_escalation import escalation_and_dropout
from simulator.surge._capacity_layout import CapacityLayout, Declarations, capacity_layout
from simulator.surge._capacity_limit import (
    NO_CEILING,
    CapacitySteps,
    capacity_limit,
    capacity_steps,
    default_capacity,
)
from simulator.surge._capacity_strata import strata_meta
from simulator.surge._capacity_waiting import waiting_chain
from simulator.surge._surge_flows import contacts_output, new_treatment_flow, surge_flows, surge_stocks
from simulator.surge._surge_parts import SURGE_RECORD, SurgeSpaces, common_meta, surge_parts
from simulator.surge._tables import SurgeTables

__all__ = ["NO_CEILING", "RECORD", "build_capacity_spec", "default_capacity"]

#: the background waiting list's flows (and where people escalated from it go)
BACKGROUND_MOVES = (
    "background_arrivals",
    "background_arrivals_now",
    "background_start",
    "background_escalation",
    "background_escalation_direct",
    "background_dropout",
)
#: what a run of a capacity model records by default: the surge model's records (with
#: the accepted starts of capacitated services), then the waiting lists and capacity
RECORD = (
    *SURGE_RECORD[:-1],
    "accepted_now",
    "accepted",
    *SURGE_RECORD[-1:],
    "waiting",
    "start",
    "escalation",
    "escalation_direct",
    "dropout",
    "background_waiting",
    "background_treatment",
    *BACKGROUND_MOVES,
    "background_contacts",
    "wait_band",
    "waiting_all",
    "starts_from_waiting",
    "escalations_from_waiting",
    "dropouts_from_waiting",
    "waiting_over_18_weeks",
    "capacity_now",
    "arrivals_now",
    "starts_at_once",
    "joined_waiting_list",
)

# The order of the spec's declarations (the capacity model's own parameters, series and
# derived values follow the surge model's): the pieces declare them by topic, the spec
# lists them in this order, so that runs are bit-identical to earlier versions.
PARAMS = (
    "capacity_scale",
    "ceiling_scale",
    "extra_capacity",
    "escalation_rate",
    "dropout_rate",
    "initial_waiting",
    "aging_rate",
    "escalation_multiplier",
    "dropout_multiplier",
    "over_18_weeks",
    "stage_is_first",
    "background_referrals_0",
    "capacity_0",
    "ceiling_0",
)
SERIES = ("capacity", "ceiling", "background_referrals")
AUXES = (
    "waiting_all",
    "other_exit_rate",
    "can_start",
    "can_start_from_here_up",
    "caseload_all",
    "caseload_exits",
    "capacity_now",
    "starts_by_band",
    "band_start_rate",
    "starts_from_waiting",
    "escalations_from_waiting",
    "dropouts_from_waiting",
    "waiting_over_18_weeks",
    "start_hazard",
    "escalation_hazard",
    "dropout_hazard",
    "pair_referral_fraction",
    "surge_arrivals",
    "arrivals_now",
    "start_now_share",
    "starts_at_once",
    "joined_waiting_list",
)
STOCKS = (
    "no_mh_needs",
    "at_risk",
    "treatment",
    "waiting",
    "background_waiting",
    "background_treatment",
    "background_left",
    "wait_band",
)
FLOWS = (
    "new_at_risk",
    "new_referral",
    "no_needs",
    "new_treatment",
    "accepted_now",
    "accepted",
    "relapse",
    "recovered",
    "start",
    "escalation",
    "escalation_direct",
    "dropout",
    *BACKGROUND_MOVES,
    "background_discharge",
    "band_aging",
    "band_exit",
)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


D = TypeVar("D", bound=_Named)


def _in_order(decls: Iterable[D], names: Sequence[str]) -> tuple[D, ...]:
    """``decls`` in the order of ``names`` (which must name each of them once)."""
    by_name = {d.name: d for d in decls}
    assert sorted(by_name) == sorted(names), (sorted(by_name), sorted(names))
    return tuple(by_name[n] for n in names)


def _surge_part(sp: SurgeSpaces, lay: CapacityLayout) -> Declarations:
    """The surge model's stocks and flows: a caseload by (group, service), starts at once if unlimited."""
    caseload = Stock("treatment", lay.caseload, 0.0, "people", "caseload by group and service")
    starts = new_treatment_flow(
        lay.free_paths, "accepted referrals to unlimited services: they start at once"
    )
    return Declarations(stocks=list(surge_stocks(sp, caseload)), flows=list(surge_flows(sp, starts)))


def _merge(parts: Iterable[Declarations]) -> Declarations:
    """All the declarations of ``parts`` in one bundle."""
    out = Declarations()
    for p in parts:
        out.params += p.params
        out.series += p.series
        out.auxes += p.auxes
        out.stocks += p.stocks
        out.flows += p.flows
    return out


def _present(flows: Sequence[Flow]) -> tuple[Flow, ...]:
    """Flows with elements (a fraction flow only if its parent has): routes the model lacks are left out."""
    present = {f.name for f in flows if f.space is None or len(f.space)}
    return tuple(f for f in flows if f.name in present and (f.kind != "fraction" or f.of in present))


def _meta(lay: CapacityLayout, steps: CapacitySteps, recordable: set[str]) -> dict[str, object]:
    """The capacity model's spec metadata: capacitated services, assumptions, wait bands, records."""
    return {
        "kind": "surge",
        "capacity": True,
        "capacitated": lay.capped,
        "escalates_to": dict(lay.escalates_to),
        "assumed_capacity": tuple(steps.assumed),
        "assumed_services": tuple(dict.fromkeys(a.split(" from month ")[0] for a in steps.assumed)),
        "shadow_stocks": ("wait_band",),
        "max_dt": min([w for w in lay.widths if w > 0], default=None),
        "record": tuple(n for n in RECORD if n in recordable),
        **strata_meta(lay),
        **common_meta(),
    }


def build_capacity_spec(t: SurgeTables) -> ModelSpec:
    """The surge model with capacity-limited services, waiting lists, escalation and drop-out.

    Parameters
    ----------
    t
        Validated surge tables with a capacity table.

    Returns
    -------
    ModelSpec
        The capacity model: dimensions group, condition, service and stage; time in months.
    """
    parts = surge_parts(t)
    sp = parts.spaces
    lay = capacity_layout(t, sp)
    steps = capacity_steps(t, lay.capped)
    own = _merge(
        (
            _surge_part(sp, lay),
            capacity_limit(lay, steps),
            waiting_chain(lay),
            escalation_and_dropout(lay),
            background_load(t, lay),
            arrivals(lay),
        )
    )
    flows = _present(_in_order(own.flows, FLOWS))
    stocks = _in_order(own.stocks, STOCKS)
    auxes = _in_order(own.auxes, AUXES)
    outputs = (
        contacts_output("contacts of the surge caseload"),
        Output(
            "background_contacts",
            parse("background_treatment * demand"),
            "contacts per month",
            "contacts of the background caseload",
        ),
    )
    recordable = {f.name for f in flows} | {o.name for o in outputs} | {a.name for a in auxes}
    recordable |= {x.name for x in stocks}
    return ModelSpec(
        dims={**sp.dims, "stage": tuple(lay.stages)},
        stocks=stocks,
        flows=flows,
        params=(*parts.params, *_in_order(own.params, PARAMS)),
        series=(*parts.series, *_in_order(own.series, SERIES)),
        auxes=(*parts.auxes, *auxes),
        outputs=outputs,
        meta=_meta(lay, steps, recordable),
        **parts.header,
    )
