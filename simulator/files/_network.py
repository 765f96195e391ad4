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

Optional fields: ``dt`` (the model's own step in months, default 1; runs and the
feasibility rules below use it) and ``allow_negative: true`` (stocks may go
negative: the run-time guard then lets them; see :mod:`simulator.core._guard`).

Formulas are parsed safely (:mod:`simulator.core._formulas`); problems, formula
errors included, are reported with the line they come from.  Feasibility rules:
the constant outflow rates of one stock must not sum to more than 1 per step
(rate x dt <= 1: more would take more people out of the stock in a step than it
holds), and a run at the model's own step (a trial of the default values, for
models of up to :data:`TRIAL_LIMIT` stock-steps) must keep every value finite
and every stock at least 0 (unless ``allow_negative``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from simulator.core._formulas import FormulaError, as_expr
from simulator.core._kernel import evaluate_node
from simulator.core._model import Model
from simulator.core._problems import Problems
from simulator.core._run_chunks import run_arrays
from simulator.core._run_params import RunError, model_grid, prepare_params
from simulator.core._run_record import make_record
from simulator.core._spaces import SpaceError
from simulator.core._spec import ModelSpec, SpecError
from simulator.files._strata_spec import apply_strata, read_strata
from simulator.files._yaml import Located

__all__ = ["TRIAL_LIMIT", "read_network"]

_SECTIONS = {
    "stocks": ("name",),
    "params": ("name", "values", "source"),
    "series": ("name", "times", "values", "source"),
    "aux": ("name", "expr"),
    "flows": ("name", "kind", "rate"),
    "outputs": ("name", "expr"),
}
#: the formula fields of each section
_FORMULAS = {"stocks": ("initial",), "aux": ("expr",), "flows": ("rate",), "outputs": ("expr",)}
#: a trial run at load checks models of up to this many stocks x steps
TRIAL_LIMIT = 2_000_000
_DIVIDE = "a formula divides by zero (check formulas with '/' for a denominator that can be 0)"

#: where an item is: its section, row and line
_Place = tuple[str, int, int]
#: the owner a problem of :mod:`simulator.core` starts with: ``flow starts: ...``
_OWNER = re.compile(r"^(?:stock|flow|parameter|series|derived value|output)?\s*'?(\w+)'?(?: initial)?:")


def _sections(root: Located, problems: Problems) -> tuple[dict[str, list[dict]], dict[str, _Place]]:
    """Each section's complete items, and where each named item is."""
    sections: dict[str, list[dict]] = {}
    places: dict[str, _Place] = {}
    for key, required in _SECTIONS.items():
        loc = root.get(key)
        sections[key] = []
        if loc is None:
            if key in ("stocks", "flows"):
                problems.add(f"the model has no {key}", line=root.line, allowed=f"{key}: a list")
            continue
        if not isinstance(loc.value, list):
            problems.add("must be a list of mappings", part=key, line=loc.line)
            continue
        for i, item in enumerate(loc.items(), start=1):
            if not isinstance(item.value, dict):
                problems.add("is not a mapping", part=key, row=i, line=item.line)
                continue
            missing = [r for r in required if r not in item.value or item.value[r] in (None, "")]
            for r in missing:
                allowed = "where the values come from" if r == "source" else None
                problems.add(f"{r!r} is missing", part=key, row=i, column=r, line=item.line, allowed=allowed)
            if not missing:
                sections[key].append(item.value)
                places.setdefault(str(item.value["name"]), (key, i, item.line))
                _check_formulas(key, i, item, problems)
    return sections, places


def _check_formulas(section: str, row: int, item: Located, problems: Problems) -> None:
    """Parse the item's formulas, recording an error with the line of each that does not parse."""
    for field in _FORMULAS.get(section, ()):
        loc = item.get(field)
        if loc is None or (field == "initial" and not isinstance(loc.value, str)):
            continue
        try:
            as_expr(loc.value)
        except FormulaError as err:
            problems.add(f"{field}: {err}", part=section, row=row, column=field, line=loc.line)


def _add(problems: Problems, message: str, places: dict[str, _Place], allowed: str | None = None) -> None:
    """Record a problem of the spec, compiler or run at the item it names first (its line)."""
    m = _OWNER.match(message)
    names = [m.group(1)] if m else []
    names += re.findall(r"'(\w+)'", message)
    for name in names:
        if name in places:
            part, row, line = places[name]
            problems.add(message, part=part, row=row, line=line, allowed=allowed)
            return
    problems.add(message, allowed=allowed)


def _options(root: Located, problems: Problems) -> tuple[float | None, bool]:
    """The optional ``dt`` (months) and ``allow_negative`` fields."""
    dt: float | None = None
    loc = root.get("dt")
    if loc is not None:
        v = loc.value
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
            problems.add(
                f"dt is {v!r}", line=loc.line, allowed="a step in months, greater than 0 and at most 1"
            )
        else:
            dt = float(v)
    allow = root.get("allow_negative")
    if allow is not None and not isinstance(allow.value, bool):
        problems.add(f"allow_negative is {allow.value!r}", line=allow.line, allowed="true or false")
        return dt, False
    return dt, bool(allow is not None and allow.value)


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
    sections, places = _sections(root, problems)
    dims = data.get("dims") or {}
    if not isinstance(dims, dict) or not all(isinstance(v, list) for v in dims.values()):
        problems.add("dims must map each dimension to a list of labels", line=root.line)
        dims = {}
    dt, allow_negative = _options(root, problems)
    if problems.errors:
        return None
    meta: dict[str, object] = {"kind": "network"}
    if allow_negative:
        meta["allow_negative"] = True
    if dt is not None:
        meta["clock"] = {"dt": dt, "t0": 0.0, "every": 1.0, "unit": "months"}
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
            meta=meta,
        )
    except (FormulaError, SpaceError, SpecError, ValueError, KeyError, TypeError) as err:
        for m in err.problems if isinstance(err, SpecError) else [str(err)]:
            _add(problems, m, places)
        return None
    for msg in spec.check():
        _add(problems, msg, places)
    if problems.errors:
        return None
    strata = read_strata(root.get("strata"), problems)
    stratified = apply_strata(spec, strata, problems) if strata and not problems.errors else spec
    if stratified is None or problems.errors:
        return None
    model = Model(stratified, kind="network", path=path, warnings=problems.warnings)
    try:
        model.compiled  # noqa: B018 - compiling is the check
    except SpecError as err:
        for m in err.problems:
            _add(problems, m, places)
        return None
    _check_feasible(model, places, problems)
    return None if problems.errors else model


def _check_feasible(model: Model, places: dict[str, _Place], problems: Problems) -> None:
    """Constant outflow rates of a stock sum to at most 1 per step; a trial run stays feasible."""
    cm = model.compiled
    dt = float((cm.spec.meta.get("clock") or {}).get("dt", 1.0))
    loss = np.zeros(cm.n_stocks)
    by_col: dict[int, list[tuple[str, float]]] = {}
    for b in cm.transfers:
        if not b.loss or b.coef.dynamic():
            continue
        with np.errstate(all="ignore"):
            c = np.broadcast_to(evaluate_node(b.coef, cm.defaults), (1, len(b.of)))[0]
        if not np.isfinite(c).all():
            _add(problems, f"flow {b.name}: its rate is {c[~np.isfinite(c)][0]}: {_DIVIDE}", places)
            continue
        np.add.at(loss, b.of, c)
        for col, v in zip(b.of.tolist(), c.tolist()):
            by_col.setdefault(col, []).append((b.name, v))
    for name, sl in cm.slices.items():
        worst = sl.start + int(np.argmax(loss[sl])) if sl.stop > sl.start else sl.start
        if sl.stop <= sl.start or not loss[worst] * dt > 1.0 + 1e-12:
            continue
        space = cm.spec.stock(name).space
        element = ", ".join(f"{d}={lab}" for d, lab in zip(space.dims, space.coords[worst - sl.start]))
        flows = " + ".join(f"{f} ({v:g} per month)" for f, v in by_col[worst])
        _add(
            problems,
            f"stock {name!r}" + (f" [{element}]" if element else "") + f": its outflows {flows} sum to "
            f"{loss[worst]:g} per month; x dt {dt:g} = {loss[worst] * dt:g} > 1, so more people "
            "would leave it in a step than it holds and it would go negative: use a smaller dt or rk4 "
            "(declare the model's step in the file, e.g. dt: 0.1)",
            places,
            allowed="constant outflow rates of a stock summing to at most 1 / dt",
        )
    if not problems.errors:
        _trial_run(model, places, problems)


def _trial_run(model: Model, places: dict[str, _Place], problems: Problems) -> None:
    """Run the default values once at the model's step: the run-time guard's problems become errors."""
    cm = model.compiled
    dt = float((cm.spec.meta.get("clock") or {}).get("dt", 1.0))
    if cm.spec.horizon / dt * max(cm.n_stocks, 1) > TRIAL_LIMIT:
        return  # a large model: the guard of each run checks it
    try:
        grid, _ = model_grid(cm.spec, cm.spec.horizon)
        arrays, members = prepare_params(cm)
        items, _ = make_record(cm)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            run_arrays(cm, arrays, members, grid, items, workers=1)
    except RunError as err:
        _add(problems, f"a run of the default values at the model's step (dt {dt:g}) stops: {err}", places)
    except (ValueError, ArithmeticError, SpecError):
        return  # not a feasibility problem: a run reports it with its own message
