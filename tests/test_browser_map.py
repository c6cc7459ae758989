"""The map in a real Chromium: choose the lasso in the plot's modebar, drag a loop around the
cs.LG cluster with the mouse, and the page selects exactly the rows `points_in_polygon`
finds inside the drawn polygon (over all rows, not the drawn ones); push and check the
sandbox. Screenshots land in docs/ with `make screenshots`: map.png, and tag.png (the lassoed
rows, tags picked, the plan) and result.png (the pushed job, the map coloured by tagged),
which replace test_browser.py's grid-only ones (this file runs after it)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, Sandbox
from playwright.sync_api import Locator, Page, expect, sync_playwright
from test_browser import app_url, settle, shot  # noqa: F401

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.maps import BY_TAGGED
from tagging.selection import points_in_polygon

pytestmark = pytest.mark.browser
PLOT = ".tag-map.js-plotly-plot"  # ui/map_chart.py's plot
COLOUR = '[data-testid="stSelectbox"]:has-text("Colour the map by")'
BUTTONS = '[data-testid="stButton"]'
# Remember the polygon plotly reports, in the form Streamlit sends it to the server.
LISTEN = """() => {
  const gd = document.querySelector('__PLOT__');
  window.__lasso = null;
  gd.on('plotly_selected', e => {
    const s = (e && e.selections || []).find(s => s.type === 'path');
    if (s) window.__lasso = s.path;
  });
}""".replace("__PLOT__", PLOT)
# Data coordinates to page pixels through the plot's own axes.
TO_PIXELS = """([xs, ys]) => {
  const gd = document.querySelector('__PLOT__');
  const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return xs.map((x, i) => [r.left + xa._offset + xa.l2p(x), r.top + ya._offset + ya.l2p(ys[i])]);
}""".replace("__PLOT__", PLOT)


def parse_path(path: str) -> list[tuple[float, float]]:
    """Plotly's "Mx,yLx,y...Z", read as Streamlit's frontend reads it."""
    points = path.replace("M", "").replace("Z", "").split("L")
    return [(float(p.split(",")[0]), float(p.split(",")[1])) for p in points]


def selected_count(page: Page) -> int:
    """The counts bar's "N selected"."""
    text = page.get_by_text(re.compile(r"^[\d,]+ selected$")).first.inner_text()
    return int(text.split(" selected")[0].replace(",", ""))


def drag_lasso(page: Page, pixels: list[list[float]]) -> None:
    page.mouse.move(*pixels[0])
    page.mouse.down()
    for px, py in pixels[1:] + [pixels[0]]:
        page.mouse.move(px, py, steps=2)
    page.mouse.up()


def lasso_cs_lg(
    page: Page, plot: Locator, frame: pd.DataFrame, settle: Callable[[Page], None]
) -> tuple[set[str], list[tuple[float, float]]]:
    """Choose the lasso in the modebar, drag a loop round the cs.LG cluster with the mouse;
    the ids of EVERY row inside the polygon plotly reported, and that polygon."""
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
    return set(frame.loc[inside, "id"]), polygon


def tall_shot(page: Page, top: str, bottom: str, name: str) -> None:
    """A screenshot from the element `top` (at the top) down to below `bottom`: the viewport
    grows for it, then returns to its size."""
    size = page.viewport_size or {"width": 1280, "height": 1400}
    page.locator(top).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    first, last = page.locator(top).first.bounding_box(), page.locator(bottom).first.bounding_box()
    assert first and last, "nothing to frame"
    height = last["y"] + last["height"] - first["y"]
    page.set_viewport_size({"width": size["width"], "height": int(height) + 48})
    page.locator(top).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)  # let the map repaint at the new size
    shot(page, name)
    page.set_viewport_size(size)
    page.wait_for_timeout(300)


def test_lasso_on_the_map_selects_and_tags_every_row_inside(app_url: str, sandbox: Sandbox) -> None:  # noqa: F811
    frame = atlas_frame()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(app_url)
        settle(page)
        page.get_by_test_id("stSidebarNav").get_by_text("Tag", exact=True).click()
        settle(page)
        plot = page.locator(PLOT)
        expect(plot).to_be_visible()
        plot.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)  # let WebGL paint
        wanted, polygon = lasso_cs_lg(page, plot, frame, settle)
        assert 1_000 < len(wanted) < 2_000
        expect(page.get_by_text(f"{len(wanted):,} selected")).to_be_visible()
        assert selected_count(page) == len(wanted)
        page.wait_for_timeout(1000)
        shot(page, "map.png")

        new = page.get_by_role("textbox", name="New tags (comma separated)")
        new.fill("cs.LG cluster")
        new.press("Enter")
        settle(page)
        push = page.get_by_role("button", name=f"Push {len(wanted):,} ids")
        tall_shot(page, COLOUR, f"{BUTTONS}:has-text('Push {len(wanted):,} ids')", "tag.png")
        push.click()
        # The push runs in a thread; its progress fragment reruns the page when it ends.
        expect(page.get_by_text("Applied", exact=True)).to_be_visible(timeout=60_000)
        settle(page)
        state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["cs.LG cluster"]
        assert set(state) == wanted

        # colour by tagged: the pushed rows show as tagged on the map, beside the result
        page.locator(COLOUR).first.scroll_into_view_if_needed()
        page.locator(COLOUR).first.click()
        page.keyboard.type(BY_TAGGED)
        page.keyboard.press("Enter")
        settle(page)
        expect(page.get_by_text("Applied", exact=True)).to_be_visible()
        tall_shot(page, COLOUR, '[data-testid="stMetric"]:has-text("Applied")', "result.png")
        browser.close()
    assert np.isfinite(polygon).all()
