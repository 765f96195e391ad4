"""The surge model as a stock-and-flow spec, built from its validated tables.

Stocks (people): ``no_mh_needs``; ``at_risk[group]``; ``treatment[path]``,
where a *path* is a (group, condition, service) row of c2t whose
(group, condition) has a g2c row.

Flows (people per month), exactly the Strategy Unit model's equations:

* ``new_at_risk[g] = size_g * pcnt_g / 100 * curve_g(t)`` into ``at_risk``;
* ``new_referral[p] = at_risk[g] * referral_fraction[p]`` (measured; nobody moves),
  ``referral_fraction[p] = g2c_pcnt[g, c] * split[p] / sum(split over (g, c))``;
* ``new_treatment[p] = new_referral[p] * treat_pcnt[s]`` from ``at_risk`` to ``treatment``;
* ``no_needs[g] = at_risk[g] * (1 - sum of referral_fraction over g's paths)`` to ``no_mh_needs``;
* ``relapse[p] = treatment[p] * (1 - success[s]) * exit_rate[s]`` back to ``at_risk``;
* ``recovered[p] = treatment[p] * success[s] * exit_rate[s]`` to ``no_mh_needs``;

with ``exit_rate[s] = 1 - (1 - decay[s]) ** (1 / months[s])`` (per month).
Output ``contacts[p] = treatment[p] * demand[s]`` (contacts per month).
"""

from __future__ import annotations

import numpy as np

from simulator.core._formulas import Ref, parse
from simulator.core._spaces import Space
from simulator.core._spec import Aux, Flow, ModelSpec, Output, Param, Series, Stock
from simulator.surge._tables import SurgeTables

__all__ = ["build_surge_spec"]


def build_surge_spec(t: SurgeTables) -> ModelSpec:
    """Build the spec of a surge model from its tables (with waiting lists if it has capacity)."""
    if t.has_capacity:
        from simulator.surge._capacity import build_capacity_spec

        return build_capacity_spec(t)
    groups = tuple(t.groups["group"])
    conditions = tuple(t.conditions)
    services = tuple(t.treatments["treatment"])
    paths = t.paths()
    path_space = Space(
        ("group", "condition", "service"),
        tuple(zip(paths["group"], paths["condition"], paths["treatment"])),
    )
    pair_df = t.g2c[
        [
            (g, c) in set(zip(paths["group"], paths["condition"]))
            for g, c in zip(t.g2c["group"], t.g2c["condition"])
        ]
    ]
    pair_space = Space(("group", "condition"), tuple(zip(pair_df["group"], pair_df["condition"])))
    g_space = Space(("group",), tuple((g,) for g in groups))
    s_space = Space(("service",), tuple((s,) for s in services))
    src = t.sources
    tr = t.treatments

    def tsrc(name: str) -> str:
        return src.get(name, f"{t.name}: {name} table")

    params = (
        Param(
            "size",
            g_space,
            t.groups["size"].to_numpy(),
            "people",
            tsrc("groups"),
            "population of the group",
            (0.0, None),
        ),
        Param(
            "pcnt",
            g_space,
            t.groups["pcnt"].to_numpy(),
            "% of the group",
            tsrc("groups"),
            "susceptibility: share of the group that becomes at risk",
            (0.0, 100.0),
        ),
        Param(
            "g2c_pcnt",
            pair_space,
            pair_df["pcnt"].to_numpy(),
            "per month",
            tsrc("g2c"),
            "monthly share of the group's at-risk people referred with the condition",
            (0.0, 1.0),
        ),
        Param(
            "split",
            path_space,
            paths["split"].to_numpy(),
            "relative weight",
            tsrc("c2t"),
            "relative weight of each service a condition is referred to",
            (0.0, None),
        ),
        Param(
            "success",
            s_space,
            tr["success"].to_numpy(),
            "share",
            tsrc("treatments"),
            "share of people leaving the service who need no further care",
            (0.0, 1.0),
        ),
        Param(
            "months",
            s_space,
            tr["months"].to_numpy(),
            "months",
            tsrc("treatments"),
            "months over which the share decay of the caseload is discharged",
            (1e-9, None),
        ),
        Param(
            "decay",
            s_space,
            tr["decay"].to_numpy(),
            "share",
            tsrc("treatments"),
            "share of the caseload discharged within months",
            (0.0, 1.0),
        ),
        Param(
            "demand",
            s_space,
            tr["demand"].to_numpy(),
            "contacts per person per month",
            tsrc("treatments"),
            "contacts each person in the service needs per month",
            (0.0, None),
        ),
        Param(
            "treat_pcnt",
            s_space,
            tr["treat_pcnt"].to_numpy(),
            "share",
            tsrc("treatments"),
            "share of referrals that start the service",
            (0.0, 1.0),
        ),
    )
    curve = np.stack([t.curves[c].to_numpy() for c in t.groups["curve"]])
    series = (
        Series(
            "curve",
            g_space,
            t.curves.index.to_numpy(dtype=float),
            curve,
            "share per month",
            tsrc("curves"),
            "share of the group's at-risk people arriving each month "
            "(curve of each group: "
            + ", ".join(f"{g}: {c}" for g, c in zip(groups, t.groups["curve"]))
            + ")",
        ),
    )
    auxes = (
        Aux(
            "referral_fraction",
            parse("g2c_pcnt * (split / sum(split, over=service))"),
            path_space,
            "per month",
            "monthly share of the group's at-risk people referred along the path",
        ),
        Aux(
            "exit_rate",
            parse("1 - (1 - decay) ** (1 / months)"),
            s_space,
            "per month",
            "share of the caseload leaving the service each month",
        ),
        Aux(
            "no_needs_rate",
            parse("1 - sum(referral_fraction, over=[condition, service])"),
            g_space,
            "per month",
            "share of the at-risk people leaving risk each month without referral",
        ),
    )
    stocks = (
        Stock(
            "no_mh_needs",
            Space((), ((),)),
            0.0,
            "people",
            "people with no (further) mental health needs",
        ),
        Stock(
            "at_risk",
            g_space,
            0.0,
            "people",
            "people at risk, including those referred but untreated",
        ),
        Stock("treatment", path_space, 0.0, "people", "caseload: people in the service, by path"),
    )
    flows = (
        Flow(
            "new_at_risk",
            "inflow",
            parse("size * pcnt / 100 * curve"),
            target="at_risk",
            description="people becoming at risk",
        ),
        Flow(
            "new_referral",
            "outflow",
            Ref("referral_fraction"),
            source="at_risk",
            space=path_space,
            moves=False,
            description="referrals; referred people stay at risk until they start treatment",
        ),
        Flow(
            "new_treatment",
            "fraction",
            Ref("treat_pcnt"),
            source="at_risk",
            target="treatment",
            of="new_referral",
            description="referrals that start the service",
        ),
        Flow(
            "no_needs",
            "outflow",
            Ref("no_needs_rate"),
            source="at_risk",
            target="no_mh_needs",
            description="at-risk people who leave risk without referral",
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
    )
    outputs = (
        Output(
            "contacts",
            parse("treatment * demand"),
            "contacts per month",
            "contacts the caseload needs each month",
        ),
    )
    return ModelSpec(
        name=t.name,
        dims={"group": groups, "condition": conditions, "service": services},
        stocks=stocks,
        flows=flows,
        params=params,
        series=series,
        auxes=auxes,
        outputs=outputs,
        horizon=t.months,
        start=None if t.start is None else t.start.strftime("%Y-%m"),
        description=str(t.meta.get("description", "")),
        source=str(t.meta.get("source", "")),
        meta={
            "kind": "surge",
            "record": (
                "no_mh_needs",
                "at_risk",
                "treatment",
                "new_at_risk",
                "new_referral",
                "new_treatment",
                "contacts",
            ),
            "element_names": {"group,condition,service": "path"},
            # a group's monthly condition rates total at most 1 (the workbook rule);
            # sampled values that break it are scaled down proportionally
            "constraints": ({"param": "g2c_pcnt", "sum_over": ("condition",), "max": 1.0},),
        },
    )
