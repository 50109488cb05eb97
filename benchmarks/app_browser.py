"""How fast the app feels in a real browser: ``python benchmarks/app_browser.py``.

Starts ``streamlit run app.py`` on a free local port (or uses ``--url``), drives Debian's Chromium
through Playwright and prints, in seconds:

- **first screen, cold**: a fresh server, the page requested → the first sign of work (a progress
  bar or a card) and → Compare's five cards with numbers;
- **first screen, warm**: a new browser session on the same server → the five cards;
- **tuned change**: on Compare (elite, 20 replications of 90 days) a lever is changed and *Run* pressed →
  the cards show the new numbers and every chart is drawn (median of ``--changes`` different values);
- **revisit**: each view opened a second time → its content drawn.

A measurement, not a test: it prints numbers and exits 0 (docs/app.md gives the latest figures).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
TIMEOUT_MS = 180_000

# The page is "drawn" when the script has finished and every chart holds its SVG or canvas.
DRAWN_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  if (document.body.innerText.includes('first estimate from')) return false;  // a refinement still to come
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"], .stVegaLiteChart')];
  return charts.every(c => c.querySelector('svg, canvas'));
}"""
CARDS_JS = """(before) => {
  const v = [...document.querySelectorAll('[data-testid="stMetricValue"]')].map(e => e.innerText);
  return v.length >= 5 && v.every(x => x.trim()) && v.join('|') !== before;
}"""
# A rerun is over when the app has been seen running since the mark and is idle again with its charts drawn.
WATCH_JS = """() => {
  window.__sawRunning = false;
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__sawRunning = true;
  }).observe(app, {attributes: true});
}"""
RERUN_DONE_JS = "() => window.__sawRunning && (" + DRAWN_JS + ")()"
# A first estimate is drawn when its note is on screen and every chart holds its SVG or canvas.
ESTIMATE_DRAWN_JS = """() => {
  if (!window.__sawRunning || !document.body.innerText.includes('first estimate from')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"], .stVegaLiteChart')];
  return charts.length >= 7 && charts.every(c => c.querySelector('svg, canvas'));
}"""
SIGN_OF_WORK_JS = """() => !!document.querySelector(
  '[data-testid="stProgress"], [data-testid="stMetricValue"], [data-testid="stStatusWidget"]')
  || document.body.innerText.includes('Starting the simulator')"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _values(page) -> str:
    return "|".join(page.locator('[data-testid="stMetricValue"]').all_inner_texts())


def first_screen(browser, url: str) -> tuple[float, float]:
    """(seconds to the first sign of work, seconds to five cards with numbers) on a new session."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    started = time.perf_counter()
    page.goto(url + "/", wait_until="commit")
    page.wait_for_function(SIGN_OF_WORK_JS, timeout=TIMEOUT_MS, polling=50)
    sign = time.perf_counter() - started
    page.wait_for_function(CARDS_JS, arg="", timeout=TIMEOUT_MS, polling=50)
    cards = time.perf_counter() - started
    page.close()
    return sign, cards


def _rerun(page, action, first: str | None = None) -> tuple[float, float]:
    """Seconds from ``action()`` (a click) to ``first`` holding (default: the rerun drawn) and to the page idle
    and drawn."""
    page.evaluate(WATCH_JS)
    started = time.perf_counter()
    action()
    condition = RERUN_DONE_JS if first is None else f"() => ({first})() || ({RERUN_DONE_JS})()"
    page.wait_for_function(condition, timeout=TIMEOUT_MS, polling=20)
    shown = time.perf_counter() - started
    try:
        page.wait_for_function(RERUN_DONE_JS, timeout=TIMEOUT_MS, polling=20)
    except Exception:
        errors = page.locator('[data-testid="stException"]').all_inner_texts()
        page.screenshot(path=str(ROOT / "test-artifacts" / "bench-timeout.png"))
        raise RuntimeError(f"the page did not finish: {errors[:1] or 'no error on screen'}") from None
    return shown, time.perf_counter() - started


def tuned_changes(browser, url: str, changes: int) -> list[tuple[float, float]]:
    """(first estimate drawn, refined result drawn) in seconds from pressing Run after moving the CI-runners
    lever: the cards and every chart, first from a few replications, then from all 20 (a refinement fast
    enough to replace the estimate before it is seen counts as the first result)."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?view=compare&scenario=elite&reps=20&days=90")
    page.wait_for_function(CARDS_JS, arg="", timeout=TIMEOUT_MS)
    page.wait_for_function(DRAWN_JS, timeout=TIMEOUT_MS)
    lever = page.locator('input[type="range"][aria-label^="CI runners"]').first
    run = page.get_by_role("button", name="Run the comparison").first
    times = []
    for _ in range(min(changes, 7)):
        before = lever.get_attribute("aria-valuetext")
        lever.focus()
        lever.press("ArrowLeft")  # one runner fewer each time (8 → 7 → … → 1): never a value seen before
        page.wait_for_function(
            "([e, v]) => e.getAttribute('aria-valuetext') !== v", arg=[lever.element_handle(), before]
        )
        times.append(_rerun(page, run.click, ESTIMATE_DRAWN_JS))
    page.close()
    return times


def revisits(browser, url: str) -> dict[str, float]:
    """Seconds to draw each view the second time it is opened from the sidebar (its results computed once)."""
    from dorasim_app.state import VIEWS

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/")
    page.wait_for_function(CARDS_JS, arg="", timeout=TIMEOUT_MS)
    page.wait_for_function(DRAWN_JS, timeout=TIMEOUT_MS)
    out = {}
    sidebar = page.locator('[data-testid="stSidebar"]')

    def open_view(view: str) -> float:
        return _rerun(page, lambda: sidebar.get_by_text(VIEWS[view], exact=True).click())[1]

    for view in VIEWS:  # first visits compute what each view needs
        if view != "compare":
            open_view(view)
    for view in [v for v in VIEWS if v != "compare"] + ["compare"]:
        out[view] = open_view(view)
    page.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/app_browser.py", description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=7, help="tuned changes to time (at most 7, default 7)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as cache:
        # a cold start: an empty result store, as on a fresh install
        env = {**os.environ, "DORASIM_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                with streamlit_server(env) as url:
                    cold_sign, cold_cards = first_screen(browser, url)
                    warm = [first_screen(browser, url)[1] for _ in range(3)]
                    tuned = tuned_changes(browser, url, args.changes)
                    again = revisits(browser, url)
                with streamlit_server(env) as url:  # a restarted server: results kept on disk
                    restart_sign, restart_cards = first_screen(browser, url)
            finally:
                browser.close()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min) at the end")
    print(
        f"first screen, cold server (empty store): first sign of work {cold_sign:.2f} s, cards {cold_cards:.2f} s"
    )
    print(
        f"first screen, restarted server (stored results): first sign {restart_sign:.2f} s, "
        f"cards {restart_cards:.2f} s"
    )
    print(
        f"first screen, warm server: median {statistics.median(warm):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in warm)})"
    )
    first = [a for a, _ in tuned]
    final = [b for _, b in tuned]
    print(
        f"tuned change, elite 20 x 90 days: first estimate drawn median {statistics.median(first):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in first)}); all 20 replications drawn median "
        f"{statistics.median(final):.2f} s ({', '.join(f'{t:.2f}' for t in final)})"
    )
    for view, seconds in again.items():
        print(f"revisit {view:<9} {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
