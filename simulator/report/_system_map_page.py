"""The system map page's HTML skeleton, style and script (placeholders ``@@NAME@@``).

The script reads the map's JSON block, draws it with vis-network in columns (one
level per layer, left to right), and on a click lists the node's parameters,
values, units and sources in the side panel, built with ``textContent`` only.
"""

from __future__ import annotations

__all__ = ["PAGE", "SCRIPT", "STYLE"]

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>@@STYLE@@</style>
</head>
<body>
<header><h1>@@TITLE@@</h1><p class="when">Edge widths at @@WHEN@@. Click a node for its parameters and
sources; drag to move, scroll to zoom.</p></header>
<main>
<div id="map" role="img" aria-label="@@TITLE@@"></div>
<aside id="panel" aria-live="polite"><h2 id="panel-title">Click a node</h2>
<p id="panel-layer">Its parameters, their values and where they come from appear here.</p>
<table id="panel-table"><thead><tr><th>parameter</th><th>value</th><th>unit</th><th>source</th></tr></thead>
<tbody></tbody></table></aside>
</main>
<footer>@@NOTES@@</footer>
<script type="application/json" id="map-data">@@DATA@@</script>
<script>@@VIS@@</script>
<script>@@SCRIPT@@</script>
</body>
</html>
"""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 0; color: #111; }
header { padding: 0.6rem 1rem; border-bottom: 1px solid #ddd; }
h1 { font-size: 1.25rem; margin: 0 0 0.2rem 0; }
.when { margin: 0; color: #444; font-size: 0.9rem; }
main { display: flex; gap: 0.5rem; }
#map { flex: 3; height: HEIGHTpx; border-right: 1px solid #ddd; }
#panel { flex: 1; min-width: 18rem; max-height: HEIGHTpx; overflow: auto; padding: 0.5rem 1rem;
  font-size: 0.85rem; }
#panel h2 { font-size: 1.05rem; margin: 0.3rem 0; }
#panel table { border-collapse: collapse; width: 100%; }
#panel th, #panel td { border-bottom: 1px solid #eee; padding: 0.2rem; text-align: left;
  vertical-align: top; }
#panel td { overflow-wrap: anywhere; }
#panel td.val { white-space: nowrap; overflow-wrap: normal; }
#panel td.src { color: #555; font-size: 0.75rem; overflow-wrap: anywhere; }
footer { padding: 0.4rem 1rem; color: #444; font-size: 0.85rem; border-top: 1px solid #ddd; }
"""

SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("map-data").textContent);
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var nodes = new vis.DataSet(data.nodes.map(function (n) {
    return { id: n.id, label: n.label, level: n.level, shape: n.shape, margin: 5,
             color: { background: n.color, border: "#333333",
                      highlight: { background: "#F0E442", border: "#000000" } },
             font: { size: 13, color: "#111111", face: "Arial" } };
  }));
  var edges = new vis.DataSet(data.edges.map(function (e, i) {
    return { id: i, from: e.from, to: e.to, width: e.width, dashes: e.dashes, title: e.title,
             arrows: { to: { enabled: true, scaleFactor: 0.4 } },
             color: { color: e.dashes ? "#CC79A7" : "#0072B2", opacity: 0.45 },
             smooth: { type: "cubicBezier", forceDirection: "horizontal", roundness: 0.4 } };
  }));
  var net = new vis.Network(document.getElementById("map"), { nodes: nodes, edges: edges }, {
    layout: { hierarchical: { enabled: true, direction: "LR", levelSeparation: 380, nodeSpacing: 34,
                              sortMethod: "directed", shakeTowards: "roots" } },
    physics: { enabled: false },
    interaction: { hover: true, tooltipDelay: 120, navigationButtons: false, keyboard: true }
  });
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }
  function show(id) {
    var n = byId[id];
    if (!n) { return; }
    document.getElementById("panel-title").textContent = n.label;
    document.getElementById("panel-layer").textContent = n.layer;
    var body = document.querySelector("#panel-table tbody");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    n.info.forEach(function (row) {
      var tr = document.createElement("tr");
      cell(tr, row[0]); cell(tr, row[1], "val"); cell(tr, row[2]); cell(tr, row[3], "src");
      body.appendChild(tr);
    });
    document.body.setAttribute("data-selected", id);
  }
  net.on("click", function (params) { if (params.nodes.length) { show(params.nodes[0]); } });
  window.upstreamMap = { network: net, show: show, data: data };
  document.body.setAttribute("data-ready", "1");
})();
"""
