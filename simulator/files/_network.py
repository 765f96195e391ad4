"""Stock-and-flow models written directly in YAML (``kind: network``).

Layout (every parameter and series names its ``source``)::

    upstream: model
    kind: network
    name: Waiting list
    horizon: 24                 # reporting months 0..23
    start: 2024-04              # optional calendar month of month 0
    dims:
      service: [IAPT, CMHT]
    stocks:
      - {name: waiting, dims: [service], initial: 0}
    params:
      - {name: arrivals, dims: [service], values: [900, 300], unit: people per month,
         source: "local referral data 2023/24"}
      - {name: treat_rate, dims: [service], values: [0.5, 0.3], unit: per month, source: "..."}
    series:
      - {name: season, times: [0, 6, 12], values: [1.0, 1.2, 1.0], source: "..."}
    aux:
      - {name: demand, expr: "arrivals * season"}
    flows:
      - {name: referrals, kind: inflow, target: waiting, rate: demand}
      - {name: starts, kind: outflow, source: waiting, rate: treat_rate}
    outputs:
      - {name: total_waiting, expr: "sum(waiting, over=service)"}

Formulas are parsed safely (:mod:`simulator.core._formulas`); problems are reported
with the line they come from.
"""

from __future__ import annotations

from pathlib import Path

from simulator.core._formulas import FormulaError
from simulator.core._model import Model, compiled_model
from simulator.core._problems import Problems
from simulator.core._spaces import SpaceError
from simulator.core._spec import ModelSpec, SpecError
from simulator.files._yaml import Located

__all__ = ["read_network"]

_SECTIONS = {
    "stocks": ("name",),
    "params": ("name", "values", "source"),
    "series": ("name", "times", "values", "source"),
    "aux": ("name", "expr"),
    "flows": ("name", "kind", "rate"),
    "outputs": ("name", "expr"),
}


def read_network(root: Located, path: Path, problems: Problems) -> Model | None:
    """Build a network model from a parsed YAML file, recording every problem.

    Parameters
    ----------
    root
        The parsed file.
    path
        Where it was read from.
    problems
        Collects every problem found.

    Returns
    -------
    Model or None
        The model, or ``None`` if it could not be built.
    """
    problems.part_kind = "section"
    data = root.value
    sections: dict[str, list[dict]] = {}
    for key, required in _SECTIONS.items():
        loc = root.get(key)
        if loc is None:
            sections[key] = []
            if key in ("stocks", "flows"):
                problems.add(f"the model has no {key}", line=root.line, allowed=f"{key}: a list")
            continue
        if not isinstance(loc.value, list):
            problems.add("must be a list of mappings", part=key, line=loc.line)
            sections[key] = []
            continue
        items = []
        for i, item in enumerate(loc.items(), start=1):
            if not isinstance(item.value, dict):
                problems.add("is not a mapping", part=key, row=i, line=item.line)
                continue
            missing = [r for r in required if r not in item.value or item.value[r] in (None, "")]
            for r in missing:
                allowed = "where the values come from" if r == "source" else None
                problems.add(f"{r!r} is missing", part=key, row=i, column=r, line=item.line, allowed=allowed)
            if not missing:
                items.append(item.value)
        sections[key] = items
    dims = data.get("dims") or {}
    if not isinstance(dims, dict) or not all(isinstance(v, list) for v in dims.values()):
        problems.add("dims must map each dimension to a list of labels", line=root.line)
        dims = {}
    if problems.errors:
        return None
    try:
        spec = ModelSpec.build(
            str(data.get("name") or path.stem),
            dims=dims,
            stocks=sections["stocks"],
            flows=sections["flows"],
            params=sections["params"],
            series=sections["series"],
            auxes=sections["aux"],
            outputs=sections["outputs"],
            horizon=int(data.get("horizon", 12)),
            start=str(data["start"]) if data.get("start") else None,
            description=str(data.get("description", "")),
            source=str(data.get("source", "")),
            meta={"kind": "network"},
        )
    except (FormulaError, SpaceError, SpecError, ValueError, KeyError, TypeError) as err:
        msgs = err.problems if isinstance(err, SpecError) else [str(err)]
        for m in msgs:
            problems.add(m)
        return None
    for msg in spec.check():
        problems.add(msg)
    if problems.errors:
        return None
    return compiled_model(spec, "network", path, problems)
