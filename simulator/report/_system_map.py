"""The system map: a model's structure as a graph, edges as wide as the flows they carry.

For surge (and capacity) models the map is the Greater Manchester Phase 3 chain
"social change -> mental health impact -> services required": at-risk groups ->
conditions -> services, an edge's value the people referred along it per month at
the chosen month.  For every other model (network YAML, Vensim/XMILE) it is the
stock-and-flow diagram: one node per stock family, one edge per flow, its value
the flow summed over its elements (people per month).  Interventions are drawn
beside the nodes where their lever acts.  Every node carries its parameters,
their values and sources, shown when it is clicked (:meth:`SystemMap.to_html`)
and listed beside the static picture (:meth:`SystemMap.to_svg`).

:func:`system_map` builds it; :mod:`~simulator.report._system_map_build` holds the
two graph builders, :mod:`~simulator.report._system_map_html` the interactive page
(vis-network, inlined from the installed ``pyvis`` package, never a CDN) and
:mod:`~simulator.report._system_map_svg` the layered static picture (matplotlib).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.core._atomic import atomic_path
from simulator.report._system_map_parts import MapEdge, MapNode

__all__ = ["SystemMap", "system_map"]


@dataclass
class SystemMap:
    """A model's system map at one month: nodes, edges, and how to draw them.

    Attributes
    ----------
    title
        The model's name and what the edges show.
    month
        The month the edge widths are taken at (months from the model's start).
    date
        That month as a date (``"2021-02"``), or ``""`` without a start date.
    layers
        Layers in drawing order, left to right, with their headings.
    edge_unit
        Unit of the edge values.
    notes
        Sentences drawn under the map (what widths mean, where the numbers come from).
    time_word
        What the model's time is called: ``month`` (surge and network models) or ``time``
        (imported Vensim/XMILE models, in their own time unit).
    """

    title: str
    month: float
    date: str
    nodes: list[MapNode]
    edges: list[MapEdge]
    layers: list[tuple[str, str]]
    edge_unit: str = "people per month"
    notes: list[str] = field(default_factory=list)
    time_word: str = "month"

    def node(self, node_id: str) -> MapNode:
        """The node with this key.

        Parameters
        ----------
        node_id
            ``"<layer>:<name>"``.

        Returns
        -------
        MapNode
        """
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r} in the map of {self.title}")

    def edge(self, source: str, target: str) -> MapEdge:
        """The (first) edge from ``source`` to ``target``.

        Parameters
        ----------
        source, target
            Node keys.

        Returns
        -------
        MapEdge
        """
        for e in self.edges:
            if e.source == source and e.target == target:
                return e
        raise KeyError(f"no edge {source!r} -> {target!r} in the map of {self.title}")

    def to_html(self, height: int = 720) -> str:
        """A self-contained interactive page (no network needed): drag, zoom, click a node.

        Parameters
        ----------
        height
            Height of the drawing area, pixels.

        Returns
        -------
        str
            The HTML document, vis-network's script inlined.
        """
        from simulator.report._system_map_html import map_html

        return map_html(self, height=height)

    def figure(self, width: float = 11.0):
        """The static picture: layers left to right, edges as wide as their flows.

        Parameters
        ----------
        width
            Figure width, inches.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from simulator.report._system_map_svg import map_figure

        return map_figure(self, width=width)

    def to_svg(self, width: float = 11.0) -> str:
        """The static picture as SVG text (what the board report embeds).

        Parameters
        ----------
        width
            Figure width, inches.

        Returns
        -------
        str
            An ``<svg>`` document.
        """
        from simulator.report._system_map_svg import map_svg

        return map_svg(self, width=width)

    def write(self, path: str | Path) -> Path:
        """Write the map as ``.html`` (interactive) or ``.svg`` (static), atomically.

        Parameters
        ----------
        path
            File to write; its suffix decides the format.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".html", ".htm", ".svg"):
            raise ValueError(f"{path}: write the map as .html (interactive) or .svg (static picture)")
        text = self.to_svg() if suffix == ".svg" else self.to_html()
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return path


def system_map(
    model: Any,
    month: float | None = None,
    *,
    packages: Sequence[Any] = (),
    results: Any = None,
    dt: float | None = None,
    view: str = "auto",
) -> SystemMap:
    """The system map of a model at one month.

    Parameters
    ----------
    model
        A loaded model (:class:`simulator.core.Model` or :class:`simulator.surge.SurgeModel`),
        or a model file / built-in name.
    month
        Month (from the model's start) the edge widths are taken at; default the month the
        flows shown are largest in total.  Must be a reported month of the run.
    packages
        Intervention packages (:class:`~simulator.analysis.Package`) drawn where their levers act.
    results
        A deterministic run of ``model`` (:func:`simulator.simulate`) recording the flows shown
        (the mean is taken over members if it has several); without one, or if it does not record
        them, the model is run here (milliseconds for the built-in models).
    dt
        Integration step, months, when the model is run here (default the model's own).
    view
        ``"chain"`` (groups -> conditions -> services; surge models only), ``"stocks"``
        (stocks and flows) or ``"auto"`` (the chain for surge models).

    Returns
    -------
    SystemMap

    Raises
    ------
    ValueError
        If the month is not a reported month, or the view does not fit the model.
    """
    from simulator.report._system_map_build import build_map

    if isinstance(model, str | Path):
        from simulator.files._loading import load_model

        model = load_model(str(model))
    g = build_map(model, month, packages=list(packages), results=results, dt=dt, view=view)
    return SystemMap(g.title, g.month, g.date, g.nodes, g.edges, g.layers, g.unit, g.notes, g.time_word)
