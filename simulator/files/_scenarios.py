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

import yaml

from simulator.analysis._distributions import DistributionError, distribution_from_dict
from simulator.analysis._sampling import SAMPLERS
from simulator.analysis._scenario import DEFAULT_QUANTILES, Scenario
from simulator.analysis._uncertainty import APPLY, MODES, Design, UncertaintyGroup
from simulator.core._model import Model
from simulator.core._problems import InputError, Problems
from simulator.files._loading import BUILTIN_MODELS, load_model
from simulator.files._yaml import Located, load_with_lines

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


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`InputError` listing every problem."""
    p = Path(path)
    problems = Problems(file=p.name, part_kind="field")
    if not p.exists():
        problems.add(f"file {str(p)!r} does not exist", allowed="a scenario .yaml file")
        problems.raise_if_errors()
    try:
        root = load_with_lines(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problems.add(
            f"not valid YAML: {getattr(err, 'problem', err)}", line=None if mark is None else mark.line + 1
        )
        problems.raise_if_errors()
        raise AssertionError from None  # unreachable
    if not isinstance(root.value, dict) or root.value.get("upstream") != "scenario":
        problems.add("not a scenario file", line=1, allowed="a mapping starting 'upstream: scenario'")
        problems.raise_if_errors()
    data = root.value
    for k in data:
        if k not in _FIELDS:
            problems.add(
                f"unknown field {k!r}", part=k, line=root.get(k).line, allowed=", ".join(sorted(_FIELDS))
            )
    # ---- model
    mloc = root.get("model")
    model: Model | None = None
    if mloc is None or not isinstance(mloc.value, str):
        problems.add("is missing", part="model", allowed="a built-in model name or a model file path")
    else:
        ref = mloc.value
        target = ref if ref.lower() in BUILTIN_MODELS else str((p.parent / ref).resolve())
        try:
            model = load_model(target)
        except InputError as err:
            problems.add(
                f"model {ref!r} has {len(err.problems)} problem(s): "
                + "; ".join(str(e) for e in err.problems[:5]),
                part="model",
                line=mloc.line,
            )
    months = _num(problems, root.get("months"), "months", int, low=1)
    dt = _num(problems, root.get("dt"), "dt", float, low=1e-6)  # none: the model's own step
    if dt is not None and dt <= 0:
        problems.add("must be positive", part="dt", line=root.get("dt").line)
    method = data.get("method", "euler")
    if method not in ("euler", "rk4"):
        problems.add(f"is {method!r}", part="method", line=root.get("method").line, allowed="euler or rk4")
    members = _num(problems, root.get("members"), "members", int, low=1, default=1)
    seed = _num(problems, root.get("seed"), "seed", int, low=0, default=0)
    sampler = data.get("sampler", "lhs")
    if sampler not in SAMPLERS:
        problems.add(
            f"is {sampler!r}", part="sampler", line=root.get("sampler").line, allowed=", ".join(SAMPLERS)
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
    # ---- curves
    if model is not None:
        assign = data.get("curves")
        define = data.get("define_curves")
        cloc, dloc = root.get("curves"), root.get("define_curves")
        if assign is not None and isinstance(assign, str):
            assign = {"all": assign}
        if assign is not None and not isinstance(assign, dict):
            problems.add("must map groups (or all) to curve names", part="curves", line=cloc.line)
            assign = None
        if define is not None and not isinstance(define, dict):
            problems.add(
                "must map curve names to generator definitions", part="define_curves", line=dloc.line
            )
            define = None
        if (assign or define) and getattr(model, "tables", None) is None:
            problems.add("the model has no scenario curves", part="curves", line=(cloc or dloc).line)
        elif assign or define:
            from simulator.surge._curves import CurveError, generate

            for name, d in (define or {}).items():
                try:
                    generate(d, months or model.spec.horizon)
                except CurveError as err:
                    problems.add(str(err), part=f"define_curves.{name}", line=dloc.children[name].line)
            if not problems.errors:
                try:
                    model = model.with_curves(
                        {str(k): str(v) for k, v in (assign or {}).items()}, define or {}, months
                    )
                except KeyError as err:
                    problems.add(str(err.args[0]), part="curves", line=cloc.line if cloc else None)
    # ---- services
    services = data.get("services") or []
    sloc = root.get("services")
    if not isinstance(services, list):
        problems.add("must be a list of service names", part="services", line=sloc.line)
        services = []
    elif model is not None and "service" in model.spec.dims:
        known = set(model.spec.dims["service"])
        for s in services:
            if s not in known:
                problems.add(f"service {s!r} is not in the model", part="services", line=sloc.line)
    # ---- uncertainty
    groups = _groups(root.get("uncertainty"), problems)
    if model is not None and groups and not problems.errors:
        try:
            Design(model.spec, groups)
        except ValueError as err:
            for msg in str(err).split("; "):
                name = msg.split(":")[0]
                idx = next((i for i, g in enumerate(groups) if g.name == name), None)
                line = root.get("uncertainty").items()[idx].line if idx is not None else None
                problems.add(msg, part=f"uncertainty[{idx}]" if idx is not None else "uncertainty", line=line)
    problems.raise_if_errors()
    assert model is not None
    return Scenario(
        name=str(data.get("name") or p.stem),
        model=model,
        months=months or model.spec.horizon,
        dt=float(dt) if dt is not None else float((model.spec.meta.get("clock") or {}).get("dt", 1.0)),
        method=method,
        members=members,
        seed=seed,
        sampler=sampler,
        groups=groups,
        quantiles=quantiles,
        services=list(services),
        description=str(data.get("description", "")),
        path=p,
        extra={k: data[k] for k in ("interventions", "packages", "capacity") if k in data},
    )


def _groups(loc: Located | None, problems: Problems) -> list[UncertaintyGroup]:
    if loc is None:
        return []
    if not isinstance(loc.value, list):
        problems.add("must be a list of uncertain parameter groups", part="uncertainty", line=loc.line)
        return []
    out = []
    for i, item in enumerate(loc.items()):
        where = f"uncertainty[{i}]"
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
