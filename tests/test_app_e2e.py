"""The web app end to end, in a real headless Chromium (Debian's package) driven by Playwright.

The app is started as ``upstream app england --port P`` in a subprocess; every test opens
its own page, which is its own session (its own model and temporary folder).  Screenshots
of every page are saved to the folder printed at the start (``UPSTREAM_ARTIFACTS`` or the
system's temporary folder).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from browser import BROWSER_ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("UPSTREAM_ARTIFACTS", tempfile.gettempdir())) / "upstream-app-e2e"

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, model: str = "england") -> subprocess.Popen:
    """``upstream app MODEL --port PORT`` in a subprocess, returned once it answers."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "app", model, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(ARTIFACTS / "app-stderr.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app stopped; see {ARTIFACTS / 'app-stderr.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the app did not answer within 60 s")


@pytest.fixture(scope="module")
def server(request):
    port = free_port()
    proc = start_app(port)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"app screenshots: {ARTIFACTS}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with playwright_sync.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1400, "height": 1000},
            accept_downloads=True,
        )
        ctx.set_default_timeout(120_000)
        yield ctx
        ctx.close()


@pytest.fixture
def page(server, browser_context):
    """A fresh page (a new session) on the Model page, England loaded."""
    pg = browser_context.new_page()
    pg.goto(server)
    pg.wait_for_selector("#m-status:has-text('England')")
    yield pg
    pg.close()


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def tab(pg, name: str) -> None:
    pg.get_by_role("tab", name=name).click()


def plot_src(pg, output_id: str) -> str:
    """The image a plot output shows now (its data URL), once it has one."""
    img = pg.locator(f"#{output_id} img")
    img.wait_for()
    return img.get_attribute("src") or ""


def wait_src_change(pg, output_id: str, before: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        src = pg.locator(f"#{output_id} img").get_attribute("src") or ""
        if src and src != before:
            return src
        pg.wait_for_timeout(100)
    raise AssertionError(f"{output_id} did not change")


def test_run_england_and_a_curve_change_redraws_the_referral_chart(page):
    shot(page, "model")
    tab(page, "Results")
    before = plot_src(page, "r_service_plot")
    table_before = page.locator("#r_table").inner_text()
    shot(page, "results")
    tab(page, "Model")
    group = page.locator("#m_group").input_value()
    assert group == "Children & young people"
    page.select_option("#m_curve", "Sudden Shock")
    tab(page, "Results")
    after = wait_src_change(page, "r_service_plot", before)
    assert after != before
    # the surge table by service follows the same run: its figures changed too
    page.wait_for_function(
        "t => document.querySelector('#r_table').innerText !== t", arg=table_before, timeout=90_000
    )


def test_ensemble_of_500_members_draws_a_band_then_the_board_report(page, tmp_path):
    tab(page, "Downloads")
    page.wait_for_selector("#d-report-wait")  # no report before the run
    assert page.locator("#d_report").count() == 0
    tab(page, "Results")
    page.fill("#r_members", "500")
    page.click("#r_run")
    page.wait_for_selector("#r-done:has-text('500 members')", timeout=300_000)
    plot_src(page, "r_fan")
    text = page.locator("#r-band").inner_text()
    lo, hi = (float(x.replace(",", "")) for x in re.findall(r"between ([\d,]+) and ([\d,]+)", text)[0])
    assert 0 < lo < hi, text  # a band, not a line: members differ
    shot(page, "results-ensemble")
    tab(page, "Downloads")
    with page.expect_download(timeout=300_000) as dl:
        page.click("#d_report")
    report = tmp_path / "report.html"
    dl.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    assert "England (Upstream app)" in html and "500" in html
    external = [u for u in re.findall(r'(?:src|href)="([^"]*)"', html) if not u.startswith(("#", "data:"))]
    assert external == []


def test_member_cap_says_so(page):
    tab(page, "Results")
    page.fill("#r_members", "999999")
    page.click("#r_run")
    page.wait_for_selector("#r-cap-message:has-text('at most 2,000')")
    page.wait_for_selector("#r-done", timeout=300_000)


def _broken_workbook(path: Path) -> None:
    from openpyxl import load_workbook

    from simulator.app._state import builtin_model
    from simulator.surge._workbook import write_workbook

    write_workbook(builtin_model("england").tables, path)
    wb = load_workbook(path)
    ws = wb["g2c"]
    header = [c.value for c in ws[1]]
    ws.cell(row=3, column=header.index("pcnt") + 1, value=1.7)  # a rate above 1
    wb.save(path)


def test_broken_upload_shows_the_problem_table_and_the_app_keeps_working(page, tmp_path):
    bad = tmp_path / "broken.xlsx"
    _broken_workbook(bad)
    page.set_input_files("#m_upload", str(bad))
    page.wait_for_selector("#m_problems")
    problems = page.locator("#m_problems").inner_text()
    assert "g2c" in problems and "pcnt" in problems and "3" in problems
    assert "not loaded" in page.locator("#m-message").inner_text()
    assert "England" in page.locator("#m-status").inner_text()
    shot(page, "model-broken-upload")
    # still working: load another model and run it
    page.select_option("#m_builtin", "mersey-care")
    page.click("#m_load")
    page.wait_for_selector("#m-status:has-text('mersey-care')")
    tab(page, "Results")
    plot_src(page, "r_service_plot")


def test_compare_two_packages(page):
    tab(page, "Interventions")
    page.check("input[value='community-first']")
    page.check("input[value='prevention-first']")
    page.fill("#i_members", "100")
    page.click("#i_run")
    page.wait_for_selector("#i-done", timeout=300_000)
    table = page.locator("#i_table").inner_text()
    assert "Community first" in table and "Prevention first" in table
    plot_src(page, "i_frontier")
    plot_src(page, "i_averted")
    shot(page, "interventions")


def test_downloaded_workbook_equals_the_command_line_output(page, tmp_path):
    tab(page, "Downloads")
    with page.expect_download() as dl:
        page.click("#d_xlsx")
    got = tmp_path / "app.xlsx"
    dl.value.save_as(got)
    shot(page, "downloads")
    cli = tmp_path / "cli.xlsx"
    subprocess.run(
        [sys.executable, "-m", "simulator.cli", "run", "england", "-o", str(cli), "--quiet"],
        check=True,
        cwd=ROOT,
    )
    a = pd.read_excel(got, sheet_name=None)
    b = pd.read_excel(cli, sheet_name=None)
    assert list(a) == list(b)
    for sheet in a:
        pd.testing.assert_frame_equal(a[sheet], b[sheet], check_exact=True)


def test_system_map_click_a_service(page):
    tab(page, "System map")
    frame = page.frame_locator("#s-map")
    frame.locator("body[data-ready='1']").wait_for()
    shot(page, "system-map")
    el = page.locator("#s-map").element_handle()
    f = el.content_frame()
    target = f.evaluate(
        """() => {
        const m = window.upstreamMap, n = m.data.nodes.find(x => x.label === 'IAPT');
        const p = m.network.getPositions([n.id])[n.id];
        m.network.focus(n.id, {scale: 1.0});
        const q = m.network.canvasToDOM(m.network.getPositions([n.id])[n.id]);
        const r = document.getElementById('map').getBoundingClientRect();
        return {id: n.id, x: q.x + r.left, y: q.y + r.top, p: p};
    }"""
    )
    box = el.bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    frame.locator("#panel-title:has-text('IAPT')").wait_for()
    assert frame.locator("#panel-table tbody tr").count() > 0
    shot(page, "system-map-clicked")


def test_other_pages_render(page):
    tab(page, "Capacity")
    page.wait_for_selector("#c-none")
    shot(page, "capacity")
    tab(page, "Calibration")
    page.wait_for_selector("#k_run")
    shot(page, "calibration")
    tab(page, "Inequalities")
    page.wait_for_selector("#q-none")  # England has no strata: the page says which models do
    shot(page, "inequalities")


def test_sessions_are_isolated_and_their_folders_removed(page, browser_context, server, tmp_path):
    import uuid

    other = browser_context.new_page()
    other.goto(server)
    other.wait_for_selector("#m-status:has-text('England')")
    # an upload lands in this session's own temporary folder
    name = f"mine-{uuid.uuid4().hex[:8]}.yaml"
    from simulator.app._state import builtin_model
    from simulator.surge._yamlfile import write_surge_yaml

    write_surge_yaml(builtin_model("mersey-care").tables, tmp_path / name)
    page.set_input_files("#m_upload", str(tmp_path / name))
    page.wait_for_selector(f"#m-status:has-text('{name}')")
    folders = [p for p in Path(tempfile.gettempdir()).glob("upstream-app-*") if (p / name).exists()]
    assert len(folders) == 1
    # the other session, open all along, still has England: nothing of this session reached it
    other.wait_for_timeout(2000)
    assert "England" in other.locator("#m-status").inner_text()
    assert name not in other.locator("body").inner_text()
    other.close()
    page.close()
    deadline = time.monotonic() + 60
    while folders[0].exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not folders[0].exists()  # removed when the session ended


def test_upload_above_the_limit_is_refused_before_it_is_sent(page, tmp_path):
    from simulator.app._state import UPLOAD_LIMIT_BYTES

    big = tmp_path / "huge.xlsx"
    with big.open("wb") as f:
        f.truncate(UPLOAD_LIMIT_BYTES + 1024**2)
    page.set_input_files("#m_upload", str(big))
    page.wait_for_selector('#m-message:has-text("above the app\'s limit")')
    assert "England" in page.locator("#m-status").inner_text()
    assert not [p for p in Path(tempfile.gettempdir()).glob("upstream-app-*") if (p / "huge.xlsx").exists()]
    shot(page, "model-upload-too-big")
