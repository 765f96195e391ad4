"""Interventions that target strata: an intervention file's ``allocation`` and stratum scopes.

A scope may name a model's stratifying dimension as well as the lever's own
dimensions, e.g. ``scope: {group: [General population], deprivation: [Q1 most deprived]}``
(the model must be stratified by ``deprivation``; checked when the intervention is
appraised).  Coverage can be shared between the categories of a stratifier::

    coverage: 0.3                  # share of the whole target population reached
    allocation:
      by: deprivation              # a stratifier of the model
      method: proportionate        # universal | proportionate
      gradient: 2                  # first category (most deprived) gets 2x the last, linear between
      # weights: [3, 2, 1.5, 1, 1] # or explicit intensities, one per category
      source: "illustrative assumption: intensity doubles from least to most deprived"

Proportionate universalism: everyone is offered the intervention, with intensity
rising with need; the allocated coverages reach exactly the stated share of the
population (:func:`simulator.analysis._appraisal_levers.allocate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from simulator.analysis._appraisal_levers import ALLOCATIONS, Allocation
from simulator.core._problems import Problems

__all__ = ["LEVER_DIMS", "read_allocation"]

#: dimensions levers scope by; any other scope key is taken to be a stratifier of the model
LEVER_DIMS = ("group", "condition", "service")
_KEYS = ("by", "method", "gradient", "weights", "source")


def _gradient(a: Mapping, where: int | None, problems: Problems) -> float:
    g = a.get("gradient", 1.0)
    if isinstance(g, bool) or not isinstance(g, int | float) or not g > 0:
        problems.add(f"gradient is {g!r}", part="allocation", line=where, allowed="a number > 0 (e.g. 2)")
        return 1.0
    return float(g)


def _weights(a: Mapping, where: int | None, problems: Problems) -> tuple[float, ...] | None:
    w = a.get("weights")
    if w is None:
        return None
    ok = isinstance(w, list) and w and all(isinstance(x, int | float) and not isinstance(x, bool) for x in w)
    if not ok or min(w) < 0 or max(w) <= 0:
        problems.add(
            f"weights are {w!r}",
            part="allocation",
            line=where,
            allowed="a list of numbers >= 0, one per category",
        )
        return None
    return tuple(float(x) for x in w)


def read_allocation(d: Mapping, line: Callable[[str], int | None], problems: Problems) -> Allocation | None:
    """The ``allocation`` of an intervention file, or ``None``; problems name the field and line.

    Parameters
    ----------
    d
        The intervention file's mapping.
    line
        The line of a top-level field.
    problems
        Where problems are recorded.

    Returns
    -------
    Allocation or None
        The allocation (``None`` if the file has none or it has problems).
    """
    a = d.get("allocation")
    if a is None:
        return None
    where = line("allocation")
    if not isinstance(a, Mapping) or not a.get("by"):
        problems.add(
            "needs at least 'by'", part="allocation", line=where, allowed="by: a stratifier of the model"
        )
        return None
    if d.get("lever") == "diversion":
        problems.add(
            "a diversion moves referral weights between services; it cannot share its coverage between strata",
            part="allocation",
            line=where,
            allowed="scope: {STRATIFIER: [...]} to divert within some strata only",
        )
    for k in a:
        if k not in _KEYS:
            problems.add(f"unknown field {k!r}", part="allocation", line=where, allowed=", ".join(_KEYS))
    method = a.get("method", "proportionate")
    if method not in ALLOCATIONS:
        problems.add(f"method is {method!r}", part="allocation", line=where, allowed=", ".join(ALLOCATIONS))
    source = str(a.get("source") or "")
    if method != "universal" and not source:
        problems.add(
            "'source' is missing",
            part="allocation",
            line=where,
            allowed="the evidence for the gradient, or 'illustrative assumption: ...'",
        )
    gradient, weights = _gradient(a, where, problems), _weights(a, where, problems)
    if problems.errors:
        return None
    return Allocation(str(a["by"]), str(method), gradient, weights, source)
