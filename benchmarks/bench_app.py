"""The web app measured from a real browser (headless Debian chromium through Playwright).

Prints ``name: value unit`` lines:

- ``app_first_page_ready``: from starting ``upstream app england`` to the Model page showing
  the model in the browser (target <= 3 s);
- ``app_first_chart_shown``: the same start to the group's referral chart shown (the first
  run and the first figure follow the page, in the session's second flush);
- ``app_rerun_after_slider``: moving the "% of the group at risk" slider to the group's
  referral chart showing the new run (edit, rebuild, deterministic England run, figure,
  browser), median of several moves (target <= 300 ms);
- ``app_ensemble_1000_run_and_draw``: clicking "Run ensemble" with 1,000 members to the fan
  chart shown;
- ``app_ensemble_1000_redraw``: choosing another output of the finished 1,000-member
  ensemble to its fan chart shown, median of several (target <= 2 s).

Run: ``.venv/bin/python benchmarks/bench_app.py`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# Debian's Chromium and the flags that start it here: one definition, the browser tests'
from browser import BROWSER_ARGS, CHROMIUM  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def src(page, output_id: str) -> str:
    return page.locator(f"#{output_id} img").get_attribute("src") or ""


def wait_change(page, output_id: str, before: str, timeout: float = 60.0) -> None:
    page.wait_for_function(
        "([id, b]) => { const i = document.querySelector('#' + id + ' img');"
        " return i && i.getAttribute('src') && i.getAttribute('src') !== b; }",
        arg=[output_id, before],
        timeout=timeout * 1000,
        polling="raf",
    )


def first_page(page, port: int) -> tuple[subprocess.Popen, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "app", "england", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    page.goto(url)
    page.wait_for_selector("#m-status:has-text('England')")
    ready = time.perf_counter() - t0
    page.locator("#m_group_plot img").wait_for()
    return proc, ready, time.perf_counter() - t0


def slider_reruns(page, moves: int = 7) -> list[float]:
    page.locator("#m_group_plot img").wait_for()
    out = []
    for k in range(moves):
        before = src(page, "m_group_plot")
        value = 20 + 5 * k
        t0 = time.perf_counter()
        page.evaluate(f"$('#m_pcnt').data('ionRangeSlider').update({{from: {value}}})")
        wait_change(page, "m_group_plot", before)
        out.append(time.perf_counter() - t0)
    return out


def ensemble(page, redraws: int = 4) -> tuple[float, list[float]]:
    page.get_by_role("tab", name="Results").click()
    page.locator("#r_service_plot img").wait_for()
    page.fill("#r_members", "1000")
    t0 = time.perf_counter()
    page.click("#r_run")
    page.locator("#r_fan img").wait_for(timeout=300_000)
    run_draw = time.perf_counter() - t0
    times = []
    outputs = ["caseload", "contacts", "referrals", "caseload", "contacts"][:redraws]
    for out in outputs:
        before = src(page, "r_fan")
        t0 = time.perf_counter()
        page.select_option("#r_output", out)
        wait_change(page, "r_fan", before)
        times.append(time.perf_counter() - t0)
    return run_draw, times


def main() -> None:
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="bench-app-chromium-"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        ctx.set_default_timeout(120_000)
        page = ctx.new_page()
        proc, ready, chart = first_page(page, free_port())
        try:
            print(f"app_first_page_ready: {ready:.2f} s")
            print(f"app_first_chart_shown: {chart:.2f} s")
            reruns = slider_reruns(page)
            print(f"app_rerun_after_slider: {1000 * statistics.median(reruns):.0f} ms")
            print(f"app_rerun_after_slider_max: {1000 * max(reruns):.0f} ms")
            run_draw, redraws = ensemble(page)
            print(f"app_ensemble_1000_run_and_draw: {run_draw:.2f} s")
            print(f"app_ensemble_1000_redraw: {statistics.median(redraws):.2f} s")
        finally:
            ctx.close()
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
