"""Coverage page in AppTest: metrics, charts and their tables, untagged rows as a filter."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest
from app_harness import add_filter, app_env, errors, metrics, open_app, selected  # noqa: F401
from streamlit.testing.v1 import AppTest

from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID, demo_datasets
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import TagOperation, plan

pytestmark = pytest.mark.usefixtures("app_env")
P = ATLAS_PROJECTION_ID


def tag_atlas(ids: list[str], tag: str) -> None:
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    op = TagOperation("atlas", "add", (tag,), ids, target={"projection_id": P})
    push(plan(op), connect("atlas"), journal=journal)


def coverage_page(provider: str = "atlas") -> AppTest:
    at = open_app(provider)
    at.switch_page("app_pages/coverage.py").run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def values(array: object) -> list[float]:
    """Plotly arrays arrive as lists or base64 typed arrays ({"dtype", "bdata"})."""
    if isinstance(array, dict):
        raw = base64.b64decode(array["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(array["dtype"])).tolist()
    return list(array)  # type: ignore[call-overload]


def charts(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def test_metrics_and_charts_follow_the_journal(sandbox) -> None:  # type: ignore[no-untyped-def]
    tag_atlas([str(i) for i in range(100)], "alpha")
    tag_atlas([str(i) for i in range(50, 60)], "beta")
    at = coverage_page()
    m = metrics(at)
    assert (m["Rows"], m["Tagged"], m["Untagged"], m["Tagged share"]) == (
        "10,000",
        "100",
        "9,900",
        "1.0%",
    )
    figs = charts(at)
    bar = figs["Rows per tag"]["data"][0]
    assert bar["y"] == ["alpha", "beta"] and values(bar["x"]) == [100, 10]
    stacked = figs["Tagged vs untagged by field"]["data"]
    frame = demo_datasets()["atlas"].frame()
    tagged_by_field = frame.head(100)["field"].value_counts()
    got = dict(zip(stacked[0]["x"], values(stacked[0]["y"]), strict=True))
    assert got == {k: int(v) for k, v in tagged_by_field.items()}
    # the table behind each chart is downloadable
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels.count("Download CSV") == len(figs)


def test_only_some_tags_and_no_facet(sandbox) -> None:  # type: ignore[no-untyped-def]
    tag_atlas(["1", "2"], "alpha")
    tag_atlas(["3"], "beta")
    at = coverage_page()
    at.selectbox(key="cov_facet").set_value("(none)").run()
    at.multiselect(key="cov_tags").set_value(["beta"]).run()
    assert metrics(at)["Tagged"] == "1"
    assert "Tagged vs untagged by field" not in charts(at)


def test_untagged_rows_become_a_filter_on_the_tag_page(sandbox) -> None:  # type: ignore[no-untyped-def]
    tag_atlas([str(i) for i in range(9_990)], "alpha")
    at = coverage_page()
    at.button(key="cov_untagged").click().run()
    assert [t.value for t in at.title] == ["Tag"]
    text = " ".join(m.value for m in at.markdown)
    assert "10 of 10,000 rows match" in text
    at.button(key="tag_select_all").click().run()
    assert selected(at) == {str(i) for i in range(9_990, 10_000)}


def test_immuta_coverage_matches_typed_ids_and_shows_the_hierarchy(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    op = TagOperation("immuta", "add", ("Discovered.Country.Argentina",), ["6", "22"],
                      kinds="datasource")  # fmt: skip
    push(plan(op), connect("immuta"), journal=journal)
    at = coverage_page("immuta")
    # data sources 6 and 22, plus 523 that the demo world seeds with Canada; project 6 and
    # the columns of 6 share the id text "6" but are other models: untagged
    assert metrics(at)["Tagged"] == "3"
    sun = charts(at)["Tag hierarchy"]["data"][0]
    assert {"Discovered.Country.Argentina", "Discovered.Country.Canada"} <= set(sun["ids"])


def test_immuta_untagged_filter_keeps_kinds_apart(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    op = TagOperation("immuta", "add", ("Confidential",), ["6"], kinds="project")
    push(plan(op), connect("immuta"), journal=journal)
    at = coverage_page("immuta")
    assert metrics(at)["Untagged"] == "3,009"  # all but project 6 and data source 523
    at.button(key="cov_untagged").click().run()
    assert [t.value for t in at.title] == ["Tag"]
    assert "3,009 of 3,011 rows match" in " ".join(m.value for m in at.markdown)
    at.switch_page("app_pages/tag.py").run()  # AppTest reruns the page it last switched to
    add_filter(at, "model_id", "equals", "6")
    assert not at.exception and not errors(at), (at.exception, errors(at))
    rows = at.dataframe[0].value
    # data source 6 is untagged and shown; project 6, tagged, is not (same id, other kind)
    assert rows[["model_id", "model_type"]].to_dict("records") == [
        {"model_id": "6", "model_type": "datasource"}
    ]
