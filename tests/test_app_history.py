"""History page in AppTest: jobs from the journal, batches, resume, retry, undo, export."""

from __future__ import annotations

import io
import json
import os

import pandas as pd
import pytest
from app_harness import app_env, errors, metrics, open_app  # noqa: F401
from streamlit.testing.v1 import AppTest

from benchmarks.app_steps import deferred_files
from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import TagOperation, plan
from tagging.values import BatchOutcome

pytestmark = pytest.mark.usefixtures("app_env")
P = ATLAS_PROJECTION_ID


def atlas_op(ids: list[str], tag: str = "gold") -> TagOperation:
    return TagOperation("atlas", "add", (tag,), ids, target={"projection_id": P})


def history(provider: str = "atlas") -> AppTest:
    at = open_app(provider)
    at.switch_page("app_pages/history.py").run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def test_empty_journal_says_so() -> None:
    at = history()
    assert "No jobs yet" in at.info[0].value


def test_job_list_batches_export_and_exact_undo(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    conn = connect("atlas")
    # known state given: the journal can undo exactly
    job = push(plan(atlas_op(["1", "2", "3"]), journal.state_for("atlas"), chunk_size=2), conn,
               journal=journal).job_id  # fmt: skip
    at = history()
    assert at.selectbox(key="hist_job").value == job
    m = metrics(at)
    assert (m["Ids"], m["Applied"], m["Failed"], m["Pending"]) == ("3", "3", "0", "0")
    assert len(at.dataframe[1].value) == 2  # two batches
    exports = {d.proto.label: d for d in at.get("download_button")}
    assert set(exports) == {"Export CSV", "Export JSON", "Export Parquet"}
    # A click must not rerun: a rerun drops the other button's deferred file, and a quick
    # second click then fails (MediaFileStorageError). The files are built on click.
    assert all(d.proto.ignore_rerun and d.proto.deferred_file_id for d in exports.values())
    exported = json.loads(journal.export_job(job, "json"))
    assert exported["job"]["id"] == job
    assert not at.warning  # prior state was known
    at.button(key="hist_undo").click().run()
    at.button(key="hist_undo_yes").click().run()
    assert not errors(at)
    assert sandbox.state()["atlas"].get(P, {}).get("gold", []) == []
    assert len(journal.jobs()) == 2


def test_undo_warns_when_prior_state_was_unknown(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    push(plan(atlas_op(["5"])), connect("atlas"), journal=journal)  # no known state
    at = history()
    (warning,) = [w.value for w in at.warning]
    assert "1 items' prior state is unknown" in warning
    assert at.button(key="hist_undo").disabled
    at.checkbox(key="hist_undo_confirm").check().run()
    at.button(key="hist_undo").click().run()
    at.button(key="hist_undo_yes").click().run()
    assert sandbox.state()["atlas"].get(P, {}).get("gold", []) == []


def test_resume_sends_the_pending_batches(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    job = journal.start_job(plan(atlas_op(["7", "8", "9"]), chunk_size=2))  # killed before sending
    journal.release(job)  # its process is gone: the lease with it
    at = history()
    assert metrics(at)["Pending"] == "3"
    at.button(key="hist_resume").click().run()
    assert not errors(at)
    assert sorted(sandbox.state()["atlas"][P]["gold"]) == ["7", "8", "9"]
    assert journal.job(job)["counts"]["pending"] == 0
    assert metrics(at)["Pending"] == "0"


def test_a_job_another_runner_holds_has_its_buttons_disabled_with_the_reason(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    job = journal.start_job(plan(atlas_op(["7", "8"]), chunk_size=1))  # still being pushed
    at = history()
    for key in ("hist_resume", "hist_retry", "hist_undo"):
        assert at.button(key=key).disabled
    [info] = [i.value for i in at.info if "is being pushed" in i.value]
    assert info.startswith(f"job {job} is being pushed by pid {os.getpid()}")
    assert at.button(key="hist_resume").help == info
    journal.finish_job(job, "interrupted")
    at.run()
    assert not at.button(key="hist_resume").disabled


def test_retry_failures_after_the_api_recovers(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    bad = {"projection_id": "00000000-0000-0000-0000-000000000000"}
    op = TagOperation("atlas", "add", ("gold",), ["1"], target=bad)
    job = push(plan(op), connect("atlas"), journal=journal).job_id
    at = history()
    assert metrics(at)["Failed"] == "1"
    at.button(key="hist_retry").click().run()
    assert metrics(at)["Failed"] == "1"  # still no such projection; the job stays failed
    assert journal.job(str(job))["counts"]["failed"] == 1


def test_a_job_of_another_provider_offers_a_switch(sandbox) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    push(plan(atlas_op(["1"])), connect("atlas"), journal=journal)
    at = history("nekt")
    assert "hist_undo" not in [b.key for b in at.button]
    at.button(key="hist_switch").click().run()
    assert at.session_state["provider"] == "atlas"
    assert "hist_undo" in [b.key for b in at.button]


def test_history_shows_who_ran_each_job_and_filters_by_it(
    sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TAGGING_USER", raising=False)
    path = os.environ["TAGGING_JOURNAL"]
    with Journal(path, actor="ana@example.org") as journal:
        ana = push(plan(atlas_op(["1"])), connect("atlas"), journal=journal).job_id
    with Journal(path, actor="bo@example.org") as journal:
        bo = push(plan(atlas_op(["2"], tag="silver")), connect("atlas"), journal=journal).job_id
    at = history()
    table = at.dataframe[0].value
    assert dict(zip(table["job"], table["actor"], strict=True)) == {
        ana: "ana@example.org",
        bo: "bo@example.org",
    }
    who = at.selectbox(key="hist_actor")
    assert who.options == ["Everyone", "ana@example.org", "bo@example.org"]
    who.set_value("bo@example.org").run()
    assert list(at.dataframe[0].value["job"]) == [bo]
    [option] = at.selectbox(key="hist_job").options  # only Bo's job can be opened
    assert option.endswith(f"bo@example.org · {bo}")
    assert at.selectbox(key="hist_job").value == bo


def test_history_reads_a_postgresql_journal(
    sandbox, pg_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    url = pg_server.new_database()
    monkeypatch.setenv("TAGGING_JOURNAL", url)
    monkeypatch.setenv("TAGGING_USER", "ci-bot")
    with Journal(url) as journal:
        job = push(plan(atlas_op(["3", "4"])), connect("atlas"), journal=journal).job_id
    at = history()
    assert at.selectbox(key="hist_job").value == job
    assert metrics(at)["Applied"] == "2"
    assert list(at.dataframe[0].value["actor"]) == ["ci-bot"]
    assert any(url in c.value for c in at.caption)
    assert not [b for b in at.selectbox if b.key == "hist_actor"]  # one actor: no filter


def test_a_large_export_shows_its_progress_then_downloads_exactly_the_job() -> None:
    # Above 100,000 ids the CSV is built on the page, its progress shown, then offered.
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    n = 100_001
    the_plan = plan(atlas_op([str(i) for i in range(n)]))
    job = journal.start_job(the_plan)
    for b in the_plan.batches:  # as a finished push leaves them, without a minute of pushing
        journal.record_batch(job, BatchOutcome(b.index, "applied", len(b.ids), 0))
    with deferred_files() as deferred:
        at = history()
        downloads = {d.proto.label for d in at.get("download_button")}
        assert downloads == {"Export JSON"}  # CSV and Parquet are built first
        at.button(key="hist_export_csv").click().run()
        assert not at.exception and not errors(at), (at.exception, errors(at))
        (status,) = [s for s in at.status if s.label.startswith("Exported")]
        assert status.state == "complete"
        assert status.label.startswith(f"Exported {n:,} ids as CSV (")
        assert [str(p.proto.text) for p in at.get("progress")] == [f"{n:,} of {n:,} ids written"]
        (button,) = [d for d in at.get("download_button") if d.proto.label == "Download CSV"]
        data = deferred[button.proto.deferred_file_id]()
    assert data == journal.export_job(job, "csv")
    rows = pd.read_csv(io.BytesIO(data), dtype=str)
    assert rows["id"].tolist() == [str(i) for i in range(n)]
    assert set(rows["result"]) == {"applied"}
    at.run()  # a later rerun offers the built file without building it again
    assert not at.status and "Download CSV" in {d.proto.label for d in at.get("download_button")}
