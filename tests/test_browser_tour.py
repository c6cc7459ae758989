"""The guided demo in a real Chromium, offline: the Tour's eight steps from load to undo with
the flaky API on, two quick History exports that both arrive, and not one request that leaves
127.0.0.1. Screenshots (tour-*.png) land where TAGGING_SCREENSHOTS says (docs/ for the README).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, Sandbox
from playwright.sync_api import Page, Route, expect, sync_playwright
from test_browser import app_url, metric, settle, shot  # noqa: F401

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame

pytestmark = pytest.mark.browser


def _next(page: Page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Next").click()
    settle(page)


def test_tour_end_to_end_offline(app_url: str, sandbox: Sandbox) -> None:  # noqa: F811
    frame = atlas_frame()
    wanted = frame.loc[frame["field"] == "cs.LG", "id"]
    outside: list[str] = []

    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 1000}, accept_downloads=True
        )
        context.route("**/*", guard)
        page = context.new_page()
        page.goto(app_url)
        settle(page)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Tour", exact=True).click()
        settle(page)
        # 1 load
        expect(sidebar.get_by_text("1 / 8 · Load")).to_be_visible()
        expect(page.locator(".st-key-ds_load_demo")).to_have_css("outline-style", "solid")
        page.get_by_role("button", name="Load demo").click()
        settle(page)
        shot(page, "tour-1-load.png")
        sidebar.get_by_text("Flaky API", exact=True).click()
        settle(page)
        assert httpx_faults(sandbox)["fail_rate"] > 0
        # 2 filter: field = cs.LG
        _next(page)
        expect(sidebar.get_by_text("2 / 8 · Filter")).to_be_visible()
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
        shot(page, "tour-2-filter.png")
        # 3 select
        _next(page)
        page.get_by_role("button", name=f"Select all {len(wanted):,} filtered rows").click()
        settle(page)
        # 4 tags
        _next(page)
        new = page.get_by_role("textbox", name="New tags (comma separated)")
        new.fill("Needs review")
        new.press("Enter")
        settle(page)
        # 5 preview
        _next(page)
        assert metric(page, "To send") == f"{len(wanted):,}"
        page.locator(".st-key-tag_push").scroll_into_view_if_needed()
        shot(page, "tour-5-preview.png")
        # 6 push, through the flaky API
        _next(page)
        page.get_by_role("button", name=f"Push {len(wanted):,} ids").click()
        settle(page)
        applied = sidebar.get_by_test_id("stMetric").filter(has=page.get_by_text("Applied"))
        expect(applied.get_by_test_id("stMetricValue")).to_have_text(
            f"{len(wanted):,}", timeout=60_000
        )  # the push runs in a thread: wait for the rerun that shows its result
        settle(page)
        retries = sidebar.get_by_test_id("stMetric").filter(has=page.get_by_text("Retries"))
        assert int(retries.get_by_test_id("stMetricValue").inner_text().replace(",", "")) > 0
        retries.scroll_into_view_if_needed()  # the presenter's numbers, in the shot
        shot(page, "tour-6-push.png")
        state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["Needs review"]
        assert sorted(state) == sorted(wanted)  # every id, despite the faults
        # 7 coverage
        _next(page)
        assert metric(page, "Tagged") == f"{len(wanted):,}"
        page.wait_for_timeout(800)  # let plotly draw
        shot(page, "tour-7-coverage.png")
        # 8 undo, after two quick exports that must both arrive
        _next(page)
        downloads: list[str] = []
        page.on("download", lambda d: downloads.append(d.suggested_filename))
        page.get_by_role("button", name="Export CSV").click()
        page.get_by_role("button", name="Export JSON").click(delay=0)  # well within 0.3 s
        page.wait_for_timeout(3000)
        assert sorted(d.rsplit(".", 1)[1] for d in downloads) == ["csv", "json"], downloads
        page.get_by_role("button", name="Undo this job").click()
        settle(page)
        page.get_by_role("button", name="Yes, undo").click()
        settle(page)
        expect(page.get_by_text("Undone by job").first).to_be_visible()
        shot(page, "tour-8-undo.png")
        assert sandbox.state()["atlas"].get(ATLAS_PROJECTION_ID, {}).get("Needs review", []) == []
        browser.close()
    assert outside == [], outside


def httpx_faults(sandbox: Sandbox) -> dict[str, float]:
    from tagging.sandbox.launcher import faults

    return faults(sandbox.url)
