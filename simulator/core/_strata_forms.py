"""Models that say how they stratify: per-stratum parts, their own formulas, pooled sums.

A model's ``meta`` may tell :func:`simulator.core._strata_transform.stratify` more than
the default rules (stocks with a ``group`` dimension get the stratum; sums over
``group`` pool the strata).  A capacity model gives each stratum its own waiting list
and wait bands while the service's capacity stays shared, so it declares:

``strata_stocks``
    stocks without a group dimension that are divided by the strata too (the
    background waiting list and caseload, the wait bands);
``strata_pool``
    the dimensions whose sums also run over the strata (``()``: none; default ``group``);
``strata_forms``
    derived values computed by another formula once the model is stratified, written
    with the placeholder dimension :data:`STRATA` (``sum(can_start, over=strata)``: the
    sum over every stratum).  Each form equals the value's own formula when there is
    one stratum; the first stratifier replaces the placeholder by its dimension and
    later stratifiers extend those sums (the dimension is recorded in
    ``strata_pooled_dims``);
``strata_params``
    parameters only the forms read (added with them; a capacity model's ``start_access``);
``strata_shared``
    parameters shared by every stratum, which take no multiplier (a service's capacity);
``strata_split``
    derived values of people per month whose terms that do not come from stratified
    people are divided by the shares, as an inflow's are (background arrivals);
``strata_leaving``
    ``{"rates": ((rate, band multiplier), ...), "dt": months}``: rates whose sum over
    the pairs, times ``dt``, must stay at most 1 in every stratum and band (people
    cannot leave a waiting list faster than it holds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from simulator.core._formulas import Assemble, Binary, Call, Expr, IfElse, Take, Unary, parse, refs
from simulator.core._spec import ModelSpec
from simulator.core._strata import StrataDecl, StrataProblem

__all__ = [
    "STRATA",
    "extra_stocks",
    "leaving_problems",
    "params_divide",
    "pool_dims",
    "shared_problems",
    "split_auxes",
    "with_forms",
    "without_effect",
]

#: placeholder dimension of a form's sums over every stratum
STRATA = "strata"


def _meta(spec: ModelSpec) -> Mapping:
    return spec.meta if isinstance(spec.meta, dict) else dict(spec.meta)


def _placed(e: Expr, dim: str) -> Expr:
    """``e`` with the placeholder :data:`STRATA` in aggregates replaced by ``dim``."""
    if isinstance(e, Call):
        over = None if e.over is None else tuple(dim if o == STRATA else o for o in e.over)
        return Call(e.fn, tuple(_placed(a, dim) for a in e.args), over)
    if isinstance(e, Binary):
        return Binary(e.op, _placed(e.a, dim), _placed(e.b, dim))
    if isinstance(e, Unary):
        return Unary(e.op, _placed(e.a, dim))
    if isinstance(e, IfElse):
        return IfElse(_placed(e.cond, dim), _placed(e.a, dim), _placed(e.b, dim))
    if isinstance(e, Take):
        return Take(_placed(e.a, dim), e.dim, e.labels, e.to, e.relabel)
    if isinstance(e, Assemble):
        return Assemble(tuple(_placed(p, dim) for p in e.parts), e.spaces)
    return e


def with_forms(spec: ModelSpec, d: StrataDecl) -> ModelSpec:
    """``spec`` with its ``strata_forms`` in place (first stratifier only), the dimension recorded.

    Parameters
    ----------
    spec
        The spec about to be stratified by ``d``.
    d
        The declaration.

    Returns
    -------
    ModelSpec
        The same spec if it declares no forms; else its derived values replaced by their
        forms (the placeholder read as ``d.name``) and ``d.name`` added to ``strata_pooled_dims``.
    """
    meta = dict(_meta(spec))
    forms = meta.pop("strata_forms", None)
    extra = tuple(meta.pop("strata_params", ()))
    if not forms and "strata_pooled_dims" not in meta:
        return spec
    meta["strata_pooled_dims"] = (*meta.get("strata_pooled_dims", ()), d.name)
    auxes = spec.auxes
    if forms:
        auxes = tuple(
            replace(a, expr=_placed(parse(forms[a.name]), d.name)) if a.name in forms else a for a in auxes
        )
    return replace(spec, params=(*spec.params, *extra), auxes=auxes, meta=meta)


def pool_dims(spec: ModelSpec, d: StrataDecl, has_groups: bool) -> set[str]:
    """Dimensions whose aggregates also run over the new stratum.

    Parameters
    ----------
    spec
        The spec (after :func:`with_forms`).
    d
        The declaration (its ``pool_over``, if given, wins over the model's ``strata_pool``).
    has_groups
        Whether the model has the declaration's group dimension.

    Returns
    -------
    set of str
        The pooled dimensions, with the earlier strata of a model with forms.
    """
    meta = _meta(spec)
    if d.pool_over is not None:
        pool = set(d.pool_over)
    elif "strata_pool" in meta:
        pool = set(meta["strata_pool"])
    else:
        pool = {d.group_dim} if has_groups else set()
    return pool | (set(meta.get("strata_pooled_dims", ())) - {d.name})


def shared_problems(spec: ModelSpec, d: StrataDecl) -> list[StrataProblem]:
    """Multipliers on parameters the model shares across strata (``strata_shared``: a service's capacity).

    Parameters
    ----------
    spec
        The spec about to be stratified.
    d
        The declaration.

    Returns
    -------
    list of StrataProblem
        One per multiplier on a shared parameter.
    """
    shared = tuple(_meta(spec).get("strata_shared", ()))
    return [
        StrataProblem(
            d.name,
            f"multipliers[{i}].parameter",
            f"the multipliers on {m.param!r} cannot apply: the model shares it across strata "
            "(a service's capacity serves every stratum)",
            "a parameter of the stratified stocks and flows, not " + ", ".join(shared),
        )
        for i, m in enumerate(d.multipliers)
        if m.param in shared
    ]


def params_divide(spec: ModelSpec) -> bool:
    """Whether a derived value reading a multiplied value is divided by the strata (models with forms)."""
    return "strata_pooled_dims" in _meta(spec)


def extra_stocks(spec: ModelSpec) -> set[str]:
    """Stocks the model asks to stratify although they have no group dimension."""
    return set(_meta(spec).get("strata_stocks", ()))


def split_auxes(spec: ModelSpec) -> set[str]:
    """Derived values whose terms from outside the stratified people are divided by the shares."""
    return set(_meta(spec).get("strata_split", ()))


def _labelled(spec: ModelSpec, name: str) -> list[tuple[dict[str, str], float]]:
    p = spec.param(name)
    return [(dict(zip(p.space.dims, c)), float(v)) for c, v in zip(p.space.coords, p.values)]


def _at(items: list[tuple[dict[str, str], float]], labels: dict[str, str]) -> float:
    """The value of the element whose labels agree with ``labels`` on every dimension it has."""
    for lab, v in items:
        if all(labels.get(k, x) == x for k, x in lab.items()):
            return v
    return 0.0


def leaving_problems(spec: ModelSpec, d: StrataDecl) -> list[StrataProblem]:
    """Strata whose leaving rates (``strata_leaving``) add to more than 1 per step.

    Parameters
    ----------
    spec
        The stratified spec.
    d
        The declaration just applied.

    Returns
    -------
    list of StrataProblem
        One per service and category over the limit (placed at the first multiplier on a rate).
    """
    rule = _meta(spec).get("strata_leaving")
    if not rule:
        return []
    pairs, dt = tuple(rule["rates"]), float(rule.get("dt", 1.0))
    rates = [_labelled(spec, r) for r, _ in pairs]
    bands = [_labelled(spec, m) for _, m in pairs]
    elements = max(rates, key=lambda items: len(items[0][0]) if items else 0)
    stage_labels = [lab for lab, _ in bands[0]]
    names = [r for r, _ in pairs]
    at = next((i for i, m in enumerate(d.multipliers) if m.param in names), None)
    if at is None:
        return []
    out: list[StrataProblem] = []
    for labels, _ in elements:
        totals = [
            sum(_at(r, labels) * _at(b, {**labels, **st}) for r, b in zip(rates, bands)) * dt
            for st in stage_labels
        ]
        worst = int(np.argmax(totals))
        if totals[worst] <= 1.0 + 1e-12:
            continue
        where = ", ".join(f"{k} {v!r}" for k, v in labels.items())
        band = ", ".join(repr(v) for v in stage_labels[worst].values())
        out.append(
            StrataProblem(
                d.name,
                f"multipliers[{at}].values",
                f"{' + '.join(names)} (x the stratum's multipliers and the wait band's) add to "
                f"{totals[worst]:.4g} per step of {dt:g} month for {where} in wait band {band}, more than 1: "
                "more people would leave that stratum's waiting list in a step than are on it",
                "multipliers keeping escalation + drop-out rate x dt at most 1 in every stratum",
            )
        )
    return out


def without_effect(spec: ModelSpec, d: StrataDecl) -> list[StrataProblem]:
    """Multipliers on parameters that only unstratified parts of the model read (they would change nothing)."""
    used: set[str] = set()
    todo = [r for f in spec.flows for r in refs(f.rate)] + [r for o in spec.outputs for r in refs(o.expr)]
    todo += [r for s in spec.stocks if not isinstance(s.initial, int | float) for r in refs(s.initial)]
    auxes = {a.name: a for a in spec.auxes}
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            if name in auxes:
                todo.extend(refs(auxes[name].expr))
    return [
        StrataProblem(
            d.name,
            f"multipliers[{i}].parameter",
            f"the multipliers on {m.param!r} would change nothing: only parts of the model that are not "
            f"divided by {d.name} use it (e.g. a capacity model's shared capacity)",
            "a parameter of the stratified stocks and flows",
        )
        for i, m in enumerate(d.multipliers)
        if m.param not in used
    ]
