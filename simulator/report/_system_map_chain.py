"""The surge chain: at-risk groups -> conditions -> services, as Greater Manchester's Phase 3 drew it.

Greater Manchester's Phase 3 work described the chain "social change -> mental
health impact -> services required"; a surge model holds exactly that chain.  An
edge group -> condition carries the people of the group referred with the
condition per month (``new_referral`` summed over services), an edge condition ->
service the people referred with the condition to the service (summed over groups),
both at the map's month.  The edges are the model's own paths: one per ``g2c`` row
and one per condition and service with a ``c2t`` row.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from simulator.report._system_map_info import fmt, param_rows
from simulator.report._system_map_parts import Graph, MapEdge, MapNode
from simulator.report._system_map_run import graph_date, pick_month, run_for_map

__all__ = ["chain_graph"]

LAYERS = [
    ("group", "Social change: groups at risk"),
    ("condition", "Mental health impact: conditions"),
    ("service", "Services required"),
]
#: what each node of a layer shows beside its parameters: (variable of the run, words, unit)
SHOWN = {
    "group": ("at_risk", "people at risk", "people"),
    "condition": ("new_referral", "people referred with the condition", "people per month"),
    "service": ("new_referral", "people referred to the service", "people per month"),
}


CHAIN = {"group", "condition", "service"}


def _layer_params(spec, layer: str) -> list[str]:
    """Parameters and series of a layer's nodes: over the layer (and strata), no other chain dimension.

    Conditions show the group -> condition rates (``g2c_pcnt``), one row per group.
    """
    own = {"group", "condition"} if layer == "condition" else {layer}
    return [
        p.name
        for p in (*spec.params, *spec.series)
        if own <= set(p.space.dims) and not (set(p.space.dims) & CHAIN) - own
    ]


def _to(da: xr.DataArray, *dims: str) -> xr.DataArray:
    """Summed over every dimension but ``dims`` (strata, services ...)."""
    return da.sum([d for d in da.dims if d not in dims])


def _pairs(space, a: str, b: str) -> list[tuple[str, str]]:
    i, j = space.dims.index(a), space.dims.index(b)
    return list(dict.fromkeys((c[i], c[j]) for c in space.coords))


def _nodes(model, at: xr.Dataset, month: float) -> tuple[list[MapNode], dict[str, list[str]]]:
    spec = model.spec
    tables = getattr(model, "tables", None)  # surge models keep their tables; others draw no curve
    groups = getattr(tables, "groups", None)
    curves = dict(zip(groups["group"], groups["curve"])) if groups is not None and "curve" in groups else {}
    curve_source = str((getattr(tables, "sources", None) or {}).get("groups", ""))
    nodes: list[MapNode] = []
    param_nodes: dict[str, list[str]] = {}
    referred = at["new_referral"]
    values = {
        "group": _to(at["at_risk"], "group"),
        "condition": _to(referred, "condition"),
        "service": _to(referred, "service"),
    }
    for layer, _ in LAYERS:
        names = _layer_params(spec, layer)
        for label in spec.dims[layer]:
            key = f"{layer}:{label}"
            value = float(values[layer].sel({layer: label}))
            var, words, unit = SHOWN[layer]
            rows = [(f"{words} (month {fmt(month)})", fmt(value), unit, f"this run: {var}")]
            if layer == "group" and label in curves:
                rows.append(("curve", str(curves[label]), "", curve_source))
            rows += param_rows(spec, names, {layer: label}, month)
            nodes.append(MapNode(key, label, layer, value, tuple(rows)))
            for name in names:
                param_nodes.setdefault(name, []).append(key)
    return nodes, param_nodes


def _edges(spec, at: xr.Dataset) -> list[MapEdge]:
    referred = at["new_referral"]
    gc = _to(referred, "group", "condition")
    cs = _to(referred, "condition", "service")
    edges: list[MapEdge] = []
    for g, c in _pairs(spec.param("g2c_pcnt").space, "group", "condition"):
        v = float(gc.sel(group=g, condition=c))
        edges.append(MapEdge(f"group:{g}", f"condition:{c}", v, 0.0, f"{fmt(v)} a month"))
    for c, s in _pairs(spec.param("split").space, "condition", "service"):
        v = float(cs.sel(condition=c, service=s))
        edges.append(MapEdge(f"condition:{c}", f"service:{s}", v, 0.0, f"{fmt(v)} a month"))
    return edges


def chain_graph(model: Any, month: float | None, results: xr.Dataset | None, dt: float | None) -> Graph:
    """Groups -> conditions -> services of a surge model, edges at one month.

    Parameters
    ----------
    model
        A :class:`~simulator.surge.SurgeModel` (with or without capacity).
    month
        Month of the edge values (``None``: the month with the most referrals).
    results
        A run recording ``new_referral`` and ``at_risk``, or ``None`` to run the model here.
    dt
        Integration step of a run made here, months.

    Returns
    -------
    Graph
        Edge values in people referred per month (widths set by the caller).
    """
    ds = run_for_map(model, ["new_referral", "at_risk"], results, dt)
    totals = _to(ds["new_referral"], "time")
    month = pick_month(ds, month, totals)
    at = ds.sel(time=month)
    nodes, param_nodes = _nodes(model, at, month)
    return Graph(
        title=f"{model.name}: groups at risk -> conditions -> services",
        month=month,
        date=graph_date(ds, month),
        nodes=nodes,
        edges=_edges(model.spec, at),
        layers=list(LAYERS),
        unit="people referred per month",
        notes=[
            "Groups at risk (social change) -> conditions (mental health impact) -> services required, "
            "after Greater Manchester's Phase 3 chain; every edge is one of the model's referral paths.",
            f"Numbers are one deterministic run of {model.name} (curve per group as in its groups table).",
        ],
        param_nodes=param_nodes,
    )
