"""Dataset page and app shell in AppTest: demo on open, uploads, bad files, column roles."""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest
from app_harness import app_env, errors, metrics, open_app  # noqa: F401

from tagging.demo import ATLAS_POINTS_VAR, demo_datasets

pytestmark = pytest.mark.usefixtures("app_env")


@pytest.mark.parametrize("provider", ["atlas", "nekt", "immuta"])
def test_app_opens_on_the_providers_demo_dataset(provider: str) -> None:
    at = open_app(provider)
    demo = demo_datasets()[provider]
    ws = at.session_state["workset"]
    assert ws.name == demo.name
    assert ws.id_column == demo.id_column
    assert ws.kind_column == demo.kind_column
    assert metrics(at)["Rows"] == f"{len(demo.frame()):,}"
    assert at.selectbox(key="ds_role_id").value == demo.id_column
    host = os.environ["TAGGING_SANDBOX_URL"].removeprefix("http://")
    badge = f"badge[:material/science: sandbox · {host}]"  # the mode and the host
    assert any(badge in m.value for m in at.sidebar.markdown)
    # the sandbox the app starts outlives it: the sidebar says so, and how to stop it
    assert any("kill $(cat .tagging/sandbox.pid)" in c.value for c in at.sidebar.caption)


def test_test_connection_lists_the_providers_tags() -> None:
    at = open_app("immuta")
    at.sidebar.button(key="test_connection").click().run()
    ok = [s.value for s in at.sidebar.success]
    host = os.environ["TAGGING_SANDBOX_URL"].removeprefix("http://")
    assert ok and ok[0].startswith(f"Connected to sandbox {host}: 9 tags.")
    assert "Discovered.Country.Argentina" in ok[0]


def test_live_mode_with_a_bad_url_shows_one_error_line() -> None:
    at = open_app("nekt")
    at.sidebar.radio(key="mode").set_value("live").run()
    assert any("badge[:material/cloud: live API · " in m.value for m in at.sidebar.markdown)
    at.sidebar.text_input(key="live_url_nekt").set_value("ftp://nowhere")
    at.sidebar.text_input(key="live_key_nekt").set_value("secret-key-123").run()
    at.sidebar.button(key="test_connection").click().run()
    (line,) = [e.value for e in at.sidebar.error]
    assert "not a valid URL" in line and "\n" not in line
    assert "secret-key-123" not in line


def _upload(at, name: str, data: bytes, mime: str = "text/csv"):  # type: ignore[no-untyped-def]
    at.file_uploader(key="ds_upload").set_value((name, data, mime))
    return at.run()


def test_upload_csv_loads_it_with_a_suggested_id_column() -> None:
    at = open_app("atlas")
    csv = b"name,uid,score\nann,a-1,3\nbob,a-2,5\ncid,a-3,8\n"
    _upload(at, "people.csv", csv)
    assert not errors(at)
    ws = at.session_state["workset"]
    assert ws.name == "people.csv" and ws.id_column == "uid"
    assert metrics(at)["Rows"] == "3"
    assert at.selectbox(key="ds_role_id").value == "uid"
    # the column roles stick
    at.selectbox(key="ds_role_tags").set_value("name").run()
    assert at.session_state["workset"].tags_column == "name"


def test_upload_parquet_and_duplicate_ids_are_reported() -> None:
    at = open_app("atlas")
    frame = pd.DataFrame({"id": ["1", "2", "2", None], "v": [1, 2, 3, 4]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    _upload(at, "rows.parquet", buf.getvalue(), "application/octet-stream")
    at.selectbox(key="ds_role_id").set_value("id").run()
    (warning,) = [w.value for w in at.warning]
    assert "1 rows have no id" in warning and "1 ids repeat" in warning


def test_the_demo_map_follows_its_size_between_runs_of_one_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # AppTest runs share st.cache_data: a run with a small demo map (the ui.* benchmarks'
    # quick sizes) once left the next run of the process on the small frame.
    monkeypatch.setenv(ATLAS_POINTS_VAR, "1000")
    assert metrics(open_app("atlas"))["Rows"] == "1,000"
    monkeypatch.delenv(ATLAS_POINTS_VAR)
    assert metrics(open_app("atlas"))["Rows"] == "10,000"


def test_a_bad_file_shows_one_error_and_keeps_the_loaded_dataset() -> None:
    at = open_app("atlas")
    before = at.session_state["workset"].name
    _upload(at, "broken.parquet", b"this is not parquet at all", "application/octet-stream")
    (line,) = errors(at)
    assert "broken.parquet" in line and "\n" not in line
    assert at.session_state["workset"].name == before
    assert metrics(at)["Rows"] == "10,000"


def test_nekt_resource_type_fixed_or_from_a_column() -> None:
    at = open_app("nekt")
    assert at.radio(key="ds_role_kind_mode_nekt").value == "column"
    at.radio(key="ds_role_kind_mode_nekt").set_value("fixed").run()
    at.selectbox(key="ds_role_kind_fixed_nekt").set_value("tables").run()
    ws = at.session_state["workset"]
    assert (ws.kind_column, ws.fixed_kind) == (None, "tables")


def test_switching_provider_swaps_the_demo_but_keeps_an_upload() -> None:
    at = open_app("atlas")
    at.sidebar.selectbox(key="provider").set_value("immuta").run()
    assert at.session_state["workset"].id_column == "model_id"
    _upload(at, "mine.csv", b"id,x\n1,a\n2,b\n")
    at.sidebar.selectbox(key="provider").set_value("nekt").run()
    assert at.session_state["workset"].name == "mine.csv"
    at.button(key="ds_load_demo").click().run()
    assert at.session_state["workset"].name == demo_datasets()["nekt"].name  # follows provider
