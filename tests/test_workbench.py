"""tagging.notebook.Workbench driven from Python as a notebook user's clicks would drive it,
against the real sandbox: filters, a lasso or box on the map, tags, Push; the sandbox then
holds exactly the selected rows."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import KEYS, ROOT, Sandbox

from tagging import Workbench
from tagging.config import Connection, connect
from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame, immuta_frame
from tagging.journal import Journal
from tagging.selection import points_in_polygon

P = {"projection_id": ATLAS_PROJECTION_ID}
TRIANGLE = [(1.0, 1.0), (9.0, 2.0), (4.0, 8.5)]


def papers() -> pd.DataFrame:
    """The demo Atlas frame on a map of our own: x, y uniform over [0, 10)."""
    df = atlas_frame()
    rng = np.random.default_rng(3)
    df["x"], df["y"] = rng.random(len(df)) * 10, rng.random(len(df)) * 10
    return df


def sandbox_conn(sandbox: Sandbox, provider: str) -> Connection:
    return connect(provider, url=sandbox.api(provider), key=KEYS[provider])


def lasso(wb: Workbench, polygon: list[tuple[float, float]]) -> None:
    """What the browser sends when a lasso is drawn: plotly's points callback message."""
    xs, ys = [a for a, _ in polygon], [b for _, b in polygon]
    wb.figure._js2py_pointsCallback = {
        "event_type": "plotly_selected",
        "points": {"xs": [], "ys": [], "point_indexes": [], "trace_indexes": []},
        "selector": {"type": "lasso", "selector_state": {"xs": xs, "ys": ys}},
    }


def box(wb: Workbench, xrange: list[float], yrange: list[float]) -> None:
    wb.figure._js2py_pointsCallback = {
        "event_type": "plotly_selected",
        "points": {"xs": [], "ys": [], "point_indexes": [], "trace_indexes": []},
        "selector": {"type": "box", "selector_state": {"xrange": xrange, "yrange": yrange}},
    }


def add_filter(wb: Workbench, column: str, op: str, value: str = "") -> None:
    wb.filter_column.value = column
    wb.filter_op.value = op
    wb.filter_value.value = value
    wb.add_filter_button.click()


def test_lasso_then_push_tags_exactly_the_lassoed_filtered_rows(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    df = papers()
    journal = Journal(tmp_path / "journal.db")
    # max_points below the row count: the lasso must select over ALL rows, not the drawn ones.
    wb = Workbench(
        df, provider="atlas", target=P, journal=journal, conn=sandbox_conn(sandbox, "atlas"),
        max_points=500,
    )  # fmt: skip
    add_filter(wb, "field", "in", "cs.CL, cs.LG")
    add_filter(wb, "citations", "between", "10,")
    assert [str(c) for c in wb.conditions] == [
        "field is one of cs.CL, cs.LG",
        "citations between 10 and …",
    ]
    lasso(wb, TRIANGLE)
    inside = points_in_polygon(df["x"].to_numpy(), df["y"].to_numpy(), TRIANGLE)
    keep = df["field"].isin(["cs.CL", "cs.LG"]) & (df["citations"] >= 10) & inside
    expected = sorted(df.loc[keep, "id"], key=int)
    assert 500 < len(expected) < len(df) // 2
    assert sorted(wb.selection["id"], key=int) == expected
    assert len(wb.figure.data[0].x) == 500  # a sample drawn, the selection counted in full
    assert f"<b>{len(expected):,}</b> rows selected" in wb.grid.value

    assert wb.plan is None and wb.push_button.disabled  # no tag yet
    wb.new_tags.value = "Lassoed"
    assert wb.plan is not None and wb.plan.to_send == len(expected)
    assert f"add 'Lassoed' to {len(expected):,}" in html.unescape(wb.plan_view.value)
    assert wb.push_button.description == f"Push {len(expected):,} ids"

    wb.push_button.click()

    assert wb.result is not None and wb.result.applied == len(expected)
    assert sandbox.state()["atlas"][ATLAS_PROJECTION_ID] == {"Lassoed": expected}
    assert (wb.progress.value, wb.progress.max) == (len(expected), len(expected))
    assert "<th>applied</th>" in wb.result_view.value
    [job] = journal.jobs()
    assert job["status"] == "done" and job["counts"]["applied"] == len(expected)
    # The preview now knows (from the journal) that these rows carry the tag; the new tag is
    # in the picker, fed by the provider's tags.
    assert wb.plan is not None and wb.plan.to_send == 0 and wb.push_button.disabled
    assert "Lassoed" in wb.tag_picker.options


def test_box_then_deselect_and_clear(sandbox: Sandbox, tmp_path: Path) -> None:
    df = papers()
    wb = Workbench(
        df, provider="atlas", target=P, journal=Journal(tmp_path / "j.db"),
        conn=sandbox_conn(sandbox, "atlas"),
    )  # fmt: skip
    box(wb, [2.0, 3.0], [7.5, 5.0])  # corners in any order
    keep = df["x"].between(2, 3) & df["y"].between(5, 7.5)
    assert sorted(wb.selection["id"], key=int) == sorted(df.loc[keep, "id"], key=int)
    trace = wb.figure.data[0]
    assert len(trace.selectedpoints) == int(keep.sum())  # everything drawn: all highlighted

    wb.figure._js2py_pointsCallback = {
        "event_type": "plotly_deselect",
        "points": {"xs": [], "ys": [], "point_indexes": [], "trace_indexes": []},
    }
    assert wb.polygon is None and len(wb.selection) == len(df)
    add_filter(wb, "field", "equals", "cs.CL")
    assert set(wb.selection["field"]) == {"cs.CL"}
    wb.clear_filters_button.click()
    assert wb.conditions == () and len(wb.selection) == len(df)


def test_a_bad_filter_value_is_one_line_and_changes_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    wb = Workbench(
        papers(), provider="atlas", target=P, journal=Journal(tmp_path / "j.db"),
        conn=sandbox_conn(sandbox, "atlas"),
    )  # fmt: skip
    add_filter(wb, "citations", "between", "lots,")
    assert wb.conditions == ()
    assert "citations" in wb.filter_chips.value


def test_immuta_rows_with_kinds_and_a_catalog_tag(sandbox: Sandbox, tmp_path: Path) -> None:
    df = immuta_frame()
    wb = Workbench(
        df, provider="immuta", id_column="model_id", kind_column="model_type",
        journal=Journal(tmp_path / "j.db"), conn=sandbox_conn(sandbox, "immuta"),
    )  # fmt: skip
    assert wb.figure is None  # no numeric columns: no map, the rest works
    add_filter(wb, "model_id", "in", "6, 22")
    add_filter(wb, "model_type", "equals", "datasource")  # project 6 is another model
    assert sorted(zip(wb.selection["model_type"], wb.selection["model_id"], strict=True)) == [
        ("datasource", "22"),
        ("datasource", "6"),
    ]
    assert "Confidential" in wb.tag_picker.options  # the provider's tags
    wb.tag_picker.value = ("Confidential",)
    wb.push_button.click()
    assert wb.result is not None and wb.result.applied == 2
    immuta = sandbox.state()["immuta"]
    assert "Confidential" in immuta["datasource:6"] and "Confidential" in immuta["datasource:22"]
    assert "Confidential" not in immuta.get("project:6", [])


def test_import_tagging_does_not_load_the_widget_stack() -> None:
    code = (
        "import sys, tagging, tagging.__main__; "
        "print(sorted(m for m in ('ipywidgets', 'anywidget', 'tagging.notebook') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("columns", [("x", "y"), ("year", "citations")])
def test_the_map_axes(columns: tuple[str, str], sandbox: Sandbox, tmp_path: Path) -> None:
    df = (
        papers()
        if columns == ("x", "y")
        else atlas_frame().drop(columns=["x", "y"], errors="ignore")
    )
    wb = Workbench(
        df, provider="atlas", target=P, journal=Journal(tmp_path / "j.db"),
        conn=sandbox_conn(sandbox, "atlas"),
    )  # fmt: skip
    assert wb.axes == columns
    layout = wb.figure.layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == columns
