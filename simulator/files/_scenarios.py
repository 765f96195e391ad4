"""Scenario files: which model, horizon, curves, ensemble size and what is uncertain.

A scenario is a YAML file in ``scenarios/``::

    upstream: scenario
    name: England, evidence ranges
    model: england                  # built-in name, or a path relative to this file
    months: 36                      # reporting months 0..35 (default: the model's)
    dt: 0.2                         # Euler step, months
    method: euler                   # or rk4
    curves: {all: Fluctuating Fears, Students FE & HE: Second wave}
    define_curves:
      Second wave: {generator: repeating_waves, period: 9, waves: 3}
    members: 10000
    seed: 2020
    sampler: lhs                    # monte-carlo, lhs or sobol
    quantiles: [0.05, 0.25, 0.5, 0.75, 0.95]
    services: [IAPT, Child & Adolescent Mental Health]   # services shown by default
    uncertainty:
      - name: HCW depression
        parameter: g2c_pcnt
        select: {group: Health and care workers, condition: Depression}
        apply: scale                # scale, set or add
        mode: together              # together or independent
        distribution: {type: triangular, low: 0.73, mode: 1, high: 1.375}
        source: EV007 (Lai et al. 2020) OR 1.52 (95% CI 1.11-2.09) relative to the estimate

Every field is checked; problems name the field (``uncertainty[2].distribution``)
and the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.analysis._distributions import DistributionError, distribution_from_dict
from simulator.analysis._posterior import Posterior
from simulator.analysis._sampling import SAMPLERS
from simulator.analysis._scenario import DEFAULT_QUANTILES, Scenario
from simulator.analysis._uncertainty import APPLY, MODES, Design, UncertaintyGroup
from simulator.core._model import Model
from simulator.core._problems import Problems
from simulator.files._documents import model_reference, read_document
from simulator.files._yaml import Located
from simulator.surge._curves import CurveError, generate
from simulator.surge._surge_model import SurgeModel

__all__ = ["DEFAULT_QUANTILES", "Scenario", "load_scenario"]  # Scenario lives in simulator.analysis

_FIELDS = {
    "upstream",
    "name",
    "description",
    "model",
    "months",
    "dt",
    "method",
    "curves",
    "define_curves",
    "members",
    "seed",
    "sampler",
    "quantiles",
    "services",
    "uncertainty",
    "interventions",
    "packages",
    "capacity",
    "block_size",
}


def _num(problems: Problems, loc: Located | None, name: str, kind: type, low=None, high=None, default=None):
    if loc is None:
        return default
    v = loc.value
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    if kind is int:
        ok = ok and float(v).is_integer()
    if not ok or (low is not None and v < low) or (high is not None and v > high):
        rng = f" from {low}" if low is not None else ""
        rng += f" to {high}" if high is not None else ""
        what = "a whole number" if kind is int else "a number"
        problems.add(f"is {v!r}", part=name, line=loc.line, allowed=f"{what}{rng}")
        return default
    return kind(v)


def _line(loc: Located | None) -> int | None:
    """The line a located value starts on (``None`` if absent)."""
    return None if loc is None else loc.line


def _model_dt(model: Model) -> float:
    """The model's own time step: an imported model's TIME STEP, else 1 month."""
    clock: Any = model.spec.meta.get("clock") or {}
    return float(clock.get("dt", 1.0))


def _read_root(p: Path, problems: Problems) -> Located:
    """The scenario file's YAML tree; raises :class:`InputError` if it is not a scenario file."""
    return read_document(p, problems, "scenario", _FIELDS)


def _scenario_model(root: Located, p: Path, problems: Problems) -> Model | None:
    """The model the scenario names (a built-in name or a path relative to the file)."""
    return model_reference(root, p, problems)


def _run_settings(root: Located, problems: Problems) -> dict:
    """Horizon (months), step (months), method, ensemble size, seed, sampler and quantiles."""
    data = root.value
    months = _num(problems, root.get("months"), "months", int, low=1)
    dt = _num(problems, root.get("dt"), "dt", float, low=1e-6)  # none: the model's own step
    if dt is not None and dt <= 0:
        problems.add("must be positive", part="dt", line=_line(root.get("dt")))
    method = data.get("method", "euler")
    if method not in ("euler", "rk4"):
        problems.add(f"is {method!r}", part="method", line=_line(root.get("method")), allowed="euler or rk4")
    members = _num(problems, root.get("members"), "members", int, low=1, default=1)
    seed = _num(problems, root.get("seed"), "seed", int, low=0, default=0)
    sampler = data.get("sampler", "lhs")
    if sampler not in SAMPLERS:
        problems.add(
            f"is {sampler!r}", part="sampler", line=_line(root.get("sampler")), allowed=", ".join(SAMPLERS)
        )
    quantiles = tuple(DEFAULT_QUANTILES)
    qloc = root.get("quantiles")
    if qloc is not None:
        q = qloc.value
        if not isinstance(q, list) or not q or not all(isinstance(x, int | float) and 0 <= x <= 1 for x in q):
            problems.add(
                f"is {q!r}", part="quantiles", line=qloc.line, allowed="a list of numbers from 0 to 1"
            )
        else:
            quantiles = tuple(sorted({float(x) for x in q} | {0.5}))
    return {
        "months": months,
        "dt": dt,
        "method": method,
        "members": members,
        "seed": seed,
        "sampler": sampler,
        "quantiles": quantiles,
    }


def _with_curves(model: Model, root: Located, months: int | None, problems: Problems) -> Model:
    """The model with the scenario's curve assignments and generated curves (surge models)."""
    data = root.value
    assign = data.get("curves")
    define = data.get("define_curves")
    cloc, dloc = root.get("curves"), root.get("define_curves")
    if assign is not None and isinstance(assign, str):
        assign = {"all": assign}
    if assign is not None and not isinstance(assign, dict):
        problems.add("must map groups (or all) to curve names", part="curves", line=_line(cloc))
        assign = None
    if define is not None and not isinstance(define, dict):
        problems.add("must map curve names to generator definitions", part="define_curves", line=_line(dloc))
        define = None
    if not (assign or define):
        return model
    if not isinstance(model, SurgeModel):
        problems.add("the model has no scenario curves", part="curves", line=_line(cloc or dloc))
        return model
    for name, d in (define or {}).items():
        try:
            generate(d, months or model.spec.horizon)
        except CurveError as err:
            assert dloc is not None  # define_curves is given
            problems.add(str(err), part=f"define_curves.{name}", line=dloc.children[name].line)
    if not problems.errors:
        try:
            return model.with_curves(
                {str(k): str(v) for k, v in (assign or {}).items()}, define or {}, months
            )
        except KeyError as err:
            problems.add(str(err.args[0]), part="curves", line=cloc.line if cloc else None)
    return model


def _services(root: Located, model: Model | None, problems: Problems) -> list:
    """Services the scenario shows by default (each must be in the model)."""
    services = root.value.get("services") or []
    sloc = root.get("services")
    if not isinstance(services, list):
        problems.add("must be a list of service names", part="services", line=_line(sloc))
        return []
    if model is not None and "service" in model.spec.dims:
        known = set(model.spec.dims["service"])
        for s in services:
            if s not in known:
                problems.add(f"service {s!r} is not in the model", part="services", line=_line(sloc))
    return services


def _check_design(root: Located, model: Model, groups: list[UncertaintyGroup], problems: Problems) -> None:
    """Each uncertainty group must name a parameter and elements of the model."""
    try:
        Design(model.spec, groups)
    except ValueError as err:
        for msg in str(err).split("; "):
            name = msg.split(":")[0]
            idx = next((i for i, g in enumerate(groups) if g.name == name), None)
            uloc = root.get("uncertainty")
            line = uloc.items()[idx].line if (idx is not None and uloc is not None) else None
            problems.add(msg, part=f"uncertainty[{idx}]" if idx is not None else "uncertainty", line=line)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        The scenario ``.yaml`` file.

    Returns
    -------
    Scenario
        Model (with the scenario's curves), horizon (months), step (months), method,
        ensemble size, seed, sampler, quantiles, services and uncertainty groups.

    Raises
    ------
    InputError
        Listing every problem (field, line, what is allowed).
    """
    p = Path(path)
    problems = Problems(file=p.name, part_kind="field")
    root = _read_root(p, problems)
    data = root.value
    model = _scenario_model(root, p, problems)
    run = _run_settings(root, problems)
    months, dt = run["months"], run["dt"]
    if model is not None:
        model = _with_curves(model, root, months, problems)
    services = _services(root, model, problems)
    groups, posterior = _uncertainty(root, p, problems)
    if posterior is not None:
        run["sampler"] = f"posterior:{posterior.path}"
    if model is not None and groups and not problems.errors:
        _check_design(root, model, groups, problems)
    problems.raise_if_errors()
    assert model is not None
    return Scenario(
        name=str(data.get("name") or p.stem),
        model=model,
        months=months or model.spec.horizon,
        dt=float(dt) if dt is not None else _model_dt(model),
        method=run["method"],
        members=run["members"],
        seed=run["seed"],
        sampler=run["sampler"],
        groups=groups,
        quantiles=run["quantiles"],
        services=list(services),
        description=str(data.get("description", "")),
        path=p,
        extra={k: data[k] for k in ("interventions", "packages", "capacity") if k in data},
    )


def _uncertainty(
    root: Located, p: Path, problems: Problems
) -> tuple[list[UncertaintyGroup], Posterior | None]:
    """``uncertainty:`` as a list of groups, or ``{posterior: FILE}`` (a calibration's joint draws)."""
    loc = root.get("uncertainty")
    if loc is None or not isinstance(loc.value, Mapping):
        return uncertainty_groups(loc, problems), None
    bad = [k for k in loc.value if k != "posterior"]
    if bad or not isinstance(loc.value.get("posterior"), str):
        problems.add("must be a list of groups or {posterior: FILE}", part="uncertainty", line=loc.line,
                     allowed="a list of uncertainty groups, or posterior: a calibration's .nc file")  # fmt: skip
        return [], None
    try:
        post = Posterior.read((p.parent / loc.value["posterior"]).resolve())
    except ValueError as err:
        problems.add(str(err), part="uncertainty.posterior", line=loc.line)
        return [], None
    return post.groups, post


def uncertainty_groups(
    loc: Located | None, problems: Problems, field: str = "uncertainty"
) -> list[UncertaintyGroup]:
    """Uncertainty groups of a scenario's ``uncertainty:`` (or a calibration's ``parameters:``).

    Parameters
    ----------
    loc
        The located list (``None`` when the field is absent).
    problems
        Collects what is wrong.
    field
        The field's name, for problems.

    Returns
    -------
    list of UncertaintyGroup
        The valid groups.
    """
    if loc is None:
        return []
    if not isinstance(loc.value, list):
        problems.add("must be a list of uncertain parameter groups", part=field, line=loc.line)
        return []
    out = []
    for i, item in enumerate(loc.items()):
        where = f"{field}[{i}]"
        d = item.value
        if not isinstance(d, dict):
            problems.add("must be a mapping", part=where, line=item.line)
            continue
        bad = False
        for req in ("name", "parameter", "distribution", "source"):
            if not d.get(req):
                allowed = "how the range was derived" if req == "source" else None
                problems.add(f"{req!r} is missing", part=where, line=item.line, allowed=allowed)
                bad = True
        for k in d:
            if k not in ("name", "parameter", "select", "apply", "mode", "distribution", "source"):
                problems.add(
                    f"unknown field {k!r}",
                    part=where,
                    line=item.line,
                    allowed="name, parameter, select, apply, mode, distribution, source",
                )
                bad = True
        apply = d.get("apply", "scale")
        if apply not in APPLY:
            problems.add(f"apply is {apply!r}", part=where, line=item.line, allowed=", ".join(APPLY))
            bad = True
        mode = d.get("mode", "together")
        if mode not in MODES:
            problems.add(f"mode is {mode!r}", part=where, line=item.line, allowed=", ".join(MODES))
            bad = True
        select = d.get("select") or {}
        if not isinstance(select, Mapping):
            problems.add("select must map dimensions to labels", part=where, line=item.line)
            bad = True
            select = {}
        sel = {str(k): tuple(v) if isinstance(v, list) else (str(v),) for k, v in select.items()}
        dist = None
        if d.get("distribution") is not None:
            try:
                dist = distribution_from_dict(d["distribution"])
            except DistributionError as err:
                dloc = item.get("distribution")
                problems.add(str(err), part=f"{where}.distribution", line=dloc.line if dloc else item.line)
                bad = True
        if bad or dist is None:
            continue
        out.append(
            UncertaintyGroup(str(d["name"]), str(d["parameter"]), dist, sel, apply, mode, str(d["source"]))
        )
    return out
