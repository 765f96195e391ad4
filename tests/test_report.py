"""The board report (issue 15, item 2): every section, nothing fetched, the headline equals the API's."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser import BROWSER_ARGS, CHROMIUM, needs_chromium
from click.testing import CliRunner

from simulator.cli import main
from simulator.files import load_scenario
from simulator.report import build_report
from simulator.report._board_report_page import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "scenarios" / "england-evidence.yaml"
CAPACITY = ROOT / "scenarios" / "england-capacity.yaml"
PACKAGES = ["upstream-mix", "downstream-capacity"]
MEMBERS = 64


class Page(HTMLParser):
    """Sections, headings, links, headline cards and table cells of a report."""

    def __init__(self):
        super().__init__()
        self.sections: list[str] = []
        self.h2: list[str] = []
        self.links: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.cards: dict[str, list[str]] = {}
        self.cells: dict[str, list[str]] = {}
        self._text: list[str] | None = None
        self._card: str | None = None
        self._section = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(a["id"])
            self._section = a["id"]
        for k in ("src", "href"):
            if k in a:
                self.links.append((tag, k, a[k] or ""))
        if tag == "div" and "data-figure" in a:
            self._card = a["data-figure"]
            self.cards[self._card] = []
        if tag in ("h2", "td") or (tag == "div" and self._card):
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "h2" and self._text is not None:
            self.h2.append("".join(self._text).strip())
        if tag == "td" and self._text is not None:
            self.cells.setdefault(self._section, []).append("".join(self._text).strip())
        if tag == "div" and self._card and self._text is not None:
            self.cards[self._card].append("".join(self._text).strip())
        self._text = None


@pytest.fixture(scope="module")
def report():
    return build_report(EVIDENCE, PACKAGES, members=MEMBERS, seed=7)


@pytest.fixture(scope="module")
def html(report):
    return report.html()


@pytest.fixture(scope="module")
def page(html):
    p = Page()
    p.feed(html)
    return p


def test_every_section_is_present_in_order(page):
    assert page.sections == [sid for sid, _ in SECTIONS]
    assert page.h2 == [heading for _, heading in SECTIONS]


def test_nothing_is_fetched(page, html):
    assert page.links, "the report has images and a table of contents"
    for tag, attr, value in page.links:
        assert value.startswith(("#", "data:")), (tag, attr, value[:80])
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(https?:)?//", html)


def _quantiles(v):
    return [f"{x:,.0f}" for x in np.quantile(v, [0.5, 0.05, 0.95])]


def test_headline_numbers_equal_the_api(report, page):
    members = report.ensemble.members
    assert members.sizes["member"] == MEMBERS
    total = members["referrals_total"].sum("service").to_numpy()
    med, lo, hi = _quantiles(total)
    card = page.cards["referrals_total"]
    assert card[1] == med and card[2] == f"90% interval {lo} to {hi}"
    peak = members["caseload"].sum("service").max("time").to_numpy()
    med, lo, hi = _quantiles(peak)
    card = page.cards["caseload_peak"]
    assert card[1] == med and card[2] == f"90% interval {lo} to {hi}"
    # the whole-system total is the sum of the per-service totals member by member, not of their medians
    table = report.ensemble.table()
    assert float(np.median(total)) != pytest.approx(table["referrals median"].sum(), rel=1e-9)


def test_surge_table_rows_are_the_ensembles(report, page):
    t = report.ensemble.table()
    cells = page.cells["surge-table"]
    first = t.iloc[0]
    assert cells[0] == first["service"]
    lo, hi = [c for c in t.columns if c.startswith("referrals ") and c != "referrals median"][:2]
    assert cells[1] == f"{first['referrals median']:,.0f} ({first[lo]:,.0f} to {first[hi]:,.0f})"
    assert sum(c in set(t["service"]) for c in cells) == len(t) == 34


def test_interventions_are_the_appraisals(report, page):
    a = report.appraisal
    assert a.meta["members"] == MEMBERS
    rows = a.table()
    cells = page.cells["interventions"]
    for _, r in rows.iterrows():
        i = cells.index(r["package"])
        label = a.outcomes["referrals"]
        expected = f"{r[f'{label} median']:,.0f} ({r[f'{label} low']:,.0f} to {r[f'{label} high']:,.0f})"
        assert cells[i + 1] == expected


def test_assumptions_list_every_parameter_and_uncertainty_source(report, page):
    sc = load_scenario(EVIDENCE)
    cells = page.cells["assumptions"]
    names = set(cells)
    spec = sc.model.spec
    assert {p.name for p in spec.params} <= names and {s.name for s in spec.series} <= names
    assert {g.name for g in sc.groups} <= names
    ivs = {iv.name for p in report.packages for iv in p.interventions}
    assert ivs <= names
    illustrative = [g for g in sc.groups if "illustrative assumption" in g.source]
    marked = [c for c in cells if c == "illustrative assumption"]
    assert len(marked) >= len(illustrative) + len(ivs) > 0
    assert any(
        "Costs in pounds: illustrative assumptions" in c for c in cells
    )  # an intervention file's notes


def test_capacity_model_shows_waiting_lists_without_packages():
    rep = build_report(CAPACITY, members=40, seed=3)
    p = Page()
    p.feed(rep.html())
    cells = p.cells["capacity"]
    t = rep.ensemble.table()
    assert "peak waiting median" in t and cells[0] == t.iloc[0]["service"]
    assert any("assumed capacity" == c for c in p.cells["assumptions"])
    assert p.sections == [sid for sid, _ in SECTIONS]
    assert rep.appraisal is None


def test_stratified_model_shows_its_inequality_gaps():
    from simulator.files import load_model

    sc = load_scenario(EVIDENCE)
    sc = sc.with_(model=load_model("england-imd"), name="England by deprivation")
    rep = build_report(sc, ["upstream-mix"], members=24, seed=5)
    p = Page()
    p.feed(rep.html())
    t = rep.equity.table()
    cells = p.cells["inequalities"]
    # who gains: the package's change in the referral gap, member by member, as the appraisal gives it
    g = rep.appraisal.equity_table().iloc[0]
    i = cells.index("Upstream mix")
    change = (
        f"{g['change in SII median']:,.4g} ({g['change in SII low']:,.4g} to {g['change in SII high']:,.4g})"
    )
    assert cells[i + 1] == change and rep.appraisal.equity.attrs["metric"] == "referrals_per_100k"
    sii = t[t["stratum"].str.startswith("SII")].iloc[0]
    i = cells.index(sii["stratum"])
    assert cells[i - 1] == f"{sii['metric']} ({sii['unit']})"
    assert (
        cells[i + 1] == f"{sii['median']:,.4g}" and cells[i + 2] == f"{sii['low']:,.4g} to {sii['high']:,.4g}"
    )
    assert "Q1 most deprived" in cells and rep.equity.meta["members"] == 24
    # the strata's population and multipliers are sources too
    assert "g2c_pcnt by deprivation" in p.cells["assumptions"]


def test_board_report_reuses_runs_and_writes_what_it_returns(report, tmp_path):
    from simulator.report import board_report

    out = tmp_path / "deep" / "r.html"
    out.parent.mkdir()
    text = board_report(
        report.scenario, report.packages, ensemble=report.ensemble, appraisal=report.appraisal, path=out
    )
    assert out.read_text(encoding="utf-8") == text
    p = Page()
    p.feed(text)
    assert p.cards["referrals_total"][1] == f"{report.headline[0].median:,.0f}"
    assert [f.key for f in report.headline][:2] == ["referrals_total", "referrals_peak"]


def test_unstratified_model_says_so(page):
    assert page.cells.get("inequalities") is None  # a note, no table


def test_report_command_writes_the_report_and_prints_the_surge_table(tmp_path):
    out = tmp_path / "r.html"
    args = ["report", str(EVIDENCE), "--package", "upstream-mix", "--members", "32", "-o", str(out), "-q"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "IAPT" in r.output and "Upstream mix" in r.output
    assert out.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--package", "no-such-package"], "no package or intervention"),
        (["--month", "40"], "--month 40: allowed a whole month from 0 to 35"),
    ],
)
def test_report_command_bad_input_exits_2_without_a_file(tmp_path, args, message):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["report", str(EVIDENCE), *args, "--members", "8", "-o", str(out), "-q"])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_report_command_bad_scenario_and_suffix(tmp_path):
    r = CliRunner().invoke(main, ["report", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and not (tmp_path / "r.html").exists()
    r = CliRunner().invoke(main, ["report", str(EVIDENCE), "-o", str(tmp_path / "r.pdf")])
    assert r.exit_code == 2 and "write the report as .html" in r.output


@needs_chromium
def test_report_opens_offline_and_prints_to_pdf_in_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    path = report.write(tmp_path / "report.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            requests: list[str] = []
            failed: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            widths = page.evaluate("() => Array.from(document.images).map(i => i.naturalWidth)")
            assert len(widths) >= 5 and min(widths) > 0  # every embedded figure decoded
            pdf = page.pdf(format="A4", print_background=True)
        finally:
            browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests) and failed == []
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= len(SECTIONS)
