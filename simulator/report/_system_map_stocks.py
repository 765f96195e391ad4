"""Stocks and flows: the system map of a network or Vensim/XMILE model.

One node per stock family, one edge per flow that moves people (a fraction flow
starts where its parent flow starts), its value the flow summed over its elements
at the map's month.  Inflows start at "Outside the model", flows without a target
end at "Leaving the model".  Stocks are drawn in columns by how many flows separate
them from the inflows (breadth first; a loop back does not move a stock).  An imported Vensim model
keeps each stock's net rate (``<stock>__net``, the sum of its inflows minus its outflows); when
those are sums of named rates, each rate is drawn as its own edge from the stock it drains to the
stock it fills, as in the Vensim diagram.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import xarray as xr

from simulator.core._formulas import Binary, Ref, Unary
from simulator.report._system_map_info import fmt, param_rows, referenced_params
from simulator.report._system_map_parts import Graph, MapEdge, MapNode
from simulator.report._system_map_run import graph_date, pick_month, run_for_map

__all__ = ["stock_graph"]

SOURCE = "cloud:outside"
SINK = "cloud:leaving"


def _terms(e, sign: int = 1) -> list[tuple[int, Any]]:
    """A sum of terms as ``(sign, term)``: ``a - b + c`` -> ``[(1, a), (-1, b), (1, c)]``."""
    if isinstance(e, Binary) and e.op in ("+", "-"):
        return [*_terms(e.a, sign), *_terms(e.b, sign if e.op == "+" else -sign)]
    if isinstance(e, Unary) and e.op == "-":
        return _terms(e.a, -sign)
    return [(sign, e)]


def _net_rates(spec, recordable: set[str]) -> dict[str, dict[int, list[str]]] | None:
    """Rates of an imported Vensim model's net flows (``<stock>__net``) -> the stocks they fill and drain.

    ``None`` unless every net flow is a sum of named rates the run can record: then each rate
    becomes one edge, from the stock it drains to the stock it fills.
    """
    nets = [f for f in spec.flows if f.kind == "inflow" and f.source is None and f.name == f"{f.target}__net"]
    if not nets:
        return None
    rates: dict[str, dict[int, list[str]]] = {}
    for f in nets:
        for sign, t in _terms(f.rate):
            if not isinstance(t, Ref) or t.name not in recordable:
                return None
            rates.setdefault(t.name, {1: [], -1: []})[sign].append(f.target)
    return rates


def _ends(spec, recordable: set[str]) -> list[tuple[str, Any, str, str]]:
    """``(recorded name, rate, from key, to key)`` of every flow that moves people."""
    flows = {f.name: f for f in spec.flows}
    auxes = {a.name: a.expr for a in spec.auxes}
    rates = _net_rates(spec, recordable)
    out = []
    for f in spec.flows:
        if not f.moves or (rates is not None and f.name == f"{f.target}__net"):
            continue
        src, parent = f.source, f
        while src is None and parent.kind == "fraction" and parent.of in flows:
            parent = flows[parent.of]
            src = parent.source
        out.append(
            (f.name, f.rate, f"stock:{src}" if src else SOURCE, f"stock:{f.target}" if f.target else SINK)
        )
    for name, ends in (rates or {}).items():
        drained = [f"stock:{k}" for k in ends[-1]] or [SOURCE]  # a rate only filling comes from outside
        filled = [f"stock:{k}" for k in ends[1]] or [SINK]  # a rate only draining leaves the model
        out += [(name, auxes.get(name, Ref(name)), a, b) for a in drained for b in filled]
    return out


def _depths(spec, ends) -> dict[str, int]:
    nxt: dict[str, list[str]] = {}
    for _, _, a, b in ends:
        if a != b:
            nxt.setdefault(a, []).append(b)
    fed = {b for _, _, a, b in ends if a != b}
    starts = [SOURCE] + [f"stock:{s.name}" for s in spec.stocks if f"stock:{s.name}" not in fed]
    depth = dict.fromkeys(starts, 0)
    todo = deque(starts)
    while todo:
        k = todo.popleft()
        for b in nxt.get(k, []):
            if b not in depth:
                depth[b] = depth[k] + 1
                todo.append(b)
    return depth


def _total(da: xr.DataArray) -> float:
    return float(da.sum()) if da.ndim else float(da)


def _stock_nodes(spec, at, month, ends, depth) -> tuple[list[MapNode], dict[str, list[str]]]:
    nodes: list[MapNode] = []
    param_nodes: dict[str, list[str]] = {}
    for s in spec.stocks:
        key = f"stock:{s.name}"
        touching = [rate for _, rate, a, b in ends if key in (a, b)]
        names = referenced_params(spec, touching)
        value = _total(at[s.name])
        rows = [(f"{s.name} (at {fmt(month)})", fmt(value), s.unit, "this run")]
        if s.description:
            rows.append(("description", s.description, "", ""))
        rows += param_rows(spec, names, {}, month)
        nodes.append(MapNode(key, s.name, f"stock{depth.get(key, 0)}", value, tuple(rows)))
        for name in names:
            param_nodes.setdefault(name, []).append(key)
    return nodes, param_nodes


def stock_graph(model: Any, month: float | None, results: xr.Dataset | None, dt: float | None) -> Graph:
    """Stocks and flows of any model, edges at one month.

    Parameters
    ----------
    model
        A loaded model.
    month
        Month (model time unit) of the edge values (``None``: the time the flows are largest in total).
    results
        A run recording every stock and moving flow, or ``None`` to run the model here.
    dt
        Integration step of a run made here.

    Returns
    -------
    Graph
        Edge values in the flows' own units (widths set by the caller).
    """
    spec = model.spec
    ends = _ends(spec, set(model.compiled.recordable))
    names = list(dict.fromkeys(n for n, _, _, _ in ends))
    ds = run_for_map(model, [*(s.name for s in spec.stocks), *names], results, dt)
    flows = [ds[n] for n in names]
    totals = sum((da.sum([d for d in da.dims if d != "time"]) for da in flows), xr.zeros_like(ds["time"]))
    month = pick_month(ds, month, totals)
    at = ds.sel(time=month)
    depth = _depths(spec, ends)
    nodes, param_nodes = _stock_nodes(spec, at, month, ends, depth)
    cols = max([d for k, d in depth.items() if k.startswith("stock:")], default=0) + 1
    used = {k for _, _, a, b in ends for k in (a, b)}
    if SOURCE in used:
        nodes.insert(0, MapNode(SOURCE, "Outside the model", "source"))
    if SINK in used:
        nodes.append(MapNode(SINK, "Leaving the model", "sink"))
    edges = [MapEdge(a, b, _total(at[n]), 0.0, n) for n, _, a, b in ends]
    units = {f.unit for f in spec.flows if f.name in set(names)}
    unit = units.pop() if len(units) == 1 else "flow units"
    first = min([d for k, d in depth.items() if k.startswith("stock:")], default=0)
    layers = [("source", "Inflows"), *((f"stock{i}", "Stocks" if i == first else "") for i in range(cols))]
    return Graph(
        title=f"{model.name}: stocks and flows",
        month=month,
        date=graph_date(ds, month),
        nodes=nodes,
        edges=edges,
        layers=[*layers, ("sink", "Leaving")],
        unit=unit,
        notes=[f"Stocks (boxes) and flows (arrows) of {model.name}; values from one deterministic run."],
        param_nodes=param_nodes,
        time_word="time" if "vensim_names" in spec.meta else "month",
    )
