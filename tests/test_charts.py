"""Chart specs: trace types, titles, axis titles, values, and empty states."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tagging.charts import (
    NO_TAGS,
    coverage_line,
    empty_figure,
    facet_heatmap,
    facet_stacked_bar,
    hierarchy_sunburst,
    tag_bar,
    tags_per_row_donut,
)
from tagging.coverage import coverage
from tagging.coverage_time import coverage_over_time

DF = pd.DataFrame({"id": ["1", "2", "3", "4", "5", "6"], "field": list("aabbbc")})
STATE = pd.DataFrame(
    [("1", "X"), ("1", "Y.a"), ("2", "X"), ("3", "Y.b"), ("5", "Y.a"), ("5", "Y.b"), ("5", "X")],
    columns=["id", "tag"],
)
COV = coverage(DF, "id", STATE, facet="field")
NONE = coverage(DF, "id", None, facet="field")


def spec(fig: go.Figure) -> dict:
    """The JSON a browser gets (what st.plotly_chart sends), decoded."""
    return json.loads(fig.to_json())


def array(value: object) -> list:
    """Plotly JSON may base64-encode numeric arrays: decode to a list."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:  # "3, 3"
            data = data.reshape([int(n) for n in str(value["shape"]).split(",")])
        return data.tolist()
    return list(value)  # type: ignore[call-overload]


def check_common(fig: go.Figure, title: str) -> dict:
    s = spec(fig)
    assert s["layout"]["title"]["text"] == title
    assert s["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert s["layout"]["plot_bgcolor"] == "rgba(0,0,0,0)"
    return s


def check_empty(fig: go.Figure, title: str, message: str = NO_TAGS) -> None:
    s = check_common(fig, title)
    assert s["data"] == []
    assert [a["text"] for a in s["layout"]["annotations"]] == [message]


def test_tag_bar() -> None:
    s = check_common(tag_bar(COV), "Rows per tag")
    (bar,) = s["data"]
    assert bar["type"] == "bar" and bar["orientation"] == "h"
    assert bar["y"] == ["X", "Y.a", "Y.b"]
    assert array(bar["x"]) == [3, 2, 2]
    assert bar["text"] == ["3 (50.0%)", "2 (33.3%)", "2 (33.3%)"]
    assert s["layout"]["xaxis"]["title"]["text"] == "Rows"
    assert s["layout"]["yaxis"]["title"]["text"] == "Tag"
    top = spec(tag_bar(COV, top=2))
    assert top["layout"]["title"]["text"] == "Rows per tag (top 2 of 3)"
    assert top["data"][0]["y"] == ["X", "Y.a"]
    check_empty(tag_bar(NONE), "Rows per tag")


def test_tags_per_row_donut() -> None:
    s = check_common(tags_per_row_donut(COV), "Tags per row")
    (pie,) = s["data"]
    assert pie["type"] == "pie" and pie["hole"] == 0.55
    assert pie["labels"] == ["No tag", "1 tag", "2+ tags"]
    assert array(pie["values"]) == [2, 2, 2]  # ids 4, 6 | 2, 3 | 1, 5
    assert s["layout"]["annotations"][0]["text"] == "67%<br>tagged"
    check_empty(tags_per_row_donut(NONE), "Tags per row")
    check_empty(tags_per_row_donut(coverage(DF.iloc[:0], "id", STATE)), "Tags per row", "No rows")


def test_facet_stacked_bar() -> None:
    s = check_common(facet_stacked_bar(COV), "Tagged vs untagged by field")
    tagged, untagged = s["data"]
    assert (tagged["type"], tagged["name"], untagged["name"]) == ("bar", "Tagged", "Untagged")
    assert tagged["x"] == ["b", "a", "c"]
    assert array(tagged["y"]) == [2, 2, 0]
    assert array(untagged["y"]) == [1, 0, 1]
    assert s["layout"]["barmode"] == "stack"
    assert s["layout"]["xaxis"]["title"]["text"] == "field"
    assert s["layout"]["yaxis"]["title"]["text"] == "Rows"
    # no tags yet: still shows every row as untagged
    none = spec(facet_stacked_bar(NONE))
    assert array(none["data"][1]["y"]) == [3, 2, 1]
    top = spec(facet_stacked_bar(COV, top=2))
    assert top["data"][0]["x"] == ["b", "Other"]
    assert array(top["data"][0]["y"]) == [2, 2]
    assert array(top["data"][1]["y"]) == [1, 1]
    check_empty(
        facet_stacked_bar(coverage(DF, "id", STATE)), "Tagged vs untagged", "Choose a facet column"
    )


def test_facet_heatmap() -> None:
    title = "Rows per tag and field (colour: share of the field's rows)"
    s = check_common(facet_heatmap(COV), title)
    (heat,) = s["data"]
    assert heat["type"] == "heatmap"
    assert heat["x"] == ["X", "Y.a", "Y.b"] and heat["y"] == ["b", "a", "c"]
    z = np.array(array(heat["z"]), dtype=float)
    np.testing.assert_allclose(z, [[1 / 3, 1 / 3, 2 / 3], [1.0, 0.5, 0.0], [0.0, 0.0, 0.0]])
    assert heat["text"] == [["1", "1", "2"], ["2", "1", "0"], ["0", "0", "0"]]
    assert s["layout"]["xaxis"]["title"]["text"] == "Tag"
    assert s["layout"]["yaxis"]["title"]["text"] == "field"
    check_empty(facet_heatmap(NONE), title)


def test_hierarchy_sunburst() -> None:
    s = check_common(hierarchy_sunburst(COV), "Tag hierarchy")
    (sun,) = s["data"]
    assert sun["type"] == "sunburst" and sun["branchvalues"] == "total"
    assert sun["ids"] == ["X", "Y", "Y.a", "Y.b"]
    assert sun["parents"] == ["", "", "Y", "Y"]
    assert sun["labels"] == ["X", "Y", "a", "b"]
    assert array(sun["values"]) == [3, 4, 2, 2]  # a parent is at least the sum of children
    assert array(sun["customdata"]) == [3, 3, 2, 2]  # distinct rows under each node
    check_empty(hierarchy_sunburst(NONE), "Tag hierarchy")


def test_coverage_line() -> None:
    events = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "id": ["1", "2", "1"],
            "tag": ["X", "Y", "X"],
            "action": ["add", "add", "remove"],
        }
    )
    s = check_common(coverage_line(coverage_over_time(events)), "Tagged rows over time")
    (line,) = s["data"]
    assert line["type"] == "scatter" and line["line"]["shape"] == "hv"
    assert array(line["y"]) == [1, 2, 1]
    assert s["layout"]["xaxis"]["title"]["text"] == "Time"
    assert s["layout"]["yaxis"]["title"]["text"] == "Rows"
    per_tag = spec(coverage_line(coverage_over_time(events, by_tag=True)))
    assert per_tag["layout"]["title"]["text"] == "Rows per tag over time"
    assert [t["name"] for t in per_tag["data"]] == ["X", "Y"]
    assert array(per_tag["data"][0]["y"]) == [1, 0]
    check_empty(coverage_line(coverage_over_time(events.iloc[:0])), "Tagged rows over time")


def test_empty_figure_message() -> None:
    check_empty(empty_figure("Anything", "Nothing here"), "Anything", "Nothing here")


def test_one_push_on_the_timeline_gets_an_hour_with_minute_ticks() -> None:
    at = pd.Timestamp("2024-01-01 12:00:00.000100")
    events = pd.DataFrame({"time": [at], "id": ["1"], "tag": ["X"], "action": ["add"]})
    s = check_common(coverage_line(coverage_over_time(events)), "Tagged rows over time")
    low, high = (pd.Timestamp(t) for t in s["layout"]["xaxis"]["range"])
    assert high - low == pd.Timedelta(hours=1)
    assert s["layout"]["xaxis"]["dtick"] == 600_000  # ten minutes, not sub-millisecond ticks
