"""Strata declarations in model files: the ``strata`` entry of a YAML model, or a strata file.

Layout (a list; one entry per stratifying dimension)::

    strata:
      - name: deprivation                 # the new dimension's name
        label: IMD 2019 quintile (Q1 = most deprived 20% of LSOAs)
        ordered: true
        categories: [Q1 most deprived, Q2, Q3, Q4, Q5 least deprived]
        population: size                  # people per group (surge models: size, the default)
        targets: [pcnt, g2c_pcnt]         # parameters given the dimension (multiplier 1) so that
                                          # interventions can act by stratum (surge default: the levers)
        shares:                           # each row sums to 1
          source: ONS mid-2019 LSOA populations by IMD 2019 quintile
          all: [0.2, 0.2, 0.2, 0.2, 0.2]  # every group not listed
          Older adults: [0.17, 0.19, 0.21, 0.22, 0.21]
        multipliers:
          - parameter: g2c_pcnt
            values: [1.4, 1.2, 1.0, 0.9, 0.8]
            source: NHS Talking Therapies referrals per head by decile, 2022-23
          - parameter: success
            values: [0.9, 0.95, 1.0, 1.02, 1.05]
            assumption: illustrative      # no published source: say so

A standalone strata file (for an imported Vensim model: ``load_model(path,
strata="strata.yaml")``) holds the same list under ``strata:``.  Every problem
is reported with its line: shares not summing to 1, unknown groups,
categories or parameters, a multiplier or share without ``source:`` or
``assumption: illustrative``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from simulator.core._problems import InputError, Problems
from simulator.core._spec import ModelSpec
from simulator.core._strata import ILLUSTRATIVE, StrataDecl, StrataError, StratumMultiplier
from simulator.core._strata_transform import stratify_all
from simulator.files._yaml import Located, load_with_lines, read_yaml_text

__all__ = [
    "SURGE_TARGETS",
    "apply_strata",
    "read_strata",
    "read_strata_file",
    "report_strata_error",
    "strata_line",
]

_KEYS = (
    "name",
    "label",
    "ordered",
    "categories",
    "population",
    "total",
    "pool_over",
    "targets",
    "shares",
    "multipliers",
)
_SOURCE_KEYS = ("source", "assumption")
#: parameters of surge models that interventions may target stratum by stratum (their levers)
SURGE_TARGETS = ("pcnt", "g2c_pcnt", "treat_pcnt", "success", "months")


def _source(loc: Located, where: str, problems: Problems, part: str) -> str:
    """``source:`` text, or the illustrative-assumption label; ``""`` if neither."""
    src = loc.get("source")
    ass = loc.get("assumption")
    text = str(src.value).strip() if src is not None and src.value is not None else ""
    if ass is not None:
        if str(ass.value).strip().lower() not in ("illustrative", ILLUSTRATIVE):
            problems.add(
                f"{where}: assumption {ass.value!r} is not known",
                part=part,
                line=ass.line,
                allowed="illustrative",
            )
        text = f"{text}; {ILLUSTRATIVE}" if text else ILLUSTRATIVE
    return text


def _numbers(
    loc: Located, where: str, cats: Sequence[str], problems: Problems, part: str
) -> tuple[float, ...]:
    """A list of numbers in category order, or a mapping category -> number."""
    vals = loc.value
    if isinstance(vals, dict):
        unknown = [k for k in vals if str(k) not in cats]
        if unknown:
            problems.add(
                f"{where}: unknown categories {unknown}", part=part, line=loc.line, allowed=", ".join(cats)
            )
            return ()
        missing = [c for c in cats if c not in {str(k) for k in vals}]
        if missing:
            problems.add(f"{where}: no value for categories {missing}", part=part, line=loc.line)
            return ()
        vals = [vals[next(k for k in vals if str(k) == c)] for c in cats]
    if not isinstance(vals, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in vals
    ):
        problems.add(
            f"{where}: must be a list of numbers (one per category) or a mapping category: number",
            part=part,
            line=loc.line,
            allowed="e.g. [0.2, 0.3, 0.5]",
        )
        return ()
    return tuple(float(v) for v in vals)


def _shares(
    loc: Located | None, name: str, cats: Sequence[str], lines: dict, problems: Problems, part: str
) -> tuple[dict, str]:
    if loc is None or not isinstance(loc.children, dict):
        problems.add(
            f"stratifier {name!r}: no shares",
            part=part,
            line=None if loc is None else loc.line,
            allowed="shares: {source: ..., all: [...], GROUP: [...]}",
        )
        return {}, ""
    lines["shares"] = loc.line
    rows = {}
    for key, child in loc.children.items():
        if key in _SOURCE_KEYS:
            continue
        lines[f"shares.{key}"] = child.line
        rows[key] = _numbers(child, f"stratifier {name!r}, shares {key!r}", cats, problems, part)
    return rows, _source(loc, f"stratifier {name!r}, shares", problems, part)


def _multipliers(
    loc: Located | None, name: str, cats: Sequence[str], lines: dict, problems: Problems, part: str
) -> tuple:
    out = []
    for i, item in enumerate(loc.items() if loc is not None else []):
        key = f"multipliers[{i}]"
        lines[key] = item.line
        par, vals = item.get("parameter"), item.get("values")
        if par is None or vals is None:
            problems.add(
                f"stratifier {name!r}, multiplier {i + 1}: needs parameter and values",
                part=part,
                line=item.line,
                allowed="parameter: NAME, values: [one per category], source: ... or assumption: illustrative",
            )
            continue
        lines[key + ".parameter"], lines[key + ".values"] = par.line, vals.line
        for k in _SOURCE_KEYS:
            if item.get(k) is not None:
                lines[key + ".source"] = item.get(k).line  # type: ignore[union-attr]
        values = _numbers(vals, f"stratifier {name!r}, multipliers on {par.value!r}", cats, problems, part)
        src = _source(item, f"stratifier {name!r}, multipliers on {par.value!r}", problems, part)
        out.append(StratumMultiplier(str(par.value), values, src))
    return tuple(out)


def _one(
    loc: Located, problems: Problems, part: str, population: str | None, targets: tuple[str, ...]
) -> StrataDecl | None:
    if not isinstance(loc.children, dict):
        problems.add("each stratifier must be a mapping", part=part, line=loc.line, allowed="name: ..., ...")
        return None
    for key in loc.children:
        if key not in _KEYS:
            problems.add(
                f"unknown key {key!r}", part=part, line=loc.children[key].line, allowed=", ".join(_KEYS)
            )
    name_loc, cats = loc.get("name"), loc.get("categories")
    if name_loc is None or cats is None or not isinstance(cats.value, list):
        problems.add(
            "a stratifier needs a name and a list of categories",
            part=part,
            line=loc.line,
            allowed="name: deprivation, categories: [Q1, Q2, ...]",
        )
        return None
    name = str(name_loc.value)
    lines = {"name": name_loc.line, "categories": cats.line, "": loc.line}
    categories = tuple(str(c) for c in cats.value)
    shares, shares_src = _shares(loc.get("shares"), name, categories, lines, problems, part)
    for key in ("population", "total", "pool_over", "targets"):
        if loc.get(key) is not None:
            lines[key] = loc.get(key).line  # type: ignore[union-attr]
    pool = loc.value.get("pool_over")
    total = loc.value.get("total")
    own_targets = loc.value.get("targets")
    if own_targets is not None and not isinstance(own_targets, list):
        problems.add(
            "targets must be a list of parameters", part=part, line=lines["targets"], allowed="[pcnt, ...]"
        )
    return StrataDecl(
        name=name,
        categories=categories,
        ordered=bool(loc.value.get("ordered", False)),
        shares=shares,
        shares_source=shares_src,
        multipliers=_multipliers(loc.get("multipliers"), name, categories, lines, problems, part),
        population=str(loc.value["population"]) if loc.value.get("population") else population,
        total=float(total) if isinstance(total, int | float) else None,
        pool_over=tuple(str(x) for x in pool) if isinstance(pool, list) else None,
        label=str(loc.value.get("label") or ""),
        targets=tuple(str(x) for x in own_targets) if isinstance(own_targets, list) else targets,
        lines=lines,
    )


def read_strata(
    loc: Located | None,
    problems: Problems,
    *,
    part: str = "strata",
    population: str | None = None,
    targets: tuple[str, ...] = (),
) -> tuple[StrataDecl, ...]:
    """The stratifiers declared under ``loc`` (a YAML list), problems recorded with their lines.

    Parameters
    ----------
    loc
        The ``strata`` entry, with lines (``None``: no strata).
    problems
        Where problems are recorded.
    part
        The name the problems give the entry (``strata``).
    population
        The parameter of people per group used when a stratifier names none (surge: ``size``).
    targets
        Parameters given the dimension when a stratifier names none (surge: :data:`SURGE_TARGETS`),
        so interventions can target strata.

    Returns
    -------
    tuple of StrataDecl
        The declarations read (checked against the model by :func:`apply_strata`).
    """
    if loc is None:
        return ()
    if not isinstance(loc.children, list):
        problems.add("strata must be a list of stratifiers", part=part, line=loc.line, allowed="- name: ...")
        return ()
    decls = [_one(item, problems, part, population, targets) for item in loc.items()]
    return tuple(d for d in decls if d is not None)


def strata_line(decl: StrataDecl, key: str) -> int | None:
    """The line (or sheet row) where part ``key`` of a declaration was written, or its nearest parent's.

    Parameters
    ----------
    decl
        A declaration read from a file.
    key
        The part, e.g. ``multipliers[1].source`` or ``shares.Older adults``.

    Returns
    -------
    int or None
        The line, if known.
    """
    while True:
        if key in decl.lines:
            return decl.lines[key]
        if not key:
            return None
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""


def apply_strata(
    spec: ModelSpec,
    decls: Sequence[StrataDecl],
    problems: Problems,
    *,
    part: str = "strata",
    rows: bool = False,
) -> ModelSpec | None:
    """``spec`` stratified by ``decls``, or ``None`` with every problem recorded at its line.

    Parameters
    ----------
    spec
        The model's spec.
    decls
        The declarations.
    problems
        Where problems are recorded.
    part
        The table, sheet or entry the declarations came from.
    rows
        Report places as sheet rows (workbooks) instead of file lines.

    Returns
    -------
    ModelSpec or None
        The stratified spec, or ``None`` if a declaration does not fit the model.
    """
    try:
        return stratify_all(spec, decls)
    except StrataError as err:
        report_strata_error(err, decls, problems, part=part, rows=rows)
        return None


def report_strata_error(
    err: StrataError,
    decls: Sequence[StrataDecl],
    problems: Problems,
    *,
    part: str = "strata",
    rows: bool = False,
) -> None:
    """Record every problem of ``err`` at the line (or sheet row) of its declaration.

    Parameters
    ----------
    err
        The error raised by :func:`simulator.core._strata_transform.stratify`.
    decls
        The declarations, as read (with their lines).
    problems
        Where problems are recorded.
    part
        The table, sheet or entry the declarations came from.
    rows
        Report places as sheet rows (workbooks) instead of file lines.
    """
    by_name = {d.name: d for d in decls}
    for p in err.items:
        d = by_name.get(p.stratifier)
        where = strata_line(d, p.key) if d is not None else None
        message = f"stratifier {p.stratifier!r}, {p.key}: {p.message}" if p.key else p.message
        if rows:
            problems.add(message, part=part, row=where, allowed=p.allowed)
        else:
            problems.add(message, part=part, line=where, allowed=p.allowed)


def read_strata_file(
    path: str | Path, population: str | None = None, targets: tuple[str, ...] = ()
) -> tuple[StrataDecl, ...]:
    """Stratifiers from a YAML file holding a ``strata:`` list.

    Parameters
    ----------
    path
        The file.
    population
        The parameter of people per group used when a stratifier names none.
    targets
        Parameters given the dimension when a stratifier names none.

    Returns
    -------
    tuple of StrataDecl
        The declarations.

    Raises
    ------
    InputError
        Naming the line of every problem of the file's layout.
    """
    p = Path(path)
    problems = Problems(file=p.name, part_kind="entry")
    try:
        root = load_with_lines(read_yaml_text(p))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        problems.add(f"cannot read the strata file: {err}", allowed="a YAML file with a strata: list")
        raise InputError(problems.errors, problems.warnings) from None
    loc = root.get("strata") if isinstance(root.value, dict) else None
    if loc is None:
        problems.add("the file has no 'strata' list", line=root.line, allowed="strata: [- name: ...]")
    decls = read_strata(loc, problems, population=population, targets=targets)
    if problems.errors:
        raise InputError(problems.errors, problems.warnings)
    return decls
