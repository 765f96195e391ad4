"""The board report's page: one Jinja2 template and its screen and print style (A4).

Autoescaping is on: every name from a model, scenario or intervention file reaches
the page as text.  Images are ``data:`` addresses made by
:mod:`~simulator.report._board_report_figures`; the page links to nothing outside.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["SECTIONS", "render_page"]

#: the report's sections in order: (element id, heading)
SECTIONS = (
    ("headline", "Headline figures"),
    ("demand", "Demand over time"),
    ("surge-table", "The surge table"),
    ("capacity", "Capacity pressure"),
    ("interventions", "Interventions compared"),
    ("inequalities", "Inequality gaps"),
    ("system-map", "System map"),
    ("assumptions", "Assumptions and provenance"),
)

STYLE = """
:root { --ink: #111; --muted: #555; --rule: #ccc; --accent: #0072B2; --warn: #D55E00; }
body { font-family: "Segoe UI", Arial, Helvetica, sans-serif; color: var(--ink); margin: 0 auto;
  max-width: 60rem; padding: 1rem 1.5rem; line-height: 1.4; font-size: 11pt; }
h1 { font-size: 1.7rem; margin: 0 0 0.3rem 0; }
h2 { font-size: 1.3rem; border-bottom: 2px solid var(--accent); padding-bottom: 0.15rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.3rem; }
.meta, .note, caption, figcaption { color: var(--muted); font-size: 0.9rem; }
nav ol { columns: 2; font-size: 0.95rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem 0; font-size: 0.85rem; }
caption { text-align: left; padding-bottom: 0.3rem; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.2rem 0.35rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
thead th { border-bottom: 2px solid var(--ink); }
.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 0.6rem; }
.card { border: 1px solid var(--rule); border-left: 4px solid var(--accent); padding: 0.5rem 0.7rem; }
.card .value { font-size: 1.35rem; font-weight: 600; }
.card .interval, .card .unit { color: var(--muted); font-size: 0.85rem; }
figure { margin: 0.8rem 0; }
figure img { width: 100%; height: auto; }
.tag { color: var(--warn); font-weight: 600; white-space: nowrap; }
.small td, .small th { font-size: 0.75rem; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav { display: none; }
  section { break-before: page; }
  section#headline { break-before: auto; }
  h2, h3 { break-after: avoid; }
  figure, .card, tr { break-inside: avoid; }
  thead { display: table-header-group; }
  table { font-size: 7.5pt; }
  .small td, .small th { font-size: 6.5pt; }
  td.num, th.num { white-space: normal; }
  a { color: inherit; text-decoration: none; }
}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ style }}</style>
</head>
<body>
{% macro table(t, cls="") -%}
<table class="{{ cls }}">{% if t.caption %}<caption>{{ t.caption }}</caption>{% endif %}
<thead><tr>{% for h in t.header %}<th{% if loop.index0 in t.numeric %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for c in row %}<td{% if loop.index0 in t.numeric %} class="num"{% endif %}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{%- endmacro %}
{% macro figure(src, caption) -%}
<figure><img src="{{ src }}" alt="{{ caption }}"><figcaption>{{ caption }}</figcaption></figure>
{%- endmacro %}
<header>
<h1>{{ title }}</h1>
<p class="meta">{{ subtitle }}</p>
<p class="meta">{{ method }}</p>
</header>
<nav><ol>{% for id, heading in sections %}<li><a href="#{{ id }}">{{ heading }}</a></li>{% endfor %}</ol></nav>
{% for s in body %}
<section id="{{ s.id }}">
<h2>{{ s.heading }}</h2>
{% for p in s.paragraphs %}<p{% if p.note %} class="note"{% endif %}>{{ p.text }}</p>
{% endfor %}
{% if s.cards %}<div class="headline">{% for c in s.cards %}<div class="card" data-figure="{{ c.key }}">
<div>{{ c.name }}</div><div class="value">{{ c.value }}</div>
<div class="interval">90% interval {{ c.interval }}</div><div class="unit">{{ c.unit }}</div></div>
{% endfor %}</div>{% endif %}
{% for t in s.tables %}{{ table(t, t.cls) }}
{% endfor %}
{% for f in s.figures %}{{ figure(f.src, f.caption) }}
{% endfor %}
</section>
{% endfor %}
<footer><p class="meta">{{ footer }}</p></footer>
</body>
</html>
"""


@lru_cache(maxsize=1)
def _template():
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True)
    return env.from_string(TEMPLATE)


def render_page(context: dict[str, Any]) -> str:
    """The report's HTML from its parts.

    Parameters
    ----------
    context
        ``title``, ``subtitle``, ``method``, ``footer`` (text) and ``body``: sections, each a
        mapping with ``id``, ``heading``, ``paragraphs`` (``text``, ``note``), ``cards``,
        ``figures`` (``src``, ``caption``) and ``tables`` (``caption``, ``header``, ``rows``,
        ``numeric`` column positions, ``cls``).

    Returns
    -------
    str
        The HTML document.
    """
    return _template().render(style=STYLE, sections=SECTIONS, **context)
