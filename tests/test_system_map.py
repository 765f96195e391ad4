"""The system map (issue 15, item 3): nodes and edges equal the spec's, widths follow the flows."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser import BROWSER_ARGS, CHROMIUM, needs_chromium
from click.testing import CliRunner

from simulator import load_model, simulate
from simulator.cli import main
from simulator.files import load_package
from simulator.report import system_map
from simulator.report._system_map_parts import MAX_WIDTH

ROOT = Path(__file__).resolve().parents[1]
TEACUP = ROOT / "tests" / "sd_test_models" / "samples" / "teacup" / "teacup.mdl"
WAITING = ROOT / "models" / "examples" / "waiting-list.yaml"
SIR = ROOT / "tests" / "sd_test_models" / "samples" / "SIR" / "SIR.mdl"


@pytest.fixture(scope="module")
def england():
    return load_model("england")


@pytest.fixture(scope="module")
def england_map(england):
    return system_map(
        england, 12, packages=[load_package("prevention-first"), load_package("extra-iapt-starts")]
    )


def test_chain_nodes_and_edges_are_the_specs(england, england_map):
    spec = england.spec
    m = england_map
    flows = [n for n in m.nodes if n.layer != "intervention"]
    assert len(flows) == sum(len(spec.dims[d]) for d in ("group", "condition", "service")) == 16 + 12 + 34
    assert {n.label for n in flows if n.layer == "service"} == set(spec.dims["service"])
    g2c = spec.param("g2c_pcnt").space.coords
    c2s = {(c, s) for _, c, s in spec.param("split").space.coords}
    flow_edges = [e for e in m.edges if e.kind == "flow"]
    assert len(flow_edges) == len(g2c) + len(c2s)
    assert {(e.source, e.target) for e in flow_edges} == {
        *((f"group:{g}", f"condition:{c}") for g, c in g2c),
        *((f"condition:{c}", f"service:{s}") for c, s in c2s),
    }


def test_edge_width_is_proportional_to_the_flow_at_the_month(england, england_map):
    ds = simulate(england, record=["new_referral"])
    nr = ds["new_referral"].sel(time=12).isel(member=0)
    e = england_map.edge("group:Newly unemployed", "condition:Depression")
    expected = float(nr.sel(group="Newly unemployed", condition="Depression").sum())
    assert expected > 0
    np.testing.assert_allclose(e.value, expected, rtol=1e-12)
    c = england_map.edge("condition:Anxiety", "service:IAPT")
    np.testing.assert_allclose(c.value, float(nr.sel(condition="Anxiety", service="IAPT").sum()), rtol=1e-12)
    flows = [x for x in england_map.edges if x.kind == "flow"]
    top = max(x.value for x in flows)
    assert max(x.width for x in flows) == pytest.approx(MAX_WIDTH)
    for x in (e, c):
        assert x.width == pytest.approx(MAX_WIDTH * x.value / top, rel=1e-12)
    # a later month moves the widths: at month 30 the same edge carries a different flow
    later = system_map(england, 30).edge("group:Newly unemployed", "condition:Depression")
    assert later.value == pytest.approx(float(ds["new_referral"].sel(time=30, group="Newly unemployed",
                                                                      condition="Depression").sum()))  # fmt: skip
    assert later.value != pytest.approx(e.value)


def test_stratified_model_adds_its_strata_on_each_edge(england, england_map):
    imd = load_model("england-imd")
    m = system_map(imd, 12)
    assert len(m.edges) == len([e for e in england_map.edges if e.kind == "flow"])
    nr = simulate(imd, record=["new_referral"])["new_referral"].sel(time=12).isel(member=0)
    assert "deprivation" in nr.dims
    e = m.edge("group:Newly unemployed", "condition:Depression")
    assert e.value == pytest.approx(float(nr.sel(group="Newly unemployed", condition="Depression").sum()))
    rows = {r[0] for r in m.node("service:IAPT").info}
    assert "success [Q1 most deprived]" in rows and "success [Q5 least deprived]" in rows


def test_a_run_given_is_used_and_one_missing_flows_is_replaced(england):
    ds = simulate(england, record=["new_referral", "at_risk"])
    doubled = ds.copy()
    doubled["new_referral"] = ds["new_referral"] * 2
    e = system_map(england, 12, results=doubled).edge("condition:Anxiety", "service:IAPT")
    plain = system_map(england, 12, results=simulate(england, record=["at_risk"]))
    assert e.value == pytest.approx(2 * plain.edge("condition:Anxiety", "service:IAPT").value, rel=1e-12)


def test_default_month_is_the_month_of_most_referrals(england):
    ds = simulate(england, record=["new_referral"])
    peak = float(
        ds["time"][int(ds["new_referral"].sum(("member", "group", "condition", "service")).argmax())]
    )
    assert system_map(england).month == peak


def test_interventions_sit_where_their_levers_act(england_map):
    levers = {(e.source, e.target) for e in england_map.edges if e.kind == "lever"}
    # debt advice: conversion lever scoped to the newly unemployed
    assert ("intervention:Debt advice", "group:Newly unemployed") in levers
    assert not any(s == "intervention:Debt advice" and t != "group:Newly unemployed" for s, t in levers)
    # extra IAPT starts: a capacity lever on the IAPT service
    iapt = [t for s, t in levers if s == "intervention:Extra IAPT starts"]
    assert iapt == ["service:IAPT"]


def test_a_node_lists_its_parameters_values_and_sources(england, england_map):
    info = {r[0]: r for r in england_map.node("service:IAPT").info}
    success = england.spec.param("success")
    k = success.space.position[("IAPT",)]
    assert float(info["success"][1]) == pytest.approx(success.values[k], rel=1e-3)
    assert info["success"][3] == success.source and "Strategy Unit" in success.source
    group = {r[0]: r for r in england_map.node("group:Newly unemployed").info}
    assert group["size"][1] == "129,251" and group["curve"][1] == "Fluctuating Fears"
    debt = {r[0]: r for r in england_map.node("intervention:Debt advice").info}
    assert "illustrative assumption" in debt["effect"][3]


def test_network_model_edges_equal_closed_form():
    # referrals = referrals_per_month x season: (900 + 300) x 1.2 at month 6 (the season's knot)
    m = system_map(WAITING, 6)
    model = load_model(WAITING)
    stocks = [n for n in m.nodes if n.layer.startswith("stock")]
    assert {n.label for n in stocks} == {s.name for s in model.spec.stocks}
    assert len(m.edges) == len(model.spec.flows) == 3
    assert m.edge("cloud:outside", "stock:waiting").value == pytest.approx(1200 * 1.2, rel=1e-12)
    ds = simulate(model)
    starts = float((ds["waiting"].sel(time=6) * np.array([0.5, 0.3])).sum())
    assert m.edge("stock:waiting", "stock:in_treatment").value == pytest.approx(starts, rel=1e-12)
    assert m.edge("cloud:outside", "stock:waiting").width == pytest.approx(MAX_WIDTH)


def test_vensim_model_is_drawn_as_stocks_and_flows():
    # SIR.mdl: susceptible = INTEG(-succumbing), infectious = INTEG(succumbing - recovering), recovered =
    # INTEG(recovering): the imported net rates split back into the diagram's two flows
    model = load_model(SIR)
    m = system_map(model, 20)
    assert {n.label for n in m.nodes} == {"susceptible", "infectious", "recovered"}
    assert [(e.source, e.target, e.label) for e in m.edges] == [
        ("stock:susceptible", "stock:infectious", "succumbing"),
        ("stock:infectious", "stock:recovered", "recovering"),
    ]
    ds = simulate(model, record=["succumbing", "recovering"]).sel(time=20).isel(member=0)
    for e in m.edges:
        assert e.value == pytest.approx(float(ds[e.label]), rel=1e-12)
    teacup = system_map(load_model(TEACUP), 10)
    assert [(e.source, e.target) for e in teacup.edges] == [("stock:teacup_temperature", "cloud:leaving")]


def test_unknown_month_and_wrong_view_are_errors(england):
    with pytest.raises(ValueError, match=r"month 99 is not a reported month.*0 to 35"):
        system_map(england, 99)
    with pytest.raises(ValueError, match="needs a surge model"):
        system_map(load_model(WAITING), view="chain")


class _Attrs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def test_html_is_self_contained_and_carries_the_graph(england_map):
    text = england_map.to_html()
    p = _Attrs()
    p.feed(text)
    assert p.links == []  # scripts inline, no stylesheet or image fetched
    assert p.scripts == 3 and "vis.Network" in text
    block = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text, re.S).group(1)
    data = json.loads(block)
    assert len(data["nodes"]) == len(england_map.nodes) and len(data["edges"]) == len(england_map.edges)


def test_svg_is_valid_and_names_every_node(england_map):
    from simulator.report._system_map_svg import LABEL_CHARS, short

    svg = england_map.to_svg()
    root = ET.fromstring(svg.encode())
    assert root.tag.endswith("svg")
    texts = {t.strip() for t in root.itertext() if t.strip()}
    for n in england_map.nodes:
        assert short(n.label) in texts
    cut = short("Specialist Perinatal Mental Health Community Service")
    assert len(cut) == LABEL_CHARS and cut.endswith("…")


def test_map_command_writes_html_and_svg(tmp_path):
    r = CliRunner().invoke(main, ["map", "england", "--month", "5", "-o", str(tmp_path / "m.html")])
    assert r.exit_code == 0, r.output
    assert "62 nodes" in r.output and "month 5" in r.output
    r = CliRunner().invoke(main, ["map", str(WAITING), "-o", str(tmp_path / "m.svg"), "-q"])
    assert r.exit_code == 0 and (tmp_path / "m.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    "args, message",
    [
        (["england", "--month", "99"], "month 99 is not a reported month"),
        (["england", "--month", "2.5"], "month 2.5 is not a reported month"),
        (["no-such-model"], "no-such-model"),
        (["england", "--view", "stocks", "--package", "no-such-package"], "no package or intervention"),
    ],
)
def test_map_command_bad_input_exits_2_without_a_file(tmp_path, args, message):
    out = tmp_path / "m.html"
    r = CliRunner().invoke(main, ["map", *args, "-o", str(out), "-q"])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_map_command_refuses_other_formats(tmp_path):
    r = CliRunner().invoke(main, ["map", "england", "-o", str(tmp_path / "m.png")])
    assert r.exit_code == 2 and "write the map as .html" in r.output


@needs_chromium
def test_clicking_a_service_in_chromium_shows_its_parameters(england_map, tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = england_map.write(tmp_path / "map.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file:") else None)
            page.goto(page_file.as_uri())
            page.wait_for_selector("body[data-ready='1']")
            xy = page.evaluate(
                "() => { const n = window.upstreamMap.network; n.focus('service:IAPT', {scale: 1.0});"
                " return n.canvasToDOM(n.getPositions(['service:IAPT'])['service:IAPT']); }"
            )
            box = page.locator("#map").bounding_box()
            page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
            page.wait_for_function("document.body.getAttribute('data-selected') === 'service:IAPT'")
            assert page.text_content("#panel-title") == "IAPT"
            cells = page.locator("#panel-table td").all_text_contents()
            assert "success" in cells and "Strategy Unit" in " ".join(cells)
            assert outside == []
        finally:
            browser.close()
