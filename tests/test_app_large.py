"""A Parquet folder larger than the app would load, opened by path through DuckDB: counts and
a page from SQL, a sampled map, "select all filtered" by conditions, the push streams the ids;
the final state read back from the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from app_harness import APP, add_filter, app_env, click_push, errors, metrics, open_app  # noqa: F401
from streamlit.testing.v1 import AppTest

from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.filters import Condition, apply_filters

pytestmark = pytest.mark.usefixtures("app_env")
ROWS = 3_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The demo map's first 3,000 points over three Parquet files."""
    root = tmp_path / "points"
    root.mkdir()
    frame = atlas_frame(ROWS)
    for i, part in enumerate(np.array_split(np.arange(ROWS), 3)):
        frame.iloc[part].to_parquet(root / f"part-{i}.parquet", index=False)
    return root


def _open(folder: Path) -> AppTest:
    at = open_app("atlas")
    at.text_input(key="ds_large_path").set_value(str(folder)).run()
    at.button(key="ds_open_large").click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_open_a_parquet_folder_by_path(folder: Path) -> None:
    at = _open(folder)
    assert metrics(at)["Rows"] == "3,000"
    assert any("Read through DuckDB from 3 Parquet file(s)" in i.value for i in at.info)
    assert at.selectbox(key="ds_role_id").value == "id"
    at.text_input(key="ds_large_path").set_value(str(folder / "nothing-*.parquet")).run()
    at.button(key="ds_open_large").click().run()
    assert errors(at) == [f"no file matches {folder / 'nothing-*.parquet'}: check the pattern"]
    assert metrics(at)["Rows"] == "3,000"  # the open dataset stays


def test_tag_page_counts_pages_samples_and_pushes_the_filtered_rows(folder: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    at = _open(folder)
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "field", "in", ["cs.LG", "cs.CL"])
    add_filter(at, "year", "between", ("2019", ""))
    assert not at.exception and not errors(at), (at.exception, errors(at))
    frame = atlas_frame(ROWS)
    conds = [
        Condition("field", "in", ["cs.LG", "cs.CL"]),
        Condition("year", "between", ("2019", None)),
    ]
    expected = frame.loc[apply_filters(frame, conds), "id"].tolist()
    assert f"**0 selected** · {len(expected):,} of 3,000 rows match" in _markdown(at)
    # the grid: the first page of the filtered rows, in file order
    grid = at.dataframe[0].value
    assert grid["id"].tolist() == expected[:100]
    assert set(grid["tags now"]) == {""}  # nothing tagged yet
    at.number_input(key="large_page").set_value(2).run()
    assert at.dataframe[0].value["id"].tolist() == expected[100:200]
    # the map: a sample of the filtered rows, said so
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = spec["data"][0]["text"]
    assert set(drawn) <= set(expected) and len(drawn) == len(expected)  # fewer than the sample
    assert any("A sample of" in c.value and "filtered rows" in c.value for c in at.caption)
    # select all filtered: by the conditions; the push streams their ids
    at.button(key="tag_select_all").click().run()
    assert f"**{len(expected):,} selected**" in _markdown(at)
    at.text_input(key="tag_new").set_value("Large").run()
    m = metrics(at)
    assert (m["Rows selected"], m["To send"]) == (f"{len(expected):,}", f"{len(expected):,}")
    click_push(at)
    assert not at.exception and not errors(at), (at.exception, errors(at))
    state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["Large"]
    assert sorted(state, key=int) == sorted(expected, key=int)
    assert metrics(at)["Applied"] == f"{len(expected):,}"
    assert set(at.dataframe[0].value["tags now"]) == {"Large"}  # page 2: all pushed
    # clearing selects nothing; a new filter does not change what was selected
    at.button(key="tag_clear_selection").click().run()
    assert "**0 selected**" in _markdown(at)


def test_a_bad_filter_on_a_large_dataset_is_one_error_line(folder: Path) -> None:
    at = _open(folder)
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "title", "regex", r"(G)raph\1")
    assert len(errors(at)) == 1
    assert errors(at)[0].startswith(r"filter on 'title': regular expression '(G)raph\1'")
    assert not at.exception


def test_a_sampled_map_of_many_rows_draws_at_most_the_sample(tmp_path: Path) -> None:
    big = atlas_frame(30_000)
    big.to_parquet(tmp_path / "big.parquet", index=False)
    at = _open(tmp_path / "big.parquet")
    at.switch_page("app_pages/tag.py").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = spec["data"][0]["text"]
    assert 15_000 < len(drawn) <= 20_000 and len(set(drawn)) == len(drawn)
    caption = next(c.value for c in at.caption if "A sample of" in c.value)
    assert caption.startswith(f"A sample of {len(drawn):,} of 30,000 filtered rows")


def test_coverage_says_it_needs_the_dataset_in_memory(folder: Path) -> None:
    at = _open(folder)
    at.switch_page("app_pages/coverage.py").run()
    assert not at.exception
    assert any("not drawn yet" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_server_paths_stay_inside_the_data_dir(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGGING_DATA_DIR", str(tmp_path / "elsewhere"))
    at = open_app("atlas")
    at.text_input(key="ds_large_path").set_value(str(folder)).run()
    at.button(key="ds_open_large").click().run()
    assert errors(at) == [
        f"{folder} is outside {tmp_path / 'elsewhere'} (TAGGING_DATA_DIR): choose a path inside it"
    ]
    monkeypatch.setenv("TAGGING_DATA_DIR", str(tmp_path))
    at.button(key="ds_open_large").click().run()
    assert not errors(at) and metrics(at)["Rows"] == "3,000"


def test_kinds_of_a_large_dataset_come_from_its_type_column(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    from tagging.demo import demo_datasets

    frame = demo_datasets()["nekt"].frame()
    root = tmp_path / "resources"
    root.mkdir()
    frame.iloc[::2].to_parquet(root / "a.parquet", index=False)
    frame.iloc[1::2].to_parquet(root / "b.parquet", index=False)
    at = open_app("nekt")
    at.text_input(key="ds_large_path").set_value(str(root)).run()
    at.button(key="ds_open_large").click().run()
    at.radio(key="ds_role_kind_mode_nekt").set_value("column").run()
    at.selectbox(key="ds_role_kind_column_nekt").set_value("resource_type").run()
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "resource_type", "in", ["sources", "tables"])
    at.button(key="tag_select_all").click().run()
    at.text_input(key="tag_new").set_value("pii").run()
    click_push(at)
    assert not at.exception and not errors(at), (at.exception, errors(at))
    wanted = frame[frame["resource_type"].isin(["sources", "tables"])]
    state = sandbox.state()["nekt"]
    assert {r for r, tags in state.items() if "pii" in tags} == set(wanted["id"])
    assert metrics(at)["Applied"] == f"{len(wanted):,}"


def test_a_reload_opens_the_large_dataset_again(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGGING_SESSIONS", str(tmp_path / "sessions"))
    at = _open(folder)
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "field", "in", ["cs.LG"])
    sid = at.query_params["sid"]
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params["sid"] = sid[0] if isinstance(sid, list) else sid
    again.run()
    assert not again.exception, again.exception
    ws = again.session_state["workset"]
    assert ws.large is not None and ws.rows == ROWS and ws.id_column == "id"
    assert again.session_state["filters"] == [Condition("field", "in", ["cs.LG"])]
