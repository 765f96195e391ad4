"""Interventions: levers that change a model's parameters over time, and packages of them.

An intervention file (``scenarios/interventions/*.yaml``)::

    upstream: intervention
    name: Debt advice for the newly unemployed
    tier: upstream                   # upstream | midstream | downstream
    lever: conversion                # see LEVERS
    scope: {group: [Newly unemployed], condition: [Anxiety, Depression]}
    effect:
      type: relative                 # relative: value x (1 + effect); absolute: value + effect
      distribution: {type: triangular, low: -0.3, mode: -0.15, high: 0}
      source: "illustrative assumption: ..."
    coverage: 0.3                    # share of the target reached (a number or a distribution)
    timing: {start: 3, ramp: 6, end: null}   # months; linear ramp to full effect
    cost: {fixed_per_month: 25000, per_person: 150, reach: population}   # pounds

At time ``t`` the lever's parameter elements in scope become
``base x (1 + effect x coverage x ramp(t))`` (relative) or
``base + effect x coverage x ramp(t)`` (absolute), where ``ramp`` is 0 before
``start``, rises linearly to 1 over ``ramp`` months and drops to 0 after
``end``.  Effect and coverage may be uncertain: each member draws them (keyed
by the intervention's name, so a package and its parts share draws).
Overlapping effects on one parameter **combine multiplicatively**
(relative effects multiply; absolute effects then add); results are clipped to
the parameter's allowed range.

Levers of surge models:

================  ============================  ==================================================
lever             parameter                     scope
================  ============================  ==================================================
exposure          ``pcnt`` (% of group at risk) group
conversion        ``g2c_pcnt`` (condition rate) group, condition
diversion         ``split`` (service weights)   group, condition; ``from`` and ``to`` services:
                                                moves a share (the effect, 0..1) of the ``from``
                                                weights to the ``to`` services
access            ``treat_pcnt``                service
effectiveness     ``success``                   service
length_of_stay    ``months`` (discharge time)   service
capacity          ``extra_capacity`` (starts    service (capacity models): extra treatment starts
                  per month)                    per month, ``type: absolute``; costed per added
                                                start by default
parameter         any parameter (``parameter``) its dimensions (any model, incl. imported ones)
================  ============================  ==================================================

Costs: ``fixed_per_month`` while active within the horizon, plus ``per_person``
x people reached, where ``reach`` is ``population`` (coverage x the scoped
groups' at-risk population: size x pcnt, once), ``referrals`` / ``starts``
(coverage x ramp x the monthly referrals or treatment starts in scope), or
``added_starts`` (treatment starts in scope above the same member's baseline:
the way to cost extra capacity).

Read here; the data they describe live in :mod:`simulator.analysis._appraisal_levers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

from simulator.analysis._appraisal_levers import (
    DEFAULT_REACH,
    LEVERS,
    REACH,
    TIERS,
    Intervention,
    Package,
    ramp,
)
from simulator.analysis._distributions import Distribution, DistributionError, distribution_from_dict
from simulator.core._problems import InputError, Problems
from simulator.files._targeting import LEVER_DIMS, read_allocation
from simulator.files._yaml import load_with_lines

__all__ = [
    "LEVERS",
    "TIERS",
    "Intervention",
    "Package",
    "load_intervention",
    "load_package",
    "ramp",
]

_KNOWN = {"upstream", "name", "description", "tier", "lever", "parameter", "scope", "from", "to", "effect"}
_KNOWN |= {"coverage", "timing", "cost", "allocation"}
_Line = Callable[[str], "int | None"]


def _labels(v: object) -> tuple[str, ...]:
    if isinstance(v, list | tuple):
        return tuple(str(x) for x in v)
    return (str(v),)


def _number_or_dist(v: object, problems: Problems, part: str, line: int | None, low: float, high: float):
    """A number or a distribution within ``low .. high`` (a distribution's whole support)."""
    allowed = f"a number from {low:g} to {high:g}, or a distribution within it"
    if isinstance(v, Mapping):
        try:
            dist = distribution_from_dict(v)
        except DistributionError as err:
            problems.add(str(err), part=part, line=line)
            return None
        lo, hi = dist.support()
        if low <= lo <= hi <= high:
            return dist
        v, why = dist.describe(), f"reaching {lo:g} to {hi:g}, outside {low:g} to {high:g}"
    elif isinstance(v, bool) or not isinstance(v, int | float):
        problems.add(f"is {v!r}", part=part, line=line, allowed="a number or a distribution")
        return None
    elif low <= v <= high:
        return float(v)
    else:  # NaN too
        why = f"below {low:g}" if v < low else f"above {high:g}" if v > high else "not a number"
    problems.add(f"is {v}, {why}", part=part, line=line, allowed=allowed)
    return None


def _read(p: Path, problems: Problems, own: bool):
    """The file's located YAML tree and its mapping, or ``None`` (a problem added) if it is not one."""
    try:
        root = load_with_lines(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        problems.add(f"cannot read: {err}")
        if own:
            problems.raise_if_errors()
        return None
    d = root.value if isinstance(root.value, dict) else {}
    if d.get("upstream") != "intervention":
        problems.add(
            "not an intervention file", line=1, allowed="a mapping starting 'upstream: intervention'"
        )
        if own:
            problems.raise_if_errors()
        return None
    return root, d


def _header(d: dict, line: _Line, problems: Problems) -> tuple[object, object, object]:
    """Unknown fields, and the name, tier and lever."""
    for k in d:
        if k not in _KNOWN:
            problems.add(f"unknown field {k!r}", part=k, line=line(k), allowed=", ".join(sorted(_KNOWN)))
    name = d.get("name")
    if not name:
        problems.add("is missing", part="name", allowed="a name")
    tier = d.get("tier", "upstream")
    if tier not in TIERS:
        problems.add(f"is {tier!r}", part="tier", line=line("tier"), allowed=", ".join(TIERS))
    lever = d.get("lever")
    if lever not in LEVERS:
        problems.add(f"is {lever!r}", part="lever", line=line("lever"), allowed=", ".join(LEVERS))
    if lever == "parameter" and not d.get("parameter"):
        problems.add(
            "is missing (lever: parameter names the parameter)", part="parameter", line=line("lever")
        )
    return name, tier, lever


def _scope(d: dict, lever: object, line: _Line, problems: Problems):
    """The scope (dimension -> labels), and a diversion's from- and to-services."""
    scope = d.get("scope") or {}
    if not isinstance(scope, Mapping):
        problems.add("must map dimensions to labels", part="scope", line=line("scope"))
        scope = {}
    scope = {str(k): _labels(v) for k, v in scope.items()}
    if lever in LEVERS and lever != "parameter":
        for k in scope:
            if k not in LEVERS[lever][1] and k in LEVER_DIMS:  # type: ignore[index]  # others: strata
                dims = ", ".join(LEVERS[lever][1])  # type: ignore[index]
                problems.add(f"{lever} scopes {dims}, not {k!r}", part="scope", line=line("scope"))
    divert_from = _labels(d["from"]) if "from" in d else ()
    divert_to = _labels(d["to"]) if "to" in d else ()
    if lever == "diversion" and (not divert_from or not divert_to):
        problems.add("diversion needs 'from' and 'to' services", part="lever", line=line("lever"))
    return scope, divert_from, divert_to


def _effect_type(eff: Mapping, lever: object, line: _Line, problems: Problems) -> str:
    """The effect's type, checked against the lever."""
    etype = eff.get("type", "relative")
    if etype not in ("relative", "absolute"):
        problems.add(f"type is {etype!r}", part="effect", line=line("effect"), allowed="relative or absolute")
    if lever == "diversion" and etype != "relative":
        problems.add("a diversion moves a share: use type relative", part="effect", line=line("effect"))
    if lever == "capacity" and etype != "absolute":
        problems.add(
            "capacity adds starts per month to a service: use type absolute",
            part="effect",
            line=line("effect"),
            allowed="type: absolute",
        )
    return etype


def _effect(d: dict, lever: object, line: _Line, problems: Problems):
    """The effect's distribution, type and source."""
    eff = d.get("effect")
    effect: Distribution | None = None
    if not isinstance(eff, Mapping):
        problems.add("is missing", part="effect", allowed="type, distribution and source")
        return effect, "relative", ""
    etype = _effect_type(eff, lever, line, problems)
    source = str(eff.get("source") or "")
    if not source:
        problems.add(
            "'source' is missing",
            part="effect",
            line=line("effect"),
            allowed="the evidence, or 'illustrative assumption: ...'",
        )
    if "distribution" not in eff:
        problems.add("'distribution' is missing", part="effect", line=line("effect"))
    else:
        try:
            effect = distribution_from_dict(eff["distribution"])
        except DistributionError as err:
            problems.add(str(err), part="effect.distribution", line=line("effect"))
    if effect is not None and lever == "diversion":
        lo, hi = effect.support()
        if lo < 0 or hi > 1:
            problems.add(
                "a diversion's share must lie in 0..1", part="effect.distribution", line=line("effect")
            )
    return effect, etype, source


def _timing(d: dict, line: _Line, problems: Problems) -> tuple[float, float, object]:
    """Start, ramp (months) and end (a month, or None)."""
    timing = d.get("timing") or {}
    start = float(timing.get("start", 0) or 0)
    ramp_m = float(timing.get("ramp", 0) or 0)
    end = timing.get("end")
    if start < 0 or ramp_m < 0 or (end is not None and float(end) <= start):
        ok = "start >= 0, ramp >= 0, end after start (or none)"
        problems.add(
            f"start {start}, ramp {ramp_m}, end {end}", part="timing", line=line("timing"), allowed=ok
        )
    return start, ramp_m, end


def _cost(d: dict, lever: object, line: _Line, problems: Problems) -> tuple[object, object, object]:
    """Fixed cost per month and cost per person (pounds), and the reach costed per person."""
    cost = d.get("cost") or {}
    fixed = cost.get("fixed_per_month", 0) or 0
    per = cost.get("per_person", 0) or 0
    reach = cost.get("reach", DEFAULT_REACH.get(str(lever), "population"))
    for k, v in (("fixed_per_month", fixed), ("per_person", per)):
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            problems.add(
                f"{k} is {v!r}", part="cost", line=line("cost"), allowed="a number of pounds, at least 0"
            )
    if reach not in REACH:
        problems.add(f"reach is {reach!r}", part="cost", line=line("cost"), allowed=", ".join(REACH))
    return fixed, per, reach


def load_intervention(path: str | Path, problems: Problems | None = None) -> Intervention | None:
    """Read and check an intervention file; problems name the field and line.

    Parameters
    ----------
    path
        The ``upstream: intervention`` YAML file.
    problems
        Where to add problems (default: raise :class:`~simulator.core.InputError` listing them).

    Returns
    -------
    Intervention or None
        The intervention, or ``None`` if ``problems`` was given and has errors.
    """
    p = Path(path)
    own = problems is None
    problems = problems or Problems(file=p.name, part_kind="field")
    read = _read(p, problems, own)
    if read is None:
        return None
    root, d = read

    def line(key: str) -> int | None:
        loc = root.get(key)
        return loc.line if loc else None

    name, tier, lever = _header(d, line, problems)
    scope, divert_from, divert_to = _scope(d, lever, line, problems)
    effect, etype, source = _effect(d, lever, line, problems)
    coverage = _number_or_dist(d.get("coverage", 1.0), problems, "coverage", line("coverage"), 0.0, 1.0)
    start, ramp_m, end = _timing(d, line, problems)
    fixed, per, reach = _cost(d, lever, line, problems)
    allocation = read_allocation(d, line, problems)
    if problems.errors:
        if own:
            problems.raise_if_errors()
        return None
    assert effect is not None and coverage is not None
    return Intervention(
        name=str(name),
        lever=str(lever),
        effect=effect,
        effect_type=etype,
        tier=str(tier),
        description=str(d.get("description", "")),
        scope=scope,
        parameter=d.get("parameter"),
        divert_from=divert_from,
        divert_to=divert_to,
        coverage=coverage,
        start=start,
        ramp_months=ramp_m,
        end=None if end is None else float(end),  # type: ignore[arg-type]
        fixed_per_month=float(fixed),  # type: ignore[arg-type]
        per_person=float(per),  # type: ignore[arg-type]
        reach=str(reach),
        source=source,
        path=p,
        allocation=allocation,
    )


def _find(name: str, dirs: Sequence[Path]) -> Path | None:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    for d in dirs:
        for cand in (d / f"{name}.yaml", d / name):
            if cand.exists() and cand.is_file():
                return cand
    return None


def load_package(ref: str | Path, base: Path | None = None) -> Package:
    """A package by file path or name (looked up in ``scenarios/packages`` and ``scenarios/interventions``).

    Parameters
    ----------
    ref
        A ``.yaml`` path, or the name of a package or intervention file.
    base
        Directory names are looked up from (and its ``scenarios/``; default the working directory).

    Returns
    -------
    Package
        The package; a single intervention file is a package of one.

    Raises
    ------
    InputError
        Listing every problem of the package and its interventions.
    """
    base = base or Path.cwd()
    roots = [base, base / "scenarios", Path(__file__).resolve().parents[2] / "scenarios"]
    pkg_dirs = [r / "packages" for r in roots] + [r for r in roots]
    iv_dirs = [r / "interventions" for r in roots] + [r for r in roots]
    path = _find(str(ref), pkg_dirs + iv_dirs)
    problems = Problems(file=str(ref), part_kind="field")
    if path is None:
        problems.add(
            f"no package or intervention called {str(ref)!r}",
            allowed="a .yaml path, or a name in scenarios/packages or scenarios/interventions",
        )
        problems.raise_if_errors()
    assert path is not None
    problems.file = path.name
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if data.get("upstream") == "intervention":
        iv = load_intervention(path)
        assert iv is not None
        return Package(iv.name, (iv,), iv.description)
    if data.get("upstream") != "package":
        problems.add("not a package or intervention file", line=1, allowed="upstream: package | intervention")
        problems.raise_if_errors()
    items = data.get("interventions") or []
    if not isinstance(items, list) or not items:
        problems.add("needs a list of interventions", part="interventions")
        problems.raise_if_errors()
    ivs = []
    all_problems = Problems(file=path.name, part_kind="field")
    for item in items:
        ip = _find(str(item), [path.parent.parent / "interventions", path.parent, *iv_dirs])
        if ip is None:
            all_problems.add(f"intervention {item!r} not found", part="interventions")
            continue
        sub = Problems(file=ip.name, part_kind="field")
        iv = load_intervention(ip, sub)
        all_problems.items.extend(sub.items)
        if iv is not None:
            ivs.append(iv)
    names = [i.name for i in ivs]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        all_problems.add(f"intervention {dup!r} is listed twice", part="interventions")
    if all_problems.errors:
        raise InputError(all_problems.errors, all_problems.warnings)
    return Package(str(data.get("name") or path.stem), tuple(ivs), str(data.get("description", "")))
