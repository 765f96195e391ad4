"""The interactive system map: one self-contained HTML page drawn by vis-network.

vis-network (visjs, Apache-2.0 / MIT) is read from the copy the installed ``pyvis``
package ships (``pyvis/lib/vis-9.1.2/vis-network.min.js``) and inlined, so the page
opens offline and never fetches a script.  ``pyvis`` itself is not imported (it
would import IPython and networkx): only its data file is read.  The map's data
travel as JSON in a ``<script type="application/json">`` block and every label is
put on the page as text (``textContent``), never as HTML.
"""

from __future__ import annotations

import html
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator.report._figures import OKABE_ITO

__all__ = ["LAYER_COLOURS", "map_html", "vis_network_js"]

#: where the installed pyvis package keeps vis-network's standalone build
VIS_FILE = ("lib", "vis-9.1.2", "vis-network.min.js")
#: node colours by layer (Okabe-Ito); stock columns share the stock colour
LAYER_COLOURS = {
    "group": OKABE_ITO["orange"],
    "condition": OKABE_ITO["sky blue"],
    "service": OKABE_ITO["green"],
    "intervention": OKABE_ITO["purple"],
    "stock": OKABE_ITO["blue"],
    "source": "#BBBBBB",
    "sink": "#BBBBBB",
}


def colour(layer: str) -> str:
    """A layer's node colour (stock columns ``stock0``, ``stock1`` ... share one).

    Parameters
    ----------
    layer
        The node's layer.

    Returns
    -------
    str
        Hex colour.
    """
    return LAYER_COLOURS.get(layer.rstrip("0123456789"), OKABE_ITO["black"])


@lru_cache(maxsize=1)
def vis_network_js() -> str:
    """vis-network's script, from the installed ``pyvis`` package.

    Returns
    -------
    str
        The minified script.

    Raises
    ------
    RuntimeError
        If ``pyvis`` is not installed (it is a dependency of Upstream).
    """
    spec = importlib.util.find_spec("pyvis")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the interactive map needs the pyvis package (pip install pyvis)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*VIS_FILE)
    return path.read_text(encoding="utf-8")


def _data(m: Any) -> dict:
    levels = {name: i for i, (name, _) in enumerate(m.layers)}
    nodes = [
        {
            "id": n.id,
            "label": n.label,
            "level": levels.get(n.layer, 0),
            "color": colour(n.layer),
            "shape": "ellipse" if n.layer in ("source", "sink") else "box",
            "layer": n.layer,
            "info": [list(r) for r in n.info],
        }
        for n in m.nodes
    ]
    edges = [
        {
            "from": e.source,
            "to": e.target,
            "width": max(e.width, 0.5) if e.kind == "flow" else 1.5,
            "dashes": e.kind == "lever",
            "title": f"{e.label} ({e.kind})" if e.kind == "lever" else f"{e.label}",
            "value_text": e.label,
        }
        for e in m.edges
    ]
    headings = [[levels[k], h] for k, h in m.layers]
    return {"nodes": nodes, "edges": edges, "headings": headings}


def _json_block(obj: dict) -> str:
    # "</" would end the script element early; JSON allows "<\/"
    return json.dumps(obj, ensure_ascii=True).replace("</", "<\\/")


def map_html(m: Any, height: int = 720) -> str:
    """The page of a system map (see :meth:`simulator.report.SystemMap.to_html`).

    Parameters
    ----------
    m
        A :class:`~simulator.report.SystemMap`.
    height
        Height of the drawing area, pixels.

    Returns
    -------
    str
        The HTML document.
    """
    from simulator.report._system_map_page import PAGE, SCRIPT, STYLE

    notes = "".join(f"<p>{html.escape(t)}</p>" for t in m.notes)
    parts = {
        "@@TITLE@@": html.escape(m.title),
        "@@WHEN@@": html.escape(f"{m.time_word} {m.month:g}" + (f" ({m.date})" if m.date else "")),
        "@@STYLE@@": STYLE.replace("HEIGHT", str(int(height))),
        "@@NOTES@@": notes,
        "@@DATA@@": _json_block(_data(m)),
        "@@SCRIPT@@": SCRIPT,
    }
    page = PAGE
    for token, text in parts.items():
        page = page.replace(token, text)
    # the library last: its text is never searched for tokens
    return page.replace("@@VIS@@", vis_network_js().replace("</script", "<\\/script"))
