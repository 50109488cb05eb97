"""The app in a real browser: ``streamlit run app.py`` on localhost, driven by Playwright on Debian's Chromium.

Walks every view at 1440×900 and at a 1280×720 projector and saves a screenshot of each under
``test-artifacts/`` (``<view>-<width>x<height>.png``, plus full-page ``<view>-full.png``): look at them.
Visual regression: at 1280×720 every view and every workshop step (run) is compared with its reference in
``docs/screenshots/`` (half size, so font antialiasing averages out) and must stay within a mean pixel
difference of ``MAX_MEAN_DIFF``; ``DORASIM_UPDATE_SCREENSHOTS=1`` rewrites the references after a change
made on purpose (look at them before committing).
Checks what a screenshot alone cannot prove: no exception on any view, Compare's five cards with their
whole labels and numbers visible without scrolling at 1280×720, a tuned change moves the cards, a shared
link opens the results. Skipped (with the reason) where /usr/bin/chromium is missing — except in CI
(``CI`` set), where it must run.
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
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
STARTUP_SECONDS = 60
RUN_SECONDS = 120
SIZES = ((1440, 900), (1280, 720))
VIEWS = ("compare", "forecast", "plan", "learn", "levers", "events", "data", "share")
TINY = "reps=4&days=28"
# Forecast's start and target pinned (by default the work starts on the coming Monday, a date that moves)
PINNED = "forecast.start=2026-03-02&forecast.target=2026-03-30&forecast.reps=20"
REFERENCES = ROOT / "docs" / "screenshots"
MAX_MEAN_DIFF = (
    2.0  # mean absolute difference per channel (0–255) at half size; a changed sentence costs ~0.7
)
WORKSHOP_STEPS = 6
SERVER_PIDS: list[int] = []

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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: install Debian's chromium package")
        pytest.skip("no /usr/bin/chromium on this machine (install Debian's chromium package to run it)")
    pytest.importorskip("playwright.sync_api")
    port = free_port()
    # as hosted: the shared pool warms up and the shipped scenarios are stored in the background
    env = {
        **os.environ,
        "DORASIM_CACHE_DIR": str(tmp_path_factory.mktemp("store")),
        "PYTHONPATH": str(ROOT),
        "DORASIM_NO_WARMUP": "0",
    }
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
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    SERVER_PIDS.append(process.pid)
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


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


DRAWN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.body.innerText.includes('first estimate from')) return false;
  return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(c => c.querySelector('svg, canvas'));
}"""


def wait_until_drawn(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_function(DRAWN, timeout=RUN_SECONDS * 1000, polling=100)
    page.wait_for_timeout(600)


def assert_no_exception(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]').all_inner_texts()
    assert not errors, f"{where}: {errors[0][:500]}"


def half_size(png: bytes):
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.BOX)


def matches_reference(page, name: str) -> str | None:
    """Compare the page (1280×720) with its reference; returns what is wrong, or None."""
    import numpy as np
    from PIL import Image

    page.mouse.move(0, 0)  # no hover: a tooltip or toolbar is not part of the picture
    page.wait_for_timeout(300)
    shot = half_size(page.screenshot())
    reference = REFERENCES / f"{name}.png"
    shot.save(ARTIFACTS / f"{name}-half.png", optimize=True)
    if os.environ.get("DORASIM_UPDATE_SCREENSHOTS") == "1":  # a palette of 256 keeps a reference small
        REFERENCES.mkdir(parents=True, exist_ok=True)
        shot.quantize(colors=256, dither=Image.Dither.NONE).save(reference, optimize=True)
        return None
    if not reference.exists():
        return f"{name}: no reference {reference.relative_to(ROOT)} (DORASIM_UPDATE_SCREENSHOTS=1 writes it)"
    expected = np.asarray(Image.open(reference).convert("RGB"), dtype=float)
    got = np.asarray(shot, dtype=float)
    if expected.shape != got.shape:
        return f"{name}: {got.shape[1]}x{got.shape[0]} against the reference's {expected.shape[1]}x{expected.shape[0]}"
    diff = float(np.abs(expected - got).mean())
    with open(ARTIFACTS / "screenshot-differences.txt", "a", encoding="utf-8") as log:
        log.write(f"{name}\t{diff:.2f}\n")
    if diff > MAX_MEAN_DIFF:
        Image.fromarray(np.abs(expected - got).astype("uint8")).save(ARTIFACTS / f"{name}-diff.png")
        return (
            f"{name}: mean pixel difference {diff:.1f} > {MAX_MEAN_DIFF} (see test-artifacts/{name}-diff.png)"
        )
    return None


def full_screenshot(page, path: Path, width: int) -> None:
    """Streamlit scrolls inside its main block: grow the viewport to it so the whole page is captured."""
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight"
    )
    page.set_viewport_size({"width": width, "height": int(height) + 40})
    page.wait_for_timeout(1200)
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_view_draws_without_errors_and_is_captured(server, browser, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    changed = []
    for view in VIEWS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{server}/?view={view}&{TINY}&{PINNED}")
        wait_until_drawn(page)
        if view == "learn":  # the first workshop step, run
            page.get_by_role("button", name="Run it").click()
            wait_until_drawn(page)
        assert_no_exception(page, view)
        page.screenshot(path=str(ARTIFACTS / f"{view}-{width}x{height}.png"))
        if width == 1280 and view != "learn":  # the workshop's steps are compared one by one below
            changed.append(matches_reference(page, view))
        if width == 1440:
            full_screenshot(page, ARTIFACTS / f"{view}-full.png", width)
    page.close()
    changed = [c for c in changed if c]
    assert not changed, "\n".join(changed)


def test_every_workshop_step_ends_on_its_picture_within_a_projector(server, browser):
    """Each step, run, at 1280×720: question, chart and discussion all visible, and as in its reference."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{server}/?view=learn&{TINY}")
    wait_until_drawn(page)
    changed = []
    for step in range(1, WORKSHOP_STEPS + 1):
        page.locator('[data-testid="stButtonGroup"] button').nth(step - 1).click()
        wait_until_drawn(page)
        page.get_by_role("button", name="Run it").click()
        wait_until_drawn(page)
        assert_no_exception(page, f"workshop step {step}")
        for testid in ("stAlertContentInfo", "stAlertContentSuccess", "stVegaLiteChart"):
            box = page.locator(f'[data-testid="{testid}"]').first.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720, (
                f"step {step}: {testid} is not wholly on a 1280x720 screen ({box})"
            )
        page.screenshot(path=str(ARTIFACTS / f"learn-{step}-1280x720.png"))
        changed.append(matches_reference(page, f"learn-{step}"))
    page.close()
    changed = [c for c in changed if c]
    assert not changed, "\n".join(changed)


def test_compare_cards_are_whole_and_visible_on_a_projector(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{server}/?{TINY}")
    wait_until_drawn(page)
    values = page.locator('[data-testid="stMetricValue"]')
    labels = page.locator('[data-testid="stMetricLabel"]')
    # a cold first load may report "not running" before its first run has drawn anything: wait for the cards
    values.nth(4).wait_for(timeout=RUN_SECONDS * 1000)
    wait_until_drawn(page)
    assert values.count() == 5
    for i in range(5):
        box = values.nth(i).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720, "a card's number is below the fold"
        label = labels.nth(i)
        # the label is not cut: its text fits in the element (no ellipsis)
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), label.inner_text()
        value = values.nth(i)
        assert value.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), value.inner_text()
    page.close()


def test_a_tuned_lever_moves_the_cards_and_the_link(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{server}/?scenario=small_batch&{TINY}")
    wait_until_drawn(page)
    before = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    lever = page.locator('input[type="range"][aria-label^="Most changes per deployment"]').first
    lever.focus()
    for _ in range(5):
        lever.press("ArrowRight")
    page.get_by_role("button", name="Run the comparison").first.click()
    page.wait_for_function(
        "(before) => { const v = [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
        ".map(e => e.innerText); return v.length === 5 && v.join('|') !== before.join('|'); }",
        arg=before,
        timeout=RUN_SECONDS * 1000,
    )
    wait_until_drawn(page)
    assert "release.max_batch_size=15" in page.url
    assert_no_exception(page, "tuned compare")
    page.close()


def test_the_share_link_opens_the_results(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{server}/?view=plan&{TINY}")
    wait_until_drawn(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("Share", exact=True).click()
    wait_until_drawn(page)
    link = page.locator('[data-testid="stCode"]').first.inner_text().strip()
    assert link.startswith(server + "/?") and "view=plan" in link
    page.goto(link)
    wait_until_drawn(page)
    assert (
        page.get_by_text("Probability of being Elite", exact=False).count()
        or page.locator('[data-testid="stVegaLiteChart"]').count() >= 6
    )
    assert_no_exception(page, "shared link")
    page.close()


def test_the_server_runs_one_pool_and_no_pool_of_pools(server):
    """After every view has run: the server's processes are its resource tracker, one fork server and its
    workers — no worker started processes of its own (each re-imports the app's script)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the process tree from ps")
    parents: dict[int, int] = {}
    for line in subprocess.run(
        ["ps", "-eo", "pid,ppid,stat"], capture_output=True, text=True
    ).stdout.splitlines()[1:]:
        pid, ppid, stat = line.split()
        if not stat.startswith("Z"):
            parents[int(pid)] = int(ppid)

    def depth(pid: int) -> int | None:
        steps = 0
        while pid in parents and pid != SERVER_PIDS[-1]:
            pid, steps = parents[pid], steps + 1
        return steps if pid == SERVER_PIDS[-1] else None

    family = {pid: d for pid in parents if (d := depth(pid)) not in (None, 0)}
    assert family, "the server started no pool"
    assert max(family.values()) <= 2, family
    assert len(family) <= 2 + 2 * 2, family  # resource tracker, fork server, at most two pools of two
