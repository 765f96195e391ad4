"""Structural checks of a model spec: every problem, listed in words, before compiling.

:func:`spec_problems` runs the checks in order (names, dimensions, parameters,
series, flows, fraction chains, unknown names in formulas) and lists what each
finds; :meth:`simulator.core._spec.ModelSpec.check` calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from simulator.core._formulas import Expr, refs
from simulator.core._spec_parts import RESERVED, Aux, Flow, Output, Param, Series, Stock

__all__ = ["spec_problems"]


def _name_problems(groups: Sequence[tuple[str, Sequence]], problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for kind, items in groups:
        for it in items:
            if not it.name.isidentifier():
                problems.append(f"{kind} name {it.name!r} is not an identifier (letters, digits, _)")
            if it.name in RESERVED:
                problems.append(f"{kind} name {it.name!r} is reserved")
            if it.name in seen:
                problems.append(f"name {it.name!r} is used by a {seen[it.name]} and a {kind}")
            seen[it.name] = kind


def _dimension_problems(dims: Mapping[str, Sequence[str]], items: Sequence, problems: list[str]) -> None:
    for it in items:
        space = getattr(it, "space", None)
        if space is None:
            continue
        for d in space.dims:
            if d not in dims:
                problems.append(f"{it.name}: unknown dimension {d!r}")
                continue
            allowed = set(dims[d])
            bad = sorted({lab for lab in space.labels(d) if lab not in allowed})
            if bad:
                problems.append(f"{it.name}: labels {bad} are not in dimension {d!r}")


def _value_problems(params: Sequence[Param], series: Sequence[Series], problems: list[str]) -> None:
    for p in params:
        if p.values.shape != (len(p.space),):
            problems.append(f"parameter {p.name}: {p.values.size} values for {len(p.space)} elements")
        elif not np.all(np.isfinite(p.values)):
            problems.append(f"parameter {p.name}: values must be finite numbers")
        lo, hi = p.bounds
        if lo is not None and np.any(p.values < lo):
            problems.append(f"parameter {p.name}: values below the allowed minimum {lo}")
        if hi is not None and np.any(p.values > hi):
            problems.append(f"parameter {p.name}: values above the allowed maximum {hi}")
    for s in series:
        if s.times.size == 0 or np.any(np.diff(s.times) <= 0):
            problems.append(f"series {s.name}: times must be strictly increasing")
        if s.kind not in ("linear", "step"):
            problems.append(f"series {s.name}: kind {s.kind!r} is not linear or step")
        if not np.all(np.isfinite(s.values)):
            problems.append(f"series {s.name}: values must be finite numbers")


def _flow_problems(f: Flow, stocks: set[str], flows: Mapping[str, Flow], problems: list[str]) -> None:
    if f.kind not in ("inflow", "outflow", "fraction"):
        problems.append(f"flow {f.name}: kind {f.kind!r} is not inflow, outflow or fraction")
        return
    for role in ("source", "target"):
        v = getattr(f, role)
        if v is not None and v not in stocks:
            problems.append(f"flow {f.name}: {role} {v!r} is not a stock")
    for stock, _, _ in f.tally:
        if stock not in stocks:
            problems.append(f"flow {f.name}: tally {stock!r} is not a stock")
    if f.kind == "inflow" and f.source is not None:
        problems.append(f"flow {f.name}: an inflow comes from outside and has no source")
    if f.kind == "outflow" and f.source is None and f.of is None:
        problems.append(f"flow {f.name}: an outflow needs the source stock it is proportional to")
    if f.kind == "outflow" and f.of is not None and f.of not in stocks:
        problems.append(f"flow {f.name}: of {f.of!r} is not a stock")
    if f.kind == "fraction":
        if f.of not in flows:
            problems.append(f"flow {f.name}: a fraction flow needs of= another flow")
        elif f.of == f.name:
            problems.append(f"flow {f.name}: is a fraction of itself")
    if f.kind == "inflow" and f.target is None and f.moves:
        problems.append(f"flow {f.name}: an inflow needs a target stock")


def _chain_problems(flows: Sequence[Flow], by_name: Mapping[str, Flow], problems: list[str]) -> None:
    """Fraction chains must end."""
    for f in flows:
        chain, g = [f.name], f
        while g.kind == "fraction" and g.of is not None and g.of in by_name:
            g = by_name[g.of]
            if g.name in chain:
                problems.append(f"flows {' -> '.join([*chain, g.name])} form a cycle")
                break
            chain.append(g.name)


def _reference_problems(
    dims: Mapping[str, Sequence[str]],
    known: set[str],
    formulas: Sequence[tuple[str, Expr]],
    problems: list[str],
) -> None:
    for owner, e in formulas:
        for r in sorted(set(refs(e)) - known):
            if r in dims:
                continue
            problems.append(f"{owner}: unknown name {r!r}")


def spec_problems(
    dims: Mapping[str, Sequence[str]],
    stocks: Sequence[Stock],
    flows: Sequence[Flow],
    params: Sequence[Param],
    series: Sequence[Series],
    auxes: Sequence[Aux],
    outputs: Sequence[Output],
) -> list[str]:
    """Every structural problem of a spec's pieces.

    Parameters
    ----------
    dims
        Labels of each dimension.
    stocks, flows, params, series, auxes, outputs
        The pieces of the spec.

    Returns
    -------
    list of str
        Unknown names, clashing dimensions, cycles, bad kinds, in words (empty: none).
    """
    problems: list[str] = []
    _name_problems(
        (
            ("stock", stocks),
            ("flow", flows),
            ("parameter", params),
            ("series", series),
            ("derived value", auxes),
            ("output", outputs),
        ),
        problems,
    )
    _dimension_problems(dims, (*stocks, *params, *series, *flows, *auxes), problems)
    _value_problems(params, series, problems)
    stock_names = {s.name for s in stocks}
    by_name = {f.name: f for f in flows}
    for f in flows:
        _flow_problems(f, stock_names, by_name, problems)
    _chain_problems(flows, by_name, problems)
    known = stock_names | set(by_name) | {p.name for p in params} | {s.name for s in series}
    known |= {a.name for a in auxes} | {o.name for o in outputs} | RESERVED
    formulas = (
        *((f"flow {f.name}", f.rate) for f in flows),
        *((f"derived value {a.name}", a.expr) for a in auxes),
        *((f"output {o.name}", o.expr) for o in outputs),
        *((f"stock {s.name} initial", s.initial) for s in stocks if isinstance(s.initial, Expr)),
    )
    _reference_problems(dims, known, formulas, problems)
    return problems
