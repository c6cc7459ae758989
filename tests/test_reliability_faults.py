"""Faults on the wire end in the exact expected state, with every retry and give-up journaled.

5xx (some with HTML bodies) from `--fail-rate`, timeouts from `--latency-ms` above the client's
timeout, dropped connections from a MockTransport wrapped around the real transport, 429 with
Retry-After from `--rate-limit`; and a provider that stays down (a transport that always fails,
a sandbox stopped mid-job) leaves the job "interrupted", and resume then completes it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from conftest import KEYS, Sandbox, start_sandbox, stop_sandbox

from tagging.config import Connection, connect
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import TagOperation, plan
from tagging.retry import RetryPolicy
from tagging.values import Progress

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
TARGET = {"projection_id": ATLAS_PROJECTION_ID}


def atlas(sb: Sandbox, **kw: object) -> Connection:
    return connect("atlas", url=sb.api("atlas"), key=KEYS["atlas"], **kw)  # type: ignore[arg-type]


def atlas_op(ids: list[str], tag: str = "Faulty") -> TagOperation:
    return TagOperation("atlas", "add", (tag,), ids, TARGET)


def tagged(sb: Sandbox, tag: str) -> set[str]:
    return set(sb.state()["atlas"].get(ATLAS_PROJECTION_ID, {}).get(tag, []))


def journal_totals(journal: Journal, job_id: str) -> tuple[list[str], int]:
    batches = journal.batches(job_id)
    return [b["status"] for b in batches], sum(b["attempts"] for b in batches)


def test_5xx_with_html_bodies_end_exact_and_retries_are_journaled(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory("--fail-rate", "0.4", "--seed", "7")
    ids = [str(i) for i in range(0, 600, 2)]
    journal = Journal(tmp_path / "journal.db")
    # One request at a time, so the seeded dice fall on the same requests in every run: with
    # 4 in flight the order varied, and about one run in fifty had a batch fail 8 times.
    result = push(
        plan(atlas_op(ids), chunk_size=10), atlas(sb), journal=journal, retry=FAST, concurrency=1
    )
    assert (result.applied, result.failed) == (len(ids), 0)
    assert tagged(sb, "Faulty") == set(ids)
    [job] = journal.jobs()
    assert job["status"] == "done"
    assert job["counts"] == {"ids": 300, "applied": 300, "not_found": 0, "failed": 0, "pending": 0}
    statuses, attempts = journal_totals(journal, job["id"])
    assert statuses == ["applied"] * 30
    assert attempts == sum(o.attempts for o in result.outcomes) > 30  # retries were recorded
    retried = [b for b in journal.batches(job["id"]) if b["attempts"] > 1]
    assert retried and all(b["reason"] == "" for b in retried)  # they did succeed in the end


def test_a_batch_that_gives_up_records_attempts_and_reason(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory("--fail-rate", "1.0")  # every answer is a 500/502/503
    journal = Journal(tmp_path / "journal.db")
    result = push(
        plan(atlas_op(["1", "2", "3", "4"]), chunk_size=2),
        atlas(sb),
        journal=journal,
        concurrency=1,
        retry=FAST,
    )
    assert result.failed == 4
    [job] = journal.jobs()
    assert job["status"] == "interrupted"
    first, second = journal.batches(job["id"])
    assert first["status"] == "failed" and first["attempts"] == 8
    assert first["reason"].startswith("gave up after 8 attempts: HTTP 50")
    assert second["attempts"] == 0 and "seems down" in second["reason"]
    assert tagged(sb, "Faulty") == set()
    # The plan for a resume is exactly the unfinished ids.
    assert [b.ids for b in journal.load_plan(job["id"]).batches] == [("1", "2"), ("3", "4")]


def test_timeouts_interrupt_then_resume_completes(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = sandbox_factory("--latency-ms", "400")
    ids = [str(i) for i in range(20)]
    journal = Journal(tmp_path / "journal.db")
    impatient = atlas(sb, timeout=0.05)
    result = push(
        plan(atlas_op(ids), chunk_size=5), impatient, journal=journal, concurrency=1, retry=FAST
    )
    assert result.applied == 0 and result.failed > 0
    [job] = journal.jobs()
    assert job["status"] == "interrupted"
    batches = journal.batches(job["id"])
    assert batches[0]["reason"] == "gave up after 8 attempts: the API did not answer in time"
    assert batches[0]["attempts"] == 8
    assert [b["status"] for b in batches[1:]] == ["failed", "pending", "pending"]

    done = journal.resume(job["id"], atlas(sb))  # a patient client
    assert done.failed == 0
    assert tagged(sb, "Faulty") == set(ids)
    [job] = journal.jobs()
    assert job["status"] == "done" and job["counts"]["applied"] == 20


def dropping_transport(every: int) -> tuple[httpx.MockTransport, dict[str, int]]:
    """The real transport, but every `every`-th call drops: before sending (ConnectError),
    or after the server applied it (RemoteProtocolError), alternately."""
    real = httpx.HTTPTransport()
    calls = itertools.count(1)
    lock = threading.Lock()
    seen = {"dropped_before": 0, "dropped_after": 0, "sent": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        with lock:
            n = next(calls)
        if n % every == 0 and (n // every) % 2 == 1:
            seen["dropped_before"] += 1
            raise httpx.ConnectError("connection refused", request=request)
        response = real.handle_request(request)
        response.read()
        seen["sent"] += 1
        if n % every == 0:
            seen["dropped_after"] += 1
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )

    return httpx.MockTransport(handle), seen


def test_dropped_connections_are_retried_to_the_exact_state(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    transport, seen = dropping_transport(every=3)
    journal = Journal(tmp_path / "journal.db")
    immuta = connect("immuta", url=sandbox.api("immuta"), key=KEYS["immuta"], transport=transport)
    models = [str(i) for i in range(1, 41)]
    op = TagOperation("immuta", "add", ("Confidential",), models, kinds="datasource")
    # No read-back: its own (retried) reads would add drops the journal does not count.
    result = push(plan(op, chunk_size=10), immuta, journal=journal, retry=FAST, verify=False)
    assert (result.applied, result.failed) == (40, 0)
    assert seen["dropped_before"] > 0 and seen["dropped_after"] > 0
    state = sandbox.state()["immuta"]
    assert {k for k, v in state.items() if "Confidential" in v} == {
        f"datasource:{m}" for m in models
    }
    [job] = journal.jobs()
    _, attempts = journal_totals(journal, job["id"])
    assert job["status"] == "done"
    assert attempts == 40 + seen["dropped_before"] + seen["dropped_after"]


def test_429_retry_after_is_waited_out_and_journaled(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # 3 per second against 8 in flight: some are refused even when a loaded machine is slow.
    sb = sandbox_factory("--rate-limit", "3")
    nekt = connect("nekt", url=sb.api("nekt"), key=KEYS["nekt"])
    tables = [r["id"] for r in sb.world()["nekt"]["tables"]]
    journal = Journal(tmp_path / "journal.db")
    op = TagOperation("nekt", "add", ("rated",), tables, kinds="tables")
    # One id per batch, many in flight: more requests per second than the limit.
    result = push(plan(op, chunk_size=1), nekt, journal=journal, concurrency=8)
    assert (result.applied, result.failed) == (len(tables), 0)
    assert {k for k, v in sb.state()["nekt"].items() if "rated" in v} == set(tables)
    [job] = journal.jobs()
    statuses, attempts = journal_totals(journal, job["id"])
    assert set(statuses) == {"applied"} and job["status"] == "done"
    assert attempts > len(tables)  # some answers were 429 and were sent again


def test_a_transport_that_always_fails_interrupts_then_resume_completes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    journal = Journal(tmp_path / "journal.db")
    down = atlas(sandbox, transport=httpx.MockTransport(refuse))
    ids = [str(i) for i in range(30)]
    result = push(plan(atlas_op(ids), chunk_size=10), down, journal=journal, retry=FAST)
    assert result.applied == 0
    [job] = journal.jobs()
    assert job["status"] == "interrupted"
    reasons = {b["reason"] for b in journal.batches(job["id"]) if b["reason"]}
    assert "gave up after 8 attempts: cannot reach the API (ConnectError)" in reasons
    assert tagged(sandbox, "Faulty") == set()

    done = journal.resume(job["id"], atlas(sandbox))
    assert done.failed == 0
    assert tagged(sandbox, "Faulty") == set(ids)
    [job] = journal.jobs()
    assert job["status"] == "done"
    assert job["counts"] == {"ids": 30, "applied": 30, "not_found": 0, "failed": 0, "pending": 0}


def test_sandbox_stopped_mid_job_interrupts_then_resume_completes(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    sb = start_sandbox("--db", db, "--latency-ms", "20")
    port = int(sb.url.rsplit(":", 1)[1])
    journal = Journal(tmp_path / "journal.db")
    ids = [str(i) for i in range(40)]
    stopped = threading.Event()

    def stop_after_three(p: Progress) -> None:
        if p.done_batches == 3 and not stopped.is_set():
            stop_sandbox(sb)  # the provider goes away between batches
            stopped.set()

    try:
        result = push(
            plan(atlas_op(ids), chunk_size=4),
            atlas(sb),
            journal=journal,
            concurrency=1,
            progress=stop_after_three,
            retry=FAST,
        )
    finally:
        stop_sandbox(sb)
    assert stopped.is_set()
    # The batches that ended before the stop (one more may have been in flight) are applied.
    applied = result.applied
    assert 12 <= applied < 40 and applied % 4 == 0 and result.failed > 0
    [job] = journal.jobs()
    assert job["status"] == "interrupted"
    assert job["counts"]["applied"] == applied and job["counts"]["pending"] > 0

    back = start_sandbox("--db", db, port=port)  # the same state file, the same address
    try:
        assert tagged(back, "Faulty") == set(ids[:applied])
        done = journal.resume(job["id"], atlas(back))
        assert done.failed == 0
        assert tagged(back, "Faulty") == set(ids)
        [job] = journal.jobs()
        assert job["status"] == "done" and job["counts"]["applied"] == 40
    finally:
        stop_sandbox(back)
