"""The main flow in a real Chromium (Playwright): open the app on the Atlas demo, filter,
select all filtered rows, pick a tag, preview, push, see the result and the history entry,
then check the sandbox. Screenshots land in docs/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import running_app
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, Sandbox
from playwright.sync_api import Page, expect, sync_playwright

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame

pytestmark = pytest.mark.browser
# Screenshots go to test-results/ (ignored); `make screenshots` refreshes the README's docs/.
SHOTS = ROOT / os.environ.get("TAGGING_SCREENSHOTS", "test-results")


@pytest.fixture
def app_url(sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` against the test sandbox and a fresh journal."""
    env = {**os.environ, **sandbox.env(), "TAGGING_JOURNAL": str(tmp_path / "journal.db")}
    with running_app(env) as url:
        yield url


def settle(page: Page) -> None:
    """Wait until the script run that an interaction started has finished."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(200)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


def metric(page: Page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    return box.first.get_by_test_id("stMetricValue").inner_text().strip()


def test_main_flow_in_chromium(app_url: str, sandbox: Sandbox) -> None:
    frame = atlas_frame()
    wanted = frame.loc[frame["field"] == "cs.LG", "id"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(app_url)
        settle(page)
        # the app opens on the Atlas demo, in the sandbox
        expect(page.get_by_text("Atlas: research paper excerpts").first).to_be_visible()
        assert metric(page, "Rows") == "10,000"
        expect(page.get_by_test_id("stSidebar").get_by_text("sandbox").first).to_be_visible()
        page.wait_for_timeout(1000)  # let the preview grid paint its canvas
        shot(page, "dataset.png")

        page.get_by_test_id("stSidebarNav").get_by_text("Tag", exact=True).click()
        settle(page)
        # filter: field = cs.LG
        page.get_by_test_id("stSelectbox").filter(has_text="Column").click()
        page.keyboard.type("field")
        page.keyboard.press("Enter")
        settle(page)
        page.get_by_test_id("stSelectbox").filter(has_text="Condition").click()
        page.get_by_role("option", name="=", exact=True).click()
        settle(page)
        value = page.get_by_label("Value", exact=True)
        value.fill("cs.LG")
        value.press("Enter")
        settle(page)
        page.get_by_role("button", name="Add filter").click()
        settle(page)
        expect(page.get_by_text(f"{len(wanted):,} of 10,000 rows match")).to_be_visible()
        page.get_by_role("button", name=f"Select all {len(wanted):,} filtered rows").click()
        settle(page)
        expect(page.get_by_text(f"{len(wanted):,} selected")).to_be_visible()
        new = page.get_by_role("textbox", name="New tags (comma separated)")
        new.fill("Needs review")
        new.press("Enter")
        settle(page)
        assert metric(page, "To send") == f"{len(wanted):,}"

        page.get_by_role("button", name=f"Push {len(wanted):,} ids").click()
        # The push runs in a thread; its progress fragment reruns the page when it ends.
        expect(page.get_by_text("Applied", exact=True)).to_be_visible(timeout=60_000)
        settle(page)
        assert metric(page, "Applied") == f"{len(wanted):,}"
        assert metric(page, "Failed") == "0"
        state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["Needs review"]
        assert sorted(state) == sorted(wanted)

        page.get_by_test_id("stSidebarNav").get_by_text("History", exact=True).click()
        settle(page)
        expect(page.get_by_text("added to Nomic Atlas")).to_be_visible()
        assert metric(page, "Applied") == f"{len(wanted):,}"
        shot(page, "history.png")

        page.get_by_test_id("stSidebarNav").get_by_text("Coverage", exact=True).click()
        settle(page)
        assert metric(page, "Tagged") == f"{len(wanted):,}"
        page.wait_for_timeout(1000)  # let plotly draw
        shot(page, "coverage.png")
        browser.close()
