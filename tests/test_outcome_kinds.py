"""Failed and not-found ids keep their kind: Immuta data source 6 and project 6 in one batch."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from conftest import KEYS, Sandbox

from tagging.config import Connection, connect
from tagging.executor import combine, push
from tagging.journal import Journal
from tagging.plan import Batch, TagOperation, plan
from tagging.providers.base import RequestResult

SIX_TWICE = TagOperation(
    "immuta", "add", ("Confidential",), ["6", "6"], kinds=["datasource", "project"]
)


def immuta_state(sandbox: Sandbox) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in sandbox.state()["immuta"].items() if k.endswith(":6")}


class Recorder:
    """The real transport, recording each request's path; `fail` paths answer 400."""

    def __init__(self, fail: str | None = None) -> None:
        self.real = httpx.HTTPTransport()
        self.fail = fail
        self.paths: list[str] = []  # writes only: reads (verify's read-back) are not resends
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/immuta")
        if request.method != "GET":
            self.paths.append(f"{request.method} {path}")
        if path == self.fail:
            body = {"statusCode": 400, "error": "Bad Request", "message": "refused for the test"}
            return httpx.Response(400, json=body)
        return self.real.handle_request(request)


def immuta(sandbox: Sandbox, recorder: Recorder) -> Connection:
    return connect(
        "immuta", url=sandbox.api("immuta"), key=KEYS["immuta"], transport=recorder.transport
    )


def test_combine_follows_ids_by_position() -> None:
    batch = Batch(0, ("6", "6"), ("datasource", "project"))
    results = [
        RequestResult(ids=("6",), at=(0,), reason="HTTP 400: no"),
        RequestResult(ids=("6",), at=(1,)),
    ]
    outcome = combine(batch, results)
    assert (outcome.status, outcome.applied, outcome.failed_ids, outcome.failed_at) == (
        "partial",
        1,
        ("6",),
        (0,),
    )


def test_a_missing_data_source_does_not_hide_the_project_with_its_id(
    sandbox_factory: Callable[..., Sandbox], journal_url: str
) -> None:
    sb = sandbox_factory("--immuta-datasources", "5")  # data source 6 does not exist
    journal = Journal(journal_url)
    conn = connect("immuta", url=sb.api("immuta"), key=KEYS["immuta"])
    result = push(plan(SIX_TWICE), conn, journal=journal)
    assert (result.applied, result.not_found_ids, result.failed_ids) == (1, ["6"], [])
    assert immuta_state(sb) == {"project:6": ["Confidential"]}
    job = result.job_id
    assert job is not None
    assert journal.job_frame(job)[["kind", "result"]].to_dict("records") == [
        {"kind": "datasource", "result": "not_found"},
        {"kind": "project", "result": "applied"},
    ]
    assert journal.state_for("immuta").to_dict("records") == [
        {"id": "6", "tag": "Confidential", "kind": "project"}
    ]
    undo = journal.undo_plan(job)
    assert [(b.ids, b.kinds) for b in undo.batches] == [(("6",), ("project",))]
    # planned without any known state: the project's prior state is unknown, so undo is forced
    assert journal.undo(job, conn, force=True).applied == 1
    assert immuta_state(sb) == {}


def test_a_failed_data_source_is_resent_alone_and_its_project_undone_alone(
    sandbox: Sandbox, journal_url: str
) -> None:
    journal = Journal(journal_url)
    failing = Recorder(fail="/tag/datasource/6")
    result = push(plan(SIX_TWICE), immuta(sandbox, failing), journal=journal)
    assert (result.applied, result.failed_ids, result.summary()["failed"]) == (1, ["6"], 1)
    assert immuta_state(sandbox) == {"project:6": ["Confidential"]}
    job = result.job_id
    assert job is not None
    [batch] = journal.batches(job)
    assert (batch["status"], batch["failed_at"], batch["not_found_at"]) == ("partial", [0], [])
    # Undo would reverse the project only; resume sends the data source only.
    assert [(b.ids, b.kinds) for b in journal.undo_plan(job).batches] == [(("6",), ("project",))]
    assert [(b.index, b.ids, b.kinds) for b in journal.load_plan(job).batches] == [
        (0, ("6",), ("datasource",))
    ]
    recorder = Recorder()
    resumed = journal.resume(job, immuta(sandbox, recorder))
    assert recorder.paths == ["POST /tag/datasource/6"]
    # verified after the resend: the read-back finds the whole batch (both models) applied
    assert (resumed.applied, resumed.failed) == (2, 0)
    assert immuta_state(sandbox) == {
        "datasource:6": ["Confidential"],
        "project:6": ["Confidential"],
    }
    [entry] = journal.jobs()
    assert entry["status"] == "done"
    assert entry["counts"] == {"ids": 2, "applied": 2, "not_found": 0, "failed": 0, "pending": 0}
    assert journal.load_plan(job).batches == ()
    # Now the whole batch is applied: undo reverses both.
    undo = journal.undo_plan(job)
    assert [(b.ids, b.kinds) for b in undo.batches] == [(("6", "6"), ("datasource", "project"))]


def test_a_resend_that_fails_again_keeps_the_earlier_outcome(
    sandbox: Sandbox, journal_url: str
) -> None:
    journal = Journal(journal_url)
    failing = Recorder(fail="/tag/datasource/6")
    job = push(plan(SIX_TWICE), immuta(sandbox, failing), journal=journal).job_id
    assert job is not None
    again = Recorder(fail="/tag/datasource/6")
    assert journal.resume(job, immuta(sandbox, again)).failed_ids == ["6"]
    assert again.paths == ["POST /tag/datasource/6"]
    [batch] = journal.batches(job)
    assert (batch["status"], batch["applied"], batch["failed_at"]) == ("partial", 1, [0])
    assert journal.state_for("immuta")["kind"].tolist() == ["project"]
