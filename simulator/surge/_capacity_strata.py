"""How a capacity model stratifies: a waiting list per stratum, capacity shared by band.

When a capacity model is stratified (deprivation, ethnic group, age band, sex), each
(service, stratum) gets its own waiting list and wait bands (surge and background
people), and its own escalation and drop-out rates if the strata declare multipliers
on ``escalation_rate`` or ``dropout_rate``.  The service's capacity and caseload
ceiling stay shared.

Modelling assumption (equal access at equal need and equal wait): the service fills
its starts longest waiters first from the pooled wait bands, exactly as the
unstratified model does (``starts_by_band`` from the sum of every stratum's people
who could start); within a band, each stratum's people start in proportion to the
people of that stratum who could start (``band_start_rate = starts_by_band /
sum(can_start, over=strata) x max(0, 1/dt - other_exit_rate)``).  A stratum's share
of the capacity is then its share of each band's waiting list: linear in the waiting
lists, and people are conserved stratum by stratum.  The share of arrivals that
start at once (capacity left after the waiting list) is the same in every stratum.

An access weight per stratum (a stratum multiplier on ``start_access``, 1 by default,
with its source or the label "illustrative assumption") weights a stratum's people in
each band's share: ``band_start_rate = min(max(0, 1/dt - other_exit_rate),
starts_by_band / sum(can_start x start_access, over=strata) x start_access x max(0,
1/dt - other_exit_rate))``.  A stratum cannot start more people than it has in the band;
starts its weight would give beyond them are left to new arrivals (the capacity left
after the waiting list starts them at once).

With every multiplier 1 and the same shares for every population group (as the
shipped models have) the strata are alike and add up to the unstratified model (to
rounding, 1e-12).  With shares that differ by group, strata mix the groups differently:
within a stratum's list the groups are well mixed, as within the unstratified list, so
the sum over strata differs from one list per service by what finer lists resolve (a
relative difference of the order of 1e-4 in the test of tests/test_capacity_strata.py).

These are the ``strata_*`` entries of the spec's metadata read by
:mod:`simulator.core._strata_forms`.
"""

from __future__ import annotations

import numpy as np

from simulator.surge._capacity_layout import CapacityLayout, param
from simulator.surge._tables_schema import DEFAULT_DT

__all__ = ["STRATA_META", "strata_meta"]

#: the modelling assumption of how a service's capacity is shared across strata
EQUAL_ACCESS = "equal access at equal need and equal wait"

#: derived values computed per stratum, or pooled over the strata (``over=strata``), once stratified
FORMS = {
    "caseload_all": "sum(sum(treatment, over=group) + background_treatment, over=strata)",
    "caseload_exits": (
        "sum(sum(treatment * exit_rate, over=group) + background_treatment * exit_rate, over=strata)"
    ),
    "can_start_from_here_up": "rcumsum(sum(can_start, over=strata), over=stage)",
    "starts_by_band": (
        "min(can_start_from_here_up, capacity_now) "
        "- min(can_start_from_here_up - sum(can_start, over=strata), capacity_now)"
    ),
    "band_start_rate": (
        "min(max(0, 1 / dt - other_exit_rate), zidz(starts_by_band, sum(can_start * start_access, over=strata)) "
        "* start_access * max(0, 1 / dt - other_exit_rate))"
    ),
    "starts_from_waiting": "sum(wait_band * band_start_rate, over=stage)",
    "start_now_share": (
        "min(1, xidz(max(0, capacity_now - sum(starts_from_waiting, over=strata)), "
        "sum(arrivals_now, over=strata), 1))"
    ),
}


def strata_meta(lay: CapacityLayout) -> dict[str, object]:
    """The ``strata_*`` metadata of a capacity model, with its access weight ``start_access``.

    Parameters
    ----------
    lay
        The model's layout (its capacitated services).

    Returns
    -------
    dict
        Metadata entries for :mod:`simulator.core._strata_forms`.
    """
    access = param(
        "start_access",
        lay.service,
        np.ones(len(lay.capped)),
        "weight",
        f"Upstream: 1 in every stratum ({EQUAL_ACCESS}: a modelling assumption)",
        "weight of a stratum's people in each wait band's share of the starts (stratified models)",
    )
    return {**STRATA_META, "strata_params": (access,)}


STRATA_META: dict[str, object] = {
    # every people stock is divided by the strata: background lists and caseloads, wait bands
    "strata_stocks": ("background_waiting", "background_treatment", "background_left", "wait_band"),
    # a sum over groups stays within its stratum (waiting_all, surge_arrivals ...)
    "strata_pool": (),
    "strata_forms": FORMS,
    # background referrals arriving at a service are divided by the population shares
    "strata_split": ("arrivals_now",),
    # a service's capacity and caseload ceiling serve every stratum: no multipliers on them
    "strata_shared": ("capacity_scale", "ceiling_scale", "extra_capacity", "capacity_0", "ceiling_0"),
    # the guard of the waiting table, per stratum: (escalation + drop-out) x dt <= 1
    "strata_leaving": {
        "rates": (("escalation_rate", "escalation_multiplier"), ("dropout_rate", "dropout_multiplier")),
        "dt": DEFAULT_DT,
    },
}
