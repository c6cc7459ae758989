"""examples/quickstart.ipynb runs top to bottom against the test sandbox and tags what it says."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, Sandbox
from nbclient import NotebookClient

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.journal import Journal

NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def test_quickstart_tags_the_filtered_papers(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel inherits this environment: the test sandbox, and the repository on the path.
    monkeypatch.setenv("TAGGING_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the cell's traceback on any failure

    # The notebook tags cs.CL papers with at least 15 citations: exactly those, nothing else.
    df = atlas_frame()
    expected = set(df.loc[(df["field"] == "cs.CL") & (df["citations"] >= 15), "id"])
    assert 100 < len(expected) < len(df)
    atlas = sandbox.state()["atlas"]
    assert list(atlas) == [ATLAS_PROJECTION_ID] and list(atlas[ATLAS_PROJECTION_ID]) == [
        "Needs review"
    ]
    tagged = atlas[ATLAS_PROJECTION_ID]["Needs review"]
    assert len(tagged) == len(set(tagged)) and set(tagged) == expected

    # It journaled one finished job in its working directory.
    [job] = Journal(tmp_path / ".tagging" / "journal.db").jobs()
    assert job["status"] == "done" and job["counts"]["applied"] == len(expected)

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert errors == []
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) == 2  # the facet bar and the tag bar
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "push should draw a notebook (widget) progress bar"
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<th>applied</th>" in "".join(t) for t in tables), "the result renders as a table"
