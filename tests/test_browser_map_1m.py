"""The map at a million rows in a real Chromium: a sandbox with `--atlas-points 1000000`, the
app's demo Atlas dataset at the same size (`TAGGING_DEMO_ATLAS_POINTS`), a mouse-drawn lasso
round the cs.LG cluster. The browser draws a sample over a density layer, yet the page selects
exactly the rows `points_in_polygon` finds inside the polygon plotly reported among ALL
1,000,000 rows (more than the map draws in total), and the push tags exactly those ids.
Takes about a minute and a half on two cores, most of it the first load and the push."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from app_server import running_app
from conftest import CHROMIUM, CHROMIUM_ARGS, Sandbox
from playwright.sync_api import Page, expect, sync_playwright
from test_browser_map import PLOT, lasso_cs_lg, selected_count

from tagging.demo import ATLAS_POINTS_VAR, ATLAS_PROJECTION_ID, atlas_frame
from tagging.maps import MAX_DRAWN

pytestmark = pytest.mark.browser
POINTS = 1_000_000
LONG = 120_000  # ms: a million-row rerun on two busy cores


@pytest.fixture
def big_sandbox(sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    return sandbox_factory("--atlas-points", str(POINTS))


@pytest.fixture
def big_app_url(big_sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on the million-point sandbox, its demo at the same size."""
    env = {
        **os.environ,
        **big_sandbox.env(),
        "TAGGING_JOURNAL": str(tmp_path / "journal.db"),
        ATLAS_POINTS_VAR: str(POINTS),
    }
    with running_app(env) as url:
        yield url


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
        wanted, polygon = lasso_cs_lg(page, plot, frame, settle)
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
