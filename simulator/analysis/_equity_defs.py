"""The equity metrics: what each is made of, and the domain of *Advancing Mental Health Equality* it belongs to."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DOMAINS", "METRICS", "Metric"]

DOMAINS = ("access", "experience", "outcome")


class Metric(NamedTuple):
    """How a metric is made of the quantities.

    ``kind``: ``population`` (numerator per ``scale`` people of the stratum; over the
    horizon the numerator's total over time), ``ratio`` (numerator over denominator x
    ``scale``; over the horizon, total over total) or ``cumulative`` (cumulative
    numerator over cumulative denominator to date).
    """

    domain: str
    label: str
    unit: str
    numerator: str
    denominator: str
    scale: float
    kind: str


METRICS: dict[str, Metric] = {
    "referrals_per_100k": Metric(
        "access", "referrals per 100,000", "per 100,000 people", "referrals", "", 1e5, "population"
    ),
    "starts_per_100k": Metric(
        "access", "treatment starts per 100,000", "per 100,000 people", "starts", "", 1e5, "population"
    ),
    "referrals_per_need": Metric(
        "access", "referrals per person in need", "per person", "referrals", "need", 1.0, "cumulative"
    ),
    "starts_per_need": Metric(
        "access", "treatment starts per person in need", "per person", "starts", "need", 1.0, "cumulative"
    ),
    "mean_wait": Metric("experience", "mean wait", "months", "waiting", "exits", 1.0, "ratio"),
    "share_over_18_weeks": Metric(
        "experience", "share waiting over 18 weeks", "share", "over_18_weeks", "waiting", 1.0, "ratio"
    ),
    "dropouts_per_1000": Metric(
        "experience",
        "drop-outs while waiting per 1,000 referrals",
        "per 1,000 referrals",
        "dropouts",
        "referrals",
        1e3,
        "ratio",
    ),
    "escalations_per_1000": Metric(
        "experience",
        "escalations to crisis while waiting per 1,000 referrals",
        "per 1,000 referrals",
        "escalations",
        "referrals",
        1e3,
        "ratio",
    ),
    "dropouts_per_100k": Metric(
        "experience",
        "drop-outs while waiting per 100,000",
        "per 100,000 people",
        "dropouts",
        "",
        1e5,
        "population",
    ),
    "escalations_per_100k": Metric(
        "experience",
        "escalations to crisis while waiting per 100,000",
        "per 100,000 people",
        "escalations",
        "",
        1e5,
        "population",
    ),
    "recovery_rate": Metric(
        "outcome",
        "recovery rate (share leaving treatment well)",
        "share",
        "recovered",
        "finished",
        1.0,
        "ratio",
    ),
    "at_risk_per_1000": Metric(
        "outcome", "people-months at risk per 1,000", "per 1,000 people", "at_risk", "", 1e3, "population"
    ),
    "relapse_per_1000": Metric(
        "outcome",
        "leaving treatment still in need per 1,000 starts",
        "per 1,000 starts",
        "relapse",
        "starts",
        1e3,
        "ratio",
    ),
}
