"""Build a system map: run the model once (or take a run), pick the month, scale the edges.

The two graphs are built in :mod:`~simulator.report._system_map_chain` (surge models:
groups -> conditions -> services) and :mod:`~simulator.report._system_map_stocks`
(stocks and flows); this module chooses between them, checks the month, makes every
edge's width proportional to its flow and adds the interventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import xarray as xr

from simulator.core._model import Model
from simulator.report._system_map_info import fmt, intervention_rows
from simulator.report._system_map_parts import MAX_WIDTH, Graph, MapEdge, MapNode

__all__ = ["build_map"]

VIEWS = ("auto", "chain", "stocks")
#: the model layer each surge lever acts on (its scope's labels pick the nodes)
LEVER_LAYER = {
    "exposure": "group",
    "conversion": "group",
    "diversion": "service",
    "access": "service",
    "effectiveness": "service",
    "length_of_stay": "service",
    "capacity": "service",
}


def _is_chain(model: Model, view: str) -> bool:
    if view not in VIEWS:
        raise ValueError(f"view {view!r}: allowed {', '.join(VIEWS)}")
    surge = {"group", "condition", "service"} <= set(model.spec.dims) and any(
        f.name == "new_referral" for f in model.spec.flows
    )
    if view == "chain" and not surge:
        raise ValueError(
            f"{model.name}: the groups -> conditions -> services chain needs a surge model; use view='stocks'"
        )
    return surge and view != "stocks"


def _scaled(edges: list[MapEdge]) -> list[MapEdge]:
    top = max((e.value for e in edges if e.kind == "flow"), default=0.0)
    if top <= 0:
        return edges
    return [replace(e, width=MAX_WIDTH * max(e.value, 0.0) / top) if e.kind == "flow" else e for e in edges]


def _lever_targets(iv: Any, nodes: list[MapNode], chain: bool, param_nodes: dict[str, list[str]]):
    """Keys of the nodes where an intervention's lever acts."""
    if chain and iv.lever in LEVER_LAYER:
        layer = LEVER_LAYER[iv.lever]
        if iv.lever == "conversion" and "group" not in iv.scope and "condition" in iv.scope:
            layer = "condition"
        wanted = set(iv.divert_from) if iv.lever == "diversion" and iv.divert_from else None
        wanted = wanted or set(iv.scope.get(layer, ()))
        return [n.id for n in nodes if n.layer == layer and (not wanted or n.label in wanted)]
    return list(param_nodes.get(iv.target, []))


def _add_interventions(packages: Sequence[Any], nodes, edges, chain: bool, param_nodes) -> None:
    seen: set[str] = set()
    for pkg in packages:
        for iv in pkg.interventions:
            if iv.name in seen:
                continue
            seen.add(iv.name)
            key = f"intervention:{iv.name}"
            nodes.append(MapNode(key, iv.name, "intervention", None, tuple(intervention_rows(iv))))
            for target in _lever_targets(iv, nodes, chain, param_nodes):
                edges.append(MapEdge(key, target, 0.0, 1.5, iv.lever, "lever"))


def build_map(
    model: Model,
    month: float | None,
    *,
    packages: Sequence[Any] = (),
    results: xr.Dataset | None = None,
    dt: float | None = None,
    view: str = "auto",
) -> Graph:
    """The system map's graph of a loaded model (see :func:`simulator.report.system_map`).

    Parameters
    ----------
    model
        The model.
    month
        Month of the edge widths (``None``: the month of the largest flows).
    packages
        Intervention packages drawn where their levers act.
    results
        A run of the model recording what the map needs, or ``None`` to run it here.
    dt
        Integration step for a run made here, months.
    view
        ``"auto"``, ``"chain"`` or ``"stocks"``.

    Returns
    -------
    Graph
    """
    chain = _is_chain(model, view)
    if chain:
        from simulator.report._system_map_chain import chain_graph as graph
    else:
        from simulator.report._system_map_stocks import stock_graph as graph
    g = graph(model, month, results, dt)
    nodes, edges = g.nodes, _scaled(g.edges)
    _add_interventions(packages, nodes, edges, chain, g.param_nodes)
    layers = [*g.layers, *([("intervention", "Interventions")] if packages else [])]
    notes = [
        f"Edge width is proportional to the flow at {g.time_word} {fmt(g.month)}"
        + (f" ({g.date})" if g.date else "")
        + f"; the widest edge carries {fmt(max((e.value for e in edges), default=0))} {g.unit}.",
        *g.notes,
    ]
    return replace(g, nodes=nodes, edges=edges, layers=layers, notes=notes)
