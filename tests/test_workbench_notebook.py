"""examples/workbench.ipynb runs top to bottom (nbclient) against the test sandbox: the widget
renders as a widget, and exactly the filtered rows inside the box carry the tag."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, Sandbox
from nbclient import NotebookClient

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.journal import Journal
from tagging.notebook import _map_columns

NOTEBOOK = ROOT / "examples" / "workbench.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FIELDS = ["cs.CL", "cs.LG"]  # the notebook's filter


def boxed_ids() -> set[str]:
    """What the notebook selects, computed here independently: a field filter and the middle
    half of both map axes."""
    df = atlas_frame()
    axes = _map_columns(df, None, None)
    assert axes is not None
    keep = df["field"].isin(FIELDS)
    for column in axes:
        low, high = df[column].quantile([0.25, 0.75])
        keep &= df[column].between(low, high)
    expected = set(df.loc[keep, "id"])
    assert 20 < len(expected) < len(df) // 4
    return expected


def test_workbench_notebook_tags_the_boxed_filtered_rows(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGGING_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the cell's traceback on any failure

    expected = boxed_ids()
    assert sandbox.state()["atlas"] == {ATLAS_PROJECTION_ID: {"Needs review": sorted(
        expected, key=int)}}  # fmt: skip
    [job] = Journal(tmp_path / ".tagging" / "journal.db").jobs()
    assert job["status"] == "done" and job["counts"]["applied"] == len(expected)

    # The Workbench cell displayed one widget view, and the saved widget state holds its
    # Push button, its progress bar at the end, and the result.
    code = [c for c in nb.cells if c.cell_type == "code"]
    (shown,) = [c for c in code if c.source.rstrip().endswith("\nwb")]
    assert [o for o in shown.outputs if WIDGET_VIEW in o.get("data", {})]
    models = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    states = [m["state"] for m in models.values()]
    buttons = {s.get("description") for s in states if s.get("_model_name") == "ButtonModel"}
    assert {"Add filter", "Nothing to push"} <= buttons  # after the push: all of it tagged
    (bar,) = [s for s in states if s.get("_model_name") == "IntProgressModel"]
    assert bar["value"] == bar["max"] == len(expected)
    html = json.dumps([s.get("value") for s in states if s.get("_model_name") == "HTMLModel"])
    assert "<th>applied</th>" in html
    errors = [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    assert errors == []
