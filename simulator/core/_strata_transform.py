"""Compile a strata declaration into a model spec: one more dimension, the same engine.

:func:`stratify` takes any :class:`~simulator.core._spec.ModelSpec` and a
:class:`~simulator.core._strata.StrataDecl` and returns a spec in which

* every stock and flow gains the stratifier's dimension ``D`` (each element is
  replicated once per category);
* people are divided by the shares: each inflow's rate and each stock's initial
  value is multiplied by the share of its group in the category (parameter
  ``D_share`` on ``(group, D)``; stocks and flows without a group dimension use
  the population-weighted share ``D_share_all`` on ``(D,)``), so the strata add up
  to the unstratified model's people;
* each named parameter gains ``D`` and is multiplied by its category's multiplier;
* a sum (or other aggregate) over a pooled dimension (``group`` by default) of
  something that carries ``D`` also sums over ``D``;
* derived values that depend on anything stratified gain ``D``.

A model can say more in its metadata (:mod:`simulator.core._strata_forms`): a
capacity model divides its wait bands and background lists too, pools nothing
over groups, and computes its capacity sharing by its own formulas (a waiting
list per service and stratum, the capacity shared).

With every multiplier 1 the model is linear in the shares, so the sum over
strata equals the unstratified model (to rounding) for models whose only
non-linear terms act on pooled sums, as the surge model's do; a capacity model's
per-stratum waiting lists add up to its single lists when every group has the same
shares (see :mod:`simulator.surge._capacity_strata`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from simulator.core._formulas import Binary, Expr, Ref, Unary, as_expr, refs
from simulator.core._spaces import Space
from simulator.core._spec import Aux, Flow, ModelSpec, Output, Param, Stock
from simulator.core._strata import (
    ALL_GROUPS,
    StrataDecl,
    StrataError,
    StrataProblem,
    Stratifier,
    StratumMultiplier,
    decl_problems,
)
from simulator.core._strata_forms import (
    extra_stocks,
    leaving_problems,
    params_divide,
    pool_dims,
    shared_problems,
    split_auxes,
    with_forms,
    without_effect,
)
from simulator.core._strata_rewrite import BASE_SUFFIX, Rewriter, renamed

__all__ = ["strata_of", "stratify", "stratify_all"]


def _times(space: Space, dim: str, cats: Sequence[str]) -> Space:
    """``space`` x the stratum dimension (stratum varies fastest)."""
    return Space((*space.dims, dim), tuple((*c, k) for c in space.coords for k in cats))


def _share_params(d: StrataDecl, spec: ModelSpec) -> tuple[Param, Param, np.ndarray]:
    """``D_share`` on (group, D), ``D_share_all`` on (D,) and the people per category."""
    cats = d.categories
    groups = tuple(spec.dims.get(d.group_dim, ()))
    rows = np.array([d.shares.get(g, d.shares.get(ALL_GROUPS, ())) for g in groups], dtype=float)
    rows = rows.reshape(len(groups), len(cats))
    rows = rows / rows.sum(axis=1, keepdims=True)  # rounded shares (within 1e-6 of 1) made to add up exactly
    pop_g = _group_population(d, spec, groups)
    if pop_g is not None and pop_g.sum() > 0:
        people = pop_g @ rows
        overall = people / people.sum()
    elif ALL_GROUPS in d.shares:
        overall = np.asarray(d.shares[ALL_GROUPS], dtype=float)
        overall = overall / overall.sum()
        people = overall * (d.total if d.total is not None else np.nan)
    else:
        overall = rows.mean(axis=0)
        people = overall * (d.total if d.total is not None else np.nan)
    src = d.shares_source
    by_group = Param(
        f"{d.name}_share",
        _times(Space((d.group_dim,), tuple((g,) for g in groups)), d.name, cats),
        rows.reshape(-1),
        "share",
        src,
        f"share of each {d.group_dim} in each {d.name} category",
        (0.0, 1.0),
    )
    overall_p = Param(
        f"{d.name}_share_all",
        Space((d.name,), tuple((k,) for k in cats)),
        overall,
        "share",
        src,
        f"share of the whole population in each {d.name} category",
        (0.0, 1.0),
    )
    return by_group, overall_p, people


def _group_population(d: StrataDecl, spec: ModelSpec, groups: tuple[str, ...]) -> np.ndarray | None:
    if d.population is None:
        return None
    p = spec.param(d.population)
    if p.space.dims != (d.group_dim,):
        return None
    out = np.zeros(len(groups))
    for i, (g,) in enumerate(p.space.coords):
        out[groups.index(g)] = p.values[i]
    return out


def _multiplied(spec: ModelSpec, d: StrataDecl) -> tuple[Param, ...]:
    mult = {m.param: np.ones(len(d.categories)) for m in _targets(d)}
    mult.update({m.param: np.asarray(m.values, dtype=float) for m in d.multipliers})
    out = []
    for p in spec.params:
        if p.name in mult:
            orig = p
            vals = np.outer(p.values, mult[p.name]).reshape(-1)
            src = next((m.source for m in d.multipliers if m.param == p.name), "none (1 in every category)")
            p = replace(
                p,
                space=_times(p.space, d.name, d.categories),
                values=vals,
                source=f"{p.source}; x {d.name} multipliers: {src}",
            )
            out.append(replace(orig, name=orig.name + BASE_SUFFIX))
        out.append(p)
    return tuple(out)


def _targets(d: StrataDecl) -> tuple[StratumMultiplier, ...]:
    """Unit multipliers for the target parameters that have no multiplier of their own."""
    own = {m.param for m in d.multipliers}
    return tuple(StratumMultiplier(t, (1.0,) * len(d.categories), "") for t in d.targets if t not in own)


def _share_ref(d: StrataDecl, dims: Iterable[str]) -> Ref:
    return Ref(f"{d.name}_share" if d.group_dim in dims else f"{d.name}_share_all")


class _Plan:
    """What gets the stratum: stocks, flows, derived values; which values have unstratified copies."""

    def __init__(self, spec: ModelSpec, d: StrataDecl):
        has_groups = d.group_dim in spec.dims
        self.stocks = {s.name for s in spec.stocks if not has_groups or d.group_dim in s.space.dims}
        self.stocks |= extra_stocks(spec)
        self.split = split_auxes(spec)
        self.flows = _stratified_flows(spec, self.stocks)
        self.params = {m.param for m in (*d.multipliers, *_targets(d))}
        state = {s.name for s in spec.stocks} | {f.name for f in spec.flows}
        state |= _closure(spec.auxes, state, lambda a, names: any(r in names for r in refs(a.expr)))
        self.state = state
        # values derived from parameters only that a multiplier reaches
        self.derived = (
            _closure(
                [a for a in spec.auxes if a.name not in state],
                set(self.params),
                lambda a, names: any(r in names for r in refs(a.expr)),
            )
            - self.params
        )
        pool = pool_dims(spec, d, has_groups)
        base = self.params | self.derived
        self.rw = Rewriter(d.name, pool, self.stocks | self.flows | base, base)
        # state auxes carrying the stratum through stratified stocks and flows (not pooled)
        state_auxes = [a for a in spec.auxes if a.name in state]
        seed = self.stocks | self.flows
        self.people = _closure(state_auxes, set(seed), lambda a, names: self.rw.carries(a.expr, names))
        self.strat_state = self.people
        if params_divide(spec):  # state values reading a multiplied value are the stratum's own
            seed |= base
            self.strat_state = _closure(state_auxes, seed, lambda a, names: self.rw.carries(a.expr, names))
        self.copied = self.derived
        self.rw.carriers = self.strat_state | base

    def stratified(self, name: str) -> bool:
        """Whether the stock, flow or value ``name`` carries the stratum."""
        return name in self.rw.carriers


def _closure(items, seed: set[str], reaches) -> set[str]:
    """Names of ``items`` reached from ``seed`` by ``reaches(item, names)``, to a fixed point."""
    names = set(seed)
    grew = True
    while grew:
        grew = False
        for it in items:
            if it.name not in names and reaches(it, names):
                names.add(it.name)
                grew = True
    return names


def _stratified_flows(spec: ModelSpec, stocks: set[str]) -> set[str]:
    by_name = {f.name: f for f in spec.flows}
    out: set[str] = set()

    def strat(f: Flow) -> bool:
        if f.kind == "fraction":
            return f.of in out or (f.of in by_name and strat(by_name[str(f.of)]))
        if f.kind == "outflow":
            return f.source in stocks
        return f.target in stocks

    for f in spec.flows:
        if strat(f):
            out.add(f.name)
    return out


def _stocks(spec: ModelSpec, d: StrataDecl, plan: _Plan) -> tuple[Stock, ...]:
    out = []
    for s in spec.stocks:
        init = s.initial
        if s.name not in plan.stocks:
            if not isinstance(init, int | float):
                init = plan.rw.rewrite(init, base=True)[0]
            out.append(replace(s, initial=init))
            continue
        if isinstance(init, int | float) and float(init) == 0.0:
            new_init: Expr | float = 0.0
        else:
            new_init = Binary("*", plan.rw.rewrite(as_expr(init))[0], _share_ref(d, s.space.dims))
        out.append(replace(s, space=_times(s.space, d.name, d.categories), initial=new_init))
    return tuple(out)


def _flows(spec: ModelSpec, d: StrataDecl, plan: _Plan) -> tuple[Flow, ...]:
    stocks = {s.name: s for s in spec.stocks}
    out = []
    for f in spec.flows:
        if f.name not in plan.flows:
            out.append(replace(f, rate=plan.rw.rewrite(f.rate, base=True)[0]))
            continue
        rate = plan.rw.rewrite(f.rate)[0]
        if f.kind == "inflow":
            space = f.space if f.space is not None else stocks[str(f.target)].space
            rate = _split_terms(rate, _share_ref(d, space.dims), plan)
        space2 = None if f.space is None else _times(f.space, d.name, d.categories)
        out.append(replace(f, rate=rate, space=space2))
    return tuple(out)


def _split_terms(e: Expr, share: Ref, plan: _Plan) -> Expr:
    """An inflow rate with each added term that does not depend on stratified people times the share.

    ``births - deaths`` (an imported model's net flow, ``deaths`` proportional to the
    stock) becomes ``births * share - deaths``: arrivals from outside are divided by
    the shares, flows of people already in a stratum stay theirs.
    """
    if isinstance(e, Binary) and e.op in ("+", "-"):
        return Binary(e.op, _split_terms(e.a, share, plan), _split_terms(e.b, share, plan))
    if isinstance(e, Unary) and e.op == "-":
        return Unary("-", _split_terms(e.a, share, plan))
    if plan.rw.carries(e, plan.people):
        return e
    return Binary("*", e, share)


def _auxes(spec: ModelSpec, d: StrataDecl, plan: _Plan) -> tuple[Aux, ...]:
    out = []
    for a in spec.auxes:
        if plan.stratified(a.name):
            expr = plan.rw.rewrite(a.expr)[0]
            if a.name in plan.split and a.space is not None:
                expr = _split_terms(expr, _share_ref(d, a.space.dims), plan)
            space = None if a.space is None else _times(a.space, d.name, d.categories)
            out.append(replace(a, expr=expr, space=space))
        else:
            out.append(replace(a, expr=plan.rw.rewrite(a.expr, base=True)[0]))
        if a.name in plan.copied:
            out.append(replace(a, name=a.name + BASE_SUFFIX, expr=renamed(a.expr, plan.rw.base)))
    return tuple(out)


def _outputs(spec: ModelSpec, plan: _Plan) -> tuple[Output, ...]:
    out = []
    for o in spec.outputs:
        strat = plan.rw.carries(o.expr, plan.strat_state)
        out.append(replace(o, expr=plan.rw.rewrite(o.expr, base=not strat)[0]))
    return tuple(out)


def _meta(spec: ModelSpec, d: StrataDecl, people: np.ndarray) -> dict:
    meta = dict(spec.meta)
    names = dict(meta.get("element_names") or {})
    for key, val in list(names.items()):
        names[f"{key},{d.name}"] = val
    names.setdefault(f"group,condition,service,{d.name}", "path")
    meta["element_names"] = names
    st = Stratifier(
        d.name,
        tuple(d.categories),
        bool(d.ordered),
        tuple(float(x) for x in people),
        d.label,
        d.shares_source,
        {m.param: (tuple(m.values), m.source) for m in d.multipliers},
    )
    meta["strata"] = (*meta.get("strata", ()), st)
    return meta


def stratify(spec: ModelSpec, d: StrataDecl) -> ModelSpec:
    """Stratify ``spec`` by the declared dimension (see the module docstring).

    Parameters
    ----------
    spec
        Any model spec (possibly already stratified by another dimension).
    d
        The declaration.

    Returns
    -------
    ModelSpec
        The stratified spec: one more dimension ``d.name``, stocks and flows on it, the
        parameters ``D_share`` and ``D_share_all`` (shares) and the multiplied parameters.

    Raises
    ------
    StrataError
        Listing every problem of the declaration (with its place).
    """
    spec = with_forms(spec, d)
    problems = decl_problems(d, spec) + shared_problems(spec, d)
    pieces: tuple = (*spec.params, *spec.stocks, *spec.flows, *spec.auxes, *spec.series, *spec.outputs)
    taken = {x.name for x in pieces}
    for nm in (f"{d.name}_share", f"{d.name}_share_all"):
        if nm in taken:
            problems.append(StrataProblem(d.name, "name", f"the model already has a {nm!r}", "another name"))
    if problems:
        raise StrataError(problems)
    plan = _Plan(spec, d)
    by_group, overall, people = _share_params(d, spec)
    out = replace(
        spec,
        dims={**spec.dims, d.name: tuple(d.categories)},
        stocks=_stocks(spec, d, plan),
        flows=_flows(spec, d, plan),
        params=(*_multiplied(spec, d), *((by_group,) if d.group_dim in spec.dims else ()), overall),
        auxes=_auxes(spec, d, plan),
        outputs=_outputs(spec, plan),
        meta=_meta(spec, d, people),
    )
    unused = without_effect(out, d) + leaving_problems(out, d)
    if unused:
        raise StrataError(unused)
    return out


def stratify_all(spec: ModelSpec, decls: Sequence[StrataDecl]) -> ModelSpec:
    """Stratify by each declaration in turn (shares of later ones are taken as independent of earlier ones).

    Parameters
    ----------
    spec
        Any model spec.
    decls
        The declarations, in order.

    Returns
    -------
    ModelSpec
        The spec with one more dimension per declaration.
    """
    for d in decls:
        spec = stratify(spec, d)
    return spec


def strata_of(model) -> tuple[Stratifier, ...]:
    """The stratifiers of a model or spec (empty if it is not stratified).

    Parameters
    ----------
    model
        A :class:`~simulator.core._model.Model` or a :class:`ModelSpec`.

    Returns
    -------
    tuple of Stratifier
        One per stratifying dimension, in the order they were applied.
    """
    spec = getattr(model, "spec", model)
    meta = spec.meta if isinstance(spec.meta, dict) else dict(spec.meta)
    return tuple(meta.get("strata", ()))
