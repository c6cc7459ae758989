"""State that holds and state that goes (issue 15): demos, filters, results and errors that
belong to one dataset or one provider do not leak into the next."""

from __future__ import annotations

import os

import pytest
from app_harness import add_filter, app_env, click_push, errors, open_app, select_rows  # noqa: F401
from streamlit.testing.v1 import AppTest

from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID, demo_datasets
from tagging.errors import JournalError
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import TagOperation, plan

pytestmark = pytest.mark.usefixtures("app_env")
P = ATLAS_PROJECTION_ID


def test_loading_another_providers_demo_loads_it_and_switches_provider() -> None:
    at = open_app("nekt")
    assert at.selectbox(key="ds_demo").value == "nekt"  # the demo box follows the provider
    at.selectbox(key="ds_demo").set_value("immuta").run()
    at.button(key="ds_load_demo").click().run()
    assert at.session_state["workset"].name == demo_datasets()["immuta"].name
    assert at.sidebar.selectbox(key="provider").value == "immuta"
    at.sidebar.selectbox(key="provider").set_value("atlas").run()
    assert at.selectbox(key="ds_demo").value == "atlas"
    assert at.session_state["workset"].name == demo_datasets()["atlas"].name


def test_a_new_dataset_starts_with_empty_search_and_its_own_id_column() -> None:
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    at.text_input(key="search").set_value("zzz-no-such-text").run()
    at.switch_page("app_pages/dataset.py").run()
    at.selectbox(key="ds_role_id").set_value("field").run()  # a column the next demo lacks
    at.selectbox(key="ds_demo").set_value("nekt").run()
    at.button(key="ds_load_demo").click().run()
    assert at.selectbox(key="ds_role_id").value == demo_datasets()["nekt"].id_column
    at.switch_page("app_pages/tag.py").run()
    assert at.text_input(key="search").value == ""
    assert not errors(at)


def test_upload_error_goes_with_load_demo_and_provider_switch() -> None:
    at = open_app("atlas")
    at.session_state["ds_error"] = "could not read bad.csv"
    at.run()
    assert errors(at) == ["could not read bad.csv"]
    at.button(key="ds_load_demo").click().run()
    assert not errors(at)
    at.session_state["ds_error"] = "could not read bad.csv"
    at.run()
    at.sidebar.selectbox(key="provider").set_value("nekt").run()
    assert not errors(at)


def test_new_tags_text_does_not_follow_the_provider() -> None:
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    at.text_input(key="tag_new").set_value("Needs review").run()
    at.sidebar.selectbox(key="provider").set_value("nekt").run()
    assert at.text_input(key="tag_new").value == ""


def test_filter_inputs_are_emptied_after_add_filter() -> None:
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "year", "between", ("2019", "2021"))
    assert len(at.session_state["filters"]) == 1
    assert at.text_input(key="flt_low").value == ""
    assert at.text_input(key="flt_high").value == ""
    assert at.button(key="flt_add").disabled  # a second click cannot add a duplicate


def test_untagged_rows_start_from_a_clean_filter_set(sandbox) -> None:  # type: ignore[no-untyped-def]
    frame = demo_datasets()["atlas"].frame()
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    add_filter(at, "field", "equals", "no-such-field")  # would leave 0 rows
    at.text_input(key="search").set_value("zzz").run()
    at.switch_page("app_pages/coverage.py").run()
    at.button(key="cov_untagged").click().run()
    assert at.session_state["filters"] == []
    assert at.text_input(key="search").value == ""
    assert f"{len(frame):,} of {len(frame):,} rows match" in at.markdown[0].value or any(
        f"{len(frame):,} of {len(frame):,} rows match" in m.value for m in at.markdown
    )


def _tag_and_push(at: AppTest, tag: str) -> str:
    select_rows(at, [0, 1])
    at.text_input(key="tag_new").set_value(tag).run()
    click_push(at)
    assert not errors(at), errors(at)
    return str(at.session_state["tag_result"].job_id)


def test_result_box_goes_with_the_provider_and_says_undone(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    job = _tag_and_push(at, "gold")
    assert any(s.value == "Result" for s in at.subheader)
    Journal(os.environ["TAGGING_JOURNAL"]).undo(job, connect("atlas"))
    at.run()
    assert any("was undone by job" in i.value and job in i.value for i in at.info)
    assert "tag_retry" not in [b.key for b in at.button]
    at.sidebar.selectbox(key="provider").set_value("nekt").run()
    assert not any(s.value == "Result" for s in at.subheader)


def test_after_a_push_the_tag_list_and_the_grid_show_the_new_tag(sandbox) -> None:  # type: ignore[no-untyped-def]
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    assert "gold" not in at.multiselect(key="tag_existing").options
    _tag_and_push(at, "gold")
    assert "gold" in at.multiselect(key="tag_existing").options  # no "Refresh tags" needed
    grid = at.dataframe[0].value
    assert list(grid.columns)[0] == "tags now"
    assert grid["tags now"].head(2).tolist() == ["gold", "gold"]
    assert (grid["tags now"].iloc[2:] == "").all()


def test_the_grid_says_tags_now_after_a_filter_toggle_and_another_push(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The "tags now" of rows shown before come back with them, and a push's new tag shows on
    rows whose text was kept from before it."""
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    _tag_and_push(at, "gold")
    field = str(at.dataframe[0].value["field"].iloc[0])

    def toggled() -> dict[str, str]:
        add_filter(at, "field", "not_equals", field)  # hides row 0
        assert at.dataframe[0].value["id"].iloc[0] != "0"
        at.button(key="flt_rm_0").click().run()
        grid = at.dataframe[0].value
        return dict(zip(grid["id"].head(3), grid["tags now"].head(3), strict=True))

    assert toggled() == {"0": "gold", "1": "gold", "2": ""}
    select_rows(at, [0, 2])
    at.text_input(key="tag_new").set_value("silver").run()
    click_push(at)
    assert not errors(at), errors(at)
    assert toggled() == {"0": "gold; silver", "1": "gold", "2": "silver"}


def _history_with_job(sandbox) -> tuple[AppTest, Journal, str]:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    op = TagOperation("atlas", "add", ("gold",), ["1", "2"], target={"projection_id": P})
    job = push(plan(op, journal.state_for("atlas")), connect("atlas"), journal=journal).job_id
    assert job is not None
    at = open_app("atlas")
    at.switch_page("app_pages/history.py").run()
    return at, journal, job


def test_undo_asks_first_then_marks_both_jobs(sandbox) -> None:  # type: ignore[no-untyped-def]
    at, journal, job = _history_with_job(sandbox)
    at.button(key="hist_undo").click().run()
    assert sandbox.state()["atlas"][P]["gold"]  # nothing sent before the confirmation
    at.button(key="hist_undo_yes").click().run()
    assert sandbox.state()["atlas"].get(P, {}).get("gold", []) == []
    undo = journal.undone_by(job)
    assert undo is not None
    at.selectbox(key="hist_job").set_value(job).run()
    assert "undone" in at.markdown[1].value or any("badge[undone]" in m.value for m in at.markdown)
    assert any(f"Undone by job `{undo}`" in c.value for c in at.caption)
    assert at.button(key="hist_undo").disabled
    at.button(key=f"hist_open_{undo}").click().run()
    assert at.selectbox(key="hist_job").value == undo
    assert any(f"Undo of job `{job}`" in c.value for c in at.caption)
    jobs = at.dataframe[0].value.set_index("job")
    assert jobs.loc[job, "status"] == "undone"
    assert jobs.loc[job, "undo"] == f"undone by {undo}"


def test_cancelled_confirmation_sends_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    at, journal, job = _history_with_job(sandbox)
    at.button(key="hist_undo").click().run()
    at.button(key="hist_undo_no").click().run()
    assert "hist_undo_yes" not in [b.key for b in at.button]
    assert sorted(sandbox.state()["atlas"][P]["gold"]) == ["1", "2"]


def _refused_run() -> None:
    from tagging.errors import JournalError
    from ui.push_panel import run_with_progress

    def refuse(report: object) -> object:
        raise JournalError("job x was already undone by job y")

    run_with_progress("Undoing job x…", refuse)  # type: ignore[arg-type]


def test_a_refused_undo_leaves_no_starting_bar() -> None:
    at = AppTest.from_function(_refused_run).run()
    assert not at.exception
    texts = [str(p.proto.text) for p in at.get("progress")]
    assert not any("Starting" in t for t in texts), texts
    assert JournalError  # the refusal is a TaggingError, shown as the status label
