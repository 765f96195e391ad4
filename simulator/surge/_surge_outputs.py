"""What an ensemble of a surge model keeps: per-service outputs, with waiting lists if capacitated.

One definition per figure, the same in ``summary``, ``sweep``, ``compare``, exports and plots:

* ``referrals`` are always the surge's referrals (people referred because of the pandemic;
  pre-pandemic referrals are the demand sheet's ``underlying`` series);
* ``starts``, ``caseload`` and ``contacts`` are every treatment start, person in
  treatment and contact the model counts: in a surge model only the surge (it models
  nothing else); in a capacity model the **whole load**, surge and pre-pandemic
  referrals together, which is what competes for capacity (waiting lists, utilisation
  and the appraisal's figures count the same);
* ``surge_starts``, ``surge_caseload`` and ``surge_contacts`` (capacity models) are the
  part of those that comes from surge referrals: in a surge model they would equal
  ``starts``, ``caseload`` and ``contacts``.
"""

from __future__ import annotations

from simulator.core._outputs import OutputDef

__all__ = ["CAPACITY_OUTPUTS", "SENSITIVITY_MEASURES", "SURGE_ONLY", "SURGE_OUTPUTS"]

#: the surge-only view of a whole-load output of a capacity model (name -> surge-only name)
SURGE_ONLY = {"starts": "surge_starts", "caseload": "surge_caseload", "contacts": "surge_contacts"}

SURGE_OUTPUTS = (
    OutputDef("referrals", "new_referral", ("service",), "referrals per month"),
    OutputDef("starts", "new_treatment", ("service",), "starts per month"),
    OutputDef("caseload", "treatment", ("service",), "people"),
    OutputDef("contacts", "contacts", ("service",), "contacts per month"),
)


CAPACITY_OUTPUTS = (
    OutputDef("referrals", "new_referral", ("service",), "referrals per month"),
    OutputDef(
        "starts",
        ("new_treatment", "starts_from_waiting", "starts_at_once"),
        ("service",),
        "starts per month",
    ),
    OutputDef("surge_starts", ("new_treatment", "accepted_now", "start"), ("service",), "starts per month"),
    OutputDef("caseload", ("treatment", "background_treatment"), ("service",), "people"),
    OutputDef("surge_caseload", "treatment", ("service",), "people"),
    OutputDef("contacts", ("contacts", "background_contacts"), ("service",), "contacts per month"),
    OutputDef("surge_contacts", "contacts", ("service",), "contacts per month"),
    OutputDef("waiting", "waiting_all", ("service",), "people"),
    OutputDef("over_18_weeks", "waiting_over_18_weeks", ("service",), "people"),
    OutputDef("escalations", "escalations_from_waiting", ("service",), "people per month"),
    OutputDef("dropouts", "dropouts_from_waiting", ("service",), "people per month"),
    OutputDef("unmet_need", "joined_waiting_list", ("service",), "people per month"),
    OutputDef("capacity", "capacity_now", ("service",), "starts per month"),
    OutputDef(
        "waiting_list_exits",
        ("starts_from_waiting", "escalations_from_waiting", "dropouts_from_waiting"),
        ("service",),
        "people per month",
    ),
    OutputDef(
        "share_over_18_weeks", keep=("service",), unit="share", ratio=("over_18_weeks", "waiting"), floor=1e-6
    ),
    OutputDef(
        "mean_wait", keep=("service",), unit="months", ratio=("waiting", "waiting_list_exits"), floor=1e-6
    ),
    OutputDef("utilisation", keep=("service",), unit="share", ratio=("starts", "capacity")),
)

#: what a sensitivity analysis of a surge model measures per service (output -> measures):
#: referrals over the horizon, the caseload's peak and the month of the peak
SENSITIVITY_MEASURES = {"referrals": ("total",), "caseload": ("peak", "peak_month")}
