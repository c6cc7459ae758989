"""The map at a million rows in a real Chromium: a sandbox with `--atlas-points 1000000`, the
app's demo Atlas dataset at the same size (`TAGGING_DEMO_ATLAS_POINTS`), a mouse-drawn lasso
round the cs.LG cluster. The browser draws a sample over a density layer, yet the page selects
exactly the rows `points_in_polygon` finds inside the polygon plotly reported among ALL
1,000,000 rows (more than the map draws in total), and the push tags exactly those ids.
Takes about a minute and a half on two cores, most of it the first load and the push."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, Sandbox, free_port
from playwright.sync_api import Page, expect, sync_playwright
from test_browser_map import LISTEN, PLOT, TO_PIXELS, drag_lasso, parse_path, selected_count

from tagging.demo import ATLAS_POINTS_VAR, ATLAS_PROJECTION_ID, atlas_frame
from tagging.maps import MAX_DRAWN
from tagging.selection import points_in_polygon

pytestmark = pytest.mark.browser
POINTS = 1_000_000
LONG = 120_000  # ms: a million-row rerun on two busy cores


@pytest.fixture
def big_sandbox(sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    return sandbox_factory("--atlas-points", str(POINTS))


@pytest.fixture
def big_app_url(big_sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on the million-point sandbox, its demo at the same size."""
    port = free_port()
    env = {
        **os.environ,
        **big_sandbox.env(),
        "TAGGING_JOURNAL": str(tmp_path / "journal.db"),
        ATLAS_POINTS_VAR: str(POINTS),
    }
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not answer /_stcore/health within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def settle(page: Page, timeout: float = LONG) -> None:
    """Wait until the script run an interaction started has finished (a million rows: long)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_timeout(200)


def test_lasso_at_a_million_rows_tags_every_row_inside(
    big_app_url: str, big_sandbox: Sandbox
) -> None:
    frame = atlas_frame(POINTS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(LONG)
        page.goto(big_app_url)
        settle(page)
        expect(page.get_by_text(f"{POINTS:,} points of the demo Atlas map").first).to_be_visible(
            timeout=LONG
        )
        page.get_by_test_id("stSidebarNav").get_by_text("Tag", exact=True).click()
        settle(page)
        expect(page.get_by_text(f"Map of {POINTS:,} rows")).to_be_visible(timeout=LONG)
        expect(page.get_by_text(f"of {POINTS:,} filtered rows (a sample per colour")).to_be_visible(
            timeout=LONG
        )
        plot = page.locator(PLOT)
        expect(plot).to_be_visible(timeout=LONG)
        plot.scroll_into_view_if_needed()
        page.wait_for_timeout(3000)  # let WebGL paint the sample
        page.evaluate(LISTEN)
        plot.hover()
        page.locator('.modebar-btn[data-attr="dragmode"][data-val="lasso"]').click()
        centre = frame.loc[frame["field"] == "cs.LG", ["x", "y"]].median()
        t = [2 * math.pi * i / 40 for i in range(40)]
        xs = [float(centre["x"]) + 2.4 * math.cos(a) for a in t]
        ys = [float(centre["y"]) + 2.4 * math.sin(a) for a in t]
        drag_lasso(page, page.evaluate(TO_PIXELS, [xs, ys]))
        settle(page)
        path = page.evaluate("() => window.__lasso")
        assert path, "plotly reported no lasso"
        polygon = parse_path(path)
        inside = points_in_polygon(frame["x"].to_numpy(), frame["y"].to_numpy(), polygon)
        wanted = set(frame.loc[inside, "id"])
        # More rows than the map draws in all: the selection cannot come from drawn points.
        assert MAX_DRAWN < len(wanted) < 200_000
        expect(page.get_by_text(f"{len(wanted):,} selected")).to_be_visible(timeout=LONG)
        assert selected_count(page) == len(wanted)

        new = page.get_by_role("textbox", name="New tags (comma separated)")
        new.fill("cs.LG cluster")
        new.press("Enter")
        settle(page)
        page.get_by_role("button", name=f"Push {len(wanted):,} ids").click()
        applied = page.get_by_test_id("stMetric").filter(
            has=page.get_by_text("Applied", exact=True)
        )
        expect(applied.first.get_by_test_id("stMetricValue")).to_have_text(
            f"{len(wanted):,}", timeout=4 * LONG
        )
        state = big_sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["cs.LG cluster"]
        assert len(state) == len(wanted)
        assert set(state) == wanted
        browser.close()
