"""The pieces of a system map: nodes, edges and the graph a builder returns."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_WIDTH", "Graph", "MapEdge", "MapNode"]

#: widest edge drawn (pixels in the page, points in the picture): the largest flow's width
MAX_WIDTH = 14.0


@dataclass(frozen=True)
class MapNode:
    """One node of a system map.

    Attributes
    ----------
    id
        Unique key, ``"<layer>:<name>"``.
    label
        Name shown on the node.
    layer
        Column it is drawn in: ``group``, ``condition``, ``service`` (surge chain),
        ``stock``, ``cloud`` (stocks and flows) or ``intervention``.
    value
        Its size at the month: people at risk, referred or in the stock (``None`` if none).
    info
        Rows shown when the node is clicked: ``(name, value, unit, source)``.
    """

    id: str
    label: str
    layer: str
    value: float | None = None
    info: tuple[tuple[str, str, str, str], ...] = ()


@dataclass(frozen=True)
class MapEdge:
    """One edge: a flow of people from ``source`` to ``target`` (or an intervention's lever).

    Attributes
    ----------
    value
        People per month along the edge at the map's month (0 for an intervention's edge).
    width
        Drawn width, :data:`MAX_WIDTH` x ``value`` / the largest value (proportional to the flow).
    kind
        ``flow`` or ``lever`` (an intervention acting on its target node).
    """

    source: str
    target: str
    value: float
    width: float
    label: str = ""
    kind: str = "flow"


@dataclass
class Graph:
    """What a builder returns: the nodes and edges, and where each parameter sits.

    Attributes
    ----------
    param_nodes
        Parameter name -> keys of the nodes it belongs to (where a ``parameter`` lever acts).
    """

    title: str
    month: float
    date: str
    nodes: list[MapNode]
    edges: list[MapEdge]
    layers: list[tuple[str, str]]
    unit: str = "people per month"
    notes: list[str] = field(default_factory=list)
    param_nodes: dict[str, list[str]] = field(default_factory=dict)
    #: what the model's time is called: ``month``, or ``time`` (an imported model's own unit)
    time_word: str = "month"
