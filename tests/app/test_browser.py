"""One real-browser check: ``streamlit run app.py`` on localhost, driven by Playwright on Debian's Chromium.

Skipped (with the reason) where /usr/bin/chromium is missing — except in CI (``CI`` set), where it must run.
Writes ``test-artifacts/app-compare.png`` (and ``app-compare-small-batch.png`` after the change).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
STARTUP_SECONDS = 60
RUN_SECONDS = 120

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"streamlit exited early:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("streamlit did not answer its health check in time")


@pytest.fixture
def server():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: install Debian's chromium package")
        pytest.skip("no /usr/bin/chromium on this machine (install Debian's chromium package to run it)")
    pytest.importorskip("playwright.sync_api")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_health(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_idle(page) -> None:
    """Streamlit marks its app container with the script's state; charts draw just after the run ends."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=RUN_SECONDS * 1000)
    page.wait_for_timeout(1000)


def metric_values(page) -> list[str]:
    return page.locator('[data-testid="stMetricValue"]').all_inner_texts()


def full_screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside its main block: grow the viewport to it so the whole page is captured."""
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": 1400, "height": int(height) + 40})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_compare_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server}/?reps=3&days=28")
            page.wait_for_selector('[data-testid="stMetric"]', timeout=RUN_SECONDS * 1000)
            wait_until_idle(page)
            before = metric_values(page)
            assert len(before) == 5 and all(before)
            # bands are written in words, not colour alone: baseline Low, elite Elite
            expect(page.get_by_text("Low", exact=True).first).to_be_visible()
            expect(page.get_by_text("Elite", exact=True).first).to_be_visible()
            assert not page.locator('[data-testid="stException"]').count()
            full_screenshot(page, ARTIFACTS / "app-compare.png")

            page.locator('[data-testid="stSelectbox"]').filter(has_text="Scenario (what you tune)").click()
            page.get_by_role("option", name="small_batch", exact=True).click()
            page.wait_for_function(
                "(before) => { const v = [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
                ".map(e => e.innerText); return v.length === 5 && v.join('|') !== before.join('|'); }",
                arg=before, timeout=RUN_SECONDS * 1000)
            wait_until_idle(page)
            after = metric_values(page)
            assert after != before
            assert "scenario=small_batch" in page.url
            assert not page.locator('[data-testid="stException"]').count()
            full_screenshot(page, ARTIFACTS / "app-compare-small-batch.png")
        finally:
            browser.close()
    assert (ARTIFACTS / "app-compare.png").stat().st_size > 10_000
