"""A browser reload keeps the session, in a real Chromium: provider, dataset, a column role,
filters, search and selection come back after F5 (ui/persist.py, keyed by `?sid=` in the URL),
and a second tab without that id starts afresh."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from app_server import running_app
from conftest import CHROMIUM, CHROMIUM_ARGS, Sandbox
from playwright.sync_api import Page, expect, sync_playwright
from test_browser import settle, shot

from tagging.demo import demo_datasets
from tagging.filters import apply_filters

pytestmark = pytest.mark.browser


@pytest.fixture
def reload_app(sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, **sandbox.env(), "TAGGING_JOURNAL": str(tmp_path / "journal.db"),
           "TAGGING_SESSIONS": str(tmp_path / "sessions")}  # fmt: skip
    with running_app(env) as url:
        yield url


def _pick(page: Page, label: str, option: str, within: str = "stMain") -> None:
    """Choose `option` in the selectbox labelled `label` (typed, as a user filters a list)."""
    area = page.get_by_test_id(within)
    area.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    settle(page)


def _sid(page: Page) -> str:
    [sid] = parse_qs(urlsplit(page.url).query)["sid"]
    return sid


def _the_session_is_back(page: Page, tables: int, rows: int, word: str) -> None:
    expect(page.get_by_role("combobox", name="Provider")).to_have_value("Nekt")
    expect(page.get_by_text("Nekt: catalog resources").first).to_be_visible()
    expect(page.get_by_role("button", name="resource_type = tables")).to_be_visible()
    expect(page.get_by_role("textbox", name="Search")).to_have_value(word)
    expect(page.get_by_text(f"{tables:,} selected", exact=False).first).to_be_visible()
    expect(page.get_by_text(f"of {rows:,} rows match", exact=False).first).to_be_visible()


def test_a_reload_brings_the_session_back(reload_app: str) -> None:
    frame = demo_datasets()["nekt"].frame()
    tables = frame[frame["resource_type"] == "tables"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(reload_app)
        settle(page)
        sid = _sid(page)  # the session's id, given on its first run
        _pick(page, "Provider", "Nekt", within="stSidebar")
        expect(page.get_by_text("Nekt: catalog resources").first).to_be_visible()
        _pick(page, "Existing tags column", "owner")  # a column role
        page.get_by_test_id("stSidebarNav").get_by_text("Tag", exact=True).click()
        settle(page)
        _pick(page, "Column", "resource_type")
        page.get_by_test_id("stSelectbox").filter(has_text="Condition").click()
        page.get_by_role("option", name="=", exact=True).click()
        settle(page)
        value = page.get_by_label("Value", exact=True)
        value.fill("tables")
        value.press("Enter")
        settle(page)
        page.get_by_role("button", name="Add filter").click()
        settle(page)
        page.get_by_role("button", name=f"Select all {len(tables):,} filtered rows").click()
        settle(page)
        word = "table-0000"  # 10 of the 12 tables' names: the search narrows the view
        search = page.get_by_role("textbox", name="Search")
        search.fill(word)
        search.press("Enter")
        settle(page)
        matching = int(apply_filters(tables, search=word).sum())
        _the_session_is_back(page, len(tables), len(frame), word)
        assert 0 < matching < len(tables)

        page.reload()
        settle(page)
        assert _sid(page) == sid and urlsplit(page.url).path.endswith("/tag")
        _the_session_is_back(page, len(tables), len(frame), word)
        expect(page.get_by_text(f"{matching:,} of {len(frame):,} rows match")).to_be_visible()
        shot(page, "reload.png")
        page.get_by_test_id("stSidebarNav").get_by_text("Dataset", exact=True).click()
        settle(page)
        tags_role = page.get_by_role("combobox", name="Existing tags column (optional)")
        expect(tags_role).to_have_value("owner")

        fresh = browser.new_page()  # no ?sid=: a new session on the default provider
        fresh.goto(reload_app)
        settle(fresh)
        assert _sid(fresh) != sid
        expect(fresh.get_by_text("Atlas: research paper excerpts").first).to_be_visible()
        browser.close()
