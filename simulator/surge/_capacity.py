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
* ``background_waiting[service]``, ``background_treatment[service]``: the
  service's underlying and returning suppressed referrals (the demand sheet),
  competing for the same capacity; ``background_left`` collects those who
  finish or drop out.  An unlimited service that people escalate to also has
  a ``background_treatment`` element, holding only the background people
  escalated to it;
* ``wait_band[service, stage]``: how long the service's whole waiting list
  (surge and background) has waited, in bands (0-1, 1-2, 2-3, 3-6, 6-12, 12+
  months by default).  It holds the *same people* as ``waiting`` and
  ``background_waiting`` (so it is left out of head counts) and its totals agree.

Each month, for a capacitated service ``s`` and wait band ``k``:

* within a step, people first escalate or drop out (rates ``o[s,k]``), then
  start (longest waiters first), and those left age into the next band at
  ``dt / width`` of them per step; so people who can start this step are
  ``A[s,k] = wait_band[s,k] * max(0, 1/dt - o[s,k])`` and the ageing flow is
  ``(wait_band * (1/dt - o) - starts) * dt / width``.  No band is overdrawn
  while ``dt`` is at most the narrowest band (1 month by default), and a
  1-month band with ``dt = 1`` is an exact one-month delay;
* capacity: ``C[s] = min(capacity(t) * capacity_scale + extra_capacity,
  max(0, (ceiling * ceiling_scale - caseload) / dt + exits))``, ``exits`` being the caseload
  leaving this step, so a binding ceiling holds the caseload exactly at it;
* starts, longest waiters first: ``S[s,k] = min(R[s,k], C) - min(R[s,k] - A[s,k], C)``
  with ``R`` the running total of ``A`` from the oldest band down;
* escalations ``E[s] = sum_k wait_band * escalation_rate * multiplier[k]`` and
  drop-outs likewise;
* within a service the waiting list is well mixed: every group's waiting
  people (and the background's) start, escalate and drop out at the service's
  rates ``S/W``, ``E/W``, ``D/W``.  Escalations join the waiting list (or the
  caseload, if unlimited) of the named crisis service; drop-outs return to at
  risk (background drop-outs leave).

Services without a capacity row are unlimited: referrals start at once, as in
the surge model, so a model whose capacity table limits nothing reproduces
the surge model (summed over conditions).

Where ``starts`` is blank the capacity defaults to pre-pandemic throughput,
``mean underlying referrals over the first 12 months x treat_pcnt x headroom``
(headroom 1.1 unless given): an assumption, flagged in results.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pandas as pd

from simulator.core._formulas import Ref, parse
from simulator.core._spaces import Space
from simulator.core._spec import Aux, Flow, ModelSpec, Output, Param, Series, Stock
from simulator.surge._tables import DEFAULT_HEADROOM, DEFAULT_STAGES, EIGHTEEN_WEEKS, SurgeTables

__all__ = ["NO_CEILING", "RECORD", "build_capacity_spec", "default_capacity"]

#: a caseload ceiling that never binds (parameters must be finite)
NO_CEILING = 1e15
#: what a run of a capacity model records by default
RECORD = (
    "no_mh_needs",
    "at_risk",
    "treatment",
    "new_at_risk",
    "new_referral",
    "new_treatment",
    "accepted_now",
    "accepted",
    "contacts",
    "waiting",
    "start",
    "escalation",
    "escalation_direct",
    "dropout",
    "background_waiting",
    "background_treatment",
    "background_arrivals",
    "background_arrivals_now",
    "background_start",
    "background_escalation",
    "background_escalation_direct",
    "background_dropout",
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


def _stages(t: SurgeTables) -> pd.DataFrame:
    if t.stages is not None and len(t.stages):
        st = t.stages.copy()
    else:
        st = pd.DataFrame(
            {"stage": [s for s, _ in DEFAULT_STAGES], "upper": [u for _, u in DEFAULT_STAGES]}
        ).astype(object)
        st["escalation"] = None
        st["dropout"] = None
    st["escalation"] = [1.0 if v is None or pd.isna(v) else float(v) for v in st["escalation"]]
    st["dropout"] = [1.0 if v is None or pd.isna(v) else float(v) for v in st["dropout"]]
    lower = [0.0, *[float(u) for u in st["upper"][:-1]]]
    st["lower"] = lower
    # share of each band beyond 18 weeks (uniform ages within a band)
    over = []
    for lo, up in zip(lower, st["upper"]):
        if up is None or pd.isna(up):
            over.append(1.0)  # the open last band: treated as beyond 18 weeks
        else:
            over.append(float(np.clip((float(up) - EIGHTEEN_WEEKS) / (float(up) - lo), 0.0, 1.0)))
    st["over_18_weeks"] = over
    return st.reset_index(drop=True)


def default_capacity(t: SurgeTables, service: str, headroom: float | None) -> float:
    """Pre-pandemic throughput x headroom: mean underlying referrals (first 12 months) x treat_pcnt."""
    d = t.demand[t.demand["service"] == service].sort_values("month").head(12)
    treat = float(t.treatments.set_index("treatment").loc[service, "treat_pcnt"])
    head = DEFAULT_HEADROOM if headroom is None or pd.isna(headroom) else float(headroom)
    return float(d["underlying"].mean()) * treat * head


def _capacity_series(t: SurgeTables, services: list[str], months: int):
    cap = t.capacity
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
    return np.asarray(change, dtype=float), values, ceilings, assumed


def build_capacity_spec(t: SurgeTables) -> ModelSpec:
    """The surge model with capacity-limited services, waiting lists, escalation and drop-out."""
    from simulator.surge._build import build_surge_spec

    base = build_surge_spec(replace(t, capacity=None, waiting=None, stages=None))
    services = list(base.dims["service"])
    groups = list(base.dims["group"])
    st = _stages(t)
    stages = list(st["stage"])
    capped = [s for s in services if s in set(t.capacity["service"])]
    cap_set = set(capped)
    wait = t.waiting if t.waiting is not None else pd.DataFrame(columns=["service", "escalates_to"])
    wait = wait[wait["service"].isin(capped)].set_index("service") if len(wait) else wait
    esc_to = {
        s: str(wait.loc[s, "escalates_to"])
        for s in capped
        if s in wait.index and not pd.isna(wait.loc[s, "escalates_to"])
    }

    paths = base.stock("treatment").space
    pair_list = list(dict.fromkeys((g, s) for g, _, s in paths.coords))
    have = set(pair_list)
    todo = list(pair_list)
    while todo:  # escalation targets (and theirs, down the chain) need caseload and waiting rows
        g, s = todo.pop()
        if s in esc_to and (g, esc_to[s]) not in have:
            have.add((g, esc_to[s]))
            pair_list.append((g, esc_to[s]))
            todo.append((g, esc_to[s]))
    g_order = {g: i for i, g in enumerate(groups)}
    s_order = {s: i for i, s in enumerate(services)}
    pair_list.sort(key=lambda p: (g_order[p[0]], s_order[p[1]]))
    pairs = Space(("group", "service"), tuple(pair_list))
    wait_space = Space(("group", "service"), tuple(p for p in pair_list if p[1] in cap_set))
    cap_space = Space(("service",), tuple((s,) for s in capped))
    # background caseloads: capacitated services, then unlimited services that people escalate to
    extra_targets = [s for s in services if s in set(esc_to.values()) and s not in cap_set]
    n_extra = len(extra_targets)
    bg_space = Space(("service",), tuple((s,) for s in [*capped, *extra_targets]))
    cap_stage = Space(("service", "stage"), tuple((s, k) for s in capped for k in stages))
    stage_space = Space(("stage",), tuple((k,) for k in stages))
    first, last = stages[0], stages[-1]
    next_stage = dict(pairwise(stages))
    path_cap = [c for c in paths.coords if c[2] in cap_set]
    path_free = [c for c in paths.coords if c[2] not in cap_set]
    referred = {(g, s_) for g, _, s_ in path_cap}
    referred_pairs = Space(("group", "service"), tuple(p_ for p_ in pair_list if p_ in referred))
    src = t.sources.get("capacity", f"{t.name}: capacity table")
    wsrc = t.sources.get("waiting", f"{t.name}: waiting table")
    ssrc = t.sources.get("stages", "default wait bands (Upstream)")

    times, cap_values, ceilings, assumed = _capacity_series(t, capped, base.horizon)
    widths = [
        (float(u) - lo) if u is not None and not pd.isna(u) else 0.0
        for lo, u in zip(st["lower"], st["upper"])
    ]
    aging = [1.0 / w if w > 0 else 0.0 for w in widths]

    def col(name: str, default: float) -> np.ndarray:
        if not len(wait) or name not in wait:
            return np.full(len(capped), default)
        vals = []
        for s in capped:
            v = wait.loc[s, name] if s in wait.index else None
            vals.append(default if v is None or pd.isna(v) else float(v))
        return np.asarray(vals)

    # background (pre-pandemic) referrals per capacitated service, by model month (step series)
    bg_times = np.arange(base.horizon, dtype=float)
    bg = np.zeros((len(capped), len(bg_times)))
    if t.start is not None:
        d = t.demand[t.demand["service"].isin(capped)]
        for s_, m_, u_, p_ in zip(
            d["service"], pd.DatetimeIndex(d["month"]), d["underlying"], d["suppressed"]
        ):
            mo = (m_.year - t.start.year) * 12 + (m_.month - t.start.month)
            if 0 <= mo < len(bg_times):
                bg[capped.index(s_), mo] = float(u_) + float(p_)

    def param(name, space, values, unit, source, desc, bounds=(0.0, None)):
        return Param(name, space, np.asarray(values, dtype=float), unit, source, desc, bounds)

    params = [
        param(
            "capacity_scale",
            cap_space,
            np.ones(len(capped)),
            "multiplier",
            "Upstream: 1 (no change)",
            "multiplies the capacity table's starts per month",
        ),
        param(
            "ceiling_scale",
            cap_space,
            np.ones(len(capped)),
            "multiplier",
            "Upstream: 1 (no change)",
            "multiplies the capacity table's caseload ceilings",
        ),
        param(
            "extra_capacity",
            cap_space,
            np.zeros(len(capped)),
            "starts per month",
            "Upstream: 0 (no change)",
            "starts per month added to capacity (the capacity lever)",
            (None, None),
        ),
        param(
            "escalation_rate",
            cap_space,
            col("escalation_rate", 0.0),
            "per month",
            wsrc,
            "monthly share of people waiting who escalate to the crisis service",
        ),
        param(
            "dropout_rate",
            cap_space,
            col("dropout_rate", 0.0),
            "per month",
            wsrc,
            "monthly share of people waiting who drop out (back to at risk)",
        ),
        param(
            "initial_waiting",
            cap_space,
            col("initial_waiting", 0.0),
            "people",
            wsrc,
            "background people waiting at month 0 (in the first wait band)",
        ),
        param("aging_rate", stage_space, aging, "per month", ssrc, "1 / width of the wait band"),
        param(
            "escalation_multiplier",
            stage_space,
            st["escalation"],
            "multiplier",
            ssrc,
            "escalation rate multiplier by time waited",
        ),
        param(
            "dropout_multiplier",
            stage_space,
            st["dropout"],
            "multiplier",
            ssrc,
            "drop-out rate multiplier by time waited",
        ),
        param(
            "over_18_weeks",
            stage_space,
            st["over_18_weeks"],
            "share",
            ssrc,
            "share of a wait band beyond 18 weeks (uniform ages within the band)",
            (0.0, 1.0),
        ),
        param(
            "stage_is_first",
            stage_space,
            [1.0] + [0.0] * (len(stages) - 1),
            "flag",
            "Upstream",
            "1 for the first wait band",
        ),
        param(
            "background_referrals_0",
            bg_space,
            [*bg[:, 0], *[0.0] * n_extra],
            "referrals per month",
            "demand table, month 0",
            "background referrals in month 0 (sets the starting background caseload)",
        ),
        param(
            "capacity_0",
            bg_space,
            [*cap_values[:, 0], *[0.0] * n_extra],
            "starts per month",
            src,
            "capacity in month 0",
        ),
        param(
            "ceiling_0",
            bg_space,
            [*ceilings[:, 0], *[NO_CEILING] * n_extra],
            "people",
            src,
            "caseload ceiling in month 0",
        ),
    ]
    series = [
        Series(
            "capacity",
            cap_space,
            times,
            cap_values,
            "starts per month",
            src,
            "treatment starts each service can make per month (steps at the given months)",
            kind="step",
        ),
        Series(
            "ceiling",
            cap_space,
            times,
            ceilings,
            "people",
            src,
            f"caseload ceiling ({NO_CEILING:g} = none)",
            kind="step",
        ),
        Series(
            "background_referrals",
            cap_space,
            bg_times,
            bg,
            "referrals per month",
            t.sources.get("demand", "demand table"),
            "underlying plus returning suppressed referrals (the demand sheet)",
            kind="step",
        ),
    ]
    auxes = [
        Aux(
            "waiting_all",
            parse("sum(waiting, over=group) + background_waiting"),
            cap_space,
            "people",
            "everyone waiting for the service, surge and background",
        ),
        Aux(
            "other_exit_rate",
            parse("escalation_rate * escalation_multiplier + dropout_rate * dropout_multiplier"),
            cap_stage,
            "per month",
            "escalation and drop-out rate of a wait band",
        ),
        Aux(
            "can_start",
            parse("wait_band * max(0, 1 / dt - other_exit_rate)"),
            cap_stage,
            "people per month",
            "people who could start this step",
        ),
        Aux(
            "can_start_from_here_up",
            parse("rcumsum(can_start, over=stage)"),
            cap_stage,
            "people per month",
            "people who could start, from this band to the longest waiters",
        ),
        Aux(
            "caseload_all",
            parse("sum(treatment, over=group) + background_treatment"),
            cap_space,
            "people",
            "caseload of capacitated services, surge and background",
        ),
        Aux(
            "caseload_exits",
            parse("sum(treatment * exit_rate, over=group) + background_treatment * exit_rate"),
            cap_space,
            "people per month",
            "people leaving the caseload this step (their places free up)",
        ),
        Aux(
            "capacity_now",
            parse(
                "min(max(0, capacity * capacity_scale + extra_capacity), "
                "max(0, (ceiling * ceiling_scale - caseload_all) / dt + caseload_exits))"
            ),
            cap_space,
            "starts per month",
            "starts allowed this step (capacity, and places under the caseload ceiling)",
        ),
        Aux(
            "starts_by_band",
            parse(
                "min(can_start_from_here_up, capacity_now) - min(can_start_from_here_up - can_start, capacity_now)"
            ),
            cap_stage,
            "starts per month",
            "starts, longest waiters first",
        ),
        Aux(
            "band_start_rate",
            parse("zidz(starts_by_band, wait_band)"),
            cap_stage,
            "per month",
            "monthly rate at which someone in the band starts",
        ),
        Aux(
            "starts_from_waiting",
            parse("sum(starts_by_band, over=stage)"),
            cap_space,
            "starts per month",
            "starts from the waiting list",
        ),
        Aux(
            "escalations_from_waiting",
            parse("sum(wait_band * escalation_rate * escalation_multiplier, over=stage)"),
            cap_space,
            "people per month",
            "people escalating from the waiting list",
        ),
        Aux(
            "dropouts_from_waiting",
            parse("sum(wait_band * dropout_rate * dropout_multiplier, over=stage)"),
            cap_space,
            "people per month",
            "people dropping out of the waiting list",
        ),
        Aux(
            "waiting_over_18_weeks",
            parse("sum(wait_band * over_18_weeks, over=stage)"),
            cap_space,
            "people",
            "people waiting longer than 18 weeks (uniform ages within a band)",
        ),
        Aux(
            "start_hazard",
            parse("zidz(starts_from_waiting, waiting_all)"),
            cap_space,
            "per month",
            "monthly rate at which anyone waiting starts (the list is well mixed)",
        ),
        Aux(
            "escalation_hazard",
            parse("zidz(escalations_from_waiting, waiting_all)"),
            cap_space,
            "per month",
            "monthly rate at which anyone waiting escalates",
        ),
        Aux(
            "dropout_hazard",
            parse("zidz(dropouts_from_waiting, waiting_all)"),
            cap_space,
            "per month",
            "monthly rate at which anyone waiting drops out",
        ),
    ]
    auxes += [
        Aux(
            "pair_referral_fraction",
            parse("sum(referral_fraction, over=condition)"),
            referred_pairs,
            "per month",
            "monthly share of the group's at-risk people referred to the capacitated service",
        ),
        Aux(
            "surge_arrivals",
            parse("sum(at_risk * pair_referral_fraction * treat_pcnt, over=group)"),
            cap_space,
            "people per month",
            "accepted surge referrals arriving this step (0 for a service only reached by escalation)",
        ),
        Aux(
            "arrivals_now",
            parse("surge_arrivals + background_referrals * treat_pcnt"),
            cap_space,
            "people per month",
            "accepted referrals arriving this step, surge and background",
        ),
        Aux(
            "start_now_share",
            parse("min(1, xidz(max(0, capacity_now - starts_from_waiting), arrivals_now, 1))"),
            cap_space,
            "share",
            "share of this step's arrivals that start at once (capacity left after the waiting list)",
        ),
        Aux(
            "starts_at_once",
            parse("arrivals_now * start_now_share"),
            cap_space,
            "starts per month",
            "arrivals starting at once (surge and background)",
        ),
        Aux(
            "joined_waiting_list",
            parse("arrivals_now * (1 - start_now_share)"),
            cap_space,
            "people per month",
            "arrivals joining the waiting list (surge and background): unmet need",
        ),
    ]
    stocks = [
        base.stock("no_mh_needs"),
        base.stock("at_risk"),
        Stock("treatment", pairs, 0.0, "people", "caseload by group and service"),
        Stock("waiting", wait_space, 0.0, "people", "surge referrals waiting, by group and service"),
        Stock(
            "background_waiting",
            cap_space,
            Ref("initial_waiting"),
            "people",
            "background (pre-pandemic) referrals waiting; month 0 from the waiting table",
        ),
        Stock(
            "background_treatment",
            bg_space,
            parse("min(background_referrals_0 * treat_pcnt, capacity_0, ceiling_0 * exit_rate) / exit_rate"),
            "people",
            "background caseload, starting at its pre-pandemic steady state",
        ),
        Stock("background_left", Space((), ((),)), 0.0, "people", "background people who left the services"),
        Stock(
            "wait_band",
            cap_stage,
            parse("initial_waiting * stage_is_first"),
            "people (shadow)",
            "how long the waiting list has waited, by band: the same people as waiting and "
            "background_waiting, so left out of head counts",
        ),
    ]
    esc_w = Space(wait_space.dims, tuple(c for c in wait_space.coords if esc_to.get(c[1]) in cap_set))
    esc_t = Space(
        wait_space.dims, tuple(c for c in wait_space.coords if c[1] in esc_to and esc_to[c[1]] not in cap_set)
    )
    bg_esc_w = Space(cap_space.dims, tuple(c for c in cap_space.coords if esc_to.get(c[0]) in cap_set))
    bg_esc_out = Space(
        cap_space.dims, tuple(c for c in cap_space.coords if c[0] in esc_to and esc_to[c[0]] not in cap_set)
    )
    aging_b = Space(cap_stage.dims, tuple(c for c in cap_stage.coords if c[1] != last))
    surge_flows = {f.name: f for f in base.flows}
    to_band = {"stage": first}
    shadow = "people per month (shadow)"
    flows = [
        surge_flows["new_at_risk"],
        surge_flows["new_referral"],
        surge_flows["no_needs"],
        Flow(
            "new_treatment",
            "fraction",
            Ref("treat_pcnt"),
            source="at_risk",
            target="treatment",
            of="new_referral",
            space=Space(paths.dims, tuple(path_free)),
            description="accepted referrals to unlimited services: they start at once",
        ),
        # capacitated services: a (group, service) pair's referrals summed over conditions
        # (the waiting list and caseload do not depend on the condition), so a step moves
        # one element per pair rather than one per path
        Flow(
            "accepted_now",
            "outflow",
            parse("pair_referral_fraction * treat_pcnt * start_now_share"),
            source="at_risk",
            target="treatment",
            space=referred_pairs,
            description="accepted referrals to capacitated services that start at once (capacity to spare)",
        ),
        Flow(
            "accepted",
            "outflow",
            parse("pair_referral_fraction * treat_pcnt * (1 - start_now_share)"),
            source="at_risk",
            target="waiting",
            space=referred_pairs,
            tally=(("wait_band", {}, to_band),),
            description="accepted referrals to capacitated services that join the waiting list",
        ),
        Flow(
            "relapse",
            "outflow",
            parse("(1 - success) * exit_rate"),
            source="treatment",
            target="at_risk",
            description="people leaving the service still in need (back at risk)",
        ),
        Flow(
            "recovered",
            "outflow",
            parse("success * exit_rate"),
            source="treatment",
            target="no_mh_needs",
            description="people leaving the service with no further needs",
        ),
        Flow(
            "start",
            "outflow",
            Ref("start_hazard"),
            source="waiting",
            target="treatment",
            description="starts from the waiting list (capacity-limited, longest waiters first)",
        ),
        Flow(
            "escalation",
            "outflow",
            Ref("escalation_hazard"),
            source="waiting",
            target="waiting",
            space=esc_w,
            relabel={"service": esc_to},
            tally=(("wait_band", {"service": esc_to}, to_band),),
            description="people escalating to a capacitated crisis service",
        ),
        Flow(
            "escalation_direct",
            "outflow",
            Ref("escalation_hazard"),
            source="waiting",
            target="treatment",
            space=esc_t,
            relabel={"service": esc_to},
            description="people escalating to an unlimited crisis service",
        ),
        Flow(
            "dropout",
            "outflow",
            Ref("dropout_hazard"),
            source="waiting",
            target="at_risk",
            description="people giving up waiting (back at risk)",
        ),
        Flow(
            "background_arrivals",
            "inflow",
            parse("background_referrals * treat_pcnt * (1 - start_now_share)"),
            target="background_waiting",
            space=cap_space,
            tally=(("wait_band", {}, to_band),),
            description="accepted background referrals joining the waiting list",
        ),
        Flow(
            "background_arrivals_now",
            "inflow",
            parse("background_referrals * treat_pcnt * start_now_share"),
            target="background_treatment",
            space=cap_space,
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
            "background_escalation",
            "outflow",
            Ref("escalation_hazard"),
            source="background_waiting",
            target="background_waiting",
            space=bg_esc_w,
            relabel={"service": esc_to},
            tally=(("wait_band", {"service": esc_to}, to_band),),
        ),
        Flow(
            "background_escalation_direct",
            "outflow",
            Ref("escalation_hazard"),
            source="background_waiting",
            target="background_treatment",
            space=bg_esc_out,
            relabel={"service": esc_to},
            description="background people escalating to an unlimited crisis service (they start at once)",
        ),
        Flow(
            "background_dropout",
            "outflow",
            Ref("dropout_hazard"),
            source="background_waiting",
            target="background_left",
        ),
        Flow(
            "background_discharge",
            "outflow",
            Ref("exit_rate"),
            source="background_treatment",
            target="background_left",
        ),
        # the wait bands count the same people by how long they have waited: arrivals are
        # tallied into the first band by the flows above; the bands age and empty here
        Flow(
            "band_aging",
            "outflow",
            parse("aging_rate * dt * max(0, 1 / dt - other_exit_rate - band_start_rate)"),
            source="wait_band",
            target="wait_band",
            space=aging_b,
            relabel={"stage": next_stage},
            unit=shadow,
        ),
        Flow(
            "band_exit",
            "outflow",
            parse("band_start_rate + other_exit_rate"),
            source="wait_band",
            unit=shadow,
            description="people leaving a wait band by starting, escalating or dropping out",
        ),
    ]
    present = {f.name for f in flows if f.space is None or len(f.space)}
    flows = [f for f in flows if f.name in present and (f.kind != "fraction" or f.of in present)]
    outputs = [
        Output(
            "contacts", parse("treatment * demand"), "contacts per month", "contacts of the surge caseload"
        ),
        Output(
            "background_contacts",
            parse("background_treatment * demand"),
            "contacts per month",
            "contacts of the background caseload",
        ),
    ]
    recordable = {f.name for f in flows} | {o.name for o in outputs} | {a.name for a in auxes}
    recordable |= {x.name for x in stocks}
    return ModelSpec(
        name=base.name,
        dims={**base.dims, "stage": tuple(stages)},
        stocks=tuple(stocks),
        flows=tuple(flows),
        params=(*base.params, *params),
        series=(*base.series, *series),
        auxes=(*base.auxes, *auxes),
        outputs=tuple(outputs),
        horizon=base.horizon,
        start=base.start,
        description=base.description,
        source=base.source,
        meta={
            "kind": "surge",
            "capacity": True,
            "capacitated": tuple(capped),
            "escalates_to": dict(esc_to),
            "assumed_capacity": tuple(assumed),
            "assumed_services": tuple(dict.fromkeys(a.split(" from month ")[0] for a in assumed)),
            "shadow_stocks": ("wait_band",),
            "max_dt": min([w for w in widths if w > 0], default=None),
            "record": tuple(n for n in RECORD if n in recordable),
            "element_names": {"group,condition,service": "path"},
            "constraints": ({"param": "g2c_pcnt", "sum_over": ("condition",), "max": 1.0},),
        },
    )
