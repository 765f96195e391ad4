"""The static system map: layers as columns, edges as curves as wide as their flows (matplotlib).

A layered drawing needs no graph library: the layers are the columns, and within a
column nodes are ordered by the mean position of their neighbours in the column
before (two sweeps of the barycentre heuristic), which removes most crossings of a
three-layer chain.  Edges are cubic curves whose line width in points is the
edge's width (proportional to its flow).
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from simulator.report._display import new_figure
from simulator.report._system_map_html import colour

__all__ = ["layout", "map_figure", "map_svg", "short", "strip_metadata"]

#: height of a node's row, inches
ROW = 0.24
#: longest name drawn in full (the page and a node's panel show every name whole)
LABEL_CHARS = 32


def short(label: str) -> str:
    """A node's name cut to :data:`LABEL_CHARS` characters (an ellipsis marks the cut).

    Parameters
    ----------
    label
        The name.

    Returns
    -------
    str
    """
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def layout(m: Any) -> dict[str, tuple[float, float]]:
    """Positions ``(column, row)`` of every node: layers as columns, rows ordered to cut crossings.

    Parameters
    ----------
    m
        A :class:`~simulator.report.SystemMap`.

    Returns
    -------
    dict
        Node key -> ``(x, y)``; ``y`` runs down from 0, centred per column.
    """
    order = [k for k, _ in m.layers]
    cols: dict[str, list[str]] = {k: [] for k in order}
    for n in m.nodes:
        cols.setdefault(n.layer, []).append(n.id)
    nbrs: dict[str, list[str]] = {}
    for e in m.edges:
        nbrs.setdefault(e.target, []).append(e.source)
        nbrs.setdefault(e.source, []).append(e.target)
    pos: dict[str, float] = {}
    for _ in range(2):
        for k in cols:
            ids = cols[k]
            for i, node in enumerate(ids):
                near = [pos[j] for j in nbrs.get(node, []) if j in pos and j not in ids]
                pos[node] = float(np.mean(near)) if near else pos.get(node, float(i))
            ids.sort(key=lambda node: pos[node])
            for i, node in enumerate(ids):
                pos[node] = float(i)
    tall = max((len(v) for v in cols.values()), default=1)
    out = {}
    for i, k in enumerate(c for c in cols if cols[c]):
        ids = cols[k]
        x = i + (0.6 if k == "intervention" else 0.0)  # room for the services' names
        offset = (tall - len(ids)) / 2
        out.update({node: (x, offset + j) for j, node in enumerate(ids)})
    return out


def _curve(a, b, width: float, colour_: str, dashed: bool) -> PathPatch:
    (x0, y0), (x1, y1) = a, b
    mid = (x0 + x1) / 2
    verts = [(x0, y0), (mid, y0), (mid, y1), (x1, y1)]
    codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4]
    return PathPatch(
        MplPath(verts, codes),
        facecolor="none",
        edgecolor=colour_,
        linewidth=width,
        alpha=0.35 if not dashed else 0.8,
        linestyle="--" if dashed else "-",
    )


def map_figure(m: Any, width: float = 11.0):
    """The static picture of a system map (see :meth:`simulator.report.SystemMap.figure`).

    Parameters
    ----------
    m
        A :class:`~simulator.report.SystemMap`.
    width
        Figure width, inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    pos = layout(m)
    rows = max((y for _, y in pos.values()), default=0) + 1
    ncol = max((x for x, _ in pos.values()), default=0) + 1
    first = min((x for x, _ in pos.values()), default=0)
    fig = new_figure(width, 1.2 + rows * ROW)
    ax = fig.add_subplot()
    layer = {n.id: n.layer for n in m.nodes}
    curves = [
        _curve(
            pos[e.source],
            pos[e.target],
            1.2 if e.kind == "lever" else max(e.width, 0.3),
            colour(layer[e.source]),
            e.kind == "lever",
        )
        for e in sorted(m.edges, key=lambda e: e.width)
        if e.source in pos and e.target in pos and (e.kind != "flow" or e.width > 0)
    ]
    # one collection (drawn in this order, thinnest first), not one artist per edge: a map has
    # hundreds of edges and adding each as a patch cost most of the picture's time
    ax.add_collection(PatchCollection(curves, match_original=True, capstyle="butt"), autolim=False)
    for n in m.nodes:
        x, y = pos[n.id]
        ax.plot([x], [y], "o", color=colour(n.layer), markersize=6, markeredgecolor="#333333")
        ax.annotate(
            short(n.label),
            (x, y),
            xytext=(-6 if x == first else 6, 0),
            textcoords="offset points",
            ha="right" if x == first else "left",
            va="center",
            fontsize=7.5,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75},
        )
    xs = {n.layer: pos[n.id][0] for n in m.nodes}
    for k, heading in m.layers:
        if k in xs and heading:
            words = heading.replace(": ", ":\n")
            ax.text(xs[k], -1.0, words, ha="center", va="bottom", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.9, ncol - 0.15)
    ax.set_ylim(rows, -2.6)
    ax.axis("off")
    when = f"{m.time_word} {m.month:g}" + (f", {m.date}" if m.date else "")
    ax.set_title(f"{m.title}\nedge width proportional to {m.edge_unit} ({when})", fontsize=10)
    return fig


def map_svg(m: Any, width: float = 11.0) -> str:
    """The static picture as SVG text, fonts as text, no date stamp (see :meth:`SystemMap.to_svg`).

    Parameters
    ----------
    m
        A :class:`~simulator.report.SystemMap`.
    width
        Figure width, inches.

    Returns
    -------
    str
        The ``<svg>`` document.
    """
    import matplotlib

    fig = map_figure(m, width=width)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "upstream"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return strip_metadata(buf.getvalue())


def strip_metadata(svg: str) -> str:
    """An SVG without matplotlib's RDF metadata block (its namespace addresses are not needed).

    Parameters
    ----------
    svg
        SVG text.

    Returns
    -------
    str
    """
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
