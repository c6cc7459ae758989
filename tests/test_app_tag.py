"""Tag page in AppTest: filter, select, pick tags, preview, push; state read back from the
sandbox."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest
from app_harness import (  # noqa: F401
    add_filter,
    app_env,
    click_push,
    errors,
    grid_key,
    metrics,
    open_app,
    select_rows,
    selected,
)
from conftest import KEYS
from streamlit.testing.v1 import AppTest

from tagging.demo import ATLAS_PROJECTION_ID, demo_datasets
from tagging.selection import key_of

pytestmark = pytest.mark.usefixtures("app_env")
P = ATLAS_PROJECTION_ID


def tag_page(provider: str) -> AppTest:
    at = open_app(provider)
    at.switch_page("app_pages/tag.py").run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def demo(provider: str) -> pd.DataFrame:
    return demo_datasets()[provider].frame()


def push(at: AppTest) -> AppTest:
    click_push(at)
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def test_atlas_filter_select_tag_preview_push(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("atlas")
    add_filter(at, "field", "equals", "cs.LG")
    frame = demo("atlas")
    expected = frame.loc[frame["field"] == "cs.LG", "id"].head(5).tolist()
    select_rows(at, [0, 1, 2, 3, 4])
    assert selected(at) == set(expected)
    at.text_input(key="tag_new").set_value("Needs review").run()
    m = metrics(at)
    assert (m["Rows selected"], m["Already tagged"], m["To send"], m["Batches"]) == (
        "5",
        "0",
        "5",
        "1",
    )
    push(at)
    assert sorted(sandbox.state()["atlas"][P]["Needs review"]) == sorted(expected)
    m = metrics(at)
    assert (m["Applied"], m["Not found"], m["Failed"]) == ("5", "0", "0")
    # the preview now knows these ids carry the tag: nothing left to send
    assert (m["Already tagged"], m["To send"]) == ("5", "0")
    assert at.button(key="tag_push").disabled


def test_nekt_select_all_filtered_rows_and_push(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("nekt")
    add_filter(at, "resource_type", "in", ["sources", "tables"])
    at.button(key="tag_select_all").click().run()
    frame = demo("nekt")
    wanted = frame[frame["resource_type"].isin(["sources", "tables"])]
    # the demo dataset has a resource type column: the selection holds (type, id) keys
    assert selected(at) == {
        key_of(kind, id_) for kind, id_ in zip(wanted["resource_type"], wanted["id"], strict=True)
    }
    at.text_input(key="tag_new").set_value("marketing, pii").run()
    push(at)
    state = sandbox.state()["nekt"]
    assert set(state) == set(wanted["id"])
    assert all(sorted(tags) == ["marketing", "pii"] for tags in state.values())
    assert metrics(at)["Applied"] == f"{len(wanted):,}"


def test_immuta_existing_leaf_tag_on_datasources(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("immuta")
    add_filter(at, "model_type", "equals", "datasource")
    at.text_input(key="search").set_value("finance").run()
    frame = demo("immuta")
    rows = frame[(frame["model_type"] == "datasource") & frame["name"].str.contains("finance")]
    select_rows(at, [0, 1])
    at.multiselect(key="tag_existing").set_value(["Discovered.Passport"]).run()
    assert not at.warning
    push(at)
    state = sandbox.state()["immuta"]
    for model_id in rows["model_id"].head(2):
        assert "Discovered.Passport" in state[f"datasource:{model_id}"]
    assert metrics(at)["Applied"] == "2"


def test_immuta_parent_tag_warns_before_pushing() -> None:
    at = tag_page("immuta")
    select_rows(at, [0])
    at.multiselect(key="tag_existing").set_value(["Discovered.Country"]).run()
    (warning,) = [w.value for w in at.warning]
    assert "parent tag" in warning and "Discovered.Country" in warning


def test_immuta_unknown_tag_is_one_error_line_and_nothing_is_sent(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("immuta")
    select_rows(at, [0])
    at.text_input(key="tag_new").set_value("No.Such.Tag").run()
    (line,) = errors(at)
    assert "No.Such.Tag" in line and "\n" not in line
    assert "tag_push" not in [b.key for b in at.button]
    assert sandbox.state()["immuta"] == {"datasource:523": ["Discovered.Country.Canada"]}


def test_selection_survives_filter_changes_and_maps_positions_to_ids() -> None:
    at = tag_page("atlas")
    frame = demo("atlas")
    add_filter(at, "field", "equals", "cs.CV")
    first = frame.loc[frame["field"] == "cs.CV", "id"].iloc[[0, 2]].tolist()
    select_rows(at, [0, 2])
    at.button(key="flt_rm_0").click().run()  # back to all rows
    add_filter(at, "year", "between", ("2020", "2021"))
    in_range = frame[(frame["year"] >= 2020) & (frame["year"] <= 2021)]
    select_rows(at, [1])
    second = in_range["id"].iloc[1]
    assert selected(at) == {*first, second}
    # with the filters cleared the grid ticks the stored selection at the ids' positions
    at.button(key="flt_clear").click().run()
    grid = json.loads(at.dataframe[0].proto.selection_default)
    positions = frame.index[frame["id"].isin([*first, second])].tolist()
    assert grid["selection"]["rows"] == positions
    at.button(key="tag_clear_selection").click().run()
    assert selected(at) == set()


def test_more_than_10000_rows_show_a_cap_and_select_all_uses_the_full_mask(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = open_app("atlas")
    ids = [str(i) for i in range(12_000)]
    csv = ("id,half\n" + "\n".join(f"{i},{int(i) % 2}" for i in ids)).encode()
    at.file_uploader(key="ds_upload").set_value(("big.csv", csv, "text/csv"))
    at.run()
    at.switch_page("app_pages/tag.py").run()
    text = " ".join(m.value for m in at.markdown)
    assert "showing 10,000 of 12,000 filtered rows" in text
    at.button(key="tag_select_all").click().run()
    assert len(selected(at)) == 12_000
    at.text_input(key="tag_new").set_value("bulk").run()
    push(at)
    m = metrics(at)
    # the sandbox projection has 10,000 points: Atlas counts the rest as not found
    assert (m["Applied"], m["Not found"], m["Failed"]) == ("10,000", "2,000", "0")
    assert len(sandbox.state()["atlas"][P]["bulk"]) == 10_000


def test_live_push_above_threshold_needs_confirmation(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("atlas")
    at.sidebar.radio(key="mode").set_value("live").run()
    at.button(key="tag_select_all").click().run()
    at.text_input(key="tag_new").set_value("reviewed").run()
    confirm = at.checkbox(key="tag_confirm")
    assert "10,000 ids" in confirm.label and P in confirm.label and "Nomic Atlas" in confirm.label
    assert at.button(key="tag_push").disabled
    confirm.check().run()
    assert not at.button(key="tag_push").disabled
    push(at)
    assert len(sandbox.state()["atlas"][P]["reviewed"]) == 10_000


def test_copy_as_curl_hides_the_key() -> None:
    at = tag_page("nekt")
    select_rows(at, [0, 1])
    at.text_input(key="tag_new").set_value("x").run()
    export, code = [c.value for c in at.code]
    assert "$NEKT_API_KEY" in code and "sandbox-nekt-key" not in code
    assert "/api/v1/tags/attach/" in code
    # sandbox mode: the sandbox's (public) key to export, so the command runs as shown
    assert export == "export NEKT_API_KEY=sandbox-nekt-key"
    assert any("The first 2 ids of 2 (batch 1 of 1)" in c.value for c in at.caption)


def test_bad_regex_filter_is_one_error_line_and_not_added() -> None:
    at = tag_page("atlas")
    add_filter(at, "title", "regex", "(")
    (line,) = errors(at)
    assert "regular expression" in line and "\n" not in line
    assert at.session_state["filters"] == []


def test_failed_ids_downloadable_and_retry(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("atlas")
    # The map exists (its tags list), but it has no such id field: every request is refused.
    at.text_input(key="tag_id_field").set_value("no_such_field").run()
    select_rows(at, [0, 1, 2])
    at.text_input(key="tag_new").set_value("t").run()
    push(at)
    m = metrics(at)
    assert (m["Applied"], m["Failed"]) == ("0", "3")
    (download,) = [d for d in at.get("download_button") if "Failed ids" in d.proto.label]
    assert download.proto.label == "Failed ids (3)"
    at.button(key="tag_retry").click().run()
    assert metrics(at)["Failed"] == "3"  # the field still does not exist
    assert sandbox.state()["atlas"] == {}


def test_an_unknown_projection_is_refused_before_anything_is_sent(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("atlas")
    at.text_input(key="tag_projection").set_value("00000000-0000-0000-0000-000000000000").run()
    select_rows(at, [0, 1, 2])
    at.text_input(key="tag_new").set_value("t").run()
    assert any("HTTP 404" in e for e in errors(at)), errors(at)
    assert not [b for b in at.button if b.key == "tag_push"]
    assert sandbox.state()["atlas"] == {}


def test_immuta_project_6_tagged_does_not_make_data_source_6_look_tagged(sandbox) -> None:  # type: ignore[no-untyped-def]
    import os

    from tagging.config import connect
    from tagging.executor import push as send
    from tagging.journal import Journal
    from tagging.plan import TagOperation, plan

    journal = Journal(os.environ["TAGGING_JOURNAL"])
    op = TagOperation("immuta", "add", ("Confidential",), ["6"], kinds="project")
    assert send(plan(op), connect("immuta"), journal=journal).applied == 1
    at = tag_page("immuta")
    add_filter(at, "model_type", "equals", "datasource")
    add_filter(at, "model_id", "equals", "6")
    select_rows(at, [0])
    at.multiselect(key="tag_existing").set_value(["Confidential"]).run()
    m = metrics(at)
    assert (m["Already tagged"], m["To send"]) == ("0", "1")
    push(at)
    state = sandbox.state()["immuta"]
    assert state["datasource:6"] == ["Confidential"]
    assert state["project:6"] == ["Confidential"]
    # now the journal knows data source 6 carries it
    assert (metrics(at)["Already tagged"], metrics(at)["To send"]) == ("1", "0")


def test_immuta_data_source_6_and_project_6_are_selected_and_pushed_apart(sandbox) -> None:  # type: ignore[no-untyped-def]
    import os

    from tagging.config import connect
    from tagging.journal import Journal

    before = sandbox.state()["immuta"]
    at = tag_page("immuta")
    add_filter(at, "model_id", "equals", "6")
    frame = demo("immuta")
    shown = frame[frame["model_id"] == "6"]
    assert shown["model_type"].tolist() == ["datasource", "project"]  # the grid's two rows
    select_rows(at, [0])
    assert selected(at) == {key_of("datasource", "6")}
    assert "**1 selected** · 1 in view" in " ".join(m.value for m in at.markdown)
    at.multiselect(key="tag_existing").set_value(["Confidential"]).run()
    assert metrics(at)["Rows selected"] == "1"
    push(at)
    state = sandbox.state()["immuta"]
    assert state["datasource:6"] == ["Confidential"] and "project:6" not in state
    first_job = Journal(os.environ["TAGGING_JOURNAL"]).jobs()[0]["id"]

    # both rows: data source 6 is already tagged (journal and sandbox know), project 6 is sent
    select_rows(at, [0, 1])
    assert selected(at) == {key_of("datasource", "6"), key_of("project", "6")}
    m = metrics(at)
    assert (m["Rows selected"], m["Already tagged"], m["To send"]) == ("2", "1", "1")
    push(at)
    state = sandbox.state()["immuta"]
    assert state["datasource:6"] == ["Confidential"] and state["project:6"] == ["Confidential"]
    # the selection survives a filter change and a rerun, and a cleared filter still ticks
    # exactly those two rows of the full grid
    at.button(key="flt_clear").click().run()
    grid = json.loads(at.dataframe[0].proto.selection_default)
    assert grid["selection"]["rows"] == shown.index.tolist()

    # undo both jobs, newest first: the sandbox is back to its state before the test
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    second_job = journal.jobs()[0]["id"]
    assert second_job != first_job
    conn = connect("immuta")
    # Immuta documents no read of a project's tags: project 6's prior state is unknown (the
    # journal never saw it), so its undo needs force; data source 6 was read back.
    assert "1 items' prior state is unknown" in str(journal.undo_warning(second_job))
    assert journal.undo(second_job, conn, force=True).failed == 0
    assert journal.undo_warning(first_job) is None
    assert journal.undo(first_job, conn).failed == 0
    assert sandbox.state()["immuta"] == before


def test_one_push_of_data_source_6_and_project_6_sends_both_and_undo_is_exact(sandbox) -> None:  # type: ignore[no-untyped-def]
    import os

    from tagging.config import connect
    from tagging.journal import Journal

    before = sandbox.state()["immuta"]
    at = tag_page("immuta")
    add_filter(at, "model_id", "equals", "6")
    select_rows(at, [0, 1])
    at.multiselect(key="tag_existing").set_value(["Confidential"]).run()
    m = metrics(at)
    assert (m["Rows selected"], m["To send"]) == ("2", "2")
    push(at)
    assert metrics(at)["Applied"] == "2"
    state = sandbox.state()["immuta"]
    assert state["datasource:6"] == ["Confidential"] and state["project:6"] == ["Confidential"]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    (job,) = [j["id"] for j in journal.jobs()]
    assert journal.undo_preview(job).unknown == 1  # project 6: no documented read
    assert journal.undo(job, connect("immuta"), force=True).applied == 2
    assert sandbox.state()["immuta"] == before


def test_a_changed_kind_role_rekeys_the_same_selected_rows() -> None:
    at = tag_page("immuta")
    add_filter(at, "model_id", "equals", "6_countrycode")
    select_rows(at, [0])
    assert selected(at) == {key_of("column", "6_countrycode")}
    at.switch_page("app_pages/dataset.py").run()
    at.radio(key="ds_role_kind_mode_immuta").set_value("fixed").run()
    at.selectbox(key="ds_role_kind_fixed_immuta").set_value("column").run()
    at.switch_page("app_pages/tag.py").run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    # no kind column now: the key is the id alone, still the same row
    assert selected(at) == {"6_countrycode"}
    assert "**1 selected** · 1 in view" in " ".join(m.value for m in at.markdown)


def test_immuta_new_tags_are_created_from_the_page_then_pushed(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = tag_page("immuta")
    select_rows(at, [0])
    at.multiselect(key="tag_existing").set_value(["Confidential"]).run()
    at.text_input(key="tag_new").set_value("Team.Finance.Budget, Discovered.Passport").run()
    (warning,) = [w.value for w in at.warning]
    assert "Team.Finance.Budget" in warning and "leaf" in warning
    assert "Discovered.Passport" not in warning  # it exists already
    at.button(key="tag_create").click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    assert "tag_create" not in [b.key for b in at.button]
    names = {t["name"] for t in httpx.get(
        sandbox.api("immuta") + "/tag", headers={"Authorization": KEYS["immuta"]}
    ).json()}  # fmt: skip
    assert {"Team", "Team.Finance", "Team.Finance.Budget"} <= names
    assert at.multiselect(key="tag_existing").value == [
        "Confidential", "Discovered.Passport", "Team.Finance.Budget",
    ]  # fmt: skip
    assert at.text_input(key="tag_new").value == ""
    push(at)
    frame = demo("immuta")
    first = frame.iloc[0]
    key = f"{first['model_type']}:{first['model_id']}"
    assert set(sandbox.state()["immuta"][key]) >= {
        "Confidential", "Discovered.Passport", "Team.Finance.Budget"
    }  # fmt: skip


def test_atlas_creates_tags_on_push_so_no_create_button() -> None:
    at = tag_page("atlas")
    select_rows(at, [0])
    at.text_input(key="tag_new").set_value("Brand new").run()
    assert "tag_create" not in [b.key for b in at.button]


def test_a_push_clicked_with_an_unsent_tag_edit_sends_nothing_until_clicked_again(sandbox) -> None:  # type: ignore[no-untyped-def]
    # The push starts in the button's callback with the plan the page last drew: a tag typed
    # and sent with the same click must not push that older plan under the older tag.
    at = tag_page("atlas")
    select_rows(at, [0, 1, 2])
    at.text_input(key="tag_new").set_value("First draft").run()
    assert metrics(at)["To send"] == "3"
    at.text_input(key="tag_new").set_value("Final name")
    at.button(key="tag_push").click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    (warning,) = [w.value for w in at.warning if "changed as you clicked" in w.value]
    assert "nothing was sent" in warning
    assert sandbox.state()["atlas"].get(P, {}) == {}
    push(at)  # the page now previews "Final name": this click sends it
    expected = demo("atlas")["id"].head(3).astype(str).tolist()
    state = sandbox.state()["atlas"][P]
    assert sorted(state) == ["Final name"] and sorted(state["Final name"]) == sorted(expected)
    assert metrics(at)["Applied"] == "3"
