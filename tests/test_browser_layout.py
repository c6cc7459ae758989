"""Tables and charts fit a 1280x800 browser (Chromium): History's job and batch tables and
the Tag page's plan preview need no horizontal scroll, and the "Table behind this chart"
expanders of charts side by side on Coverage line up. Screenshots: layout-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import running_app
from conftest import CHROMIUM, CHROMIUM_ARGS, Sandbox
from playwright.sync_api import Locator, Page, expect, sync_playwright
from test_browser import settle, shot

import tagging
from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame

pytestmark = pytest.mark.browser
# Each grid's scroller against its visible width: more content than room means a cut column.
OVERFLOW = """root => [...root.querySelectorAll('[data-testid="stDataFrame"]')]
  .filter(d => d.getBoundingClientRect().height > 0)
  .map(d => d.querySelector('.dvn-scroller'))
  .map(s => s.scrollWidth - s.clientWidth)"""
# The tops of the chart-table expanders, grouped by the row of columns that holds them.
EXPANDER_ROWS = """() => [...document.querySelectorAll('[data-testid="stHorizontalBlock"]')]
  .map(row => [...row.querySelectorAll('[data-testid="stExpander"]')]
    .filter(e => e.innerText.includes('Table behind this chart'))
    .map(e => Math.round(e.getBoundingClientRect().top)))
  .filter(tops => tops.length > 1)"""


@pytest.fixture
def layout_app(sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    """The app on a journal with a push, and a second push that was undone (jobs of every
    status column: done, undone, undo of) by a long actor name."""
    env = {**os.environ, **sandbox.env(), "TAGGING_JOURNAL": str(tmp_path / "journal.db"),
           "TAGGING_SESSIONS": str(tmp_path / "sessions")}  # fmt: skip
    frame = atlas_frame()
    target = {"projection_id": ATLAS_PROJECTION_ID}
    conn = tagging.connect("atlas", url=sandbox.api("atlas"), key="sandbox-atlas-key")
    with tagging.Journal(tmp_path / "journal.db", actor="ana.lopez@example.org") as journal:
        for tag, ids in (
            ("Needs review", frame.loc[frame["field"] == "cs.LG", "id"]),
            ("Survey", frame["id"].head(300)),
        ):
            op = tagging.TagOperation("atlas", "add", (tag,), ids.tolist(), target=target)
            done = tagging.push(tagging.prepare(op, conn, journal=journal), conn, journal=journal)
        journal.undo(done.job_id, conn)
    with running_app(env) as url:
        yield url


def overflow(root: Locator) -> list[int]:
    root.page.wait_for_timeout(800)  # let the grids measure their columns
    return list(root.evaluate(OVERFLOW))


def test_tables_fit_and_chart_tables_line_up(layout_app: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(90_000)  # a loaded 2-core machine can take half a minute a run
        page.goto(f"{layout_app}/history")
        settle(page)
        page.wait_for_timeout(1000)  # let the metrics and grids paint
        shot(page, "layout-history.png")
        history = overflow(page.locator("body"))
        page.goto(f"{layout_app}/coverage")
        settle(page)
        first = page.get_by_text("Table behind this chart").first
        first.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(1000)  # let plotly draw
        shot(page, "layout-coverage.png")
        rows = page.evaluate(EXPANDER_ROWS)
        preview = _preview_overflow(page, layout_app)
        browser.close()
    assert len(history) == 2 and history == [0, 0], history  # jobs, and the job's batches
    assert len(rows) >= 2, rows  # per tag | tags per row, by facet | heatmap
    assert all(len(set(tops)) == 1 for tops in rows), rows
    assert preview == [0], preview


def _preview_overflow(page: Page, url: str) -> list[int]:
    """Nekt's demo, every row selected: batches of several resource types."""
    page.goto(f"{url}/tag")
    settle(page)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Nekt").click()
    settle(page)
    page.get_by_role("button", name="Select all").first.click()
    settle(page)
    new = page.get_by_role("textbox", name="New tags (comma separated)")
    new.fill("pii")
    new.press("Enter")
    settle(page)
    page.get_by_text("Batches and copy as curl").click()
    settle(page)
    expander = page.get_by_test_id("stExpander").filter(has_text="Batches and copy as curl")
    grid = expander.get_by_test_id("stDataFrame")
    expect(grid).to_be_visible()
    grid.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(800)
    shot(page, "layout-preview.png")
    return overflow(expander)
