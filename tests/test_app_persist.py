"""A browser reload keeps the session: a new Streamlit session with the same `?sid=` brings
back provider, dataset, roles, filters, search and selection (ui/persist.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from app_harness import APP, add_filter, app_env, open_app, select_rows, selected  # noqa: F401
from streamlit.testing.v1 import AppTest

from tagging.demo import demo_datasets
from tagging.filters import Condition
from ui import persist

pytestmark = pytest.mark.usefixtures("app_env")


@pytest.fixture(autouse=True)
def sessions(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TAGGING_SESSIONS", str(tmp_path / "sessions"))
    return tmp_path / "sessions"


def reload(sid: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_reload_keeps_provider_demo_filters_search_and_selection() -> None:
    at = open_app("nekt")
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "resource_type", "in", ["tables"])
    tables = demo_datasets()["nekt"].frame().query("resource_type == 'tables'")
    word = str(tables.iloc[0]["name"])
    at.text_input(key="search").set_value(word).run()
    select_rows(at, [0])
    before = selected(at)
    assert len(before) >= 1
    sid = at.query_params["sid"]
    sid = sid[0] if isinstance(sid, list) else sid

    again = reload(sid)
    assert again.session_state["provider"] == "nekt"
    assert again.session_state["workset"].name.startswith("Nekt")
    assert again.session_state["filters"] == [Condition("resource_type", "in", ["tables"])]
    assert again.session_state["search"] == word
    assert selected(again) == before
    assert reload("0" * 32).session_state["provider"] == "atlas"  # an unknown id starts afresh


def test_a_reload_keeps_an_uploaded_file_and_its_roles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """AppTest cannot drive a file uploader: the saved upload and state are written as the
    Dataset page's callback and ui/persist.save would write them."""
    at = open_app("atlas")
    sid = at.query_params["sid"]
    folder = persist.root() / (sid[0] if isinstance(sid, list) else sid)
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"key": ["a", "b", "c"], "doc": ["x", "y", "z"], "t": ["", "p", ""]})
    frame.to_csv(folder / "upload-mine.csv", index=False)
    roles = dict.fromkeys(persist.ROLES) | {"id_column": "doc", "tags_column": "t"}
    state = {
        "provider": "atlas",
        "dataset": {"demo": None, "upload": "mine.csv", **roles},
        "filters": [],
        "search": "",
        "selected": ["x", "z"],
    }
    (folder / "state.json").write_text(json.dumps(state))
    again = reload(folder.name)
    got = again.session_state["workset"]
    assert (got.name, got.id_column, got.tags_column) == ("mine.csv", "doc", "t")
    assert got.frame["doc"].tolist() == ["x", "y", "z"]
    assert selected(again) == {"x", "z"}
