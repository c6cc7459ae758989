"""Cancel a running push from the Tag page: the push runs in a thread, Cancel stops new
batches, the job is "interrupted" and a resume ends with exactly the selected ids tagged."""

from __future__ import annotations

import os
import threading

import pytest
from app_harness import app_env, errors, metrics, open_app  # noqa: F401

import tagging.executor
from tagging.demo import ATLAS_PROJECTION_ID, demo_datasets
from tagging.journal import Journal
from ui.push_panel import RUN_KEY

pytestmark = pytest.mark.usefixtures("app_env")


def test_cancel_leaves_the_job_resumable_and_resume_is_exact(sandbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()  # holds every request until the test has clicked Cancel
    send = tagging.executor.send

    def held_send(*args, **kwargs):  # type: ignore[no-untyped-def]
        gate.wait(30)
        return send(*args, **kwargs)

    monkeypatch.setattr(tagging.executor, "send", held_send)
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    at.button(key="tag_select_all").click().run()
    at.text_input(key="tag_new").set_value("Cancelled push").run()
    at.number_input(key="tag_chunk").set_value(100).run()
    assert metrics(at)["Batches"] == "100"
    at.button(key="tag_push").click().run()  # not click_push: it stays held
    assert not at.exception and not errors(at), (at.exception, errors(at))
    assert at.button(key="tag_push").disabled  # one push at a time
    at.button(key="push_cancel").click().run()
    assert at.button(key="push_cancel").disabled  # cancelling
    run = at.session_state[RUN_KEY]
    gate.set()
    run.thread.join(60)
    at.run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    assert "push_cancel" not in [b.key for b in at.button]

    result = at.session_state["tag_result"]
    assert result.cancelled
    journal = Journal(os.environ["TAGGING_JOURNAL"])
    job = journal.job(result.job_id)
    assert job["status"] == "interrupted"
    batches = journal.batches(result.job_id)
    applied = [i for b in batches if b["status"] == "applied" for i in b["ids"]]
    assert 0 < len(applied) < 10_000 and job["counts"]["pending"] == 10_000 - len(applied)
    state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]
    assert sorted(state["Cancelled push"]) == sorted(applied)  # only the batches that ran
    (info,) = [i.value for i in at.info if "Cancelled" in i.value]
    assert f"{10_000 - len(applied):,} ids not sent" in info

    at.button(key="tag_resume").click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    all_ids = demo_datasets()["atlas"].frame()["id"].astype(str)
    state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]
    assert sorted(state["Cancelled push"]) == sorted(all_ids)
    assert Journal(os.environ["TAGGING_JOURNAL"]).job(result.job_id)["status"] == "done"
    assert "tag_resume" not in [b.key for b in at.button]
