"""The Tag page's map in AppTest: a lasso or box event as the chart reports it selects every
row inside the polygon, combines with the selection, and the push reaches the sandbox."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from app_harness import (  # noqa: F401
    app_env,
    click_push,
    errors,
    metrics,
    open_app,
    select_rows,
    selected,
)
from streamlit.testing.v1 import AppTest

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.maps import BY_TAGGED
from tagging.selection import points_in_polygon
from ui.map import MAP_KEY

pytestmark = pytest.mark.usefixtures("app_env")
FRAME = atlas_frame()
# A hand-drawn loop around the cs.LG cluster (its centre is (0, 6)), as plotly sends it.
T = np.linspace(0, 2 * np.pi, 60, endpoint=False)
LASSO = {
    "x": (0.3 + 2.4 * np.cos(T)).round(3).tolist(),
    "y": (5.6 + 2.6 * np.sin(T)).round(3).tolist(),
}
BOX = {"x": [-6.0, -3.0], "y": [-6.0, -2.0]}


def event(lasso: list[dict] | None = None, box: list[dict] | None = None) -> dict:
    """A selection event with the keys Streamlit 1.67's plotly_chart reports."""
    areas = [*(lasso or []), *(box or [])]
    return {
        "selection": {
            "points": [{"curve_number": 1, "point_index": i, "customdata": i} for i in range(3)]
            if areas else [],
            "point_indices": [0, 1, 2] if areas else [],
            "box": [{"xref": "x", "yref": "y", **b} for b in box or []],
            "lasso": [{"xref": "x", "yref": "y", **a} for a in lasso or []],
        }
    }  # fmt: skip


def inside(area: dict, box: bool = False) -> set[str]:
    xs, ys = FRAME["x"].to_numpy(), FRAME["y"].to_numpy()
    if box:
        (x0, x1), (y0, y1) = area["x"], area["y"]
        polygon = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    else:
        polygon = list(zip(area["x"], area["y"], strict=True))
    return set(FRAME.loc[points_in_polygon(xs, ys, polygon), "id"])


def selected_count(at: AppTest) -> int:
    bar = next(m.value for m in at.markdown if " selected**" in m.value)
    return int(re.search(r"\*\*([\d,]+) selected", bar).group(1).replace(",", ""))  # type: ignore[union-attr]


def drawn(at: AppTest) -> dict:
    """What the map's chart was sent: {"figure", "revision", "config"}."""
    return json.loads(at.get("bidi_component")[0].proto.bytes)


def draw(at: AppTest, ev: dict, mode: str | None = None) -> AppTest:
    """Report `ev` from the map as its chart does: made on the figure it shows now."""
    if mode is not None:
        at.segmented_control(key="tag_map_mode").set_value(mode).run()
    at.session_state[MAP_KEY] = {
        "selection": {**ev["selection"], "revision": drawn(at)["revision"]}
    }
    at.run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


@pytest.fixture
def at() -> AppTest:
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def test_demo_map_is_drawn_with_every_row_and_a_cluster_per_field(at: AppTest) -> None:
    spec = drawn(at)["figure"]
    traces = [t for t in spec["data"] if t["type"] == "scattergl"]
    assert sorted(t["name"] for t in traces) == sorted(FRAME["field"].unique())
    assert sum(len(np.frombuffer(__import__("base64").b64decode(t["customdata"]["bdata"]),
               dtype=t["customdata"]["dtype"])) for t in traces) == len(FRAME)  # fmt: skip
    assert spec["layout"]["dragmode"] == "lasso"


def test_lasso_selects_every_row_inside_and_the_push_tags_exactly_them(at, sandbox) -> None:  # type: ignore[no-untyped-def]
    wanted = inside(LASSO)
    assert 1000 < len(wanted) < 2000  # most of the cs.LG cluster
    draw(at, event([LASSO]))
    assert selected(at) == wanted
    assert selected_count(at) == len(wanted)
    assert any(f"{len(wanted):,} rows" in c.value for c in at.caption)
    at.text_input(key="tag_new").set_value("cs.LG cluster").run()
    assert metrics(at)["To send"] == f"{len(wanted):,}"
    click_push(at)
    assert not at.exception and not errors(at)
    assert set(sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["cs.LG cluster"]) == wanted
    # the map recolours by tag without a refresh: the pushed rows are the "tagged" group
    at.selectbox(key="tag_map_color").set_value(BY_TAGGED).run()
    spec = drawn(at)["figure"]
    tagged = next(t for t in spec["data"] if t.get("name") == "tagged")
    assert len(tagged["text"]) == len(wanted)


def test_lassos_add_subtract_and_intersect_with_grid_ticks(at: AppTest) -> None:
    lasso, box = inside(LASSO), inside(BOX, box=True)
    select_rows(at, [0, 1])  # grid ticks: ids "0" and "1"
    ticked = {"0", "1"}
    draw(at, event([LASSO]), mode="add")
    assert selected(at) == ticked | lasso
    draw(at, event(box=[BOX]), mode="add")
    assert selected(at) == ticked | lasso | box
    draw(at, event(box=[BOX]), mode="subtract")
    assert selected(at) == ticked | lasso
    draw(at, event([LASSO]), mode="intersect")
    assert selected(at) == lasso
    assert selected_count(at) == len(lasso)
    draw(at, event(box=[BOX]), mode="replace")
    assert selected(at) == box


def test_the_same_event_on_a_later_rerun_is_not_applied_again(at: AppTest) -> None:
    draw(at, event([LASSO]), mode="add")
    at.button(key="tag_clear_selection").click().run()
    assert selected(at) == set()
    at.run()  # the chart may still report the old lasso: it must not come back
    assert selected(at) == set()


def test_a_lasso_made_on_an_earlier_map_is_not_applied_to_this_one(at: AppTest) -> None:
    # The chart keeps its last selection across figures; one drawn before a filter or colour
    # change named other rows' points.
    at.session_state[MAP_KEY] = {"selection": {**event([LASSO])["selection"], "revision": "0"}}
    at.run()
    assert not at.exception and not errors(at)
    assert selected(at) == set()
    draw(at, event([LASSO]))
    assert selected(at) == inside(LASSO)


def test_a_lasso_selects_only_rows_that_match_the_filters(at: AppTest) -> None:
    from app_harness import add_filter

    add_filter(at, "year", "equals", "2020")
    draw(at, event([LASSO]))
    want = inside(LASSO) & set(FRAME.loc[FRAME["year"] == 2020, "id"])
    assert selected(at) == want and want
